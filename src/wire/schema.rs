//! The wire's shapes, written once, for the server, the taps and the decoder:
//!
//! - the events a daemon's stream carries (`event: progress`, `event: call`) and the items
//!   a tap publishes into it (the same objects with a `"type"`);
//! - the parts of JSON-RPC messages mcptop reads (requests, notifications, results and
//!   errors of `tools/call`, `initialize` and `server/discover`), and the one rule for an
//!   error's text.
//!
//! The call event's optional fields are [`CallExtras`], declared with the decoder's keys in
//! `fields`; a property test checks that what the producers write is what both decoding
//! paths read.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;

pub use super::fields::CallExtras;
use super::words::CallState;
pub use super::words::Origin;
use crate::time::Time;

/// The longest error or message text that crosses the wire (bytes; cut with `…`).
pub const MAX_TEXT: usize = 4096;
/// The longest tool name, token or label (bytes).
pub const MAX_NAME: usize = 256;

/// A number written as an integer when it is one (`5`, not `5.0`), as Construct does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Num(pub f64);

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
        if self.0.fract() == 0.0 && self.0.abs() < EXACT {
            s.serialize_i64(self.0 as i64)
        } else {
            s.serialize_f64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Num, D::Error> {
        f64::deserialize(d).map(Num)
    }
}

/// Timestamps as RFC 3339 with nine fraction digits (Construct's stamp).
mod stamp {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Option<Time>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&t.to_rfc3339_nanos()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Time>, D::Error> {
        match Option::<Cow<'de, str>>::deserialize(d)? {
            None => Ok(None),
            Some(text) => Time::parse_rfc3339(&text)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom(format!("bad timestamp {text:?}"))),
        }
    }
}

/// A progress report on a daemon's stream: Construct's ProgressEvent, fields in its order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgressEvent<'a> {
    pub token: Value,
    pub progress: Num,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<Num>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub message: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub tool: Option<Cow<'a, str>>,
    /// When the tool reported (a publisher may leave it out: the daemon's clock then).
    #[serde(default, with = "stamp", skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Time>,
}

/// `event: call` (mcptop extension): a call started, finished, failed or was cancelled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallEvent<'a> {
    /// The call's key on its session's stream (unique among the calls in flight).
    pub token: Value,
    #[serde(borrow)]
    pub tool: Cow<'a, str>,
    pub state: CallState,
    #[serde(default, with = "stamp", skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub error: Option<Cow<'a, str>>,
    /// On `started`, `working` and `waiting`: what the call does now (a task's status
    /// message); on `finished`, what it did. On a failure (`failed`, `cancelled`, `lost`)
    /// with no `error`, it is read as the reason (what older producers sent).
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub message: Option<Cow<'a, str>>,
    /// What else the call event says (see [`CallExtras`]: its fields are declared with the
    /// decoder's, so both sides read and write the same).
    #[serde(flatten)]
    pub extras: CallExtras,
    /// On `started`: the call's arguments as a tap saw them, secrets redacted, at most
    /// [`MAX_DETAIL`] bytes of JSON (a longer value is cut to a string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Value>,
    /// At the end: what the result was (`{"bytes", "types", "text"}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
}

/// The most bytes of arguments or of a result summary a call event carries.
pub const MAX_DETAIL: usize = 4096;

/// `value` if its JSON is at most [`MAX_DETAIL`] bytes, else its JSON text cut to a
/// string; and whether it was cut.
pub fn bounded_detail(value: Value) -> (Value, bool) {
    let text = value.to_string();
    if text.len() <= MAX_DETAIL {
        return (value, false);
    }
    (
        Value::String(crate::sanitize::cut(&text, MAX_DETAIL).into_owned()),
        true,
    )
}

/// The longest question [`ask_text`] gives.
pub const MAX_ASK: usize = 200;

/// What a server's request to its client (`{"method", "params"}`) asks, in words: the
/// question an elicitation puts to the user (on one line, cut), or what sampling and
/// `roots/list` want.
pub fn ask_text(request: &Value) -> String {
    match request["method"].as_str().unwrap_or("") {
        "elicitation/create" => {
            let message = request["params"]["message"]
                .as_str()
                .map(|m| m.replace(['\n', '\r'], " "))
                .map(|m| crate::sanitize::cut(m.trim(), MAX_ASK).into_owned())
                .unwrap_or_default();
            if message.is_empty() {
                "asks the user (elicitation)".to_owned()
            } else {
                format!("asks the user: {message}")
            }
        }
        "sampling/createMessage" => "sampling: asks the client's model".to_owned(),
        "roots/list" => "roots: asks for the client's roots".to_owned(),
        other => format!("asks the client: {}", crate::sanitize::cut(other, 64)),
    }
}

/// A tool result in short: its size, its content types and the start of its text.
pub fn result_summary(result: &str) -> Value {
    let parsed: Value = serde_json::from_str(result).unwrap_or(Value::Null);
    let content = parsed.get("content").and_then(Value::as_array);
    let types: Vec<&str> = content
        .map(|c| {
            c.iter()
                .filter_map(|i| i.get("type").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    let text: String = content
        .map(|c| {
            c.iter()
                .filter_map(|i| i.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    let mut summary = serde_json::json!({ "bytes": result.len(), "types": types });
    if !text.is_empty() {
        summary["text"] = Value::String(crate::sanitize::cut(&text, 1024).into_owned());
    }
    if parsed.get("structuredContent").is_some() {
        summary["structured"] = Value::Bool(true);
    }
    summary
}

impl<'a> CallEvent<'a> {
    /// A call event with only its key, tool and state.
    pub fn new(token: Value, tool: impl Into<Cow<'a, str>>, state: CallState) -> Self {
        CallEvent {
            token,
            tool: tool.into(),
            state,
            timestamp: None,
            duration_ms: None,
            error: None,
            message: None,
            extras: CallExtras::default(),
            arguments: None,
            result: None,
        }
    }
}

/// What `POST /session/{id}/publish` takes: a stream event with its `"type"`. Fields the
/// daemon does not know are ignored, so a newer tap can publish into an older daemon.
// Calls are what producers publish most: a box each would cost more than the bytes.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Published<'a> {
    Progress(#[serde(borrow)] ProgressEvent<'a>),
    Call(#[serde(borrow)] CallEvent<'a>),
    Server(ServerEvent),
}

/// `event: server` (mcptop extension): what a tap saw of the server behind it, in
/// `initialize` (or `server/discover`) and `tools/list`. Each one replaces the last; the
/// daemon keeps the latest per session and sends it first to every new subscriber.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ServerEvent {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The protocol revision in use (`initialize`), or the newest offered (`server/discover`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// The server's capability names (`tools`, `resources`, `prompts`, `logging`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<String>,
    /// The tools of `tools/list`, every page, at most [`MAX_TOOLS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolInfo>,
    /// Tools listed beyond [`MAX_TOOLS`], not carried.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tools_cut: u64,
    #[serde(default, with = "stamp", skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Time>,
}

/// One tool a server offers.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ToolInfo {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `execution.taskSupport`: `required`, `optional` or `forbidden`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks: Option<String>,
    /// The whole definition's fingerprint (see [`tool_digest`]): any change to its name,
    /// description, schemas or annotations changes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// A tool definition's fingerprint: SHA-256 of its JSON with object keys sorted (as
/// `serde_json` writes a `Value`), the first 16 bytes in hex.
pub fn tool_digest(definition: &Value) -> String {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(definition.to_string().as_bytes());
    hash.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Tools a server event carries.
pub const MAX_TOOLS: usize = 256;
/// Bytes of a tool's description a server event carries.
pub const MAX_DESCRIPTION: usize = 240;
/// Capability names a server event carries.
pub const MAX_CAPABILITIES: usize = 32;

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl ServerEvent {
    /// Holds every field to its cap (names to [`MAX_NAME`], descriptions to
    /// [`MAX_DESCRIPTION`], at most [`MAX_TOOLS`] tools); returns how many it cut.
    pub fn bound(&mut self) -> u64 {
        let mut cut = 0u64;
        let mut cap = |s: &mut String, max: usize| {
            if let std::borrow::Cow::Owned(kept) = crate::sanitize::cut(s, max) {
                *s = kept;
                cut += 1;
            }
        };
        cap(&mut self.name, MAX_NAME);
        for s in [&mut self.version, &mut self.protocol]
            .into_iter()
            .flatten()
        {
            cap(s, MAX_NAME);
        }
        self.capabilities.truncate(MAX_CAPABILITIES);
        for c in &mut self.capabilities {
            cap(c, MAX_NAME);
        }
        if self.tools.len() > MAX_TOOLS {
            let extra = (self.tools.len() - MAX_TOOLS) as u64;
            self.tools_cut = self.tools_cut.saturating_add(extra);
            self.tools.truncate(MAX_TOOLS);
        }
        for t in &mut self.tools {
            cap(&mut t.name, MAX_NAME);
            if let Some(d) = &mut t.description {
                cap(d, MAX_DESCRIPTION);
            }
            if let Some(s) = &mut t.tasks {
                cap(s, 16);
            }
            if let Some(d) = &mut t.digest {
                cap(d, 64);
            }
        }
        cut
    }

    /// Takes what an `initialize` or `server/discover` result says.
    pub fn read_hello(&mut self, result: &str) {
        let Ok(hello) = serde_json::from_str::<Hello>(result) else {
            return;
        };
        if let Some(info) = hello
            .server_info
            .or_else(|| hello.meta.and_then(|m| m.server_info))
        {
            self.name = info.name.unwrap_or_default();
            self.version = info.version;
        }
        self.protocol = hello.protocol_version.or_else(|| {
            hello
                .supported_versions
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .max()
        });
        if let Some(Value::Object(caps)) = hello.capabilities {
            self.capabilities = caps.keys().take(MAX_CAPABILITIES).cloned().collect();
        }
        self.bound();
    }

    /// Takes one page of a `tools/list` result; `first` when it was asked without a
    /// cursor (a new listing replaces the old one).
    pub fn read_tools(&mut self, result: &str, first: bool) {
        let Ok(list) = serde_json::from_str::<ToolList>(result) else {
            return;
        };
        if first {
            self.tools.clear();
            self.tools_cut = 0;
        }
        for tool in list.tools {
            if self.tools.len() >= MAX_TOOLS {
                self.tools_cut = self.tools_cut.saturating_add(1);
                continue;
            }
            let Some(name) = tool.get("name").and_then(Value::as_str) else {
                continue;
            };
            let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
            self.tools.push(ToolInfo {
                name: name.to_owned(),
                description: text(tool.get("description")).or_else(|| text(tool.get("title"))),
                tasks: text(tool.pointer("/execution/taskSupport")),
                digest: Some(tool_digest(&tool)),
            });
        }
        self.bound();
    }
}

#[derive(Deserialize)]
struct Hello {
    #[serde(rename = "serverInfo", default)]
    server_info: Option<ServerInfo>,
    /// MCP 2026-07-28 names the server in the result's `_meta` (spec PR #3002).
    #[serde(rename = "_meta", default)]
    meta: Option<ResultMeta>,
    #[serde(rename = "protocolVersion", default)]
    protocol_version: Option<String>,
    #[serde(rename = "supportedVersions", default)]
    supported_versions: Option<Vec<Value>>,
    #[serde(default)]
    capabilities: Option<Value>,
}

#[derive(Deserialize)]
struct ToolList {
    #[serde(default)]
    tools: Vec<Value>,
}

/// Whether a value can be a token or request id on the wire: a string of at most
/// [`MAX_NAME`] bytes, or an integer.
pub fn check_token(token: &Value) -> Result<(), String> {
    match token {
        Value::String(s) if s.len() <= MAX_NAME => Ok(()),
        Value::String(_) => Err(format!("token must be at most {MAX_NAME} bytes")),
        Value::Number(n) if n.is_i64() || n.is_u64() => Ok(()),
        _ => Err("token must be a string or an integer".to_owned()),
    }
}

// ---------------------------------------------------------------------------------------
// JSON-RPC, as much of it as mcptop reads. Everything else is skipped unparsed.

/// One JSON-RPC message: a request, a notification or a response.
#[derive(Debug, Deserialize)]
pub struct Message<'a> {
    #[serde(borrow, default)]
    pub method: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub params: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub result: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub error: Option<&'a RawValue>,
}

/// `tools/call` params.
#[derive(Debug, Deserialize)]
pub struct CallParams<'a> {
    #[serde(borrow, default)]
    pub name: Option<Cow<'a, str>>,
    #[serde(rename = "_meta", borrow, default)]
    pub meta: Option<RequestMeta<'a>>,
    /// Task-augmented execution (MCP 2025-11-25): `{"ttl": …}`.
    #[serde(borrow, default)]
    pub task: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub arguments: Option<&'a RawValue>,
    /// A later round of a multi-round call (MCP 2026-07-28): the client's answers.
    #[serde(rename = "inputResponses", borrow, default)]
    pub input_responses: Option<&'a RawValue>,
    /// A later round: the state the server gave with its `input_required` result.
    #[serde(rename = "requestState", borrow, default)]
    pub request_state: Option<Cow<'a, str>>,
}

/// A request's `_meta`.
#[derive(Debug, Deserialize)]
pub struct RequestMeta<'a> {
    #[serde(rename = "progressToken", borrow, default)]
    pub progress_token: Option<&'a RawValue>,
    /// W3C trace context the agent propagates (SEP-414): the call's span joins its trace.
    #[serde(borrow, default)]
    pub traceparent: Option<Cow<'a, str>>,
}

/// `notifications/progress` params.
#[derive(Debug, Deserialize)]
pub struct ProgressParams<'a> {
    #[serde(rename = "progressToken", borrow, default)]
    pub progress_token: Option<&'a RawValue>,
    pub progress: f64,
    #[serde(default)]
    pub total: Option<f64>,
    #[serde(borrow, default)]
    pub message: Option<Cow<'a, str>>,
}

/// `notifications/cancelled` params.
#[derive(Debug, Deserialize)]
pub struct CancelledParams<'a> {
    #[serde(rename = "requestId", borrow, default)]
    pub request_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub reason: Option<Cow<'a, str>>,
}

/// The result of `initialize` (`serverInfo`) or `server/discover` (MCP 2026-07-28, which
/// names the server in `_meta`).
#[derive(Debug, Deserialize)]
pub struct ServerResult {
    #[serde(rename = "serverInfo", default)]
    pub server_info: Option<ServerInfo>,
    #[serde(rename = "_meta", default)]
    meta: Option<ResultMeta>,
}

/// A result's `_meta`, as far as it names the server.
#[derive(Debug, Deserialize)]
struct ResultMeta {
    #[serde(rename = "io.modelcontextprotocol/serverInfo", default)]
    server_info: Option<ServerInfo>,
}

#[derive(Debug, Deserialize)]
pub struct ServerInfo {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
}

/// `name version` from an `initialize` or `server/discover` result.
pub fn server_name(result: &str) -> Option<String> {
    let result = serde_json::from_str::<ServerResult>(result).ok()?;
    let info = result
        .server_info
        .or_else(|| result.meta.and_then(|m| m.server_info))?;
    let name = info.name.filter(|n| !n.trim().is_empty())?;
    Some(match info.version.filter(|v| !v.trim().is_empty()) {
        Some(v) => format!("{name} {v}"),
        None => name,
    })
}

/// The JSON-RPC answer (a message with a `result` or an `error`) in an HTTP body: the
/// body itself, or, for an event stream (`sse`), the last event that is one.
pub fn rpc_answer(body: &[u8], sse: bool) -> Option<Value> {
    let is_answer = |v: &Value| v.get("result").is_some() || v.get("error").is_some();
    if !sse {
        return serde_json::from_slice::<Value>(body).ok().filter(is_answer);
    }
    let mut last = None;
    crate::sse::Decoder::new(crate::sse::Limits::default()).feed(body, &mut |item| {
        if let crate::sse::Item::Event(e) = item {
            if let Ok(v) = serde_json::from_str::<Value>(e.data) {
                if is_answer(&v) {
                    last = Some(v);
                }
            }
        }
    });
    last
}

fn capped(text: String) -> String {
    match crate::sanitize::cut(&text, MAX_TEXT) {
        Cow::Borrowed(_) => text,
        Cow::Owned(cut) => cut,
    }
}

/// The text of a JSON-RPC error (an object with `message` and `code`, or a bare string, as
/// some gateways send): its message, else `error CODE`, else `error`; at most
/// [`MAX_TEXT`] bytes.
pub fn rpc_error_text(raw: &str) -> String {
    #[derive(Deserialize)]
    struct RpcError {
        #[serde(default)]
        code: Option<i64>,
        #[serde(default)]
        message: Option<String>,
    }
    if let Ok(text) = serde_json::from_str::<String>(raw) {
        if !text.is_empty() {
            return capped(text);
        }
    }
    capped(match serde_json::from_str::<RpcError>(raw) {
        Ok(RpcError {
            message: Some(m), ..
        }) if !m.is_empty() => m,
        Ok(RpcError {
            code: Some(code), ..
        }) => format!("error {code}"),
        _ => "error".to_owned(),
    })
}

/// A `tools/call` result with `isError: true`: the text of its first text content (at
/// most [`MAX_TEXT`] bytes), or a plain phrase when it has none; `None` for a result that
/// is not an error.
pub fn tool_error_text(raw: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Content {
        #[serde(default)]
        text: Option<String>,
    }
    #[derive(Deserialize)]
    struct ToolResult {
        #[serde(rename = "isError", default)]
        is_error: bool,
        #[serde(default)]
        content: Vec<Content>,
    }
    let result: ToolResult = serde_json::from_str(raw).ok()?;
    if !result.is_error {
        return None;
    }
    let text = result
        .content
        .into_iter()
        .find_map(|c| c.text.filter(|t| !t.is_empty()));
    Some(capped(
        text.unwrap_or_else(|| "the tool reported an error".to_owned()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Token, Wait};

    #[test]
    fn whole_numbers_have_no_fraction() {
        let s = |v| serde_json::to_string(&Num(v)).unwrap();
        assert_eq!(s(5.0), "5");
        assert_eq!(s(-2.0), "-2");
        assert_eq!(s(0.5), "0.5");
        assert_eq!(serde_json::from_str::<f64>(&s(1e300)).unwrap(), 1e300);
    }

    #[test]
    fn a_published_call_reads_back_with_its_type_and_unknown_fields_ignored() {
        let mut call = CallEvent::new("7".into(), "search", CallState::Started);
        call.extras.progress_token = Some(Token::Int(3));
        call.timestamp = Time::parse_rfc3339("2026-04-17T10:20:33.5+00:00");
        let text = serde_json::to_string(&Published::Call(call.clone())).unwrap();
        assert_eq!(
            text,
            r#"{"type":"call","token":"7","tool":"search","state":"started","timestamp":"2026-04-17T10:20:33.500000000+00:00","progress_token":3}"#
        );
        let with_extra = text.replace("\"state\"", "\"future\":[1],\"state\"");
        let back: Published<'_> = serde_json::from_str(&with_extra).unwrap();
        assert_eq!(back, Published::Call(call));
    }

    #[test]
    fn progress_keeps_constructs_field_order() {
        let event = ProgressEvent {
            token: 1.into(),
            progress: Num(2.0),
            total: Some(Num(4.0)),
            message: Some("half".into()),
            tool: Some("t".into()),
            timestamp: None,
        };
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            r#"{"token":1,"progress":2,"total":4,"message":"half","tool":"t"}"#
        );
    }

    #[test]
    fn bad_states_and_timestamps_say_what_is_wrong() {
        let e = serde_json::from_str::<Published<'_>>(
            r#"{"type":"call","token":1,"tool":"t","state":"paused"}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("state \"paused\" is not one of started, working, waiting, finished, failed, cancelled, lost"),
            "{e}"
        );
        let e = serde_json::from_str::<Published<'_>>(
            r#"{"type":"progress","token":1,"progress":1,"timestamp":"yesterday"}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("bad timestamp \"yesterday\""), "{e}");
    }

    #[test]
    fn error_texts_have_one_rule_and_one_cap() {
        assert_eq!(
            rpc_error_text(r#"{"code":-32000,"message":"boom"}"#),
            "boom"
        );
        assert_eq!(rpc_error_text(r#"{"code":-32000}"#), "error -32000");
        assert_eq!(rpc_error_text(r#""gateway says no""#), "gateway says no");
        assert_eq!(rpc_error_text("[]"), "error");
        let long = "x".repeat(10_000);
        let raw = format!(r#"{{"isError":true,"content":[{{"type":"text","text":"{long}"}}]}}"#);
        let text = tool_error_text(&raw).unwrap();
        assert!(
            text.len() <= MAX_TEXT && text.ends_with('…'),
            "{}",
            text.len()
        );
        assert_eq!(tool_error_text(r#"{"content":[]}"#), None);
        assert_eq!(
            tool_error_text(r#"{"isError":true,"content":[{"type":"image"}]}"#).as_deref(),
            Some("the tool reported an error")
        );
    }

    #[test]
    fn server_names_from_initialize_and_discover() {
        assert_eq!(
            server_name(r#"{"serverInfo":{"name":"everything","version":"2.0"}}"#).as_deref(),
            Some("everything 2.0")
        );
        assert_eq!(server_name(r#"{"serverInfo":{"name":" "}}"#), None);
        // MCP 2026-07-28: in the result's `_meta`.
        assert_eq!(
            server_name(
                r#"{"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"mcptop","version":"0.1.0"}},"supportedVersions":["2026-07-28"]}"#
            )
            .as_deref(),
            Some("mcptop 0.1.0")
        );
        let mut server = ServerEvent::default();
        server.read_hello(
            r#"{"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"mcptop","version":"0.1.0"}},"supportedVersions":["2025-11-25","2026-07-28"],"capabilities":{"tools":{}}}"#,
        );
        assert_eq!(
            (
                server.name.as_str(),
                server.version.as_deref(),
                server.protocol.as_deref()
            ),
            ("mcptop", Some("0.1.0"), Some("2026-07-28"))
        );
        assert_eq!(server_name("3"), None);
    }

    #[test]
    fn a_newer_producers_words_read_as_none_and_the_event_stays() {
        let item = r#"{"type":"call","token":1,"tool":"t","state":"waiting","waiting_for":"approval","origin":"robot"}"#;
        let Ok(Published::Call(call)) = serde_json::from_str::<Published>(item) else {
            panic!("{item} did not read");
        };
        assert_eq!((call.extras.waiting_for, call.extras.origin), (None, None));
        let known = r#"{"type":"call","token":1,"tool":"t","state":"waiting","waiting_for":"permission","origin":"hook"}"#;
        let Ok(Published::Call(call)) = serde_json::from_str::<Published>(known) else {
            panic!("{known} did not read");
        };
        assert_eq!(
            (call.extras.waiting_for, call.extras.origin),
            (Some(Wait::Permission), Some(Origin::Hook))
        );
        let wrong = r#"{"type":"call","token":1,"tool":"t","state":"waiting","waiting_for":5}"#;
        assert!(serde_json::from_str::<Published>(wrong).is_err());
    }
}
