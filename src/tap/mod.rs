//! Taps: mcptop in the pipe between an agent and an MCP server (`mcptop wrap` for stdio
//! servers, `mcptop proxy` for Streamable HTTP ones), publishing every tool call it sees
//! into a session of the local daemon so the monitor shows it live.

pub mod observe;
pub mod proxy;
pub mod publish;
pub mod relay;
pub mod wrap;

pub(crate) use publish::start_daemon;
