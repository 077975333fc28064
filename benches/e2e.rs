//! End to end, with the real binary over loopback.
//!
//! - Throughput: `mcptop serve --replay CORPUS --speed max` publishes a progress corpus
//!   (1,000,000 events) into a session; `mcptop tail --count N` follows it over SSE (then,
//!   on a fresh daemon, over WebSocket) while `curl -N` reads the same session's SSE stream
//!   in the same run: events/s of each, and tail's ratio to curl. `--speed max` publishes as
//!   fast as the slowest reader takes events, so nobody loses any and both read all N.
//! - Latency: publish time → the frame that shows the event drawn, with the monitor's own
//!   draw loop at 20 fps (an in-process server, the live source, `ui::draw` on a test
//!   backend), at 100 and 10,000 events/s; baseline: publish → arrival at the source.
//! - The soak (20,000 events/s into `mcptop tail` for minutes, its RSS flat) is `.ci/soak.rs`,
//!   which drives the installed binary.
//!
//! `cargo bench --bench e2e` (MCPTOP_BENCH_EVENTS, MCPTOP_BENCH_ROUNDS; the daemons alone:
//! MCPTOP_BENCH_DAEMONS_ONLY, MCPTOP_BENCH_DAEMON_ROUNDS; of those, only `tail`'s rounds:
//! MCPTOP_BENCH_TAIL_ONLY, MCPTOP_BENCH_TAIL_ROUNDS).

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mcptop");

#[path = "support/peer.rs"]
mod peer;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if peer::run_if_asked(&args) {
        return;
    }
    let home = std::env::temp_dir().join(format!("mcptop-e2e-bench-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let events = env_or("MCPTOP_BENCH_EVENTS", 1_000_000);
    let rounds = env_or("MCPTOP_BENCH_ROUNDS", 3);
    if std::env::var_os("MCPTOP_BENCH_PUBLISH_ONLY").is_none() {
        daemons(&home, events, env_or("MCPTOP_BENCH_DAEMON_ROUNDS", 7));
    }
    if std::env::var_os("MCPTOP_BENCH_TAIL_ONLY").is_none() {
        publishing(
            env_or("MCPTOP_BENCH_PUBLISH_EVENTS", 200_000),
            env_or("MCPTOP_BENCH_PUBLISH_BATCH", 200),
            env_or("MCPTOP_BENCH_PUBLISHERS", 1).max(1) as usize,
            env_or("MCPTOP_BENCH_DAEMON_ROUNDS", 7),
        );
        if std::env::var_os("MCPTOP_BENCH_DAEMONS_ONLY").is_none() {
            throughput(&home, events, rounds);
            latency();
        }
    }
    let _ = std::fs::remove_dir_all(&home);
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A raw SSE capture of `events` Construct progress events (64 calls, ~190 bytes each),
/// stamped `spacing` apart (the replay's pacing).
fn corpus(path: &Path, events: u64, spacing: Duration) {
    use std::fmt::Write as _;
    const TOOLS: [&str; 8] = [
        "run_tests",
        "index_repo",
        "fetch_url",
        "search_code",
        "build",
        "lint",
        "deploy",
        "summarize",
    ];
    let start = 1_776_420_000_000_000_000i64; // 2026-04-17T10:00:00Z
    let mut out = String::with_capacity(events as usize * 200);
    for n in 0..events {
        let tool = TOOLS[(n % 8) as usize];
        let total = 100 + n % 7;
        let stamp =
            mcptop::time::Time::from_unix_nanos(start + (n as i64) * spacing.as_nanos() as i64);
        let _ = write!(
            out,
            "id: {id}\ndata: {{\"token\":{token},\"progress\":{progress},\"total\":{total},\"message\":\"{tool}: step {progress} of {total}\",\"tool\":\"{tool}\",\"timestamp\":\"{stamp}\"}}\n\n",
            id = n + 1,
            token = n % 64,
            progress = (n / 64) % total,
            stamp = stamp.to_rfc3339_nanos(),
        );
    }
    std::fs::write(path, out).unwrap();
}

/// A running `mcptop serve` with a replay session.
struct Daemon {
    child: Child,
    url: String,
    session: String,
    admin: String,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(home: &Path, args: &[&str]) -> Daemon {
    serve_with_session(home, args, true)
}

/// `mcptop serve` with `args`; with `session`, waits for the session it announces (a
/// replay's or a workload's), else creates one with the admin token.
fn serve_with_session(home: &Path, args: &[&str], announced: bool) -> Daemon {
    let file = home.join("mcp.json");
    let _ = std::fs::remove_file(&file);
    let mut child = Command::new(BIN)
        .args(["serve", "--port", "0", "--discovery-file"])
        .arg(&file)
        .args(args)
        .env("HOME", home)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn mcptop serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut url, mut session) = (String::new(), String::new());
    for line in lines.by_ref().map_while(Result::ok) {
        if let Some(u) = line.strip_prefix("listening on ") {
            url = u.to_owned();
        }
        if let Some(rest) = line.strip_prefix("session ") {
            session = rest.split(' ').next().unwrap_or("").to_owned();
        }
        if !url.is_empty() && (!session.is_empty() || !announced) {
            break;
        }
    }
    // Keep reading (and dropping) what it prints, so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    // The discovery file is written before the address is printed.
    let discovery: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("discovery file")).unwrap();
    let admin = discovery["admin_token"].as_str().unwrap().to_owned();
    if !announced {
        session = create_session(&url, &admin);
    }
    assert!(
        !url.is_empty() && !session.is_empty(),
        "serve did not start"
    );
    Daemon {
        child,
        url,
        session,
        admin,
    }
}

/// `curl -N` on the session's SSE stream: returns when it has read `events` events, with
/// the time of its first byte and of the last event.
fn curl(daemon: &Daemon, events: u64) -> std::thread::JoinHandle<(Instant, Instant)> {
    let mut child = Command::new("curl")
        .args(["-sN", "-H"])
        .arg(format!("Authorization: Bearer {}", daemon.admin))
        .arg(format!("{}/session/{}/events", daemon.url, daemon.session))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("curl (install it to run this bench)");
    let mut out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        let mut seen = 0u64;
        let mut first = None;
        let mut last_byte = 0u8;
        while seen < events {
            let n = out.read(&mut buf).expect("curl's output");
            assert!(n > 0, "curl's stream ended after {seen} events");
            first.get_or_insert_with(Instant::now);
            // Events end with a blank line: "\n\n", possibly split across reads.
            if last_byte == b'\n' && buf[0] == b'\n' {
                seen += 1;
            }
            seen += memchr::memmem::find_iter(&buf[..n], b"\n\n").count() as u64;
            last_byte = buf[n - 1];
        }
        let done = Instant::now();
        let _ = child.kill();
        let _ = child.wait();
        (first.unwrap(), done)
    })
}

/// `mcptop tail --count N --json` on the session, its output read here: when it exits,
/// and when its first call update came (the replay's start, give or take one event).
fn tail(
    daemon: &Daemon,
    events: u64,
    transport: &str,
) -> std::thread::JoinHandle<(Instant, Option<Instant>)> {
    let mut child = Command::new(BIN)
        .args([
            "tail",
            "--json",
            "--url",
            &daemon.url,
            "--session",
            &daemon.session,
        ])
        .args(["--token", &daemon.admin, "--transport", transport])
        .args(["--count", &events.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn mcptop tail");
    let mut out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        let mut first = None;
        loop {
            let n = out.read(&mut buf).unwrap_or(0);
            if n == 0 {
                break;
            }
            if first.is_none() && memchr::memmem::find(&buf[..n], b"\"type\":\"call\"").is_some() {
                first = Some(Instant::now());
            }
        }
        let status = child.wait().unwrap();
        assert!(status.success(), "tail failed: {status}");
        (Instant::now(), first)
    })
}

/// `mcptop serve` replaying `file` at full speed once one reader follows (lossless: it
/// publishes as fast as the reader takes events), with a replay ring of `ring` events.
fn replay_daemon(home: &Path, file: &Path, ring: &str) -> Daemon {
    serve(
        home,
        &[
            "--replay",
            file.to_str().unwrap(),
            "--speed",
            "max",
            "--wait-subscribers",
            "1",
            "--broadcast-capacity",
            "65536",
            "--replay-ring",
            ring,
        ],
    )
}

fn throughput(home: &Path, events: u64, rounds: u64) {
    let file = home.join("corpus.sse");
    corpus(&file, events, Duration::from_micros(50));
    let size = std::fs::metadata(&file).unwrap().len();
    println!(
        "throughput: {events} events ({:.0} MiB), {rounds} rounds; in each round curl -N and tail read the replay on daemons of their own, one after the other\n",
        size as f64 / f64::from(1 << 20)
    );
    println!("| transport | round | tail events/s | curl -N events/s (SSE) | tail / curl |");
    println!("|---|---:|---:|---:|---:|");
    for transport in ["sse", "ws"] {
        let mut ratios = Vec::new();
        let mut rates = Vec::new();
        for round in 1..=rounds {
            // The replay starts when the one reader attaches; it publishes as fast as
            // that reader takes the events, so each reader sets its own pace.
            let (start, done) = {
                let d = replay_daemon(home, &file, "0");
                curl(&d, events).join().unwrap()
            };
            let c = events as f64 / (done - start).as_secs_f64();
            let t = {
                let d = replay_daemon(home, &file, "0");
                let started = Instant::now();
                let (done, first) = tail(&d, events, transport).join().unwrap();
                // From the first byte the daemon sent (the replay's start), as for curl.
                events as f64 / (done - first.unwrap_or(started)).as_secs_f64()
            };
            println!(
                "| {transport} | {round} | {t:.0} | {c:.0} | {:.2}× |",
                t / c
            );
            ratios.push(t / c);
            rates.push(t);
        }
        println!(
            "| {transport} | median | {:.0} | | {:.2}× |",
            median(&mut rates),
            median(&mut ratios)
        );
    }
    println!();
}

/// The bench binary itself as a peer daemon or a raw sender (`flag` CORPUS).
fn baseline(flag: &str, corpus: &Path) -> Daemon {
    let mut child = Command::new(std::env::current_exe().expect("the bench binary"))
        .arg(flag)
        .arg(corpus)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn a baseline");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("listening on ").map(str::to_owned))
        .expect("the baseline's address");
    std::thread::spawn(move || for _ in lines {});
    Daemon {
        child,
        url,
        session: "s".into(),
        admin: "x".into(),
    }
}

/// CPU seconds (user + system) a process has used so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After the command's name in parentheses: state is field 3; utime and stime 14, 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// `curl -sN` reading `events` events from a daemon: (events/s, the daemon's CPU
/// seconds per million events).
fn curl_round(d: &Daemon, events: u64) -> (f64, f64) {
    let cpu_before = cpu_seconds(d.child.id());
    let (first, done) = curl(d, events).join().unwrap();
    let cpu = cpu_seconds(d.child.id()) - cpu_before;
    (
        events as f64 / (done - first).as_secs_f64(),
        cpu / events as f64 * 1e6,
    )
}

/// `mcptop tail --json --count N` reading from a daemon: events/s from its first update.
fn tail_round(d: &Daemon, events: u64) -> f64 {
    let started = Instant::now();
    let (done, first) = tail(d, events, "sse").join().unwrap();
    events as f64 / (done - first.unwrap_or(started)).as_secs_f64()
}

/// `mcptop serve` against the plain design and the raw-bytes floor, in the same rounds
/// (the order turning each round), into `curl -sN`; then `mcptop tail --json` from
/// `mcptop serve` and from the raw sender.
fn daemons(home: &Path, events: u64, rounds: u64) {
    let file = home.join("daemons.sse");
    corpus(&file, events, Duration::from_micros(50));
    let serve_with = |ring: &str| replay_daemon(home, &file, ring);
    type Start<'a> = Box<dyn Fn() -> Daemon + 'a>;
    let contenders: Vec<(&str, Start)> = vec![
        (
            "plain axum daemon (peer)",
            Box::new(|| baseline("--peer-daemon", &file)),
        ),
        ("mcptop serve, no replay ring", Box::new(|| serve_with("0"))),
        (
            "mcptop serve, 1,024-event ring",
            Box::new(|| serve_with("1024")),
        ),
        (
            "raw bytes (floor)",
            Box::new(|| baseline("--raw-sender", &file)),
        ),
    ];
    println!(
        "daemons into curl -sN > /dev/null: {events} progress events, {rounds} rounds, the order turning\n"
    );
    let names: Vec<&str> = contenders.iter().map(|(name, _)| *name).collect();
    if std::env::var_os("MCPTOP_BENCH_TAIL_ONLY").is_none() {
        paired_rounds(&names, rounds, |i| curl_round(&(contenders[i].1)(), events));
    }
    let mut from_serve = Vec::new();
    let mut from_raw = Vec::new();
    for _ in 0..env_or("MCPTOP_BENCH_TAIL_ROUNDS", rounds.min(3)) {
        from_serve.push(tail_round(&serve_with("0"), events));
        from_raw.push(tail_round(&baseline("--raw-sender", &file), events));
    }
    println!(
        "| mcptop tail --json, its output read through a pipe | events/s (median of {}) |",
        from_serve.len()
    );
    println!("|---|---:|");
    println!("| from mcptop serve | {:.0} |", median(&mut from_serve));
    println!("| from the raw sender | {:.0} |", median(&mut from_raw));
    println!();
}

/// `POST /session` with the admin token: the new session's id.
fn create_session(url: &str, admin: &str) -> String {
    let out = Command::new("curl")
        .args([
            "-s",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-H",
        ])
        .arg(format!("Authorization: Bearer {admin}"))
        .args(["-d", r#"{"label":"bench"}"#])
        .arg(format!("{url}/session"))
        .output()
        .expect("curl (install it to run this bench)");
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a session");
    answer["session_id"]
        .as_str()
        .expect("session_id")
        .to_owned()
}

/// Live publishing: `publishers` concurrent publishers, each posting `batch` progress
/// events a request to `POST /session/{id}/publish` over a keep-alive connection, one
/// `curl -sN` subscriber, on `mcptop serve` (its default ring) and on the plain peer, in
/// the same rounds.
fn publishing(events: u64, batch: u64, publishers: usize, rounds: u64) {
    let bodies: Vec<String> = (0..events / batch)
        .map(|b| {
            let items: Vec<String> = (0..batch)
                .map(|i| {
                    let n = b * batch + i;
                    let total = 100 + n % 7;
                    let progress = (n / 64) % total;
                    format!(
                        r#"{{"type":"progress","token":{},"progress":{progress},"total":{total},"message":"build: step {progress} of {total}","tool":"build","timestamp":"2026-04-17T10:00:00.000000000+00:00"}}"#,
                        n % 64
                    )
                })
                .collect();
            format!("[{}]", items.join(","))
        })
        .collect();
    let events = bodies.len() as u64 * batch;
    let home = std::env::temp_dir().join(format!("mcptop-e2e-publish-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    type Start<'a> = Box<dyn Fn() -> Daemon + 'a>;
    let contenders: Vec<(&str, Start)> = vec![
        (
            "plain axum daemon (peer)",
            Box::new(|| baseline("--peer-publish", Path::new("-"))),
        ),
        (
            "mcptop serve (1,024-event ring)",
            Box::new(|| serve_with_session(&home, &["--broadcast-capacity", "65536"], false)),
        ),
    ];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "live publishing: {events} progress events posted {batch} a request by {publishers} publisher(s), one curl -sN subscriber, {rounds} rounds\n"
    );
    let names: Vec<&str> = contenders.iter().map(|(name, _)| *name).collect();
    paired_rounds(&names, rounds, |i| {
        let d = (contenders[i].1)();
        let reader = curl(&d, events);
        // Let the subscriber attach before the first post.
        std::thread::sleep(Duration::from_millis(300));
        let cpu_before = cpu_seconds(d.child.id());
        runtime.block_on(async {
            let client = reqwest::Client::new();
            let to = format!("{}/session/{}/publish", d.url, d.session);
            // Each publisher posts every `publishers`-th body, one request at a time.
            let posts = (0..publishers).map(|p| {
                let (client, to, admin) = (&client, &to, &d.admin);
                let bodies = &bodies;
                async move {
                    for body in bodies.iter().skip(p).step_by(publishers) {
                        let answer = client
                            .post(to)
                            .bearer_auth(admin)
                            .header("content-type", "application/json")
                            .body(body.clone())
                            .send()
                            .await
                            .expect("publish");
                        assert!(answer.status().is_success(), "publish: {}", answer.status());
                        let _ = answer.bytes().await;
                    }
                }
            });
            futures_util::future::join_all(posts).await;
        });
        let (first, done) = reader.join().unwrap();
        let cpu = cpu_seconds(d.child.id()) - cpu_before;
        (
            events as f64 / (done - first).as_secs_f64(),
            cpu / events as f64 * 1e6,
        )
    });
    let _ = std::fs::remove_dir_all(&home);
}

/// Measures each contender once a round, the order turning between rounds, with
/// `measure(i)` giving contender `i`'s (events/s, CPU s per million events); then prints
/// the medians and each one's ratio to the first contender of the same round.
fn paired_rounds(names: &[&str], rounds: u64, mut measure: impl FnMut(usize) -> (f64, f64)) {
    let n = names.len();
    let (mut rates, mut cpus, mut ratios) = (
        vec![Vec::new(); n],
        vec![Vec::new(); n],
        vec![Vec::new(); n],
    );
    for round in 0..rounds as usize {
        let mut this = vec![0.0; n];
        for k in 0..n {
            let i = (k + round) % n;
            let (rate, cpu) = measure(i);
            this[i] = rate;
            rates[i].push(rate);
            cpus[i].push(cpu);
        }
        for (i, rate) in this.iter().enumerate() {
            ratios[i].push(rate / this[0]);
        }
    }
    println!("| daemon | events/s (median) | ÷ peer, median (min–max) | CPU s per million events (median) |");
    println!("|---|---:|---:|---:|");
    for (i, name) in names.iter().enumerate() {
        let (lo, hi) = min_max(&ratios[i]);
        println!(
            "| {name} | {:.0} | {:.2}× ({lo:.2}–{hi:.2}) | {:.3} |",
            median(&mut rates[i]),
            median(&mut ratios[i]),
            median(&mut cpus[i]),
        );
    }
    println!();
}

fn min_max(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(*x), hi.max(*x))
        })
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Publish → drawn, with the monitor's draw loop (at most 20 frames a second, a frame
/// drawn `frame_time` after the previous one when something changed).
fn latency() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("event-to-screen latency at 20 fps (120×30 frame), 10 s per rate\n");
    println!("| rate | publish → source p50 / p99 (baseline) | publish → drawn p50 / p99 | frames drawn |");
    println!("|---:|---:|---:|---:|");
    for rate in [100u64, 10_000] {
        let (arrive, drawn, frames) = runtime.block_on(latency_at(rate, Duration::from_secs(10)));
        println!(
            "| {rate}/s | {:.2} / {:.2} ms | {:.1} / {:.1} ms | {frames} |",
            percentile(&arrive, 0.5),
            percentile(&arrive, 0.99),
            percentile(&drawn, 0.5),
            percentile(&drawn, 0.99),
        );
    }
    println!();
}

async fn latency_at(rate: u64, run: Duration) -> (Vec<f64>, Vec<f64>, u64) {
    use mcptop::server::{self, EventKind, ServerConfig};
    use mcptop::source::connect::{self, LiveOptions};
    use mcptop::source::discover::Daemon;
    use mcptop::source::select::Chosen;
    use mcptop::source::SourceEvent;
    use mcptop::time::Time;
    use mcptop::ui::app::{App, SourceLabel};
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    let server = server::start(ServerConfig {
        broadcast_capacity: 4096,
        ..ServerConfig::default()
    })
    .await
    .unwrap();
    let session = server.state().sessions.create(None, "/".into(), false);
    let (tx, mut rx) = tokio::sync::mpsc::channel(65_536);
    let stop = tokio_util::sync::CancellationToken::new();
    let source = tokio::spawn(connect::run(
        Daemon {
            base_url: format!("http://{}", server.addr()),
            admin_token: None,
            file: None,
            instance: None,
            mcptop: true,
            otlp: false,
        },
        Chosen {
            session_id: session.id.clone(),
            token: session.token().to_owned(),
            label: None,
            explicit: true,
        },
        LiveOptions::default(),
        tx,
        stop.clone(),
    ));
    // The publisher: `rate` events a second in 1 ms steps, each stamped as published.
    let publisher = {
        let session = std::sync::Arc::clone(&session);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let start = tokio::time::Instant::now();
            let mut sent = 0u64;
            let mut step = tokio::time::interval(Duration::from_millis(1));
            while start.elapsed() < run {
                step.tick().await;
                let due = (start.elapsed().as_secs_f64() * rate as f64) as u64;
                while sent < due {
                    let now = Time::now();
                    session.events.publish(
                        EventKind::Progress,
                        format!(
                            "{{\"token\":{},\"progress\":{},\"total\":1000000,\"tool\":\"t{}\",\"timestamp\":\"{}\"}}",
                            sent % 20,
                            sent / 20,
                            sent % 20,
                            now.to_rfc3339_nanos()
                        ),
                        now,
                    );
                    sent += 1;
                }
            }
        })
    };
    let mut app = App::new(SourceLabel::default(), Time::now());
    let mut terminal = Terminal::new(TestBackend::new(120, 30)).unwrap();
    let frame_time = Duration::from_millis(50);
    let mut last_draw = tokio::time::Instant::now() - Duration::from_secs(1);
    let mut pending: Vec<Time> = Vec::new();
    let (mut arrive, mut drawn) = (Vec::new(), Vec::new());
    let mut frames = 0u64;
    let deadline = tokio::time::Instant::now() + run + Duration::from_millis(800);
    let stamp_of = |data: &str| -> Option<Time> {
        let v: serde_json::Value = serde_json::from_str(data).ok()?;
        Time::parse_rfc3339(v["timestamp"].as_str()?)
    };
    let ms = |d: chrono::TimeDelta| d.num_microseconds().unwrap_or(0) as f64 / 1000.0;
    while tokio::time::Instant::now() < deadline {
        let next_draw = app.dirty.then(|| last_draw + frame_time);
        tokio::select! {
            timed = rx.recv() => {
                let Some(timed) = timed else { break };
                let mut batch = vec![timed];
                while let Ok(t) = rx.try_recv() {
                    batch.push(t);
                }
                for t in &batch {
                    if let SourceEvent::Event { data, .. } = &t.event {
                        if let Some(stamp) = stamp_of(data) {
                            arrive.push(ms(t.at - stamp));
                            pending.push(stamp);
                        }
                    }
                    app.ingest(t);
                }
            }
            _ = async {
                match next_draw {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            } => {
                let now = Time::now();
                app.tick(now);
                terminal.draw(|f| mcptop::ui::draw(f, &mut app, now, 0, mcptop::ui::theme::Theme::plain())).unwrap();
                last_draw = tokio::time::Instant::now();
                frames += 1;
                let shown = Time::now();
                drawn.extend(pending.drain(..).map(|stamp| ms(shown - stamp)));
            }
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
    stop.cancel();
    let _ = source.await;
    let _ = publisher.await;
    arrive.sort_by(f64::total_cmp);
    drawn.sort_by(f64::total_cmp);
    (arrive, drawn, frames)
}
