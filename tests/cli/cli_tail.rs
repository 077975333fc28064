//! `mcptop tail`, `replay`, `sessions` and `session new` as a user runs them: the real
//! binaries, discovery files, daemon restarts, exit codes and their one-line messages.

use crate::common;

use std::path::Path;

use common::process::{run, serve, temp_dir, Running};
use serde_json::Value;

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `eval "$(mcptop session new)"`, read back: (session, token).
fn new_session(home: &Path, url: &str) -> (String, String) {
    let out = run(home, &["session", "new", "--url", url, "--label", "agent"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let export = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("export {name}=")))
            .map(|v| v.trim_matches('\''))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .to_owned()
    };
    assert_eq!(export("MCPTOP_URL"), url);
    (export("MCPTOP_SESSION"), export("MCPTOP_TOKEN"))
}

#[test]
fn no_daemon_stale_file_and_dead_url_each_say_so() {
    let home = temp_dir("tail-none");
    let out = run(&home, &["tail"]);
    assert_eq!(out.status.code(), Some(3));
    let h = home.display();
    assert_eq!(
        stderr_of(&out),
        format!(
            "mcptop: no daemon found: {h}/.mcptop/mcp.json, {h}/.construct/mcp.json, {h}/.revka/mcp.json are missing — start one with `mcptop serve`, or give --url\n"
        )
    );

    std::fs::create_dir_all(home.join(".construct")).unwrap();
    std::fs::write(
        home.join(".construct/mcp.json"),
        r#"{"pid": 2147483000, "started_at": "2026-04-17T10:20:33Z", "url": "http://127.0.0.1:9/mcp"}"#,
    )
    .unwrap();
    let out = run(&home, &["tail"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        stderr_of(&out),
        format!("mcptop: stale discovery file {h}/.construct/mcp.json (pid 2147483000 is gone) — start the daemon again, or remove the file\n")
    );

    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", free.local_addr().unwrap());
    drop(free);
    let out = run(&home, &["tail", "--url", &url]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr_of(&out).starts_with(&format!("mcptop: no daemon answers at {url}")));
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn a_wrong_token_is_rejected_and_never_printed() {
    let home = temp_dir("tail-401");
    let (_server, url) = serve(&home, &["--no-discovery"]);
    let (session, token) = new_session(&home, &url);
    let wrong = format!("{}0", &token[1..]);
    let out = run(
        &home,
        &[
            "tail",
            "--url",
            &url,
            "--session",
            &session,
            "--token",
            &wrong,
        ],
    );
    assert_eq!(out.status.code(), Some(4));
    let stderr = stderr_of(&out);
    // A token typed on the command line is said to be visible, once, never echoed.
    let mut lines = stderr.lines();
    assert_eq!(
        lines.next(),
        Some("mcptop: warning: --token on the command line is visible to every local user; use $MCPTOP_TOKEN, or --token-file PATH"),
        "{stderr}"
    );
    assert!(
        lines
            .next()
            .unwrap_or("")
            .starts_with("mcptop: token rejected"),
        "{stderr}"
    );
    let everything = format!("{}{stderr}", String::from_utf8_lossy(&out.stdout));
    assert!(!everything.contains(&wrong) && !everything.contains(&token));
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn a_named_session_that_disappears_ends_with_its_own_code() {
    let home = temp_dir("tail-gone");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port().to_string()
    };
    let (mut server, url) = serve(&home, &["--no-discovery", "--port", &port]);
    let (session, token) = new_session(&home, &url);
    let token_file = home.join("token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let mut tail = Running::spawn(
        &home,
        &[
            "tail",
            "--json",
            "--url",
            &url,
            "--session",
            &session,
            "--token-file",
            token_file.to_str().unwrap(),
            "--keepalive",
            "1",
        ],
    );
    tail.line_matching("connected", |l| l.contains("\"connected\""));
    server.terminate();
    tail.line_matching("disconnected", |l| l.contains("\"disconnected\""));
    // The daemon comes back on the same port, without the session.
    let (_server, _) = serve(&home, &["--no-discovery", "--port", &port]);
    let (code, stderr) = tail.wait();
    assert_eq!(code, Some(5), "{stderr}");
    assert!(
        stderr.starts_with("mcptop: session no longer exists: the daemon restarted or ended it"),
        "{stderr}"
    );
    assert!(stderr.contains("give --new-session"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    std::fs::remove_dir_all(&home).unwrap();
}

/// `--new-session`: a named session that died with its daemon is replaced by a fresh one
/// on the daemon that took over, and tail follows it, saying so.
#[test]
fn new_session_follows_a_fresh_session_on_the_restarted_daemon() {
    let home = temp_dir("tail-new-session");
    let (mut server, url) = serve(&home, &[]);
    let (session, token) = new_session(&home, &url);
    let token_file = home.join("token");
    std::fs::write(&token_file, &token).unwrap();
    let mut tail = Running::spawn(
        &home,
        &[
            "tail",
            "--json",
            "--session",
            &session,
            "--token-file",
            token_file.to_str().unwrap(),
            "--new-session",
            "--keepalive",
            "1",
        ],
    );
    tail.line_matching("connected", |l| l.contains("\"connected\""));
    server.terminate();
    tail.line_matching("disconnected", |l| l.contains("\"disconnected\""));
    // Another daemon on another port, named by the same discovery file.
    let (_server, new_url) = serve(&home, &[]);
    assert_ne!(new_url, url);
    let said = tail.line_matching("the new session", |l| l.contains("following a new session"));
    assert!(said.contains("died with the old daemon"), "{said}");
    let connected = tail.line_matching("connected again", |l| {
        l.contains("\"connected\"") && !l.contains(&session)
    });
    let v: Value = serde_json::from_str(&connected).unwrap();
    assert_ne!(v["session_id"], session.as_str(), "{connected}");
    let _ = tail.terminate();
    std::fs::remove_dir_all(&home).unwrap();
}

/// What a tap does: `POST /session/{id}/publish` with the session token.
fn publish(url: &str, session: &str, token: &str, body: &str) -> u16 {
    let base = url.trim_end_matches("/mcp").to_owned();
    let (session, token, body) = (session.to_owned(), token.to_owned(), body.to_owned());
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            reqwest::Client::new()
                .post(format!("{base}/session/{session}/publish"))
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
}

#[test]
fn a_daemon_restarted_on_the_same_port_is_followed_with_its_new_tokens() {
    let home = temp_dir("tail-same-port");
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port().to_string();
    drop(free);
    let (mut server, url) = serve(&home, &["--port", &port]);
    let mut tail = Running::spawn(&home, &["tail", "--json", "--keepalive", "1"]);
    tail.line_matching("connected", |l| l.contains("\"connected\""));
    let (first, first_token) = new_session(&home, &url);
    let before = r#"{"type":"progress","token":1,"tool":"build","progress":1,"total":4}"#;
    assert_eq!(publish(&url, &first, &first_token, before), 200);
    tail.line_matching("the first daemon's call", |l| l.contains("\"build\""));
    server.terminate();
    tail.line_matching("disconnected", |l| l.contains("\"disconnected\""));
    // The same address, a new admin token and new sessions: the old ones are refused.
    let (_server, new_url) = serve(&home, &["--port", &port]);
    assert_eq!(new_url, url);
    let connected = tail.line_matching("the restarted daemon", |l| l.contains("\"connected\""));
    let v: Value = serde_json::from_str(&connected).unwrap();
    assert_eq!(v["session_id"], "*", "{connected}");
    assert_eq!(publish(&url, &first, &first_token, before), 401);
    let (second, second_token) = new_session(&home, &url);
    let after = r#"{"type":"progress","token":1,"tool":"deploy","progress":2,"total":4}"#;
    assert_eq!(publish(&url, &second, &second_token, after), 200);
    let line = tail.line_matching("the new session's call", |l| l.contains("\"deploy\""));
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["call"]["percent"], 50.0, "{line}");
    tail.signal(libc::SIGINT);
    let (code, stderr) = tail.wait();
    assert_eq!(code, Some(0), "{stderr}");
    let builds: Vec<&String> = tail
        .lines
        .iter()
        .filter(|l| l.contains("\"build\""))
        .collect();
    // The first daemon's call shows once running, then once lost when its daemon was
    // replaced: never a duplicate running row.
    assert_eq!(builds.len(), 2, "{:?}", tail.lines);
    assert!(builds[0].contains("\"state\":\"running\""), "{builds:?}");
    assert!(builds[1].contains("\"state\":\"lost\""), "{builds:?}");
    assert!(
        tail.lines.iter().any(|l| l.contains("\"daemon-changed\"")),
        "{:?}",
        tail.lines
    );
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn automatic_mode_follows_every_session_and_the_daemon_to_its_new_port() {
    let home = temp_dir("tail-follow");
    let (mut server, url) = serve(&home, &[]);
    let mut tail = Running::spawn(&home, &["tail", "--json", "--keepalive", "1"]);
    let connected = tail.line_matching("connected", |l| l.contains("\"connected\""));
    assert!(connected.contains("\"session_id\":\"*\""), "{connected}");
    // Sessions made after tail started show up, each call tagged with its session.
    let (first, first_token) = new_session(&home, &url);
    let call = r#"{"type":"call","token":"r1","tool":"search","state":"started","progress_requested":false}"#;
    assert_eq!(publish(&url, &first, &first_token, call), 200);
    let line = tail.line_matching("the first session's call", |l| l.contains("\"search\""));
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["call"]["session"], "agent", "{line}");
    assert_eq!(v["call"]["state"], "running", "{line}");
    assert_eq!(v["call"]["progress_requested"], false, "{line}");
    server.terminate();
    tail.line_matching("disconnected", |l| l.contains("\"disconnected\""));
    // A new daemon, on another port, rewrites the discovery file; an agent makes a session.
    let (_server, new_url) = serve(&home, &[]);
    assert_ne!(new_url, url);
    let connected = tail.line_matching("the new daemon", |l| l.contains("\"connected\""));
    let v: Value = serde_json::from_str(&connected).unwrap();
    assert_eq!(v["resumed"], false);
    assert_eq!(v["possible_loss"], true, "the reconnect window is marked");
    let (second, second_token) = new_session(&home, &new_url);
    let progress = r#"[{"type":"progress","token":7,"tool":"index","progress":3,"total":10}]"#;
    assert_eq!(publish(&new_url, &second, &second_token, progress), 200);
    let line = tail.line_matching("the new session's progress", |l| l.contains("\"index\""));
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["call"]["session"], "agent", "{line}");
    assert_eq!(v["call"]["percent"], 30.0, "{line}");
    // A bad item refuses the batch, with the reason.
    assert_eq!(
        publish(
            &new_url,
            &second,
            &second_token,
            r#"[{"type":"call","token":1.5,"tool":"x","state":"started"}]"#
        ),
        400
    );
    assert_eq!(publish(&new_url, &second, "wrong", progress), 401);
    tail.signal(libc::SIGINT);
    let (code, _) = tail.wait();
    assert_eq!(code, Some(0));
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn a_recording_replays_to_the_same_updates() {
    let home = temp_dir("tail-record");
    let (_server, _url) = serve(&home, &["--workload", "--pace", "20", "--no-bursts"]);
    let recording = home.join("session.jsonl");
    let live = run(
        &home,
        &[
            "tail",
            "--json",
            "--count",
            "40",
            "--record",
            recording.to_str().unwrap(),
        ],
    );
    assert!(live.status.success(), "{}", stderr_of(&live));
    let text = std::fs::read_to_string(&recording).unwrap();
    assert!(text.contains("\"format\":\"mcptop-recording\""), "{text}");
    let admin: Value =
        serde_json::from_str(&std::fs::read_to_string(home.join(".mcptop/mcp.json")).unwrap())
            .unwrap();
    let admin = admin["admin_token"].as_str().unwrap();
    assert!(!text.contains(admin), "no token in the recording");

    let replayed = run(
        &home,
        &[
            "replay",
            recording.to_str().unwrap(),
            "--json",
            "--count",
            "40",
        ],
    );
    assert!(replayed.status.success(), "{}", stderr_of(&replayed));
    let live_lines: Vec<&str> = std::str::from_utf8(&live.stdout).unwrap().lines().collect();
    let replay_lines: Vec<&str> = std::str::from_utf8(&replayed.stdout)
        .unwrap()
        .lines()
        .collect();
    assert!(
        live_lines
            .iter()
            .filter(|l| l.contains("\"type\":\"call\""))
            .count()
            == 40
    );
    assert_eq!(live_lines, replay_lines);
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn sessions_lists_them_without_tokens() {
    let home = temp_dir("tail-sessions");
    let (_server, url) = serve(&home, &[]);
    let (id, token) = new_session(&home, &url);
    let out = run(&home, &["sessions", "--json"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains(&token));
    let list: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(list[0]["session_id"], id.as_str());
    assert_eq!(list[0]["label"], "agent");
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn replay_of_a_raw_capture_and_of_a_bad_file() {
    let home = temp_dir("tail-replay");
    let capture = format!(
        "{}/assets/construct-session.sse",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = run(&home, &["replay", &capture, "--json", "--summary"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("\"type\":\"call\""), "{text}");
    assert!(text.contains("calls,"), "a summary at the end: {text}");
    // A file that is no recording nor stream is refused in one line.
    let binary = home.join("binary.bin");
    std::fs::write(&binary, [0u8, 159, 146, 150, 7, 0, 255, 1, 2, 3]).unwrap();
    let out = run(&home, &["replay", binary.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("is neither a recording nor an event stream"),
        "{}",
        stderr_of(&out)
    );
    // A corrupt line is said by number and skipped; the rest plays and the summary
    // counts it; a newer version is refused.
    let recording = home.join("r.jsonl");
    std::fs::write(
        &recording,
        concat!(
            "{\"format\":\"mcptop-recording\",\"version\":1,\"started_at\":\"2026-04-17T10:00:00Z\",\"source\":{}}\n",
            "[0.1,\"e\",{\"event\":\"message\",\"id\":\"\",\"data\":\"{\\\"token\\\":1,\\\"tool\\\":\\\"a\\\",\\\"progress\\\":1,\\\"total\\\":2}\"}]\n",
            "garbage here\n",
            "[0.3,\"e\",{\"event\":\"message\",\"id\":\"\",\"data\":\"{\\\"token\\\":1,\\\"tool\\\":\\\"a\\\",\\\"progress\\\":2,\\\"total\\\":2}\"}]\n",
            "[0.4,\"e\",{\"eve",
        ),
    )
    .unwrap();
    let out = run(
        &home,
        &[
            "replay",
            recording.to_str().unwrap(),
            "--plain",
            "--summary",
            "--start-at",
            "1m",
        ],
    );
    let stderr = stderr_of(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("line 3: not JSON"), "{stderr}");
    assert!(
        stderr.contains("line 5: the last line is cut off"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--start-at 1m00s is past the end"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("1 unreadable line of the recording skipped"),
        "{stdout}"
    );
    assert!(stdout.contains(" done "), "{stdout}");
    let text = std::fs::read_to_string(&recording).unwrap();
    std::fs::write(
        &recording,
        text.replacen("\"version\":1", "\"version\":99", 1),
    )
    .unwrap();
    let out = run(&home, &["replay", recording.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("of version 99"),
        "{}",
        stderr_of(&out)
    );
    let out = run(&home, &["replay", "/no/such.jsonl"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr_of(&out),
        "mcptop: cannot read /no/such.jsonl: No such file or directory (os error 2)\n"
    );
    std::fs::remove_dir_all(&home).unwrap();
}

/// A Construct-shaped daemon (`serve --compat construct`) whose stream carries only
/// keep-alives: tail says, once, why nothing shows and what would show the calls.
#[test]
fn a_quiet_construct_stream_is_explained_once() {
    let home = temp_dir("tail-quiet");
    let file = home.join(".construct").join("mcp.json");
    let (mut server, url) = serve(
        &home,
        &[
            "--compat",
            "construct",
            "--keepalive",
            "0.3",
            "--discovery-file",
            file.to_str().unwrap(),
        ],
    );
    let created: Value = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            // Construct's open route: no token needed to make a session.
            reqwest::Client::new()
                .post(format!("{url}/session"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        });
    let token_file = home.join("token");
    std::fs::write(&token_file, created["token"].as_str().unwrap()).unwrap();
    let out = run(
        &home,
        &[
            "tail",
            "--session",
            created["session_id"].as_str().unwrap(),
            "--token-file",
            token_file.to_str().unwrap(),
            "--for",
            "2s",
        ],
    );
    let stderr = stderr_of(&out);
    assert!(out.status.success(), "{stderr}");
    let said: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("report no progress on the session stream"))
        .collect();
    assert_eq!(said.len(), 1, "{stderr}");
    assert!(
        said[0].contains(&format!("mcptop proxy --upstream {url}/mcp")),
        "{stderr}"
    );
    server.terminate();
    std::fs::remove_dir_all(&home).unwrap();
}

/// Construct as its users meet it: the WebSocket route on a gateway port of its own that
/// wants a pairing token, and stock tools that publish nothing on the session stream.
#[test]
fn the_gateway_wants_pairing() {
    let home = temp_dir("tail-gateway");
    let file = home.join(".construct").join("mcp.json");
    let (mut server, url) = serve(
        &home,
        &[
            "--compat",
            "construct",
            "--stock-tools",
            "--gateway-port",
            "0",
            "--keepalive",
            "0.3",
            "--discovery-file",
            file.to_str().unwrap(),
        ],
    );
    let gateway = server
        .lines
        .iter()
        .find_map(|l| l.strip_prefix("gateway on "))
        .and_then(|l| l.split_whitespace().next())
        .expect("the gateway's address")
        .to_owned();
    let code = server
        .lines
        .iter()
        .find_map(|l| l.split("pairing code ").nth(1))
        .map(|c| c.trim_end_matches(')').to_owned())
        .expect("the pairing code");
    let port = gateway.rsplit(':').next().unwrap();
    std::fs::write(
        home.join(".construct").join("config.toml"),
        format!("[gateway]\nport = {port}\n"),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::new();
    let created: Value = rt.block_on(async {
        client
            .post(format!("{url}/session"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let session = created["session_id"].as_str().unwrap().to_owned();
    let token_file = home.join("token");
    std::fs::write(&token_file, created["token"].as_str().unwrap()).unwrap();
    // The MCP port has no WebSocket route; the gateway wants its own token.
    let status = rt.block_on(async {
        client
            .get(format!("{url}/ws/mcp/events"))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 404);
    let tail_ws = |extra: &[&str]| {
        let mut args = vec![
            "tail",
            "--transport",
            "ws",
            "--discovery-file",
            file.to_str().unwrap(),
            "--session",
            &session,
            "--token-file",
            token_file.to_str().unwrap(),
            "--for",
            "1s",
        ];
        args.extend_from_slice(extra);
        run(&home, &args)
    };
    let refused = tail_ws(&[]);
    let stderr = stderr_of(&refused);
    assert_eq!(refused.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("POST /pair"), "{stderr}");
    // Pairing: a wrong code is refused, the printed one gives a token.
    let (wrong, paired): (reqwest::StatusCode, Value) = rt.block_on(async {
        let wrong = client
            .post(format!("{gateway}/pair"))
            .header("X-Pairing-Code", "000000x")
            .send()
            .await
            .unwrap()
            .status();
        let paired = client
            .post(format!("{gateway}/pair"))
            .header("X-Pairing-Code", &code)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (wrong, paired)
    });
    assert_eq!(wrong, 403);
    let pairing_token = paired["token"].as_str().unwrap();
    assert!(pairing_token.starts_with("zc_"), "{paired}");
    let gateway_token_file = home.join("gateway-token");
    std::fs::write(&gateway_token_file, pairing_token).unwrap();
    let followed = tail_ws(&["--gateway-token-file", gateway_token_file.to_str().unwrap()]);
    assert!(followed.status.success(), "{}", stderr_of(&followed));

    // That stock tools publish nothing is tested in-process (tests/server/construct.rs).
    server.terminate();
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn spans_the_collector_refused_reach_the_monitor_with_the_reason() {
    let home = temp_dir("tail-export-drop");
    let (port, _) = common::collector::start(400);
    let endpoint = format!("http://127.0.0.1:{port}");
    let (_server, url) = serve(&home, &["--otlp-endpoint", &endpoint]);
    let mut tail = Running::spawn(&home, &["tail", "--json", "--keepalive", "1"]);
    tail.line_matching("connected", |l| l.contains("\"connected\""));
    let (session, token) = new_session(&home, &url);
    let body = r#"[{"type":"call","token":1,"tool":"build","state":"started"},{"type":"call","token":1,"tool":"build","state":"finished","duration_ms":5}]"#;
    assert_eq!(publish(&url, &session, &token, body), 200);
    // The span goes out within the exporter's second, is refused, and the daemon's
    // count reaches the monitor through its `/health`.
    let line = tail.line_matching("the daemon's export count", |l| {
        l.contains("\"daemon-counts\"") && !l.contains("\"spans_dropped\":0")
    });
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["spans_dropped"], 1, "{line}");
    assert_eq!(v["export_error"], "the collector answered 400", "{line}");
    assert_eq!(v["otlp_refused"], 0, "{line}");
    tail.signal(libc::SIGINT);
    let (code, stderr) = tail.wait();
    assert_eq!(code, Some(0), "{stderr}");
    std::fs::remove_dir_all(&home).unwrap();
}
