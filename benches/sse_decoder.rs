//! SSE decoding throughput: mcptop's decoder against sse-stream 0.3 on the same bytes in the
//! same run, and a memchr2 line scan as the floor no line-based parser can beat.
//!
//! `cargo bench --bench sse_decoder` (all corpora and chunk sizes), or filter, e.g.
//! `cargo bench --bench sse_decoder -- a_progress_lf/65536`. `MCPTOP_BENCH_SCALE=0.1`
//! shrinks every corpus to a tenth for a quick look.

#[path = "support/corpus.rs"]
mod corpus;

use std::time::Duration;

#[path = "support/decoders.rs"]
mod decoders;

use bytes::Bytes;
use corpus::Corpus;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use decoders::{byte_chunks, mcptop_count, mcptop_owned, memchr2_floor, sse_stream_count};

const CHUNKS: [usize; 3] = [16, 4096, 65536];

fn scale() -> f64 {
    std::env::var("MCPTOP_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0)
}

fn decoders(c: &mut Criterion) {
    for corpus in Corpus::ALL {
        let events = ((corpus.default_events() as f64 * scale()) as usize).max(1);
        let input = corpus.generate(events);
        let whole = Bytes::from(input.clone());
        let mut group = c.benchmark_group(corpus.name());
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3))
            .throughput(Throughput::Elements(events as u64));
        for chunk in CHUNKS {
            let chunks = byte_chunks(&whole, chunk);
            assert_eq!(mcptop_count(&input, chunk), events as u64);
            assert_eq!(sse_stream_count(&chunks), events as u64);
            group.bench_with_input(BenchmarkId::new("mcptop", chunk), &chunk, |b, &chunk| {
                b.iter(|| mcptop_count(&input, chunk))
            });
            group.bench_with_input(
                BenchmarkId::new("mcptop_owned", chunk),
                &chunk,
                |b, &chunk| b.iter(|| mcptop_owned(&input, chunk)),
            );
            group.bench_with_input(
                BenchmarkId::new("sse_stream", chunk),
                &chunks,
                |b, chunks| b.iter(|| sse_stream_count(chunks)),
            );
            group.bench_with_input(
                BenchmarkId::new("memchr2_floor", chunk),
                &chunk,
                |b, &chunk| b.iter(|| memchr2_floor(&input, chunk)),
            );
        }
        group.finish();
    }
}

criterion_group!(benches, decoders);
criterion_main!(benches);
