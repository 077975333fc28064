//! Decodes and applies the progress payloads of a corpus file (one SSE stream) to the model,
//! for profiling: `valgrind --tool=callgrind target/release/examples/ingest_profile FILE`.

use chrono::TimeDelta;
use mcptop::model::Model;
use mcptop::sse::{Decoder, Item, Limits};
use mcptop::time::Time;
use mcptop::wire::decode_event;

fn main() -> std::process::ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: ingest_profile FILE");
        return std::process::ExitCode::from(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("ingest_profile: cannot read {path}: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let t0 = Time::from_unix_nanos(1_776_420_000_000_000_000); // 2026-04-17T10:00:00Z
    let mut model = Model::default();
    let mut decoder = Decoder::new(Limits::default());
    let mut n = 0i64;
    for chunk in bytes.chunks(65536) {
        decoder.feed(chunk, &mut |item| {
            if let Item::Event(e) = item {
                n += 1;
                let at = t0 + TimeDelta::microseconds(n * 50);
                model.apply(
                    decode_event(e.event_type, e.data, e.last_event_id),
                    at,
                    e.last_event_id,
                );
            }
        });
    }
    println!("{n} events, {} calls", model.len());
    std::process::ExitCode::SUCCESS
}
