//! `mcptop serve --replay FILE`: publishes a recording, or a raw SSE capture, into a
//! session as if it were live: with its original pacing (scaled by `--speed`) or as fast
//! as possible, each event's timestamp moved to the moment it is published.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::hub::EventKind;
use super::session::Session;
use crate::source::{self, recording::RecordingError, SourceEvent};
use crate::time::Time;

/// One event to publish, `at` after the start of the recording.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayEvent {
    pub at: Duration,
    pub kind: EventKind,
    pub data: String,
}

pub use crate::source::replay::Speed;

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
    let recording = source::replay::load(path)?;
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

/// Replaces the value of the first `"timestamp"` string, keeping every other byte.
fn restamp(data: &str, now: &str) -> Option<String> {
    let key = data.find("\"timestamp\"")?;
    let after_key = key + "\"timestamp\"".len();
    let rest = &data[after_key..];
    let colon = rest.find(':')?;
    if !rest[..colon].trim().is_empty() {
        return None;
    }
    let value_start = after_key + colon + 1;
    let open = value_start + data[value_start..].find('"')?;
    if !data[value_start..open].trim().is_empty() {
        return None;
    }
    let close = open + 1 + data[open + 1..].find('"')?;
    Some(format!("{}{}{}", &data[..=open], now, &data[close..]))
}

/// Publishes every event into `session`; returns how many were published.
pub async fn publish(
    session: Arc<Session>,
    events: Vec<ReplayEvent>,
    speed: Speed,
    stop: CancellationToken,
) -> usize {
    let start = tokio::time::Instant::now();
    let mut published = 0;
    for event in events {
        match speed {
            Speed::Factor(f) => {
                let due = start + event.at.div_f64(f);
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep_until(due) => {}
                }
            }
            Speed::Max => {
                if published % 256 == 0 {
                    tokio::task::yield_now().await;
                    if stop.is_cancelled() {
                        break;
                    }
                }
            }
        }
        let now = Time::now();
        let data = restamp(&event.data, &now.to_rfc3339_nanos()).unwrap_or(event.data);
        session.publish(event.kind, data, now);
        published += 1;
    }
    published
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
    }
}
