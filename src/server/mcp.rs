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

use super::calls::{self, CallRequest, EventToken, StreamLog};
use super::events::{channel_body, flush, sse_response};
use super::session::Session;
use super::{auth, text, tools, AppState, Compat, CONSTRUCT_PROTOCOL_VERSION};
use crate::sse::encode;

/// Protocol versions of standard MCP this server speaks, oldest first.
pub const SUPPORTED_VERSIONS: &[&str] = &["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];
const LATEST: &str = "2025-11-25";
/// Response streams kept per MCP session for resumption.
const KEPT_STREAMS: usize = 64;

/// The standard MCP sessions, by `Mcp-Session-Id` (the daemon session's id).
#[derive(Default)]
pub struct McpSessions {
    by_id: RwLock<HashMap<String, Arc<McpSession>>>,
}

pub struct McpSession {
    session: Arc<Session>,
    protocol_version: String,
    next_stream: AtomicU64,
    streams: Mutex<VecDeque<(u64, Arc<StreamLog>)>>,
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
    json!({
        "capabilities": { "tools": { "listChanged": false } },
        "protocolVersion": protocol_version,
        "serverInfo": { "name": "mcptop", "version": env!("CARGO_PKG_VERSION") },
    })
}

fn cancel_from(session: &Session, params: &Value) {
    if let Some(request_id) = params.get("requestId") {
        let key = serde_json::to_string(request_id).unwrap_or_default();
        session.cancel_call(&key);
    }
}

// ---------------------------------------------------------------------------------------
// Construct's dialect

fn construct_post(state: &Arc<AppState>, headers: &HeaderMap, body: &[u8]) -> Response {
    let (Some(token), Some(session_id)) =
        (auth::bearer(headers), construct_session_header(headers))
    else {
        return text(
            StatusCode::UNAUTHORIZED,
            "missing Authorization: Bearer <token> or X-Construct-Session header",
        );
    };
    let session = match state.sessions.get(session_id) {
        Some(s) if s.token_matches(token) || state.is_admin(token) => s,
        _ => return text(StatusCode::UNAUTHORIZED, "invalid session or token"),
    };
    session.touch();
    if !has_json_body(headers) {
        return text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Expected request with `Content-Type: application/json`",
        );
    }
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return text(
                StatusCode::BAD_REQUEST,
                &format!("Failed to parse the request body as JSON: {e}"),
            )
        }
    };
    let Some(Message {
        id,
        method: Some(method),
        params,
    }) = parse_message(&value)
    else {
        return json_response(
            StatusCode::OK,
            &rpc_error(&Value::Null, -32600, "missing method"),
        );
    };
    let Some(id) = id else {
        if method == "notifications/cancelled" {
            cancel_from(&session, params);
        }
        return StatusCode::ACCEPTED.into_response();
    };
    match method {
        "initialize" => json_response(
            StatusCode::OK,
            &rpc_result(id, initialize_result(CONSTRUCT_PROTOCOL_VERSION)),
        ),
        "tools/list" => json_response(
            StatusCode::OK,
            &rpc_result(id, json!({ "tools": tools::list() })),
        ),
        "tools/call" => {
            let name = params
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !tools::exists(name) {
                return json_response(
                    StatusCode::OK,
                    &rpc_error(id, -32602, &format!("unknown tool: {name}")),
                );
            }
            let given = params.get("_meta").and_then(|m| m.get("progressToken"));
            let extensions = state.extensions();
            let (response_token, event_token) = if extensions {
                // Echo the caller's token exactly on the response.
                (given.cloned(), EventToken::Unique(given.cloned()))
            } else {
                // Construct knows only integer tokens and mints 0 for anything else.
                let token = json!(given.and_then(Value::as_u64).unwrap_or(0));
                (given.map(|_| token.clone()), EventToken::Fixed(token))
            };
            let log = StreamLog::new();
            calls::spawn(
                CallRequest {
                    session: Arc::clone(&session),
                    request_id: id.clone(),
                    tool: name.to_owned(),
                    arguments: params
                        .get("arguments")
                        .cloned()
                        .unwrap_or_else(|| json!({})),
                    response_token,
                    event_token,
                    lifecycle: extensions,
                },
                Arc::clone(&log),
            );
            let (tx, body) = channel_body();
            tokio::spawn(follow(
                log,
                FollowFrom::start(None),
                String::new(),
                tx,
                stops(state, &session),
            ));
            sse_response(body)
        }
        other => json_response(
            StatusCode::OK,
            &rpc_error(id, -32601, &format!("unknown method: {other}")),
        ),
    }
}

fn stops(state: &AppState, session: &Session) -> [CancellationToken; 2] {
    [state.shutdown.clone(), session.closed.clone()]
}

// ---------------------------------------------------------------------------------------
// Standard MCP Streamable HTTP

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

/// The session a request names, or the response that refuses it.
fn mcp_session(state: &AppState, headers: &HeaderMap) -> Result<Arc<McpSession>, Response> {
    let Some(id) = auth::header_str(headers, "mcp-session-id") else {
        return Err(bad_request(
            "Bad Request: Mcp-Session-Id header is required",
        ));
    };
    let Some(session) = state.mcp_sessions.get(id) else {
        return Err(json_response(
            StatusCode::NOT_FOUND,
            &rpc_error(&Value::Null, -32001, "Session not found"),
        ));
    };
    if let Some(version) = auth::header_str(headers, "mcp-protocol-version") {
        if !SUPPORTED_VERSIONS.contains(&version) {
            return Err(bad_request(&format!(
                "Bad Request: unsupported MCP-Protocol-Version {version} (supported: {})",
                SUPPORTED_VERSIONS.join(", ")
            )));
        }
    }
    session.session.touch();
    Ok(session)
}

fn standard_post(state: &Arc<AppState>, headers: &HeaderMap, body: &[u8]) -> Response {
    if !(accepts(headers, "application/json") && accepts(headers, "text/event-stream")) {
        return json_response(
            StatusCode::NOT_ACCEPTABLE,
            &rpc_error(
                &Value::Null,
                -32000,
                "Not Acceptable: Accept must list application/json and text/event-stream",
            ),
        );
    }
    if !has_json_body(headers) {
        return json_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &rpc_error(
                &Value::Null,
                -32000,
                "Unsupported Media Type: Content-Type must be application/json",
            ),
        );
    }
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                &rpc_error(&Value::Null, -32700, &format!("Parse error: {e}")),
            )
        }
    };
    if value.is_array() {
        return bad_request("Bad Request: batched messages are not supported");
    }
    let Some(message) = parse_message(&value) else {
        return bad_request("Invalid Request: not a JSON-RPC message");
    };
    if message.method == Some("initialize") {
        return initialize(state, headers, &message);
    }
    let mcp = match mcp_session(state, headers) {
        Ok(s) => s,
        Err(response) => return response,
    };
    let (Some(id), Some(method)) = (message.id, message.method) else {
        // A notification or a response from the client.
        if message.method == Some("notifications/cancelled") {
            cancel_from(&mcp.session, message.params);
        }
        return StatusCode::ACCEPTED.into_response();
    };
    match method {
        "ping" => json_response(StatusCode::OK, &rpc_result(id, json!({}))),
        "tools/list" => json_response(
            StatusCode::OK,
            &rpc_result(id, json!({ "tools": tools::list() })),
        ),
        "tools/call" => standard_call(state, &mcp, id, message.params),
        other => json_response(
            StatusCode::OK,
            &rpc_error(id, -32601, &format!("Method not found: {other}")),
        ),
    }
}

fn initialize(state: &Arc<AppState>, headers: &HeaderMap, message: &Message<'_>) -> Response {
    let Some(id) = message.id else {
        return bad_request("Invalid Request: initialize must be a request");
    };
    let requested = message
        .params
        .get("protocolVersion")
        .and_then(Value::as_str);
    let version = match requested {
        Some(v) if SUPPORTED_VERSIONS.contains(&v) => v,
        _ => LATEST,
    };
    let client = message.params.get("clientInfo");
    let name = client.and_then(|c| c.get("name")).and_then(Value::as_str);
    let client_version = client
        .and_then(|c| c.get("version"))
        .and_then(Value::as_str);
    let label = name.map(|n| {
        let label = match client_version {
            Some(v) => format!("{n} {v}"),
            None => n.to_owned(),
        };
        crate::sanitize::cut(&label, super::MAX_NAME).into_owned()
    });
    let cwd = super::resolve_cwd(None);
    let anonymous = !super::auth::bearer(headers).is_some_and(|t| state.is_admin(t));
    let session = match state.sessions.try_create(label, cwd, anonymous) {
        Ok(session) => session,
        Err(full) => {
            return json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                &rpc_error(id, -32000, &full.to_string()),
            )
        }
    };
    let mcp = Arc::new(McpSession {
        session,
        protocol_version: version.to_owned(),
        next_stream: AtomicU64::new(1),
        streams: Mutex::new(VecDeque::new()),
    });
    state.mcp_sessions.insert(Arc::clone(&mcp));
    let mut response = json_response(StatusCode::OK, &rpc_result(id, initialize_result(version)));
    if let Ok(value) = HeaderValue::from_str(&mcp.session.id) {
        response.headers_mut().insert("mcp-session-id", value);
    }
    response
}

fn standard_call(
    state: &Arc<AppState>,
    mcp: &Arc<McpSession>,
    id: &Value,
    params: &Value,
) -> Response {
    let name = params
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !tools::exists(name) {
        return json_response(
            StatusCode::OK,
            &rpc_error(id, -32602, &format!("Unknown tool: {name}")),
        );
    }
    let given = params
        .get("_meta")
        .and_then(|m| m.get("progressToken"))
        .filter(|t| t.is_string() || t.is_i64() || t.is_u64());
    let session = &mcp.session;
    let event_token = EventToken::Unique(given.cloned());
    let (stream_id, log) = mcp.new_stream();
    calls::spawn(
        CallRequest {
            session: Arc::clone(session),
            request_id: id.clone(),
            tool: name.to_owned(),
            arguments: params
                .get("arguments")
                .cloned()
                .unwrap_or_else(|| json!({})),
            response_token: given.cloned(),
            event_token,
            lifecycle: state.extensions(),
        },
        Arc::clone(&log),
    );
    let mut prelude = String::new();
    if mcp.primes() {
        encode::write_retry(&mut prelude, state.config.sse_retry_ms);
        encode::write_event(&mut prelude, None, Some(&format!("{stream_id}-0")), "");
    }
    let (tx, body) = channel_body();
    let from = FollowFrom::start(Some(stream_id));
    if name == "test_reconnection" && mcp.primes() {
        // The conformance scenario: end the stream after the priming event; the client
        // resumes with GET and Last-Event-ID and gets the result there.
        tokio::spawn(async move {
            let _ = tx.send(Bytes::from(prelude)).await;
        });
    } else {
        tokio::spawn(follow(log, from, prelude, tx, stops(state, session)));
    }
    sse_response(body)
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

/// `GET /mcp`: resume a response stream (`Last-Event-ID: <stream>-<n>`) or open the
/// session's server stream.
pub async fn get_mcp(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if state.config.compat == Compat::Construct {
        return method_not_allowed();
    }
    if !accepts(&headers, "text/event-stream") {
        return json_response(
            StatusCode::NOT_ACCEPTABLE,
            &rpc_error(
                &Value::Null,
                -32000,
                "Not Acceptable: Accept must list text/event-stream",
            ),
        );
    }
    let mcp = match mcp_session(&state, &headers) {
        Ok(s) => s,
        Err(response) => return response,
    };
    let stops = stops(&state, &mcp.session);
    let (tx, body) = channel_body();
    let resume = auth::header_str(&headers, "last-event-id").and_then(parse_event_id);
    if let Some((stream, index)) = resume {
        if let Some(log) = mcp.stream(stream) {
            let from = FollowFrom {
                stream: Some(stream),
                index,
            };
            tokio::spawn(follow(log, from, String::new(), tx, stops));
            return sse_response(body);
        }
    }
    // The server stream: this server sends no requests of its own, so it carries only
    // the priming event and keep-alives, until the session ends.
    let mut prelude = String::new();
    if mcp.primes() {
        encode::write_retry(&mut prelude, state.config.sse_retry_ms);
        encode::write_event(&mut prelude, None, Some("0-0"), "");
    }
    let keepalive = state.config.keepalive;
    tokio::spawn(async move {
        let [shutdown, closed] = stops;
        let mut out = prelude;
        loop {
            if !flush(&tx, &mut out).await {
                return;
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = closed.cancelled() => return,
                _ = tx.closed() => return,
                _ = tokio::time::sleep(keepalive) => out.push_str(":\n\n"),
            }
        }
    });
    sse_response(body)
}

fn parse_event_id(id: &str) -> Option<(u64, usize)> {
    let (stream, index) = id.split_once('-')?;
    Some((stream.parse().ok()?, index.parse().ok()?))
}

/// `DELETE /mcp`: ends the session (its calls are cancelled, its streams close).
pub async fn delete_mcp(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if state.config.compat == Compat::Construct {
        return method_not_allowed();
    }
    let mcp = match mcp_session(&state, &headers) {
        Ok(s) => s,
        Err(response) => return response,
    };
    state.mcp_sessions.remove(&mcp.session.id);
    state.sessions.remove(&mcp.session.id);
    StatusCode::OK.into_response()
}

fn method_not_allowed() -> Response {
    (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "POST")]).into_response()
}
