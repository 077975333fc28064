//! The command line: clap definitions only. `main.rs` wires commands to their code.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "mcptop",
    version,
    about = "A live monitor for MCP tool calls: progress, rate, ETA, stalls and lag",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decode a server-sent event stream and print each event as one JSON line.
    ///
    /// Reads FILE, or standard input when FILE is missing or `-`, e.g.
    /// `curl -N http://127.0.0.1:54500/session/ID/events -H "Authorization: Bearer …" | mcptop sse-dump`.
    /// Prints `{"type":…,"data":…,"id":…}` per event (`id` is the last event id in force,
    /// "" if none) and `{"retry":N}` where a retry field is accepted. Warnings (dropped
    /// events, a stream cut mid-event) go to standard error.
    SseDump(SseDumpArgs),
}

#[derive(Debug, clap::Args)]
pub struct SseDumpArgs {
    /// The stream to decode; standard input when missing or `-`.
    pub file: Option<PathBuf>,

    /// Feed the decoder N bytes at a time (the result must not depend on it).
    #[arg(long, value_name = "N", default_value_t = 65536, value_parser = clap::value_parser!(u64).range(1..=1 << 30))]
    pub chunk: u64,

    /// Print only a one-line summary: events, data bytes, elapsed time, events/s.
    #[arg(long)]
    pub count: bool,

    /// Drop (and report) any line or event larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = mcptop::sse::DEFAULT_MAX_BYTES as u64, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_bytes: u64,
}
