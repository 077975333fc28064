//! The decoders the benchmarks compare, driven the same way in every benchmark.
#![allow(dead_code)]

use bytes::Bytes;
use futures::StreamExt;
use mcptop::sse::{Decoder, Item, Limits};

/// Splits `input` into `Bytes` chunks of `chunk` bytes without copying.
pub fn byte_chunks(whole: &Bytes, chunk: usize) -> Vec<Bytes> {
    (0..whole.len())
        .step_by(chunk)
        .map(|at| whole.slice(at..(at + chunk).min(whole.len())))
        .collect()
}

/// mcptop's decoder, the way a monitor uses it: events borrowed in the callback.
pub fn mcptop_count(input: &[u8], chunk: usize) -> u64 {
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
pub fn mcptop_owned(input: &[u8], chunk: usize) -> u64 {
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

pub fn sse_stream_count(chunks: &[Bytes]) -> u64 {
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
pub fn memchr2_floor(input: &[u8], chunk: usize) -> u64 {
    let mut lines = 0u64;
    for piece in input.chunks(chunk) {
        lines += memchr::memchr2_iter(b'\n', b'\r', piece).count() as u64;
    }
    lines
}
