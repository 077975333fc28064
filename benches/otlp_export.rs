//! What exporting every call as a span costs the daemon (budget: at most 10 % more daemon
//! CPU at 10,000 calls/s), measured beside the same daemon without export, alternating.
//!
//! A `mcptop serve` child process takes 10,000 calls/s for a few seconds (a start and an
//! end each, published in batches of 100 calls through the taps' route); its CPU time
//! (user + system, from `/proc/PID/stat`) is read before and after. With export on, the
//! spans go to a sink on loopback that answers every request with 200 (this process).
//!
//! Twice: with nobody following the daemon (its cheapest state), and as in use, with a
//! monitor following every session (`/session/*/events`, read and thrown away here).
//!
//! `cargo bench --bench otlp_export` (MCPTOP_BENCH_SECS, 4 s per round; 3 rounds each).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mcptop");
const RATE: usize = 10_000;
const BATCH: usize = 100;

/// A collector that takes anything and answers 200 (one thread per connection).
fn sink() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut out = stream;
                loop {
                    let mut length = 0usize;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    let answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
                    if out.write_all(answer).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

fn serve(home: &std::path::Path, export: Option<u16>) -> (Child, String, String) {
    let mut args = vec![
        "serve".to_owned(),
        "--discovery-file".into(),
        home.join("mcp.json").display().to_string(),
    ];
    if let Some(port) = export {
        args.push("--otlp-endpoint".into());
        args.push(format!("http://127.0.0.1:{port}"));
    }
    let mut child = Command::new(BIN)
        .args(&args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut url = String::new();
    for line in lines.by_ref().map_while(Result::ok) {
        if let Some(u) = line.strip_prefix("listening on ") {
            url = u.to_owned();
        }
        if line.starts_with("discovery file") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(home.join("mcp.json")).unwrap()).unwrap();
    (child, url, file["admin_token"].as_str().unwrap().to_owned())
}

/// A monitor's read of every session (`GET /session/*/events` with the admin token),
/// drained on a thread of its own until the daemon goes.
fn follow(url: &str, admin: &str) {
    let host = url.trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&host).unwrap();
    write!(
        stream,
        "GET /session/*/events HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {admin}\r\nAccept: text/event-stream\r\n\r\n"
    )
    .unwrap();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
    });
}

/// The child's CPU time so far.
fn cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_nanos(ticks * 1_000_000_000 / hz)
}

/// Publishes RATE calls/s for `secs` into a new owner's session; the daemon's CPU time.
fn drive(url: &str, admin: &str, pid: u32, secs: f64) -> Duration {
    let client = reqwest::blocking::Client::new();
    let session: serde_json::Value = client
        .post(format!("{url}/session"))
        .bearer_auth(admin)
        .json(&serde_json::json!({"label": "bench"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let publish = format!(
        "{url}/session/{}/publish",
        session["session_id"].as_str().unwrap()
    );
    let token = session["token"].as_str().unwrap().to_owned();
    let before = cpu(pid);
    let start = Instant::now();
    let mut sent = 0usize;
    while start.elapsed().as_secs_f64() < secs {
        // Paced: the calls due by now.
        let due = (start.elapsed().as_secs_f64() * RATE as f64) as usize;
        if sent >= due {
            std::thread::sleep(Duration::from_millis(2));
            continue;
        }
        let mut items = Vec::with_capacity(BATCH * 2);
        for i in sent..sent + BATCH {
            items.push(serde_json::json!({"type": "call", "token": i, "tool": "search", "state": "started"}));
            items.push(serde_json::json!({"type": "call", "token": i, "tool": "search", "state": "finished"}));
        }
        let answer = client
            .post(&publish)
            .bearer_auth(&token)
            .json(&items)
            .send()
            .unwrap();
        assert!(answer.status().is_success());
        sent += BATCH;
    }
    // The last batch of spans leaves within a second.
    std::thread::sleep(Duration::from_millis(1200));
    cpu(pid) - before
}

fn main() {
    let secs: f64 = std::env::var("MCPTOP_BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4.0);
    let port = sink();
    let home = std::env::temp_dir().join(format!("mcptop-export-bench-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    println!("{RATE} calls/s for {secs} s (+1.2 s to drain), daemon CPU seconds, median of 3:");
    for (watched, name) in [
        (false, "nobody following"),
        (true, "a monitor following every session"),
    ] {
        let sub = home.join(if watched { "watched" } else { "alone" });
        let (mut plain, plain_url, plain_admin) = serve(&sub.join("plain"), None);
        let (mut export, export_url, export_admin) = serve(&sub.join("export"), Some(port));
        if watched {
            follow(&plain_url, &plain_admin);
            follow(&export_url, &export_admin);
        }
        let (mut without, mut with) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            without.push(drive(&plain_url, &plain_admin, plain.id(), secs).as_secs_f64());
            with.push(drive(&export_url, &export_admin, export.id(), secs).as_secs_f64());
        }
        let health: serde_json::Value = reqwest::blocking::get(format!("{export_url}/health"))
            .unwrap()
            .json()
            .unwrap();
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (a, b) = (median(&mut without), median(&mut with));
        println!("{name}:");
        println!("  without export   {a:.3} s");
        println!(
            "  with export      {b:.3} s   (+{:.1} %, budget 10 %)",
            (b / a - 1.0) * 100.0
        );
        println!("  export: {}", health["otlp_export"]);
        let _ = plain.kill();
        let _ = export.kill();
        let _ = plain.wait();
        let _ = export.wait();
    }
    let _ = std::fs::remove_dir_all(&home);
}
