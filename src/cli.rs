//! The command line: clap definitions only. `main.rs` wires commands to their code.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "mcptop",
    version,
    about = "A live monitor for MCP tool calls: progress, rate, ETA, stalls and lag",
    propagate_version = true,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// With no command: watch a session live in the terminal (the options of `tail`;
    /// when standard output is not a terminal it prints like `tail --plain`).
    #[command(flatten)]
    pub watch: TailArgs,

    #[command(flatten)]
    pub screen: ScreenArgs,

    /// Write a log (what mcptop did and why, never a token) to FILE, appending; the level
    /// comes from $RUST_LOG (default `info`). Never written to the monitor's screen.
    #[arg(long, value_name = "FILE", global = true)]
    pub log: Option<PathBuf>,
}

/// How the monitor draws.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "The screen (the monitor)")]
pub struct ScreenArgs {
    /// The most frames drawn per second (it draws only when something changed) [default:
    /// the config file's, else 20].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=120))]
    pub fps: Option<u32>,

    /// ASCII glyphs and bars, for terminals or fonts without them.
    #[arg(long)]
    pub ascii: bool,

    /// Colours for a dark or light background (auto: from $COLORFGBG, else the
    /// terminal's own palette). NO_COLOR turns colours off.
    /// [default: the config file's, else auto]
    #[arg(long, value_enum)]
    pub theme: Option<mcptop::ui::theme::Background>,

    /// Capture the mouse: the wheel moves the selection (the terminal's own selection
    /// and copy then need Shift).
    #[arg(long)]
    pub mouse: bool,

    /// The config file [default: $XDG_CONFIG_HOME/mcptop/config.toml, when it exists];
    /// `mcptop config --default` prints one with every default.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

impl ScreenArgs {
    /// The config file in force, read and checked; `None` when there is none.
    pub fn settings(&self) -> anyhow::Result<Option<mcptop::ui::config::Settings>> {
        let (path, explicit) = match &self.config {
            Some(path) => (Some(path.clone()), true),
            None => (mcptop::ui::config::default_path(), false),
        };
        match path {
            Some(path) => Ok(mcptop::ui::config::load(&path, explicit)?),
            None => Ok(None),
        }
    }

    /// How the monitor draws: the flags, then the config file, then the defaults.
    pub fn options_with(
        &self,
        settings: Option<&mcptop::ui::config::Settings>,
    ) -> mcptop::ui::Options {
        mcptop::ui::Options {
            fps: self.fps.or(settings.and_then(|s| s.fps)).unwrap_or(20),
            ascii: self.ascii || settings.and_then(|s| s.ascii).unwrap_or(false),
            background: self
                .theme
                .or(settings.and_then(|s| s.background))
                .unwrap_or_default(),
            mouse: self.mouse || settings.and_then(|s| s.mouse).unwrap_or(false),
            quit_after: None,
            quit_after_updates: None,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Wire an agent to mcptop: wrap its MCP servers, and with --hooks install Claude
    /// Code's hook.
    ///
    /// Wraps every stdio MCP server of a coding agent's configuration with `mcptop wrap`
    /// (claude-code, claude-desktop, cursor, vscode, codex, gemini), and with `--hooks`
    /// installs `mcptop hook` as Claude Code's hook. With no agent: what each agent's
    /// configuration holds. `--undo` takes it out.
    Setup(SetupArgs),

    /// A daemon, simulated agents and the live monitor, in one command (q quits).
    ///
    /// The whole thing in one command: a daemon, simulated agents calling its tools, and
    /// the live monitor watching them.
    Demo(DemoArgs),

    /// Claude Code's hook: its built-in tools and permission prompts on the monitor.
    ///
    /// Claude Code runs it with each hook event's JSON on standard input; install it with
    /// `mcptop setup claude-code --hooks`. It shows every tool call of the agent (Bash,
    /// Read, Edit, …) on the monitor, writes nothing to standard output, never delays the
    /// agent and always exits 0 (trouble goes to ~/.mcptop/hook.log).
    Hook(HookArgs),

    /// Run a stdio MCP server with mcptop in its pipes, so the monitor shows its calls.
    ///
    /// Put it in front of the server's command in the agent's configuration: `"command":
    /// "mcptop", "args": ["wrap", "--", "npx", "-y", "some-server"]`. Messages pass through
    /// unchanged (stderr, exit code and signals too); every `tools/call` is published into
    /// a session of the local mcptop daemon, which is started in the background when none
    /// is running. Watch with `mcptop`.
    Wrap(WrapArgs),

    /// Put mcptop in front of an HTTP MCP server, so the monitor shows its calls.
    ///
    /// Point the agent at the address it prints instead of the server's.
    ///
    /// Requests, responses and event streams pass through unchanged (headers included;
    /// tokens are never logged); every `tools/call` is published like `wrap` does.
    Proxy(ProxyArgs),

    /// Follow the calls as lines, for pipes, scripts and CI.
    ///
    /// Finds the daemon (--url, $MCPTOP_URL, --discovery, ~/.mcptop/mcp.json,
    /// ~/.construct/mcp.json, ~/.revka/mcp.json), attaches to the named (or labelled)
    /// session, or else to every session of an mcptop daemon (those created later too), and
    /// reconnects on its own, resuming where it left off.
    ///
    /// Exit status: 0 done (--count, --for, Ctrl-C), 1 error, 2 bad arguments, 3 no daemon
    /// found, 4 token rejected, 5 session no longer exists, 6 gave up (--max-retries).
    Tail(TailArgs),

    /// Play a recording (or a raw SSE capture) through the same pipeline as `tail`.
    Replay(ReplayArgs),

    /// Assertions about a recording, for CI: exit 1 with one line per violation.
    ///
    /// Reads a recording (or a raw SSE capture): exit 0 when all assertions hold, 1 with
    /// one line per violation otherwise.
    Check(CheckArgs),

    /// Print the tools a recorded session's servers offered, as a baseline for `check
    /// --baseline`.
    ///
    /// JSON on standard output: per server, each tool with its definition's fingerprint
    /// (SHA-256 of its whole `tools/list` entry, as the taps saw it). Review it, keep it
    /// in the repository, and `mcptop check REC --baseline tools.json` fails when a
    /// server's tools change.
    Baseline(BaselineArgs),

    /// What changed between two recorded sessions: tools and their speed and failures.
    ///
    /// The servers' tools added, removed or redefined; per tool, calls, failures and
    /// p50/p95 durations before (A) and after (B), `▲` where it regressed (a higher
    /// failure rate, or a p50/p95 slower by more than --threshold and 50 ms).
    ///
    /// Exit status: 0 nothing regressed or changed, 1 something did, 2 bad arguments or an
    /// unreadable recording.
    Diff(DiffArgs),

    /// A recorded session as a report to share (html, har, json) or as spans for the
    /// team's OpenTelemetry collector (otlp).
    ///
    /// Reads a recording (or a raw SSE capture; or, with --live 5m, what the running daemon
    /// sends for five minutes) and plays it through the monitor's model. html: one page that works offline, to attach to a bug report or a pull request:
    /// the findings, the per-tool figures, a zoomable waterfall of every call and each
    /// call's detail (arguments, result, progress curve, messages). har: every call as an
    /// HTTP Archive entry. json: the same session as a documented JSON document. otlp:
    /// every call a span of the MCP semantic conventions (progress, waits and findings as
    /// span events), as `serve --otlp-endpoint` does live; a call still running at the
    /// recording's end is sent ended there, as lost; the collector: --otlp-endpoint, else
    /// `[otlp] export` in the config file, else OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT.
    ///
    /// Exit status: 0 written (or every span sent), 1 the collector could not take them,
    /// 2 bad arguments or an unreadable recording.
    Export(ExportArgs),

    /// Run the daemon: sessions, their event streams, and an MCP endpoint.
    ///
    /// Speaks Construct's routes (`/health`, `POST /session`, `/session/ID/events`, `/mcp`
    /// with `X-Construct-Session`, `/ws/mcp/events`) and standard MCP Streamable HTTP on
    /// `/mcp`. Prints the address it listens on, writes a discovery file (mode 0600, with
    /// an admin token that opens every session) and removes it on Ctrl-C or SIGTERM.
    Serve(ServeArgs),

    /// List the daemon's sessions (with its admin token, from its discovery file).
    Sessions(SessionsArgs),

    /// Manage sessions.
    #[command(subcommand)]
    Session(SessionCommand),

    /// Decode a server-sent event stream: one JSON line per event.
    ///
    /// Reads FILE, or standard input when FILE is missing or `-`, e.g. `curl -N
    /// http://127.0.0.1:54500/session/ID/events -H "Authorization: Bearer …" | mcptop
    /// sse-dump`. Prints `{"type":…,"data":…,"id":…}` per event (`id` is the last event id
    /// in force, "" if none) and `{"retry":N}` where a retry field is accepted. Warnings
    /// (dropped events, a stream cut mid-event) go to standard error.
    SseDump(SseDumpArgs),

    /// Print a shell completion script.
    ///
    /// `mcptop completions bash > ~/.local/share/bash-completion/completions/mcptop`.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },

    /// Print the man page (roff).
    ///
    /// `mcptop man > ~/.local/share/man/man1/mcptop.1`.
    Man,

    /// Check the config file in force; --default prints one with every setting.
    ///
    /// Says where the config file in force is and whether it reads; `--default` prints one
    /// with every setting at its default, commented.
    Config {
        /// Print a config file with every default instead.
        #[arg(long)]
        default: bool,
        /// The config file to check [default: $XDG_CONFIG_HOME/mcptop/config.toml].
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
    },
}

/// Where and how a tap publishes what it sees.
#[derive(Debug, Clone, clap::Args)]
pub struct TapArgs {
    /// The session's label in the monitor [default: the server's name and version].
    #[arg(long, value_name = "LABEL")]
    pub label: Option<String>,

    /// Ask for progress on calls that carry no progress token (the notifications this
    /// brings are kept from the agent, which did not ask for them).
    #[arg(long)]
    pub request_progress: bool,

    /// Publish to the daemon at this URL (never started by the tap).
    #[arg(long, value_name = "URL", env = "MCPTOP_URL")]
    pub url: Option<String>,

    /// The shared daemon's discovery file [default: ~/.mcptop/mcp.json].
    #[arg(long, value_name = "PATH")]
    pub discovery_file: Option<PathBuf>,

    /// Do not start a daemon when none is running (calls are then not published).
    #[arg(long)]
    pub no_start: bool,
}

#[derive(Debug, clap::Args)]
pub struct WrapArgs {
    #[command(flatten)]
    pub tap: TapArgs,

    /// The MCP server's command and its arguments (after `--`).
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct ProxyArgs {
    #[command(flatten)]
    pub tap: TapArgs,

    /// The MCP server's URL, e.g. http://127.0.0.1:3001/mcp.
    #[arg(
        long,
        value_name = "URL",
        required_unless_present = "upstream_discovery",
        conflicts_with = "upstream_discovery"
    )]
    pub upstream: Option<String>,

    /// Take the upstream from this discovery file (e.g. ~/.construct/mcp.json) and follow
    /// it when it changes: a daemon whose port changes on every restart stays reachable.
    #[arg(long, value_name = "PATH")]
    pub upstream_discovery: Option<PathBuf>,

    /// Where the proxy listens (loopback unless you mean otherwise).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
}

/// Where the daemon is.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Which daemon and session")]
pub struct DaemonArgs {
    /// The daemon's URL (its base or its /mcp URL).
    #[arg(long, env = "MCPTOP_URL", value_name = "URL")]
    pub url: Option<String>,

    /// Read only this discovery file (`--discovery` is the old spelling).
    #[arg(
        long = "discovery-file",
        alias = "discovery",
        value_name = "PATH",
        conflicts_with = "url"
    )]
    pub discovery: Option<PathBuf>,
}

/// How updates are printed.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Output (tail, and the monitor when not on a terminal)")]
pub struct OutputArgs {
    /// One JSON object per update and line (for jq).
    #[arg(long, conflicts_with = "plain")]
    pub json: bool,

    /// Readable lines (the default).
    #[arg(long)]
    pub plain: bool,

    /// Stop after N call updates.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,

    /// Print a table of every call at the end.
    #[arg(long)]
    pub summary: bool,

    /// Leave calls' arguments and result summaries (from the taps) out of --json.
    #[arg(long)]
    pub no_args: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct TailArgs {
    #[command(flatten)]
    pub daemon: DaemonArgs,

    /// The session to follow (else every session of yours on the daemon, including
    /// those created later).
    #[arg(
        help_heading = "Which daemon and session",
        long,
        env = "MCPTOP_SESSION",
        value_name = "ID"
    )]
    pub session: Option<String>,

    /// The session's token (else the daemon's admin token). Prefer $MCPTOP_TOKEN or
    /// --token-file: every local user can read a command line.
    #[arg(
        help_heading = "Which daemon and session",
        long,
        env = "MCPTOP_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,

    /// Read the session's token from this file (its first line).
    #[arg(
        help_heading = "Which daemon and session",
        long,
        value_name = "PATH",
        conflicts_with = "token"
    )]
    pub token_file: Option<PathBuf>,

    /// Follow the session with this label (exact, else a part of it).
    #[arg(
        help_heading = "Which daemon and session",
        long,
        value_name = "LABEL",
        conflicts_with = "session"
    )]
    pub session_label: Option<String>,

    /// Also show anonymous sessions: those made without the admin token, which any local
    /// user can create (by default only the owner's sessions show).
    #[arg(help_heading = "Which daemon and session", long)]
    pub include_anonymous: bool,

    /// With --session: when the session dies with its daemon (a restart), make a fresh
    /// session on the new daemon and follow it (Construct's open `POST /session`).
    #[arg(help_heading = "Which daemon and session", long, requires = "session")]
    pub new_session: bool,

    /// `tail`: when no daemon runs, wait for one instead of exiting with status 3.
    #[arg(
        help_heading = "Which daemon and session",
        long,
        conflicts_with = "no_wait"
    )]
    pub wait: bool,

    /// The monitor: when no daemon runs, exit with status 3 at once instead of waiting
    /// for one.
    #[arg(help_heading = "Which daemon and session", long)]
    pub no_wait: bool,

    /// SSE (`/session/ID/events`) or the gateway's WebSocket route.
    #[arg(help_heading = "Other servers: Construct, standard MCP", long, value_enum, default_value_t = mcptop::source::Transport::Sse)]
    pub transport: mcptop::source::Transport,

    /// Follow a standard MCP server's own stream instead (its Streamable HTTP endpoint;
    /// --token, if given, is sent as a Bearer token).
    #[arg(help_heading = "Other servers: Construct, standard MCP", long, value_name = "URL", conflicts_with_all = ["url", "discovery", "session", "session_label"])]
    pub mcp_url: Option<String>,

    /// Gateway token for the WebSocket route (prefer $MCPTOP_GATEWAY_TOKEN or
    /// --gateway-token-file).
    #[arg(
        help_heading = "Other servers: Construct, standard MCP",
        long,
        env = "MCPTOP_GATEWAY_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub gateway_token: Option<String>,

    /// Read the gateway token from this file (its first line).
    #[arg(
        help_heading = "Other servers: Construct, standard MCP",
        long,
        value_name = "PATH",
        conflicts_with = "gateway_token"
    )]
    pub gateway_token_file: Option<PathBuf>,

    /// The daemon's keep-alive interval; no byte for 2.5 times this is a dead link.
    #[arg(help_heading = "The link, time and recording", long, value_name = "SECS", default_value_t = 15.0, value_parser = parse_positive_secs)]
    pub keepalive: f64,

    /// Give up after this many failed attempts in a row (default: never).
    #[arg(help_heading = "The link, time and recording", long, value_name = "N")]
    pub max_retries: Option<u32>,

    /// Stop after this long (e.g. 30s, 5m, 1h).
    #[arg(help_heading = "The link, time and recording", long = "for", value_name = "DURATION", value_parser = parse_duration)]
    pub for_: Option<std::time::Duration>,

    /// Record everything received to FILE (no tokens are written).
    #[arg(
        help_heading = "The link, time and recording",
        long,
        value_name = "FILE"
    )]
    pub record: Option<PathBuf>,

    /// Let --record replace an existing file.
    #[arg(
        help_heading = "The link, time and recording",
        long,
        requires = "record"
    )]
    pub force: bool,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Concurrent simulated agents.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub agents: u64,

    /// Speed of the agents: 1 is a human pace, 10 ten times faster.
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0, value_parser = parse_positive_secs)]
    pub pace: f64,

    /// Leave out the bursts that overflow the monitor (and show as lag warnings).
    #[arg(long)]
    pub no_bursts: bool,

    /// Watch over SSE or over the gateway's WebSocket route.
    #[arg(long, value_enum, default_value_t = mcptop::source::Transport::Sse)]
    pub transport: mcptop::source::Transport,

    #[command(flatten)]
    pub screen: ScreenArgs,
}

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// A recording made with --record, or a raw SSE capture (e.g. from `curl -N`).
    pub file: PathBuf,

    /// Playback speed: a factor (0.5, 2, 10x) or `max`. Default: max into a pipe, real
    /// time on the screen.
    #[arg(long, value_name = "X|max")]
    pub speed: Option<mcptop::source::replay::Speed>,

    #[command(flatten)]
    pub screen: ScreenArgs,

    /// Cut quiet spells longer than this (e.g. 2s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub idle_limit: Option<std::time::Duration>,

    /// Play everything before this offset at once (e.g. 1m30s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub start_at: Option<std::time::Duration>,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, clap::Args)]
pub struct SessionsArgs {
    #[command(flatten)]
    pub daemon: DaemonArgs,

    /// One JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Create a session and print shell exports for an agent to use:
    /// `eval "$(mcptop session new --label my-agent)"`. The token is printed only
    /// when the output is not a terminal.
    New(SessionNewArgs),
}

#[derive(Debug, clap::Args)]
pub struct SessionNewArgs {
    #[command(flatten)]
    pub daemon: DaemonArgs,

    /// The session's label, as the monitor and `mcptop sessions` show it.
    #[arg(long, value_name = "LABEL")]
    pub label: Option<String>,

    /// The session's working directory (default: the daemon's home).
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<String>,
}

/// A duration as every flag and the config file take it: see [`mcptop::time::parse_duration`].
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    mcptop::time::parse_duration(s)
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
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub broadcast_capacity: u64,

    /// Events per session kept to answer `Last-Event-ID` (0 keeps none).
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(0..=10_000_000))]
    pub replay_ring: u64,

    /// `construct` speaks exactly Construct's framing: no ids, no lag or call events,
    /// silent loss, Construct's dialect only on /mcp.
    #[arg(long, value_enum, default_value_t = mcptop::server::Compat::Mcptop)]
    pub compat: mcptop::server::Compat,

    /// Serve Construct's gateway on this port (0: a free one) beside the MCP port: the
    /// WebSocket route moves there and needs a pairing token (`POST /pair` with the
    /// printed `X-Pairing-Code`), as with the real Construct daemon.
    #[arg(long, value_name = "PORT")]
    pub gateway_port: Option<u16>,

    /// Like stock Construct, the tools called through Construct's dialect publish no
    /// progress on the session stream (with `--compat construct`, the stream then
    /// carries only keep-alives).
    #[arg(long)]
    pub stock_tools: bool,

    /// The newest MCP revision /mcp speaks: 2026-07-28 (stateless, with the tasks
    /// extension, beside the sessioned revisions) or 2025-11-25 (sessions only, like a
    /// server of before 2026-07-28).
    #[arg(long, value_name = "VERSION", default_value = "2026-07-28", value_parser = ["2026-07-28", "2025-11-25"])]
    pub mcp_max_version: String,

    /// Require this gateway token on the WebSocket route (header, `bearer.` subprotocol
    /// or `?token=`).
    #[arg(long, env = "MCPTOP_GATEWAY_TOKEN", hide_env_values = true)]
    pub gateway_token: Option<String>,

    /// Read the gateway token from this file (its first line).
    #[arg(long, value_name = "PATH", conflicts_with = "gateway_token")]
    pub gateway_token_file: Option<PathBuf>,

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

    /// Replay speed: a factor (0.5, 2, 10x), or `max`: as fast as the slowest subscriber
    /// reads (no event is lost to a slow reader).
    #[arg(long, value_name = "X|max", default_value = "1", requires = "replay")]
    pub speed: mcptop::server::replay::Speed,

    /// Replay the file again and again, at the same pace, until stopped.
    #[arg(long = "loop", requires = "replay")]
    pub loop_replay: bool,

    /// Start the replay once N clients follow its session (for benchmarks: nobody misses
    /// the beginning).
    #[arg(long, value_name = "N", default_value_t = 0, requires = "replay")]
    pub wait_subscribers: u64,

    /// Label of the workload or replay session.
    #[arg(long, value_name = "LABEL")]
    pub label: Option<String>,

    /// Sessions kept in all; past it the least recently used idle one is ended.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_sessions: u64,

    /// Anonymous sessions (made without the admin token, by any local user) kept.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    pub max_anonymous_sessions: u64,

    /// An owner's session that nobody follows and nothing runs in ends after this long.
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = parse_duration)]
    pub idle_ttl: std::time::Duration,

    /// The same for an anonymous session.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    pub anonymous_idle_ttl: std::time::Duration,

    /// Bytes of events each session's replay ring keeps (e.g. 4MiB).
    #[arg(long, value_name = "BYTES", default_value = "4MiB", value_parser = parse_bytes)]
    pub ring_bytes: u64,

    /// Bytes all the session rings keep together.
    #[arg(long, value_name = "BYTES", default_value = "256MiB", value_parser = parse_bytes)]
    pub total_ring_bytes: u64,

    /// Connections served at once; past it a connection gets a 503 and is closed.
    #[arg(long, value_name = "N", default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,

    /// How long a client may take to send a request's headers.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub header_timeout: std::time::Duration,

    /// Receive agents' OpenTelemetry: OTLP/HTTP on 127.0.0.1:4318 and OTLP/gRPC on
    /// 127.0.0.1:4317 (also `[otlp] receive = true` in the config file). Their tool calls
    /// become rows; `mcptop setup AGENT --otel` points an agent here.
    #[arg(long, help_heading = "OpenTelemetry")]
    pub otlp: bool,

    /// Where to receive OTLP/HTTP (implies --otlp): `PORT`, `HOST:PORT`, or `off`.
    #[arg(long, value_name = "ADDR|off", value_parser = parse_listen, help_heading = "OpenTelemetry")]
    pub otlp_http: Option<Listen>,

    /// Where to receive OTLP/gRPC (implies --otlp): `PORT`, `HOST:PORT`, or `off`.
    #[arg(long, value_name = "ADDR|off", value_parser = parse_listen, help_heading = "OpenTelemetry")]
    pub otlp_grpc: Option<Listen>,

    /// Send every call as a span (MCP semantic conventions) to this OTLP collector
    /// (else `[otlp] export`, else OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
    /// OTEL_EXPORTER_OTLP_ENDPOINT; headers from OTEL_EXPORTER_OTLP_HEADERS).
    #[arg(long, value_name = "URL", help_heading = "OpenTelemetry")]
    pub otlp_endpoint: Option<String>,

    /// How to send spans: http/protobuf (default), http/json or grpc (else
    /// OTEL_EXPORTER_OTLP_PROTOCOL).
    #[arg(long, value_name = "PROTOCOL", help_heading = "OpenTelemetry")]
    pub otlp_protocol: Option<String>,
}

/// An address to listen on, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listen(pub Option<std::net::SocketAddr>);

/// `4318` (on 127.0.0.1), `127.0.0.1:4318`, `[::1]:4318`, or `off`.
pub fn parse_listen(s: &str) -> Result<Listen, String> {
    mcptop::config::parse_listen(s).map(Listen)
}

/// `4096`, `64KiB`, `16MiB`, `1GiB` (also `KB`, `MB`, `GB` as powers of 1,000).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let bad = || format!("invalid size {s:?}: use e.g. 65536, 64KiB, 16MiB, 1GiB");
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number.parse().map_err(|_| bad())?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kib" => 1024.0,
        "m" | "mib" => 1024.0 * 1024.0,
        "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        _ => return Err(bad()),
    };
    let bytes = value * scale;
    if !(bytes.is_finite() && (0.0..=1e15).contains(&bytes)) {
        return Err(bad());
    }
    Ok(bytes as u64)
}

fn parse_nonzero_bytes(s: &str) -> Result<u64, String> {
    match parse_bytes(s)? {
        0 => Err(format!("{s:?}: the size must be at least 1 byte")),
        n => Ok(n),
    }
}

fn parse_positive_secs(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 1e6 => Ok(v),
        _ => Err(format!("{s:?} is not a number above 0 and at most 1000000")),
    }
}

#[derive(Debug, clap::Args)]
pub struct SseDumpArgs {
    /// The stream to decode; standard input when missing or `-`.
    pub file: Option<PathBuf>,

    /// Feed the decoder N bytes at a time (the result must not depend on it).
    #[arg(long, value_name = "N", default_value_t = 65536, value_parser = clap::value_parser!(u64).range(1..=1 << 30))]
    pub chunk: u64,

    /// Print only a one-line summary: events, data bytes, elapsed time, events/s
    /// (`--count` is the old spelling).
    #[arg(long = "stats", alias = "count")]
    pub count: bool,

    /// Drop (and report) any line or event larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value = "16MiB", value_parser = parse_nonzero_bytes)]
    pub max_bytes: u64,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            if matches!(id, "help" | "version") || arg.is_hide_set() {
                continue;
            }
            if arg.get_help().is_none() && arg.get_long_help().is_none() {
                missing.push(format!("{path} --{id}"));
            }
        }
        for sub in command.get_subcommands() {
            walk(sub, &format!("{path} {}", sub.get_name()), missing);
        }
    }

    #[test]
    fn every_flag_says_what_it_does() {
        let command = super::Cli::command();
        command.clone().debug_assert();
        let mut missing = Vec::new();
        walk(&command, "mcptop", &mut missing);
        assert!(missing.is_empty(), "flags without help: {missing:?}");
    }
}

#[derive(Debug, clap::Args)]
pub struct HookArgs {
    /// Whose hook events these are: claude-code, codex or gemini.
    #[arg(long, value_name = "AGENT", default_value = "claude-code", value_parser = ["claude-code", "codex", "gemini"])]
    pub agent: String,

    /// The daemon's discovery file (default ~/.mcptop/mcp.json).
    #[arg(long, value_name = "PATH")]
    pub discovery_file: Option<PathBuf>,

    /// Accepted from earlier setups and ignored: an agent's MCP calls are published, and
    /// the monitor shows one row where its server's tap sees the same call.
    #[arg(long, hide = true)]
    pub skip_mcp: bool,
}

#[derive(Debug, clap::Args)]
pub struct SetupArgs {
    /// claude-code, claude-desktop, cursor, vscode, codex or gemini (none: list what is found).
    pub agent: Option<String>,

    /// The project whose configuration to change (default: the current directory).
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,

    /// Print the diff; change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Take out what setup put in (exactly what was there, where nothing else changed).
    #[arg(long)]
    pub undo: bool,

    /// Claude Code: install `mcptop hook` for its hook events (in the project's
    /// .claude/settings.json, or ~/.claude/settings.json with --user).
    #[arg(long)]
    pub hooks: bool,

    /// With --hooks or --otel: the user's settings, not the project's.
    #[arg(long)]
    pub user: bool,

    /// claude-code, codex or gemini: point the agent's own OpenTelemetry at mcptop (Claude
    /// Code's user settings' env, Codex's `[otel]`, Gemini's `telemetry`) and have the
    /// daemon receive it (`[otlp] receive = true` in mcptop's config file). Every tool
    /// call then shows, MCP or not.
    #[arg(long)]
    pub otel: bool,
}

/// What `mcptop export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Spans to an OTLP collector (OTLP/HTTP protobuf or JSON, or OTLP/gRPC).
    Otlp,
    /// One self-contained page (no network): findings, per-tool figures, a waterfall of
    /// every call and each call's detail.
    Html,
    /// An HTTP Archive (HAR 1.2): every call as the JSON-RPC POST it is.
    Har,
    /// The session as one JSON document (format `mcptop-export`, version 1).
    Json,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// A recording made with --record, or a raw SSE capture (or --live).
    #[arg(required_unless_present = "live", conflicts_with = "live")]
    pub file: Option<PathBuf>,

    /// Record the running daemon's sessions (or --session) for this long (e.g. 30s, 5m),
    /// then export that, as `tail --record FILE --for DURATION` then `export FILE` would.
    #[arg(help_heading = "Which daemon and session", long, value_name = "DURATION", value_parser = parse_duration)]
    pub live: Option<std::time::Duration>,

    #[command(flatten)]
    pub daemon: DaemonArgs,

    /// With --live: the session to record (else every session of yours).
    #[arg(
        help_heading = "Which daemon and session",
        long,
        env = "MCPTOP_SESSION",
        value_name = "ID"
    )]
    pub session: Option<String>,

    /// With --live: read the session's token from this file (else $MCPTOP_TOKEN, else the
    /// daemon's admin token from its discovery file).
    #[arg(
        help_heading = "Which daemon and session",
        long,
        value_name = "PATH",
        requires = "live"
    )]
    pub token_file: Option<PathBuf>,

    /// What to make of it (else from -o's extension: .html, .har, .json; else otlp when a
    /// collector is given).
    #[arg(help_heading = "The report", long, value_enum)]
    pub format: Option<ExportFormat>,

    /// html, har, json: the file to write (else standard output). An existing file is
    /// replaced whole or not at all.
    #[arg(help_heading = "The report", short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// html, har, json: the report's title (else the recording's file name).
    #[arg(help_heading = "The report", long, value_name = "TEXT")]
    pub title: Option<String>,

    /// The collector (else `[otlp] export`, else OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
    /// OTEL_EXPORTER_OTLP_ENDPOINT; headers from OTEL_EXPORTER_OTLP_HEADERS).
    #[arg(help_heading = "Sending spans (otlp)", long, value_name = "URL")]
    pub otlp_endpoint: Option<String>,

    /// http/protobuf (default), http/json or grpc (else OTEL_EXPORTER_OTLP_PROTOCOL).
    #[arg(help_heading = "Sending spans (otlp)", long, value_name = "PROTOCOL")]
    pub otlp_protocol: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// A recording made with --record, or a raw SSE capture.
    pub file: PathBuf,

    /// No call longer than this (`30s`), or no call of TOOL longer (`TOOL=30s`); repeat
    /// for several tools.
    #[arg(long, value_name = "[TOOL=]DURATION")]
    pub max_duration: Vec<String>,

    /// This tool was called at least once (repeatable).
    #[arg(long, value_name = "NAME")]
    pub expect_tool: Vec<String>,

    /// This tool was never called (repeatable).
    #[arg(long, value_name = "NAME")]
    pub forbid_tool: Vec<String>,

    /// At most N calls failed.
    #[arg(long, value_name = "N")]
    pub max_failures: Option<usize>,

    /// No stall, no progress that did not increase or went past its total, no loss, at
    /// any point of the recording.
    #[arg(long)]
    pub no_findings: bool,

    /// The result as JSON on standard output.
    #[arg(long)]
    pub json: bool,

    /// Also write the result as JUnit XML to FILE (one test case per assertion and per
    /// tool), for CI's test reports.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,

    /// The servers offer exactly the tools of this baseline (`mcptop baseline REC >
    /// tools.json`), each defined as it was: a tool added, removed or changed fails.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The earlier recording (or raw SSE capture).
    pub a: PathBuf,
    /// The later one.
    pub b: PathBuf,
    /// Slower by more than this share is a regression (`20%`, or `0.2`).
    #[arg(long, value_name = "PERCENT", default_value = "20%")]
    pub threshold: String,
    /// The diff as JSON on standard output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct BaselineArgs {
    /// A recording made with --record (or a raw SSE capture) whose servers' tools are the
    /// approved ones.
    pub file: PathBuf,
}
