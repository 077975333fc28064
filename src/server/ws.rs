//! `GET /ws/mcp/events`: the gateway's WebSocket route, one text frame per event.
//!
//! As Construct's gateway: the gateway token (when one is configured) comes from an
//! `Authorization: Bearer` header, a `bearer.<token>` subprotocol or `?token=`, checked
//! before the upgrade; `construct.v1` is echoed only when offered; a bad session token is
//! reported after the upgrade as one `{"error": …}` frame and a close. Unlike it, mcptop
//! pings an idle client (so a dead link shows) and tells a lagging one what it lost.

use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;

use super::hub::Subscription;
use super::progress::ws_lagged;
use super::{auth, text, AppState};

#[derive(Deserialize)]
pub struct WsParams {
    session_id: Option<String>,
    mcp_token: Option<String>,
    token: Option<String>,
}

pub async fn ws_events(
    State(state): State<Arc<AppState>>,
    Query(params): Query<WsParams>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    // A token is needed when one is configured, and always on a gateway (its pairing
    // token, or the configured one).
    if state.config.gateway_token.is_some() || state.pairing.is_some() {
        let offered = auth::bearer(&headers)
            .or_else(|| bearer_subprotocol(&headers))
            .or(params.token.as_deref());
        let configured = |t: &str| {
            state
                .config
                .gateway_token
                .as_ref()
                .is_some_and(|e| auth::constant_time_eq(t.as_bytes(), e.as_bytes()))
        };
        let paired = |t: &str| state.pairing.as_ref().is_some_and(|p| p.is_paired(t));
        if !offered.is_some_and(|t| configured(t) || paired(t)) {
            return text(StatusCode::UNAUTHORIZED, "Unauthorized");
        }
    }
    let Some(session_id) = params.session_id.filter(|s| !s.is_empty()) else {
        return text(StatusCode::BAD_REQUEST, "missing session_id");
    };
    let Some(mcp_token) = params.mcp_token.filter(|s| !s.is_empty()) else {
        return text(StatusCode::BAD_REQUEST, "missing mcp_token");
    };
    let upgrade = match upgrade {
        Ok(u) => u,
        Err(rejection) => return axum::response::IntoResponse::into_response(rejection),
    };
    let stream = match session_id.as_str() {
        super::session::ALL => Some(&state.sessions.all),
        super::session::EVERYONE => Some(&state.sessions.everyone),
        _ => None,
    };
    let session = if let Some(stream) = stream.filter(|_| state.is_admin(&mcp_token)) {
        stream.clone()
    } else {
        state
            .sessions
            .get(&session_id)
            .filter(|s| s.token_matches(&mcp_token) || state.is_admin(&mcp_token))
    };
    upgrade
        .protocols(["construct.v1"])
        .on_upgrade(move |socket| async move {
            match session {
                Some(session) => {
                    let subscription = session.events.subscribe(None);
                    let servers = if state.extensions() {
                        state.sessions.server_events(&session)
                    } else {
                        Vec::new()
                    };
                    let stop = [session.closed.clone(), state.shutdown.clone()];
                    stream_events(socket, subscription, servers, &state, stop).await;
                }
                None => refuse(socket).await,
            }
        })
}

/// The token of a `bearer.<token>` entry in `Sec-WebSocket-Protocol`.
fn bearer_subprotocol(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| p.trim().strip_prefix("bearer."))
}

/// What the gateway does when the daemon refuses the session token.
async fn refuse(mut socket: WebSocket) {
    let frame = r#"{"detail":"daemon responded 401 Unauthorized","error":"daemon-unreachable"}"#;
    let _ = socket.send(Message::Text(frame.into())).await;
    let _ = socket.send(Message::Close(None)).await;
}

async fn stream_events(
    socket: WebSocket,
    subscription: Subscription,
    servers: Vec<String>,
    state: &AppState,
    [closed, shutdown]: [tokio_util::sync::CancellationToken; 2],
) {
    let extensions = state.extensions();
    let keepalive = state.config.keepalive;
    let mut live = subscription.live;
    let (mut sink, mut incoming) = socket.split();
    let open = subscription.open.iter().map(|d| d.to_string());
    for text in servers.iter().map(|d| ws_server(d)).chain(open) {
        if sink.send(Message::Text(text.into())).await.is_err() {
            return;
        }
    }
    loop {
        let outgoing = tokio::select! {
            biased;
            _ = closed.cancelled() => break,
            _ = shutdown.cancelled() => break,
            message = incoming.next() => match message {
                // Pings are answered by the WebSocket layer; a close or an error ends it.
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => continue,
            },
            next = tokio::time::timeout(keepalive, live.recv()) => match next {
                Err(_idle) if extensions => Message::Ping(Default::default()),
                Err(_idle) => continue,
                Ok(Ok(event)) if event.kind == super::hub::EventKind::Server => {
                    if !extensions {
                        continue;
                    }
                    Message::Text(ws_server(event.data()).into())
                }
                Ok(Ok(event)) => Message::Text(event.data().into()),
                Ok(Err(super::bus::RecvError::Lagged(n))) if extensions => {
                    Message::Text(ws_lagged(n).into())
                }
                Ok(Err(super::bus::RecvError::Lagged(_))) => continue,
                Ok(Err(super::bus::RecvError::Closed)) => break,
            },
        };
        if sink.send(outgoing).await.is_err() {
            return;
        }
    }
    let _ = sink.send(Message::Close(None)).await;
}

/// A `server` event on the WebSocket, which carries no event types: in an envelope.
fn ws_server(data: &str) -> String {
    format!("{{\"type\":\"server\",\"data\":{data}}}")
}
