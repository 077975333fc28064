//! `mcptop hook`'s wall time per invocation, as Claude Code pays it: a fresh process with
//! one hook event on standard input, publishing into a live `mcptop serve`; against `true`
//! (a process that does nothing) measured in the same run, invocations alternating.
//! Then the two cases where the daemon cannot take the event at once, which must cost the
//! agent no more: no daemon at all (the hook starts one and goes), and a daemon that
//! refuses more connections.
//!
//! `cargo bench --bench hook` (MCPTOP_BENCH_N invocations of each, default 400; a tenth
//! of that, at least 5, for the two other cases).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mcptop");

fn main() {
    let n: usize = std::env::var("MCPTOP_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let home = std::env::temp_dir().join(format!("mcptop-hook-bench-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let mut daemon = Command::new(BIN)
        .arg("serve")
        .env("HOME", &home)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let file = home.join(".mcptop/mcp.json");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !file.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    // The baseline, spawned the way `run_in` spawns the hook (pipes and all).
    let run_true = || -> Duration {
        let started = Instant::now();
        let child = Command::new("true")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        if let Ok(mut child) = child {
            drop(child.stdin.take());
            let _ = child.wait();
        }
        started.elapsed()
    };
    let event = |i: usize, kind: &str| {
        format!(
            r#"{{"hook_event_name":"{kind}","session_id":"bench","cwd":"/tmp/bench","tool_name":"Bash","tool_input":{{"command":"cargo test {i}"}},"tool_use_id":"toolu_{i}"}}"#
        )
    };
    // A first event makes the daemon session (not what each later call pays).
    run_in(&home, &event(0, "SessionStart"));
    let (mut hook, mut baseline) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let kind = if i % 2 == 0 {
            "PreToolUse"
        } else {
            "PostToolUse"
        };
        hook.push(run_in(&home, &event(i / 2, kind)));
        baseline.push(run_true());
    }
    let report = |name: &str, times: &mut Vec<Duration>| {
        times.sort();
        let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
        println!(
            "{name:<12} median {:>7.2} ms   p99 {:>7.2} ms   max {:>7.2} ms",
            at(0.5).as_secs_f64() * 1e3,
            at(0.99).as_secs_f64() * 1e3,
            times[times.len() - 1].as_secs_f64() * 1e3
        );
        at(0.5)
    };
    println!("{n} invocations each, alternating:");
    let h = report("mcptop hook", &mut hook);
    let b = report("true", &mut baseline);
    println!(
        "mcptop hook costs {:.2} ms more than starting a process that does nothing (median)",
        (h.as_secs_f64() - b.as_secs_f64()) * 1e3
    );
    let _ = daemon.kill();
    let _ = daemon.wait();

    // No daemon: each invocation in a home of its own starts one, and must not wait for it.
    let rare = (n / 10).max(5);
    let mut cold = Vec::with_capacity(rare);
    for i in 0..rare {
        let fresh = home.join(format!("cold-{i}"));
        std::fs::create_dir_all(&fresh).unwrap();
        cold.push(run_in(&fresh, &event(i, "PreToolUse")));
        stop_daemon(&fresh);
    }
    // A daemon holding its one allowed connection: the hook gives up on it at once.
    let full_home = home.join("full");
    std::fs::create_dir_all(&full_home).unwrap();
    let mut full_daemon = Command::new(BIN)
        .args(["serve", "--max-connections", "1"])
        .env("HOME", &full_home)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let address = daemon_address(&full_home);
    let held = std::net::TcpStream::connect(&address).unwrap();
    let mut full = Vec::with_capacity(rare);
    for i in 0..rare {
        full.push(run_in(&full_home, &event(i, "PreToolUse")));
    }
    drop(held);
    let _ = full_daemon.kill();
    let _ = full_daemon.wait();
    println!("{rare} invocations each, a daemon that cannot take the event:");
    let c = report("no daemon", &mut cold);
    let f = report("daemon full", &mut full);
    println!(
        "budget 20 ms over a bare process start, median: no daemon {}, daemon full {}",
        verdict(c, b),
        verdict(f, b)
    );
    let _ = std::fs::remove_dir_all(&home);
}

fn verdict(time: Duration, baseline: Duration) -> &'static str {
    if time.saturating_sub(baseline) <= Duration::from_millis(20) {
        "met"
    } else {
        "NOT MET"
    }
}

/// One `mcptop hook` with `input`, in `home`; its wall time.
fn run_in(home: &std::path::Path, input: &str) -> Duration {
    let started = Instant::now();
    let mut child = Command::new(BIN)
        .arg("hook")
        .env("HOME", home)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    let _ = child.wait();
    started.elapsed()
}

/// The address in `home`'s discovery file, once the daemon wrote it (10 s at most).
fn daemon_address(home: &std::path::Path) -> String {
    let file = home.join(".mcptop/mcp.json");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(url) = std::fs::read_to_string(&file)
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|v| v["url"].as_str().map(str::to_owned))
        {
            let rest = url.trim_start_matches("http://");
            return rest.split('/').next().unwrap_or(rest).to_owned();
        }
        assert!(Instant::now() < deadline, "no daemon came up in {home:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Stops the daemon a hook started in `home`, once it is up.
fn stop_daemon(home: &std::path::Path) {
    daemon_address(home);
    let pid = std::fs::read_to_string(home.join(".mcptop/mcp.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|v| v["pid"].as_i64());
    if let Some(pid) = pid {
        let _ = Command::new("kill").arg(pid.to_string()).status();
    }
}
