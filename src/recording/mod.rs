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
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::event::SourceEvent;
use crate::time::Time;

mod import;
mod lines;
mod status;
mod tape;
mod write;

pub use import::from_sse;
pub use lines::parse;
pub use tape::{Indexed, Tape};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{LinkStatus, Timed, Transport};

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
