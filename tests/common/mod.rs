//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod collector;
pub mod fixture;
pub mod process;
pub mod reference;
pub mod squatter;
pub mod watch;

use mcptop::sse::{Decoder, Limits, OwnedItem};

/// Cases per property test: the default given, or `PROPTEST_CASES` for a longer run.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Feeds `input` split at the given cut points, then finishes.
pub fn decode_split(input: &[u8], cuts: &[usize], limits: Limits) -> Vec<OwnedItem> {
    let mut decoder = Decoder::new(limits);
    let mut out = Vec::new();
    let mut start = 0;
    for &cut in cuts {
        let cut = cut.clamp(start, input.len());
        decoder.feed_collect(&input[start..cut], &mut out);
        start = cut;
    }
    decoder.feed_collect(&input[start..], &mut out);
    decoder.finish();
    out
}

/// Feeds `input` in chunks of `size` bytes.
pub fn decode_chunked(input: &[u8], size: usize, limits: Limits) -> Vec<OwnedItem> {
    let cuts: Vec<usize> = (1..=input.len() / size.max(1))
        .map(|k| k * size.max(1))
        .collect();
    decode_split(input, &cuts, limits)
}

/// The items of `input` under every chunking this helper knows: whole, each single cut,
/// one byte at a time, and a few fixed sizes. Panics with the chunking that disagrees.
pub fn decode_every_way(input: &[u8], limits: Limits) -> Vec<OwnedItem> {
    let whole = decode_split(input, &[], limits);
    for cut in 0..=input.len() {
        let got = decode_split(input, &[cut], limits);
        assert_eq!(got, whole, "cut at {cut} differs for {input:?}");
    }
    for size in [1, 2, 3, 5, 7, 64] {
        let got = decode_chunked(input, size, limits);
        assert_eq!(got, whole, "chunks of {size} differ for {input:?}");
    }
    whole
}
