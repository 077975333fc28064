//! `mcptop serve --replay FILE`: publishes a recording, or a raw SSE capture, into a
//! session as if it were live: with its original pacing (scaled by `--speed`) or as fast
//! as possible, each event's timestamp moved to the moment it is published.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::hub::EventKind;
use super::session::Session;
use crate::sse::{Decoder, Item, Limits};
use crate::time::Time;
use crate::wire::{decode_event, Frame};

/// One event to publish, `at` after the start of the recording.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayEvent {
    pub at: Duration,
    pub kind: EventKind,
    pub data: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// Real time multiplied by this factor.
    Factor(f64),
    /// No pauses at all.
    Max,
}

impl FromStr for Speed {
    type Err = String;

    fn from_str(s: &str) -> Result<Speed, String> {
        if s.eq_ignore_ascii_case("max") {
            return Ok(Speed::Max);
        }
        let factor = s.trim_end_matches(['x', 'X']);
        match factor.parse::<f64>() {
            Ok(f) if f.is_finite() && f > 0.0 => Ok(Speed::Factor(f)),
            _ => Err(format!(
                "invalid speed {s:?}: give a positive factor (0.5, 2, 10x) or `max`"
            )),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("cannot read {path}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: not a recording line ({reason})")]
    BadLine {
        path: String,
        line: usize,
        reason: String,
    },
    #[error("{path} holds no events to replay")]
    Empty { path: String },
}

/// Reads a recording (`{"format":"mcptop-recording",…}` first) or a raw SSE capture.
pub fn load(path: &Path) -> Result<Vec<ReplayEvent>, ReplayError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| ReplayError::Read {
        path: name.clone(),
        source,
    })?;
    let events = if is_recording(&bytes) {
        parse_recording(&String::from_utf8_lossy(&bytes), &name)?
    } else {
        parse_sse(&bytes)
    };
    if events.is_empty() {
        return Err(ReplayError::Empty { path: name });
    }
    Ok(events)
}

fn is_recording(bytes: &[u8]) -> bool {
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    serde_json::from_slice::<Value>(first)
        .ok()
        .and_then(|v| v.get("format").and_then(Value::as_str).map(str::to_owned))
        .is_some_and(|f| f == "mcptop-recording")
}

fn kind_of(event_type: &str) -> Option<EventKind> {
    match event_type {
        "message" => Some(EventKind::Progress),
        "call" => Some(EventKind::Call),
        // Transport events (lagged, connected, errors) belong to the recorded
        // connection, not to the session: the replay's own subscribers get their own.
        _ => None,
    }
}

/// Lines `[seconds, "e", {"event":…,"id":…,"data":…}]`; `s` and `m` lines are skipped.
fn parse_recording(text: &str, path: &str) -> Result<Vec<ReplayEvent>, ReplayError> {
    let mut events = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: &str| ReplayError::BadLine {
            path: path.to_owned(),
            line: n + 1,
            reason: reason.to_owned(),
        };
        let value: Value = serde_json::from_str(line).map_err(|e| bad(&e.to_string()))?;
        let item = value
            .as_array()
            .ok_or_else(|| bad("expected a JSON array"))?;
        let (Some(t), Some(code)) = (
            item.first().and_then(Value::as_f64),
            item.get(1).and_then(Value::as_str),
        ) else {
            return Err(bad("expected [seconds, code, payload]"));
        };
        if code != "e" {
            continue;
        }
        let payload = item.get(2).ok_or_else(|| bad("missing the event"))?;
        let event_type = payload
            .get("event")
            .and_then(Value::as_str)
            .unwrap_or("message");
        let data = payload
            .get("data")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("the event has no data string"))?;
        if let Some(kind) = kind_of(event_type) {
            events.push(ReplayEvent {
                at: Duration::from_secs_f64(t.clamp(0.0, 1e9)),
                kind,
                data: data.to_owned(),
            });
        }
    }
    Ok(events)
}

/// A raw capture, paced by the events' own timestamps where they have them.
fn parse_sse(bytes: &[u8]) -> Vec<ReplayEvent> {
    let mut decoder = Decoder::new(Limits::default());
    let mut events = Vec::new();
    let mut first: Option<Time> = None;
    let mut last_at = Duration::ZERO;
    decoder.feed(bytes, &mut |item| {
        let Item::Event(e) = item else { return };
        let Some(kind) = kind_of(e.event_type) else {
            return;
        };
        let stamp = match decode_event(e.event_type, e.data, e.last_event_id) {
            Frame::Progress(p) => p.timestamp,
            Frame::Call(c) => c.timestamp,
            _ => None,
        };
        if let Some(stamp) = stamp {
            let origin = *first.get_or_insert(stamp);
            let offset = (stamp - origin).to_std().unwrap_or(Duration::ZERO);
            // Never go back in time: out-of-order stamps play at once.
            last_at = last_at.max(offset);
        }
        events.push(ReplayEvent {
            at: last_at,
            kind,
            data: e.data.to_owned(),
        });
    });
    events
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
        session.events.publish(event.kind, data, now);
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

    #[test]
    fn speed_parses() {
        assert_eq!("max".parse::<Speed>(), Ok(Speed::Max));
        assert_eq!("2x".parse::<Speed>(), Ok(Speed::Factor(2.0)));
        assert_eq!("0.5".parse::<Speed>(), Ok(Speed::Factor(0.5)));
        assert!("0".parse::<Speed>().is_err());
        assert!("fast".parse::<Speed>().is_err());
    }

    #[test]
    fn raw_captures_are_paced_by_their_timestamps() {
        let sse = concat!(
            "data: {\"token\":1,\"progress\":1,\"timestamp\":\"2026-01-01T00:00:00Z\"}\n\n",
            ": keep-alive\n\n",
            "event: lagged\ndata: {\"missed\":3}\n\n",
            "event: call\ndata: {\"token\":1,\"tool\":\"t\",\"state\":\"finished\",\"timestamp\":\"2026-01-01T00:00:02.5Z\"}\n\n",
        );
        let events = parse_sse(sse.as_bytes());
        let summary: Vec<_> = events.iter().map(|e| (e.at, e.kind)).collect();
        assert_eq!(
            summary,
            vec![
                (Duration::ZERO, EventKind::Progress),
                (Duration::from_millis(2500), EventKind::Call)
            ]
        );
    }

    #[test]
    fn recordings_keep_their_offsets_and_report_bad_lines() {
        let text = concat!(
            "{\"format\":\"mcptop-recording\",\"version\":1}\n",
            "[0.5,\"s\",{\"state\":\"connected\"}]\n",
            "[1.25,\"e\",{\"event\":\"message\",\"id\":\"1\",\"data\":\"{}\"}]\n",
        );
        let events = parse_recording(text, "r").unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].at, Duration::from_millis(1250));
        let err = parse_recording("{}\n[1,\"e\"]\n", "r").unwrap_err();
        assert_eq!(
            err.to_string(),
            "r:2: not a recording line (missing the event)"
        );
    }
}
