//! Bytes to server-sent events, and back.
//!
//! [`Decoder`] implements the WHATWG event-stream interpretation exactly and incrementally;
//! [`encode`] writes the format. Neither touches a socket or a clock.

mod decoder;
pub mod encode;
mod scan;

pub use decoder::{
    decode_all, Decoder, DropReason, Dropped, Event, EventRef, Item, Limits, OwnedItem, Stats,
    DEFAULT_MAX_BYTES,
};
