//! MCP 2026-07-28 on `/mcp`: stateless requests, each carrying its protocol version and
//! client capabilities in `_meta`; `server/discover`; the `MCP-Protocol-Version`,
//! `Mcp-Method`, `Mcp-Name` and `Mcp-Param-*` header checks; `resultType` and caching
//! hints on results; `subscriptions/listen`; and the tasks extension
//! `io.modelcontextprotocol/tasks`.
//!
//! Calls still show on the daemon's events streams: each client (by its `clientInfo`) gets
//! a daemon session of its own, made on its first call.

use base64::Engine;

use super::*;
use crate::server::mrtr::Mrtr;
use crate::server::tasks::{self, TaskStore};
use crate::server::tool_context::TaskSupport;

/// The revision this dialect speaks.
pub const VERSION: &str = "2026-07-28";
/// The tasks extension's id.
const TASKS: &str = "io.modelcontextprotocol/tasks";
const HEADER_MISMATCH: i64 = -32020;
const MISSING_CAPABILITY: i64 = -32021;
const UNSUPPORTED_VERSION: i64 = -32022;
/// How long a client may cache a list (the lists never change while the server runs).
const LIST_TTL_MS: u64 = 60_000;

/// What this dialect keeps: the daemon session of each client, and the tasks.
#[derive(Default)]
pub struct Modern {
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    /// Every task the daemon runs, of both generations.
    pub tasks: TaskStore,
    /// The key request states of multi-round calls are signed with.
    rounds: Arc<crate::server::mrtr::Rounds>,
}

/// Whether a request speaks 2026-07-28 (or a later or unknown revision, which this
/// dialect refuses properly): it names no session and its version header is not one of
/// the sessioned revisions, or its `_meta` carries a protocol version.
pub(super) fn is_modern(headers: &HeaderMap, body: &[u8]) -> bool {
    if auth::header_str(headers, "mcp-session-id").is_some() {
        return false;
    }
    if let Some(version) = auth::header_str(headers, "mcp-protocol-version") {
        return !SUPPORTED_VERSIONS.contains(&version.trim());
    }
    #[derive(serde::Deserialize)]
    struct Peek<'a> {
        #[serde(borrow, default)]
        method: Option<std::borrow::Cow<'a, str>>,
        #[serde(default)]
        params: Option<Value>,
    }
    match serde_json::from_slice::<Peek<'_>>(body) {
        Ok(peek) => {
            peek.method.as_deref() == Some("server/discover")
                || peek
                    .params
                    .as_ref()
                    .and_then(|p| p.get("_meta"))
                    .and_then(|m| m.get("io.modelcontextprotocol/protocolVersion"))
                    .is_some()
        }
        Err(_) => false,
    }
}

fn error_with(
    status: StatusCode,
    id: &Value,
    code: i64,
    message: &str,
    data: Option<Value>,
) -> Response {
    let mut error = json!({ "code": code, "message": message });
    if let (Some(data), Some(object)) = (data, error.as_object_mut()) {
        object.insert("data".into(), data);
    }
    json_response(
        status,
        &json!({ "jsonrpc": "2.0", "id": id, "error": error }),
    )
}

fn error(status: StatusCode, id: &Value, code: i64, message: &str) -> Response {
    error_with(status, id, code, message, None)
}

fn complete(id: &Value, mut result: Value) -> Response {
    if let Some(object) = result.as_object_mut() {
        object.insert("resultType".into(), "complete".into());
        let meta = object.entry("_meta").or_insert_with(|| json!({}));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert("io.modelcontextprotocol/serverInfo".into(), server_info());
        }
    }
    json_response(StatusCode::OK, &rpc_result(id, result))
}

fn server_info() -> Value {
    json!({ "name": "mcptop", "version": env!("CARGO_PKG_VERSION") })
}

/// A header's value with the optional white space around it removed. A header given
/// twice, or not as text, is no value at all: the checks then refuse the request.
fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return Some("\u{0}");
    }
    first.to_str().ok().map(str::trim)
}

/// A header value as MCP encodes it: plain, or `=?base64?…?=` (strict Base64 of UTF-8).
/// `None` for a bad encoding or characters a header may not carry.
fn decode_header(value: &str) -> Option<String> {
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return None;
    }
    match value
        .strip_prefix("=?base64?")
        .and_then(|v| v.strip_suffix("?="))
    {
        Some(encoded) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok()),
        None => Some(value.to_owned()),
    }
}

/// The client capabilities a request declares.
struct Request<'a> {
    id: &'a Value,
    params: &'a Value,
    capabilities: &'a Value,
    meta: &'a serde_json::Map<String, Value>,
}

impl Request<'_> {
    fn has_tasks(&self) -> bool {
        self.capabilities
            .get("extensions")
            .and_then(|e| e.get(TASKS))
            .is_some()
    }
}

pub(super) fn modern_post(state: &Arc<AppState>, headers: &HeaderMap, body: &[u8]) -> Response {
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &Value::Null,
                -32700,
                &format!("Parse error: {e}"),
            )
        }
    };
    let id = value
        .get("id")
        .filter(|v| !v.is_null())
        .unwrap_or(&Value::Null);
    if !(accepts(headers, "application/json") && accepts(headers, "text/event-stream")) {
        return error(
            StatusCode::NOT_ACCEPTABLE,
            id,
            -32000,
            "Not Acceptable: Accept must list application/json and text/event-stream",
        );
    }
    if !has_json_body(headers) {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            id,
            -32000,
            "Unsupported Media Type: Content-Type must be application/json",
        );
    }
    let Some(object) = value.as_object() else {
        return error(
            StatusCode::BAD_REQUEST,
            id,
            -32600,
            "Invalid Request: one JSON-RPC object per POST",
        );
    };
    let Some(method) = object.get("method").and_then(Value::as_str) else {
        return error(
            StatusCode::BAD_REQUEST,
            id,
            -32600,
            "Invalid Request: no method",
        );
    };
    if object.get("id").is_none_or(Value::is_null) {
        // Notifications: none is defined for Streamable HTTP in this revision.
        return StatusCode::ACCEPTED.into_response();
    }
    static EMPTY: Value = Value::Null;
    let params = object.get("params").unwrap_or(&EMPTY);
    let meta = params.get("_meta").and_then(Value::as_object);
    let version = meta
        .and_then(|m| m.get("io.modelcontextprotocol/protocolVersion"))
        .and_then(Value::as_str);
    let capabilities = meta
        .and_then(|m| m.get("io.modelcontextprotocol/clientCapabilities"))
        .filter(|c| c.is_object());
    let (Some(meta), Some(version), Some(capabilities)) = (meta, version, capabilities) else {
        return error(
            StatusCode::BAD_REQUEST,
            id,
            -32602,
            "Invalid params: _meta must carry io.modelcontextprotocol/protocolVersion and io.modelcontextprotocol/clientCapabilities",
        );
    };
    match header(headers, "mcp-protocol-version") {
        Some(h) if h == version => {}
        Some(h) => {
            return error(
                StatusCode::BAD_REQUEST,
                id,
                HEADER_MISMATCH,
                &format!(
                    "Header mismatch: MCP-Protocol-Version {h:?} is not the body's {version:?}"
                ),
            )
        }
        None => {
            return error(
                StatusCode::BAD_REQUEST,
                id,
                HEADER_MISMATCH,
                "Header mismatch: the MCP-Protocol-Version header is required",
            )
        }
    }
    if version != VERSION {
        let supported: Vec<&str> = SUPPORTED_VERSIONS
            .iter()
            .copied()
            .chain([VERSION])
            .collect();
        return error_with(
            StatusCode::BAD_REQUEST,
            id,
            UNSUPPORTED_VERSION,
            &format!("Unsupported protocol version {version:?}"),
            Some(json!({ "supported": supported, "requested": version })),
        );
    }
    match header(headers, "mcp-method") {
        Some(h) if h == method => {}
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                id,
                HEADER_MISMATCH,
                &match other {
                    Some(h) => {
                        format!("Header mismatch: Mcp-Method {h:?} is not the body's {method:?}")
                    }
                    None => "Header mismatch: the Mcp-Method header is required".to_owned(),
                },
            )
        }
    }
    let named = match method {
        "tools/call" | "prompts/get" => params.get("name"),
        "resources/read" => params.get("uri"),
        "tasks/get" | "tasks/update" | "tasks/cancel" => params.get("taskId"),
        _ => None,
    }
    .and_then(Value::as_str);
    if let Some(name) = named {
        match header(headers, "mcp-name").map(decode_header) {
            Some(Some(h)) if h == name => {}
            Some(Some(h)) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    id,
                    HEADER_MISMATCH,
                    &format!("Header mismatch: Mcp-Name {h:?} is not the body's {name:?}"),
                )
            }
            Some(None) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    id,
                    HEADER_MISMATCH,
                    "Header mismatch: Mcp-Name is not a valid header value",
                )
            }
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    id,
                    HEADER_MISMATCH,
                    "Header mismatch: the Mcp-Name header is required",
                )
            }
        }
    }
    let request = Request {
        id,
        params,
        capabilities,
        meta,
    };
    let modern = &state.mcp_sessions.modern;
    match method {
        "server/discover" => complete(id, discover()),
        "tools/list" => complete(id, cacheable(json!({ "tools": tools::list() }))),
        "prompts/list" => complete(id, cacheable(prompts())),
        "prompts/get" if params.get("name").and_then(Value::as_str) == Some(ROUND_PROMPT) => {
            round_prompt(&request)
        }
        "prompts/get" => answer(id, super::content::prompt(params)),
        "resources/list" => complete(id, cacheable(super::content::resources())),
        "resources/templates/list" => complete(id, cacheable(super::content::resource_templates())),
        // A resource's contents carry their caching (ttlMs, cacheScope), as lists do.
        "resources/read" => answer(id, super::content::read(params).map(cacheable)),
        "completion/complete" => answer(id, super::content::complete(params)),
        "tools/call" => call(state, headers, &request),
        "subscriptions/listen" => listen(state, &request),
        "tasks/get" | "tasks/update" | "tasks/cancel" => {
            if !request.has_tasks() {
                return missing_capability(id, json!({ "extensions": { TASKS: {} } }));
            }
            let Some(task) = named.and_then(|t| modern.tasks.get_for(t, "")) else {
                return error(StatusCode::OK, id, -32602, "Invalid params: no such task");
            };
            match method {
                "tasks/get" => complete(id, task.detailed()),
                "tasks/update" => {
                    if let Some(responses) = params.get("inputResponses") {
                        task.input.respond(responses);
                    }
                    complete(id, json!({}))
                }
                _ => {
                    if !task.status().is_terminal() {
                        modern.tasks.cancel(&task);
                    }
                    complete(id, json!({}))
                }
            }
        }
        _ => error(
            StatusCode::NOT_FOUND,
            id,
            -32601,
            &format!("Method not found: {method}"),
        ),
    }
}

/// A result (complete), or a JSON-RPC error with its data.
fn answer(id: &Value, result: Result<Value, super::content::RpcError>) -> Response {
    match result {
        Ok(result) => complete(id, result),
        Err((code, message, data)) => error_with(StatusCode::OK, id, code, &message, data),
    }
}

/// The prompt that needs the client's input first (SEP-2322: `input_required` on a
/// request other than `tools/call`).
const ROUND_PROMPT: &str = "test_input_required_result_prompt";

/// The prompts of this revision: the shared ones and [`ROUND_PROMPT`].
fn prompts() -> Value {
    let mut prompts = super::content::prompts();
    if let Some(list) = prompts["prompts"].as_array_mut() {
        list.push(json!({
            "name": ROUND_PROMPT,
            "description": "Asks the user for the context to use (input_required), then gives a prompt with it",
        }));
    }
    prompts
}

/// A request's `inputResponses` (MCP 2026-07-28 rounds): none, or an object of responses
/// by key; anything else is refused.
fn input_responses<'a>(
    request: &Request<'a>,
) -> Result<Option<&'a serde_json::Map<String, Value>>, Response> {
    match request.params.get("inputResponses") {
        None => Ok(None),
        Some(Value::Object(responses)) => Ok(Some(responses)),
        Some(_) => Err(error(
            StatusCode::OK,
            request.id,
            -32602,
            "Invalid params: inputResponses must be an object of responses by key",
        )),
    }
}

/// `prompts/get` of [`ROUND_PROMPT`]: the user's context is asked for until it is given.
fn round_prompt(request: &Request<'_>) -> Response {
    let id = request.id;
    let answer = match input_responses(request) {
        Ok(responses) => responses.and_then(|r| r.get("user_context")),
        Err(refused) => return refused,
    };
    let context = answer
        .filter(|a| a["action"] == "accept")
        .and_then(|a| a["content"]["context"].as_str());
    if let Some(context) = context {
        return complete(
            id,
            json!({
                "description": "A prompt with the context the user gave",
                "messages": [{
                    "role": "user",
                    "content": { "type": "text", "text": format!("Use this context: {context}") }
                }]
            }),
        );
    }
    let result = json!({
        "resultType": "input_required",
        "inputRequests": {
            "user_context": {
                "method": "elicitation/create",
                "params": {
                    "message": "What context should the prompt use?",
                    "requestedSchema": {
                        "type": "object",
                        "properties": { "context": { "type": "string" } },
                        "required": ["context"]
                    }
                }
            }
        },
        "_meta": { "io.modelcontextprotocol/serverInfo": server_info() },
    });
    json_response(StatusCode::OK, &rpc_result(id, result))
}

fn missing_capability(id: &Value, required: Value) -> Response {
    error_with(
        StatusCode::BAD_REQUEST,
        id,
        MISSING_CAPABILITY,
        "Missing required client capability",
        Some(json!({ "requiredCapabilities": required })),
    )
}

fn cacheable(mut result: Value) -> Value {
    if let Some(object) = result.as_object_mut() {
        object.insert("ttlMs".into(), LIST_TTL_MS.into());
        object.insert("cacheScope".into(), "public".into());
    }
    result
}

fn discover() -> Value {
    let supported: Vec<&str> = SUPPORTED_VERSIONS
        .iter()
        .copied()
        .chain([VERSION])
        .collect();
    cacheable(json!({
        "supportedVersions": supported,
        "capabilities": {
            "tools": { "listChanged": false },
            "prompts": { "listChanged": false },
            "resources": { "subscribe": false, "listChanged": false },
            "completions": {},
            "logging": {},
            "extensions": { TASKS: {} },
        },
        "instructions": "mcptop's daemon: its tools report progress (notifications/progress) and show, with every call, on the daemon's events streams for `mcptop` to watch. The long ones run as tasks for clients that take them.",
    }))
}

/// The daemon session a request's calls show in: the one its `Mcptop-Session` header
/// names (with that session's token, or the admin token, as its bearer), else the
/// client's own (by its `clientInfo`, made on its first call).
fn client_session(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    request: &Request<'_>,
) -> Result<Arc<Session>, Response> {
    if let Some(named) = auth::header_str(headers, "mcptop-session") {
        let token = auth::bearer(headers).unwrap_or_default();
        return match state.sessions.get(named) {
            Some(s) if s.token_matches(token) || state.is_admin(token) => {
                s.touch();
                Ok(s)
            }
            _ => Err(error(
                StatusCode::UNAUTHORIZED,
                request.id,
                -32000,
                "Mcptop-Session names no session this token opens",
            )),
        };
    }
    let info = request.meta.get("io.modelcontextprotocol/clientInfo");
    let name = info.and_then(|i| i.get("name")).and_then(Value::as_str);
    let version = info.and_then(|i| i.get("version")).and_then(Value::as_str);
    let label = match (name, version) {
        (Some(n), Some(v)) => format!("{n} {v}"),
        (Some(n), None) => n.to_owned(),
        _ => "MCP client".to_owned(),
    };
    let label = crate::sanitize::cut(&label, crate::server::MAX_NAME).into_owned();
    let anonymous = !auth::bearer(headers).is_some_and(|t| state.is_admin(t));
    let key = format!("{}{label}", if anonymous { "a:" } else { "o:" });
    let modern = &state.mcp_sessions.modern;
    let mut sessions = modern
        .sessions
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(session) = sessions
        .get(&key)
        .filter(|s| state.sessions.get(&s.id).is_some())
    {
        session.touch();
        return Ok(Arc::clone(session));
    }
    if sessions.len() >= 1024 {
        sessions.retain(|_, s| state.sessions.get(&s.id).is_some());
    }
    let cwd = crate::server::resolve_cwd(None);
    match state.sessions.try_create(Some(label), cwd, anonymous) {
        Ok(session) => {
            sessions.insert(key, Arc::clone(&session));
            Ok(session)
        }
        Err(full) => Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            request.id,
            -32000,
            &full.to_string(),
        )),
    }
}

/// `Mcp-Param-*` headers checked against the arguments they mirror (`x-mcp-header`).
fn check_param_headers(headers: &HeaderMap, tool: &Value, arguments: &Value) -> Result<(), String> {
    let Some(properties) = tool["inputSchema"]["properties"].as_object() else {
        return Ok(());
    };
    for (name, schema) in properties {
        let Some(suffix) = schema.get("x-mcp-header").and_then(Value::as_str) else {
            continue;
        };
        let header_name = format!("mcp-param-{}", suffix.to_ascii_lowercase());
        let given = header(headers, &header_name);
        let value = arguments.get(name).filter(|v| !v.is_null());
        let expected = value.map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        match (given, expected) {
            (None, None) => {}
            (None, Some(_)) => return Err(format!("the Mcp-Param-{suffix} header is required")),
            (Some(_), None) => {}
            (Some(h), Some(expected)) => match decode_header(h) {
                None => return Err(format!("Mcp-Param-{suffix} is not a valid header value")),
                Some(decoded) if decoded == expected => {}
                Some(decoded) => {
                    return Err(format!(
                        "Mcp-Param-{suffix} {decoded:?} is not the argument's {expected:?}"
                    ))
                }
            },
        }
    }
    Ok(())
}

fn call(state: &Arc<AppState>, headers: &HeaderMap, request: &Request<'_>) -> Response {
    let id = request.id;
    let name = request
        .params
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let listed = tools::list();
    let Some(tool) = listed
        .as_array()
        .and_then(|l| l.iter().find(|t| t["name"] == name))
    else {
        return error(StatusCode::OK, id, -32602, &format!("Unknown tool: {name}"));
    };
    let arguments = request
        .params
        .get("arguments")
        .cloned()
        .unwrap_or_else(|| json!({}));
    if let Err(why) = check_param_headers(headers, tool, &arguments) {
        return error(
            StatusCode::BAD_REQUEST,
            id,
            HEADER_MISMATCH,
            &format!("Header mismatch: {why}"),
        );
    }
    if let Some(capability) = crate::server::fixtures::required_capability(name) {
        if request.capabilities.get(capability).is_none() {
            let mut required = serde_json::Map::new();
            required.insert(capability.to_owned(), json!({}));
            return missing_capability(id, Value::Object(required));
        }
    }
    let modern = &state.mcp_sessions.modern;
    let responses = match input_responses(request) {
        Ok(responses) => responses,
        Err(refused) => return refused,
    };
    let round = match request.params.get("requestState") {
        None | Some(Value::Null) => None,
        Some(Value::String(sealed)) => match modern.rounds.open(sealed, name) {
            Ok(round) => Some(round),
            Err(why) => {
                return error(
                    StatusCode::OK,
                    id,
                    -32602,
                    &format!("Invalid params: {why}"),
                )
            }
        },
        Some(_) => {
            return error(
                StatusCode::OK,
                id,
                -32602,
                "Invalid params: requestState must be the string this server gave",
            )
        }
    };
    let mut mrtr = Mrtr::new(
        Arc::clone(&modern.rounds),
        request.capabilities.clone(),
        responses,
        round,
    );
    let support = tools::task_support(name);
    let as_task = request.has_tasks()
        && support != TaskSupport::Forbidden
        && crate::server::fixtures::ready_for_task(name, |k| mrtr.knows(k));
    if support == TaskSupport::Required && !as_task {
        return missing_capability(id, json!({ "extensions": { TASKS: {} } }));
    }
    let session = match client_session(state, headers, request) {
        Ok(s) => s,
        Err(response) => return response,
    };
    let given = request
        .meta
        .get("progressToken")
        .filter(|t| t.is_string() || t.is_i64() || t.is_u64());
    let log_level = request
        .meta
        .get("io.modelcontextprotocol/logLevel")
        .and_then(Value::as_str)
        .and_then(LogLevel::parse);
    let extra = json!({ "resultType": "complete", "_meta": { "io.modelcontextprotocol/serverInfo": server_info() } });
    // A later round shows as the call its first round began.
    let token = mrtr
        .continues
        .as_ref()
        .map(|(token, _)| token.clone())
        .or_else(|| given.cloned());
    if as_task {
        mrtr.ephemeral = false;
        return start_task(state, session, id, name, arguments, token, mrtr);
    }
    let log = StreamLog::new();
    let call_key = serde_json::to_string(id).unwrap_or_default();
    calls::spawn(
        CallRequest {
            session: Arc::clone(&session),
            request_id: id.clone(),
            tool: name.to_owned(),
            arguments,
            response_token: given.cloned(),
            event_token: EventToken::Unique(token),
            lifecycle: state.extensions(),
            publish_progress: true,
            log_level,
            input: None,
            answers: None,
            result_extra: Some(extra),
            mrtr: Some(mrtr),
        },
        Arc::clone(&log),
    );
    let (tx, body) = channel_body();
    let stops = stops(state, &session);
    tokio::spawn(async move {
        follow(
            Arc::clone(&log),
            FollowFrom::start(None),
            String::new(),
            tx,
            stops,
        )
        .await;
        // This revision: a response stream closed early cancels its request.
        if !log.read_from(usize::MAX).2 {
            session.cancel_call(&call_key);
        }
    });
    sse_response(body)
}

/// Runs the call as a task: the answer is its handle, the result comes with `tasks/get`.
fn start_task(
    state: &Arc<AppState>,
    session: Arc<Session>,
    id: &Value,
    name: &str,
    arguments: Value,
    token: Option<Value>,
    mrtr: Mrtr,
) -> Response {
    let modern = &state.mcp_sessions.modern;
    let Ok(task) = modern.tasks.create(Arc::clone(&session), "", None) else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            id,
            -32000,
            &format!("too many tasks held (at most {})", tasks::MAX_TASKS),
        );
    };
    let request = CallRequest {
        session,
        request_id: Value::String(format!("task:{}", task.id)),
        tool: name.to_owned(),
        arguments,
        response_token: None,
        event_token: EventToken::Unique(token),
        lifecycle: state.extensions(),
        publish_progress: true,
        log_level: None,
        input: Some(Arc::clone(&task.input)),
        answers: None,
        result_extra: None,
        mrtr: Some(mrtr),
    };
    spawn_task(state, Arc::clone(&task), request);
    let mut created = task.detailed();
    if let Some(object) = created.as_object_mut() {
        object.insert("resultType".into(), "task".into());
        // For a client that reads it as a CallToolResult (the core schema's shape): what
        // happened, in words.
        object.insert(
            "content".into(),
            json!([{ "type": "text", "text": format!("{name} runs as task {}: poll tasks/get for its result", task.id) }]),
        );
        object.insert(
            "_meta".into(),
            json!({ "io.modelcontextprotocol/serverInfo": server_info() }),
        );
    }
    json_response(StatusCode::OK, &rpc_result(id, created))
}

/// `subscriptions/listen`: the acknowledgement first, then the notifications asked for
/// (this server's lists never change; task status changes for the tasks named), each
/// tagged with the subscription's id, with keep-alives between, until the client goes.
fn listen(state: &Arc<AppState>, request: &Request<'_>) -> Response {
    let id = request.id.clone();
    let filter = request
        .params
        .get("notifications")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let task_ids: Vec<String> = filter
        .get("taskIds")
        .and_then(Value::as_array)
        .map(|ids| {
            ids.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if !task_ids.is_empty() && !request.has_tasks() {
        return missing_capability(&id, json!({ "extensions": { TASKS: {} } }));
    }
    // What the server will send: the list kinds it has (none change) and the tasks.
    let mut acknowledged = serde_json::Map::new();
    for kind in [
        "toolsListChanged",
        "promptsListChanged",
        "resourcesListChanged",
    ] {
        if filter.get(kind) == Some(&Value::Bool(true)) {
            acknowledged.insert(kind.to_owned(), true.into());
        }
    }
    if !task_ids.is_empty() {
        acknowledged.insert("taskIds".into(), json!(task_ids));
    }
    let tag = json!({ "io.modelcontextprotocol/subscriptionId": id });
    let ack = json!({
        "jsonrpc": "2.0",
        "method": "notifications/subscriptions/acknowledged",
        "params": { "notifications": acknowledged, "_meta": tag },
    });
    let mut changes = state.mcp_sessions.modern.tasks.subscribe();
    let (tx, body) = channel_body();
    let shutdown = state.shutdown.clone();
    let keepalive = state.config.keepalive;
    let state = Arc::clone(state);
    tokio::spawn(async move {
        let mut out = String::new();
        encode::write_event(&mut out, None, None, &ack.to_string());
        // Tasks that already changed before the stream opened are sent as they are now.
        let tasks = &state.mcp_sessions.modern.tasks;
        let note = |task: &tasks::Task| {
            let mut params = task.detailed();
            if let Some(object) = params.as_object_mut() {
                object.insert("_meta".into(), tag.clone());
            }
            json!({ "jsonrpc": "2.0", "method": "notifications/tasks", "params": params })
                .to_string()
        };
        for task_id in &task_ids {
            if let Some(task) = tasks.get(task_id).filter(|t| t.status().is_terminal()) {
                encode::write_event(&mut out, None, None, &note(&task));
            }
        }
        loop {
            if !flush(&tx, &mut out).await {
                return;
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tx.closed() => return,
                _ = tokio::time::sleep(keepalive) => out.push_str(":\n\n"),
                changed = changes.recv() => match changed {
                    Ok(task_id) if task_ids.contains(&task_id) => {
                        if let Some(task) = tasks.get(&task_id) {
                            encode::write_event(&mut out, None, None, &note(&task));
                        }
                    }
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    });
    sse_response(body)
}

#[cfg(test)]
mod tests {
    use super::decode_header;

    #[test]
    fn header_values_decode_strictly() {
        assert_eq!(decode_header("us-west1").as_deref(), Some("us-west1"));
        assert_eq!(
            decode_header("=?base64?SGVsbG8=?=").as_deref(),
            Some("Hello")
        );
        assert_eq!(
            decode_header("=?base64?SGVsbG8?="),
            None,
            "padding is required"
        );
        assert_eq!(decode_header("=?base64?SGVs!!!bG8=?="), None);
        // Without both markers the value is literal.
        assert_eq!(
            decode_header("=?base64?SGVsbG8=").as_deref(),
            Some("=?base64?SGVsbG8=")
        );
        assert_eq!(decode_header("a\u{7}b"), None);
    }
}
