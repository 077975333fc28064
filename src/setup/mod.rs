//! `mcptop setup AGENT`: puts `mcptop wrap` in front of every stdio MCP server in a coding
//! agent's configuration (and takes it out again with `--undo`), and installs
//! `mcptop hook` as Claude Code's hook command.
//!
//! Files are edited, never rewritten: JSON by replacing the spans of the values that
//! change (key order, indentation and every other byte stay as they were), Codex's TOML
//! with `toml_edit` (comments and layout stay). A file that does not parse is not
//! touched. A real run writes a backup beside the file, then the file atomically, and
//! remembers what it wrote (in `~/.mcptop/setup/`), so `--undo` gives back exactly the
//! bytes that were there — or, where the user edited the file since, unwraps just the
//! entries mcptop wrapped.

pub mod hooks;
mod jsonedit;
pub mod otel;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The agents whose configurations mcptop knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agent {
    ClaudeCode,
    ClaudeDesktop,
    Cursor,
    VsCode,
    Codex,
    Gemini,
}

impl Agent {
    pub const ALL: [Agent; 6] = [
        Agent::ClaudeCode,
        Agent::ClaudeDesktop,
        Agent::Cursor,
        Agent::VsCode,
        Agent::Codex,
        Agent::Gemini,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Agent::ClaudeCode => "claude-code",
            Agent::ClaudeDesktop => "claude-desktop",
            Agent::Cursor => "cursor",
            Agent::VsCode => "vscode",
            Agent::Codex => "codex",
            Agent::Gemini => "gemini",
        }
    }

    pub fn parse(s: &str) -> Option<Agent> {
        Agent::ALL.into_iter().find(|a| a.name() == s)
    }
}

/// How a configuration file holds its servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// A JSON object of servers at this key path.
    Json(Vec<String>),
    /// Codex's `[mcp_servers.NAME]` tables.
    CodexToml,
}

/// One configuration file of an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub agent: Agent,
    pub scope: &'static str,
    pub path: PathBuf,
    pub format: Format,
}

/// Where each agent keeps its MCP servers (see docs/guide.md for the documentation each
/// comes from), for the user `home` and the project `project`.
pub fn locations(agent: Agent, home: &Path, project: &Path) -> Vec<Location> {
    let json = |scope, path: PathBuf, key: &[&str]| Location {
        agent,
        scope,
        path,
        format: Format::Json(key.iter().map(|k| (*k).to_owned()).collect()),
    };
    match agent {
        Agent::ClaudeCode => {
            let project_key = project.to_string_lossy().into_owned();
            vec![
                json("project", project.join(".mcp.json"), &["mcpServers"]),
                json("user", home.join(".claude.json"), &["mcpServers"]),
                Location {
                    agent,
                    scope: "local",
                    path: home.join(".claude.json"),
                    format: Format::Json(vec!["projects".into(), project_key, "mcpServers".into()]),
                },
            ]
        }
        Agent::ClaudeDesktop => {
            let path = if cfg!(target_os = "macos") {
                home.join("Library/Application Support/Claude/claude_desktop_config.json")
            } else {
                home.join(".config/Claude/claude_desktop_config.json")
            };
            vec![json("user", path, &["mcpServers"])]
        }
        Agent::Cursor => vec![
            json("project", project.join(".cursor/mcp.json"), &["mcpServers"]),
            json("user", home.join(".cursor/mcp.json"), &["mcpServers"]),
        ],
        Agent::VsCode => vec![json(
            "project",
            project.join(".vscode/mcp.json"),
            &["servers"],
        )],
        Agent::Codex => vec![Location {
            agent,
            scope: "user",
            path: codex_config(home),
            format: Format::CodexToml,
        }],
        Agent::Gemini => vec![
            json(
                "project",
                project.join(".gemini/settings.json"),
                &["mcpServers"],
            ),
            json("user", home.join(".gemini/settings.json"), &["mcpServers"]),
        ],
    }
}

/// Codex's configuration file: `config.toml` of `$CODEX_HOME` (as Codex resolves it: the
/// directory, its links followed) when that is set, else of `~/.codex`.
pub fn codex_config(home: &Path) -> PathBuf {
    let dir = std::env::var_os("CODEX_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .map(|d| std::fs::canonicalize(&d).unwrap_or(d))
        .unwrap_or_else(|| home.join(".codex"));
    dir.join("config.toml")
}

/// Why a file was left alone.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{path}: not valid {what}, so it was not touched ({detail})")]
    Unparsable {
        path: String,
        what: &'static str,
        detail: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path}: {link} is a symbolic link, so it was not touched (mcptop setup never writes \
         through a link it did not make): edit the file it points to by hand, or replace the \
         link with a copy of the file and run setup again"
    )]
    Link { path: String, link: String },
    #[error("{path}: not a regular file, so it was not touched")]
    NotAFile { path: String },
    #[error(
        "{path}: {size} bytes, over the {MAX_CONFIG} that setup reads, so it was not touched: \
         edit it by hand"
    )]
    TooLarge { path: String, size: u64 },
}

/// The largest configuration file setup reads (real ones are a few KiB; a hostile one
/// must not cost gigabytes).
pub const MAX_CONFIG: u64 = 16 << 20;

/// The text of the configuration file `path`, or `None` when there is none. Refuses a
/// file that is, or is reached through, a symbolic link below `base` (a repository can
/// ship `.mcp.json -> ~/.claude.json`, whose secrets setup would then copy into the
/// project), anything but a regular file, and a file over [`MAX_CONFIG`].
pub fn read_config(path: &Path, base: &Path) -> Result<Option<String>, SetupError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let shown = || path.display().to_string();
    if let Some(link) = link_below(path, base) {
        return Err(SetupError::Link {
            path: shown(),
            link: link.display().to_string(),
        });
    }
    let io = |source| SetupError::Io {
        path: shown(),
        source,
    };
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        // O_NOFOLLOW on a link that appeared since the look: ELOOP.
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(SetupError::Link {
                path: shown(),
                link: shown(),
            })
        }
        Err(e) => return Err(io(e)),
    };
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(SetupError::NotAFile { path: shown() });
    }
    if meta.len() > MAX_CONFIG {
        return Err(SetupError::TooLarge {
            path: shown(),
            size: meta.len(),
        });
    }
    let mut text = String::new();
    file.take(MAX_CONFIG + 1)
        .read_to_string(&mut text)
        .map_err(io)?;
    if text.len() as u64 > MAX_CONFIG {
        return Err(SetupError::TooLarge {
            path: shown(),
            size: text.len() as u64,
        });
    }
    Ok(Some(text))
}

/// The first symbolic link on the way from `base` (exclusive) to `path` (inclusive), when
/// `path` lies below `base`; for a path elsewhere, whether `path` itself is a link.
pub fn link_below(path: &Path, base: &Path) -> Option<PathBuf> {
    let is_link = |p: &Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink());
    let Ok(rest) = path.strip_prefix(base) else {
        return is_link(path).then(|| path.to_owned());
    };
    let mut at = base.to_owned();
    for part in rest.components() {
        at.push(part);
        if is_link(&at) {
            return Some(at);
        }
    }
    None
}

/// What setup sees in (and would do to) one file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// The file's text now, and after.
    pub before: String,
    pub after: String,
    /// Stdio servers wrapped by this run.
    pub wrapped: Vec<String>,
    /// Stdio servers wrapped already.
    pub already: Vec<String>,
    /// HTTP servers: (name, URL): `mcptop proxy` goes in front of these by hand.
    pub http: Vec<(String, String)>,
    /// Each wrapped entry's text before and after (JSON), for `--undo`.
    pub entries: BTreeMap<String, (String, String)>,
}

/// Whether `command`/`args` are already `mcptop wrap …`.
fn is_wrapped(command: &str, args: &[String]) -> bool {
    Path::new(command).file_name().and_then(|n| n.to_str()) == Some("mcptop")
        && args.first().map(String::as_str) == Some("wrap")
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// The server entry `text[entry]` wrapped: `command` becomes mcptop, `args` becomes
/// `wrap --label NAME -- <command> <args…>`; every other byte stays. `None` when it is not
/// a stdio server.
fn wrap_json_entry(
    text: &str,
    entry: std::ops::Range<usize>,
    name: &str,
    exe: &str,
) -> Option<String> {
    let members = jsonedit::members(text, entry.clone())?;
    let span = |key: &str| {
        members
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, r)| r.clone())
    };
    let command_span = span("command")?;
    let kind = span("type").and_then(|r| serde_json::from_str::<String>(&text[r]).ok());
    if kind.as_deref().is_some_and(|k| k != "stdio") {
        return None;
    }
    let command: String = serde_json::from_str(&text[command_span.clone()]).ok()?;
    let args_span = span("args");
    let args_raw: Vec<&RawValueText> = match &args_span {
        Some(r) => {
            serde_json::from_str::<Vec<&serde_json::value::RawValue>>(&text[r.clone()]).ok()?
        }
        None => Vec::new(),
    };
    let args: Vec<String> = args_raw
        .iter()
        .map(|a| serde_json::from_str::<String>(a.get()).unwrap_or_default())
        .collect();
    if is_wrapped(&command, &args) {
        return None;
    }
    // `--label=NAME` in one word: a server named like a flag stays a label.
    let mut new_args = vec![
        json_str("wrap"),
        json_str(&format!("--label={name}")),
        json_str("--"),
    ];
    new_args.push(text[command_span.clone()].to_owned());
    new_args.extend(args_raw.iter().map(|a| a.get().to_owned()));
    let new_args = format!("[{}]", new_args.join(", "));
    // Edit from the end of the text backwards, so earlier spans stay right.
    let mut out = text.to_owned();
    match &args_span {
        Some(r) if r.start > command_span.start => {
            out = jsonedit::replace(&out, r.clone(), &new_args);
            out = jsonedit::replace(&out, command_span, &json_str(exe));
        }
        Some(r) => {
            out = jsonedit::replace(&out, command_span, &json_str(exe));
            out = jsonedit::replace(&out, r.clone(), &new_args);
        }
        None => {
            out = jsonedit::replace(
                &out,
                command_span.clone(),
                &format!("{}, \"args\": {new_args}", json_str(exe)),
            );
        }
    }
    let new_end = (entry.end + out.len()).checked_sub(text.len())?;
    out.get(entry.start..new_end).map(str::to_owned)
}

type RawValueText = serde_json::value::RawValue;

/// The entry `entry_text` (one server's JSON) unwrapped: the command and args mcptop
/// wrapped put back; `None` when it is not wrapped.
fn unwrap_json_entry(entry_text: &str) -> Option<String> {
    let whole = 0..entry_text.len();
    let members = jsonedit::members(entry_text, whole)?;
    let span = |key: &str| {
        members
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, r)| r.clone())
    };
    let command_span = span("command")?;
    let args_span = span("args")?;
    let command: String = serde_json::from_str(&entry_text[command_span.clone()]).ok()?;
    let raw: Vec<&RawValueText> = serde_json::from_str(&entry_text[args_span.clone()]).ok()?;
    let args: Vec<String> = raw
        .iter()
        .map(|a| serde_json::from_str::<String>(a.get()).unwrap_or_default())
        .collect();
    if !is_wrapped(&command, &args) {
        return None;
    }
    let dash = args.iter().position(|a| a == "--")?;
    let original_command = raw.get(dash + 1)?.get().to_owned();
    let rest: Vec<&str> = raw[dash + 2..].iter().map(|a| a.get()).collect();
    let new_args = format!("[{}]", rest.join(", "));
    let (first, second) = if args_span.start > command_span.start {
        ((args_span, new_args), (command_span, original_command))
    } else {
        ((command_span, original_command), (args_span, new_args))
    };
    let out = jsonedit::replace(entry_text, first.0, &first.1);
    Some(jsonedit::replace(&out, second.0, &second.1))
}

/// What `setup` would do to the file of `location` holding `text`.
pub fn plan(location: &Location, text: &str, exe: &str) -> Result<Plan, SetupError> {
    match &location.format {
        Format::Json(path) => plan_json(location, text, path, exe),
        Format::CodexToml => plan_codex(location, text, exe),
    }
}

fn unparsable(location: &Location, what: &'static str, detail: impl ToString) -> SetupError {
    SetupError::Unparsable {
        path: location.path.display().to_string(),
        what,
        detail: detail.to_string(),
    }
}

fn plan_json(
    location: &Location,
    text: &str,
    path: &[String],
    exe: &str,
) -> Result<Plan, SetupError> {
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
        return Err(unparsable(location, "JSON", e));
    }
    let mut plan = Plan {
        before: text.to_owned(),
        after: text.to_owned(),
        ..Plan::default()
    };
    let Some(root) = jsonedit::root(text) else {
        return Ok(plan);
    };
    let keys: Vec<&str> = path.iter().map(String::as_str).collect();
    let Some(servers) = jsonedit::find(text, root, &keys) else {
        return Ok(plan);
    };
    let Some(entries) = jsonedit::members(text, servers) else {
        return Ok(plan);
    };
    // Later entries first: edits then leave earlier spans where they were.
    let mut after = text.to_owned();
    for (name, span) in entries.iter().rev() {
        let value: Value = serde_json::from_str(&text[span.clone()]).unwrap_or(Value::Null);
        let url = ["url", "httpUrl", "serverUrl"]
            .iter()
            .find_map(|k| value.get(*k).and_then(Value::as_str));
        if let (Some(url), None) = (url, value.get("command")) {
            plan.http.push((name.clone(), url.to_owned()));
            continue;
        }
        match wrap_json_entry(text, span.clone(), name, exe) {
            Some(wrapped) => {
                plan.entries.insert(
                    name.clone(),
                    (text[span.clone()].to_owned(), wrapped.clone()),
                );
                after = jsonedit::replace(&after, span.clone(), &wrapped);
                plan.wrapped.push(name.clone());
            }
            None if value.get("command").is_some() => plan.already.push(name.clone()),
            None => {}
        }
    }
    plan.wrapped.reverse();
    plan.already.reverse();
    plan.http.reverse();
    plan.after = after;
    Ok(plan)
}

fn plan_codex(location: &Location, text: &str, exe: &str) -> Result<Plan, SetupError> {
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| unparsable(location, "TOML", e.message()))?;
    let mut plan = Plan {
        before: text.to_owned(),
        after: text.to_owned(),
        ..Plan::default()
    };
    let Some(servers) = doc
        .get_mut("mcp_servers")
        .and_then(|s| s.as_table_like_mut())
    else {
        return Ok(plan);
    };
    for (name, server) in servers.iter_mut() {
        let name = name.get().to_owned();
        let Some(table) = server.as_table_like_mut() else {
            continue;
        };
        if let Some(url) = table.get("url").and_then(|u| u.as_str()) {
            if table.get("command").is_none() {
                plan.http.push((name, url.to_owned()));
                continue;
            }
        }
        let Some(command) = table
            .get("command")
            .and_then(|c| c.as_str())
            .map(str::to_owned)
        else {
            continue;
        };
        let args = toml_args(table);
        if is_wrapped(&command, &args) {
            plan.already.push(name);
            continue;
        }
        let mut new_args = toml_edit::Array::new();
        for a in ["wrap", &format!("--label={name}"), "--", &command] {
            new_args.push(a);
        }
        for a in &args {
            new_args.push(a.as_str());
        }
        set_keeping_decor(table, "command", toml_edit::Value::from(exe));
        set_keeping_decor(table, "args", toml_edit::Value::Array(new_args));
        plan.wrapped.push(name);
    }
    plan.after = doc.to_string();
    Ok(plan)
}

/// The string arguments of a Codex server table.
fn toml_args(table: &dyn toml_edit::TableLike) -> Vec<String> {
    table
        .get("args")
        .and_then(|a| a.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Sets `key` of `table` to `value`, keeping the key (and the comments before it) and the
/// spacing around the old value.
fn set_keeping_decor(table: &mut dyn toml_edit::TableLike, key: &str, mut value: toml_edit::Value) {
    match table.get_mut(key) {
        Some(toml_edit::Item::Value(old)) => {
            *value.decor_mut() = old.decor().clone();
            *old = value;
        }
        Some(item) => *item = toml_edit::Item::Value(value),
        None => {
            table.insert(key, toml_edit::Item::Value(value));
        }
    }
}

/// What `--undo` gives back: the recorded original when the file is as setup left it,
/// else the file with each wrapped entry unwrapped (other edits kept).
pub fn undo(
    location: &Location,
    text: &str,
    record: Option<&Record>,
) -> Result<String, SetupError> {
    let key = |name: &str| format!("{}:{name}", location.scope);
    if let Some(record) = record {
        if record.written == text {
            return Ok(record.original.clone());
        }
    }
    match &location.format {
        Format::Json(path) => {
            if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
                return Err(unparsable(location, "JSON", e));
            }
            let Some(root) = jsonedit::root(text) else {
                return Ok(text.to_owned());
            };
            let keys: Vec<&str> = path.iter().map(String::as_str).collect();
            let Some(entries) =
                jsonedit::find(text, root, &keys).and_then(|s| jsonedit::members(text, s))
            else {
                return Ok(text.to_owned());
            };
            let mut out = text.to_owned();
            for (name, span) in entries.iter().rev() {
                let current = &text[span.clone()];
                let recorded = record.and_then(|r| r.entries.get(&key(name)));
                let restored = match recorded {
                    Some((original, written)) if written == current => Some(original.clone()),
                    _ => unwrap_json_entry(current),
                };
                if let Some(restored) = restored {
                    out = jsonedit::replace(&out, span.clone(), &restored);
                }
            }
            Ok(out)
        }
        Format::CodexToml => {
            let mut doc: toml_edit::DocumentMut = text
                .parse()
                .map_err(|e: toml_edit::TomlError| unparsable(location, "TOML", e.message()))?;
            if let Some(servers) = doc
                .get_mut("mcp_servers")
                .and_then(|s| s.as_table_like_mut())
            {
                for (_, server) in servers.iter_mut() {
                    let Some(table) = server.as_table_like_mut() else {
                        continue;
                    };
                    let command = table
                        .get("command")
                        .and_then(|c| c.as_str())
                        .unwrap_or_default()
                        .to_owned();
                    let args = toml_args(table);
                    if !is_wrapped(&command, &args) {
                        continue;
                    }
                    let Some(dash) = args.iter().position(|a| a == "--") else {
                        continue;
                    };
                    let Some(original) = args.get(dash + 1) else {
                        continue;
                    };
                    let mut rest = toml_edit::Array::new();
                    for a in &args[dash + 2..] {
                        rest.push(a.as_str());
                    }
                    set_keeping_decor(table, "command", toml_edit::Value::from(original.as_str()));
                    set_keeping_decor(table, "args", toml_edit::Value::Array(rest));
                }
            }
            Ok(doc.to_string())
        }
    }
}

/// What a run wrote to a file, kept for `--undo`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub path: String,
    pub original: String,
    pub written: String,
    /// Each wrapped entry, by `scope:name`: (original text, written text).
    pub entries: BTreeMap<String, (String, String)>,
}

/// Where the record of `path` is kept: `~/.mcptop/setup/<path, / as %>.json`.
pub fn record_path(home: &Path, path: &Path) -> PathBuf {
    let name: String = path
        .to_string_lossy()
        .chars()
        .map(|c| if c == '/' { '%' } else { c })
        .collect();
    home.join(".mcptop")
        .join("setup")
        .join(format!("{name}.json"))
}

pub fn read_record(home: &Path, path: &Path) -> Option<Record> {
    let text = std::fs::read_to_string(record_path(home, path)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Writes `text` to `path` atomically (a temporary file beside it, then a rename), with
/// the file's own permissions when it exists (else 0600).
pub fn write_atomically(path: &Path, text: &str) -> Result<(), SetupError> {
    use std::os::unix::fs::PermissionsExt;
    let io = |source| SetupError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    // A link that appeared since the file was read is not replaced either.
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(SetupError::Link {
            path: path.display().to_string(),
            link: path.display().to_string(),
        });
    }
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0o600);
    crate::discovery::replace_file(
        path,
        text.as_bytes(),
        mode,
        crate::discovery::Durability::Synced,
    )
    .map_err(io)
}

/// Keeps what a run wrote to `path` (from `before` to `after`, with its wrapped entries
/// by `scope:name`), for `--undo`. An earlier record of a file left as that run wrote it
/// keeps its original: undo goes back to before the first run.
pub fn save_record(
    home: &Path,
    path: &Path,
    before: &str,
    after: &str,
    entries: BTreeMap<String, (String, String)>,
) -> Result<(), SetupError> {
    let mut record = read_record(home, path)
        .filter(|r| r.written == before)
        .unwrap_or_else(|| Record {
            path: path.display().to_string(),
            original: before.to_owned(),
            ..Record::default()
        });
    record.written = after.to_owned();
    record.entries.extend(entries);
    let text = serde_json::to_string_pretty(&record).unwrap_or_default();
    write_atomically(&record_path(home, path), &text)
}

/// Forgets the record of `path` (after an undo).
pub fn forget_record(home: &Path, path: &Path) {
    let _ = std::fs::remove_file(record_path(home, path));
}

/// A unified diff of `before` and `after`, named `path`.
pub fn diff(path: &Path, before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(2)
        .header(
            &format!("{} (now)", path.display()),
            &format!("{} (after setup)", path.display()),
        )
        .to_string()
}

pub use hooks::{hooks_location, install_hooks, remove_hooks};

#[cfg(test)]
mod tests;
