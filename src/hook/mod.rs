//! `mcptop hook`: a coding agent's hooks as calls on the monitor. The agent runs the
//! command for each hook event with the event's JSON on standard input; every built-in
//! tool call (Claude Code's Bash, Read, Edit, Task …; Codex's Bash and apply_patch;
//! Gemini CLI's run_shell_command, read_file …) and every MCP tool call becomes a row in
//! the agent's own daemon session (`claude-code · <project dir>`, `codex · …`,
//! `gemini · …`): `PreToolUse` starts it, `PostToolUse` finishes it, `PostToolUseFailure`
//! fails it, `PermissionRequest` makes it wait for permission; `Notification` shows as a
//! waiting row, `Stop` and `SessionEnd` end what is still open. Gemini CLI's events have
//! other names (`BeforeTool`, `AfterTool`, `BeforeAgent`, `AfterAgent`): [`normalize`]
//! reads them as these. A call a subagent makes carries the subagent's type and id.
//!
//! It must never delay or break the agent: it keeps a cut copy of any event however large
//! ([`input::read_cut`]: the call is kept, its bulk is not), speaks
//! plain HTTP/1.1 to the loopback daemon with short timeouts, writes nothing to standard
//! output, at most one line to `~/.mcptop/hook.log`, and always exits 0. State between
//! invocations (the daemon session, the open calls) is a small private file per agent
//! session under `~/.mcptop/hooks/`.
//!
//! [`plan`] is the pure part: an event and the state in, what to publish out.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::redact::Rules;
use crate::time::Time;
use crate::wire::schema::{CallEvent, Origin, Published};
use crate::wire::{CallState, Wait};

pub mod input;

/// Connect, read and write limits for the daemon (loopback: anything slower is broken).
const NET_TIMEOUT: Duration = Duration::from_millis(250);
/// Open calls remembered per agent session (the oldest go first).
const MAX_OPEN: usize = 256;
/// The longest "what" of a call.
const MAX_WHAT: usize = 200;
/// The row that says an agent's session ended (tool and token): the agents view reads it.
pub use crate::model::agents::{SESSION_END, SESSION_TOOL};

/// The agents whose hooks `mcptop hook` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HookAgent {
    #[default]
    ClaudeCode,
    Codex,
    Gemini,
}

impl HookAgent {
    pub const ALL: [HookAgent; 3] = [HookAgent::ClaudeCode, HookAgent::Codex, HookAgent::Gemini];

    /// Its name on the command line and in session labels (as its OpenTelemetry's).
    pub fn name(self) -> &'static str {
        match self {
            HookAgent::ClaudeCode => "claude-code",
            HookAgent::Codex => "codex",
            HookAgent::Gemini => "gemini",
        }
    }

    pub fn parse(name: &str) -> Option<HookAgent> {
        HookAgent::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// The fields of a hook event mcptop reads; any of them may be missing.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct HookInput {
    pub hook_event_name: Option<String>,
    pub session_id: Option<String>,
    pub transcript_path: Option<String>,
    pub cwd: Option<String>,
    pub tool_name: Option<String>,
    pub tool_input: Option<Value>,
    pub tool_use_id: Option<String>,
    pub tool_response: Option<Value>,
    pub error: Option<Value>,
    pub message: Option<String>,
    pub notification_type: Option<String>,
    pub reason: Option<String>,
    /// The subagent an event is of (Claude Code, Codex): its id and its type.
    pub agent_id: Option<String>,
    pub agent_type: Option<String>,
    /// Gemini CLI's MCP tool calls: `server_name` and the server's own `tool_name`.
    pub mcp_context: Option<Value>,
}

/// Reads another agent's event as Claude Code's, whose names [`plan`] knows: Gemini CLI's
/// `BeforeTool` is `PreToolUse`, its `AfterTool` `PostToolUse` (or `PostToolUseFailure`
/// when its response holds an error), `BeforeAgent` a new prompt and `AfterAgent` the
/// turn's end; its MCP tools are named `mcp__SERVER__TOOL`, as the others name theirs.
/// Codex's events are Claude Code's already.
pub fn normalize(agent: HookAgent, mut input: HookInput) -> HookInput {
    if agent != HookAgent::Gemini {
        return input;
    }
    let failed = input
        .tool_response
        .as_ref()
        .and_then(|r| r.get("error"))
        .is_some_and(|e| !e.is_null());
    let name = match input.hook_event_name.as_deref() {
        Some("BeforeTool") => Some("PreToolUse"),
        Some("AfterTool") if failed => Some("PostToolUseFailure"),
        Some("AfterTool") => Some("PostToolUse"),
        Some("BeforeAgent") => Some("UserPromptSubmit"),
        Some("AfterAgent") => Some("Stop"),
        _ => None,
    };
    if let Some(name) = name {
        input.hook_event_name = Some(name.to_owned());
    }
    if failed && input.error.is_none() {
        input.error = input
            .tool_response
            .as_ref()
            .and_then(|r| r.get("error").cloned());
    }
    if let Some(context) = &input.mcp_context {
        let text = |k: &str| {
            context
                .get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        if let (Some(server), Some(tool)) = (text("server_name"), text("tool_name")) {
            input.tool_name = Some(format!("mcp__{server}__{tool}"));
        }
    }
    if input.notification_type.as_deref() == Some("ToolPermission") {
        input.notification_type = Some("permission_prompt".to_owned());
    }
    input
}

/// What one agent session's hooks remember between invocations.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HookState {
    /// The daemon and the session of it this agent session publishes into.
    pub daemon_url: Option<String>,
    pub daemon_pid: Option<u32>,
    /// When that daemon's process started: the pid names it, not a later process that
    /// got the same number.
    pub daemon_since: Option<u64>,
    pub session_id: Option<String>,
    pub session_token: Option<String>,
    /// Calls started and not ended: (token, tool), oldest first.
    pub open: Vec<(String, String)>,
    /// Calls shown waiting for permission (tokens): a denied prompt fires no hook, so
    /// the agent's next step ends them.
    pub asking: Vec<String>,
    /// Per tool: calls started without a `tool_use_id` (their tokens are `Tool#n`).
    pub unnamed: BTreeMap<String, u64>,
    /// The notification row on screen, if any.
    pub notice: Option<String>,
    pub notices: u64,
    /// The subagent (its id) of each open call a subagent made.
    pub subagents: BTreeMap<String, String>,
}

fn call(token: &str, tool: &str, state: CallState, at: Time) -> CallEvent<'static> {
    CallEvent {
        timestamp: Some(at),
        ..CallEvent::new(Value::String(token.to_owned()), tool.to_owned(), state)
    }
}

/// The key input of a tool call, as a person would name it: Bash's command, the file of
/// Read/Edit/Write, the pattern of Grep/Glob, the URL of WebFetch, Task's description;
/// else the first short string argument. Redacted and cut.
pub fn what(tool: &str, input: &Value, rules: &Rules) -> Option<String> {
    let field = |k: &str| input.get(k).and_then(Value::as_str);
    let text = match tool {
        // `full_command`: Claude Code's telemetry summary of a Bash call.
        "Bash" | "BashOutput" => field("command").or_else(|| field("full_command")),
        // Codex CLI's and Gemini CLI's own tools.
        "exec_command" => field("cmd"),
        "shell" | "local_shell" => {
            return input
                .get("command")
                .and_then(Value::as_array)
                .map(|parts| {
                    let words: Vec<&str> = parts.iter().filter_map(Value::as_str).collect();
                    // `["bash", "-lc", "the command"]`: the command.
                    match words.as_slice() {
                        [_, "-lc" | "-c", command] => (*command).to_owned(),
                        _ => words.join(" "),
                    }
                })
                .map(|t| finish_what(&t, rules));
        }
        // Codex's edits: a patch, as `{"command": "*** Begin Patch …"}`; the files it
        // touches are what it does.
        "apply_patch" => {
            let patch = field("command")
                .or_else(|| field("patch"))
                .or_else(|| field("input"));
            let files: Vec<&str> = patch
                .map(|p| {
                    p.lines()
                        .filter_map(|line| {
                            [
                                "*** Add File: ",
                                "*** Update File: ",
                                "*** Delete File: ",
                                "*** Move to: ",
                            ]
                            .iter()
                            .find_map(|prefix| line.strip_prefix(prefix))
                        })
                        .map(str::trim)
                        .filter(|f| !f.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            if !files.is_empty() {
                return Some(finish_what(&files.join(" "), rules));
            }
            patch
        }
        "run_shell_command" => field("command"),
        "read_file" | "write_file" | "replace" => {
            field("file_path").or_else(|| field("absolute_path"))
        }
        "list_directory" => field("path").or_else(|| field("dir_path")),
        "glob" | "search_file_content" | "grep_search" => field("pattern"),
        "web_fetch" => field("prompt").or_else(|| field("url")),
        "google_web_search" => field("query"),
        "Read" | "Edit" | "Write" | "MultiEdit" => field("file_path"),
        "NotebookEdit" | "NotebookRead" => field("notebook_path"),
        "Grep" | "Glob" => field("pattern"),
        "WebFetch" => field("url"),
        "WebSearch" => field("query"),
        "Task" | "Agent" => field("description").or_else(|| field("subagent_type")),
        "TodoWrite" => {
            let n = input
                .get("todos")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            return Some(format!("{n} todo{}", if n == 1 { "" } else { "s" }));
        }
        _ => None,
    }
    .map(str::to_owned)
    .or_else(|| {
        input.as_object().and_then(|o| {
            o.iter().find_map(|(k, v)| {
                v.as_str()
                    .filter(|s| s.len() <= 120)
                    .map(|s| format!("{k}={s}"))
            })
        })
    })?;
    Some(finish_what(&text, rules))
}

/// One line, redacted, bounded.
fn finish_what(text: &str, rules: &Rules) -> String {
    let text = text.replace(['\n', '\r'], " ");
    let text = rules.text(&text).unwrap_or(text);
    crate::sanitize::cut(&text, MAX_WHAT).into_owned()
}

/// A failure's text: `error` as a string or an object's message, else the response's.
fn error_text(input: &HookInput, rules: &Rules) -> String {
    let from = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o
            .get("message")
            .or_else(|| o.get("error"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        _ => None,
    };
    let text = input
        .error
        .as_ref()
        .and_then(from)
        .or_else(|| input.tool_response.as_ref().and_then(from))
        .unwrap_or_else(|| "the tool failed".to_owned());
    let text = rules.text(&text).unwrap_or(text);
    crate::sanitize::cut(&text, crate::wire::schema::MAX_TEXT).into_owned()
}

/// What an event means: the items to publish, with `state` updated. Pure.
pub fn plan(
    input: &HookInput,
    state: &mut HookState,
    rules: &Rules,
    at: Time,
) -> Vec<Published<'static>> {
    let mut out = Vec::new();
    let event = input.hook_event_name.as_deref().unwrap_or_default();
    let tool = input
        .tool_name
        .as_deref()
        .filter(|t| !t.is_empty())
        .unwrap_or("?");
    // Anything the agent does ends a notification on screen (it was seen to).
    if event != "Notification" {
        if let Some(token) = state.notice.take() {
            out.push(Published::Call(call(
                &token,
                "notification",
                CallState::Finished,
                at,
            )));
        }
    }
    // A permission prompt that was denied fires no hook: the next step of the same agent
    // (another tool, a new prompt, the turn's end) shows it moved on, and the call's end
    // never came. A subagent's next tool says nothing of its parent's prompt.
    let agent = input.agent_id.as_deref().filter(|a| !a.is_empty());
    // Whose prompts the event ends: `Some(agent)` that agent's, `None` everyone's.
    let moved_on = match event {
        "PreToolUse" => Some(Some(agent)),
        "UserPromptSubmit" | "Stop" | "SessionEnd" => Some(None),
        _ => None,
    };
    if let Some(whose) = moved_on {
        for token in std::mem::take(&mut state.asking) {
            let of = state.subagents.get(&token).map(String::as_str);
            if whose.is_some_and(|a| a != of) {
                state.asking.push(token);
                continue;
            }
            if let Some(i) = state.open.iter().position(|(t, _)| *t == token) {
                let (token, tool) = state.open.remove(i);
                state.subagents.remove(&token);
                out.push(Published::Call(CallEvent {
                    error: Some(
                        "no end came: the agent moved on while this call waited for \
                         permission (denied?)"
                            .into(),
                    ),
                    ..call(&token, &tool, CallState::Lost, at)
                }));
            }
        }
    }
    match event {
        "PreToolUse" => {
            let token = match &input.tool_use_id {
                Some(id) if !id.is_empty() => id.clone(),
                _ => {
                    let n = state.unnamed.entry(tool.to_owned()).or_insert(0);
                    *n += 1;
                    format!("{tool}#{n}")
                }
            };
            let mut started = call(&token, tool, CallState::Started, at);
            // Built-in tools report no progress: an empty bar is expected, not a fault.
            started.extras.progress_requested = Some(false);
            started.extras.origin = Some(Origin::Hook);
            // `agent_id` says a subagent made the call; `agent_type` alone may name the
            // main thread's agent (`claude --agent`).
            started.extras.subagent = agent
                .and(input.agent_type.as_deref())
                .filter(|t| !t.is_empty())
                .map(|t| crate::sanitize::cut(t, MAX_WHAT).into_owned());
            started.extras.subagent_id =
                agent.map(|a| crate::sanitize::cut(a, MAX_WHAT).into_owned());
            started.message = input
                .tool_input
                .as_ref()
                .and_then(|i| what(tool, i, rules))
                .map(Into::into);
            out.push(Published::Call(started));
            if state.open.len() >= MAX_OPEN {
                let (gone, _) = state.open.remove(0);
                state.subagents.remove(&gone);
            }
            if let Some(agent) = agent {
                state.subagents.insert(token.clone(), agent.to_owned());
            }
            state.open.push((token, tool.to_owned()));
        }
        "PermissionRequest" => {
            if let Some(token) = find_open(state, input, tool, false) {
                let mut waiting = call(&token, tool, CallState::Waiting, at);
                waiting.extras.waiting_for = Some(Wait::Permission);
                waiting.message = input
                    .tool_input
                    .as_ref()
                    .and_then(|i| what(tool, i, rules))
                    .map(Into::into);
                out.push(Published::Call(waiting));
                if !state.asking.contains(&token) {
                    state.asking.push(token);
                }
            }
        }
        "PostToolUse" | "PostToolUseFailure" => {
            let token = find_open(state, input, tool, true).unwrap_or_else(|| {
                input
                    .tool_use_id
                    .clone()
                    .unwrap_or_else(|| format!("{tool}#?"))
            });
            let ended = if event == "PostToolUse" {
                call(&token, tool, CallState::Finished, at)
            } else {
                CallEvent {
                    error: Some(error_text(input, rules).into()),
                    ..call(&token, tool, CallState::Failed, at)
                }
            };
            state.asking.retain(|t| *t != token);
            state.subagents.remove(&token);
            out.push(Published::Call(ended));
        }
        "Notification" => {
            if let Some(old) = state.notice.take() {
                out.push(Published::Call(call(
                    &old,
                    "notification",
                    CallState::Finished,
                    at,
                )));
            }
            state.notices += 1;
            let token = format!("notice#{}", state.notices);
            let mut row = call(&token, "notification", CallState::Started, at);
            row.extras.progress_requested = Some(false);
            row.extras.origin = Some(Origin::Hook);
            out.push(Published::Call(row));
            let mut waiting = call(&token, "notification", CallState::Waiting, at);
            let permission = input.notification_type.as_deref() == Some("permission_prompt")
                || input
                    .message
                    .as_deref()
                    .is_some_and(|m| m.to_ascii_lowercase().contains("permission"));
            waiting.extras.waiting_for = Some(if permission {
                Wait::Permission
            } else {
                Wait::Input
            });
            waiting.message = input.message.as_deref().map(|m| {
                let m = rules.text(m).unwrap_or_else(|| m.to_owned());
                crate::sanitize::cut(&m, MAX_WHAT).into_owned().into()
            });
            out.push(Published::Call(waiting));
            state.notice = Some(token);
        }
        // A subagent's end: nothing it started still runs.
        "SubagentStop" => {
            let Some(agent) = agent else {
                return out;
            };
            let mine: Vec<String> = state
                .subagents
                .iter()
                .filter(|(_, a)| a.as_str() == agent)
                .map(|(t, _)| t.clone())
                .collect();
            for token in mine {
                state.subagents.remove(&token);
                state.asking.retain(|t| *t != token);
                if let Some(i) = state.open.iter().position(|(t, _)| *t == token) {
                    let (token, tool) = state.open.remove(i);
                    out.push(Published::Call(CallEvent {
                        error: Some("no end came: its subagent ended first".into()),
                        ..call(&token, &tool, CallState::Lost, at)
                    }));
                }
            }
        }
        // A new prompt or the turn's end: nothing of the last turn still runs. What is
        // still open never ended on any hook, and how it ended cannot be known.
        "UserPromptSubmit" | "Stop" | "SessionEnd" => {
            let why = match event {
                "UserPromptSubmit" => "no end came: the user's next prompt came first",
                "Stop" => "no end came: the agent's turn ended first (permission denied?)",
                _ => "no end came: the agent's session ended first",
            };
            for (token, tool) in state.open.drain(..) {
                out.push(Published::Call(CallEvent {
                    error: Some(why.into()),
                    ..call(&token, &tool, CallState::Lost, at)
                }));
            }
            state.subagents.clear();
            state.asking.clear();
            // The agents view says the session ended: a row of its own, ended at once.
            if event == "SessionEnd" {
                let mut end = call(SESSION_END, SESSION_TOOL, CallState::Started, at);
                end.extras.progress_requested = Some(false);
                end.extras.origin = Some(Origin::Hook);
                out.push(Published::Call(end));
                let mut ended = call(SESSION_END, SESSION_TOOL, CallState::Finished, at);
                ended.message = Some(
                    match input.reason.as_deref().filter(|r| !r.is_empty()) {
                        Some(reason) => format!("ended ({})", crate::sanitize::cut(reason, 40)),
                        None => "ended".to_owned(),
                    }
                    .into(),
                );
                out.push(Published::Call(ended));
            }
        }
        _ => {}
    }
    out
}

/// The open call an event is about: by `tool_use_id`, else the oldest (on an end) or
/// newest (on a permission request) open call of the tool. `remove` takes it out.
fn find_open(state: &mut HookState, input: &HookInput, tool: &str, remove: bool) -> Option<String> {
    let at = match input.tool_use_id.as_deref().filter(|i| !i.is_empty()) {
        Some(id) => state.open.iter().position(|(t, _)| t == id),
        None if remove => state.open.iter().position(|(_, t)| t == tool),
        None => state.open.iter().rposition(|(_, t)| t == tool),
    };
    match (at, remove) {
        (Some(i), true) => Some(state.open.remove(i).0),
        (Some(i), false) => Some(state.open[i].0.clone()),
        (None, _) => input.tool_use_id.clone().filter(|i| !i.is_empty()),
    }
}

// ---------------------------------------------------------------------------------------
// The edge: files and the daemon.

/// Runs one hook invocation with `input` (standard input's bytes). Never fails: what
/// went wrong goes to the log, at most one line.
/// `config_problem`: why the config file's redaction rules could not be used (the
/// rules then withhold all text), said in the log with what else went wrong.
pub fn run(
    agent: HookAgent,
    input: &[u8],
    discovery_file: &Path,
    rules: &Rules,
    config_problem: Option<&str>,
) {
    let result = run_inner(agent, input, discovery_file, rules);
    match (config_problem, result) {
        (Some(problem), Err(why)) => log_line(discovery_file, &format!("{problem}; {why}")),
        (Some(problem), Ok(())) => log_line(discovery_file, problem),
        (None, Err(why)) => log_line(discovery_file, &why),
        (None, Ok(())) => {}
    }
}

fn run_inner(
    agent: HookAgent,
    input: &[u8],
    discovery_file: &Path,
    rules: &Rules,
) -> Result<(), String> {
    let input: HookInput = serde_json::from_slice(input)
        .map_err(|e| format!("the hook's input is not {}'s hook JSON: {e}", agent.name()))?;
    let input = normalize(agent, input);
    let agent_session = input
        .session_id
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into());
    let state_path = state_path(discovery_file, agent, &agent_session);
    let mut state = read_state(&state_path);
    let before = state.clone();
    let items = plan(&input, &mut state, rules, Time::now());
    let ended = input.hook_event_name.as_deref() == Some("SessionEnd");
    if !items.is_empty() || state.session_id.is_none() {
        publish(agent, &mut state, &input, &items, discovery_file)?;
    }
    if ended {
        let _ = std::fs::remove_file(&state_path);
    } else if state != before {
        write_state(&state_path, &state)
            .map_err(|e| format!("cannot keep the hook's state: {e}"))?;
    }
    Ok(())
}

fn publish(
    agent: HookAgent,
    state: &mut HookState,
    input: &HookInput,
    items: &[Published<'static>],
    discovery_file: &Path,
) -> Result<(), String> {
    let body = serde_json::to_vec(items).map_err(|e| e.to_string())?;
    for attempt in 0..2 {
        // The daemon checked when the session was opened, still running (the same pid,
        // started at the same moment), still holds its port, which nobody else can bind
        // while it does: the check is not made again (a hook has milliseconds).
        let same = state.daemon_pid.is_some_and(|pid| {
            crate::discovery::pid_alive(pid)
                && crate::discovery::process_start(pid) == state.daemon_since
        });
        if state.session_id.is_none() || !same || attempt == 1 {
            open_session(agent, state, input, discovery_file)?;
        }
        let (Some(url), Some(id), Some(token)) =
            (&state.daemon_url, &state.session_id, &state.session_token)
        else {
            return Err("no daemon session".into());
        };
        if items.is_empty() {
            return Ok(());
        }
        match http(url, "POST", &["session", id, "publish"], Some(token), &body) {
            Ok((200, _)) => return Ok(()),
            // The session is gone (the daemon restarted or ended it): a new one, once.
            Ok((401 | 404, _)) if attempt == 0 => state.session_id = None,
            Ok((status, _)) => {
                return Err(format!("the daemon refused the hook's events ({status})"))
            }
            Err(e) if attempt == 0 => {
                state.session_id = None;
                let _ = e;
            }
            Err(e) => return Err(e),
        }
    }
    Err("the daemon refused the hook's events".into())
}

/// A session of the live daemon for this agent session, `claude-code · <project dir>`
/// (`codex · …`, `gemini · …`); starts the daemon (in the background) when none runs.
fn open_session(
    agent: HookAgent,
    state: &mut HookState,
    input: &HookInput,
    discovery_file: &Path,
) -> Result<(), String> {
    let file = crate::discovery::read(discovery_file)
        .filter(|f| f.pid.is_some_and(crate::discovery::pid_alive));
    let Some(file) = file else {
        make_private_dir(discovery_file);
        crate::tap::start_daemon(discovery_file)?;
        return Err("no daemon was running: started one; this event was not shown".into());
    };
    let admin = file.admin_token.clone().unwrap_or_default();
    let base = file.url.trim_end_matches("/mcp").to_owned();
    // Nothing (the admin token least of all) goes to a program that is not the daemon.
    check_daemon(&base, &file)?;
    let dir = input
        .cwd
        .as_deref()
        .map(Path::new)
        .and_then(Path::file_name)
        .and_then(|n| n.to_str());
    let name = agent.name();
    let label = match dir {
        Some(dir) => format!("{name} · {dir}"),
        None => name.to_owned(),
    };
    // The agent session's key: its OpenTelemetry (`mcptop serve --otlp`) lands on the
    // same daemon session, and a call both report is one row.
    let agent_session = input
        .session_id
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| format!("{name}/{s}"));
    let body = serde_json::json!({
        "label": label,
        "cwd": input.cwd,
        "agent_session": agent_session,
    });
    let (status, answer) = http(
        &base,
        "POST",
        &["session"],
        (!admin.is_empty()).then_some(admin.as_str()),
        body.to_string().as_bytes(),
    )?;
    if status != 200 {
        return Err(format!("the daemon refused a session ({status})"));
    }
    let answer: Value = serde_json::from_slice(&answer)
        .map_err(|_| "the daemon's session answer is not JSON".to_owned())?;
    state.daemon_url = Some(base);
    state.daemon_pid = file.pid;
    state.daemon_since = file.pid.and_then(crate::discovery::process_start);
    state.session_id = answer["session_id"].as_str().map(str::to_owned);
    state.session_token = answer["token"].as_str().map(str::to_owned);
    Ok(())
}

/// Whether the program at `base` is the daemon `file` names, the way `tail` checks it: its
/// `/health` names the file's pid (and says it is mcptop when the file holds an admin
/// token), and on Linux its listening socket is this user's.
fn check_daemon(base: &str, file: &crate::discovery::DiscoveryFile) -> Result<(), String> {
    let addr = loopback_addr(base)?;
    if crate::discovery::listener_is_ours(addr) == Some(false) {
        return Err(format!(
            "the program listening on {addr} belongs to another user, not to the daemon \
             the discovery file names: nothing was sent to it (restart the daemon with \
             `mcptop serve`)"
        ));
    }
    let (status, body) = http(base, "GET", &["health"], None, b"")?;
    if status != 200 {
        return Err(format!(
            "the program on {addr} answered /health with {status}: not the daemon, nothing \
             was sent to it"
        ));
    }
    let health: crate::discovery::Health = serde_json::from_slice(&body).unwrap_or_default();
    crate::discovery::verify(file, &health).map_err(|e| format!("{e}: nothing was sent to it"))
}

/// The loopback address of `base` (`http://127.0.0.1:PORT`).
fn loopback_addr(base: &str) -> Result<std::net::SocketAddr, String> {
    let host = base
        .strip_prefix("http://")
        .ok_or_else(|| {
            format!(
                "not a loopback http URL: {}",
                crate::sanitize::redact_urls(base)
            )
        })?
        .trim_end_matches('/');
    let addr: std::net::SocketAddr = host
        .parse()
        .map_err(|_| format!("not a loopback address: {host}"))?;
    if !addr.ip().is_loopback() {
        return Err(format!("not a loopback address: {host}"));
    }
    Ok(addr)
}

/// One request to a loopback daemon (`base` is `http://127.0.0.1:PORT`) at the path
/// `segments`: status and body (at most 64 KiB). Never through a proxy and never
/// redirected, so the bearer token reaches only the daemon whose identity was checked.
fn http(
    base: &str,
    method: &str,
    segments: &[&str],
    bearer: Option<&str>,
    body: &[u8],
) -> Result<(u16, Vec<u8>), String> {
    let addr = loopback_addr(base)?;
    let host = addr.to_string();
    let url = crate::endpoint::join(&format!("http://{host}"), segments, &[])?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .proxy(None)
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_connect(Some(NET_TIMEOUT))
        .timeout_recv_response(Some(NET_TIMEOUT))
        .timeout_recv_body(Some(NET_TIMEOUT))
        .timeout_send_request(Some(NET_TIMEOUT))
        .build()
        .into();
    let failed = |e: ureq::Error| format!("the daemon at {host}: {e}");
    let auth = bearer.map(|t| format!("Bearer {t}"));
    let response = match method {
        "GET" => {
            let mut request = agent.get(url.as_str());
            if let Some(auth) = &auth {
                request = request.header("Authorization", auth);
            }
            request.call()
        }
        _ => {
            let mut request = agent
                .post(url.as_str())
                .header("Content-Type", "application/json");
            if let Some(auth) = &auth {
                request = request.header("Authorization", auth);
            }
            request.send(body)
        }
    };
    let mut response = response.map_err(failed)?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(64 * 1024)
        .read_to_vec()
        .map_err(failed)?;
    Ok((status, body))
}

/// `~/.mcptop/hooks/<agent session>.json` (`codex-<id>.json` for the others), the id
/// reduced to safe characters.
fn state_path(discovery_file: &Path, agent: HookAgent, agent_session: &str) -> PathBuf {
    let name: String = agent_session
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .take(128)
        .collect();
    let name = if name.is_empty() {
        "unknown".to_owned()
    } else {
        name
    };
    let name = match agent {
        HookAgent::ClaudeCode => name,
        other => format!("{}-{name}", other.name()),
    };
    discovery_file
        .with_file_name("hooks")
        .join(format!("{name}.json"))
}

fn read_state(path: &Path) -> HookState {
    std::fs::read(path)
        .ok()
        .filter(|b| b.len() < 1 << 20)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn write_state(path: &Path, state: &HookState) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let bytes = serde_json::to_vec(state)?;
    crate::discovery::replace_file(path, &bytes, 0o600, crate::discovery::Durability::Cached)
}

/// The discovery file's directory, private, when it is missing.
fn make_private_dir(discovery_file: &Path) {
    use std::os::unix::fs::DirBuilderExt;
    if let Some(dir) = discovery_file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        let _ = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir);
    }
}

/// One line to `~/.mcptop/hook.log` (private, appended; never a token).
fn log_line(discovery_file: &Path, what: &str) {
    make_private_dir(discovery_file);
    let path = discovery_file.with_file_name("hook.log");
    // Kept to about a MiB: the last full log is kept once, as hook.log.old.
    if std::fs::symlink_metadata(&path).is_ok_and(|m| m.len() > 1 << 20) {
        let _ = std::fs::rename(&path, path.with_extension("log.old"));
    }
    if let Ok(mut file) = crate::discovery::open_private_append(&path) {
        let what = crate::sanitize::terminal(what);
        let _ = writeln!(file, "{} mcptop hook: {what}", Time::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: &str) -> HookInput {
        serde_json::from_str(json).unwrap()
    }

    fn states(items: &[Published<'_>]) -> Vec<(String, &'static str)> {
        items
            .iter()
            .map(|p| match p {
                Published::Call(c) => (
                    c.token.as_str().unwrap_or_default().to_owned(),
                    c.state.as_str(),
                ),
                Published::Progress(_) => ("progress".into(), "progress"),
                Published::Server(_) => ("server".into(), "server"),
            })
            .collect()
    }

    #[test]
    fn a_tool_call_starts_waits_for_permission_and_finishes() {
        let rules = Rules::default();
        let mut state = HookState::default();
        let at = Time::now();
        let pre = input(
            r#"{"hook_event_name":"PreToolUse","session_id":"s","cwd":"/home/me/shop","tool_name":"Bash","tool_input":{"command":"curl -H 'Authorization: Bearer sk-abcdefghijklmnop' https://x","description":"fetch"},"tool_use_id":"toolu_1"}"#,
        );
        let items = plan(&pre, &mut state, &rules, at);
        assert_eq!(states(&items), [("toolu_1".into(), "started")]);
        let Published::Call(started) = &items[0] else {
            panic!()
        };
        let what = started.message.as_deref().unwrap();
        assert!(
            what.starts_with("curl -H 'Authorization: Bearer <redacted>'"),
            "{what}"
        );
        assert_eq!(started.extras.progress_requested, Some(false));
        let asked = input(
            r#"{"hook_event_name":"PermissionRequest","session_id":"s","tool_name":"Bash","tool_input":{"command":"rm -rf build"}}"#,
        );
        let items = plan(&asked, &mut state, &rules, at);
        let Published::Call(waiting) = &items[0] else {
            panic!()
        };
        assert_eq!(
            (waiting.state, waiting.extras.waiting_for),
            (CallState::Waiting, Some(Wait::Permission))
        );
        assert_eq!(waiting.token, "toolu_1");
        let post = input(
            r#"{"hook_event_name":"PostToolUse","tool_name":"Bash","tool_use_id":"toolu_1","tool_response":{"stdout":"ok"}}"#,
        );
        assert_eq!(
            states(&plan(&post, &mut state, &rules, at)),
            [("toolu_1".into(), "finished")]
        );
        assert!(state.open.is_empty());
    }

    #[test]
    fn a_denied_permission_ends_when_the_agent_moves_on() {
        let rules = Rules::default();
        let mut state = HookState::default();
        let at = Time::now();
        let event = |name: &str, id: &str| {
            input(&format!(
                r#"{{"hook_event_name":"{name}","session_id":"s","tool_name":"Bash","tool_use_id":"{id}","tool_input":{{"command":"make"}}}}"#
            ))
        };
        plan(&event("PreToolUse", "a"), &mut state, &rules, at);
        plan(&event("PermissionRequest", "a"), &mut state, &rules, at);
        // Denied: no hook. The agent's next tool shows it moved on.
        let items = plan(&event("PreToolUse", "b"), &mut state, &rules, at);
        assert_eq!(
            states(&items),
            [("a".into(), "lost"), ("b".into(), "started")]
        );
        let Published::Call(lost) = &items[0] else {
            panic!()
        };
        assert!(lost.error.as_deref().unwrap().contains("permission"));
        // An allowed one ends as usual and is not ended again.
        plan(&event("PermissionRequest", "b"), &mut state, &rules, at);
        let items = plan(&event("PostToolUse", "b"), &mut state, &rules, at);
        assert_eq!(states(&items), [("b".into(), "finished")]);
        assert!(state.asking.is_empty() && state.open.is_empty());
        // A new prompt ends what is still open, whatever it waited for.
        plan(&event("PreToolUse", "c"), &mut state, &rules, at);
        let items = plan(
            &input(r#"{"hook_event_name":"UserPromptSubmit","prompt":"no"}"#),
            &mut state,
            &rules,
            at,
        );
        assert_eq!(states(&items), [("c".into(), "lost")]);
    }

    #[test]
    fn without_ids_calls_pair_up_in_order_per_tool_and_failures_say_why() {
        let rules = Rules::default();
        let mut state = HookState::default();
        let at = Time::now();
        for path in ["a.rs", "b.rs"] {
            plan(
                &input(&format!(
                    r#"{{"hook_event_name":"PreToolUse","tool_name":"Read","tool_input":{{"file_path":"{path}"}}}}"#
                )),
                &mut state,
                &rules,
                at,
            );
        }
        let items = plan(
            &input(
                r#"{"hook_event_name":"PostToolUseFailure","tool_name":"Read","error":"No such file"}"#,
            ),
            &mut state,
            &rules,
            at,
        );
        assert_eq!(states(&items), [("Read#1".into(), "failed")]);
        let Published::Call(failed) = &items[0] else {
            panic!()
        };
        assert_eq!(failed.error.as_deref(), Some("No such file"));
        // The turn ends with one still open: its end never came, and it is not left running.
        let items = plan(
            &input(r#"{"hook_event_name":"Stop"}"#),
            &mut state,
            &rules,
            at,
        );
        assert_eq!(states(&items), [("Read#2".into(), "lost")]);
    }

    #[test]
    fn a_notification_waits_until_the_agent_moves_on_and_garbage_is_harmless() {
        let rules = Rules::default();
        let mut state = HookState::default();
        let at = Time::now();
        let items = plan(
            &input(
                r#"{"hook_event_name":"Notification","message":"Claude needs your permission to use Bash","notification_type":"permission_prompt"}"#,
            ),
            &mut state,
            &rules,
            at,
        );
        assert_eq!(
            states(&items),
            [
                ("notice#1".into(), "started"),
                ("notice#1".into(), "waiting")
            ]
        );
        let items = plan(
            &input(r#"{"hook_event_name":"UserPromptSubmit","prompt":"go on"}"#),
            &mut state,
            &rules,
            at,
        );
        assert_eq!(states(&items), [("notice#1".into(), "finished")]);
        for junk in [
            r#"{}"#,
            r#"{"hook_event_name":"PostToolUse"}"#,
            r#"{"hook_event_name":"Surprise","tool_name":7}"#,
        ] {
            if let Ok(i) = serde_json::from_str::<HookInput>(junk) {
                plan(&i, &mut state, &rules, at);
            }
        }
        assert!(serde_json::from_str::<HookInput>("not json").is_err());
    }

    #[test]
    fn the_what_of_each_builtin_tool() {
        let rules = Rules::default();
        let cases = [
            ("Bash", r#"{"command":"cargo test"}"#, "cargo test"),
            ("Read", r#"{"file_path":"/src/main.rs"}"#, "/src/main.rs"),
            (
                "Edit",
                r#"{"file_path":"/src/lib.rs","old_string":"a","new_string":"b"}"#,
                "/src/lib.rs",
            ),
            ("Grep", r#"{"pattern":"fn main","path":"src"}"#, "fn main"),
            ("Glob", r#"{"pattern":"**/*.rs"}"#, "**/*.rs"),
            (
                "WebFetch",
                r#"{"url":"https://example.com","prompt":"x"}"#,
                "https://example.com",
            ),
            (
                "Task",
                r#"{"description":"explore the repo","prompt":"..."}"#,
                "explore the repo",
            ),
            ("TodoWrite", r#"{"todos":[{},{}]}"#, "2 todos"),
            // Codex's.
            ("Bash", r#"{"command":"npm test"}"#, "npm test"),
            (
                "apply_patch",
                r#"{"command":"*** Begin Patch\n*** Update File: src/a.rs\n@@\n-x\n+y\n*** Add File: notes.md\n+hi\n*** End Patch"}"#,
                "src/a.rs notes.md",
            ),
            // Gemini CLI's.
            (
                "run_shell_command",
                r#"{"command":"make","description":"build"}"#,
                "make",
            ),
            (
                "read_file",
                r#"{"absolute_path":"/src/main.rs"}"#,
                "/src/main.rs",
            ),
            (
                "mcp__github__search",
                r#"{"query":"is:open"}"#,
                "query=is:open",
            ),
        ];
        for (tool, args, expected) in cases {
            let v: Value = serde_json::from_str(args).unwrap();
            assert_eq!(what(tool, &v, &rules).as_deref(), Some(expected), "{tool}");
        }
    }

    #[test]
    fn gemini_s_events_read_as_claude_code_s() {
        let rules = Rules::default();
        let mut state = HookState::default();
        let at = Time::now();
        let event = |json: &str| normalize(HookAgent::Gemini, input(json));
        let items = plan(
            &event(
                r#"{"hook_event_name":"BeforeTool","session_id":"g","tool_name":"run_shell_command","tool_input":{"command":"make","description":"build"}}"#,
            ),
            &mut state,
            &rules,
            at,
        );
        assert_eq!(states(&items), [("run_shell_command#1".into(), "started")]);
        let Published::Call(started) = &items[0] else {
            panic!()
        };
        assert_eq!(started.message.as_deref(), Some("make"));
        // Its MCP tools are named as the others name theirs.
        let items = plan(
            &event(
                r#"{"hook_event_name":"BeforeTool","tool_name":"search","tool_input":{"q":"x"},"mcp_context":{"server_name":"github","tool_name":"search"}}"#,
            ),
            &mut state,
            &rules,
            at,
        );
        let Published::Call(mcp) = &items[0] else {
            panic!()
        };
        assert_eq!(mcp.tool, "mcp__github__search");
        let items = plan(
            &event(
                r#"{"hook_event_name":"AfterTool","tool_name":"run_shell_command","tool_response":{"llmContent":"","error":{"message":"exit 2","type":"x"}}}"#,
            ),
            &mut state,
            &rules,
            at,
        );
        assert_eq!(states(&items), [("run_shell_command#1".into(), "failed")]);
        let Published::Call(failed) = &items[0] else {
            panic!()
        };
        assert_eq!(failed.error.as_deref(), Some("exit 2"));
        // The turn's end (AfterAgent) ends what is open; a new prompt is BeforeAgent.
        let items = plan(
            &event(r#"{"hook_event_name":"AfterAgent"}"#),
            &mut state,
            &rules,
            at,
        );
        assert_eq!(states(&items), [("mcp__github__search#1".into(), "lost")]);
        assert_eq!(
            event(r#"{"hook_event_name":"BeforeAgent"}"#)
                .hook_event_name
                .as_deref(),
            Some("UserPromptSubmit")
        );
        // Codex's events are Claude Code's: nothing changes.
        let codex = normalize(
            HookAgent::Codex,
            input(r#"{"hook_event_name":"AfterTool","tool_name":"Bash"}"#),
        );
        assert_eq!(codex.hook_event_name.as_deref(), Some("AfterTool"));
    }

    #[test]
    fn a_subagent_s_calls_say_whose_they_are_and_end_with_it() {
        let rules = Rules::default();
        let mut state = HookState::default();
        let at = Time::now();
        let pre = |id: &str, agent: &str| {
            input(&format!(
                r#"{{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_use_id":"{id}","tool_input":{{"command":"ls"}}{agent}}}"#
            ))
        };
        let sub = r#","agent_id":"a7","agent_type":"Explore""#;
        // The parent waits for permission …
        plan(&pre("p1", ""), &mut state, &rules, at);
        plan(
            &input(
                r#"{"hook_event_name":"PermissionRequest","tool_name":"Bash","tool_use_id":"p1"}"#,
            ),
            &mut state,
            &rules,
            at,
        );
        // … while its subagent works: that is not the parent moving on.
        let items = plan(&pre("s1", sub), &mut state, &rules, at);
        assert_eq!(states(&items), [("s1".into(), "started")]);
        let Published::Call(started) = &items[0] else {
            panic!()
        };
        assert_eq!(
            (
                started.extras.subagent.as_deref(),
                started.extras.subagent_id.as_deref()
            ),
            (Some("Explore"), Some("a7"))
        );
        plan(&pre("s2", sub), &mut state, &rules, at);
        plan(
            &input(r#"{"hook_event_name":"PostToolUse","tool_name":"Bash","tool_use_id":"s1"}"#),
            &mut state,
            &rules,
            at,
        );
        // The subagent ends with s2 open: s2 ends with it, the parent's prompt stays.
        let items = plan(
            &input(r#"{"hook_event_name":"SubagentStop","agent_id":"a7","agent_type":"Explore"}"#),
            &mut state,
            &rules,
            at,
        );
        assert_eq!(states(&items), [("s2".into(), "lost")]);
        assert_eq!(state.asking, ["p1"]);
        // The parent's next tool shows its prompt was denied.
        let items = plan(&pre("p2", ""), &mut state, &rules, at);
        assert_eq!(
            states(&items),
            [("p1".into(), "lost"), ("p2".into(), "started")]
        );
        // The session's end: what is open ends, and a row says the session ended.
        let items = plan(
            &input(r#"{"hook_event_name":"SessionEnd","reason":"exit"}"#),
            &mut state,
            &rules,
            at,
        );
        assert_eq!(
            states(&items),
            [
                ("p2".into(), "lost"),
                (SESSION_END.into(), "started"),
                (SESSION_END.into(), "finished")
            ]
        );
        let Published::Call(end) = &items[2] else {
            panic!()
        };
        assert_eq!(end.message.as_deref(), Some("ended (exit)"));
        assert!(state.subagents.is_empty() && state.open.is_empty());
    }
}
