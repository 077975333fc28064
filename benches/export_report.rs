//! `mcptop export --format html|json|har` on a session of 10,000 calls (budget: the report
//! written in at most 1 s on the 2-core machine), beside its baseline in the same run:
//! playing the same recording through the model alone (what `check` and `diff` do).
//!
//! - play: the recording read and played through the model ([`mcptop::playback::play`]);
//! - document: the same, then the export document built (findings looked for every
//!   250 ms of recorded time, per-tool figures, every call with its curve and messages);
//! - html: the document, serialised and escaped into the page;
//! - har: the document as an HTTP archive.
//!
//! The page's own load in a browser (10,000 calls to the first screen) is measured by the
//! interop suite's `tests/interop/html_report.sh`, which prints it.
//!
//! `cargo bench --bench export_report` (MCPTOP_BENCH_ROUNDS to change the 5 rounds).

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

const CALLS: usize = 10_000;

/// 10,000 calls over a minute on 4 sessions, each with arguments, three progress reports
/// with messages and an end (every 37th failed), as `tests/interop/make_recordings.py big`
/// writes them.
fn write_recording(path: &Path) {
    let tools = [
        "read_file",
        "run_tests",
        "search_code",
        "fetch_url",
        "build_project",
        "query_db",
        "list_dir",
        "write_file",
    ];
    let mut events: Vec<(f64, usize, String, serde_json::Value)> = Vec::new();
    let mut seed: u64 = 7;
    for i in 0..CALLS {
        let t = 60.0 * i as f64 / CALLS as f64;
        let base = serde_json::json!({
            "session": format!("s{}", i % 4),
            "session_label": format!("agent {}", i % 4),
            "token": i + 1,
            "tool": tools[i % tools.len()],
        });
        let with = |extra: serde_json::Value| {
            let mut v = base.clone();
            if let (Some(v), Some(extra)) = (v.as_object_mut(), extra.as_object()) {
                v.extend(extra.clone());
            }
            v
        };
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let d = 0.05 + 2.95 * ((seed >> 11) as f64 / (1u64 << 53) as f64);
        events.push((
            t,
            events.len(),
            "call".into(),
            with(serde_json::json!({"state": "started", "arguments": {"path": format!("/src/file_{i}.rs"), "n": i}})),
        ));
        for k in 1..=3 {
            events.push((
                t + d * f64::from(k) / 4.0,
                events.len(),
                "progress".into(),
                with(serde_json::json!({"progress": k, "total": 4, "message": format!("step {k} of 4")})),
            ));
        }
        let end = if i % 37 == 0 {
            serde_json::json!({"state": "failed", "error": "exit status 1"})
        } else {
            serde_json::json!({"state": "finished", "result": {"content": [{"type": "text", "text": format!("ok {i}")}]}})
        };
        events.push((t + d, events.len(), "call".into(), with(end)));
    }
    events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut out =
        std::io::BufWriter::new(std::fs::File::create(path).expect("create the recording"));
    writeln!(
        out,
        r#"{{"format":"mcptop-recording","version":1,"started_at":"2026-12-06T11:00:00Z","source":{{"session_id":"*","label":"all sessions","transport":"sse"}}}}"#
    )
    .expect("write");
    for (n, (t, _, kind, data)) in events.iter().enumerate() {
        let line = serde_json::json!([t, "e", {"event": kind, "id": (n + 1).to_string(), "data": data.to_string()}]);
        writeln!(out, "{line}").expect("write");
    }
    out.flush().expect("flush");
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let rounds: usize = std::env::var("MCPTOP_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let dir = std::env::temp_dir().join(format!("mcptop-bench-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let rec = dir.join("big.jsonl");
    write_recording(&rec);
    let open = || mcptop::recording::open(&rec).expect("open the recording");
    let (mut play, mut doc, mut html, mut har) = (vec![], vec![], vec![], vec![]);
    let mut size = (0, 0);
    for _ in 0..rounds {
        let t = Instant::now();
        let (model, _) = mcptop::playback::play(open());
        assert_eq!(model.len(), CALLS);
        play.push(t.elapsed());

        let t = Instant::now();
        let d = mcptop::export::document::build(open(), "big.jsonl");
        assert_eq!(d.calls.len(), CALLS);
        let built = t.elapsed();
        doc.push(built);

        let t = Instant::now();
        let page = mcptop::export::html::render(&d).expect("render");
        html.push(built + t.elapsed());

        let t = Instant::now();
        let archive = serde_json::to_string(&mcptop::export::har::render(&d)).expect("har");
        har.push(built + t.elapsed());
        size = (page.len(), archive.len());
    }
    let _ = std::fs::remove_dir_all(&dir);
    let (play, doc, html, har) = (median(play), median(doc), median(html), median(har));
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("export_report: {CALLS} calls, median of {rounds} rounds");
    println!("  play (baseline)   {:>8.1} ms", ms(play));
    println!(
        "  document          {:>8.1} ms  ({:.2}x the baseline)",
        ms(doc),
        ms(doc) / ms(play)
    );
    println!(
        "  html              {:>8.1} ms  ({:.2}x; page {:.1} MiB)",
        ms(html),
        ms(html) / ms(play),
        size.0 as f64 / 1048576.0
    );
    println!(
        "  har               {:>8.1} ms  ({:.2}x; archive {:.1} MiB)",
        ms(har),
        ms(har) / ms(play),
        size.1 as f64 / 1048576.0
    );
    let budget = Duration::from_secs(1);
    println!(
        "  budget: the html report in at most {} ms: {}",
        budget.as_millis(),
        if html <= budget { "met" } else { "MISSED" }
    );
}
