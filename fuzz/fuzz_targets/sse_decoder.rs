//! The SSE decoder against the deliberately simple reference decoder of the tests, on
//! every input and under a chunking the input chooses; and, with small caps, no panic and
//! no buffer past the cap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcptop::sse::{Decoder, Limits, OwnedItem};

#[path = "../../tests/common/reference.rs"]
mod reference;

fuzz_target!(|input: &[u8]| {
    let Some((&seed, stream)) = input.split_first() else {
        return;
    };
    // Chunk sizes from the seed: 1..=16 bytes, cycling through a few sizes.
    let sizes = [1 + (seed & 0x0f) as usize, 1 + (seed >> 4) as usize, 7, 64];
    let mut decoder = Decoder::new(Limits::default());
    let mut got: Vec<OwnedItem> = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < stream.len() {
        let end = (at + sizes[i % sizes.len()]).min(stream.len());
        decoder.feed_collect(&stream[at..end], &mut got);
        at = end;
        i += 1;
    }
    decoder.finish();
    let expected = reference::reference_decode(stream);
    assert_eq!(got, expected, "the decoder and the reference disagree");

    // Small caps: whatever the input, nothing panics and nothing outgrows the caps.
    let limits = Limits {
        max_line_bytes: 1 + usize::from(seed % 32),
        max_event_bytes: 1 + usize::from(seed % 48),
    };
    let mut capped = Decoder::new(limits);
    for chunk in stream.chunks(sizes[0]) {
        capped.feed(chunk, &mut |_| {});
        assert!(
            capped.buffered_bytes() <= limits.max_buffered(),
            "the decoder holds {} bytes past caps {limits:?}: {capped:?}",
            capped.buffered_bytes()
        );
    }
    capped.finish();
});
