//! Recordings: newline-delimited JSON, the shape of asciicast v2.
//!
//! ```text
//! {"format":"mcptop-recording","version":1,"started_at":"…","source":{…}}
//! [0.000000,"s",{"state":"connecting","attempt":1}]
//! [0.012000,"e",{"event":"message","id":"7","data":"{…}"}]
//! [15.013000,"m",{"keepalive":true}]
//! ```
//!
//! Whole lines are appended and flushed one at a time, so a crash loses at most the
//! last line. Nothing secret is written: the source names the daemon and the session,
//! never a token, and URLs are written without credentials or query.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use crate::event::{SourceEvent, Status, Stop, Timed, Transport};
use crate::sse::{Decoder, Item, Limits};
use crate::time::Time;
use crate::wire::{decode_event, Frame};

pub const FORMAT: &str = "mcptop-recording";

/// What a recording says about where it came from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceInfo {
    pub daemon: Option<String>,
    pub session_id: Option<String>,
    pub label: Option<String>,
    pub transport: Option<String>,
}

/// Writes a recording as events arrive.
pub struct Recorder {
    out: BufWriter<File>,
    started: Time,
    path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error("cannot write the recording {}", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} already exists: give --force to replace it, or another name", .path.display())]
    Exists { path: PathBuf },
    #[error("{} is a symbolic link: a recording is never written through one", .path.display())]
    Symlink { path: PathBuf },
    #[error("cannot read {}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is a recording of version {version}; this mcptop reads version 1 (a newer mcptop made it?)", .path.display())]
    UnknownVersion { path: PathBuf, version: String },
    #[error("{} is neither a recording nor an event stream: no event in it (give a file from `tail --record`, or a capture of an SSE stream)", .path.display())]
    NotAStream { path: PathBuf },
    #[error("{}:{line}: {reason}", .path.display())]
    BadLine {
        path: PathBuf,
        line: usize,
        reason: String,
    },
}

/// A URL with no user, password, query or fragment.
pub fn redact_url(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or("");
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), url),
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("{scheme}{host}{path}")
}

impl Recorder {
    /// A new recording at `path`, private to this user (0600). An existing file is
    /// refused unless `force`; a symbolic link always is.
    pub fn create(
        path: &Path,
        started: Time,
        source: &SourceInfo,
    ) -> Result<Recorder, RecordingError> {
        Recorder::create_with(path, started, source, false)
    }

    /// [`Recorder::create`], replacing an existing regular file when `force`.
    pub fn create_with(
        path: &Path,
        started: Time,
        source: &SourceInfo,
        force: bool,
    ) -> Result<Recorder, RecordingError> {
        let err = |source| RecordingError::Write {
            path: path.to_owned(),
            source,
        };
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(RecordingError::Symlink {
                    path: path.to_owned(),
                })
            }
            Ok(_) if !force => {
                return Err(RecordingError::Exists {
                    path: path.to_owned(),
                })
            }
            Ok(_) => std::fs::remove_file(path).map_err(err)?,
            Err(_) => {}
        }
        let file: File = crate::discovery::create_private(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                RecordingError::Exists {
                    path: path.to_owned(),
                }
            } else {
                err(e)
            }
        })?;
        let mut recorder = Recorder {
            out: BufWriter::new(file),
            started,
            path: path.to_owned(),
        };
        let header = json!({
            "format": FORMAT,
            "version": 1,
            "started_at": started.to_rfc3339_nanos(),
            "source": {
                "daemon": source.daemon.as_deref().map(redact_url),
                "session_id": source.session_id,
                "label": source.label,
                "transport": source.transport,
            },
        });
        recorder.line(&header.to_string())?;
        Ok(recorder)
    }

    fn line(&mut self, text: &str) -> Result<(), RecordingError> {
        let result = self
            .out
            .write_all(text.as_bytes())
            .and_then(|()| self.out.write_all(b"\n"))
            .and_then(|()| self.out.flush());
        result.map_err(|source| RecordingError::Write {
            path: self.path.clone(),
            source,
        })
    }

    pub fn record(&mut self, timed: &Timed) -> Result<(), RecordingError> {
        let t = (timed.at - self.started)
            .num_microseconds()
            .unwrap_or(0)
            .max(0);
        let offset = format!("{}.{:06}", t / 1_000_000, t % 1_000_000);
        let (code, payload) = match &timed.event {
            SourceEvent::Event {
                event_type,
                data,
                id,
            } => ("e", json!({ "event": event_type, "id": id, "data": data })),
            SourceEvent::KeepAlive => ("m", json!({ "keepalive": true })),
            SourceEvent::Discarded { reason } => ("m", json!({ "discarded": reason })),
            SourceEvent::Status(status) => ("s", status_json(status)),
        };
        self.line(&format!("[{offset},\"{code}\",{payload}]"))
    }
}

fn status_json(status: &Status) -> Value {
    match status {
        Status::Connecting { attempt } => json!({ "state": "connecting", "attempt": attempt }),
        Status::Connected {
            transport,
            session_id,
            resumed,
        } => json!({
            "state": "connected",
            "transport": transport.as_str(),
            "session_id": session_id,
            "resumed": resumed,
        }),
        Status::Disconnected { reason, retry_in } => json!({
            "state": "disconnected",
            "reason": reason,
            "retry_in_ms": u64::try_from(retry_in.as_millis()).unwrap_or(u64::MAX),
        }),
        Status::Daemon { address, instance } => {
            json!({ "state": "daemon", "address": address, "instance": instance })
        }
        Status::Waiting { reason } => json!({ "state": "waiting", "reason": reason }),
        Status::Stopped(stop) => json!({ "state": "stopped", "reason": stop.message() }),
    }
}

fn status_from(value: &Value) -> Option<Status> {
    let text = |k: &str| {
        value
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    Some(match value.get("state")?.as_str()? {
        "connecting" => Status::Connecting {
            attempt: value.get("attempt").and_then(Value::as_u64).unwrap_or(1) as u32,
        },
        "connected" => Status::Connected {
            transport: match text("transport").as_str() {
                "ws" => Transport::Ws,
                "mcp" => Transport::Mcp,
                _ => Transport::Sse,
            },
            session_id: text("session_id"),
            resumed: value
                .get("resumed")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        },
        "disconnected" => Status::Disconnected {
            reason: text("reason"),
            retry_in: Duration::from_millis(
                value
                    .get("retry_in_ms")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
            ),
        },
        "stopped" => Status::Stopped(Stop::Fatal(text("reason"))),
        "waiting" => Status::Waiting {
            reason: text("reason"),
        },
        "daemon" => Status::Daemon {
            address: text("address"),
            instance: text("instance"),
        },
        _ => return None,
    })
}

/// A recording read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    pub started_at: Time,
    pub source: SourceInfo,
    /// Offsets from the start, in order.
    pub items: Vec<(Duration, SourceEvent)>,
    /// What was wrong with the file and passed over: corrupt lines (by number), a cut
    /// last line. Said before it plays.
    pub notes: Vec<String>,
    /// Lines that could not be read and were skipped.
    pub skipped: usize,
}

/// Whether these bytes start with a recording header.
pub fn is_recording(bytes: &[u8]) -> bool {
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    serde_json::from_slice::<Value>(first)
        .ok()
        .is_some_and(|v| v.get("format").and_then(Value::as_str) == Some(FORMAT))
}

/// Parses a recording. Unknown codes are skipped (a newer version may add some); a
/// malformed line is an error that names it, except a cut last line (a crash).
pub fn parse(text: &str, path: &Path) -> Result<Recording, RecordingError> {
    let bad = |line: usize, reason: String| RecordingError::BadLine {
        path: path.to_owned(),
        line,
        reason,
    };
    let mut lines = text.lines().enumerate();
    let header: Value = lines
        .next()
        .and_then(|(_, l)| serde_json::from_str(l).ok())
        .ok_or_else(|| bad(1, "not a recording header".into()))?;
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
        .ok_or_else(|| bad(1, "the header has no valid started_at".into()))?;
    let src = header.get("source").cloned().unwrap_or(Value::Null);
    let field = |k: &str| src.get(k).and_then(Value::as_str).map(str::to_owned);
    let source = SourceInfo {
        daemon: field("daemon"),
        session_id: field("session_id"),
        label: field("label"),
        transport: field("transport"),
    };
    let total = text.lines().count();
    let mut items = Vec::new();
    let mut notes = Vec::new();
    let mut skipped = 0usize;
    // A bad line is said (the first few by number) and skipped: one corrupt line must
    // not cost the rest of the recording.
    let mut skip = |notes: &mut Vec<String>, line: usize, why: String| {
        skipped += 1;
        if notes.len() < 10 {
            notes.push(format!("line {line}: {why}; skipped"));
        }
    };
    for (n, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            // A crash can cut the last line; everything before it stands.
            Err(_) if n + 1 == total => {
                notes.push(format!(
                    "line {}: the last line is cut off (a crash, or the recording is still being written)",
                    n + 1
                ));
                break;
            }
            Err(e) => {
                skip(&mut notes, n + 1, format!("not JSON ({e})"));
                continue;
            }
        };
        let (Some(t), Some(code)) = (
            value.get(0).and_then(Value::as_f64),
            value.get(1).and_then(Value::as_str),
        ) else {
            skip(&mut notes, n + 1, "not [seconds, code, payload]".into());
            continue;
        };
        let Some(at) = crate::time::duration_from_secs(t.max(0.0)) else {
            skip(
                &mut notes,
                n + 1,
                format!("a time of {t} s is out of range"),
            );
            continue;
        };
        let payload = value.get(2).cloned().unwrap_or(Value::Null);
        let event = match code {
            "e" => {
                let s = |k: &str| payload.get(k).and_then(Value::as_str).map(str::to_owned);
                let Some(data) = s("data") else {
                    skip(&mut notes, n + 1, "an event without data".into());
                    continue;
                };
                SourceEvent::Event {
                    event_type: s("event").unwrap_or_else(|| "message".into()),
                    data,
                    id: s("id").unwrap_or_default(),
                }
            }
            "s" => match status_from(&payload) {
                Some(s) => SourceEvent::Status(s),
                None => continue,
            },
            "m" if payload.get("keepalive").is_some() => SourceEvent::KeepAlive,
            "m" if payload.get("discarded").is_some() => SourceEvent::Discarded {
                reason: payload["discarded"].as_str().unwrap_or("").to_owned(),
            },
            _ => continue,
        };
        items.push((at, event));
    }
    if skipped > notes.iter().filter(|n| n.ends_with("skipped")).count() {
        notes.push(format!("{skipped} unreadable lines skipped in all"));
    }
    Ok(Recording {
        started_at,
        source,
        items,
        notes,
        skipped,
    })
}

/// How fast to play.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// Real time multiplied by this factor.
    Factor(f64),
    /// No waits at all.
    Max,
}

impl std::str::FromStr for Speed {
    type Err = String;

    fn from_str(s: &str) -> Result<Speed, String> {
        if s.eq_ignore_ascii_case("max") {
            return Ok(Speed::Max);
        }
        match s.trim_end_matches(['x', 'X']).parse::<f64>() {
            Ok(f) if f.is_finite() && (0.001..=1e6).contains(&f) => Ok(Speed::Factor(f)),
            _ => Err(format!(
                "invalid speed {s:?}: give a factor from 0.001 to 1000000 (0.5, 2, 10x) or `max`"
            )),
        }
    }
}

/// Reads a recording or a raw SSE capture.
pub fn load(path: &Path) -> Result<Recording, RecordingError> {
    let bytes = std::fs::read(path).map_err(|source| RecordingError::Read {
        path: path.to_owned(),
        source,
    })?;
    if is_recording(&bytes) {
        parse(&String::from_utf8_lossy(&bytes), path)
    } else {
        let modified = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .map(|t| Time::from(chrono::DateTime::<chrono::Utc>::from(t)));
        let recording = from_sse(&bytes, modified.unwrap_or_else(Time::now));
        // A file that is neither (a binary, a log) must not sit there "replaying" nothing.
        let events = recording
            .items
            .iter()
            .any(|(_, e)| matches!(e, SourceEvent::Event { .. }));
        if !events {
            return Err(RecordingError::NotAStream {
                path: path.to_owned(),
            });
        }
        Ok(recording)
    }
}

/// A raw capture: every event and keep-alive, timed by the events' own timestamps where
/// they have them (a capture holds no arrival times); `fallback_start` when none has.
pub fn from_sse(bytes: &[u8], fallback_start: Time) -> Recording {
    let mut decoder = Decoder::new(Limits::default());
    let mut stamped: Vec<(Option<Time>, SourceEvent)> = Vec::new();
    decoder.feed(bytes, &mut |item| match item {
        Item::Event(e) => {
            let stamp = match decode_event(e.event_type, e.data, e.last_event_id) {
                Frame::Progress(p) => p.timestamp,
                Frame::Call(c) => c.timestamp,
                _ => None,
            };
            stamped.push((
                stamp,
                SourceEvent::Event {
                    event_type: e.event_type.to_owned(),
                    data: e.data.to_owned(),
                    id: e.last_event_id.to_owned(),
                },
            ));
        }
        Item::Comment => stamped.push((None, SourceEvent::KeepAlive)),
        Item::Dropped(dropped) => stamped.push((
            None,
            SourceEvent::Discarded {
                reason: crate::sse::discard_reason(&dropped),
            },
        )),
        Item::Retry(_) => {}
    });
    let start = stamped
        .iter()
        .find_map(|(t, _)| *t)
        .unwrap_or(fallback_start);
    let mut last = Duration::ZERO;
    let items = stamped
        .into_iter()
        .map(|(t, event)| {
            if let Some(t) = t {
                // Never back in time: an out-of-order stamp plays at once.
                last = last.max((t - start).to_std().unwrap_or(Duration::ZERO));
            }
            (last, event)
        })
        .collect();
    Recording {
        started_at: start,
        source: SourceInfo::default(),
        items,
        notes: Vec::new(),
        skipped: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_credentials_and_queries() {
        assert_eq!(
            redact_url("http://u:p@127.0.0.1:1/ws?mcp_token=x"),
            "http://127.0.0.1:1/ws"
        );
        assert_eq!(redact_url("http://127.0.0.1:1"), "http://127.0.0.1:1");
    }

    #[test]
    fn a_recording_reads_back_what_was_written() {
        let dir = std::env::temp_dir().join(format!("mcptop-rec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.jsonl");
        let started = Time::from_unix_nanos(1_700_000_000_000_000_000);
        let at = |us: i64| Time::from_unix_nanos(1_700_000_000_000_000_000 + us * 1000);
        let events = vec![
            Timed {
                at: at(0),
                event: SourceEvent::Status(Status::Connecting { attempt: 1 }),
            },
            Timed {
                at: at(12_345),
                event: SourceEvent::Event {
                    event_type: "call".into(),
                    data: "{\"a\":\"line\\nbreak\"}".into(),
                    id: "7".into(),
                },
            },
            Timed {
                at: at(15_000_001),
                event: SourceEvent::KeepAlive,
            },
        ];
        let mut recorder = Recorder::create(&path, started, &SourceInfo::default()).unwrap();
        for e in &events {
            recorder.record(e).unwrap();
        }
        drop(recorder);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(is_recording(text.as_bytes()));
        let back = parse(&text, &path).unwrap();
        assert_eq!(back.started_at, started);
        let again: Vec<Timed> = back
            .items
            .into_iter()
            .map(|(d, event)| Timed {
                at: started + chrono::TimeDelta::from_std(d).unwrap(),
                event,
            })
            .collect();
        assert_eq!(again, events);
        // A cut last line is tolerated; a bad line in the middle is not.
        let cut = format!("{text}[1.0,\"e\",{{\"da");
        assert_eq!(parse(&cut, &path).unwrap().items.len(), 3);
        let broken = text.replacen("[0.012345", "[x", 1);
        let read = parse(&broken, &path).unwrap();
        assert_eq!(
            read.items.len(),
            2,
            "the bad line is skipped, the rest stands"
        );
        assert_eq!(read.skipped, 1);
        assert!(
            read.notes[0].starts_with("line 3: not JSON"),
            "{:?}",
            read.notes
        );
        let cut = parse(&format!("{text}[1.0,\"e\",{{\"da"), &path).unwrap();
        assert!(
            cut.notes[0].contains("the last line is cut off"),
            "{:?}",
            cut.notes
        );
        let newer = text.replacen("\"version\":1", "\"version\":99", 1);
        assert!(matches!(
            parse(&newer, &path),
            Err(RecordingError::UnknownVersion { .. })
        ));
        // Never over an existing file unless forced, never through a link, always 0600.
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let again = Recorder::create(&path, started, &SourceInfo::default());
        assert!(matches!(again, Err(RecordingError::Exists { .. })));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            text,
            "left untouched"
        );
        Recorder::create_with(&path, started, &SourceInfo::default(), true).unwrap();
        let victim = dir.join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let link = dir.join("link.jsonl");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        for force in [false, true] {
            let through = Recorder::create_with(&link, started, &SourceInfo::default(), force);
            assert!(matches!(through, Err(RecordingError::Symlink { .. })));
        }
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
