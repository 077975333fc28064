//! Prints the decoder and ingest benchmark figures from criterion's saved estimates as
//! Markdown tables, with each decoder's ratio to sse-stream measured in the same run:
//!
//! ```sh
//! cargo bench --bench sse_decoder && cargo bench --bench model_ingest
//! cargo run --release --example bench_report
//! ```

use std::path::Path;

fn mean_ns(dir: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(dir.join("new/estimates.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["mean"]["point_estimate"].as_f64()
}

fn elements(dir: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(dir.join("new/benchmark.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["throughput"]["Elements"].as_f64()
}

/// Million items per second for one benchmark, when it has run.
fn rate(root: &Path, group: &str, bench: &str) -> Option<f64> {
    let dir = root.join(group).join(bench);
    Some(elements(&dir)? / mean_ns(&dir)? * 1e3)
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/criterion");
    println!("| corpus | chunk | mcptop (M events/s) | mcptop, owned events | sse-stream 0.3 | memchr2 floor | mcptop ÷ sse-stream | owned ÷ sse-stream |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for group in [
        "a_progress_lf",
        "b_progress_crlf",
        "c_1mib_lines",
        "d_20_data_lines",
    ] {
        for chunk in ["16", "4096", "65536"] {
            let get = |name: &str| rate(&root, group, &format!("{name}/{chunk}"));
            let (ours, owned, theirs, floor) = (
                get("mcptop"),
                get("mcptop_owned"),
                get("sse_stream"),
                get("memchr2_floor"),
            );
            let fmt = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.3}"));
            let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
                (Some(a), Some(b)) => format!("{:.2}×", a / b),
                _ => "–".to_string(),
            };
            println!(
                "| {group} | {chunk} | {} | {} | {} | {} | {} | {} |",
                fmt(ours),
                fmt(owned),
                fmt(theirs),
                fmt(floor),
                ratio(ours, theirs),
                ratio(owned, theirs)
            );
        }
    }
    println!();
    println!("| ingest stream | serde_json::Value (baseline, M frames/s) | mcptop decode | decode ÷ baseline | decode + model | decode + model ÷ baseline |");
    println!("|---|---:|---:|---:|---:|---:|");
    for stream in ["steady", "churn"] {
        let get = |b: &str| rate(&root, "model_ingest", &format!("{stream}_{b}"));
        let fmt = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.2}"));
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => format!("{:.2}×", a / b),
            _ => "–".to_string(),
        };
        let (base, decode, apply) = (
            get("serde_json_value"),
            get("decode_only"),
            get("decode_and_apply"),
        );
        println!(
            "| {stream} | {} | {} | {} | {} | {} |",
            fmt(base),
            fmt(decode),
            ratio(decode, base),
            fmt(apply),
            ratio(apply, base)
        );
    }
}
