//! The client's live source against the real server over loopback: SSE and WebSocket,
//! a link cut by a relay, resume, gaps, Construct's framing.

#[path = "../common/mod.rs"]
mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::watch::Watch;
use mcptop::server::{self, Compat, EventKind, RunningServer, ServerConfig};
use mcptop::source::connect::LiveOptions;
use mcptop::source::{Stop, Transport};
use mcptop::time::Time;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

async fn start(configure: impl FnOnce(&mut ServerConfig)) -> RunningServer {
    let mut config = ServerConfig::default();
    configure(&mut config);
    server::start(config).await.expect("server")
}

/// A TCP relay between the client and the server that can cut every connection and
/// refuse new ones for a while: a link going down while the server keeps running.
struct Relay {
    addr: SocketAddr,
    cut: broadcast::Sender<()>,
    down: Arc<AtomicBool>,
}

impl Relay {
    async fn new(upstream: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (cut, _) = broadcast::channel(4);
        let down = Arc::new(AtomicBool::new(false));
        let (cut_tx, down_flag) = (cut.clone(), Arc::clone(&down));
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if down_flag.load(Ordering::SeqCst) {
                    let _ = inbound.shutdown().await;
                    continue;
                }
                let mut cut = cut_tx.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = cut.recv() => {}
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    }
                });
            }
        });
        Relay { addr, cut, down }
    }

    /// Drops every open connection and refuses new ones until `up`.
    fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        let _ = self.cut.send(());
    }

    fn up(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

fn quick() -> LiveOptions {
    LiveOptions {
        keepalive: Duration::from_millis(400),
        backoff_min: Duration::from_millis(50),
        backoff_max: Duration::from_millis(200),
        ..LiveOptions::default()
    }
}

fn publish(server: &RunningServer, session: &str, from: u64, to: u64) {
    let s = server.state().sessions.get(session).unwrap();
    for i in from..=to {
        s.events.publish(
            EventKind::Progress,
            format!(
                "{{\"token\":1,\"progress\":{i},\"total\":1000,\"tool\":\"t\",\"timestamp\":\"{}\"}}",
                Time::now().to_rfc3339_nanos()
            ),
            Time::now(),
        );
    }
}

fn progress_of(v: &Value) -> Option<f64> {
    (v["type"] == "call")
        .then(|| v["call"]["progress"].as_f64())
        .flatten()
}

/// A server (keep-alive 400 ms, then `configure`), a session, a relay in front of it and
/// a client connected through the relay with `progress` 1..=`first` already seen.
async fn through_relay(
    configure: impl FnOnce(&mut ServerConfig),
    first: u64,
) -> (RunningServer, String, Relay, Watch) {
    let server = start(|c| {
        c.keepalive = Duration::from_millis(400);
        configure(c);
    })
    .await;
    let session = server.state().sessions.create(None, "/".into(), false);
    let relay = Relay::new(server.addr()).await;
    let mut watch = Watch::follow(
        format!("http://{}", relay.addr),
        &session.id,
        session.token(),
        quick(),
    );
    watch
        .until("connected", |v| v["state"] == "connected")
        .await;
    publish(&server, &session.id, 1, first);
    watch
        .until("the first events", |v| progress_of(v) == Some(first as f64))
        .await;
    (server, session.id.clone(), relay, watch)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_link_resumes_without_duplicates_or_gaps() {
    let (server, session, relay, mut watch) = through_relay(|_| {}, 10).await;
    relay.cut();
    watch
        .until("disconnected", |v| v["state"] == "disconnected")
        .await;
    publish(&server, &session, 11, 20);
    relay.up();
    let connected = watch
        .until("reconnected", |v| v["state"] == "connected")
        .await;
    assert_eq!(connected["resumed"], true);
    assert_eq!(connected["possible_loss"], false);
    watch
        .until("progress 20", |v| progress_of(v) == Some(20.0))
        .await;

    let seen: Vec<f64> = watch.updates.iter().filter_map(progress_of).collect();
    assert_eq!(
        seen,
        (1..=20).map(f64::from).collect::<Vec<_>>(),
        "each event once, in order"
    );
    assert!(watch
        .updates
        .iter()
        .all(|v| v["type"] != "gap" && v["type"] != "lagged"));
    assert_eq!(watch.feed.model.len(), 1, "one row");
    watch.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_longer_than_the_ring_is_reported() {
    let (server, session, relay, mut watch) = through_relay(|c| c.replay_capacity = 4, 2).await;
    relay.cut();
    watch
        .until("disconnected", |v| v["state"] == "disconnected")
        .await;
    publish(&server, &session, 3, 22);
    relay.up();
    let lagged = watch
        .until("the loss report", |v| v["type"] == "lagged")
        .await;
    // 20 published while away, the ring kept 4.
    assert_eq!(lagged["missed"], 16);
    watch
        .until("progress 22", |v| progress_of(v) == Some(22.0))
        .await;
    let findings = watch.feed.model.findings(Time::now());
    assert!(
        findings.iter().any(|f| f.message.contains("16")),
        "the loss is a finding: {findings:?}"
    );
    watch.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn constructs_framing_gives_possible_loss_after_a_cut() {
    let (_server, _session, relay, mut watch) =
        through_relay(|c| c.compat = Compat::Construct, 3).await;
    relay.cut();
    watch
        .until("disconnected", |v| v["state"] == "disconnected")
        .await;
    relay.up();
    let connected = watch
        .until("reconnected", |v| v["state"] == "connected")
        .await;
    assert_eq!(
        connected["resumed"], false,
        "no ids: nothing to resume from"
    );
    assert_eq!(connected["possible_loss"], true);
    let findings = watch.feed.model.findings(Time::now());
    assert!(
        findings
            .iter()
            .any(|f| f.message.to_lowercase().contains("lost")),
        "{findings:?}"
    );
    watch.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_and_websocket_see_the_same_calls() {
    let server = start(|_| {}).await;
    let session = mcptop::server::workload::create_session(
        &server.base_url(),
        "both ways",
        Some(server.admin_token()),
    )
    .await
    .unwrap();
    let sse = Watch::follow(
        server.base_url(),
        &session.session_id,
        &session.token,
        quick(),
    );
    let ws = Watch::follow(
        server.base_url(),
        &session.session_id,
        &session.token,
        LiveOptions {
            transport: Transport::Ws,
            ..quick()
        },
    );
    let mut watches = [sse, ws];
    for w in &mut watches {
        w.until("connected", |v| v["state"] == "connected").await;
    }
    let config = mcptop::server::workload::WorkloadConfig {
        agents: 3,
        pace: 200.0,
        bursts: false,
        max_calls: Some(6),
        modern_agents: true,
    };
    mcptop::server::workload::drive(
        &server.base_url(),
        &session,
        &config,
        CancellationToken::new(),
    )
    .await
    .unwrap();
    let mut finals = Vec::new();
    for w in &mut watches {
        // Until the server has reported the end of all six calls.
        while w.feed.model.calls().filter(|c| c.end_reported).count() < 6 {
            w.until("the end of every call", |v| v["type"] == "call")
                .await;
        }
        let mut calls: Vec<(String, String, String, Option<f64>)> = w
            .feed
            .model
            .calls()
            .map(|c| {
                (
                    c.key.tool.clone().unwrap_or_default(),
                    c.key
                        .token
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    format!("{:?}", c.status),
                    c.progress,
                )
            })
            .collect();
        calls.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        finals.push(calls);
    }
    assert_eq!(finals[0].len(), 6, "{:#?}", finals[0]);
    assert_eq!(finals[0], finals[1], "SSE and WebSocket agree");
    for w in watches {
        w.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_stops_with_token_rejected() {
    let server = start(|_| {}).await;
    let session = server.state().sessions.create(None, "/".into(), false);
    for transport in [Transport::Sse, Transport::Ws] {
        let watch = Watch::follow(
            server.base_url(),
            &session.id,
            "wrong",
            LiveOptions {
                transport,
                ..quick()
            },
        );
        let (stop, _) = watch.stopped().await;
        assert_eq!(stop, Stop::TokenRejected, "{transport:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_link_is_dead_after_the_idle_timeout() {
    // A "server" that answers the head and then sends nothing, not even keep-alives.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                use tokio::io::AsyncReadExt;
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
                let _ = s.write_all(head.as_bytes()).await;
                tokio::time::sleep(Duration::from_secs(60)).await;
            });
        }
    });
    let mut watch = Watch::follow(
        format!("http://{addr}"),
        "s",
        "t",
        LiveOptions {
            keepalive: Duration::from_millis(200),
            ..quick()
        },
    );
    watch
        .until("connected", |v| v["state"] == "connected")
        .await;
    let started = std::time::Instant::now();
    let down = watch
        .until("the dead link", |v| v["state"] == "disconnected")
        .await;
    assert!(
        down["reason"]
            .as_str()
            .unwrap()
            .contains("not even a keep-alive"),
        "{down}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(450),
        "2.5 × 200 ms"
    );
    let _ = watch.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standard_mcp_stream_is_followed_and_its_session_renewed() {
    // A server of before 2026-07-28: sessions and the GET stream.
    let server = start(|c| {
        c.keepalive = Duration::from_millis(300);
        c.mcp_2026 = false;
    })
    .await;
    let relay = Relay::new(server.addr()).await;
    let mut watch = Watch::follow(
        format!("http://{}/mcp", relay.addr),
        "",
        "",
        LiveOptions {
            transport: Transport::Mcp,
            keepalive: Duration::from_millis(300),
            ..quick()
        },
    );
    let first = watch
        .until("connected", |v| v["state"] == "connected")
        .await;
    let mcp_session = first["session_id"].as_str().unwrap().to_owned();
    assert!(
        server.state().sessions.get(&mcp_session).is_some(),
        "initialize made a session"
    );
    assert_eq!(first["transport"], "mcp");

    // A cut: the same MCP session, resumed from the priming event's id (which makes no
    // update of its own: give it a moment to arrive).
    tokio::time::sleep(Duration::from_millis(150)).await;
    relay.cut();
    watch
        .until("disconnected", |v| v["state"] == "disconnected")
        .await;
    relay.up();
    let again = watch
        .until("reconnected", |v| v["state"] == "connected")
        .await;
    assert_eq!(again["session_id"], mcp_session.as_str());
    assert_eq!(again["resumed"], true);

    // The server forgets the session: a new one is made.
    let deleted = http_delete(&server, &mcp_session).await;
    assert!(deleted, "DELETE ended the session");
    let renewed = watch
        .until("a new MCP session", |v| {
            v["state"] == "connected" && v["session_id"] != mcp_session.as_str()
        })
        .await;
    assert_eq!(renewed["resumed"], false);
    let renewed_id = renewed["session_id"].as_str().unwrap().to_owned();
    assert!(server.state().sessions.get(&renewed_id).is_some());
    watch.stop().await;
    assert!(
        server.state().sessions.get(&renewed_id).is_none(),
        "the source ended the MCP session it made"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2026_07_28_server_is_followed_with_subscriptions_listen() {
    let server = start(|c| c.keepalive = Duration::from_millis(300)).await;
    let mut watch = Watch::follow(
        server.mcp_url(),
        "",
        "",
        LiveOptions {
            transport: Transport::Mcp,
            keepalive: Duration::from_millis(300),
            ..quick()
        },
    );
    let connected = watch
        .until("connected", |v| v["state"] == "connected")
        .await;
    assert_eq!(connected["session_id"], "subscriptions/listen");
    let hint = watch
        .feed
        .model
        .stream()
        .quiet_hint
        .clone()
        .unwrap_or_default();
    assert!(hint.contains("mcptop proxy --upstream"), "{hint}");
    assert_eq!(server.state().mcp_session_count(), 0, "no session was made");
    // It stays: keep-alives come (three periods), no drop, no error.
    watch.keepalives(3).await;
    assert!(
        matches!(
            watch.feed.model.stream().connection,
            mcptop::model::Connection::Connected { .. }
        ),
        "{:?}",
        watch.feed.model.stream().connection
    );
    watch.stop().await;
}

async fn http_delete(server: &RunningServer, session: &str) -> bool {
    reqwest::Client::new()
        .delete(server.mcp_url())
        .header("mcp-session-id", session)
        .send()
        .await
        .map(|r| r.status().is_success())
        .unwrap_or(false)
}
