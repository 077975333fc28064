//! Fault injection: a scriptable misbehaving server on loopback, and what the client makes
//! of each fault. Every case asserts one clear state or message, no duplicate and no
//! phantom row, and (for the floods) bounded memory.
//!
//! The server speaks raw TCP so it can break HTTP and SSE anywhere: each accepted
//! connection reads the request head, then plays the next script.

use crate::common;
use common::watch::{Watch, WAIT};

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mcptop::server::{self, EventKind, ServerConfig};
use mcptop::source::connect::LiveOptions;
use mcptop::source::{Stop, Transport};
use mcptop::time::Time;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One step of a connection's script.
#[derive(Clone)]
enum Step {
    Send(Vec<u8>),
    /// Bytes one at a time, with a pause between them.
    Trickle(Vec<u8>, Duration),
    /// `bytes` bytes of `fill`, in 64 KiB writes.
    Flood {
        fill: u8,
        bytes: usize,
    },
    /// Keep the connection open, sending nothing, until the client goes.
    Hold,
}

/// A server that plays `scripts[i]` to its i-th connection (the last script to every
/// later one) and keeps each request head it read.
struct Misbehaving {
    addr: std::net::SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Misbehaving {
    async fn start(scripts: Vec<Vec<Step>>) -> Misbehaving {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        tokio::spawn(async move {
            let mut n = 0;
            while let Ok((stream, _)) = listener.accept().await {
                let script = scripts[n.min(scripts.len() - 1)].clone();
                n += 1;
                let seen = Arc::clone(&seen);
                tokio::spawn(async move {
                    let _ = play(stream, script, seen).await;
                });
            }
        });
        Misbehaving { addr, requests }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

async fn play(
    mut stream: TcpStream,
    script: Vec<Step>,
    seen: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 << 10 {
        if stream.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    seen.lock()
        .unwrap()
        .push(String::from_utf8_lossy(&head).into_owned());
    for step in script {
        match step {
            Step::Send(bytes) => stream.write_all(&bytes).await?,
            Step::Trickle(bytes, pause) => {
                for b in bytes {
                    stream.write_all(&[b]).await?;
                    tokio::time::sleep(pause).await;
                }
            }
            Step::Flood { fill, bytes } => {
                let block = vec![fill; 64 << 10];
                let mut left = bytes;
                while left > 0 {
                    let n = left.min(block.len());
                    stream.write_all(&block[..n]).await?;
                    left -= n;
                }
            }
            Step::Hold => {
                // Until the client closes its side.
                let mut sink = [0u8; 1024];
                while stream.read(&mut sink).await? > 0 {}
                return Ok(());
            }
        }
    }
    stream.shutdown().await
}

fn send(text: &str) -> Step {
    Step::Send(text.as_bytes().to_vec())
}

/// The head of a close-delimited event stream.
fn sse_head() -> Step {
    send("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n")
}

fn answer(status: &str, content_type: &str, extra: &str, body: &str) -> Step {
    send(&format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n{body}",
        body.len()
    ))
}

/// Progress `n` of 10 on token 1 of tool `t`, as an SSE event with id `n`.
fn progress(n: u32) -> String {
    format!("id: {n}\ndata: {{\"token\":1,\"progress\":{n},\"total\":10,\"tool\":\"t\"}}\n\n")
}

/// Follows the fault server's one session.
fn watch(base_url: String, options: LiveOptions) -> Watch {
    Watch::follow(base_url, "s1", "t0k3n-secret", options)
}

fn quick() -> LiveOptions {
    LiveOptions {
        keepalive: Duration::from_millis(400),
        backoff_min: Duration::from_millis(50),
        backoff_max: Duration::from_millis(200),
        ..LiveOptions::default()
    }
}

fn reason_of(v: &Value) -> String {
    v["reason"].as_str().unwrap_or("").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnect_mid_event_resumes_without_a_phantom_or_a_duplicate() {
    let cut = format!(
        "{}{}id: 3\ndata: {{\"token\":1,\"progress\":9",
        progress(1),
        progress(2)
    );
    // The second connection ignores Last-Event-ID and starts over.
    let again = format!("{}{}{}", progress(1), progress(2), progress(3));
    let server = Misbehaving::start(vec![
        vec![sse_head(), send(&cut)],
        vec![sse_head(), send(&again), Step::Hold],
    ])
    .await;
    let mut watch = watch(server.url(), quick());
    let dropped = watch
        .until("the drop", |v| v["state"] == "disconnected")
        .await;
    assert_eq!(reason_of(&dropped), "the server ended the stream");
    watch
        .until("progress 3", |v| v["call"]["progress"] == 3.0)
        .await;
    assert_eq!(
        watch.progress_seen(),
        vec![1.0, 2.0, 3.0],
        "the cut event (progress 9) never shows, the replayed ones only once"
    );
    assert_eq!(watch.feed.model.len(), 1, "one call, one row");
    let requests = server.requests();
    assert!(
        requests[1]
            .to_ascii_lowercase()
            .contains("last-event-id: 2\r\n"),
        "the resume asks for what follows the last whole event: {}",
        requests[1]
    );
    let resumed = watch
        .updates
        .iter()
        .filter(|v| v["resumed"] == true)
        .count();
    assert_eq!(resumed, 1);
    watch.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_bytes_keep_the_link_alive_and_the_event_arrives_whole() {
    // One byte every 40 ms: the event takes about 2.5 s, far past the 1 s idle timeout,
    // but bytes keep coming, so the link is alive.
    let server = Misbehaving::start(vec![vec![
        sse_head(),
        Step::Trickle(progress(4).into_bytes(), Duration::from_millis(40)),
        Step::Hold,
    ]])
    .await;
    let mut watch = watch(server.url(), quick());
    watch
        .until("the trickled event", |v| v["call"]["progress"] == 4.0)
        .await;
    assert_eq!(
        watch.count("status", "disconnected"),
        0,
        "{:#?}",
        watch.updates
    );
    assert_eq!(watch.progress_seen(), vec![4.0]);
    // Then nothing at all: after the idle timeout the link is dead and said so once.
    let dead = watch
        .until("the dead link", |v| v["state"] == "disconnected")
        .await;
    assert!(reason_of(&dead).contains("not even a keep-alive"), "{dead}");
    watch.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mb_line_is_discarded_once_and_the_stream_goes_on() {
    let server = Misbehaving::start(vec![vec![
        sse_head(),
        send(&progress(1)),
        send("id: 2\ndata: "),
        Step::Flood {
            fill: b'x',
            bytes: 100 << 20,
        },
        send("\n\n"),
        send(&progress(3)),
        Step::Hold,
    ]])
    .await;
    let mut watch = watch(
        server.url(),
        LiveOptions {
            keepalive: Duration::from_secs(4),
            ..quick()
        },
    );
    let discarded = watch
        .until("the discard", |v| v["type"] == "discarded")
        .await;
    assert_eq!(
        reason_of(&discarded),
        "an event with a line over 16 MiB",
        "{discarded}"
    );
    watch
        .until("the event after it", |v| v["call"]["progress"] == 3.0)
        .await;
    assert_eq!(watch.count("discarded", ""), 1);
    assert_eq!(watch.count("status", "disconnected"), 0);
    assert_eq!(watch.progress_seen(), vec![1.0, 3.0]);
    let findings = watch.feed.model.findings(Time::now());
    assert!(
        findings
            .iter()
            // A finding older than a second says its age ("· 1.2s ago") on a slow machine.
            .any(|f| f
                .message
                .starts_with("1 event discarded unread: an event with a line over 16 MiB")),
        "{findings:?}"
    );
    watch.stop().await;
}

/// The real binary through the 100 MB line: its peak memory stays far below the line.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_s_peak_memory_stays_bounded_through_a_100_mb_line() {
    use common::process::{temp_dir, Running};
    let server = Misbehaving::start(vec![vec![
        sse_head(),
        send(&progress(1)),
        send("id: 2\ndata: "),
        Step::Flood {
            fill: b'x',
            bytes: 100 << 20,
        },
        send("\n\n"),
        send(&progress(3)),
        Step::Hold,
    ]])
    .await;
    let url = server.url();
    let (peak_kib, lines) = tokio::task::spawn_blocking(move || {
        let home = temp_dir("faults-flood");
        let mut tail = Running::spawn(
            &home,
            &[
                "tail",
                "--json",
                "--url",
                &url,
                "--session",
                "s1",
                "--token",
                "t0k3n-secret",
            ],
        );
        tail.line_matching("the event after the flood", |l| {
            l.contains("\"progress\":3.0")
        });
        let status = std::fs::read_to_string(format!("/proc/{}/status", tail.child.id())).unwrap();
        let peak_kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        let _ = tail.child.kill();
        let _ = tail.child.wait();
        let _ = std::fs::remove_dir_all(&home);
        (peak_kib, tail.lines.clone())
    })
    .await
    .unwrap();
    let discarded: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("\"discarded\""))
        .collect();
    assert_eq!(discarded.len(), 1, "{lines:?}");
    assert!(discarded[0].contains("an event with a line over 16 MiB"));
    // The line is 100 MiB; holding it would need at least that. The decoder holds at most
    // its 16 MiB cap (and gives the memory back once the line is dropped).
    assert!(
        peak_kib < 64 << 10,
        "peak RSS {} MiB through a 100 MiB line",
        peak_kib >> 10
    );
    eprintln!(
        "peak RSS of tail through a 100 MiB line: {} MiB",
        peak_kib >> 10
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_never_ending_line_is_discarded_and_the_link_stays_up_while_bytes_flow() {
    let server = Misbehaving::start(vec![
        vec![
            sse_head(),
            send(&progress(1)),
            send("data: "),
            Step::Flood {
                fill: b'y',
                bytes: 40 << 20,
            },
            // No newline ever; then silence with the connection open.
            Step::Hold,
        ],
        vec![sse_head(), send(&progress(2)), Step::Hold],
    ])
    .await;
    let mut watch = watch(server.url(), quick());
    watch
        .until("the discard", |v| v["type"] == "discarded")
        .await;
    let dead = watch
        .until("the dead link", |v| v["state"] == "disconnected")
        .await;
    assert!(reason_of(&dead).contains("no byte for 1 s"), "{dead}");
    watch
        .until("the next connection's event", |v| {
            v["call"]["progress"] == 2.0
        })
        .await;
    assert_eq!(watch.count("discarded", ""), 1);
    assert_eq!(watch.progress_seen(), vec![1.0, 2.0]);
    watch.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_is_replaced_not_fatal() {
    let mut bytes = sse_head();
    if let Step::Send(head) = &mut bytes {
        head.extend_from_slice(b"id: 1\ndata: {\"token\":1,\"progress\":1,\"total\":4,\"tool\":\"t\",\"message\":\"caf\xff\xfe\"}\n\n");
        head.extend_from_slice(b"event: \xc3\x28\ndata: \x80\n\n");
        head.extend_from_slice(progress(2).as_bytes());
    }
    let server = Misbehaving::start(vec![vec![bytes, Step::Hold]]).await;
    let mut watch = watch(server.url(), quick());
    let first = watch
        .until("the event with bad bytes", |v| v["type"] == "call")
        .await;
    assert_eq!(first["call"]["message"], "caf\u{fffd}\u{fffd}");
    watch
        .until("the event after them", |v| v["call"]["progress"] == 2.0)
        .await;
    assert_eq!(watch.progress_seen(), vec![1.0, 2.0]);
    assert_eq!(watch.count("status", "disconnected"), 0);
    watch.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_pages_and_wrong_content_types_are_said_in_one_line_and_retried() {
    let login = "<!doctype html><html><head><title>Sign in</title></head><body><form>…</form></body></html>";
    let unavailable = "<html><head><title>503 Service Temporarily Unavailable</title></head>\n<body><center><h1>503 Service Temporarily Unavailable</h1></center><hr><center>nginx</center></body></html>";
    let server = Misbehaving::start(vec![
        vec![answer("200 OK", "text/html; charset=utf-8", "", login)],
        vec![answer(
            "503 Service Unavailable",
            "text/html",
            "retry-after: 1\r\n",
            unavailable,
        )],
        vec![answer(
            "500 Internal Server Error",
            "application/json",
            "",
            r#"{"error":"database is locked"}"#,
        )],
        vec![answer(
            "200 OK",
            "application/json",
            "",
            r#"{"sessions":[]}"#,
        )],
        vec![sse_head(), send(&progress(5)), Step::Hold],
    ])
    .await;
    let mut watch = watch(server.url(), quick());
    watch
        .until("the event once the server behaves", |v| {
            v["call"]["progress"] == 5.0
        })
        .await;
    let reasons: Vec<(String, f64)> = watch
        .updates
        .iter()
        .filter(|v| v["state"] == "disconnected")
        .map(|v| (reason_of(v), v["retry_in_s"].as_f64().unwrap()))
        .collect();
    let texts: Vec<&str> = reasons.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        texts,
        vec![
            "not an event stream (content-type text/html; charset=utf-8): Sign in",
            "the daemon answered 503: 503 Service Temporarily Unavailable",
            "the daemon answered 500: database is locked",
            "not an event stream (content-type application/json): {\"sessions\":[]}",
        ]
    );
    assert!(
        reasons[1].1 >= 1.0,
        "Retry-After: 1 is honoured: {reasons:?}"
    );
    assert_eq!(watch.progress_seen(), vec![5.0]);
    watch.stop().await;
}

/// A server that answers every request with `status`, and what the client made of it.
async fn refused_with(status: &str, body: &str) -> (Stop, Vec<Value>, usize) {
    let server = Misbehaving::start(vec![vec![answer(status, "text/html", "", body)]]).await;
    let watch = watch(server.url(), quick());
    let (stop, updates) = watch.stopped().await;
    (stop, updates, server.requests().len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_stop_at_once_with_their_own_message_and_server_errors_are_retried() {
    let (stop, _, requests) = refused_with("401 Unauthorized", "<h1>401</h1>").await;
    assert_eq!(stop, Stop::TokenRejected);
    assert_eq!(requests, 1, "a rejected token is not retried");

    let (stop, _, requests) = refused_with(
        "403 Forbidden",
        "<html><title>403 Forbidden</title><p>origin not allowed</p></html>",
    )
    .await;
    assert_eq!(
        stop,
        Stop::Fatal("the daemon refused the stream: 403: 403 Forbidden".into())
    );
    assert_eq!(requests, 1);

    let (stop, _, requests) = refused_with("404 Not Found", "no such session").await;
    assert_eq!(stop, Stop::SessionGone);
    assert_eq!(requests, 1);

    // 500 and 503 are the server's trouble: retried until --max-retries runs out.
    for status in ["500 Internal Server Error", "503 Service Unavailable"] {
        let server = Misbehaving::start(vec![vec![answer(status, "text/plain", "", "busy")]]).await;
        let watch = watch(
            server.url(),
            LiveOptions {
                max_retries: Some(2),
                ..quick()
            },
        );
        let (stop, updates) = watch.stopped().await;
        let code = &status[..3];
        assert_eq!(
            stop.message(),
            format!("gave up after 3 attempts: the daemon answered {code}: busy")
        );
        assert_eq!(
            stop,
            Stop::GaveUp {
                attempts: 3,
                last_error: format!("the daemon answered {code}: busy"),
            }
        );
        assert_eq!(server.requests().len(), 3);
        assert_eq!(
            updates
                .iter()
                .filter(|v| v["state"] == "disconnected")
                .count(),
            2,
            "two pauses between three attempts: {updates:#?}"
        );
    }
}

/// A WebSocket server playing one script per connection.
#[derive(Clone)]
enum WsStep {
    Text(String),
    Binary(usize),
    /// A close frame with this code, written raw (so invalid codes go out too).
    RawClose(u16),
    /// Neither read (so pings get no pong) nor write.
    Mute,
    Hold,
}

/// `echo`: answer an offered `construct.v1` as the gateway does; else offer none back.
// The handshake callback's error type is tungstenite's, large by its design.
#[allow(clippy::result_large_err)]
async fn ws_server(scripts: Vec<Vec<WsStep>>, echo: bool) -> std::net::SocketAddr {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
    use tokio_tungstenite::tungstenite::Message;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((stream, _)) = listener.accept().await {
            let script = scripts[n.min(scripts.len() - 1)].clone();
            n += 1;
            tokio::spawn(async move {
                let callback = |request: &Request, mut response: Response| {
                    let offered = request
                        .headers()
                        .get("sec-websocket-protocol")
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|v| v.contains("construct.v1"));
                    if echo && offered {
                        response
                            .headers_mut()
                            .insert("sec-websocket-protocol", "construct.v1".parse().unwrap());
                    }
                    Ok(response)
                };
                let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
                    return;
                };
                for step in script {
                    let sent = match step {
                        WsStep::Text(t) => ws.send(Message::text(t)).await,
                        WsStep::Binary(n) => ws.send(Message::binary(vec![0xA5u8; n])).await,
                        WsStep::RawClose(code) => {
                            let [hi, lo] = code.to_be_bytes();
                            let _ = ws.get_mut().write_all(&[0x88, 2, hi, lo]).await;
                            let _ = ws.get_mut().flush().await;
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            return;
                        }
                        WsStep::Mute => {
                            tokio::time::sleep(WAIT).await;
                            return;
                        }
                        WsStep::Hold => {
                            while let Some(Ok(_)) = ws.next().await {}
                            return;
                        }
                    };
                    if sent.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

fn ws_progress(n: u32) -> WsStep {
    WsStep::Text(format!(
        "{{\"token\":1,\"progress\":{n},\"total\":10,\"tool\":\"t\"}}"
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_binary_frames_bad_close_codes_and_a_missing_pong() {
    let addr = ws_server(
        vec![
            vec![
                ws_progress(1),
                WsStep::Binary(3000),
                ws_progress(2),
                WsStep::RawClose(999),
            ],
            vec![ws_progress(3), WsStep::Mute],
            vec![ws_progress(4), WsStep::Hold],
        ],
        true,
    )
    .await;
    let mut watch = watch(
        format!("http://{addr}"),
        LiveOptions {
            transport: Transport::Ws,
            ..quick()
        },
    );
    let discarded = watch
        .until("the binary frame", |v| v["type"] == "discarded")
        .await;
    assert_eq!(
        reason_of(&discarded),
        "a binary WebSocket message of 2.9 KiB (events are text)"
    );
    let closed = watch
        .until("the bad close", |v| v["state"] == "disconnected")
        .await;
    // tungstenite answers an invalid code (999) as a protocol violation.
    assert_eq!(
        reason_of(&closed),
        "the server closed the connection (code 1002, Protocol violation)"
    );
    let mute = watch
        .until("the missing pong", |v| {
            v["state"] == "disconnected" && reason_of(v).contains("pong")
        })
        .await;
    assert_eq!(
        reason_of(&mute),
        "no frame for 1 s, not even a pong: the link is dead"
    );
    watch
        .until("the next connection", |v| v["call"]["progress"] == 4.0)
        .await;
    assert_eq!(watch.progress_seen(), vec![1.0, 2.0, 3.0, 4.0]);
    assert_eq!(watch.count("discarded", ""), 1);
    assert_eq!(watch.feed.model.len(), 1);
    watch.stop().await;
}

/// A daemon whose clock is an hour off: lateness is judged against the skew (so none is
/// reported), and durations come from arrival times, not from the skewed stamps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamps_an_hour_ahead_or_behind_are_skew_not_lateness() {
    for skew_s in [3600i64, -3600] {
        let server = server::start(ServerConfig::default()).await.unwrap();
        let session = server.state().sessions.create(None, "/".into(), false);
        let mut watch = Watch::follow(
            format!("http://{}", server.addr()),
            &session.id,
            session.token(),
            quick(),
        );
        watch
            .until("connected", |v| v["state"] == "connected")
            .await;
        for i in 1..=6u32 {
            let stamp = Time::from_unix_nanos(Time::now().unix_nanos() + skew_s * 1_000_000_000);
            session.events.publish(
                EventKind::Progress,
                format!(
                    "{{\"token\":1,\"progress\":{i},\"total\":6,\"tool\":\"t\",\"timestamp\":\"{}\"}}",
                    stamp.to_rfc3339_nanos()
                ),
                Time::now(),
            );
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        let last = watch
            .until("the last step", |v| v["call"]["progress"] == 6.0)
            .await;
        let elapsed = last["call"]["elapsed_s"].as_f64().unwrap();
        assert!(
            (0.0..60.0).contains(&elapsed),
            "elapsed from arrival times, skew {skew_s} s: {last}"
        );
        let findings = watch.feed.model.findings(Time::now());
        assert!(
            findings.iter().all(|f| f.kind.name() != "late-delivery"),
            "skew {skew_s} s: {findings:?}"
        );
        assert_eq!(watch.progress_seen(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        watch.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_server_that_echoes_no_subprotocol_is_met_without_one() {
    // The first connection is the strict handshake the client gives up on.
    let addr = ws_server(
        vec![vec![WsStep::Hold], vec![ws_progress(1), WsStep::Hold]],
        false,
    )
    .await;
    let mut watch = watch(
        format!("http://{addr}"),
        LiveOptions {
            transport: Transport::Ws,
            ..quick()
        },
    );
    watch
        .until("the event", |v| v["call"]["progress"] == 1.0)
        .await;
    assert_eq!(
        watch.count("status", "disconnected"),
        0,
        "{:#?}",
        watch.updates
    );
    assert_eq!(watch.count("status", "connected"), 1);
    watch.stop().await;
}

/// A server that answers 200 and closes at once, asking for `retry: 0`, must not get a
/// reconnect storm, and `--max-retries` must stop the client.
#[tokio::test]
async fn a_server_that_answers_and_closes_gets_backoff_and_max_retries_holds() {
    let server = Misbehaving::start(vec![vec![sse_head(), send("retry: 0\n\n")]]).await;
    let options = LiveOptions {
        max_retries: Some(3),
        backoff_min: Duration::from_millis(50),
        backoff_max: Duration::from_secs(1),
        ..quick()
    };
    let started = std::time::Instant::now();
    let (stop, updates) = watch(server.url(), options).stopped().await;
    assert!(
        matches!(stop, Stop::GaveUp { attempts: 4, .. }),
        "{stop:?} after {:?}",
        started.elapsed()
    );
    // Four connections in all, not hundreds; the pauses grew (retry: 0 was held to 100 ms
    // and doubled: about 0.1 + 0.2 + 0.4 s at least, with jitter halving at most).
    assert_eq!(server.requests().len(), 4);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    let disconnects = updates
        .iter()
        .filter(|u| u["state"] == "disconnected")
        .count();
    assert_eq!(disconnects, 3, "{updates:#?}");
}

/// A server that sends one event and closes, over and over, counts as failing too.
#[tokio::test]
async fn a_server_that_sends_one_event_and_closes_counts_as_failing() {
    let script = vec![sse_head(), send("retry: 1\n\n"), send(&progress(1))];
    let server = Misbehaving::start(vec![script]).await;
    let options = LiveOptions {
        max_retries: Some(2),
        backoff_min: Duration::from_millis(50),
        ..quick()
    };
    let (stop, _) = watch(server.url(), options).stopped().await;
    assert!(matches!(stop, Stop::GaveUp { attempts: 3, .. }), "{stop:?}");
    assert_eq!(server.requests().len(), 3);
}

/// Over WebSocket, a 401 before the upgrade is the gateway's own token, not the session's,
/// and a 404 is a daemon without the route (Construct serves it on its gateway): each is
/// said as such.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_refusals_name_the_gateway_token_and_where_the_route_lives() {
    let gateway = Misbehaving::start(vec![vec![answer(
        "401 Unauthorized",
        "text/plain",
        "",
        "Unauthorized",
    )]])
    .await;
    let ws = LiveOptions {
        transport: Transport::Ws,
        ..quick()
    };
    let (stop, _) = watch(gateway.url(), ws.clone()).stopped().await;
    assert_eq!(stop, Stop::GatewayTokenRejected { had_token: false });
    assert!(
        stop.message().contains("pairing token"),
        "{}",
        stop.message()
    );
    assert!(stop.message().contains("POST /pair"), "{}", stop.message());
    let mcp_port =
        Misbehaving::start(vec![vec![answer("404 Not Found", "text/plain", "", "")]]).await;
    let (stop, _) = watch(mcp_port.url(), ws).stopped().await;
    let Stop::Fatal(message) = stop else {
        panic!("{stop:?}");
    };
    assert!(message.contains("on its gateway"), "{message}");
    assert!(
        message.contains("--url http://127.0.0.1:42617"),
        "{message}"
    );
}
