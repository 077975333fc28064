//! The library's cores without a process: the SSE decoder against the specification and a
//! reference, frames and their properties, the model on NDJSON fixtures, `tail`'s output,
//! and every screen on ratatui's TestBackend. One test binary, so the dependencies are
//! linked once.

#[path = "../common/mod.rs"]
mod common;

mod hostile_props;
mod layers;
mod model_fixtures;
mod report_json;
mod sse_props;
mod sse_spec;
mod tui_screens;
mod wire_frames;
mod wire_props;
