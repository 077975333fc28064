//! What a tap sees in the JSON-RPC traffic between an agent and an MCP server, and what it
//! makes of it: the start and end of every `tools/call`, its progress, its cancellation,
//! and the server's name. Pure: messages and clocks in, [`Item`]s out.
//!
//! With `request_progress`, a `tools/call` without a progress token gets one (so a server
//! that can report progress does), and the notifications that token brings are taken out
//! before they reach the agent, which never asked for them.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::borrow::Cow;
use std::time::Instant;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::time::Time;
pub use crate::wire::CallState;

/// Which way a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the agent (the MCP client) to the server.
    ToServer,
    /// From the server to the agent.
    ToClient,
}

/// What to do with a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Pass it on as it came, byte for byte.
    Forward,
    /// Pass this instead (a progress token was added).
    Replace(String),
    /// Pass nothing (a progress notification only the tap asked for).
    Drop,
}

/// Something to publish.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Call {
        token: Value,
        tool: String,
        state: CallState,
        at: Time,
        duration_ms: Option<u64>,
        error: Option<String>,
        /// On `started`: whether the agent (or the tap) asked for progress.
        progress_requested: Option<bool>,
    },
    Progress {
        token: Value,
        tool: String,
        progress: f64,
        total: Option<f64>,
        message: Option<String>,
        at: Time,
    },
    /// The server said who it is (`initialize`): `name version`.
    ServerName(String),
}

#[derive(serde::Serialize)]
struct CallOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    token: &'a Value,
    tool: &'a str,
    state: &'static str,
    timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    progress_requested: Option<bool>,
}

#[derive(serde::Serialize)]
struct ProgressOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    token: &'a Value,
    tool: &'a str,
    progress: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    timestamp: String,
}

impl Item {
    /// Appends the item as the daemon's `POST /session/{id}/publish` takes it; false for
    /// items that are not published (the server's name).
    pub fn write_json(&self, out: &mut Vec<u8>) -> bool {
        let written = match self {
            Item::Call {
                token,
                tool,
                state,
                at,
                duration_ms,
                error,
                progress_requested,
            } => serde_json::to_writer(
                &mut *out,
                &CallOut {
                    kind: "call",
                    token,
                    tool,
                    state: state.as_str(),
                    timestamp: at.to_rfc3339_nanos(),
                    duration_ms: *duration_ms,
                    error: error.as_deref(),
                    progress_requested: *progress_requested,
                },
            ),
            Item::Progress {
                token,
                tool,
                progress,
                total,
                message,
                at,
            } => serde_json::to_writer(
                &mut *out,
                &ProgressOut {
                    kind: "progress",
                    token,
                    tool,
                    progress: *progress,
                    total: *total,
                    message: message.as_deref(),
                    timestamp: at.to_rfc3339_nanos(),
                },
            ),
            Item::ServerName(_) => return false,
        };
        written.is_ok()
    }

    /// The item as a JSON value (see [`Item::write_json`]).
    pub fn to_json(&self) -> Option<Value> {
        let mut out = Vec::new();
        if !self.write_json(&mut out) {
            return None;
        }
        serde_json::from_slice(&out).ok()
    }
}

/// The fields of a JSON-RPC message a tap looks at; the rest is skipped unparsed.
#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(borrow, default)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct CallParams<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(rename = "_meta", borrow, default)]
    meta: Option<Meta<'a>>,
}

#[derive(Deserialize)]
struct Meta<'a> {
    #[serde(rename = "progressToken", borrow, default)]
    progress_token: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ProgressParams<'a> {
    #[serde(rename = "progressToken", borrow)]
    progress_token: &'a RawValue,
    progress: f64,
    #[serde(default)]
    total: Option<f64>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
struct CancelledParams<'a> {
    #[serde(rename = "requestId", borrow)]
    request_id: &'a RawValue,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
struct RpcError {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    code: Option<i64>,
}

#[derive(Deserialize)]
struct ToolResult {
    #[serde(rename = "isError", default)]
    is_error: bool,
    #[serde(default)]
    content: Vec<Value>,
}

#[derive(Deserialize)]
struct InitializeResult {
    #[serde(rename = "serverInfo", default)]
    server_info: Option<ServerInfo>,
}

#[derive(Deserialize)]
struct ServerInfo {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
}

struct Pending {
    tool: String,
    event_token: Value,
    /// The progress token's JSON text, when the call has one.
    progress_token: Option<String>,
    started: Instant,
}

/// Pending requests are keyed by (scope, the request id's JSON text): a scope is an MCP
/// session (request ids are only unique within one).
type Key = (Box<str>, Box<str>);

/// At most this many calls are tracked at once (a client that never gets answers must
/// not grow the tap without bound); the oldest is dropped, reported as failed.
pub const MAX_PENDING: usize = 10_000;

/// The tap's view of the conversation.
pub struct Observer {
    request_progress: bool,
    pending: HashMap<Key, Pending>,
    /// (scope, progress token text) → request id text.
    by_progress: HashMap<Key, Box<str>>,
    /// Progress tokens the tap added (scope, token text): their notifications are dropped.
    injected: HashSet<Key>,
    /// Pending `initialize` request ids.
    initializing: HashSet<Key>,
    next_token: u64,
    /// A short number for each MCP session seen, to qualify its request ids.
    scopes: HashMap<Box<str>, u32>,
    /// Messages that were not JSON-RPC (passed on untouched, not observed).
    pub unreadable: u64,
}

impl Observer {
    pub fn new(request_progress: bool) -> Observer {
        Observer {
            request_progress,
            pending: HashMap::default(),
            by_progress: HashMap::default(),
            injected: HashSet::default(),
            initializing: HashSet::default(),
            next_token: 1,
            scopes: HashMap::default(),
            unreadable: 0,
        }
    }

    /// Calls started and not yet ended.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Looks at one message (a JSON-RPC object or a batch array) travelling `direction`
    /// within `scope` ("" for a stdio server); pushes what to publish onto `out` and says
    /// what to pass on.
    pub fn observe(
        &mut self,
        direction: Direction,
        scope: &str,
        message: &str,
        now: (Instant, Time),
        out: &mut Vec<Item>,
    ) -> Verdict {
        let trimmed = message.trim_start();
        if trimmed.starts_with('[') {
            return self.observe_batch(direction, scope, message, now, out);
        }
        match serde_json::from_str::<Peek<'_>>(message) {
            Ok(peek) => self.one(direction, scope, &peek, message, now, out),
            Err(_) => {
                self.unreadable += 1;
                Verdict::Forward
            }
        }
    }

    fn observe_batch(
        &mut self,
        direction: Direction,
        scope: &str,
        message: &str,
        now: (Instant, Time),
        out: &mut Vec<Item>,
    ) -> Verdict {
        let Ok(parts) = serde_json::from_str::<Vec<&RawValue>>(message) else {
            self.unreadable += 1;
            return Verdict::Forward;
        };
        let mut verdicts = Vec::with_capacity(parts.len());
        for part in &parts {
            let verdict = match serde_json::from_str::<Peek<'_>>(part.get()) {
                Ok(peek) => self.one(direction, scope, &peek, part.get(), now, out),
                Err(_) => Verdict::Forward,
            };
            verdicts.push(verdict);
        }
        if verdicts.iter().all(|v| *v == Verdict::Forward) {
            return Verdict::Forward;
        }
        let kept: Vec<Cow<'_, str>> = parts
            .iter()
            .zip(verdicts)
            .filter_map(|(part, verdict)| match verdict {
                Verdict::Forward => Some(Cow::Borrowed(part.get())),
                Verdict::Replace(text) => Some(Cow::Owned(text)),
                Verdict::Drop => None,
            })
            .collect();
        if kept.is_empty() {
            return Verdict::Drop;
        }
        Verdict::Replace(format!("[{}]", kept.join(",")))
    }

    fn one(
        &mut self,
        direction: Direction,
        scope: &str,
        peek: &Peek<'_>,
        text: &str,
        (instant, at): (Instant, Time),
        out: &mut Vec<Item>,
    ) -> Verdict {
        let key = |raw: &RawValue| -> Key { (scope.into(), raw.get().trim().into()) };
        match (direction, peek.method.as_deref(), peek.id) {
            (Direction::ToServer, Some("tools/call"), Some(id)) => {
                let params = peek
                    .params
                    .and_then(|p| serde_json::from_str::<CallParams<'_>>(p.get()).ok());
                let tool = params
                    .as_ref()
                    .and_then(|p| p.name.as_deref())
                    .unwrap_or("?")
                    .to_owned();
                let given = params
                    .as_ref()
                    .and_then(|p| p.meta.as_ref())
                    .and_then(|m| m.progress_token)
                    .map(|t| t.get().trim())
                    .filter(|t| is_token(t))
                    .map(str::to_owned);
                let mut verdict = Verdict::Forward;
                let progress_token = match given {
                    Some(t) => Some(t),
                    None if self.request_progress => match self.add_token(text) {
                        Some((token, rewritten)) => {
                            self.injected.insert((scope.into(), token.as_str().into()));
                            verdict = Verdict::Replace(rewritten);
                            Some(token)
                        }
                        None => None,
                    },
                    None => None,
                };
                let request = key(id);
                let tag = self.scope_tag(scope);
                let event_token = event_token(tag, id);
                if let Some(t) = &progress_token {
                    self.by_progress
                        .insert((scope.into(), t.as_str().into()), request.1.clone());
                }
                out.push(Item::Call {
                    token: event_token.clone(),
                    tool: tool.clone(),
                    state: CallState::Started,
                    at,
                    duration_ms: None,
                    error: None,
                    progress_requested: Some(progress_token.is_some()),
                });
                if self.pending.len() >= MAX_PENDING {
                    self.evict_oldest(at, out);
                }
                let replaced = self.pending.insert(
                    request,
                    Pending {
                        tool,
                        event_token,
                        progress_token,
                        started: instant,
                    },
                );
                if let Some(old) = replaced {
                    // The client reused an id still in flight: the old call's end is lost.
                    self.forget_progress(scope, &old);
                }
                verdict
            }
            (Direction::ToServer, Some("initialize"), Some(id)) => {
                self.initializing.insert(key(id));
                Verdict::Forward
            }
            (Direction::ToServer, Some("notifications/cancelled"), None) => {
                let params = peek
                    .params
                    .and_then(|p| serde_json::from_str::<CancelledParams<'_>>(p.get()).ok());
                if let Some(params) = params {
                    if let Some(call) = self.pending.remove(&key(params.request_id)) {
                        self.forget_progress(scope, &call);
                        out.push(Item::Call {
                            token: call.event_token,
                            tool: call.tool,
                            state: CallState::Cancelled,
                            at,
                            duration_ms: Some(millis(instant - call.started)),
                            error: params.reason,
                            progress_requested: None,
                        });
                    }
                }
                Verdict::Forward
            }
            (Direction::ToClient, Some("notifications/progress"), None) => {
                let Some(params) = peek
                    .params
                    .and_then(|p| serde_json::from_str::<ProgressParams<'_>>(p.get()).ok())
                else {
                    return Verdict::Forward;
                };
                let token_key = key(params.progress_token);
                let call = self
                    .by_progress
                    .get(&token_key)
                    .and_then(|request| self.pending.get(&(scope.into(), request.clone())));
                if let Some(call) = call {
                    if params.progress.is_finite() {
                        out.push(Item::Progress {
                            token: call.event_token.clone(),
                            tool: call.tool.clone(),
                            progress: params.progress,
                            total: params.total.filter(|t| t.is_finite()),
                            message: params.message,
                            at,
                        });
                    }
                }
                if self.injected.contains(&token_key) {
                    Verdict::Drop
                } else {
                    Verdict::Forward
                }
            }
            (Direction::ToClient, None, Some(id))
                if peek.result.is_some() || peek.error.is_some() =>
            {
                let request = key(id);
                if self.initializing.remove(&request) {
                    if let Some(name) = peek.result.and_then(server_name) {
                        out.push(Item::ServerName(name));
                    }
                    return Verdict::Forward;
                }
                if let Some(call) = self.pending.remove(&request) {
                    self.forget_progress(scope, &call);
                    let error = match (peek.error, peek.result) {
                        (Some(e), _) => Some(rpc_error_text(e)),
                        (None, Some(r)) => tool_error_text(r),
                        (None, None) => None,
                    };
                    out.push(Item::Call {
                        token: call.event_token,
                        tool: call.tool,
                        state: if error.is_some() {
                            CallState::Failed
                        } else {
                            CallState::Finished
                        },
                        at,
                        duration_ms: Some(millis(instant - call.started)),
                        error,
                        progress_requested: None,
                    });
                }
                Verdict::Forward
            }
            _ => Verdict::Forward,
        }
    }

    /// Every call still open ends as failed with `why` (the server exited, the tap stops).
    pub fn abandon_all(&mut self, why: &str, (instant, at): (Instant, Time), out: &mut Vec<Item>) {
        let mut calls: Vec<Pending> = self.pending.drain().map(|(_, p)| p).collect();
        calls.sort_by_key(|c| c.started);
        for call in calls {
            out.push(Item::Call {
                token: call.event_token,
                tool: call.tool,
                state: CallState::Failed,
                at,
                duration_ms: Some(millis(instant - call.started)),
                error: Some(why.to_owned()),
                progress_requested: None,
            });
        }
        self.by_progress.clear();
        self.injected.clear();
    }

    /// Every call of one scope (an MCP session that ended) ends as cancelled.
    pub fn end_scope(
        &mut self,
        scope: &str,
        why: &str,
        (instant, at): (Instant, Time),
        out: &mut Vec<Item>,
    ) {
        let keys: Vec<Key> = self
            .pending
            .keys()
            .filter(|(s, _)| &**s == scope)
            .cloned()
            .collect();
        for key in keys {
            if let Some(call) = self.pending.remove(&key) {
                self.forget_progress(scope, &call);
                out.push(Item::Call {
                    token: call.event_token,
                    tool: call.tool,
                    state: CallState::Cancelled,
                    at,
                    duration_ms: Some(millis(instant - call.started)),
                    error: Some(why.to_owned()),
                    progress_requested: None,
                });
            }
        }
    }

    /// 0 for no session, else 1, 2, … in the order sessions were first seen.
    fn scope_tag(&mut self, scope: &str) -> u32 {
        if scope.is_empty() {
            return 0;
        }
        if self.scopes.len() >= MAX_PENDING {
            self.scopes.clear();
        }
        let next = self.scopes.len() as u32 + 1;
        *self.scopes.entry(scope.into()).or_insert(next)
    }

    fn evict_oldest(&mut self, at: Time, out: &mut Vec<Item>) {
        let Some(oldest) = self
            .pending
            .iter()
            .min_by_key(|(_, p)| p.started)
            .map(|(k, _)| k.clone())
        else {
            return;
        };
        if let Some(call) = self.pending.remove(&oldest) {
            self.forget_progress(&oldest.0, &call);
            out.push(Item::Call {
                token: call.event_token,
                tool: call.tool,
                state: CallState::Failed,
                at,
                duration_ms: None,
                error: Some(format!("no answer among the last {MAX_PENDING} calls")),
                progress_requested: None,
            });
        }
    }

    fn forget_progress(&mut self, scope: &str, call: &Pending) {
        if let Some(t) = &call.progress_token {
            let k: Key = (scope.into(), t.as_str().into());
            self.by_progress.remove(&k);
            self.injected.remove(&k);
        }
    }

    /// The request with `_meta.progressToken` added: (the token's JSON text, new text).
    /// Only the token is inserted into the text; every other byte stays as the agent wrote
    /// it (key order, number spelling, white space).
    fn add_token(&mut self, text: &str) -> Option<(String, String)> {
        let token = Value::String(format!("mcptop-{}", self.next_token)).to_string();
        let rewritten = insert_progress_token(text, &token)?;
        self.next_token += 1;
        Some((token, rewritten))
    }
}

/// `text` (a JSON-RPC request object) with `params._meta.progressToken` set to `token`
/// (JSON text), by inserting into the raw text; `None` when `params` or `_meta` is there
/// but not an object, or the text is not an object.
pub(crate) fn insert_progress_token(text: &str, token: &str) -> Option<String> {
    use std::collections::BTreeMap;
    let offset = |raw: &RawValue| raw.get().as_ptr() as usize - text.as_ptr() as usize;
    let top: BTreeMap<String, &RawValue> = serde_json::from_str(text).ok()?;
    let mut out = String::with_capacity(text.len() + token.len() + 40);
    let Some(params) = top.get("params") else {
        // Before the closing brace of the request.
        let close = text.rfind('}')?;
        out.push_str(&text[..close]);
        let empty = text[..close].trim_end().ends_with('{');
        if !empty {
            out.push(',');
        }
        out.push_str("\"params\":{\"_meta\":{\"progressToken\":");
        out.push_str(token);
        out.push_str("}}");
        out.push_str(&text[close..]);
        return Some(out);
    };
    let params_at = offset(params);
    let inner: BTreeMap<String, &RawValue> = serde_json::from_str(params.get()).ok()?;
    let (object_at, object, insert) = match inner.get("_meta") {
        Some(meta) => {
            let fields: BTreeMap<String, &RawValue> = serde_json::from_str(meta.get()).ok()?;
            if let Some(old) = fields.get("progressToken") {
                // There but unusable (null, an object): replace just that value.
                let at = offset(old);
                out.push_str(&text[..at]);
                out.push_str(token);
                out.push_str(&text[at + old.get().len()..]);
                return Some(out);
            }
            (
                offset(meta),
                meta.get(),
                format!("\"progressToken\":{token}"),
            )
        }
        None => (
            params_at,
            params.get(),
            format!("\"_meta\":{{\"progressToken\":{token}}}"),
        ),
    };
    // Right after the object's `{`.
    let open = object_at + object.find('{')? + 1;
    let empty = object[object.find('{')? + 1..]
        .trim_start()
        .starts_with('}');
    out.push_str(&text[..open]);
    out.push_str(&insert);
    if !empty {
        out.push(',');
    }
    out.push_str(&text[open..]);
    Some(out)
}

/// The token a call shows on the daemon's stream: its request id (unique among the
/// client's calls in flight), qualified by its MCP session's number when there is one
/// (`7@s2`).
fn event_token(scope: u32, id: &RawValue) -> Value {
    let id_value: Value = serde_json::from_str(id.get()).unwrap_or(Value::Null);
    let integer = id_value.is_i64() || id_value.is_u64();
    if scope == 0 && (integer || id_value.is_string()) {
        return id_value;
    }
    let id_text = match &id_value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if scope == 0 {
        id_text
    } else {
        format!("{id_text}@s{scope}")
    }
    .into()
}

/// Whether a JSON text is a valid progress token: a string or an integer.
fn is_token(json: &str) -> bool {
    match json.as_bytes().first() {
        Some(b'"') => true,
        Some(b'-' | b'0'..=b'9') => !json.contains(['.', 'e', 'E']),
        _ => false,
    }
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn server_name(result: &RawValue) -> Option<String> {
    let info = serde_json::from_str::<InitializeResult>(result.get())
        .ok()?
        .server_info?;
    let name = info.name.filter(|n| !n.trim().is_empty())?;
    Some(match info.version.filter(|v| !v.trim().is_empty()) {
        Some(v) => format!("{name} {v}"),
        None => name,
    })
}

fn rpc_error_text(error: &RawValue) -> String {
    match serde_json::from_str::<RpcError>(error.get()) {
        Ok(RpcError {
            message: Some(m), ..
        }) if !m.is_empty() => m,
        Ok(RpcError {
            code: Some(code), ..
        }) => format!("error {code}"),
        _ => "error".into(),
    }
}

/// The text of a tool result with `isError: true` (its first text content), else `None`.
fn tool_error_text(result: &RawValue) -> Option<String> {
    let result = serde_json::from_str::<ToolResult>(result.get()).ok()?;
    if !result.is_error {
        return None;
    }
    let text = result
        .content
        .iter()
        .find_map(|c| c.get("text").and_then(Value::as_str))
        .map(|t| t.chars().take(500).collect::<String>());
    Some(
        text.filter(|t| !t.is_empty())
            .unwrap_or_else(|| "the tool reported an error".into()),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_token_is_inserted_and_every_other_byte_kept() {
        let t = r#""mcptop-1""#;
        let cases = [
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"n":123456789012345678901234567890,"z":1,"a":2}}}"#,
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":{"progressToken":"mcptop-1"},"name":"x","arguments":{"n":123456789012345678901234567890,"z":1,"a":2}}}"#,
            ),
            (
                r#"{ "method" : "tools/call", "id": 2, "params": { "_meta": { "other": 1.50 }, "name": "y" } }"#,
                r#"{ "method" : "tools/call", "id": 2, "params": { "_meta": {"progressToken":"mcptop-1", "other": 1.50 }, "name": "y" } }"#,
            ),
            (
                r#"{"id":3,"method":"tools/call","params":{"_meta":{}}}"#,
                r#"{"id":3,"method":"tools/call","params":{"_meta":{"progressToken":"mcptop-1"}}}"#,
            ),
            (
                r#"{"id":4,"method":"tools/call","params":{}}"#,
                r#"{"id":4,"method":"tools/call","params":{"_meta":{"progressToken":"mcptop-1"}}}"#,
            ),
            (
                r#"{"id":5,"method":"tools/call"}"#,
                r#"{"id":5,"method":"tools/call","params":{"_meta":{"progressToken":"mcptop-1"}}}"#,
            ),
            (
                r#"{"id":6,"method":"tools/call","params":{"_meta":{"progressToken":null,"b":[1.10E+2]}}}"#,
                r#"{"id":6,"method":"tools/call","params":{"_meta":{"progressToken":"mcptop-1","b":[1.10E+2]}}}"#,
            ),
            (
                r#"{"id":7,"params":{"name":"é\u00e9 {}"},"method":"tools/call"}"#,
                r#"{"id":7,"params":{"_meta":{"progressToken":"mcptop-1"},"name":"é\u00e9 {}"},"method":"tools/call"}"#,
            ),
        ];
        for (before, after) in cases {
            assert_eq!(
                insert_progress_token(before, t).as_deref(),
                Some(after),
                "{before}"
            );
            let v: serde_json::Value = serde_json::from_str(after).unwrap();
            assert_eq!(v["params"]["_meta"]["progressToken"], "mcptop-1");
        }
        for refused in [
            r#"{"id":1,"params":[1]}"#,
            r#"{"id":1,"params":{"_meta":3}}"#,
            "[1]",
            "nope",
        ] {
            assert_eq!(insert_progress_token(refused, t), None, "{refused}");
        }
    }

    use super::*;
    use std::time::Duration;

    fn at(ms: u64) -> (Instant, Time) {
        thread_local!(static BASE: Instant = Instant::now());
        let base = BASE.with(|b| *b);
        (base + Duration::from_millis(ms), Time::now())
    }

    fn see(o: &mut Observer, d: Direction, msg: &str, ms: u64) -> (Verdict, Vec<Item>) {
        let mut out = Vec::new();
        let v = o.observe(d, "", msg, at(ms), &mut out);
        (v, out)
    }

    fn state_of(item: &Item) -> (String, &'static str) {
        match item {
            Item::Call { tool, state, .. } => (tool.clone(), state.as_str()),
            other => panic!("not a call: {other:?}"),
        }
    }

    #[test]
    fn a_call_with_progress_starts_reports_and_finishes() {
        let mut o = Observer::new(false);
        let (v, items) = see(
            &mut o,
            Direction::ToServer,
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"index","arguments":{},"_meta":{"progressToken":"p1"}}}"#,
            0,
        );
        assert_eq!(v, Verdict::Forward);
        assert_eq!(state_of(&items[0]), ("index".into(), "started"));
        assert!(
            matches!(&items[0], Item::Call { token, progress_requested: Some(true), .. } if token.as_i64() == Some(7))
        );
        let (v, items) = see(
            &mut o,
            Direction::ToClient,
            r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"p1","progress":2,"total":4,"message":"half"}}"#,
            100,
        );
        assert_eq!(v, Verdict::Forward);
        match &items[..] {
            [Item::Progress {
                token,
                tool,
                progress,
                total,
                message,
                ..
            }] => {
                assert_eq!((token, tool.as_str()), (&Value::from(7), "index"));
                assert_eq!(
                    (*progress, *total, message.as_deref()),
                    (2.0, Some(4.0), Some("half"))
                );
            }
            other => panic!("{other:?}"),
        }
        let (_, items) = see(
            &mut o,
            Direction::ToClient,
            r#"{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"ok"}]}}"#,
            1500,
        );
        match &items[..] {
            [Item::Call {
                state: CallState::Finished,
                duration_ms: Some(1500),
                error: None,
                ..
            }] => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(o.pending(), 0);
        // Progress for a finished call's token is not attributed to anything.
        let (_, items) = see(
            &mut o,
            Direction::ToClient,
            r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"p1","progress":3}}"#,
            1600,
        );
        assert!(items.is_empty());
    }

    #[test]
    fn errors_tool_errors_and_cancellations_end_calls() {
        let mut o = Observer::new(false);
        for id in 1..=3 {
            see(
                &mut o,
                Direction::ToServer,
                &format!(
                    r#"{{"jsonrpc":"2.0","id":"r{id}","method":"tools/call","params":{{"name":"t{id}"}}}}"#
                ),
                0,
            );
        }
        let (_, items) = see(
            &mut o,
            Direction::ToClient,
            r#"{"jsonrpc":"2.0","id":"r1","error":{"code":-32602,"message":"unknown tool"}}"#,
            10,
        );
        assert!(
            matches!(&items[0], Item::Call { state: CallState::Failed, error: Some(e), .. } if e == "unknown tool")
        );
        let (_, items) = see(
            &mut o,
            Direction::ToClient,
            r#"{"jsonrpc":"2.0","id":"r2","result":{"isError":true,"content":[{"type":"text","text":"disk full"}]}}"#,
            10,
        );
        assert!(
            matches!(&items[0], Item::Call { state: CallState::Failed, error: Some(e), .. } if e == "disk full")
        );
        let (_, items) = see(
            &mut o,
            Direction::ToServer,
            r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"r3","reason":"user"}}"#,
            10,
        );
        assert!(
            matches!(&items[0], Item::Call { state: CallState::Cancelled, error: Some(e), .. } if e == "user")
        );
        assert_eq!(o.pending(), 0);
    }

    #[test]
    fn request_progress_adds_a_token_and_keeps_its_notifications_from_the_agent() {
        let mut o = Observer::new(true);
        let (v, items) = see(
            &mut o,
            Direction::ToServer,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"slow","arguments":{"n":1}}}"#,
            0,
        );
        let Verdict::Replace(text) = v else {
            panic!("{v:?}")
        };
        let sent: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(sent["params"]["_meta"]["progressToken"], "mcptop-1");
        assert_eq!(sent["params"]["arguments"]["n"], 1);
        assert!(matches!(
            &items[0],
            Item::Call {
                progress_requested: Some(true),
                ..
            }
        ));
        let (v, items) = see(
            &mut o,
            Direction::ToClient,
            r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"mcptop-1","progress":1,"total":2}}"#,
            5,
        );
        assert_eq!(v, Verdict::Drop, "the agent never asked for it");
        assert_eq!(items.len(), 1, "but the monitor shows it");
        // A call that brought its own token keeps its notifications.
        see(
            &mut o,
            Direction::ToServer,
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"slow","_meta":{"progressToken":9}}}"#,
            6,
        );
        let (v, _) = see(
            &mut o,
            Direction::ToClient,
            r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":9,"progress":1}}"#,
            7,
        );
        assert_eq!(v, Verdict::Forward);
        // In a batch only the tap's notification goes.
        let (v, _) = see(
            &mut o,
            Direction::ToClient,
            r#"[{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"mcptop-1","progress":2,"total":2}},{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":9,"progress":2}}]"#,
            8,
        );
        let Verdict::Replace(kept) = v else {
            panic!("{v:?}")
        };
        assert!(
            !kept.contains("mcptop-1") && kept.contains(r#""progressToken":9"#),
            "{kept}"
        );
    }

    #[test]
    fn without_a_token_the_call_says_no_progress_was_requested() {
        let mut o = Observer::new(false);
        let (v, items) = see(
            &mut o,
            Direction::ToServer,
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"grep"}}"#,
            0,
        );
        assert_eq!(v, Verdict::Forward);
        assert!(matches!(
            &items[0],
            Item::Call {
                progress_requested: Some(false),
                ..
            }
        ));
        let json = items[0].to_json().unwrap();
        assert_eq!(json["progress_requested"], false);
        assert_eq!(json["type"], "call");
    }

    #[test]
    fn initialize_names_the_server_and_junk_is_passed_on() {
        let mut o = Observer::new(false);
        see(
            &mut o,
            Direction::ToServer,
            r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}"#,
            0,
        );
        let (_, items) = see(
            &mut o,
            Direction::ToClient,
            r#"{"jsonrpc":"2.0","id":0,"result":{"serverInfo":{"name":"everything","version":"2.0.0"}}}"#,
            1,
        );
        assert_eq!(items, vec![Item::ServerName("everything 2.0.0".into())]);
        let (v, items) = see(&mut o, Direction::ToClient, "not json at all", 2);
        assert_eq!((v, items.len(), o.unreadable), (Verdict::Forward, 0, 1));
    }

    #[test]
    fn the_same_id_in_two_sessions_is_two_calls() {
        let mut o = Observer::new(false);
        let call = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}"#;
        let mut out = Vec::new();
        o.observe(Direction::ToServer, "session-a", call, at(0), &mut out);
        o.observe(Direction::ToServer, "session-b", call, at(0), &mut out);
        assert_eq!(o.pending(), 2);
        let tokens: Vec<Value> = out
            .iter()
            .map(|i| match i {
                Item::Call { token, .. } => token.clone(),
                _ => Value::Null,
            })
            .collect();
        assert_ne!(tokens[0], tokens[1]);
        o.end_scope("session-a", "closed", at(5), &mut out);
        assert_eq!(o.pending(), 1);
        o.abandon_all("the server exited", at(9), &mut out);
        assert_eq!(o.pending(), 0);
        assert!(matches!(
            out.last(),
            Some(Item::Call {
                state: CallState::Failed,
                ..
            })
        ));
    }
}
