//! `mcptop export`: a recorded session in another shape.
//!
//! - [`otlp`]: every call a span of the MCP semantic conventions, for the team's collector;
//! - [`document`]: the session as one JSON document (a stable, documented contract);
//! - [`html`]: that document as one self-contained page (no network) to attach anywhere;
//! - [`har`]: every call as an HTTP archive entry, for the tools that read HAR.

pub mod document;
pub mod har;
pub mod html;
pub mod otlp;

pub use otlp::{spans, Replayed};
