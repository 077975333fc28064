//! The tap's observer: any JSON-RPC traffic in either direction, batches and garbage
//! included, is observed without a panic, and a message it rewrites is still JSON.
#![no_main]

use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use mcptop::tap::observe::{Direction, Observer, Pass};
use mcptop::time::Time;

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let mut observer = Observer::new(true);
    let mut items = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        let direction = if i % 2 == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let verdict = observer.observe(direction, "", line, (Instant::now(), Time::now()), &mut items);
        if let Pass::Replace(new) = verdict {
            assert!(serde_json::from_str::<serde_json::Value>(&new).is_ok(), "{new}");
        }
    }
    observer.abandon_all("end", (Instant::now(), Time::now()), &mut items);
});
