//! The consumer side shared by `tail` and `replay`: source events in, updates printed as
//! JSON or plain lines, optionally recorded, until a count, a deadline, Ctrl-C or the
//! source's end.

use std::io::{self, Write};
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::sync::mpsc;

use crate::cli::OutputArgs;
use mcptop::recording::Recorder;
use mcptop::report::{summary, Feed, PlainPrinter};
use mcptop::source::{SourceEvent, Status, Stop, Timed};

/// Why the consumer stopped.
pub enum Ended {
    /// --count or --for reached, Ctrl-C, or the output pipe closed.
    Done,
    /// The source stopped.
    Source(Stop),
}

/// How many events are taken from the source's channel at once.
const BATCH: usize = 256;

/// The next events waiting in the channel (at least one, unless it closed: none).
async fn recv_batch(rx: &mut mpsc::Receiver<Timed>) -> Vec<Timed> {
    let mut taken = Vec::with_capacity(BATCH);
    rx.recv_many(&mut taken, BATCH).await;
    taken
}

pub async fn consume(
    mut rx: mpsc::Receiver<Timed>,
    output: &OutputArgs,
    mut recorder: Option<Recorder>,
    run_for: Option<Duration>,
) -> Result<Ended> {
    let mut feed = Feed::default();
    feed.hide_details = output.no_args;
    let mut printer = PlainPrinter::default();
    let mut said_quiet = false;
    let mut calls_seen = 0u64;
    let deadline = tokio::time::sleep(run_for.unwrap_or(Duration::from_secs(u64::MAX / 4)));
    tokio::pin!(deadline);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    // Buffered, and flushed whenever the source has nothing more waiting: a reader of the
    // pipe sees each update at once when they trickle, and a burst costs few writes.
    let mut stdout = io::BufWriter::with_capacity(64 << 10, io::stdout().lock());
    let mut line = Vec::with_capacity(1024);
    // Taken from the channel in batches (one wake-up and one release of its room each).
    let mut batch = Vec::new().into_iter();
    let ended = loop {
        let timed = match batch.next() {
            Some(t) => t,
            None => {
                if rx.is_empty() {
                    if let Err(e) = stdout.flush() {
                        if e.kind() == io::ErrorKind::BrokenPipe {
                            return Ok(Ended::Done);
                        }
                        return Err(e).context("cannot write to standard output");
                    }
                }
                tokio::select! {
                    biased;
                    _ = &mut ctrl_c => break Ended::Done,
                    _ = &mut deadline => break Ended::Done,
                    taken = recv_batch(&mut rx) => {
                        if taken.is_empty() {
                            break Ended::Source(Stop::Fatal("the source ended".into()));
                        }
                        batch = taken.into_iter();
                        match batch.next() {
                            Some(t) => t,
                            None => continue,
                        }
                    }
                }
            }
        };
        if let Some(recorder) = &mut recorder {
            recorder.record(&timed)?;
        }
        let written = if output.json {
            line.clear();
            calls_seen += feed.ingest_json_lines(&timed, &mut line);
            stdout.write_all(&line)
        } else {
            let mut result = Ok(());
            for update in feed.ingest(&timed) {
                if update.json["type"] == "call" {
                    calls_seen += 1;
                }
                for text in printer.lines(&update) {
                    result = result.and_then(|()| writeln!(stdout, "{text}"));
                }
            }
            result
        };
        if let Err(e) = written {
            if e.kind() == io::ErrorKind::BrokenPipe {
                return Ok(Ended::Done);
            }
            return Err(e).context("cannot write to standard output");
        }
        // A daemon whose tools publish nothing (stock Construct): said once, on stderr.
        if !said_quiet {
            let stream = feed.model.stream();
            if let (Some(hint), 0, Some(_)) =
                (&stream.quiet_hint, stream.events, stream.last_keepalive)
            {
                let _ = stdout.flush();
                eprintln!("mcptop: {}", mcptop::sanitize::terminal(hint));
                said_quiet = true;
            }
        }
        let reached = output.count.is_some_and(|n| calls_seen >= n);
        if reached {
            let _ = stdout.flush();
            break Ended::Done;
        }
        if let SourceEvent::Status(Status::Stopped(stop)) = timed.event {
            break Ended::Source(stop);
        }
    };
    if !output.json {
        for text in printer.finish() {
            let _ = writeln!(stdout, "{text}");
        }
    }
    let _ = stdout.flush();
    if output.summary {
        let now = feed
            .model
            .stream()
            .last_activity
            .unwrap_or_else(mcptop::time::Time::now);
        let _ = write!(stdout, "{}", summary(&feed.model, now));
        let _ = stdout.flush();
    }
    Ok(ended)
}
