//! Standard MCP Streamable HTTP with sessions: protocol versions 2024-11-05 to 2025-11-25
//! (`initialize`, `Mcp-Session-Id`, the GET stream, resumption with `Last-Event-ID`).

use super::*;

/// The session a request names, or the response that refuses it.
pub(super) fn mcp_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Arc<McpSession>, Response> {
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

pub(super) fn standard_post(state: &Arc<AppState>, headers: &HeaderMap, body: &[u8]) -> Response {
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
    // The client's answer to a request a call sent it (elicitation, sampling).
    if let (Some(id), None) = (message.id, message.method) {
        if value.get("result").is_some() || value.get("error").is_some() {
            mcp.answers.deliver(id, value.clone());
            return StatusCode::ACCEPTED.into_response();
        }
    }
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
        "resources/list" => content_response(id, Ok(super::content::resources())),
        "resources/templates/list" => {
            content_response(id, Ok(super::content::resource_templates()))
        }
        "resources/read" => content_response(id, super::content::read(message.params)),
        "resources/subscribe" | "resources/unsubscribe" => {
            content_response(id, super::content::subscription(message.params))
        }
        "prompts/list" => content_response(id, Ok(super::content::prompts())),
        "prompts/get" => content_response(id, super::content::prompt(message.params)),
        "completion/complete" => content_response(id, super::content::complete(message.params)),
        "tasks/get" | "tasks/result" | "tasks/list" | "tasks/cancel"
            if mcp.protocol_version.as_str() >= "2025-11-25" =>
        {
            task_method(state, &mcp, id, method, message.params)
        }
        "logging/setLevel" => {
            let level = message
                .params
                .get("level")
                .and_then(Value::as_str)
                .and_then(LogLevel::parse);
            match level {
                Some(level) => {
                    mcp.set_log_level(level);
                    json_response(StatusCode::OK, &rpc_result(id, json!({})))
                }
                None => json_response(
                    StatusCode::OK,
                    &rpc_error(
                        id,
                        -32602,
                        "Invalid params: level must be one of debug, info, notice, warning, error, critical, alert, emergency",
                    ),
                ),
            }
        }
        other => json_response(
            StatusCode::OK,
            &rpc_error(id, -32601, &format!("Method not found: {other}")),
        ),
    }
}

/// A result, or a JSON-RPC error (with its data), as the answer to `id`.
fn content_response(id: &Value, answer: Result<Value, super::content::RpcError>) -> Response {
    match answer {
        Ok(result) => json_response(StatusCode::OK, &rpc_result(id, result)),
        Err((code, message, data)) => {
            let mut body = rpc_error(id, code, &message);
            if let Some(data) = data {
                body["error"]["data"] = data;
            }
            json_response(StatusCode::OK, &body)
        }
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
        crate::sanitize::cut(&label, crate::server::MAX_NAME).into_owned()
    });
    let cwd = crate::server::resolve_cwd(None);
    let anonymous = !auth::bearer(headers).is_some_and(|t| state.is_admin(t));
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
        log_level: Mutex::new(LogLevel::Info),
        answers: Arc::default(),
    });
    state.mcp_sessions.insert(Arc::clone(&mcp));
    let mut result = initialize_result(version);
    // Resources, prompts and completion (Construct's daemon has none: its `initialize`,
    // shared by `--compat construct`, stays as it is).
    if let (Some(caps), Some(more)) = (
        result["capabilities"].as_object_mut(),
        super::content::capabilities(true).as_object(),
    ) {
        caps.extend(more.clone());
    }
    let mut response = json_response(StatusCode::OK, &rpc_result(id, result));
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
    // MCP 2025-11-25 tasks: `task` asks for one; the tool says whether it may.
    if mcp.protocol_version.as_str() >= "2025-11-25" {
        use crate::server::tool_context::TaskSupport;
        let task = params.get("task").filter(|t| t.is_object());
        match (task, tools::task_support(name)) {
            (Some(_), TaskSupport::Forbidden) => {
                return json_response(
                    StatusCode::OK,
                    &rpc_error(id, -32601, &format!("{name} does not run as a task")),
                )
            }
            (None, TaskSupport::Required) => {
                return json_response(
                    StatusCode::OK,
                    &rpc_error(
                        id,
                        -32601,
                        &format!("{name} runs only as a task: call it with `task`"),
                    ),
                )
            }
            (Some(task), _) => return start_task_v1(state, mcp, id, name, params, task, given),
            (None, _) => {}
        }
    }
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
            publish_progress: true,
            log_level: Some(mcp.log_level()),
            input: None,
            answers: Some(Arc::clone(&mcp.answers)),
            result_extra: None,
            mrtr: None,
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

/// A `tools/call` with `task` (MCP 2025-11-25): the answer is the task; the call runs on.
fn start_task_v1(
    state: &Arc<AppState>,
    mcp: &Arc<McpSession>,
    id: &Value,
    name: &str,
    params: &Value,
    task: &Value,
    token: Option<&Value>,
) -> Response {
    let ttl = task
        .get("ttl")
        .and_then(Value::as_u64)
        .map(std::time::Duration::from_millis);
    let tasks = &state.mcp_sessions.modern.tasks;
    let Ok(task) = tasks.create(Arc::clone(&mcp.session), &mcp.session.id, ttl) else {
        return json_response(
            StatusCode::OK,
            &rpc_error(id, -32000, "too many tasks held: try again later"),
        );
    };
    let request = CallRequest {
        session: Arc::clone(&mcp.session),
        request_id: Value::String(format!("task:{}", task.id)),
        tool: name.to_owned(),
        arguments: params
            .get("arguments")
            .cloned()
            .unwrap_or_else(|| json!({})),
        // The progress token stays valid for the task's life.
        response_token: None,
        event_token: EventToken::Unique(token.cloned()),
        lifecycle: state.extensions(),
        publish_progress: true,
        log_level: None,
        input: None,
        answers: None,
        result_extra: None,
        mrtr: None,
    };
    spawn_task(state, Arc::clone(&task), request);
    json_response(
        StatusCode::OK,
        &rpc_result(id, json!({ "task": task.v1() })),
    )
}

/// `tasks/get`, `tasks/result`, `tasks/list` and `tasks/cancel` of MCP 2025-11-25, for
/// the tasks of this MCP session.
fn task_method(
    state: &Arc<AppState>,
    mcp: &Arc<McpSession>,
    id: &Value,
    method: &str,
    params: &Value,
) -> Response {
    use crate::server::tasks::TaskOutcome;
    let tasks = &state.mcp_sessions.modern.tasks;
    let owner = mcp.session.id.as_str();
    if method == "tasks/list" {
        let list: Vec<Value> = tasks.list_for(owner).iter().map(|t| t.v1()).collect();
        return json_response(StatusCode::OK, &rpc_result(id, json!({ "tasks": list })));
    }
    let Some(task) = params
        .get("taskId")
        .and_then(Value::as_str)
        .and_then(|t| tasks.get_for(t, owner))
    else {
        return json_response(
            StatusCode::OK,
            &rpc_error(id, -32602, "Invalid params: no such task"),
        );
    };
    match method {
        "tasks/get" => json_response(StatusCode::OK, &rpc_result(id, task.v1())),
        "tasks/cancel" => {
            if task.status().is_terminal() {
                return json_response(
                    StatusCode::OK,
                    &rpc_error(id, -32602, "Invalid params: the task already ended"),
                );
            }
            tasks.cancel(&task);
            json_response(StatusCode::OK, &rpc_result(id, task.v1()))
        }
        _ => {
            // tasks/result: what the call would have answered, once the task ends.
            let (tx, body) = channel_body();
            let id = id.clone();
            let mut changes = tasks.subscribe();
            let shutdown = state.shutdown.clone();
            tokio::spawn(async move {
                let status = tokio::select! {
                    status = task.ended(&mut changes) => status,
                    _ = shutdown.cancelled() => return,
                };
                let related =
                    json!({ "io.modelcontextprotocol/related-task": { "taskId": task.id } });
                let answer = match status {
                    TaskOutcome::Completed(mut result) => {
                        if let Some(object) = result.as_object_mut() {
                            object.insert("_meta".into(), related);
                        }
                        rpc_result(&id, result)
                    }
                    TaskOutcome::Failed(error) => {
                        json!({ "jsonrpc": "2.0", "id": id, "error": error })
                    }
                    TaskOutcome::Cancelled => rpc_error(&id, -32603, "the task was cancelled"),
                    TaskOutcome::Working => {
                        rpc_error(&id, -32603, "the task expired before it ended")
                    }
                };
                let mut out = String::new();
                encode::write_event(&mut out, None, None, &answer.to_string());
                let _ = flush(&tx, &mut out).await;
            });
            sse_response(body)
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
