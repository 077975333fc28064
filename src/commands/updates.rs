//! The consumer side shared by `tail` and `replay`: source events in, updates printed as
//! JSON or plain lines, optionally recorded, until a count, a deadline, Ctrl-C or the
//! source's end.

use std::io::{self, Write};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use crate::cli::OutputArgs;
use mcptop::event::Recycler;
use mcptop::feed::Decoded;
use mcptop::recording::Recorder;
use mcptop::report::{summary, Feed, PlainPrinter};
use mcptop::source::{LinkStatus, SourceEvent, Stop, Timed};

/// Why the consumer stopped.
pub enum Ended {
    /// --count or --for reached, Ctrl-C, or the output pipe closed.
    Done,
    /// The source stopped.
    Source(Stop),
}

/// A decoded batch waiting for the printer, with its share of [`WAITING_BYTES`].
type Waiting = (Decoded, OwnedSemaphorePermit);

/// How many events are taken from the source's channel at once.
const BATCH: usize = 256;

/// How many decoded batches may wait for the printer: deep enough that neither stage
/// waits for the other when both share two cores with a daemon (at 8, `tail` from `mcptop
/// serve` lost about 6 % of its rate to such waits).
const WAITING_BATCHES: usize = 64;

/// How many spent batches are kept for their room (their events' text goes to the
/// recycler, not with them).
const SPARE_BATCHES: usize = 8;

/// The most bytes of event text the waiting batches may hold, whatever their count: a
/// stream of large events waits for the printer before it holds more.
const WAITING_BYTES: usize = 8 << 20;

/// What a batch takes of [`WAITING_BYTES`]: its events' text, at least 1 and at most all
/// of it (a batch larger than the budget waits for the queue to empty, then goes alone).
fn queue_cost(batch: &[Timed]) -> u32 {
    let bytes: usize = batch
        .iter()
        .map(|timed| match &timed.event {
            SourceEvent::Event {
                event_type,
                data,
                id,
            } => event_type.len() + data.len() + id.len(),
            _ => 0,
        })
        .fold(0, usize::saturating_add);
    // WAITING_BYTES fits a u32.
    bytes.clamp(1, WAITING_BYTES) as u32
}

/// The next events waiting in the channel, into `taken` (empty on entry): at least one,
/// unless it closed (none).
async fn recv_batch(rx: &mut mpsc::Receiver<Timed>, mut taken: Vec<Timed>) -> Vec<Timed> {
    rx.recv_many(&mut taken, BATCH).await;
    taken
}

/// Two stages on two threads: here, beside the source, the events are taken in batches
/// and their frames decoded; on a thread of its own the printer applies them to the model
/// and writes the updates. At full speed each stage has a core.
pub async fn consume(
    mut rx: mpsc::Receiver<Timed>,
    output: &OutputArgs,
    recorder: Option<Recorder>,
    run_for: Option<Duration>,
    recycler: Option<Recycler>,
) -> Result<Ended> {
    let (to_printer, batches) = mpsc::channel::<Waiting>(WAITING_BATCHES);
    let queue_room = Arc::new(Semaphore::new(WAITING_BYTES));
    // The printer hands each batch back when done with it, to be dropped (and its room
    // used again) on the thread that made its events: glibc frees a block faster on the
    // thread that took it.
    let (hand_back, spent) = std::sync::mpsc::channel::<Vec<Timed>>();
    let mut spare: Vec<Vec<Timed>> = Vec::new();
    let printer = {
        let output = output.clone();
        std::thread::Builder::new()
            .name("mcptop-printer".into())
            .spawn(move || print(batches, hand_back, &output, recorder))
            .context("cannot start the printer thread")?
    };
    let deadline = tokio::time::sleep(run_for.unwrap_or(Duration::from_secs(u64::MAX / 4)));
    tokio::pin!(deadline);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let source_ended = loop {
        while let Ok(mut done) = spent.try_recv() {
            match &recycler {
                Some(recycler) => recycler.give(&mut done),
                None => done.clear(),
            }
            if spare.len() < SPARE_BATCHES {
                spare.push(done);
            }
        }
        let room = spare.pop().unwrap_or_else(|| Vec::with_capacity(BATCH));
        tokio::select! {
            biased;
            _ = &mut ctrl_c => break false,
            _ = &mut deadline => break false,
            // The printer is done (its count reached, its pipe closed).
            _ = to_printer.closed() => break false,
            taken = recv_batch(&mut rx, room) => {
                if taken.is_empty() {
                    break true;
                }
                let Ok(bytes) = Arc::clone(&queue_room).acquire_many_owned(queue_cost(&taken)).await
                else {
                    break false; // never closed
                };
                if to_printer.send((Decoded::decode(taken), bytes)).await.is_err() {
                    break false;
                }
            }
        }
    };
    // The printer writes what it was given, then ends.
    drop(to_printer);
    let printed = printer
        .join()
        .map_err(|_| anyhow::anyhow!("the printer thread failed"))??;
    Ok(match printed {
        Some(ended) => ended,
        None if source_ended => Ended::Source(Stop::Fatal("the source ended".into())),
        None => Ended::Done,
    })
}

/// The printer: decoded batches into the model, updates to standard output, until its
/// input ends (`None`) or it ends by itself (a count reached, the output closed, the
/// source stopped).
fn print(
    mut batches: mpsc::Receiver<Waiting>,
    hand_back: std::sync::mpsc::Sender<Vec<Timed>>,
    output: &OutputArgs,
    mut recorder: Option<Recorder>,
) -> Result<Option<Ended>> {
    let mut feed = Feed::default();
    feed.hide_details = output.no_args;
    let mut printer = PlainPrinter::default();
    let mut said_quiet = false;
    let mut calls_seen = 0u64;
    // Buffered, and flushed whenever nothing more is waiting: a reader of the pipe sees
    // each update at once when they trickle, and a burst costs few writes, each taken by
    // a pipe with room for many batches.
    let _ = mcptop::pipe::widen(&io::stdout());
    let mut stdout = io::BufWriter::with_capacity(64 << 10, io::stdout().lock());
    let write_failed = |e: io::Error| -> Result<Option<Ended>> {
        if e.kind() == io::ErrorKind::BrokenPipe {
            return Ok(Some(Ended::Done));
        }
        Err(e).context("cannot write to standard output")
    };
    // A batch's JSON lines, written at once.
    let mut lines = Vec::with_capacity(64 << 10);
    let mut ended = None;
    while ended.is_none() {
        if batches.is_empty() {
            if let Err(e) = stdout.flush() {
                ended = write_failed(e)?;
                break;
            }
        }
        // The batch's share of the queue's bytes is given back once it is printed.
        let Some((mut batch, _bytes)) = batches.blocking_recv() else {
            break;
        };
        let step = batch.with_dependent_mut(|events, frames| -> Result<Option<Ended>> {
            for (timed, frame) in events.iter().zip(frames.iter_mut()) {
                if let Some(recorder) = &mut recorder {
                    recorder.record(timed)?;
                }
                if output.json {
                    calls_seen += feed.ingest_json_lines_decoded(timed, frame.take(), &mut lines);
                } else {
                    for update in feed.ingest_decoded(timed, frame.take()) {
                        if update.json["type"] == "call" {
                            calls_seen += 1;
                        }
                        for text in printer.lines(&update) {
                            lines.extend_from_slice(text.as_bytes());
                            lines.push(b'\n');
                        }
                    }
                }
                // A daemon whose tools publish nothing (stock Construct): said once, on stderr.
                if !said_quiet {
                    let stream = feed.model.stream();
                    if let (Some(hint), 0, Some(_)) =
                        (&stream.quiet_hint, stream.events, stream.last_keepalive)
                    {
                        if let Err(e) = put(&mut stdout, &mut lines).and_then(|()| stdout.flush()) {
                            return write_failed(e);
                        }
                        eprintln!("mcptop: {}", mcptop::sanitize::terminal(hint));
                        said_quiet = true;
                    }
                }
                let ended = if output.count.is_some_and(|n| calls_seen >= n) {
                    Some(Ended::Done)
                } else if let SourceEvent::Status(LinkStatus::Stopped(stop)) = &timed.event {
                    Some(Ended::Source(stop.clone()))
                } else {
                    None
                };
                if ended.is_some() || lines.len() >= 64 << 10 {
                    if let Err(e) = put(&mut stdout, &mut lines) {
                        return write_failed(e);
                    }
                }
                if ended.is_some() {
                    return Ok(ended);
                }
            }
            match put(&mut stdout, &mut lines) {
                Ok(()) => Ok(None),
                Err(e) => write_failed(e),
            }
        });
        ended = step?;
        let _ = hand_back.send(batch.into_owner());
    }
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

/// Writes out and empties `lines`.
fn put(stdout: &mut impl Write, lines: &mut Vec<u8>) -> io::Result<()> {
    let written = stdout.write_all(lines);
    lines.clear();
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(bytes: usize) -> Timed {
        Timed {
            at: mcptop::time::Time::from_unix_nanos(0),
            event: SourceEvent::Event {
                event_type: "message".into(),
                data: "x".repeat(bytes),
                id: "7".into(),
            },
        }
    }

    #[test]
    fn a_batch_takes_its_text_of_the_queue_and_never_more_than_all_of_it() {
        assert_eq!(queue_cost(&[event(100), event(50)]), (100 + 8) + (50 + 8));
        // Keep-alives and news carry no text, yet a batch always takes something.
        let news = Timed {
            at: mcptop::time::Time::from_unix_nanos(0),
            event: SourceEvent::KeepAlive,
        };
        assert_eq!(queue_cost(&[news]), 1);
        assert_eq!(queue_cost(&[]), 1);
        // Larger than the whole budget: it takes all of it, so it can still go (alone).
        let big: Vec<Timed> = (0..3).map(|_| event(4 << 20)).collect();
        assert_eq!(queue_cost(&big) as usize, WAITING_BYTES);
    }
}
