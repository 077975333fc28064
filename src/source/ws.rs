//! One WebSocket connection to the gateway route `/ws/mcp/events`. The gateway sends
//! nothing while idle, so the client pings on its own and counts a missing pong (no frame
//! at all for the idle timeout) as a dead link.

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

use super::link::send;
use super::link::{Attempt, Ended};
use super::{LinkStatus, SourceEvent, Timed, Transport};

pub(super) async fn run(attempt: &Attempt<'_>, tx: &mpsc::Sender<Timed>) -> Ended {
    let ws_base = attempt
        .base_url
        .replacen("https://", "wss://", 1)
        .replacen("http://", "ws://", 1);
    let mut outcome = handshake(attempt, &ws_base, true).await;
    if let Ok(Err(tungstenite::Error::Protocol(
        tungstenite::error::ProtocolError::SecWebSocketSubProtocolError(_),
    ))) = &outcome
    {
        // A server (a proxy, another gateway) that echoes no subprotocol: the strict
        // handshake fails, so try once more offering none.
        outcome = handshake(attempt, &ws_base, false).await;
    }
    let ws = match outcome {
        Err(_) => return Ended::Unreachable("no answer to the WebSocket handshake".into()),
        Ok(Err(tungstenite::Error::Http(response))) => {
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let body = response
                .body()
                .as_deref()
                .map(|b| super::link::summarize_body(content_type, b))
                .unwrap_or_default();
            if response.status().as_u16() == 401 {
                return Ended::GatewayRefused;
            }
            return Ended::Refused {
                status: response.status().as_u16(),
                body,
            };
        }
        Ok(Err(tungstenite::Error::Io(e))) => return Ended::Unreachable(e.to_string()),
        Ok(Err(tungstenite::Error::Url(e))) => {
            return Ended::Refused {
                status: 0,
                body: format!("{ws_base} is not a WebSocket address ({e})"),
            }
        }
        Ok(Err(e)) => return Ended::Dropped(format!("WebSocket handshake failed: {e}")),
        Ok(Ok((ws, _))) => ws,
    };
    let connected = LinkStatus::Connected {
        transport: Transport::Ws,
        session_id: attempt.session_id.clone(),
        resumed: false,
    };
    if send(tx, SourceEvent::Status(connected)).await.is_err() {
        return Ended::Closed;
    }
    let (mut sink, mut stream) = ws.split();
    let mut ping = tokio::time::interval(attempt.keepalive);
    ping.tick().await;
    let mut last_frame = tokio::time::Instant::now();
    // After the gateway's `{"error": …}` frame, its close is the end of a refusal.
    let mut refused_with: Option<String> = None;
    loop {
        tokio::select! {
            _ = ping.tick() => {
                if last_frame.elapsed() >= attempt.idle_timeout {
                    return Ended::Dropped(format!(
                        "no frame for {} s, not even a pong: the link is dead",
                        attempt.idle_timeout.as_secs_f64()
                    ));
                }
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    return Ended::Dropped("the connection broke".into());
                }
            }
            message = stream.next() => {
                last_frame = tokio::time::Instant::now();
                let event = match message {
                    None => return Ended::Dropped("the server closed the connection".into()),
                    Some(Err(e)) => return Ended::Dropped(format!("the connection broke: {e}")),
                    Some(Ok(Message::Text(text))) => {
                        if text.contains("\"error\"") && refused_with.is_none() {
                            refused_with = error_of(&text);
                        }
                        SourceEvent::Event {
                            event_type: "message".into(),
                            data: text.to_string(),
                            id: String::new(),
                        }
                    }
                    Some(Ok(Message::Pong(_) | Message::Ping(_))) => SourceEvent::KeepAlive,
                    Some(Ok(Message::Close(frame))) => {
                        if let Some(error) = refused_with {
                            return Ended::Refused { status: 401, body: error };
                        }
                        let why = frame
                            .map(|f| format!("code {}{}", u16::from(f.code), if f.reason.is_empty() { String::new() } else { format!(", {}", f.reason) }))
                            .unwrap_or_else(|| "no code".into());
                        return Ended::Dropped(format!("the server closed the connection ({why})"));
                    }
                    // Binary frames are not part of the protocol: said, not read.
                    Some(Ok(Message::Binary(bytes))) => SourceEvent::Discarded {
                        reason: format!(
                            "a binary WebSocket message of {} (events are text)",
                            crate::sse::human_bytes(bytes.len())
                        ),
                    },
                    Some(Ok(_)) => continue,
                };
                if matches!(event, SourceEvent::Event { .. } | SourceEvent::KeepAlive) {
                    attempt.delivered_one();
                }
                if send(tx, event).await.is_err() {
                    return Ended::Closed;
                }
            }
        }
    }
}

type Handshake = Result<
    Result<
        (
            tokio_tungstenite::WebSocketStream<
                tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
            >,
            tungstenite::handshake::client::Response,
        ),
        tungstenite::Error,
    >,
    tokio::time::error::Elapsed,
>;

/// One handshake, offering `construct.v1` (and `bearer.<gateway token>`) when
/// `subprotocols`, else carrying the gateway token in the query.
async fn handshake(attempt: &Attempt<'_>, ws_base: &str, subprotocols: bool) -> Handshake {
    let mut query = vec![
        ("session_id", attempt.session_id.as_str()),
        ("mcp_token", attempt.token),
    ];
    if let (false, Some(gw)) = (subprotocols, attempt.gateway_token) {
        query.push(("token", gw));
    }
    let url = match crate::endpoint::join(ws_base, &["ws", "mcp", "events"], &query) {
        Ok(url) => url,
        // Said by the caller as "… is not a WebSocket address".
        Err(_) => {
            return Ok(Err(tungstenite::Error::Url(
                tungstenite::error::UrlError::UnsupportedUrlScheme,
            )))
        }
    };
    let mut request = match url.as_str().into_client_request() {
        Ok(request) => request,
        Err(e) => return Ok(Err(e)),
    };
    if subprotocols {
        // Always offer construct.v1 beside the gateway token: a strict client that offers
        // only `bearer.<token>` fails when the gateway echoes no protocol.
        let protocols = match attempt.gateway_token {
            Some(gw) => format!("construct.v1, bearer.{gw}"),
            None => "construct.v1".to_owned(),
        };
        if let Ok(value) = protocols.parse() {
            request
                .headers_mut()
                .insert("sec-websocket-protocol", value);
        }
    }
    tokio::time::timeout(
        attempt.idle_timeout,
        tokio_tungstenite::connect_async(request),
    )
    .await
}

/// `{"error": "daemon-unreachable", "detail": "daemon responded 401 Unauthorized"}` →
/// the detail when the daemon refused the session token.
fn error_of(text: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let error = value.get("error")?.as_str()?;
    let detail = value.get("detail").and_then(|d| d.as_str()).unwrap_or("");
    detail.contains("401").then(|| format!("{error}: {detail}"))
}
