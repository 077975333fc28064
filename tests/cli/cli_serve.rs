//! `mcptop serve` as a user runs it: the real binary, its discovery file, signals,
//! replay, and its one-line errors.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::process::{temp_dir, Running};
use serde_json::Value;

struct Serve {
    process: Running,
    url: String,
    lines: Vec<String>,
}

/// Starts `mcptop serve ARGS` with HOME in `home`; waits for the lines it prints first.
fn serve(home: &Path, args: &[&str], wait_for_lines: usize) -> Serve {
    let (mut process, url) = common::process::serve(home, args);
    while process.lines.len() < wait_for_lines {
        process.line_matching("more output", |_| true);
    }
    let lines = process.lines.clone();
    Serve {
        process,
        url,
        lines,
    }
}

fn get(url: &str, bearer: Option<&str>) -> (u16, String) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut request = reqwest::Client::new()
            .get(url)
            .timeout(Duration::from_secs(10));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    })
}

#[test]
fn writes_a_private_discovery_file_and_removes_it_on_sigterm() {
    let home = temp_dir("serve-disc");
    let mut server = serve(&home, &[], 3);
    let file = home.join(".mcptop/mcp.json");
    assert_eq!(
        server.lines[1],
        format!("discovery file: {} (holds the admin token)", file.display())
    );
    // The next step is mcptop itself, not curl.
    assert!(
        server.lines[2].contains("watch it: run `mcptop`"),
        "{:?}",
        server.lines
    );
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let dir_mode = std::fs::metadata(home.join(".mcptop"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dir_mode, 0o700);
    let content: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(content["url"], format!("{}/mcp", server.url).as_str());
    assert_eq!(content["pid"], server.process.child.id());
    let admin = content["admin_token"].as_str().unwrap().to_owned();
    // Nothing printed holds the admin token.
    assert!(server.lines.iter().all(|l| !l.contains(&admin)));

    let (status, body) = get(&format!("{}/health", server.url), None);
    assert_eq!(status, 200, "{body}");
    let (status, body) = get(&format!("{}/sessions", server.url), Some(&admin));
    assert_eq!((status, body.as_str()), (200, "[]"));

    // A second daemon does not take over a live daemon's file.
    let second = Command::new(env!("CARGO_BIN_EXE_mcptop"))
        .args(["serve"])
        .env("HOME", &home)
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.starts_with(&format!(
            "mcptop: another daemon (pid {}) is live at ",
            server.process.child.id()
        )),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");

    let (code, stderr) = server.process.terminate();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!file.exists(), "the discovery file is removed on SIGTERM");
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn a_stale_discovery_file_is_replaced() {
    let home = temp_dir("serve-stale");
    let file = home.join(".mcptop/mcp.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    // A pid far above any pid_max: no such process.
    std::fs::write(
        &file,
        r#"{"url":"http://127.0.0.1:9/mcp","pid":2147483000}"#,
    )
    .unwrap();
    let mut server = serve(&home, &[], 2);
    let content: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(content["pid"], server.process.child.id());
    server.process.terminate();
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn replays_a_capture_into_a_session() {
    let home = temp_dir("serve-replay");
    let capture = format!("{}/assets/mcptop-session.sse", env!("CARGO_MANIFEST_DIR"));
    let file = home.join("d.json");
    let mut server = serve(
        &home,
        &[
            "--replay",
            &capture,
            "--speed",
            "max",
            "--discovery-file",
            file.to_str().unwrap(),
        ],
        4,
    );
    assert!(
        server.lines[3].starts_with("session "),
        "{:?}",
        server.lines
    );
    let content: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let admin = content["admin_token"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = get(&format!("{}/sessions", server.url), Some(admin));
        let sessions: Value = serde_json::from_str(&body).unwrap();
        if sessions[0]["events"].as_u64().unwrap_or(0) > 0 {
            assert!(sessions[0]["label"]
                .as_str()
                .unwrap()
                .starts_with("replay of "));
            break;
        }
        assert!(Instant::now() < deadline, "nothing was replayed: {body}");
        std::thread::sleep(Duration::from_millis(50));
    }
    server.process.terminate();
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn bad_input_gets_one_clear_line() {
    let home = temp_dir("serve-bad");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_mcptop"))
            .arg("serve")
            .args(args)
            .env("HOME", &home)
            .output()
            .unwrap()
    };
    let out = run(&["--replay", "/no/such/file.sse", "--no-discovery"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "mcptop: cannot read /no/such/file.sse: No such file or directory (os error 2)\n"
    );
    let out = run(&["--speed", "fast", "--replay", "x", "--no-discovery"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid speed \"fast\""));
    // A port that is taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = run(&["--port", &port, "--no-discovery"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!("mcptop: cannot listen on 127.0.0.1:{port}: ")),
        "{stderr}"
    );
    std::fs::remove_dir_all(&home).unwrap();
}

/// `[otlp] receive = true` with its port taken: the daemon runs on (a hook may have
/// started it), says which receiver is missing and why, on stderr and on `/health`; the
/// same port asked for with a flag stops `serve` with that line.
#[test]
fn a_taken_otlp_port_from_the_config_file_is_said_and_the_daemon_runs_on() {
    let home = common::process::temp_dir("serve-otlp-taken");
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let config = home.join(".config/mcptop");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        format!("[otlp]\nreceive = true\nhttp = \"127.0.0.1:{port}\"\ngrpc = \"0\"\n"),
    )
    .unwrap();
    let (mut server, url) = common::process::serve(&home, &[]);
    let body = ureq_get(&format!("{url}/health"));
    assert!(
        body.contains(&format!("cannot receive OTLP/HTTP on 127.0.0.1:{port}")),
        "{body}"
    );
    assert!(
        body.contains("\"grpc\":\"127.0.0.1:"),
        "the other receiver runs: {body}"
    );
    let (_, rest) = server.terminate();
    assert!(rest.contains("warning: cannot receive OTLP/HTTP"), "{rest}");
    // Asked for by flag, the same port stops serve.
    let out = common::process::run(
        &home,
        &[
            "serve",
            "--no-discovery",
            "--otlp-http",
            &port.to_string(),
            "--otlp-grpc",
            "off",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains(&format!("cannot receive OTLP/HTTP on 127.0.0.1:{port}")),
        "{text}"
    );
    drop(held);
    std::fs::remove_dir_all(&home).unwrap();
}

/// A GET over plain HTTP/1.1 to loopback: the body.
fn ureq_get(url: &str) -> String {
    use std::io::{Read, Write};
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_once('/').map_or((rest, "/"), |(h, p)| (h, p));
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or(text)
}

/// Spans sent to the daemon's own receiver would loop: asked for, `serve` refuses; from the
/// shell's OTEL_EXPORTER_OTLP_ENDPOINT (set for the agents), it says so and exports nothing.
#[test]
fn an_export_to_its_own_receiver_is_refused_or_left_out() {
    use std::io::BufRead;
    let home = common::process::temp_dir("serve-otlp-loop");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let own = format!("http://127.0.0.1:{port}");
    let out = common::process::run(
        &home,
        &[
            "serve",
            "--no-discovery",
            "--otlp-http",
            &port,
            "--otlp-grpc",
            "off",
            "--otlp-endpoint",
            &own,
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("spans would loop"),
        "{out:?}"
    );

    let mut child = common::process::command(
        &home,
        &[
            "serve",
            "--no-discovery",
            "--otlp-http",
            &port,
            "--otlp-grpc",
            "off",
        ],
    )
    .env("OTEL_EXPORTER_OTLP_ENDPOINT", &own)
    .spawn()
    .unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let lines: Vec<String> = stdout
        .lines()
        .map_while(Result::ok)
        .take_while(|l| !l.starts_with("receiving OpenTelemetry"))
        .collect();
    assert!(
        lines.iter().any(|l| l.starts_with("listening on")),
        "{lines:?}"
    );
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no spans are exported"), "{stderr}");
    std::fs::remove_dir_all(&home).unwrap();
}
