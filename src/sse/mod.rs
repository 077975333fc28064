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
