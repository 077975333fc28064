//! `mcptop setup AGENT --hooks`: `mcptop hook` installed as the hook command of Claude
//! Code, Codex or Gemini CLI, beside the hooks already there, and taken out again alone.
//!
//! - Claude Code and Gemini CLI keep hooks in a JSON settings file (the project's, or the
//!   user's with `--user`), edited in place ([`super::jsonedit`]) so that every other byte
//!   stays.
//! - Codex keeps them in the user's `config.toml` (`[[hooks.EVENT]]`), and runs a hook
//!   only once the user has trusted it: the trust is the hook's hash under
//!   `[hooks.state."FILE:EVENT:GROUP:HANDLER"]`, which Codex's `/hooks` writes when the
//!   user approves. The user asked setup to install these very hooks, so setup writes
//!   their trust too, computed as Codex computes it ([`codex_trust_hash`]); any other
//!   hook's trust is left alone.

use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{json_str, jsonedit, unparsable, Agent, Format, Location, SetupError};

/// The hook events `mcptop hook` is installed for, per agent, each with whether its group
/// takes a tool matcher (Claude Code's `"*"`; the others match every tool without one).
pub fn hook_events(agent: Agent) -> &'static [(&'static str, bool)] {
    match agent {
        Agent::ClaudeCode => &[
            ("PreToolUse", true),
            ("PostToolUse", true),
            ("PostToolUseFailure", true),
            ("PermissionRequest", true),
            ("Notification", false),
            ("UserPromptSubmit", false),
            ("Stop", false),
            ("SubagentStop", false),
            ("SessionStart", false),
            ("SessionEnd", false),
        ],
        // Codex's events (codex-rs/hooks, HOOK_EVENT_NAMES): no notification, no
        // session end.
        Agent::Codex => &[
            ("PreToolUse", false),
            ("PostToolUse", false),
            ("PermissionRequest", false),
            ("UserPromptSubmit", false),
            ("Stop", false),
            ("SubagentStop", false),
        ],
        // Gemini CLI's events (packages/core/src/hooks/types.ts, HookEventName).
        Agent::Gemini => &[
            ("BeforeTool", false),
            ("AfterTool", false),
            ("Notification", false),
            ("BeforeAgent", false),
            ("AfterAgent", false),
            ("SessionEnd", false),
        ],
        _ => &[],
    }
}

/// Where `agent` keeps its hooks: Claude Code's and Gemini CLI's settings (the project's,
/// or the user's with `user`), Codex's user `config.toml` (the only layer whose hook
/// trust Codex reads). `None` for an agent without hooks.
pub fn hooks_location(agent: Agent, home: &Path, project: &Path, user: bool) -> Option<Location> {
    let scope = if user { "user" } else { "project" };
    let base = if user { home } else { project };
    let json = |path: &str| Location {
        agent,
        scope,
        path: base.join(path),
        format: Format::Json(vec!["hooks".into()]),
    };
    match agent {
        Agent::ClaudeCode => Some(json(".claude/settings.json")),
        Agent::Gemini => Some(json(".gemini/settings.json")),
        Agent::Codex => Some(Location {
            agent,
            scope: "user",
            path: super::codex_config(home),
            format: Format::CodexToml,
        }),
        _ => None,
    }
}

/// Whether a hook command is mcptop's.
fn is_our_hook(command: &str) -> bool {
    let mut words = command.split_whitespace();
    let program = words.next().unwrap_or_default();
    Path::new(program.trim_matches(['"', '\'']))
        .file_name()
        .and_then(|n| n.to_str())
        == Some("mcptop")
        && words.next() == Some("hook")
}

/// The settings with `command` (`…/mcptop hook …`) installed for every event of
/// [`hook_events`], beside the hooks already there; unchanged where it is.
pub fn install_hooks(location: &Location, text: &str, command: &str) -> Result<String, SetupError> {
    match location.format {
        Format::CodexToml => install_codex(location, text, command),
        Format::Json(_) => install_json(location, text, command),
    }
}

/// The settings without mcptop's hooks (everything else kept).
pub fn remove_hooks(location: &Location, text: &str) -> Result<String, SetupError> {
    match location.format {
        Format::CodexToml => remove_codex(location, text),
        Format::Json(_) => remove_json(location, text),
    }
}

fn json_group_is_ours(group: &Value) -> bool {
    group["hooks"].as_array().is_some_and(|hs| {
        hs.iter()
            .any(|h| h["command"].as_str().is_some_and(is_our_hook))
    })
}

fn install_json(location: &Location, text: &str, command: &str) -> Result<String, SetupError> {
    let text = if text.trim().is_empty() { "{}\n" } else { text };
    let parsed: Value = serde_json::from_str(text).map_err(|e| unparsable(location, "JSON", e))?;
    let mut out = text.to_owned();
    let bad = || unparsable(location, "JSON", "its hooks are not objects and arrays");
    if parsed.get("hooks").is_none() {
        let root = jsonedit::root(&out).ok_or_else(bad)?;
        out = jsonedit::insert_member(&out, root, "hooks", "{}").ok_or_else(bad)?;
    }
    for (event, tool) in hook_events(location.agent) {
        let current: Value =
            serde_json::from_str(&out).map_err(|e| unparsable(location, "JSON", e))?;
        let groups = current["hooks"].get(*event).and_then(Value::as_array);
        if groups.is_some_and(|gs| gs.iter().any(json_group_is_ours)) {
            continue;
        }
        let matcher = if *tool { r#""matcher": "*", "# } else { "" };
        let group = format!(
            r#"{{ {matcher}"hooks": [{{ "type": "command", "command": {} }}] }}"#,
            json_str(command)
        );
        let root = jsonedit::root(&out).ok_or_else(bad)?;
        let hooks = jsonedit::find(&out, root.clone(), &["hooks"]).ok_or_else(bad)?;
        out = match jsonedit::find(&out, root, &["hooks", event]) {
            Some(array) => jsonedit::append_element(&out, array, &group).ok_or_else(bad)?,
            None => jsonedit::insert_member(&out, hooks, event, &format!("[{group}]"))
                .ok_or_else(bad)?,
        };
    }
    Ok(out)
}

fn remove_json(location: &Location, text: &str) -> Result<String, SetupError> {
    let mut out = text.to_owned();
    let bad = || unparsable(location, "JSON", "its hooks are not objects and arrays");
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .map_err(|e| unparsable(location, "JSON", e))?;
    for (event, _) in hook_events(location.agent) {
        loop {
            let Some(root) = jsonedit::root(&out) else {
                return Ok(out);
            };
            let Some(array) = jsonedit::find(&out, root, &["hooks", event]) else {
                break;
            };
            let elements = jsonedit::elements(&out, array.clone()).ok_or_else(bad)?;
            let ours = elements.into_iter().find(|e| {
                serde_json::from_str::<Value>(&out[e.clone()]).is_ok_and(|g| json_group_is_ours(&g))
            });
            match ours {
                Some(e) => out = jsonedit::remove_element(&out, array, e).ok_or_else(bad)?,
                None => break,
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Codex

/// Codex's label of an event in its hook-state keys (codex-rs/hooks, `hook_event_key_label`).
fn codex_label(event: &str) -> &'static str {
    match event {
        "PreToolUse" => "pre_tool_use",
        "PostToolUse" => "post_tool_use",
        "PermissionRequest" => "permission_request",
        "UserPromptSubmit" => "user_prompt_submit",
        "SubagentStop" => "subagent_stop",
        "SubagentStart" => "subagent_start",
        "SessionStart" => "session_start",
        "PreCompact" => "pre_compact",
        "PostCompact" => "post_compact",
        _ => "stop",
    }
}

/// The hash Codex trusts a command hook by (codex-rs/hooks `command_hook_hash`, config
/// `version_for_toml`): SHA-256 of the hook's normalized identity as canonical JSON (keys
/// sorted, no spaces), for a group of one handler with no matcher and Codex's default
/// timeout of 600 s.
pub fn codex_trust_hash(event: &str, command: &str) -> String {
    let identity = format!(
        r#"{{"event_name":{},"hooks":[{{"async":false,"command":{},"timeout":600,"type":"command"}}]}}"#,
        json_str(codex_label(event)),
        json_str(command)
    );
    let digest = Sha256::digest(identity.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The hook-state key of handler 0 of group `group` of `event` in `file`.
fn codex_state_key(file: &str, event: &str, group: usize) -> String {
    format!("{file}:{}:{group}:0", codex_label(event))
}

/// Whether a group (`[[hooks.EVENT]]`, as a table or an inline table) holds our hook.
fn toml_group_is_ours(group: &dyn toml_edit::TableLike) -> bool {
    let ours = |h: &dyn toml_edit::TableLike| {
        h.get("command")
            .and_then(|c| c.as_str())
            .is_some_and(is_our_hook)
    };
    match group.get("hooks") {
        Some(toml_edit::Item::ArrayOfTables(hs)) => hs.iter().any(|h| ours(h)),
        Some(toml_edit::Item::Value(toml_edit::Value::Array(hs))) => hs
            .iter()
            .filter_map(|h| h.as_inline_table())
            .any(|h| ours(h)),
        _ => false,
    }
}

/// An event's groups, as Codex's TOML may hold them.
enum Groups<'a> {
    Tables(&'a mut toml_edit::ArrayOfTables),
    Inline(&'a mut toml_edit::Array),
}

impl Groups<'_> {
    fn ours(&self) -> Vec<usize> {
        match self {
            Groups::Tables(a) => a
                .iter()
                .enumerate()
                .filter(|(_, g)| toml_group_is_ours(*g))
                .map(|(i, _)| i)
                .collect(),
            Groups::Inline(a) => a
                .iter()
                .enumerate()
                .filter(|(_, g)| g.as_inline_table().is_some_and(|g| toml_group_is_ours(g)))
                .map(|(i, _)| i)
                .collect(),
        }
    }

    fn len(&self) -> usize {
        match self {
            Groups::Tables(a) => a.len(),
            Groups::Inline(a) => a.len(),
        }
    }

    fn remove(&mut self, i: usize) {
        match self {
            Groups::Tables(a) => {
                a.remove(i);
            }
            Groups::Inline(a) => {
                a.remove(i);
            }
        }
    }
}

fn groups<'a>(
    hooks: &'a mut toml_edit::Table,
    event: &str,
    location: &Location,
) -> Result<Option<Groups<'a>>, SetupError> {
    match hooks.get_mut(event) {
        None => Ok(None),
        Some(toml_edit::Item::ArrayOfTables(a)) => Ok(Some(Groups::Tables(a))),
        Some(toml_edit::Item::Value(toml_edit::Value::Array(a))) => Ok(Some(Groups::Inline(a))),
        Some(_) => Err(unparsable(
            location,
            "Codex configuration",
            format!("hooks.{event} is not a list of hook groups"),
        )),
    }
}

fn parse_toml(location: &Location, text: &str) -> Result<toml_edit::DocumentMut, SetupError> {
    text.parse()
        .map_err(|e: toml_edit::TomlError| unparsable(location, "TOML", e.message()))
}

/// `[hooks]` of the document, made when missing.
fn hooks_table<'a>(
    doc: &'a mut toml_edit::DocumentMut,
    location: &Location,
) -> Result<&'a mut toml_edit::Table, SetupError> {
    let item = doc.entry("hooks").or_insert_with(|| {
        let mut t = toml_edit::Table::new();
        t.set_implicit(true);
        toml_edit::Item::Table(t)
    });
    item.as_table_mut().ok_or_else(|| {
        unparsable(
            location,
            "Codex configuration",
            "its hooks are not a table ([hooks])",
        )
    })
}

fn install_codex(location: &Location, text: &str, command: &str) -> Result<String, SetupError> {
    let mut doc = parse_toml(location, text)?;
    let file = location.path.display().to_string();
    let hooks = hooks_table(&mut doc, location)?;
    let mut trust = Vec::new();
    for (event, _) in hook_events(Agent::Codex) {
        let index = match groups(hooks, event, location)? {
            Some(g) if !g.ours().is_empty() => continue,
            Some(Groups::Tables(a)) => {
                a.push(codex_group_table(command));
                a.len() - 1
            }
            Some(Groups::Inline(a)) => {
                let mut handler = toml_edit::InlineTable::new();
                handler.insert("type", "command".into());
                handler.insert("command", command.into());
                let mut handlers = toml_edit::Array::new();
                handlers.push(handler);
                let mut group = toml_edit::InlineTable::new();
                group.insert("hooks", toml_edit::Value::Array(handlers));
                a.push(group);
                a.len() - 1
            }
            None => {
                let mut a = toml_edit::ArrayOfTables::new();
                a.push(codex_group_table(command));
                hooks.insert(event, toml_edit::Item::ArrayOfTables(a));
                0
            }
        };
        trust.push((
            codex_state_key(&file, event, index),
            codex_trust_hash(event, command),
        ));
    }
    if !trust.is_empty() {
        let state = hooks.entry("state").or_insert_with(|| {
            let mut t = toml_edit::Table::new();
            t.set_implicit(true);
            toml_edit::Item::Table(t)
        });
        let state = state.as_table_mut().ok_or_else(|| {
            unparsable(
                location,
                "Codex configuration",
                "hooks.state is not a table",
            )
        })?;
        for (key, hash) in trust {
            let mut entry = toml_edit::Table::new();
            entry.insert("trusted_hash", toml_edit::value(hash));
            state.insert(&key, toml_edit::Item::Table(entry));
        }
    }
    Ok(doc.to_string())
}

fn codex_group_table(command: &str) -> toml_edit::Table {
    let mut handler = toml_edit::Table::new();
    handler.insert("type", toml_edit::value("command"));
    handler.insert("command", toml_edit::value(command));
    let mut handlers = toml_edit::ArrayOfTables::new();
    handlers.push(handler);
    let mut group = toml_edit::Table::new();
    group.insert("hooks", toml_edit::Item::ArrayOfTables(handlers));
    group
}

/// Takes out our groups and their trust. Codex keys a hook's trust by its group's place,
/// so the trust of every later group of the same event moves down with it.
fn remove_codex(location: &Location, text: &str) -> Result<String, SetupError> {
    let mut doc = parse_toml(location, text)?;
    let file = location.path.display().to_string();
    let Some(hooks) = doc.get_mut("hooks").and_then(toml_edit::Item::as_table_mut) else {
        return Ok(text.to_owned());
    };
    let mut moves: Vec<(String, Option<String>)> = Vec::new();
    for (event, _) in hook_events(Agent::Codex) {
        let Some(mut groups) = groups(hooks, event, location)? else {
            continue;
        };
        let ours = groups.ours();
        if ours.is_empty() {
            continue;
        }
        let total = groups.len();
        for &i in ours.iter().rev() {
            groups.remove(i);
        }
        // Each group after a removed one moves down by the removed ones before it.
        for old in 0..total {
            let before = ours.iter().filter(|&&r| r < old).count();
            let key = |g: usize| format!("{file}:{}:{g}:", codex_label(event));
            if ours.contains(&old) {
                moves.push((key(old), None));
            } else if before > 0 {
                moves.push((key(old), Some(key(old - before))));
            }
        }
        if groups.len() == 0 {
            hooks.remove(event);
        }
    }
    if let Some(state) = hooks
        .get_mut("state")
        .and_then(toml_edit::Item::as_table_mut)
    {
        let keys: Vec<String> = state.iter().map(|(k, _)| k.to_owned()).collect();
        let mut moved = Vec::new();
        for key in keys {
            let Some((from, to)) = moves
                .iter()
                .find(|(from, _)| key.starts_with(from.as_str()))
            else {
                continue;
            };
            if let Some(item) = state.remove(&key) {
                if let Some(to) = to {
                    moved.push((format!("{to}{}", &key[from.len()..]), item));
                }
            }
        }
        for (key, item) in moved {
            state.insert(&key, item);
        }
        if state.is_empty() {
            hooks.remove("state");
        }
    }
    if hooks.is_empty() {
        doc.remove("hooks");
    }
    Ok(doc.to_string())
}
