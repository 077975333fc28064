//! `mcptop serve --replay FILE`: publishes a recording, or a raw SSE capture, into a
//! session as if it were live: with its original pacing (scaled by `--speed`) or as fast
//! as possible, each event's timestamp moved to the moment it is published (at full
//! speed, to the moment its block of at most 64 events is).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::hub::EventKind;
use super::session::Session;
use crate::event::SourceEvent;
use crate::recording::{self, RecordingError};
use crate::time::Time;

/// One event to publish, `at` after the start of the recording.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayEvent {
    pub at: Duration,
    pub kind: EventKind,
    pub data: String,
}

pub use crate::recording::Speed;

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Recording(#[from] RecordingError),
    #[error("{path} holds no events to replay")]
    Empty { path: String },
}

/// Reads a recording (`{"format":"mcptop-recording",…}` first) or a raw SSE capture;
/// keeps the session's own events (progress and `call`). Transport events (lagged,
/// connected, errors, keep-alives) belong to the recorded connection, not to the
/// session: the replay's own subscribers get their own.
pub fn load(path: &Path) -> Result<Vec<ReplayEvent>, ReplayError> {
    let recording = recording::load(path)?;
    let events: Vec<ReplayEvent> = recording
        .items
        .into_iter()
        .filter_map(|(at, event)| match event {
            SourceEvent::Event {
                event_type, data, ..
            } => {
                let kind = match event_type.as_str() {
                    "message" => EventKind::Progress,
                    "call" => EventKind::Call,
                    "server" => EventKind::Server,
                    _ => return None,
                };
                // A priming event or a keep-alive sent as an empty event: nothing to publish.
                (!data.trim().is_empty()).then_some(ReplayEvent { at, kind, data })
            }
            _ => None,
        })
        .collect();
    if events.is_empty() {
        return Err(ReplayError::Empty {
            path: path.display().to_string(),
        });
    }
    Ok(events)
}

/// Where the value of the first `"timestamp"` string is (inside its quotes).
fn stamp_span(finder: &memchr::memmem::Finder<'_>, data: &str) -> Option<(usize, usize)> {
    let b = data.as_bytes();
    let skip_ws = |mut i: usize| {
        while b.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        i
    };
    let colon = skip_ws(finder.find(b)? + "\"timestamp\"".len());
    if b.get(colon) != Some(&b':') {
        return None;
    }
    let open = skip_ws(colon + 1);
    if b.get(open) != Some(&b'"') {
        return None;
    }
    let close = open + 1 + memchr::memchr(b'"', b.get(open + 1..)?)?;
    Some((open + 1, close))
}

/// Replaces the value of the first `"timestamp"` string, keeping every other byte.
#[cfg(test)]
fn restamp(data: &str, now: &str) -> Option<String> {
    let (from, to) = stamp_span(&memchr::memmem::Finder::new(b"\"timestamp\""), data)?;
    Some(format!("{}{}{}", &data[..from], now, &data[to..]))
}

/// How a replay is published.
#[derive(Debug, Clone, Copy)]
pub struct ReplayOptions {
    /// The recording's pacing scaled, or `max`: as fast as the slowest subscriber takes
    /// the events (a replay at full speed loses none to a slow reader).
    pub speed: Speed,
    /// Start over after the last event, for ever (for soaks and demos).
    pub looped: bool,
    /// Start once this many subscribers follow the session.
    pub wait_subscribers: usize,
}

/// Publishes every event into `session`; returns how many were published.
pub async fn publish(
    session: Arc<Session>,
    events: Vec<ReplayEvent>,
    options: ReplayOptions,
    stop: CancellationToken,
) -> u64 {
    // Each event is stamped with the time it goes out, written into one reused buffer.
    let finder = memchr::memmem::Finder::new(b"\"timestamp\"");
    // Where each event's stamp goes, found once (a loop goes over them again and again),
    // before the first subscriber comes: the replay starts the moment it does.
    let spans: Vec<Option<(usize, usize)>> = events
        .iter()
        .map(|e| stamp_span(&finder, &e.data))
        .collect();
    while session.events.subscribers() < options.wait_subscribers {
        tokio::select! {
            _ = stop.cancelled() => return 0,
            _ = tokio::time::sleep(Duration::from_millis(5)) => {}
        }
    }
    // One pass lasts as long as the recording, plus the gap before its first event
    // again, so a loop keeps the recorded rate across the seam.
    let pass = events.last().map_or(Duration::ZERO, |e| e.at)
        + events
            .first()
            .map_or(Duration::ZERO, |e| e.at)
            .max(Duration::from_millis(1));
    // At full speed, room for this many events is checked before publishing them.
    let headroom = (session.events.backlog().1 as u64 / 2).clamp(1, 64);
    let start = tokio::time::Instant::now();
    let mut published: u64 = 0;
    let mut stamps = crate::time::StampWriter::default();
    let mut stamped = String::with_capacity(1024);
    let mut round: u32 = 0;
    let mut now = Time::now();
    loop {
        for (event, span) in events.iter().zip(&spans) {
            match options.speed {
                Speed::Factor(f) => {
                    let due = start + (pass * round + event.at).div_f64(f);
                    if due > tokio::time::Instant::now() {
                        tokio::select! {
                            _ = stop.cancelled() => return published,
                            _ = tokio::time::sleep_until(due) => {}
                        }
                    }
                    now = Time::now();
                }
                // At full speed the events whose room was checked together go out within
                // microseconds of each other: they share one reading of the clock.
                Speed::Max => {
                    if published.is_multiple_of(headroom) {
                        if !wait_for_readers(&session, headroom, &stop).await {
                            return published;
                        }
                        now = Time::now();
                    }
                }
            }
            match *span {
                Some((from, to)) => {
                    stamped.clear();
                    stamped.push_str(&event.data[..from]);
                    stamps.write(now, &mut stamped);
                    stamped.push_str(&event.data[to..]);
                    session.publish(event.kind, &stamped, now);
                }
                None => {
                    session.publish(event.kind, &event.data, now);
                }
            }
            published += 1;
        }
        if !options.looped || stop.is_cancelled() {
            return published;
        }
        round += 1;
    }
}

/// Waits until `headroom` events fit before the slowest subscriber would lose any:
/// briefly spinning, then in 1 ms naps. False when stopped.
async fn wait_for_readers(session: &Session, headroom: u64, stop: &CancellationToken) -> bool {
    let mut spins = 0;
    loop {
        if stop.is_cancelled() {
            return false;
        }
        if session.room() as u64 >= headroom {
            return true;
        }
        if spins < 32 {
            spins += 1;
            tokio::task::yield_now().await;
        } else {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restamp_keeps_everything_else() {
        let data = r#"{"token":7,"progress":1,"timestamp": "2026-04-17T10:20:33Z","tool":"x"}"#;
        assert_eq!(
            restamp(data, "NOW").unwrap(),
            r#"{"token":7,"progress":1,"timestamp": "NOW","tool":"x"}"#
        );
        assert_eq!(restamp(r#"{"a":1}"#, "NOW"), None);
        assert_eq!(
            restamp("{\"timestamp\" :\n \"t\"}", "NOW").unwrap(),
            "{\"timestamp\" :\n \"NOW\"}"
        );
        assert_eq!(restamp(r#"{"timestamp":1}"#, "NOW"), None);
        assert_eq!(restamp(r#"{"timestamp" x:"a"}"#, "NOW"), None);
        assert_eq!(restamp(r#"{"timestamp":"open"#, "NOW"), None);
        assert_eq!(restamp(r#"{"timestamp":"#, "NOW"), None);
    }
}
