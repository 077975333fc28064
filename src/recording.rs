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

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::event::{LinkStatus, SourceEvent, Stop, Timed, Transport};
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

/// The link's news as a recording keeps it (`[offset,"s",{…}]`), typed both ways: the
/// same names and units as `--json` says them (`retry_in_s`), and every field the live
/// status has, so a replay sees what the monitor saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
enum RecordedStatus {
    Connecting {
        #[serde(default = "first_attempt")]
        attempt: u32,
    },
    Connected {
        #[serde(default)]
        transport: String,
        #[serde(default)]
        session_id: String,
        #[serde(default)]
        resumed: bool,
    },
    Disconnected {
        #[serde(default)]
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_in_s: Option<f64>,
        /// How recordings said it before `retry_in_s` (read, never written).
        #[serde(default, skip_serializing)]
        retry_in_ms: Option<u64>,
    },
    Daemon {
        #[serde(default)]
        address: String,
        #[serde(default)]
        instance: String,
        #[serde(default)]
        quiet_hint: Option<String>,
    },
    DaemonCounts {
        #[serde(default)]
        spans_dropped: u64,
        #[serde(default)]
        export_error: Option<String>,
        #[serde(default)]
        otlp_refused: u64,
        #[serde(default)]
        otlp_strangers: u64,
    },
    Waiting {
        #[serde(default)]
        reason: String,
    },
    Stopped {
        #[serde(default)]
        reason: String,
    },
}

fn first_attempt() -> u32 {
    1
}

fn status_json(status: &LinkStatus) -> Value {
    let recorded = match status {
        LinkStatus::Connecting { attempt } => RecordedStatus::Connecting { attempt: *attempt },
        LinkStatus::Connected {
            transport,
            session_id,
            resumed,
        } => RecordedStatus::Connected {
            transport: transport.as_str().to_owned(),
            session_id: session_id.clone(),
            resumed: *resumed,
        },
        LinkStatus::Disconnected { reason, retry_in } => RecordedStatus::Disconnected {
            reason: reason.clone(),
            retry_in_s: Some(retry_in.as_secs_f64()),
            retry_in_ms: None,
        },
        LinkStatus::Daemon {
            address,
            instance,
            quiet_hint,
        } => RecordedStatus::Daemon {
            address: address.clone(),
            instance: instance.clone(),
            quiet_hint: quiet_hint.clone(),
        },
        LinkStatus::DaemonCounts(c) => RecordedStatus::DaemonCounts {
            spans_dropped: c.spans_dropped,
            export_error: c.export_error.clone(),
            otlp_refused: c.otlp_refused,
            otlp_strangers: c.otlp_strangers,
        },
        LinkStatus::Waiting { reason } => RecordedStatus::Waiting {
            reason: reason.clone(),
        },
        LinkStatus::Stopped(stop) => RecordedStatus::Stopped {
            reason: stop.message(),
        },
    };
    // Strings, numbers and bools only: this cannot fail.
    serde_json::to_value(recorded).unwrap_or(Value::Null)
}

fn status_from(value: &Value) -> Option<LinkStatus> {
    let recorded = RecordedStatus::deserialize(value).ok()?;
    Some(match recorded {
        RecordedStatus::Connecting { attempt } => LinkStatus::Connecting { attempt },
        RecordedStatus::Connected {
            transport,
            session_id,
            resumed,
        } => LinkStatus::Connected {
            transport: match transport.as_str() {
                "sse" => Transport::Sse,
                "ws" => Transport::Ws,
                "mcp" => Transport::Mcp,
                // Not read as one it is not: the line is said and skipped.
                _ => return None,
            },
            session_id,
            resumed,
        },
        RecordedStatus::Disconnected {
            reason,
            retry_in_s,
            retry_in_ms,
        } => LinkStatus::Disconnected {
            reason,
            retry_in: match (retry_in_s, retry_in_ms) {
                // A recording is from outside: a negative, endless or huge pause is none.
                (Some(s), _) => Duration::try_from_secs_f64(s).unwrap_or_default(),
                (None, Some(ms)) => Duration::from_millis(ms),
                (None, None) => Duration::ZERO,
            },
        },
        RecordedStatus::Stopped { reason } => LinkStatus::Stopped(Stop::Fatal(reason)),
        RecordedStatus::Waiting { reason } => LinkStatus::Waiting { reason },
        RecordedStatus::Daemon {
            address,
            instance,
            quiet_hint,
        } => LinkStatus::Daemon {
            address,
            instance,
            quiet_hint,
        },
        RecordedStatus::DaemonCounts {
            spans_dropped,
            export_error,
            otlp_refused,
            otlp_strangers,
        } => LinkStatus::DaemonCounts(crate::event::DaemonCounts {
            spans_dropped,
            // A recording is from outside: its text is cut and cleaned like a live one.
            export_error: export_error
                .map(|e| crate::sanitize::cut(&crate::sanitize::terminal(&e), 160).into_owned()),
            otlp_refused,
            otlp_strangers,
        }),
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

/// The header line of a recording: when it started and where it came from.
fn parse_header(line: &str, path: &Path) -> Result<(Time, SourceInfo), RecordingError> {
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
enum Line {
    Item(Duration, SourceEvent),
    /// A code this version does not know (a newer one may add some): passed over.
    Unknown,
    /// Not JSON at all (a cut line, when it is the last).
    NotJson(String),
    Bad(String),
}

fn parse_line(line: &str) -> Line {
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
struct Notes {
    notes: Vec<String>,
    skipped: usize,
}

impl Notes {
    /// A bad line is said (the first few by number) and skipped: one corrupt line must
    /// not cost the rest of the recording.
    fn skip(&mut self, line: usize, why: &str) {
        self.skipped += 1;
        if self.notes.len() < 10 {
            self.notes.push(format!("line {line}: {why}; skipped"));
        }
    }

    fn cut(&mut self, line: usize) {
        self.notes.push(format!(
            "line {line}: the last line is cut off (a crash, or the recording is still being written)"
        ));
    }

    fn finish(mut self) -> (Vec<String>, usize) {
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

/// The events of a recording, one by one, by index: held in memory, or read from the
/// file on demand (a large recording is never held whole).
pub trait Tape {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// When item `i` happened, from the start.
    fn at(&self, i: usize) -> Duration;
    /// Item `i` (read from the file for an indexed recording).
    fn event(&self, i: usize) -> Option<SourceEvent>;
    /// Whether item `i` is a connection change (the replay's markers).
    fn is_marker(&self, i: usize) -> bool;
}

fn marker(event: &SourceEvent) -> bool {
    matches!(
        event,
        SourceEvent::Status(LinkStatus::Connected { .. } | LinkStatus::Disconnected { .. })
    )
}

impl Tape for Vec<(Duration, SourceEvent)> {
    fn len(&self) -> usize {
        <[_]>::len(self)
    }
    fn at(&self, i: usize) -> Duration {
        self.get(i).map_or(Duration::ZERO, |(at, _)| *at)
    }
    fn event(&self, i: usize) -> Option<SourceEvent> {
        self.get(i).map(|(_, e)| e.clone())
    }
    fn is_marker(&self, i: usize) -> bool {
        self.get(i).is_some_and(|(_, e)| marker(e))
    }
}

/// A recording on disk with an index of where each item's line is: 16 bytes an item in
/// memory, however large the file. Items are read back when played; reading in order
/// costs no seek.
pub struct Indexed {
    pub started_at: Time,
    pub source: SourceInfo,
    pub notes: Vec<String>,
    pub skipped: usize,
    path: PathBuf,
    /// Each item's time, where its line starts, its length, and whether it is a marker.
    entries: Vec<(Duration, u64, u32, bool)>,
    reader: std::sync::Mutex<Option<(u64, std::io::BufReader<File>)>>,
}

impl Indexed {
    /// Reads the file once, line by line, keeping only where each item is.
    pub fn open(path: &Path) -> Result<Indexed, RecordingError> {
        use std::io::BufRead;
        let read_err = |source| RecordingError::Read {
            path: path.to_owned(),
            source,
        };
        let file = File::open(path).map_err(read_err)?;
        let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
        let mut line = Vec::new();
        let mut offset = 0u64;
        let n = reader.read_until(b'\n', &mut line).map_err(read_err)?;
        offset += n as u64;
        let (started_at, source) = parse_header(&String::from_utf8_lossy(&line), path)?;
        let mut entries = Vec::new();
        let mut notes = Notes::default();
        let mut number = 1usize;
        // A line that is not JSON is judged when the next read says whether it was last.
        let mut pending: Option<(usize, String)> = None;
        loop {
            line.clear();
            let n = reader.read_until(b'\n', &mut line).map_err(read_err)?;
            if n == 0 {
                break;
            }
            number += 1;
            if let Some((at, e)) = pending.take() {
                notes.skip(at, &format!("not JSON ({e})"));
            }
            let start = offset;
            offset += n as u64;
            let text = String::from_utf8_lossy(&line);
            if text.trim().is_empty() {
                continue;
            }
            match parse_line(text.trim_end_matches(['\n', '\r'])) {
                Line::Item(at, event) => {
                    let len = u32::try_from(n).unwrap_or(u32::MAX);
                    entries.push((at, start, len, marker(&event)));
                }
                Line::Unknown => {}
                Line::NotJson(e) => pending = Some((number, e)),
                Line::Bad(why) => notes.skip(number, &why),
            }
        }
        if let Some((at, _)) = pending {
            notes.cut(at);
        }
        let (notes, skipped) = notes.finish();
        Ok(Indexed {
            started_at,
            source,
            notes,
            skipped,
            path: path.to_owned(),
            entries,
            reader: std::sync::Mutex::new(None),
        })
    }

    fn read(&self, i: usize) -> Option<SourceEvent> {
        use std::io::{Read, Seek, SeekFrom};
        let &(_, offset, len, _) = self.entries.get(i)?;
        let mut cached = self
            .reader
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cached.as_ref().is_none_or(|(at, _)| *at != offset) {
            let mut file = std::io::BufReader::with_capacity(1 << 16, File::open(&self.path).ok()?);
            file.seek(SeekFrom::Start(offset)).ok()?;
            *cached = Some((offset, file));
        }
        let (at, reader) = cached.as_mut()?;
        let mut line = vec![0u8; len as usize];
        reader.read_exact(&mut line).ok()?;
        *at += u64::from(len);
        match parse_line(String::from_utf8_lossy(&line).trim_end_matches(['\n', '\r'])) {
            Line::Item(_, event) => Some(event),
            _ => None,
        }
    }
}

impl Tape for Indexed {
    fn len(&self) -> usize {
        self.entries.len()
    }
    fn at(&self, i: usize) -> Duration {
        self.entries.get(i).map_or(Duration::ZERO, |e| e.0)
    }
    fn event(&self, i: usize) -> Option<SourceEvent> {
        self.read(i)
    }
    fn is_marker(&self, i: usize) -> bool {
        self.entries.get(i).is_some_and(|e| e.3)
    }
}

/// A file opened for replay: a recording indexed on disk, or a raw SSE capture (decoded
/// into memory: it has no lines to index by).
pub struct Opened {
    pub started_at: Time,
    pub source: SourceInfo,
    pub notes: Vec<String>,
    pub skipped: usize,
    pub tape: Box<dyn Tape + Send>,
}

/// Opens a recording or a raw SSE capture for replay, holding a recording's index only.
pub fn open(path: &Path) -> Result<Opened, RecordingError> {
    use std::io::Read;
    let mut head = Vec::new();
    File::open(path)
        .and_then(|f| f.take(64 * 1024).read_to_end(&mut head))
        .map_err(|source| RecordingError::Read {
            path: path.to_owned(),
            source,
        })?;
    if is_recording(&head) {
        let indexed = Indexed::open(path)?;
        return Ok(Opened {
            started_at: indexed.started_at,
            source: indexed.source.clone(),
            notes: indexed.notes.clone(),
            skipped: indexed.skipped,
            tape: Box::new(indexed),
        });
    }
    let recording = load(path)?;
    Ok(Opened {
        started_at: recording.started_at,
        source: recording.source,
        notes: recording.notes,
        skipped: recording.skipped,
        tape: Box::new(recording.items),
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
    fn every_link_status_reads_back_as_it_was_written() {
        let all = [
            LinkStatus::Connecting { attempt: 3 },
            LinkStatus::Connected {
                transport: Transport::Ws,
                session_id: "s1".into(),
                resumed: true,
            },
            LinkStatus::Disconnected {
                reason: "connection refused".into(),
                retry_in: Duration::from_millis(1250),
            },
            LinkStatus::Daemon {
                address: "127.0.0.1:9".into(),
                instance: "pid 7 · started 10:00".into(),
                quiet_hint: Some("no progress".into()),
            },
            LinkStatus::DaemonCounts(crate::event::DaemonCounts {
                spans_dropped: 4,
                export_error: Some("503".into()),
                otlp_refused: 1,
                otlp_strangers: 2,
            }),
            LinkStatus::Waiting {
                reason: "no daemon".into(),
            },
            LinkStatus::Stopped(Stop::Fatal("gone".into())),
        ];
        for status in all {
            let json = status_json(&status);
            assert_eq!(status_from(&json), Some(status.clone()), "{json}");
        }
        // The retry as `--json` says it; older recordings said milliseconds.
        let written = status_json(&LinkStatus::Disconnected {
            reason: String::new(),
            retry_in: Duration::from_millis(1500),
        });
        assert_eq!(written["retry_in_s"], 1.5);
        assert!(written.get("retry_in_ms").is_none());
        let old = json!({"state": "disconnected", "reason": "x", "retry_in_ms": 2500});
        assert_eq!(
            status_from(&old),
            Some(LinkStatus::Disconnected {
                reason: "x".into(),
                retry_in: Duration::from_millis(2500)
            })
        );
        // From outside: a pause that is no duration is none, a wrong type no status.
        let bad = json!({"state": "disconnected", "retry_in_s": -1.0});
        assert!(
            matches!(status_from(&bad), Some(LinkStatus::Disconnected { retry_in, .. }) if retry_in.is_zero())
        );
        assert_eq!(
            status_from(&json!({"state": "connecting", "attempt": "x"})),
            None
        );
        assert_eq!(status_from(&json!({"state": "paused"})), None);
    }

    #[test]
    fn urls_lose_credentials_and_queries() {
        assert_eq!(
            redact_url("http://u:p@127.0.0.1:1/ws?mcp_token=x"),
            "http://127.0.0.1:1/ws"
        );
        assert_eq!(redact_url("http://127.0.0.1:1"), "http://127.0.0.1:1");
    }

    #[test]
    fn a_connection_over_an_unknown_transport_is_said_not_read_as_sse() {
        let path = Path::new("r.jsonl");
        let header = r#"{"format":"mcptop-recording","version":1,"started_at":"2026-12-05T10:00:00Z","source":{}}"#;
        let line = |transport: &str| {
            format!(r#"[0.1,"s",{{"state":"connected","transport":{transport},"session_id":"s"}}]"#)
        };
        for (transport, read) in [
            ("\"sse\"", Some(Transport::Sse)),
            ("\"ws\"", Some(Transport::Ws)),
            ("\"mcp\"", Some(Transport::Mcp)),
            ("\"quic\"", None),
            ("null", None),
        ] {
            let text = format!("{header}\n{}\n", line(transport));
            let recording = parse(&text, path).unwrap();
            match read {
                Some(expected) => {
                    let got = recording.items.first().map(|(_, e)| e.clone());
                    assert!(
                        matches!(got, Some(SourceEvent::Status(LinkStatus::Connected { transport, .. })) if transport == expected),
                        "{transport:?}: {got:?}"
                    );
                }
                None => {
                    assert!(recording.items.is_empty(), "{transport}");
                    assert_eq!(recording.skipped, 1, "{transport}");
                    assert!(
                        recording.notes[0].contains("unknown transport"),
                        "{:?}",
                        recording.notes
                    );
                }
            }
        }
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
                event: SourceEvent::Status(LinkStatus::Connecting { attempt: 1 }),
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
            Timed {
                at: at(16_000_000),
                event: SourceEvent::Status(LinkStatus::DaemonCounts(crate::event::DaemonCounts {
                    spans_dropped: 3,
                    export_error: Some("the collector answered 503".into()),
                    otlp_refused: 1,
                    otlp_strangers: 2,
                })),
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
        assert_eq!(parse(&cut, &path).unwrap().items.len(), 4);
        let broken = text.replacen("[0.012345", "[x", 1);
        let read = parse(&broken, &path).unwrap();
        assert_eq!(
            read.items.len(),
            3,
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

    #[test]
    fn an_indexed_recording_reads_back_what_was_recorded() {
        let dir = std::env::temp_dir().join(format!("mcptop-idx-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.jsonl");
        let started = Time::from_unix_nanos(1_700_000_000_000_000_000);
        let mut recorder = Recorder::create(&path, started, &SourceInfo::default()).unwrap();
        let mut events = Vec::new();
        for i in 0..500i64 {
            let event = match i % 3 {
                0 => SourceEvent::KeepAlive,
                1 => SourceEvent::Status(LinkStatus::Connecting { attempt: 1 }),
                _ => SourceEvent::Event {
                    event_type: "message".into(),
                    data: format!("{{\"token\":{i},\"progress\":1,\"m\":\"é\\n{i}\"}}"),
                    id: i.to_string(),
                },
            };
            let timed = Timed {
                at: started + chrono::TimeDelta::milliseconds(i * 7),
                event,
            };
            recorder.record(&timed).unwrap();
            events.push(timed);
        }
        drop(recorder);
        // A corrupt line in the middle and a cut last line.
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        lines.insert(100, "{broken");
        let broken = format!("{}\n[9.9,\"e\",{{\"da", lines.join("\n"));
        std::fs::write(&path, &broken).unwrap();
        let whole = parse(&broken, &path).unwrap();
        let indexed = Indexed::open(&path).unwrap();
        assert_eq!(indexed.len(), whole.items.len());
        assert_eq!(indexed.len(), 500);
        assert_eq!((indexed.skipped, whole.skipped), (1, 1));
        assert_eq!(indexed.notes, whole.notes);
        // In order, and out of order (a seek back), the same items.
        for i in (0..indexed.len()).chain([3, 499, 0, 250]) {
            assert_eq!(indexed.at(i), whole.items[i].0, "{i}");
            assert_eq!(indexed.event(i).as_ref(), Some(&whole.items[i].1), "{i}");
        }
        let opened = open(&path).unwrap();
        assert_eq!(opened.tape.len(), 500);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
