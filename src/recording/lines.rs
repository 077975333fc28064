//! Reading a recording's lines: the header, and each item (an event, a status, a keep-alive
//! or a discarded event), with what was wrong with a line kept as a note.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::event::SourceEvent;
use crate::time::Time;

use super::status::status_from;
use super::{Recording, RecordingError, SourceInfo};

/// The header line of a recording: when it started and where it came from.
pub(super) fn parse_header(line: &str, path: &Path) -> Result<(Time, SourceInfo), RecordingError> {
    let bad = |reason: &str| RecordingError::BadLine {
        path: path.to_owned(),
        line: 1,
        reason: reason.to_owned(),
    };
    let header: Value = serde_json::from_str(line).map_err(|_| bad("not a recording header"))?;
    match header.get("version") {
        None => {}
        Some(v) if v.as_u64() == Some(1) => {}
        Some(v) => {
            return Err(RecordingError::UnknownVersion {
                path: path.to_owned(),
                version: v.to_string(),
            })
        }
    }
    let started_at = header
        .get("started_at")
        .and_then(Value::as_str)
        .and_then(crate::wire::parse_timestamp)
        .ok_or_else(|| bad("the header has no valid started_at"))?;
    let src = header.get("source").cloned().unwrap_or(Value::Null);
    let field = |k: &str| src.get(k).and_then(Value::as_str).map(str::to_owned);
    let source = SourceInfo {
        daemon: field("daemon"),
        session_id: field("session_id"),
        label: field("label"),
        transport: field("transport"),
    };
    Ok((started_at, source))
}

/// What one line after the header holds.
pub(super) enum Line {
    Item(Duration, SourceEvent),
    /// A code this version does not know (a newer one may add some): passed over.
    Unknown,
    /// Not JSON at all (a cut line, when it is the last).
    NotJson(String),
    Bad(String),
}

pub(super) fn parse_line(line: &str) -> Line {
    let value: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return Line::NotJson(e.to_string()),
    };
    let (Some(t), Some(code)) = (
        value.get(0).and_then(Value::as_f64),
        value.get(1).and_then(Value::as_str),
    ) else {
        return Line::Bad("not [seconds, code, payload]".into());
    };
    let Some(at) = crate::time::duration_from_secs(t.max(0.0)) else {
        return Line::Bad(format!("a time of {t} s is out of range"));
    };
    let payload = value.get(2).cloned().unwrap_or(Value::Null);
    let event = match code {
        "e" => {
            let s = |k: &str| payload.get(k).and_then(Value::as_str).map(str::to_owned);
            let Some(data) = s("data") else {
                return Line::Bad("an event without data".into());
            };
            SourceEvent::Event {
                event_type: s("event").unwrap_or_else(|| "message".into()),
                data,
                id: s("id").unwrap_or_default(),
            }
        }
        "s" => match status_from(&payload) {
            Some(s) => SourceEvent::Status(s),
            None if payload.get("state").and_then(Value::as_str) == Some("connected") => {
                // The value as JSON (escaped), and no longer than a name.
                let named = payload.get("transport").unwrap_or(&Value::Null).to_string();
                return Line::Bad(format!(
                    "a connection over an unknown transport {}",
                    crate::sanitize::cut(&named, 64)
                ));
            }
            None => return Line::Unknown,
        },
        "m" if payload.get("keepalive").is_some() => SourceEvent::KeepAlive,
        "m" if payload.get("discarded").is_some() => SourceEvent::Discarded {
            reason: payload["discarded"].as_str().unwrap_or("").to_owned(),
        },
        _ => return Line::Unknown,
    };
    Line::Item(at, event)
}

/// What was wrong with a recording's lines, as they are read.
#[derive(Default)]
pub(super) struct Notes {
    notes: Vec<String>,
    skipped: usize,
}

impl Notes {
    /// A bad line is said (the first few by number) and skipped: one corrupt line must
    /// not cost the rest of the recording.
    pub(super) fn skip(&mut self, line: usize, why: &str) {
        self.skipped += 1;
        if self.notes.len() < 10 {
            self.notes.push(format!("line {line}: {why}; skipped"));
        }
    }

    pub(super) fn cut(&mut self, line: usize) {
        self.notes.push(format!(
            "line {line}: the last line is cut off (a crash, or the recording is still being written)"
        ));
    }

    pub(super) fn finish(mut self) -> (Vec<String>, usize) {
        let said = self.notes.iter().filter(|n| n.ends_with("skipped")).count();
        if self.skipped > said {
            self.notes
                .push(format!("{} unreadable lines skipped in all", self.skipped));
        }
        (self.notes, self.skipped)
    }
}

/// Parses a recording held in memory. Unknown codes are passed over; a malformed line is
/// said and skipped; a cut last line (a crash) is said.
pub fn parse(text: &str, path: &Path) -> Result<Recording, RecordingError> {
    let mut lines = text.lines().enumerate();
    let first = lines.next().map_or("", |(_, l)| l);
    let (started_at, source) = parse_header(first, path)?;
    let total = text.lines().count();
    let mut items = Vec::new();
    let mut notes = Notes::default();
    for (n, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(line) {
            Line::Item(at, event) => items.push((at, event)),
            Line::Unknown => {}
            Line::NotJson(_) if n + 1 == total => {
                notes.cut(n + 1);
                break;
            }
            Line::NotJson(e) => notes.skip(n + 1, &format!("not JSON ({e})")),
            Line::Bad(why) => notes.skip(n + 1, &why),
        }
    }
    let (notes, skipped) = notes.finish();
    Ok(Recording {
        started_at,
        source,
        items,
        notes,
        skipped,
    })
}
