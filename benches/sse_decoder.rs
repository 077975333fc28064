//! SSE decoding throughput: mcptop's decoder against sse-stream 0.3 on the same bytes in the
//! same run, and a memchr2 line scan as the floor no line-based parser can beat.
//!
//! `cargo bench --bench sse_decoder` (all corpora and chunk sizes), or filter, e.g.
//! `cargo bench --bench sse_decoder -- a_progress_lf/65536`. `MCPTOP_BENCH_SCALE=0.1`
//! shrinks every corpus to a tenth for a quick look.

#[path = "support/corpus.rs"]
mod corpus;

use std::time::Duration;

use bytes::Bytes;
use corpus::Corpus;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use futures::StreamExt;
use mcptop::sse::{Decoder, Item, Limits};

const CHUNKS: [usize; 3] = [16, 4096, 65536];

/// mcptop's decoder, the way a monitor uses it: events borrowed in the callback.
fn mcptop_count(input: &[u8], chunk: usize) -> u64 {
    let mut decoder = Decoder::new(Limits::default());
    let mut events = 0u64;
    let mut data = 0usize;
    for piece in input.chunks(chunk) {
        decoder.feed(piece, &mut |item| {
            if let Item::Event(e) = item {
                events += 1;
                data += e.data.len();
            }
        });
    }
    decoder.finish();
    std::hint::black_box(data);
    events
}

/// mcptop's decoder producing owned events (like sse-stream does), for a like-for-like view.
fn mcptop_owned(input: &[u8], chunk: usize) -> u64 {
    let mut decoder = Decoder::new(Limits::default());
    let mut events = 0u64;
    for piece in input.chunks(chunk) {
        decoder.feed(piece, &mut |item| {
            if let Item::Event(e) = item {
                events += 1;
                std::hint::black_box(e.to_owned());
            }
        });
    }
    decoder.finish();
    events
}

fn sse_stream_count(chunks: &[Bytes]) -> u64 {
    let stream = futures::stream::iter(chunks.iter().cloned().map(Ok::<Bytes, std::io::Error>));
    let mut decoder = sse_stream::SseByteStream::new(stream);
    futures::executor::block_on(async {
        let mut events = 0u64;
        while let Some(item) = decoder.next().await {
            if let Ok(sse) = item {
                if sse.data.is_some() {
                    events += 1;
                }
                std::hint::black_box(sse);
            }
        }
        events
    })
}

/// The floor: find every line end, touch nothing else.
fn memchr2_floor(input: &[u8], chunk: usize) -> u64 {
    let mut lines = 0u64;
    for piece in input.chunks(chunk) {
        lines += memchr::memchr2_iter(b'\n', b'\r', piece).count() as u64;
    }
    lines
}

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
            let chunks: Vec<Bytes> = (0..whole.len())
                .step_by(chunk)
                .map(|at| whole.slice(at..(at + chunk).min(whole.len())))
                .collect();
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
