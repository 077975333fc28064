//! `mcptop serve` against real clients over loopback: every route, status code and auth
//! path, SSE and WebSocket, Construct's dialect and standard MCP.

mod construct;
mod events;
mod mcp;
mod modern;
mod otlp;
mod websocket;
mod workload;

use std::collections::VecDeque;
use std::future::Future;
use std::time::Duration;

use mcptop::server::{self, RunningServer, ServerConfig};
use mcptop::sse::{Decoder, Limits, OwnedItem};
use serde_json::Value;

/// Every wait in these tests is bounded by this.
pub const WAIT: Duration = Duration::from_secs(10);

pub async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    match tokio::time::timeout(WAIT, f).await {
        Ok(v) => v,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

pub async fn start(configure: impl FnOnce(&mut ServerConfig)) -> RunningServer {
    let mut config = ServerConfig::default();
    configure(&mut config);
    server::start(config).await.expect("server starts")
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(WAIT)
        .build()
        .expect("client")
}

/// The daemon's `/health`.
pub async fn health(server: &RunningServer) -> Value {
    http()
        .get(format!("{}/health", server.base_url()))
        .send()
        .await
        .expect("GET /health")
        .json()
        .await
        .expect("health JSON")
}

/// An owner's session (`POST /session` with the admin token and `body`): its answer.
pub async fn owner_session(server: &RunningServer, body: Value) -> Value {
    http()
        .post(format!("{}/session", server.base_url()))
        .bearer_auth(server.admin_token())
        .json(&body)
        .send()
        .await
        .expect("POST /session")
        .json()
        .await
        .expect("session JSON")
}

/// A session made with `POST /session`.
pub struct NewSession {
    pub id: String,
    pub token: String,
}

pub async fn new_session(server: &RunningServer) -> NewSession {
    let body: Value = http()
        .post(format!("{}/session", server.base_url()))
        .json(&serde_json::json!({ "label": "test" }))
        .send()
        .await
        .expect("POST /session")
        .json()
        .await
        .expect("session JSON");
    NewSession {
        id: body["session_id"].as_str().expect("session_id").to_owned(),
        token: body["token"].as_str().expect("token").to_owned(),
    }
}

/// Reads an SSE response item by item with our own decoder.
pub struct SseReader {
    response: reqwest::Response,
    decoder: Decoder,
    pending: VecDeque<OwnedItem>,
    pub ended: bool,
}

impl SseReader {
    pub fn new(response: reqwest::Response) -> SseReader {
        assert_eq!(
            response.headers()["content-type"],
            "text/event-stream",
            "an SSE response"
        );
        SseReader {
            response,
            decoder: Decoder::new(Limits::default()),
            pending: VecDeque::new(),
            ended: false,
        }
    }

    /// The next item, or `None` at the end of the stream.
    pub async fn next(&mut self) -> Option<OwnedItem> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(item);
            }
            if self.ended {
                return None;
            }
            match within("an SSE chunk", self.response.chunk()).await {
                Ok(Some(chunk)) => {
                    let mut items = Vec::new();
                    self.decoder.feed_collect(&chunk, &mut items);
                    self.pending.extend(items);
                }
                Ok(None) | Err(_) => self.ended = true,
            }
        }
    }

    /// The next event (comments and retries skipped), or `None` at the end.
    pub async fn next_event(&mut self) -> Option<mcptop::sse::Event> {
        loop {
            match self.next().await? {
                OwnedItem::Event(e) => return Some(e),
                _ => continue,
            }
        }
    }

    /// Reads events until the stream ends.
    pub async fn rest(&mut self) -> Vec<mcptop::sse::Event> {
        let mut events = Vec::new();
        while let Some(e) = self.next_event().await {
            events.push(e);
        }
        events
    }
}

pub fn json(data: &str) -> Value {
    serde_json::from_str(data).unwrap_or_else(|e| panic!("not JSON ({e}): {data}"))
}
