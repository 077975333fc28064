//! mcptop: a live monitor for MCP tool calls.
//!
//! Data flows one way: bytes ([`sse`]) become typed frames ([`wire`]), frames update the
//! state of every call ([`model`]). Nothing here touches a terminal; the parser and the
//! model never touch a socket or a clock.

pub mod baseline;
pub mod check;
pub mod config;
pub mod diff;
pub mod discovery;
pub mod endpoint;
pub mod event;
pub mod export;
pub mod feed;
pub mod hook;
pub mod hostcheck;
pub mod model;
pub mod otel;
pub mod pipe;
pub mod playback;
pub mod recording;
pub mod redact;
pub mod report;
pub mod sanitize;
pub mod server;
pub mod setup;
pub mod source;
pub mod sse;
pub mod tap;
pub mod time;
pub mod ui;
pub mod wire;
