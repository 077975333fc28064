//! What `mcptop wrap` and `mcptop proxy` add to an agent's traffic, measured side by side
//! with a direct connection in the same run (blocks alternate, so drift hits both alike).
//!
//! - wrap: a stdio echo server (this bench re-run with `--echo-server`, answering each
//!   `tools/call` with a result), spoken to directly and through `mcptop wrap`: round-trip
//!   latency of one call at a time (p50/p99), and calls per second with 64 in flight.
//! - proxy: `mcptop serve`'s standard MCP endpoint, spoken to directly and through
//!   `mcptop proxy`: round-trip latency of `tools/list` (p50/p99) and requests per second
//!   with 8 clients.
//!
//! Both taps publish to a real `mcptop serve` on 127.0.0.1 (the same one), as in use.
//! `cargo bench --bench tap_overhead` (MCPTOP_BENCH_ROUNDS to change the 8 rounds).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mcptop");

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--echo-server") {
        let work_us = args.get(i + 1).and_then(|v| v.parse().ok()).unwrap_or(0);
        echo_server(work_us);
        return;
    }
    let rounds: usize = std::env::var("MCPTOP_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let home = std::env::temp_dir().join(format!("mcptop-tap-bench-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let (mut daemon, mut url) = serve(&home);
    if std::env::var_os("MCPTOP_BENCH_NO_DAEMON").is_some() {
        // Publishing fails at once (nothing listens on port 9): the tap's own cost alone.
        url = "http://127.0.0.1:9".into();
        println!("publishing to nothing (MCPTOP_BENCH_NO_DAEMON): the taps' own cost");
    }
    println!("daemon at {url}; {rounds} rounds, direct and tapped alternating\n");
    wrap_bench(&home, &url, rounds, 0);
    wrap_bench(&home, &url, rounds, 100);
    proxy_bench(&home, &url, rounds);
    let _ = daemon.kill();
    let _ = daemon.wait();
    let _ = std::fs::remove_dir_all(&home);
}

/// A stdio MCP server that answers every request, after `work_us` µs of (sleeping) work.
fn echo_server(work_us: u64) {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines().map_while(Result::ok) {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if let Some(id) = v.get("id") {
            if work_us > 0 {
                std::thread::sleep(Duration::from_micros(work_us));
            }
            let answer = serde_json::json!({
                "jsonrpc": "2.0", "id": id,
                "result": {"content": [{"type": "text", "text": "ok"}]}
            });
            let _ = writeln!(out, "{answer}");
            let _ = out.flush();
        }
    }
}

/// The upstream for the proxy is always the real daemon, whatever the taps publish to.
fn daemon_url(url: &str) -> String {
    DAEMON
        .with(|d| d.borrow().clone())
        .unwrap_or_else(|| url.to_owned())
}

thread_local!(static DAEMON: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) });

fn serve(home: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--no-discovery"])
        .env("HOME", home)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("mcptop serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first.trim_start_matches("listening on ").to_owned();
    DAEMON.with(|d| *d.borrow_mut() = Some(url.clone()));
    std::thread::spawn(move || for _ in lines {});
    (child, url)
}

struct Stdio2 {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
}

fn echo(home: &std::path::Path, daemon: Option<&str>, work_us: u64) -> Stdio2 {
    let me = std::env::current_exe().unwrap();
    let mut command = match daemon {
        None => {
            let mut c = Command::new(&me);
            c.arg("--echo-server").arg(work_us.to_string());
            c
        }
        Some(url) => {
            let mut c = Command::new(BIN);
            c.args(["wrap", "--url", url, "--label", "bench", "--"])
                .arg(&me)
                .arg("--echo-server")
                .arg(work_us.to_string());
            c
        }
    };
    let mut child = command
        .env("HOME", home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("echo server");
    let stdin = child.stdin.take().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    Stdio2 {
        child,
        stdin,
        stdout,
    }
}

fn call(id: u64) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"search","arguments":{{"query":"where is the config loaded","path":"src/"}},"_meta":{{"progressToken":"t{id}"}}}}}}"#
    )
}

/// Round trips of one call at a time, in µs.
fn latencies(s: &mut Stdio2, n: usize, first_id: u64) -> Vec<f64> {
    let mut line = String::new();
    (0..n as u64)
        .map(|i| {
            let started = Instant::now();
            writeln!(s.stdin, "{}", call(first_id + i)).unwrap();
            s.stdin.flush().unwrap();
            line.clear();
            s.stdout.read_line(&mut line).unwrap();
            started.elapsed().as_secs_f64() * 1e6
        })
        .collect()
}

/// Calls per second with `window` in flight.
fn throughput(s: &mut Stdio2, n: usize, window: usize, first_id: u64) -> f64 {
    let started = Instant::now();
    let mut line = String::new();
    let mut sent = 0usize;
    let mut got = 0usize;
    let mut batch = String::new();
    while got < n {
        batch.clear();
        while sent < n && sent - got < window {
            batch.push_str(&call(first_id + sent as u64));
            batch.push('\n');
            sent += 1;
        }
        if !batch.is_empty() {
            s.stdin.write_all(batch.as_bytes()).unwrap();
            s.stdin.flush().unwrap();
        }
        line.clear();
        s.stdout.read_line(&mut line).unwrap();
        got += 1;
    }
    n as f64 / started.elapsed().as_secs_f64()
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn median(mut v: Vec<f64>) -> f64 {
    percentile(&mut v, 0.5)
}

fn wrap_bench(home: &std::path::Path, url: &str, rounds: usize, work_us: u64) {
    let mut direct = echo(home, None, work_us);
    let mut wrapped = echo(home, Some(url), work_us);
    let calls = if work_us == 0 { 20_000 } else { 2_000 };
    // Warm up both (the wrap's first publish opens its session).
    latencies(&mut direct, 200, 0);
    latencies(&mut wrapped, 200, 0);
    let (mut d_lat, mut w_lat, mut d_tp, mut w_tp) = (vec![], vec![], vec![], vec![]);
    let mut id = 1000;
    for round in 0..rounds {
        let order: [bool; 2] = if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for tapped in order {
            let s = if tapped { &mut wrapped } else { &mut direct };
            let lat = latencies(s, 1000, id);
            let tp = throughput(s, calls, 64, id + 1000);
            id += 30_000;
            if tapped {
                w_lat.extend(lat);
                w_tp.push(tp);
            } else {
                d_lat.extend(lat);
                d_tp.push(tp);
            }
        }
    }
    let (d50, d99) = (percentile(&mut d_lat, 0.5), percentile(&mut d_lat, 0.99));
    let (w50, w99) = (percentile(&mut w_lat, 0.5), percentile(&mut w_lat, 0.99));
    let (dt, wt) = (median(d_tp), median(w_tp));
    println!(
        "wrap (stdio; the server answers {}; a call and its answer = 2 messages through the tap)",
        if work_us == 0 {
            "at once".to_owned()
        } else {
            format!("after {work_us} µs of work")
        }
    );
    println!("| | direct | through wrap | added |");
    println!("|---|---:|---:|---:|");
    println!(
        "| round trip p50 | {d50:.0} µs | {w50:.0} µs | {:.0} µs ({:.0} µs per message) |",
        w50 - d50,
        (w50 - d50) / 2.0
    );
    println!(
        "| round trip p99 | {d99:.0} µs | {w99:.0} µs | {:.0} µs |",
        w99 - d99
    );
    println!("| calls/s, 64 in flight (median of rounds) | {dt:.0} | {wt:.0} | {:.1} % fewer ({:.2}×) |\n", (1.0 - wt / dt) * 100.0, wt / dt);
    drop(direct.stdin);
    drop(wrapped.stdin);
    let _ = direct.child.wait();
    let _ = wrapped.child.wait();
}

fn proxy_bench(home: &std::path::Path, url: &str, rounds: usize) {
    let upstream = format!("{}/mcp", daemon_url(url));
    let mut proxy = Command::new(BIN)
        .args([
            "proxy",
            "--upstream",
            &upstream,
            "--url",
            url,
            "--label",
            "bench",
        ])
        .env("HOME", home)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("mcptop proxy");
    let mut lines = BufReader::new(proxy.stdout.take().unwrap()).lines();
    let proxied = loop {
        let line = lines.next().unwrap().unwrap();
        if let Some(u) = line.strip_prefix("point the agent at ") {
            break u.to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let direct_session = initialize(&client, &upstream).await;
        let proxied_session = initialize(&client, &proxied).await;
        let (mut d_lat, mut p_lat, mut d_tp, mut p_tp) = (vec![], vec![], vec![], vec![]);
        for _ in 0..100 {
            list(&client, &upstream, &direct_session).await;
            list(&client, &proxied, &proxied_session).await;
        }
        for round in 0..rounds {
            let order: [bool; 2] = if round % 2 == 0 { [false, true] } else { [true, false] };
            for tapped in order {
                let (target, session) = if tapped {
                    (&proxied, &proxied_session)
                } else {
                    (&upstream, &direct_session)
                };
                let mut lat = Vec::with_capacity(500);
                for _ in 0..500 {
                    let started = Instant::now();
                    list(&client, target, session).await;
                    lat.push(started.elapsed().as_secs_f64() * 1e6);
                }
                let started = Instant::now();
                let n = 2000;
                let tasks: Vec<_> = (0..8)
                    .map(|_| {
                        let (client, target, session) =
                            (client.clone(), target.clone(), session.clone());
                        tokio::spawn(async move {
                            for _ in 0..n / 8 {
                                list(&client, &target, &session).await;
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
                let tp = n as f64 / started.elapsed().as_secs_f64();
                if tapped {
                    p_lat.extend(lat);
                    p_tp.push(tp);
                } else {
                    d_lat.extend(lat);
                    d_tp.push(tp);
                }
            }
        }
        let (d50, d99) = (percentile(&mut d_lat, 0.5), percentile(&mut d_lat, 0.99));
        let (p50, p99) = (percentile(&mut p_lat, 0.5), percentile(&mut p_lat, 0.99));
        let (dt, pt) = (median(d_tp), median(p_tp));
        println!("proxy (Streamable HTTP, tools/list answered as JSON)");
        println!("| | direct | through proxy | added |");
        println!("|---|---:|---:|---:|");
        println!("| round trip p50 | {d50:.0} µs | {p50:.0} µs | {:.0} µs |", p50 - d50);
        println!("| round trip p99 | {d99:.0} µs | {p99:.0} µs | {:.0} µs |", p99 - d99);
        println!("| requests/s, 8 clients (median of rounds) | {dt:.0} | {pt:.0} | {:.1} % fewer ({:.2}×) |", (1.0 - pt / dt) * 100.0, pt / dt);
    });
    let _ = proxy.kill();
    let _ = proxy.wait();
}

async fn initialize(client: &reqwest::Client, url: &str) -> String {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    let session = response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let _ = response.bytes().await;
    session
}

async fn list(client: &reqwest::Client, url: &str, session: &str) {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", "2025-06-18")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let _ = response.bytes().await.unwrap();
}
