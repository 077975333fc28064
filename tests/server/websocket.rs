//! The gateway's WebSocket route with tokio-tungstenite.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use mcptop::server::EventKind;
use mcptop::time::Time;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

use super::*;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn ws_url(server: &RunningServer, query: &str) -> String {
    format!("ws://{}/ws/mcp/events?{query}", server.addr())
}

/// Connects; `Err(status)` when the handshake is refused.
async fn connect(url: &str, protocols: Option<&str>) -> Result<(Ws, Option<String>), u16> {
    let mut request = url.into_client_request().unwrap();
    if let Some(p) = protocols {
        request
            .headers_mut()
            .insert("sec-websocket-protocol", p.parse().unwrap());
    }
    match within("the handshake", tokio_tungstenite::connect_async(request)).await {
        Ok((ws, response)) => {
            let chosen = response
                .headers()
                .get("sec-websocket-protocol")
                .map(|v| v.to_str().unwrap().to_owned());
            Ok((ws, chosen))
        }
        Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(e) => panic!("handshake failed: {e}"),
    }
}

/// A handshake written by hand; returns the response head.
async fn raw_handshake(server: &RunningServer, query: &str, protocols: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let request = format!(
        "GET /ws/mcp/events?{query} HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: {protocols}\r\n\r\n",
        server.addr()
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = within("the response head", tcp.read(&mut byte))
            .await
            .unwrap();
        assert_eq!(n, 1, "connection closed mid-head");
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

async fn next_text(ws: &mut Ws) -> String {
    loop {
        match within("a frame", ws.next()).await {
            Some(Ok(Message::Text(t))) => return t.to_string(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn one_text_frame_per_event_and_construct_v1_only_when_offered() {
    let server = start(|c| c.gateway_token = Some("gw".into())).await;
    let s = new_session(&server).await;
    let query = format!("session_id={}&mcp_token={}", s.id, s.token);

    let (mut ws, chosen) = connect(&ws_url(&server, &query), Some("construct.v1, bearer.gw"))
        .await
        .expect("upgrade");
    assert_eq!(chosen.as_deref(), Some("construct.v1"));
    // Only the gateway token as a subprotocol: upgraded with no protocol echoed (which
    // tungstenite itself would refuse, so this handshake is done by hand).
    let head = raw_handshake(&server, &query, "bearer.gw").await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        !head.to_ascii_lowercase().contains("sec-websocket-protocol"),
        "{head}"
    );
    // Only ?token=: no protocol either.
    let (_, chosen) = connect(&ws_url(&server, &format!("{query}&token=gw")), None)
        .await
        .unwrap();
    assert_eq!(chosen, None);

    let session = server.state().sessions.get(&s.id).unwrap();
    session.events.publish(
        EventKind::Progress,
        r#"{"token":7,"progress":1,"total":2}"#,
        Time::now(),
    );
    assert_eq!(
        next_text(&mut ws).await,
        r#"{"token":7,"progress":1,"total":2}"#
    );

    // Pings are answered.
    ws.send(Message::Ping(b"hi".to_vec().into())).await.unwrap();
    loop {
        match within("the pong", ws.next()).await {
            Some(Ok(Message::Pong(p))) => {
                assert_eq!(&p[..], b"hi");
                break;
            }
            Some(Ok(_)) => continue,
            other => panic!("no pong: {other:?}"),
        }
    }
}

#[tokio::test]
async fn refusals_before_and_after_the_upgrade() {
    let server = start(|c| c.gateway_token = Some("gw".into())).await;
    let s = new_session(&server).await;
    let good = format!("session_id={}&mcp_token={}", s.id, s.token);
    // No gateway token, or a wrong one: 401 before the upgrade.
    assert_eq!(
        connect(&ws_url(&server, &good), Some("construct.v1"))
            .await
            .err(),
        Some(401)
    );
    assert_eq!(
        connect(&ws_url(&server, &format!("{good}&token=nope")), None)
            .await
            .err(),
        Some(401)
    );
    // Missing parameters: 400.
    assert_eq!(
        connect(
            &ws_url(&server, &format!("token=gw&mcp_token={}", s.token)),
            None
        )
        .await
        .err(),
        Some(400)
    );
    assert_eq!(
        connect(
            &ws_url(&server, &format!("token=gw&session_id={}", s.id)),
            None
        )
        .await
        .err(),
        Some(400)
    );
    // A bad session token: upgraded, then one error frame and a close.
    let (mut ws, _) = connect(
        &ws_url(
            &server,
            &format!("token=gw&session_id={}&mcp_token=deadbeef", s.id),
        ),
        Some("construct.v1"),
    )
    .await
    .unwrap();
    let error = json(&next_text(&mut ws).await);
    assert_eq!(error["error"], "daemon-unreachable");
    assert_eq!(error["detail"], "daemon responded 401 Unauthorized");
    match within("the close", ws.next()).await {
        Some(Ok(Message::Close(_))) | None => {}
        other => panic!("expected a close, got {other:?}"),
    }
}

#[tokio::test]
async fn idle_links_are_pinged_and_lag_is_reported() {
    let server = start(|c| {
        c.keepalive = Duration::from_millis(150);
        c.broadcast_capacity = 4;
    })
    .await;
    let s = new_session(&server).await;
    let query = format!("session_id={}&mcp_token={}", s.id, s.token);
    let (mut ws, _) = connect(&ws_url(&server, &query), None).await.unwrap();
    match within("a ping", ws.next()).await {
        Some(Ok(Message::Ping(_))) => {}
        other => panic!("expected a ping while idle, got {other:?}"),
    }
    let session = server.state().sessions.get(&s.id).unwrap();
    for i in 0..50 {
        session.events.publish(
            EventKind::Progress,
            format!("{{\"progress\":{i}}}"),
            Time::now(),
        );
    }
    let mut missed = 0;
    let mut delivered = 0;
    while missed + delivered < 50 {
        let v = json(&next_text(&mut ws).await);
        if v["type"] == "lagged" {
            missed += v["missed"].as_u64().unwrap();
        } else {
            delivered += 1;
        }
    }
    assert!(missed > 0);
    assert_eq!(missed + delivered, 50);
}
