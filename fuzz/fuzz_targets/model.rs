//! The model and its outputs: any sequence of events (any type, id and data) goes through
//! the feed, the line formats and the summary without a panic, and what the model holds
//! stays within its byte bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcptop::report::{plain_line, summary, Feed};
use mcptop::source::{SourceEvent, Timed};
use mcptop::time::Time;

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let mut feed = Feed::default();
    let mut out = Vec::new();
    let types = ["message", "call", "lagged", "connected", "error"];
    for (i, line) in text.split('\n').enumerate() {
        let (id, data) = line.split_once(' ').unwrap_or(("", line));
        let at = Time::from_unix_nanos(1_800_000_000_000_000_000 + i as i64 * 1_000_003);
        let timed = Timed {
            at,
            event: SourceEvent::Event {
                event_type: types[i % types.len()].into(),
                data: data.into(),
                id: id.into(),
            },
        };
        for update in feed.ingest(&timed) {
            let _ = plain_line(&update);
        }
        out.clear();
        feed.ingest_json_lines(&timed, &mut out);
    }
    let _ = summary(&feed.model, Time::from_unix_nanos(i64::MAX));
    assert!(feed.model.text_bytes() < 64 << 20);
});
