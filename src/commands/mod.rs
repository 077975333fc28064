//! One module per subcommand.

pub mod check;
pub mod demo;
pub mod export;
pub mod hook;
pub mod replay;
pub mod serve;
pub mod sessions;
pub mod setup;
pub mod sse_dump;
pub mod tail;
pub mod tap;
mod updates;
pub mod watch;

use mcptop::source::discover::{Daemon, DiscoverError, DiscoverOptions};
use mcptop::source::Stop;

use crate::cli::DaemonArgs;

/// An error with its own exit status (the message is printed as one line).
#[derive(Debug)]
pub struct Exit {
    pub code: u8,
    pub message: String,
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

/// Exit status of a discovery failure.
pub const NO_DAEMON: u8 = 3;

impl Exit {
    pub fn new(code: u8, message: impl std::fmt::Display) -> Exit {
        Exit {
            code,
            message: message.to_string(),
        }
    }

    /// The exit status that tells why a live source stopped.
    pub fn from_stop(stop: &Stop) -> Option<Exit> {
        let code = match stop {
            Stop::EndOfRecording => return None,
            Stop::TokenRejected | Stop::GatewayTokenRejected { .. } => 4,
            Stop::SessionGone => 5,
            Stop::GaveUp { .. } => 6,
            Stop::Fatal(_) => 1,
        };
        Some(Exit::new(code, stop.message()))
    }
}

pub fn discover_options(args: &DaemonArgs) -> DiscoverOptions {
    DiscoverOptions {
        url: args.url.clone().filter(|u| !u.is_empty()),
        discovery: args.discovery.clone(),
        home: std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(Into::into),
    }
}

pub async fn find_daemon(args: &DaemonArgs) -> Result<Daemon, Exit> {
    mcptop::source::discover::discover(&discover_options(args))
        .await
        .map_err(|e: DiscoverError| Exit::new(NO_DAEMON, e))
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// A secret from its flag, its environment variable (clap fills the flag from it) or its
/// file: the file's first line, trimmed. A secret typed on the command line is readable
/// by every local user in `/proc/PID/cmdline`: that is said once.
pub fn secret(
    value: &Option<String>,
    file: &Option<std::path::PathBuf>,
    flag: &str,
) -> anyhow::Result<Option<String>> {
    use anyhow::Context;
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {flag}-file {}", path.display()))?;
        let token = text.lines().next().unwrap_or("").trim().to_owned();
        if token.is_empty() {
            anyhow::bail!("{flag}-file {} is empty", path.display());
        }
        return Ok(Some(token));
    }
    let given = value.clone().filter(|t| !t.is_empty());
    if given.is_some() && on_command_line(flag) {
        eprintln!(
            "mcptop: warning: {flag} on the command line is visible to every local user; \
             use {}, or {flag}-file PATH",
            env_name(flag)
        );
    }
    Ok(given)
}

fn env_name(flag: &str) -> &'static str {
    match flag {
        "--gateway-token" => "$MCPTOP_GATEWAY_TOKEN",
        _ => "$MCPTOP_TOKEN",
    }
}

/// Whether `flag` itself (not its environment variable) was given.
fn on_command_line(flag: &str) -> bool {
    std::env::args_os().skip(1).any(|a| {
        a.to_str()
            .is_some_and(|a| a == flag || a.strip_prefix(flag).is_some_and(|r| r.starts_with('=')))
    })
}
