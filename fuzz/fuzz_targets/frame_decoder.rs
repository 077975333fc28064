//! The frame decoder: its fast path for flat objects against the general serde path (they
//! must agree on every input), and no panic on anything.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcptop::wire::{decode_event, decode_event_general};

fuzz_target!(|input: &[u8]| {
    let Some((&pick, rest)) = input.split_first() else {
        return;
    };
    let Ok(data) = std::str::from_utf8(rest) else {
        return;
    };
    let event_type = ["message", "call", "lagged", "connected", "progress"][usize::from(pick % 5)];
    let fast = decode_event(event_type, data, "7");
    let general = decode_event_general(event_type, data, "7");
    assert_eq!(fast, general, "fast and general paths disagree on {data:?}");
    let _ = fast.into_owned();
});
