//! `/mcp`: Construct's dialect when a request names its session in `X-Construct-Session`
//! (or the server runs with `--compat construct`), else standard MCP Streamable HTTP
//! (protocol versions 2024-11-05 to 2025-11-25). Every standard MCP session is also a
//! daemon session, so its tools' progress shows on `/session/{id}/events`.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::calls::{self, CallRequest, EventToken, LogLevel, StreamLog};
use super::events::{channel_body, flush, sse_response};
use super::session::Session;
use super::{auth, text, tools, AppState, Compat, CONSTRUCT_PROTOCOL_VERSION};
use crate::sse::encode;

mod construct;
mod content;
mod modern;
mod standard;

use construct::construct_post;
use standard::standard_post;
pub use standard::{delete_mcp, get_mcp};

/// Protocol versions of standard MCP this server speaks, oldest first.
pub const SUPPORTED_VERSIONS: &[&str] = &["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];
const LATEST: &str = "2025-11-25";
/// Response streams kept per MCP session for resumption.
const KEPT_STREAMS: usize = 64;

/// The standard MCP sessions, by `Mcp-Session-Id` (the daemon session's id).
#[derive(Default)]
pub struct McpSessions {
    by_id: RwLock<HashMap<String, Arc<McpSession>>>,
    /// The 2026-07-28 dialect's clients and tasks.
    modern: modern::Modern,
}

pub struct McpSession {
    session: Arc<Session>,
    protocol_version: String,
    next_stream: AtomicU64,
    streams: Mutex<VecDeque<(u64, Arc<StreamLog>)>>,
    /// The least severe log level the client wants (`logging/setLevel`).
    log_level: Mutex<LogLevel>,
    /// What the client owes the requests the session's calls sent it.
    answers: Arc<super::tool_context::Answers>,
}

impl McpSession {
    fn new_stream(&self) -> (u64, Arc<StreamLog>) {
        let id = self.next_stream.fetch_add(1, Ordering::Relaxed);
        let log = StreamLog::new();
        let mut streams = self.streams.lock().unwrap_or_else(PoisonError::into_inner);
        if streams.len() == KEPT_STREAMS {
            streams.pop_front();
        }
        streams.push_back((id, Arc::clone(&log)));
        (id, log)
    }

    fn stream(&self, id: u64) -> Option<Arc<StreamLog>> {
        let streams = self.streams.lock().unwrap_or_else(PoisonError::into_inner);
        streams
            .iter()
            .find(|(s, _)| *s == id)
            .map(|(_, l)| Arc::clone(l))
    }

    fn log_level(&self) -> LogLevel {
        *self
            .log_level
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn set_log_level(&self, level: LogLevel) {
        *self
            .log_level
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = level;
    }

    /// Priming events and `retry:` are for clients of 2025-11-25 and later.
    fn primes(&self) -> bool {
        self.protocol_version.as_str() >= "2025-11-25"
    }
}

impl McpSessions {
    fn get(&self, id: &str) -> Option<Arc<McpSession>> {
        self.by_id
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    fn insert(&self, s: Arc<McpSession>) {
        self.by_id
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(s.session.id.clone(), s);
    }

    /// Keeps only the sessions whose id passes `keep`.
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        self.by_id
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|id, _| keep(id));
    }

    pub fn len(&self) -> usize {
        self.by_id
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    fn remove(&self, id: &str) -> Option<Arc<McpSession>> {
        self.by_id
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id)
    }
}

/// Whether the request says its body is `application/json` (parameters allowed).
pub fn has_json_body(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

fn rpc_result(id: &Value, result: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "result": result })
}

fn rpc_error(id: &Value, code: i64, message: &str) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } })
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn construct_session_header(headers: &HeaderMap) -> Option<&str> {
    auth::header_str(headers, "x-construct-session")
        .or_else(|| auth::header_str(headers, "x-revka-session"))
        .filter(|s| !s.is_empty())
}

pub async fn post_mcp(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if state.config.compat == Compat::Construct || construct_session_header(&headers).is_some() {
        construct_post(&state, &headers, &body)
    } else if state.config.mcp_2026 && modern::is_modern(&headers, &body) {
        modern::modern_post(&state, &headers, &body)
    } else {
        standard_post(&state, &headers, &body)
    }
}

/// The parts of a JSON-RPC message the server needs.
struct Message<'a> {
    id: Option<&'a Value>,
    method: Option<&'a str>,
    params: &'a Value,
}

fn parse_message(value: &Value) -> Option<Message<'_>> {
    let object = value.as_object()?;
    static EMPTY: Value = Value::Null;
    Some(Message {
        id: object.get("id").filter(|v| !v.is_null()),
        method: object.get("method").and_then(Value::as_str),
        params: object.get("params").unwrap_or(&EMPTY),
    })
}

fn initialize_result(protocol_version: &str) -> Value {
    let mut capabilities = json!({ "tools": { "listChanged": false }, "logging": {} });
    if protocol_version >= "2025-11-25" {
        capabilities["tasks"] = json!({
            "list": {},
            "cancel": {},
            "requests": { "tools": { "call": {} } },
        });
    }
    json!({
        "capabilities": capabilities,
        "protocolVersion": protocol_version,
        "serverInfo": { "name": "mcptop", "version": env!("CARGO_PKG_VERSION") },
    })
}

/// Runs `request` as `task` in the background and settles the task with how it ended.
fn spawn_task(state: &Arc<AppState>, task: Arc<super::tasks::Task>, request: CallRequest) {
    use super::tasks::TaskOutcome;
    let state = Arc::clone(state);
    tokio::spawn(async move {
        let outcome = calls::run(request, StreamLog::new()).await;
        let status = match &outcome {
            tools::Outcome::Cancelled => TaskOutcome::Cancelled,
            tools::Outcome::Error { code, message } => {
                TaskOutcome::Failed(json!({ "code": code, "message": message }))
            }
            done => TaskOutcome::Completed(calls::tool_result(done).unwrap_or_default()),
        };
        let message = match &status {
            TaskOutcome::Failed(e) => e["message"].as_str().map(str::to_owned),
            _ => None,
        };
        state
            .mcp_sessions
            .modern
            .tasks
            .settle(&task, status, message);
    });
}

fn cancel_from(session: &Session, params: &Value) {
    if let Some(request_id) = params.get("requestId") {
        let key = serde_json::to_string(request_id).unwrap_or_default();
        session.cancel_call(&key);
    }
}

pub(super) fn stops(state: &AppState, session: &Session) -> [CancellationToken; 2] {
    [state.shutdown.clone(), session.closed.clone()]
}

fn accepts(headers: &HeaderMap, wanted: &str) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|m| m.split(';').next().unwrap_or("").trim())
        .any(|m| m.eq_ignore_ascii_case(wanted) || m == "*/*")
}

fn bad_request(message: &str) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        &rpc_error(&Value::Null, -32600, message),
    )
}

/// Where a reader of a [`StreamLog`] starts, and how it names events.
#[derive(Clone, Copy)]
struct FollowFrom {
    /// The stream's id, when events carry ids (`<stream>-<n>`).
    stream: Option<u64>,
    index: usize,
}

impl FollowFrom {
    fn start(stream: Option<u64>) -> FollowFrom {
        FollowFrom { stream, index: 0 }
    }
}

/// Writes a stream's messages as SSE events until it is complete.
async fn follow(
    log: Arc<StreamLog>,
    mut from: FollowFrom,
    prelude: String,
    tx: mpsc::Sender<Bytes>,
    [shutdown, closed]: [CancellationToken; 2],
) {
    let mut out = prelude;
    let mut watch = log.watch();
    loop {
        watch.borrow_and_update();
        let (messages, start, done) = log.read_from(from.index);
        // Messages that fell out of a long stream's log are skipped over.
        from.index = start;
        for message in &messages {
            from.index += 1;
            let id = from.stream.map(|s| format!("{s}-{}", from.index));
            encode::write_event(&mut out, None, id.as_deref(), message);
        }
        if !flush(&tx, &mut out).await {
            return;
        }
        if done {
            return;
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = closed.cancelled() => return,
            _ = tx.closed() => return,
            changed = watch.changed() => if changed.is_err() { return },
        }
    }
}

fn parse_event_id(id: &str) -> Option<(u64, usize)> {
    let (stream, index) = id.split_once('-')?;
    Some((stream.parse().ok()?, index.parse().ok()?))
}

fn method_not_allowed() -> Response {
    (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "POST")]).into_response()
}
