//! SSE events and WebSocket text messages → typed frames.
//!
//! Knows every shape mcptop meets on the wire (PROTOCOL.md §1.3, §1.5, §2, §4): Construct's
//! ProgressEvent, JSON-RPC `notifications/progress` and `notifications/cancelled`,
//! responses, tagged envelopes, `lagged`, `connected`, the `call` lifecycle extension,
//! error frames and priming events. Anything else decodes to [`Frame::Unknown`], which the
//! model counts and otherwise ignores: an odd frame never stops a stream.

mod decode;
mod flat;
mod frame;
pub mod schema;

pub use decode::{decode_event, decode_event_general, decode_text, parse_timestamp};
pub use frame::{
    CallFrame, CallState, Frame, ProgressFrame, ResponseFrame, ServerFrame, Token, Unknown, Wait,
};
