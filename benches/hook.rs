//! `mcptop hook`'s wall time per invocation, as Claude Code pays it: a fresh process with
//! one hook event on standard input, publishing into a live `mcptop serve`; against `true`
//! (a process that does nothing) measured in the same run, invocations alternating.
//!
//! `cargo bench --bench hook` (MCPTOP_BENCH_N invocations of each, default 400).

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
    let run = |program: &str, args: &[&str], input: &str| -> Duration {
        let started = Instant::now();
        let mut child = Command::new(program)
            .args(args)
            .env("HOME", &home)
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
    };
    let event = |i: usize, kind: &str| {
        format!(
            r#"{{"hook_event_name":"{kind}","session_id":"bench","cwd":"/tmp/bench","tool_name":"Bash","tool_input":{{"command":"cargo test {i}"}},"tool_use_id":"toolu_{i}"}}"#
        )
    };
    // A first event makes the daemon session (not what each later call pays).
    run(BIN, &["hook"], &event(0, "SessionStart"));
    let (mut hook, mut baseline) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let kind = if i % 2 == 0 {
            "PreToolUse"
        } else {
            "PostToolUse"
        };
        hook.push(run(BIN, &["hook"], &event(i / 2, kind)));
        baseline.push(run("true", &[], ""));
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
    let _ = std::fs::remove_dir_all(&home);
}
