//! The baselines `mcptop serve` is measured against, run as processes of their own (the
//! bench binary started again with `--peer-daemon CORPUS` or `--raw-sender CORPUS`):
//!
//! - the peer: a daemon of the plain design — axum's `Sse`, a bounded `mpsc` channel per
//!   subscriber, `serde_json::to_string` of `{token, progress, total, message, tool,
//!   timestamp}` stamped as it goes out, one `Event::default().data(json)` per event, and
//!   Construct's framing (data only). It publishes the corpus once its first subscriber
//!   attaches, as fast as that subscriber takes the events (the channel blocks): lossless,
//!   like `serve --replay --speed max`.
//! - the raw sender: the same events' bytes, rendered before the first subscriber comes,
//!   written to the socket in 64 KiB writes: the floor of loopback and HTTP.
//!
//! - the peer with `--peer-publish`: the same daemon publishing what is posted to
//!   `POST /session/{id}/publish` (a JSON array of progress events, deserialized into the
//!   struct, each serialized again for the subscribers), for the live-publishing table.
//!
//! Each prints `listening on http://127.0.0.1:PORT` and serves `GET /session/{id}/events`.

use std::convert::Infallible;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use axum::response::sse::{Event, Sse};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, Mutex};

/// A Construct progress event, as the plain daemon holds and serializes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ProgressEvent {
    token: u64,
    progress: f64,
    total: Option<f64>,
    message: Option<String>,
    tool: Option<String>,
    timestamp: String,
}

fn load(corpus: &Path) -> Vec<ProgressEvent> {
    let text = std::fs::read_to_string(corpus).expect("the corpus");
    text.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).expect("a progress event"))
        .collect()
}

/// Runs a baseline if the arguments ask for one; returns false otherwise.
pub fn run_if_asked(args: &[String]) -> bool {
    let at = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
    };
    if let Some(corpus) = at("--peer-daemon") {
        peer_daemon(Some(Path::new(corpus)));
        return true;
    }
    if args.iter().any(|a| a == "--peer-publish") {
        peer_daemon(None);
        return true;
    }
    if let Some(corpus) = at("--raw-sender") {
        raw_sender(Path::new(corpus));
        return true;
    }
    false
}

type Subscribers = Arc<Mutex<Vec<mpsc::Sender<String>>>>;

fn peer_daemon(corpus: Option<&Path>) {
    let events = corpus.map(load);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let subscribers: Subscribers = Arc::default();
        let app = axum::Router::new()
            .route(
                "/session/{id}/events",
                axum::routing::get(
                    |axum::extract::State(subs): axum::extract::State<Subscribers>| async move {
                        let (tx, rx) = mpsc::channel::<String>(256);
                        subs.lock().await.push(tx);
                        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
                            let json = rx.recv().await?;
                            Some((Ok::<_, Infallible>(Event::default().data(json)), rx))
                        });
                        Sse::new(stream)
                    },
                ),
            )
            .route(
                "/session/{id}/publish",
                axum::routing::post(
                    |axum::extract::State(subs): axum::extract::State<Subscribers>,
                     axum::Json(items): axum::Json<Vec<ProgressEvent>>| async move {
                        let published = items.len();
                        for event in items {
                            let json = serde_json::to_string(&event).expect("json");
                            let subs: Vec<mpsc::Sender<String>> = subs.lock().await.clone();
                            for tx in subs {
                                let _ = tx.send(json.clone()).await;
                            }
                        }
                        axum::Json(serde_json::json!({ "published": published }))
                    },
                ),
            )
            .with_state(Arc::clone(&subscribers));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        println!(
            "listening on http://{}",
            listener.local_addr().expect("address")
        );
        tokio::spawn(async move {
            let Some(events) = events else { return };
            // Publish once somebody follows.
            loop {
                if !subscribers.lock().await.is_empty() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
            for event in events {
                let event = ProgressEvent {
                    timestamp: chrono::Utc::now()
                        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, false),
                    ..event
                };
                let json = serde_json::to_string(&event).expect("json");
                let subs: Vec<mpsc::Sender<String>> = subscribers.lock().await.clone();
                for tx in subs {
                    let _ = tx.send(json.clone()).await;
                }
            }
        });
        axum::serve(listener, app).await.expect("serve");
    });
}

fn raw_sender(corpus: &Path) {
    use std::fmt::Write as _;
    let mut bytes = String::new();
    for event in load(corpus) {
        let _ = write!(
            bytes,
            "data: {}\n\n",
            serde_json::to_string(&event).expect("json")
        );
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    println!(
        "listening on http://{}",
        listener.local_addr().expect("address")
    );
    let _ = std::io::stdout().flush();
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        // The request's head, then the stream, then the end of the connection.
        let mut head = Vec::new();
        let mut byte = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut byte) {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&byte[..n]),
            }
        }
        if head.starts_with(b"GET /health") {
            let body = r#"{"status":"ok"}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            continue;
        }
        if !head.starts_with(b"GET /session/") {
            let _ = stream.write_all(
                b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
            continue;
        }
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n",
        );
        for chunk in bytes.as_bytes().chunks(64 << 10) {
            if stream.write_all(chunk).is_err() {
                break;
            }
        }
    }
}
