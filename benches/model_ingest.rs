//! Model ingest: decode a progress frame's JSON and apply it to the call model.
//!
//! `cargo bench --bench model_ingest`. Two streams of Construct-shaped progress events, each
//! with a timestamp:
//! - `steady`: 64 calls at a time, each reporting 1..=100 of 100 and then replaced by a new
//!   call (a new token): what a busy agent session looks like;
//! - `churn`: the data payloads of decoder corpus (a), where 384 (tool, token) keys see
//!   progress jump back and forth, so calls restart, collide and are evicted all the time.

#[path = "support/corpus.rs"]
mod corpus;

use std::time::Duration;

use chrono::TimeDelta;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mcptop::model::Model;
use mcptop::time::Time;
use mcptop::wire::decode_event;

const FRAMES: usize = 100_000;

fn churn() -> Vec<String> {
    let mut out = Vec::with_capacity(FRAMES);
    let mut event = String::new();
    for n in 0..FRAMES {
        event.clear();
        corpus::progress_event(&mut event, n, "\n");
        let data = event
            .lines()
            .find_map(|l| l.strip_prefix("data: "))
            .expect("a data line");
        out.push(data.to_owned());
    }
    out
}

fn ingest(c: &mut Criterion) {
    let t0 = Time::from_unix_nanos(1_776_420_000_000_000_000); // 2026-04-17T10:00:00Z
    let mut group = c.benchmark_group("model_ingest");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(FRAMES as u64));
    for (name, payloads) in [
        ("steady", corpus::steady_payloads(FRAMES)),
        ("churn", churn()),
    ] {
        let ids: Vec<String> = (1..=FRAMES).map(|n| n.to_string()).collect();
        // The baseline: what a straightforward client does, a generic JSON value per frame.
        group.bench_function(format!("{name}/serde_json_value"), |b| {
            b.iter(|| {
                for data in &payloads {
                    std::hint::black_box(serde_json::from_str::<serde_json::Value>(data).ok());
                }
            })
        });
        group.bench_function(format!("{name}/decode_only"), |b| {
            b.iter(|| {
                for (data, id) in payloads.iter().zip(&ids) {
                    std::hint::black_box(decode_event("message", data, id));
                }
            })
        });
        group.bench_function(format!("{name}/decode_and_apply"), |b| {
            b.iter(|| {
                let mut model = Model::default();
                for (n, (data, id)) in payloads.iter().zip(&ids).enumerate() {
                    let at = t0 + TimeDelta::microseconds(n as i64 * 50);
                    model.apply(decode_event("message", data, id), at, id);
                }
                std::hint::black_box(model.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);
