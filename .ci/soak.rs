//! The soak: `mcptop serve --replay --loop` at RATE events/s into a headless
//! `mcptop tail --json > /dev/null` for SECS seconds, tail's RSS sampled every 10 s; exit 1
//! when it grows (or tail dies).
//!
//! It drives a built binary (CI: the one `cargo install` just built), and needs nothing
//! but the standard library, so it compiles with `rustc` alone in seconds instead of a
//! second release build of the crate with its dev-dependencies.
//!
//!     rustc --edition 2021 -O -o target/soak .ci/soak.rs
//!     target/soak path/to/mcptop 600 [RATE]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

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

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: soak MCPTOP_BINARY SECS [RATE]";
    let Some(bin) = args.get(1).map(PathBuf::from) else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    let Some(secs) = args.get(2).and_then(|s| s.parse::<u64>().ok()) else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    let rate = match args.get(3).map(|s| s.parse::<u64>()) {
        None => 20_000,
        Some(Ok(r)) if (1..=1_000_000).contains(&r) => r,
        Some(_) => {
            eprintln!("soak: RATE is events per second, 1 to 1000000");
            return ExitCode::from(2);
        }
    };
    let home = std::env::temp_dir().join(format!("mcptop-soak-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&home) {
        eprintln!("soak: cannot create {}: {e}", home.display());
        return ExitCode::FAILURE;
    }
    let result = soak(&bin, &home, secs, rate);
    let _ = std::fs::remove_dir_all(&home);
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("soak: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Ten seconds of progress events at `rate`, as `serve --replay` reads them: 64 calls
/// of eight tools, each reporting steps of 100 to 106.
fn corpus(path: &Path, rate: u64) -> std::io::Result<()> {
    use std::fmt::Write as _;
    let events = rate * 10;
    let spacing = 1_000_000_000 / rate;
    let mut out = String::with_capacity(events as usize * 200);
    for n in 0..events {
        let tool = TOOLS[(n % 8) as usize];
        let total = 100 + n % 7;
        // Within one minute from 2026-04-17T10:00:00Z: ten seconds in all.
        let at = n * spacing;
        let _ = write!(
            out,
            "id: {id}\ndata: {{\"token\":{token},\"progress\":{progress},\"total\":{total},\"message\":\"{tool}: step {progress} of {total}\",\"tool\":\"{tool}\",\"timestamp\":\"2026-04-17T10:00:{s:02}.{ns:09}Z\"}}\n\n",
            id = n + 1,
            token = n % 64,
            progress = (n / 64) % total,
            s = at / 1_000_000_000,
            ns = at % 1_000_000_000,
        );
    }
    std::fs::write(path, out)
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn soak(bin: &Path, home: &Path, secs: u64, rate: u64) -> Result<bool, String> {
    let file = home.join("soak.sse");
    corpus(&file, rate).map_err(|e| format!("cannot write the corpus: {e}"))?;
    let discovery = home.join("mcp.json");
    let mut serve = Command::new(bin)
        .args(["serve", "--port", "0", "--discovery-file"])
        .arg(&discovery)
        .arg("--replay")
        .arg(&file)
        .args([
            "--loop",
            "--wait-subscribers",
            "1",
            "--broadcast-capacity",
            "4096",
        ])
        .env("HOME", home)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {} serve: {e}", bin.display()))?;
    let stdout = serve.stdout.take().ok_or("serve has no stdout")?;
    let serve = Killed(serve);
    let mut lines = BufReader::new(stdout).lines();
    let mut session = String::new();
    for line in lines.by_ref().map_while(Result::ok) {
        if let Some(rest) = line.strip_prefix("session ") {
            session = rest.split(' ').next().unwrap_or("").to_owned();
            break;
        }
    }
    if session.is_empty() {
        return Err("serve --replay announced no session".into());
    }
    // Keep reading (and dropping) what it prints, so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    if !discovery.exists() {
        return Err("serve announced its session before writing its discovery file".into());
    }
    let tail = Command::new(bin)
        .args(["tail", "--json", "--discovery"])
        .arg(&discovery)
        .args(["--session", &session])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {} tail: {e}", bin.display()))?;
    let mut tail = Killed(tail);
    let pid = tail.0.id();
    println!(
        "soak: {secs} s at {rate} events/s, serve --replay --loop → tail --json > /dev/null\n"
    );
    println!("| t (s) | tail RSS (MiB) | tail CPU (s) | events published |");
    println!("|---:|---:|---:|---:|");
    let start = Instant::now();
    let mut samples = Vec::new();
    let mut t = 10;
    while t <= secs {
        let due = start + Duration::from_secs(t);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        if let Ok(Some(status)) = tail.0.try_wait() {
            println!("tail exited early: {status}");
            return Ok(false);
        }
        let rss = rss_kib(pid).ok_or("cannot read tail's RSS from /proc")?;
        println!(
            "| {t} | {:.1} | {:.2} | {} |",
            rss as f64 / 1024.0,
            cpu_seconds(pid),
            published(bin, &discovery, &session).map_or_else(|| "?".to_owned(), |n| n.to_string())
        );
        samples.push(rss);
        t += 10;
    }
    drop(serve);
    if samples.is_empty() {
        return Err("SECS under 10: no sample taken".into());
    }
    let warm = (samples.len() / 3).clamp(1, 7);
    let ceiling = samples[..warm].iter().max().copied().unwrap_or(0);
    let limit = ceiling + ceiling / 10 + 2048;
    let peak = samples[warm..].iter().max().copied().unwrap_or(0);
    let flat = peak <= limit;
    println!(
        "\nwarm-up peak {:.1} MiB, later peak {:.1} MiB, limit {:.1} MiB: {}",
        ceiling as f64 / 1024.0,
        peak as f64 / 1024.0,
        limit as f64 / 1024.0,
        if flat { "flat" } else { "GROWING" }
    );
    Ok(flat)
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// User and system CPU seconds of `pid` (USER_HZ is 100 on Linux).
fn cpu_seconds(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let rest: Vec<&str> = s.rsplit_once(") ")?.1.split(' ').collect();
            Some((rest.get(11)?.parse::<f64>().ok()? + rest.get(12)?.parse::<f64>().ok()?) / 100.0)
        })
        .unwrap_or(0.0)
}

/// Events the replay session has published so far, from `mcptop sessions --json` (flat
/// objects, one per session: the `"events"` of the one that names the session).
fn published(bin: &Path, discovery: &Path, session: &str) -> Option<u64> {
    let out = Command::new(bin)
        .args(["sessions", "--json", "--discovery"])
        .arg(discovery)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let at = text.find(&format!("\"{session}\""))?;
    let object = &text[text[..at].rfind('{')?..at + text[at..].find('}')?];
    let after = &object[object.find("\"events\"")? + "\"events\"".len()..];
    let digits: String = after
        .trim_start_matches([':', ' '])
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}
