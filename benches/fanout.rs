//! Fan-out of `mcptop serve`: one publisher at full speed, 1 / 10 / 100 SSE subscribers.
//!
//! `cargo bench --bench fanout` (add `-- --seconds S` to publish longer than 2 s,
//! `-- --capacity N` for another broadcast capacity than the default 1024).
//!
//! Two tables: the publisher at full speed (every subscriber falls behind; what matters
//! is that each is told exactly how much it lost, and what the server spends), then the
//! publisher paced at 20,000 events/s (a busy agent fleet), where nobody should lose
//! anything.
//!
//! The server and its publisher run in this process; the subscribers run in a child
//! process (this same binary with `--subscribers`), so the CPU time measured here is the
//! server's alone. Each subscriber reads the stream over loopback HTTP with reqwest and
//! mcptop's decoder, and counts the events it got and the losses the server announced
//! (`event: lagged`). Every row checks that got + announced = published for every
//! subscriber: nothing is lost silently.
//!
//! Baseline, measured in the same run: the publisher alone (no subscriber).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mcptop::server::{self, EventKind, ServerConfig};
use mcptop::sse::{Decoder, Item, Limits};
use mcptop::time::Time;

const PAYLOAD: &str = r#"{"token":1000001,"progress":41,"total":100,"message":"compiling crate 41 of 100","tool":"build_project","timestamp":"2026-11-22T05:58:24.293106306+00:00"}"#;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--subscribers") {
        subscriber_process(&args[i + 1..]);
        return;
    }
    let seconds = args
        .iter()
        .position(|a| a == "--seconds")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(2.0);
    let window = Duration::from_secs_f64(seconds);
    let capacity = args
        .iter()
        .position(|a| a == "--capacity")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(1024);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");

    for rate in [None, Some(20_000u64)] {
        table(&runtime, window, rate, capacity);
    }
}

fn table(runtime: &tokio::runtime::Runtime, window: Duration, rate: Option<u64>, capacity: usize) {
    let pace = rate.map_or("at full speed".to_owned(), |r| {
        format!("paced at {r} events/s")
    });
    println!(
        "\nfan-out: one publisher {pace} for {:.1} s, payload {} bytes, broadcast capacity {capacity}",
        window.as_secs_f64(),
        PAYLOAD.len()
    );
    println!(
        "{:>11} {:>13} {:>10} {:>16} {:>16} {:>9} {:>11} {:>9}",
        "subscribers",
        "published/s",
        "vs alone",
        "delivered/s each",
        "(slowest)",
        "lagged %",
        "server CPU",
        "accounted"
    );
    let mut baseline = None;
    for subscribers in [0usize, 1, 10, 100] {
        let row = runtime.block_on(run(subscribers, window, rate, capacity));
        let published_rate = row.published as f64 / row.elapsed;
        let base = *baseline.get_or_insert(published_rate);
        let (mean, slowest, lagged, accounted) = if row.counts.is_empty() {
            (f64::NAN, f64::NAN, f64::NAN, true)
        } else {
            let n = row.counts.len() as f64;
            let got: Vec<f64> = row
                .counts
                .iter()
                .map(|c| c.0 as f64 / row.elapsed)
                .collect();
            let missed: u64 = row.counts.iter().map(|c| c.1).sum();
            (
                got.iter().sum::<f64>() / n,
                got.iter().copied().fold(f64::INFINITY, f64::min),
                100.0 * missed as f64 / (row.published as f64 * n),
                row.counts.iter().all(|c| c.0 + c.1 == row.published),
            )
        };
        println!(
            "{:>11} {:>13.0} {:>9.2}x {:>16.0} {:>16.0} {:>8.1}% {:>9.2} cores {:>9}",
            subscribers,
            published_rate,
            published_rate / base,
            mean,
            slowest,
            lagged,
            row.cpu / row.elapsed,
            if accounted { "yes" } else { "NO" }
        );
    }
}

struct Row {
    published: u64,
    elapsed: f64,
    /// Server-process CPU seconds while publishing and draining.
    cpu: f64,
    /// Per subscriber: events received, events the server said were lost.
    counts: Vec<(u64, u64)>,
}

async fn run(subscribers: usize, window: Duration, rate: Option<u64>, capacity: usize) -> Row {
    let running = server::start(ServerConfig {
        broadcast_capacity: capacity,
        ..ServerConfig::default()
    })
    .await
    .expect("server");
    let session = running
        .state()
        .sessions
        .create(Some("fanout".into()), "/".into(), false);
    let mut child = None;
    if subscribers > 0 {
        let exe = std::env::current_exe().expect("own path");
        let url = format!("{}/session/{}/events", running.base_url(), session.id);
        let c = Command::new(exe)
            .args([
                "--subscribers",
                &url,
                session.token(),
                &subscribers.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("subscriber process");
        child = Some(c);
        let deadline = Instant::now() + Duration::from_secs(20);
        while session.events.subscribers() < subscribers {
            assert!(Instant::now() < deadline, "subscribers did not connect");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = {
        let session = Arc::clone(&session);
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut n = 0u64;
            let begun = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                let batch = match rate {
                    None => 64,
                    Some(r) => {
                        // Publish what is due by now, in 1 ms steps.
                        std::thread::sleep(Duration::from_millis(1));
                        let due = (begun.elapsed().as_secs_f64() * r as f64) as u64;
                        // At most 32 per step: a late wake-up must not turn into a burst
                        // larger than the broadcast capacity (that is the other table).
                        due.saturating_sub(n).min(32)
                    }
                };
                for _ in 0..batch {
                    session
                        .events
                        .publish(EventKind::Progress, PAYLOAD, Time::from_unix_nanos(0));
                }
                n += batch;
            }
            n
        })
    };
    tokio::time::sleep(window).await;
    stop.store(true, Ordering::Relaxed);
    let published = publisher.join().expect("publisher");
    let elapsed = started.elapsed().as_secs_f64();
    // Let the subscribers drain, then ask them for their counts.
    let mut counts = Vec::new();
    if let Some(mut c) = child {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut stdin = c.stdin.take().expect("stdin");
        writeln!(stdin, "{published}").expect("tell the subscribers");
        drop(stdin);
        let stdout = c.stdout.take().expect("stdout");
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let mut parts = line
                .split_whitespace()
                .map(|p| p.parse::<u64>().unwrap_or(0));
            counts.push((parts.next().unwrap_or(0), parts.next().unwrap_or(0)));
        }
        let _ = c.wait();
    }
    let cpu = cpu_seconds() - cpu_before;
    running.shutdown().await.expect("shutdown");
    Row {
        published,
        elapsed,
        cpu,
        counts,
    }
}

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(usage.ru_utime) + t(usage.ru_stime)
}

/// Child mode: N subscribers; when a number (the published count) arrives on stdin,
/// read until each has got + lost that many (or 10 s pass), then print "got lost" lines.
fn subscriber_process(args: &[String]) {
    let url = args[0].clone();
    let token = args[1].clone();
    let n: usize = args[2].parse().expect("subscriber count");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let client = reqwest::Client::new();
        let target = Arc::new(std::sync::atomic::AtomicU64::new(u64::MAX));
        let mut tasks = Vec::new();
        for _ in 0..n {
            let response = client
                .get(&url)
                .bearer_auth(&token)
                .send()
                .await
                .expect("subscribe");
            let target = Arc::clone(&target);
            tasks.push(tokio::spawn(async move {
                let mut response = response;
                let mut decoder = Decoder::new(Limits::default());
                let (mut got, mut lost) = (0u64, 0u64);
                let deadline = tokio::time::sleep(Duration::from_secs(3600));
                tokio::pin!(deadline);
                loop {
                    if got + lost >= target.load(Ordering::Relaxed) {
                        break;
                    }
                    let chunk = tokio::select! {
                        c = response.chunk() => c,
                        _ = &mut deadline => break,
                        _ = tokio::time::sleep(Duration::from_millis(50)) => continue,
                    };
                    let Ok(Some(chunk)) = chunk else { break };
                    decoder.feed(&chunk, &mut |item| {
                        if let Item::Event(e) = item {
                            if e.event_type == "lagged" {
                                let missed = e
                                    .data
                                    .trim_start_matches("{\"missed\":")
                                    .trim_end_matches('}');
                                lost += missed.parse::<u64>().unwrap_or(0);
                            } else {
                                got += 1;
                            }
                        }
                    });
                }
                (got, lost)
            }));
        }
        // Wait for the published count, then give everyone 10 s to account for it.
        let line = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
            line
        })
        .await
        .unwrap_or_default();
        target.store(line.trim().parse().unwrap_or(0), Ordering::Relaxed);
        let mut out = std::io::stdout().lock();
        for task in tasks {
            let result = tokio::time::timeout(Duration::from_secs(10), task).await;
            let (got, lost) = match result {
                Ok(Ok(counts)) => counts,
                _ => (0, 0),
            };
            let _ = writeln!(out, "{got} {lost}");
        }
    });
}
