//! Paired ratio benchmark: mcptop's decoder against sse-stream 0.3 and the memchr2 floor.
//!
//! Shared machines drift in speed from second to second, so comparing two benchmarks run
//! minutes apart says little. Here every round times each decoder back to back on the same
//! input (the order alternating between rounds) and keeps the per-round ratio; the report
//! gives the median ratio and its interquartile range over the rounds.
//!
//! `cargo bench --bench decoder_ratio` (all corpora and chunk sizes), or name corpora:
//! `cargo bench --bench decoder_ratio -- a c`. `MCPTOP_BENCH_ROUNDS` (default 15) sets the
//! rounds, `MCPTOP_BENCH_SCALE` (default 1) the corpus size.

#[path = "support/corpus.rs"]
mod corpus;

use std::time::{Duration, Instant};

#[path = "support/decoders.rs"]
mod decoders;

use bytes::Bytes;
use corpus::Corpus;
use decoders::{
    byte_chunks, mcptop_count as mcptop, memchr2_floor as floor, sse_stream_count as sse_stream,
};

fn time(f: impl FnOnce() -> u64) -> Duration {
    let start = Instant::now();
    std::hint::black_box(f());
    start.elapsed()
}

fn quartiles(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    (at(0.25), at(0.5), at(0.75))
}

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let rounds: usize = env("MCPTOP_BENCH_ROUNDS", 15).max(3);
    let scale: f64 = env("MCPTOP_BENCH_SCALE", 1.0);
    let wanted: Vec<Corpus> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .filter_map(|a| Corpus::parse(&a))
        .collect();
    let corpora = if wanted.is_empty() {
        Corpus::ALL.to_vec()
    } else {
        wanted
    };
    println!("| corpus | chunk | mcptop M events/s | sse-stream M events/s | mcptop ÷ sse-stream (median, IQR) | mcptop ÷ memchr2 floor |");
    println!("|---|---:|---:|---:|---:|---:|");
    for corpus in corpora {
        let events = ((corpus.default_events() as f64 * scale) as usize).max(1);
        let input = corpus.generate(events);
        let whole = Bytes::from(input.clone());
        for chunk in [16usize, 4096, 65536] {
            let chunks = byte_chunks(&whole, chunk);
            assert_eq!(mcptop(&input, chunk), events as u64);
            assert_eq!(sse_stream(&chunks), events as u64);
            let (mut vs_theirs, mut vs_floor, mut ours_t, mut theirs_t) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for round in 0..rounds {
                let (ours, theirs) = if round % 2 == 0 {
                    let o = time(|| mcptop(&input, chunk));
                    (o, time(|| sse_stream(&chunks)))
                } else {
                    let t = time(|| sse_stream(&chunks));
                    (time(|| mcptop(&input, chunk)), t)
                };
                let base = time(|| floor(&input, chunk));
                vs_theirs.push(theirs.as_secs_f64() / ours.as_secs_f64());
                vs_floor.push(base.as_secs_f64() / ours.as_secs_f64());
                ours_t.push(events as f64 / ours.as_secs_f64() / 1e6);
                theirs_t.push(events as f64 / theirs.as_secs_f64() / 1e6);
            }
            let (q1, median, q3) = quartiles(vs_theirs);
            let (_, floor_ratio, _) = quartiles(vs_floor);
            let (_, ours_rate, _) = quartiles(ours_t);
            let (_, theirs_rate, _) = quartiles(theirs_t);
            println!(
                "| {} | {chunk} | {ours_rate:.3} | {theirs_rate:.3} | {median:.2}× ({q1:.2}–{q3:.2}) | {floor_ratio:.2} |",
                corpus.name()
            );
        }
    }
}
