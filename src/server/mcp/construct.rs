//! Construct's dialect of `/mcp`: a request names its daemon session in
//! `X-Construct-Session` and carries its token as a bearer; answers are always SSE.

use super::*;

pub(super) fn construct_post(state: &Arc<AppState>, headers: &HeaderMap, body: &[u8]) -> Response {
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
                    publish_progress: !state.config.stock_tools,
                    log_level: None,
                    input: None,
                    answers: None,
                    result_extra: None,
                    mrtr: None,
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
