//! One module per subcommand.

pub mod demo;
pub mod replay;
pub mod serve;
pub mod sessions;
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
            Stop::TokenRejected => 4,
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
