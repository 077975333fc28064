//! The trust model, tested as an attacker would: hostile servers and events, another local
//! user's sessions, floods of sessions, connections and bytes, a port squatter after a
//! crash, and numbers that used to panic. Each test fails without its fix.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use common::process::{run, serve, temp_dir, Running, BIN};
use common::squatter::Squatter;
use mcptop::server::{self, ServerConfig, SessionLimits};
use serde_json::{json, Value};

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn admin_token(home: &Path) -> String {
    let file = std::fs::read_to_string(home.join(".mcptop/mcp.json")).unwrap();
    let v: Value = serde_json::from_str(&file).unwrap();
    v["admin_token"].as_str().unwrap().to_owned()
}

/// `POST /session` as the owner (with the admin token) or anonymously.
fn create_session(url: &str, label: &str, admin: Option<&str>) -> (String, String) {
    block_on(async {
        let mut request = reqwest::Client::new()
            .post(format!("{url}/session"))
            .json(&json!({ "label": label }));
        if let Some(admin) = admin {
            request = request.bearer_auth(admin);
        }
        let v: Value = request.send().await.unwrap().json().await.unwrap();
        (
            v["session_id"].as_str().unwrap().to_owned(),
            v["token"].as_str().unwrap().to_owned(),
        )
    })
}

fn publish(url: &str, session: &str, token: &str, body: &Value) -> u16 {
    block_on(async {
        reqwest::Client::new()
            .post(format!("{url}/session/{session}/publish"))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}

/// Bytes a terminal acts on, or characters it hides.
fn raw_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| c != '\n' && mcptop::sanitize::is_unsafe(c))
        .collect()
}

const EVIL_TOOL: &str = "evil\u{1b}]52;c;cm0gLXJmIH4=\u{7}";
const EVIL_MESSAGE: &str =
    "\u{1b}[2J\r\n00:00:00.000  -- stopped: forged \u{9b}31m \u{202e}txt.exe \u{200d}";

#[test]
fn hostile_text_never_reaches_a_terminal_raw() {
    let home = temp_dir("hostile-escapes");
    let (mut server, url) = serve(&home, &[]);
    let admin = admin_token(&home);
    let (session, token) = create_session(&url, "label\u{1b}]0;owned\u{7}", Some(&admin));
    let mut plain = Running::spawn(&home, &["tail", "--plain", "--count", "2", "--summary"]);
    let mut json_tail = Running::spawn(&home, &["tail", "--json", "--count", "2"]);
    plain.line_matching("connected", |l| l.contains("connected"));
    json_tail.line_matching("connected", |l| l.contains("connected"));
    let events = json!([
        {"type":"call","token":1,"tool":EVIL_TOOL,"state":"started"},
        {"type":"call","token":1,"tool":EVIL_TOOL,"state":"failed","error":EVIL_MESSAGE},
    ]);
    assert_eq!(publish(&url, &session, &token, &events), 200);
    let (code, stderr) = plain.wait();
    assert_eq!(code, Some(0), "{stderr}");
    let plain_out = plain.rest().join("\n");
    assert!(raw_controls(&plain_out).is_empty(), "{plain_out:?}");
    assert!(
        plain_out.contains("evil\\x1b]52;c;cm0gLXJmIH4=\\x07"),
        "{plain_out}"
    );
    assert!(plain_out.contains("\\u{202e}txt.exe"), "{plain_out}");
    // The forged line stays inside its own line.
    assert!(
        !plain_out.lines().any(|l| l.starts_with("00:00:00.000")),
        "{plain_out}"
    );
    json_tail.wait();
    let json_out = json_tail.rest().join("\n");
    assert!(raw_controls(&json_out).is_empty(), "{json_out:?}");
    assert!(
        json_out.contains(r"\u009b31m \u202etxt.exe \u200d"),
        "{json_out}"
    );
    // Still the same text to a JSON reader.
    let failed = json_tail
        .lines
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["call"]["state"] == "failed")
        .unwrap();
    assert_eq!(failed["call"]["error"], EVIL_MESSAGE);
    let sessions = run(&home, &["sessions"]);
    let listed = String::from_utf8_lossy(&sessions.stdout);
    assert!(raw_controls(&listed).is_empty(), "{listed:?}");
    assert!(listed.contains("label\\x1b]0;owned\\x07"), "{listed}");
    server.terminate();
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn anonymous_sessions_stay_off_the_owners_views() {
    let home = temp_dir("hostile-anonymous");
    let (mut server, url) = serve(&home, &[]);
    let admin = admin_token(&home);
    // Another local user needs no token to make a session (Construct's open route).
    let (intruder, intruder_token) = create_session(&url, "intruder", None);
    let (mine, mine_token) = create_session(&url, "mine", Some(&admin));
    let mut owner = Running::spawn(&home, &["tail", "--json"]);
    let mut curious = Running::spawn(&home, &["tail", "--json", "--include-anonymous"]);
    owner.line_matching("connected", |l| l.contains("\"connected\""));
    curious.line_matching("connected", |l| l.contains("\"connected\""));
    let started = |tool: &str| json!({"type":"call","token":1,"tool":tool,"state":"started"});
    assert_eq!(
        publish(&url, &intruder, &intruder_token, &started("planted")),
        200
    );
    assert_eq!(publish(&url, &mine, &mine_token, &started("real")), 200);
    owner.line_matching("the owner's call", |l| l.contains("\"real\""));
    assert!(
        !owner.lines.iter().any(|l| l.contains("planted")),
        "{:#?}",
        owner.lines
    );
    curious.line_matching("the anonymous call", |l| l.contains("\"planted\""));
    let listed = String::from_utf8_lossy(&run(&home, &["sessions"]).stdout).into_owned();
    let (owned, anonymous) = listed.split_once("anonymous sessions").unwrap();
    assert!(
        owned.contains("mine") && !owned.contains("intruder"),
        "{listed}"
    );
    assert!(anonymous.contains("intruder"), "{listed}");
    // The daemon's own JSON says which is which.
    let json_list: Value =
        serde_json::from_slice(&run(&home, &["sessions", "--json"]).stdout).unwrap();
    let flag = |label: &str| {
        json_list
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["label"] == label)
            .map(|s| s["anonymous"].clone())
    };
    assert_eq!(flag("intruder"), Some(Value::Bool(true)));
    assert_eq!(flag("mine"), Some(Value::Bool(false)));
    let _ = owner.terminate();
    let _ = curious.terminate();
    server.terminate();
    std::fs::remove_dir_all(&home).unwrap();
}

fn small_limits() -> ServerConfig {
    ServerConfig {
        limits: SessionLimits {
            max_sessions: 40,
            max_anonymous: 16,
            ..SessionLimits::default()
        },
        ..ServerConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_holds_its_sessions_and_fields_to_their_bounds() {
    let running = server::start(small_limits()).await.unwrap();
    let url = running.base_url();
    let client = reqwest::Client::new();
    // A flood of anonymous sessions: the oldest idle ones make room.
    for i in 0..50 {
        let r = client
            .post(format!("{url}/session"))
            .json(&json!({ "label": format!("flood {i}") }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    assert_eq!(running.state().sessions.len(), 16);
    // A 1 MiB label and a 100 KiB message are cut with an ellipsis, and counted.
    let huge = "L".repeat(1 << 20);
    let created: Value = client
        .post(format!("{url}/session"))
        .bearer_auth(running.admin_token())
        .json(&json!({ "label": huge }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (id, token) = (
        created["session_id"].as_str().unwrap(),
        created["token"].as_str().unwrap(),
    );
    let session = running.state().sessions.get(id).unwrap();
    let label = session.label.clone().unwrap();
    assert!(
        label.len() <= 256 && label.ends_with('…'),
        "{}",
        label.len()
    );
    let mut sub = session.events.subscribe(None);
    let long = "m".repeat(100 << 10);
    let r = client
        .post(format!("{url}/session/{id}/publish"))
        .bearer_auth(token)
        .json(&json!({"type":"progress","token":1,"tool":"t","progress":1,"message":long}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let event = sub.live.recv().await.unwrap();
    let data: Value = serde_json::from_str(event.data()).unwrap();
    let message = data["message"].as_str().unwrap();
    assert!(
        message.len() <= 4096 && message.ends_with('…'),
        "{}",
        message.len()
    );
    let listed: Value = client
        .get(format!("{url}/sessions"))
        .bearer_auth(running.admin_token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["session_id"] == id)
        .unwrap();
    assert_eq!(row["cut_fields"], 1);
    // An idle session past its time to live is ended by the reaper; one with a
    // subscriber is not.
    drop(sub);
    running
        .state()
        .sessions
        .expire_idle(mcptop::time::Time::now());
    assert!(running.state().sessions.get(id).is_some(), "24 h to live");
    let far = mcptop::time::Time::now() + chrono::TimeDelta::hours(25);
    let held = session.events.subscribe(None);
    let expired = running.state().sessions.expire_idle(far);
    assert!(!expired.contains(&id.to_owned()), "followed: kept");
    drop(held);
    let expired = running.state().sessions.expire_idle(far);
    assert!(expired.contains(&id.to_owned()));
    assert!(running.state().sessions.get(id).is_none());
    running.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_every_session_is_busy_a_new_one_is_refused_with_503() {
    let config = ServerConfig {
        limits: SessionLimits {
            max_sessions: 2,
            max_anonymous: 2,
            ..SessionLimits::default()
        },
        ..ServerConfig::default()
    };
    let running = server::start(config).await.unwrap();
    let url = running.base_url();
    let client = reqwest::Client::new();
    let mut held = Vec::new();
    for _ in 0..2 {
        let v: Value = client
            .post(format!("{url}/session"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = running
            .state()
            .sessions
            .get(v["session_id"].as_str().unwrap())
            .unwrap();
        held.push(session.events.subscribe(None));
    }
    let refused = client.post(format!("{url}/session")).send().await.unwrap();
    assert_eq!(refused.status(), 503);
    assert!(refused.text().await.unwrap().contains("none is idle"));
    drop(held);
    running.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_connections_are_capped_and_timed_out() {
    let config = ServerConfig {
        max_connections: 4,
        header_timeout: Duration::from_millis(500),
        ..ServerConfig::default()
    };
    let running = server::start(config).await.unwrap();
    let addr = running.addr();
    let result = tokio::task::spawn_blocking(move || {
        // Four connections that never finish their headers hold every slot …
        let mut slow: Vec<TcpStream> = (0..4)
            .map(|_| {
                let mut s = TcpStream::connect(addr).unwrap();
                s.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                    .unwrap();
                s
            })
            .collect();
        std::thread::sleep(Duration::from_millis(100));
        // … so the next one is told so at once, not left hanging.
        let busy = health(addr);
        // The server gives up on them within its header deadline.
        let mut closed = 0;
        for s in &mut slow {
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut buf = [0u8; 512];
            match s.read(&mut buf) {
                Ok(_) => closed += 1,
                Err(e) => panic!("still open after the header deadline: {e}"),
            }
        }
        (busy, closed, health(addr))
    })
    .await
    .unwrap();
    let (busy, closed, after) = result;
    assert!(busy.starts_with("HTTP/1.1 503"), "{busy}");
    assert_eq!(closed, 4);
    assert!(after.starts_with("HTTP/1.1 200"), "{after}");
    running.shutdown().await.unwrap();
}

fn health(addr: std::net::SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_headers_that_are_missing_doubled_or_padded_are_refused() {
    let running = server::start(ServerConfig::default()).await.unwrap();
    let addr = running.addr();
    let answers = tokio::task::spawn_blocking(move || {
        let ask = |head: &str| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            s.write_all(head.as_bytes()).unwrap();
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            out.lines().next().unwrap_or("").to_owned()
        };
        [
            ask("GET /health HTTP/1.0\r\n\r\n"),
            ask("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"),
            ask("GET /health HTTP/1.1\r\nHost: [::1]evil.example\r\nConnection: close\r\n\r\n"),
            ask("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"),
        ]
    })
    .await
    .unwrap();
    assert!(answers[0].contains("403"), "no Host: {answers:?}");
    assert!(answers[1].contains("403"), "two Hosts: {answers:?}");
    assert!(answers[2].contains("403"), "padded: {answers:?}");
    assert!(answers[3].contains("200"), "{answers:?}");
    running.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_keeps_the_upstreams_dns_rebinding_check() {
    let upstream = server::start(ServerConfig::default()).await.unwrap();
    let proxy = mcptop::tap::proxy::start(mcptop::tap::proxy::ProxyOptions {
        upstream: upstream.mcp_url(),
        upstream_discovery: None,
        listen: "127.0.0.1:0".parse().unwrap(),
        request_progress: false,
        target: mcptop::tap::publish::Target {
            url: Some("http://127.0.0.1:9".into()),
            discovery_file: std::env::temp_dir().join("mcptop-none/mcp.json"),
            spawn: false,
            label: None,
            kind: "proxy",
        },
    })
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}});
    let post = |host: Option<&'static str>, origin: Option<&'static str>| {
        let mut r = client
            .post(proxy.url())
            .header("accept", "application/json, text/event-stream")
            .json(&init);
        if let Some(h) = host {
            r = r.header("host", h);
        }
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        r.send()
    };
    assert_eq!(
        post(Some("evil.example"), None).await.unwrap().status(),
        403
    );
    assert_eq!(
        post(None, Some("http://evil.example"))
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(post(None, None).await.unwrap().status(), 200);
    proxy.shutdown().await;
    upstream.shutdown().await.unwrap();
}

#[test]
fn a_port_squatter_after_a_crash_gets_no_admin_token() {
    let home = temp_dir("hostile-squatter");
    // A program on the crashed daemon's port that answers 200 to everything.
    let squatter = Squatter::start(r#"{"status":"ok"}"#);
    squatter.plant_discovery(&home, "ADMIN-SECRET-42");
    let out = run(&home, &["sessions"]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not an mcptop daemon"), "{stderr}");
    assert!(stderr.contains("nothing was sent to it"), "{stderr}");
    let requests = squatter.requests();
    assert!(requests.contains("GET /health"), "{requests}");
    assert!(!requests.contains("ADMIN-SECRET-42"), "{requests}");
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn numbers_from_outside_never_panic() {
    let home = temp_dir("hostile-numbers");
    for args in [
        &["tail", "--for", "1e30"][..],
        &["serve", "--keepalive", "1e300", "--no-discovery"],
        &["replay", "x.jsonl", "--speed", "1e-300"],
        &["replay", "x.jsonl", "--speed", "1e300"],
    ] {
        let out = run(&home, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    // A capture with a duration of -1e300 ms, ids at u64::MAX and a lag of u64::MAX.
    let capture = home.join("evil.sse");
    std::fs::write(
        &capture,
        concat!(
            "id: 18446744073709551615\nevent: call\ndata: {\"token\":1,\"tool\":\"t\",\"state\":\"finished\",\"duration_ms\":-1e300}\n\n",
            "id: 18446744073709551615\nevent: lagged\ndata: {\"missed\":18446744073709551615}\n\n",
            "event: lagged\ndata: {\"missed\":18446744073709551615}\n\n",
            "id: 5\nevent: call\ndata: {\"token\":2,\"tool\":\"u\",\"state\":\"finished\",\"duration_ms\":1e308}\n\n",
            "id: 6\ndata: {\"token\":3,\"progress\":1e308,\"total\":1e-308,\"tool\":\"v\"}\n\n",
        ),
    )
    .unwrap();
    let out = run(
        &home,
        &[
            "replay",
            capture.to_str().unwrap(),
            "--json",
            "--speed",
            "max",
            "--summary",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The event after the outlandish id is seen, not dropped as a "repeat".
    assert!(stdout.contains("\"tool\":\"u\""), "{stdout}");
    assert!(stdout.contains("\"tool\":\"v\""), "{stdout}");
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn the_daemon_a_tap_starts_keeps_no_secret_descriptor_or_cwd_of_the_agent() {
    use std::os::unix::process::CommandExt;
    let home = temp_dir("hostile-daemon-env");
    let marker = home.join("agent-private-file");
    std::fs::write(&marker, "x").unwrap();
    // A descriptor the agent left open without close-on-exec.
    let path = std::ffi::CString::new(marker.to_str().unwrap()).unwrap();
    // SAFETY: opening a file; the descriptor is closed at the end of the test.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY) };
    assert!(fd > 2);
    let agent_dir = home.join("project");
    std::fs::create_dir_all(&agent_dir).unwrap();
    let mut wrap = std::process::Command::new(BIN);
    wrap.args([
        "wrap",
        "--",
        "sh",
        "-c",
        "read line; echo '{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}'",
    ])
    .env("HOME", &home)
    .env("AGENT_API_KEY", "sk-ant-very-secret")
    .env_remove("MCPTOP_URL")
    .current_dir(&agent_dir)
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    // SAFETY: only marks the test's descriptor inheritable in the child.
    unsafe {
        wrap.pre_exec(move || {
            libc::fcntl(fd, libc::F_SETFD, 0);
            Ok(())
        });
    }
    let mut child = wrap.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"x\"}}\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = home.join(".mcptop/mcp.json");
    let mut pid = None;
    for _ in 0..200 {
        if let Ok(text) = std::fs::read_to_string(&file) {
            let v: Value = serde_json::from_str(&text).unwrap();
            pid = v["pid"].as_u64();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = pid.expect("the tap started a daemon");
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let environ = String::from_utf8_lossy(&environ);
    assert!(!environ.contains("sk-ant-very-secret"), "{environ}");
    assert!(environ.contains("HOME="), "{environ}");
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap();
    assert_eq!(cwd, home, "the daemon runs in the home directory");
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
    {
        let target = std::fs::read_link(entry.path()).unwrap_or_default();
        assert_ne!(
            target, marker,
            "the agent's descriptor leaked into the daemon"
        );
    }
    // SAFETY: ending the daemon this test started, closing the test's descriptor.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGTERM);
        libc::close(fd);
    }
    std::thread::sleep(Duration::from_millis(200));
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn the_monitors_model_holds_a_bounded_number_of_bytes() {
    use mcptop::model::{Model, ModelConfig};
    use mcptop::time::Time;
    use mcptop::wire::decode_event;
    let mut model = Model::new(ModelConfig::default());
    let big = "m".repeat(4 << 20);
    let mut n = 0i64;
    // 3 calls × 60 distinct 4 MiB messages, then 3,000 calls with 64 KiB names.
    for call in 0..3 {
        for i in 0..60 {
            n += 1;
            let data = format!(
                r#"{{"token":{call},"tool":"t","progress":{i},"total":100,"message":"{i}{big}"}}"#
            );
            model.apply(
                decode_event("message", &data, ""),
                Time::from_unix_nanos(n * 1_000_000),
                "",
            );
        }
    }
    assert!(model.text_bytes() < 1 << 20, "{}", model.text_bytes());
    let name = "n".repeat(64 << 10);
    for call in 0..3_000 {
        n += 1;
        let data = format!(
            r#"{{"token":"{call}{name}","tool":"{call}{name}","progress":1,"message":"{call}{name}"}}"#
        );
        model.apply(
            decode_event("message", &data, ""),
            Time::from_unix_nanos(n * 1_000_000),
            "",
        );
    }
    assert!(model.text_bytes() < 48 << 20, "{}", model.text_bytes());
}

/// The call events on `$live` (a daemon stream's receiver) up to the first in state
/// `$end` (10 s at most): every state seen, and that event.
macro_rules! call_ends {
    ($live:expr, $end:expr) => {{
        let mut states: Vec<String> = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let event = tokio::time::timeout_at(deadline, $live.recv())
                .await
                .unwrap_or_else(|_| panic!("the call never ended {}: {states:?}", $end))
                .unwrap();
            let data: Value = serde_json::from_str(event.data()).unwrap();
            if let Some(state) = data["state"].as_str() {
                states.push(state.to_owned());
                if state == $end {
                    break (states, data);
                }
            }
        }
    }};
}

/// An upstream that dies in the middle of a call's response stream: the call through the
/// proxy fails (it does not stay running for ever), with a reason a person reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_whose_upstream_dies_mid_stream_fails_through_the_proxy() {
    let daemon = server::start(ServerConfig::default()).await.unwrap();
    let everyone = daemon.state().sessions.everyone.clone().unwrap();
    let mut events = everyone.events.subscribe(None);
    let upstream_addr = one_event_upstream(true).await;
    let proxy = proxy_to(&daemon, upstream_addr, "dying upstream").await;
    let call = json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"slow","arguments":{},"_meta":{"progressToken":7}}});
    let response = reqwest::Client::new()
        .post(proxy.url())
        .header("accept", "application/json, text/event-stream")
        .json(&call)
        .send()
        .await
        .unwrap();
    let _ = response.text().await;
    let (_, ended) = call_ends!(events.live, "failed");
    let error = ended["error"].as_str().unwrap_or("");
    assert!(error.contains("broke off"), "{ended}");
    proxy.shutdown().await;
    daemon.shutdown().await.unwrap();
}

/// MCP 2026-07-28: a client cancels a request by closing its stream. Through the proxy,
/// such a call ends cancelled, not running for ever (nor lost, nor stalled).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_closing_a_2026_call_s_stream_cancels_it_through_the_proxy() {
    let daemon = server::start(ServerConfig::default()).await.unwrap();
    let everyone = daemon.state().sessions.everyone.clone().unwrap();
    let mut events = everyone.events.subscribe(None);
    // The upstream works on (it holds the stream open) until the proxy lets go of it.
    let upstream_addr = one_event_upstream(false).await;
    let proxy = proxy_to(&daemon, upstream_addr, "closing client").await;
    let call = json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"slow","arguments":{},"_meta":{"progressToken":7}}});
    let mut response = reqwest::Client::new()
        .post(proxy.url())
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .json(&call)
        .send()
        .await
        .unwrap();
    // The first event arrives; then the client goes.
    let first = response.chunk().await.unwrap().unwrap_or_default();
    assert!(String::from_utf8_lossy(&first).contains("progress"));
    drop(response);
    let (states, ended) = call_ends!(events.live, "cancelled");
    let error = ended["error"].as_str().unwrap_or("");
    assert!(error.contains("closed the request's stream"), "{ended}");
    assert_eq!(
        states.first().map(String::as_str),
        Some("started"),
        "{states:?}"
    );
    proxy.shutdown().await;
    daemon.shutdown().await.unwrap();
}

/// An upstream that answers a tools/call with an event stream and one progress event;
/// then it dies mid-stream (`dies`), or holds the stream open until the proxy lets go.
async fn one_event_upstream(dies: bool) -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = upstream.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = upstream.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let mut seen = Vec::new();
                // Read the head and the body (a small JSON request).
                while !String::from_utf8_lossy(&seen).contains("tools/call") {
                    let n = stream.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                }
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
                    .await;
                let event = "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":7,\"progress\":1,\"total\":4}}\n\n";
                let _ = stream
                    .write_all(format!("{:x}\r\n{event}\r\n", event.len()).as_bytes())
                    .await;
                if dies {
                    // Gone, mid-stream, without the terminating chunk.
                    tokio::time::sleep(Duration::from_millis(300)).await;
                } else {
                    let _ = stream.read(&mut buf).await;
                }
            });
        }
    });
    addr
}

/// `mcptop proxy` in front of `upstream`, publishing into `daemon` as `label`.
async fn proxy_to(
    daemon: &server::RunningServer,
    upstream: std::net::SocketAddr,
    label: &str,
) -> mcptop::tap::proxy::RunningProxy {
    mcptop::tap::proxy::start(mcptop::tap::proxy::ProxyOptions {
        upstream: format!("http://{upstream}/mcp"),
        upstream_discovery: None,
        listen: "127.0.0.1:0".parse().unwrap(),
        request_progress: false,
        target: mcptop::tap::publish::Target {
            url: Some(daemon.base_url()),
            discovery_file: std::env::temp_dir().join("mcptop-none/mcp.json"),
            spawn: false,
            label: Some(label.into()),
            kind: "proxy",
        },
    })
    .await
    .unwrap()
}
