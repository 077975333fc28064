//! `mcptop wrap -- COMMAND …`: a stdio MCP server with the tap in its pipes. The agent
//! talks to mcptop as it would to the server; the server's stderr, exit code and the
//! signals mcptop receives pass through.

use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::observe::{Direction, Observer};
use super::publish::{Publisher, Target};
use super::relay::Relay;
use crate::time::Time;

#[derive(Debug, Clone)]
pub struct WrapOptions {
    pub command: Vec<String>,
    pub request_progress: bool,
    pub target: Target,
}

#[derive(Debug, thiserror::Error)]
pub enum WrapError {
    #[error("nothing to wrap: give the server's command after --")]
    NoCommand,
    #[error("cannot start {command:?}: {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    #[error("waiting for {command:?} failed: {source}")]
    Wait {
        command: String,
        source: std::io::Error,
    },
}

/// Runs the server to its end; returns the exit code to leave with (the server's, or
/// 128 + the signal that ended it).
pub async fn run(options: WrapOptions) -> Result<i32, WrapError> {
    let Some((program, args)) = options.command.split_first() else {
        return Err(WrapError::NoCommand);
    };
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|source| WrapError::Spawn {
            command: program.clone(),
            source,
        })?;
    let pid = child.id();
    let (publisher, publishing) = Publisher::start(options.target.clone());
    let observer = Arc::new(Mutex::new(
        Observer::new(options.request_progress).with_redaction(redaction_said()),
    ));
    let relay = |direction| Relay {
        direction,
        observer: Arc::clone(&observer),
        publisher: publisher.clone(),
        rewrite: options.request_progress,
    };
    let (to_server, to_client) = (relay(Direction::ToServer), relay(Direction::ToClient));
    let ticks_stop = tokio_util::sync::CancellationToken::new();
    let ticks = {
        let observer = Arc::clone(&observer);
        publisher.spawn_ticks(ticks_stop.clone(), move |items| {
            observer
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .tick((Instant::now(), Time::now()), items);
        })
    };
    let (Some(child_in), Some(child_out)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(WrapError::Spawn {
            command: program.clone(),
            source: std::io::Error::other("no pipes to the server"),
        });
    };
    // One thread per direction: a message goes from pipe to pipe with no hand-over. The
    // agent's side ends when it closes our stdin (the server's stdin then closes too).
    std::thread::spawn(move || {
        let _ = to_server.run(std::io::stdin().lock(), child_in);
    });
    let (out_done, out_finished) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = to_client.run(child_out, std::io::stdout().lock());
        let _ = out_done.send(());
    });
    let forward = tokio::spawn(forward_signals(Some(pid)));
    let waited = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)));
    let status = waited.map_err(|source| WrapError::Wait {
        command: program.clone(),
        source,
    })?;
    forward.abort();
    // Everything the server wrote before it ended reaches the agent (unless something
    // the server started still holds its stdout open).
    let _ = tokio::time::timeout(Duration::from_secs(5), out_finished).await;
    ticks_stop.cancel();
    let _ = ticks.await;
    let mut items = Vec::new();
    let why = match (
        status.code(),
        std::os::unix::process::ExitStatusExt::signal(&status),
    ) {
        (Some(code), _) => format!("the server exited (code {code}) before answering"),
        (None, Some(sig)) => format!("the server was killed by signal {sig} before answering"),
        _ => "the server ended before answering".to_owned(),
    };
    observer
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .abandon_all(&why, (Instant::now(), Time::now()), &mut items);
    publisher.send_all(&mut items);
    drop(publisher);
    let (_published, unpublished) = publishing.finish(Duration::from_secs(3)).await;
    if unpublished > 0 {
        eprintln!(
            "mcptop wrap: {unpublished} call event{} could not be published to the monitor",
            if unpublished == 1 { "" } else { "s" }
        );
    }
    Ok(match status.code() {
        Some(code) => code,
        None => 128 + std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0),
    })
}

/// SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to mcptop go to the server (which decides
/// what they mean); mcptop ends when the server does.
async fn forward_signals(pid: Option<u32>) {
    use tokio::signal::unix::{signal, SignalKind};
    let Some(pid) = pid.and_then(|p| libc::pid_t::try_from(p).ok()) else {
        return;
    };
    let kinds = [
        (SignalKind::interrupt(), libc::SIGINT),
        (SignalKind::terminate(), libc::SIGTERM),
        (SignalKind::hangup(), libc::SIGHUP),
        (SignalKind::quit(), libc::SIGQUIT),
    ];
    let mut streams = Vec::new();
    for (kind, number) in kinds {
        if let Ok(s) = signal(kind) {
            streams.push((s, number));
        }
    }
    loop {
        let futures = streams.iter_mut().map(|(s, number)| {
            let number = *number;
            Box::pin(async move {
                s.recv().await;
                number
            })
        });
        let (number, _, _) = futures_util::future::select_all(futures).await;
        // SAFETY: sending a signal to our own child's pid.
        unsafe {
            libc::kill(pid, number);
        }
    }
}

/// The user's redaction rules; a config file they cannot come from is said on stderr
/// (the agent's log of this server), and arguments are then withheld.
pub(crate) fn redaction_said() -> crate::redact::Rules {
    let (rules, problem) = crate::config::load_redaction();
    if let Some(line) = problem {
        eprintln!("mcptop: {line}");
    }
    rules
}
