//! The I/O edge of the client: finding the daemon, choosing a session, and turning a
//! live connection (SSE or WebSocket, with reconnect and resume) or a recording into one
//! stream of timestamped [`SourceEvent`]s. Everything downstream (the model, `tail`, the
//! TUI) reads that stream and never touches a socket.

pub mod connect;
pub mod discover;
mod link;
mod mcp;
pub mod replay;
pub mod select;
mod sse;
mod ws;

pub use crate::event::{now_us, LinkStatus, SourceEvent, Stop, Timed, Transport};
