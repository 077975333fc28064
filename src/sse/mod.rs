//! Bytes to server-sent events, and back.
//!
//! [`Decoder`] implements the WHATWG event-stream interpretation exactly and incrementally;
//! [`encode`] writes the format. Neither touches a socket or a clock.
//!
//! ```
//! use mcptop::sse::{Decoder, Item, Limits};
//!
//! let mut decoder = Decoder::new(Limits::default());
//! let mut seen = Vec::new();
//! // Any chunking gives the same events: here a CRLF is split across two chunks.
//! for chunk in [&b"id: 7\r\ndata: {\"progress\":1}\r"[..], b"\n\r\n: keep-alive\n"] {
//!     decoder.feed(chunk, &mut |item| {
//!         if let Item::Event(e) = item {
//!             seen.push((e.event_type.to_owned(), e.last_event_id.to_owned(), e.data.to_owned()));
//!         }
//!     });
//! }
//! assert!(!decoder.finish()); // nothing was cut off
//! assert_eq!(seen, [("message".into(), "7".into(), "{\"progress\":1}".into())]);
//! assert_eq!(decoder.last_event_id(), "7");
//! ```

mod decoder;
pub mod encode;
pub(crate) mod scan;

pub use decoder::{
    decode_all, Decoder, DropReason, Dropped, Event, EventRef, Item, Limits, OwnedItem, Stats,
    DEFAULT_MAX_BYTES,
};

/// What a dropped event was, in words.
pub fn discard_reason(dropped: &Dropped) -> String {
    let limit = human_bytes(dropped.limit);
    match dropped.reason {
        DropReason::LineTooLong => format!("an event with a line over {limit}"),
        DropReason::EventTooLarge => format!("an event with over {limit} of data"),
    }
}

/// 16777216 → "16 MiB", 1536 → "1.5 KiB", 100 → "100 bytes".
pub fn human_bytes(n: usize) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value.fract() == 0.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
