//! SSE events and WebSocket text messages → typed frames.
//!
//! Knows every shape mcptop meets on the wire (PROTOCOL.md §1.3, §1.5, §2, §4): Construct's
//! ProgressEvent, JSON-RPC `notifications/progress` and `notifications/cancelled`,
//! responses, tagged envelopes, `lagged`, `connected`, the `call` lifecycle extension,
//! error frames and priming events. Anything else decodes to [`Frame::Unknown`], which the
//! model counts and otherwise ignores: an odd frame never stops a stream.
//!
//! The layers, leaves first: `words` (the shared small values), `fields` (every key the
//! decoder knows, declared once), `schema` (what producers write) and `frame` (what the
//! decoder gives), then `flat` (the fast scan) and `decode`.

mod decode;
mod fields;
mod flat;
mod frame;
pub mod schema;
mod words;

pub use decode::{decode_event, decode_event_general, decode_text, parse_timestamp};
pub use fields::CallExtras;
pub use frame::{CallFrame, Frame, ProgressFrame, ResponseFrame, ServerFrame, Unknown};
pub use words::lenient as words_lenient;
pub use words::{CallState, Origin, TaskStatus, Token, Wait, Word};

/// Every key the decoder knows, with its name on the wire (for tests).
#[doc(hidden)]
pub fn field_names() -> impl Iterator<Item = &'static str> {
    fields::Field::ALL.iter().map(|&(name, _)| name)
}
