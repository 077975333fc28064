//! `mcptop hook` as Claude Code runs it: one process per hook event, the event's JSON on
//! standard input, nothing on standard output, exit 0 whatever happens; the calls show in
//! `mcptop tail --json`.

use crate::common;

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

use common::process::{command, serve, temp_dir, Running};
use common::squatter::Squatter;
use serde_json::Value;

/// Runs `mcptop hook` with `input` on standard input.
fn hook(home: &Path, input: &str) -> Output {
    hook_with(home, input, command(home, &["hook"]))
}

/// Runs `mcptop hook` as `cmd` (its environment set) with `input` on standard input.
fn hook_with(home: &Path, input: &str, mut cmd: std::process::Command) -> Output {
    let _ = home;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(out.stdout.is_empty(), "nothing on stdout: {out:?}");
    out
}

fn update(tail: &mut Running, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let line = tail.line_matching(what, |l| {
        serde_json::from_str::<Value>(l)
            .ok()
            .is_some_and(|v| pred(&v["call"]))
    });
    serde_json::from_str::<Value>(&line).unwrap()["call"].clone()
}

const BASE: &str = r#""session_id":"cc-1","transcript_path":"/tmp/t.jsonl","cwd":"/home/me/shop","permission_mode":"default""#;

#[test]
fn every_builtin_tool_call_shows_with_what_it_does_and_no_secret() {
    let home = temp_dir("hook");
    let (mut server, _url) = serve(&home, &[]);
    let mut tail = Running::spawn(&home, &["tail", "--json"]);
    tail.line_matching("connected", |l| l.contains("\"connected\""));

    hook(
        &home,
        &format!(r#"{{"hook_event_name":"SessionStart",{BASE},"source":"startup"}}"#),
    );
    hook(
        &home,
        &format!(
            r#"{{"hook_event_name":"PreToolUse",{BASE},"tool_name":"Bash","tool_input":{{"command":"curl -H 'Authorization: Bearer sk-secret-0123456789' https://api","description":"call the api"}},"tool_use_id":"toolu_01"}}"#
        ),
    );
    let running = update(&mut tail, "Bash running", |c| {
        c["tool"] == "Bash" && c["state"] == "running"
    });
    assert_eq!(running["session"], "claude-code · shop", "{running}");
    let message = running["message"].as_str().unwrap();
    assert!(message.contains("Bearer <redacted>"), "{message}");
    hook(
        &home,
        &format!(
            r#"{{"hook_event_name":"PermissionRequest",{BASE},"tool_name":"Bash","tool_input":{{"command":"curl"}}}}"#
        ),
    );
    let waiting = update(&mut tail, "Bash waiting", |c| {
        c["tool"] == "Bash" && c["state"] == "waiting"
    });
    assert_eq!(waiting["waiting_for"], "permission", "{waiting}");
    hook(
        &home,
        &format!(
            r#"{{"hook_event_name":"PostToolUse",{BASE},"tool_name":"Bash","tool_input":{{}},"tool_use_id":"toolu_01","tool_response":{{"stdout":"ok"}}}}"#
        ),
    );
    update(&mut tail, "Bash done", |c| {
        c["tool"] == "Bash" && c["state"] == "done"
    });
    // A failure, without a tool_use_id: paired by order, its error shown.
    hook(
        &home,
        &format!(
            r#"{{"hook_event_name":"PreToolUse",{BASE},"tool_name":"Read","tool_input":{{"file_path":"/etc/shadow","api_key":"sk-other-0123456789"}}}}"#
        ),
    );
    hook(
        &home,
        &format!(
            r#"{{"hook_event_name":"PostToolUseFailure",{BASE},"tool_name":"Read","error":"Permission denied"}}"#
        ),
    );
    let failed = update(&mut tail, "Read failed", |c| {
        c["tool"] == "Read" && c["state"] == "failed"
    });
    assert_eq!(failed["error"], "Permission denied");
    assert_eq!(failed["message"], "/etc/shadow");
    // Garbage and an unknown event change nothing and still exit 0 quietly.
    hook(&home, "this is not json");
    hook(
        &home,
        r#"{"hook_event_name":"FutureEvent","session_id":"cc-1"}"#,
    );
    // A last call, left open: the session's end ends it, and once that is on the stream
    // every event before it is too.
    hook(
        &home,
        &format!(
            r#"{{"hook_event_name":"PreToolUse",{BASE},"tool_name":"Glob","tool_input":{{"pattern":"*"}},"tool_use_id":"toolu_09"}}"#
        ),
    );
    hook(
        &home,
        &format!(r#"{{"hook_event_name":"SessionEnd",{BASE},"reason":"exit"}}"#),
    );
    update(&mut tail, "Glob lost at the session's end", |c| {
        c["tool"] == "Glob" && c["state"] == "lost"
    });
    tail.signal(libc::SIGINT);
    let everything = tail.lines.join("\n") + &tail.rest().join("\n");
    for secret in ["sk-secret", "sk-other"] {
        assert!(
            !everything.contains(secret),
            "{secret} leaked: {everything}"
        );
    }
    let log = std::fs::read_to_string(home.join(".mcptop/hook.log")).unwrap_or_default();
    assert_eq!(log.lines().count(), 1, "one line for the garbage: {log}");
    server.terminate();
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn with_no_daemon_the_hook_starts_one_and_still_exits_at_once() {
    // How long it takes is measured by `cargo bench --bench hook` ("no daemon"); here,
    // that it returns while the daemon it started runs on.
    let home = temp_dir("hook-nodaemon");
    hook(
        &home,
        &format!(
            r#"{{"hook_event_name":"PreToolUse",{BASE},"tool_name":"Grep","tool_input":{{"pattern":"x"}},"tool_use_id":"t"}}"#
        ),
    );
    // The daemon it started comes up in the background.
    let file = home.join(".mcptop/mcp.json");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !file.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let discovery: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let log = std::fs::read_to_string(home.join(".mcptop/hook.log")).unwrap();
    assert!(log.contains("started one"), "{log}");
    // The next event reaches it.
    let mut tail = Running::spawn(&home, &["tail", "--json"]);
    tail.line_matching("connected", |l| l.contains("\"connected\""));
    hook(
        &home,
        &format!(
            r#"{{"hook_event_name":"PostToolUse",{BASE},"tool_name":"Grep","tool_use_id":"t"}}"#
        ),
    );
    update(&mut tail, "Grep done", |c| {
        c["tool"] == "Grep" && c["state"] == "done"
    });
    let _ = tail.terminate();
    let pid = discovery["pid"].as_i64().unwrap() as i32;
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn a_daemon_that_refuses_more_connections_does_not_hold_up_the_hook() {
    let home = temp_dir("hook-full");
    let (mut server, url) = serve(&home, &["--max-connections", "1"]);
    // One connection held open: the daemon is full.
    let addr = url.trim_start_matches("http://").to_owned();
    let _held = std::net::TcpStream::connect(&addr).unwrap();
    // How long it takes is measured by `cargo bench --bench hook` ("daemon full"); here,
    // that it returns and says why the event did not go.
    hook(
        &home,
        &format!(
            r#"{{"hook_event_name":"PreToolUse",{BASE},"tool_name":"Bash","tool_input":{{"command":"ls"}},"tool_use_id":"t"}}"#
        ),
    );
    let log = std::fs::read_to_string(home.join(".mcptop/hook.log")).unwrap();
    assert_eq!(log.lines().count(), 1, "{log}");
    server.terminate();
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn a_huge_event_keeps_its_call() {
    let home = temp_dir("hook-huge");
    let (mut server, _url) = serve(&home, &[]);
    let mut tail = Running::spawn(&home, &["tail", "--json"]);
    tail.line_matching("connected", |l| l.contains("\"connected\""));
    // A Write of a 3 MiB file, then its PostToolUse echoing it back.
    let content = "x".repeat(3 << 20);
    hook(
        &home,
        &format!(
            r#"{{"hook_event_name":"PreToolUse",{BASE},"tool_name":"Write","tool_input":{{"file_path":"/home/me/shop/big.txt","content":"{content}"}},"tool_use_id":"toolu_big"}}"#
        ),
    );
    let started = update(&mut tail, "the huge Write started", |c| {
        c["token"] == "toolu_big" && c["state"] == "running"
    });
    assert_eq!(started["message"], "/home/me/shop/big.txt");
    hook(
        &home,
        &format!(
            r#"{{"hook_event_name":"PostToolUse",{BASE},"tool_name":"Write","tool_input":{{"file_path":"/home/me/shop/big.txt","content":"{content}"}},"tool_response":{{"filePath":"/home/me/shop/big.txt","content":"{content}"}},"tool_use_id":"toolu_big"}}"#
        ),
    );
    update(&mut tail, "the huge Write finished", |c| {
        c["token"] == "toolu_big" && c["state"] == "done"
    });
    tail.signal(libc::SIGINT);
    server.terminate();
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn a_port_squatter_gets_nothing_from_the_hook() {
    for health in [r#"{"status":"ok"}"#, r#"{"server":"mcptop","pid":1}"#] {
        let home = temp_dir("hook-squatter");
        let squatter = Squatter::start(health);
        squatter.plant_discovery(&home, "ADMIN-SECRET-42");
        hook(
            &home,
            &format!(
                r#"{{"hook_event_name":"PreToolUse",{BASE},"tool_name":"Bash","tool_input":{{"command":"deploy --token TOOL-INPUT-7"}},"tool_use_id":"toolu_s"}}"#
            ),
        );
        let requests = squatter.requests();
        assert!(requests.contains("GET /health"), "{health}: {requests}");
        for secret in ["ADMIN-SECRET-42", "TOOL-INPUT-7", "POST"] {
            assert!(!requests.contains(secret), "{health}: {secret}: {requests}");
        }
        let log = std::fs::read_to_string(home.join(".mcptop/hook.log")).unwrap();
        assert!(log.contains("nothing was sent to it"), "{log}");
        assert!(!log.contains("ADMIN-SECRET-42"), "{log}");
        std::fs::remove_dir_all(&home).unwrap();
    }
}

#[test]
fn a_config_file_with_a_typo_keeps_its_redaction_and_a_broken_one_withholds() {
    let home = temp_dir("hook-config");
    let (mut server, _url) = serve(&home, &[]);
    let mut tail = Running::spawn(&home, &["tail", "--json"]);
    tail.line_matching("connected", |l| l.contains("\"connected\""));
    let config_dir = home.join("xdg");
    std::fs::create_dir_all(config_dir.join("mcptop")).unwrap();
    let config = config_dir.join("mcptop/config.toml");
    let run_hook = |id: &str, command_line: &str| {
        let mut cmd = command(&home, &["hook"]);
        cmd.env("XDG_CONFIG_HOME", &config_dir);
        hook_with(
            &home,
            &format!(
                r#"{{"hook_event_name":"PreToolUse",{BASE},"tool_name":"Bash","tool_input":{{"command":"{command_line}"}},"tool_use_id":"{id}"}}"#
            ),
            cmd,
        )
    };
    // A typo in the key bindings: the user's extra secret key still applies.
    std::fs::write(
        &config,
        "[keys]\nquit = 7\n[redaction]\nkeys = [\"ticket\"]\n",
    )
    .unwrap();
    run_hook("t1", "deploy ticket=TICKET-SECRET-1");
    let call = update(&mut tail, "the first call", |c| c["token"] == "t1");
    assert_eq!(call["message"], "deploy ticket=<redacted>");
    // A file that is not TOML: the call shows, its text is withheld, the log says why.
    std::fs::write(&config, "[redaction\nkeys = [\"ticket\"]\n").unwrap();
    run_hook("t2", "deploy ticket=TICKET-SECRET-2");
    let call = update(&mut tail, "the second call", |c| c["token"] == "t2");
    assert_eq!(call["message"], mcptop::redact::WITHHELD);
    let log = std::fs::read_to_string(home.join(".mcptop/hook.log")).unwrap();
    assert!(
        log.contains("config.toml") && log.contains("withheld"),
        "{log}"
    );
    tail.signal(libc::SIGINT);
    let everything = tail.lines.join("\n") + &tail.rest().join("\n");
    assert!(!everything.contains("TICKET-SECRET"), "{everything}");
    server.terminate();
    std::fs::remove_dir_all(&home).unwrap();
}

/// A proxy named in the environment never sees the hook's requests or its tokens: the hook
/// talks to the daemon it checked, directly.
#[test]
fn the_hook_never_goes_through_a_proxy() {
    let home = temp_dir("hook-proxy");
    let (mut server, _url) = serve(&home, &[]);
    let mut tail = Running::spawn(&home, &["tail", "--json"]);
    tail.line_matching("connected", |l| l.contains("\"connected\""));
    let proxy = Squatter::start(r#"{"status":"ok"}"#);
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
    let mut cmd = command(&home, &["hook"]);
    for name in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        cmd.env(name, &proxy_url);
    }
    cmd.env_remove("NO_PROXY").env_remove("no_proxy");
    hook_with(
        &home,
        &format!(
            r#"{{"hook_event_name":"PreToolUse",{BASE},"tool_name":"Bash","tool_input":{{"command":"make"}},"tool_use_id":"toolu_p"}}"#
        ),
        cmd,
    );
    // It reached the daemon (a proxied request would have gone to the proxy instead).
    update(&mut tail, "the call through no proxy", |c| {
        c["token"] == "toolu_p"
    });
    assert_eq!(proxy.requests(), "", "the proxy saw the hook");
    tail.signal(libc::SIGINT);
    server.terminate();
    std::fs::remove_dir_all(&home).unwrap();
}
