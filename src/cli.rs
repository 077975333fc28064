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

    /// Run the embedded daemon: sessions, their events over SSE and WebSocket, and an
    /// MCP endpoint whose tools report progress.
    ///
    /// Speaks Construct's routes (`/health`, `POST /session`, `/session/ID/events`,
    /// `/mcp` with `X-Construct-Session`, `/ws/mcp/events`) and standard MCP Streamable
    /// HTTP on `/mcp`. Prints the address it listens on, writes a discovery file
    /// (mode 0600, with an admin token that opens every session) and removes it on
    /// Ctrl-C or SIGTERM.
    Serve(ServeArgs),
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on. Anything but loopback exposes every session to the network.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,

    /// Port to listen on; 0 picks a free one (the address is printed and written to the
    /// discovery file).
    #[arg(long, default_value_t = 0)]
    pub port: u16,

    /// Seconds without an event before a keep-alive comment is sent.
    #[arg(long, value_name = "SECS", default_value_t = 15.0, value_parser = parse_positive_secs)]
    pub keepalive: f64,

    /// Events a subscriber may fall behind before it loses some (and is told so).
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub broadcast_capacity: u64,

    /// Events per session kept to answer `Last-Event-ID` (0 keeps none).
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(0..=10_000_000))]
    pub replay_ring: u64,

    /// `construct` speaks exactly Construct's framing: no ids, no lag or call events,
    /// silent loss, Construct's dialect only on /mcp.
    #[arg(long, value_enum, default_value_t = mcptop::server::Compat::Mcptop)]
    pub compat: mcptop::server::Compat,

    /// Require this gateway token on the WebSocket route (header, `bearer.` subprotocol
    /// or `?token=`).
    #[arg(long, env = "MCPTOP_GATEWAY_TOKEN", hide_env_values = true)]
    pub gateway_token: Option<String>,

    /// Where to write the discovery file [default: ~/.mcptop/mcp.json].
    #[arg(long, value_name = "PATH", conflicts_with = "no_discovery")]
    pub discovery_file: Option<PathBuf>,

    /// Write no discovery file.
    #[arg(long)]
    pub no_discovery: bool,

    /// Run simulated agents calling the tools, in a session of their own.
    #[arg(long)]
    pub workload: bool,

    /// Concurrent simulated agents of --workload.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub agents: u64,

    /// Speed of --workload: 1 is a human pace, 10 ten times faster.
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0, value_parser = parse_positive_secs)]
    pub pace: f64,

    /// Leave out the bursts that overflow slow subscribers.
    #[arg(long)]
    pub no_bursts: bool,

    /// Publish a recording (or a raw SSE capture) into a session as if it were live.
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,

    /// Replay speed: a factor (0.5, 2, 10x) or `max`.
    #[arg(long, value_name = "X|max", default_value = "1", requires = "replay")]
    pub speed: mcptop::server::replay::Speed,

    /// Label of the workload or replay session.
    #[arg(long, value_name = "LABEL")]
    pub label: Option<String>,
}

fn parse_positive_secs(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("{s:?} is not a positive number")),
    }
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
