//! Writing a recording: its header, then one line per source event, each flushed whole.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use serde_json::json;

use crate::event::{SourceEvent, Timed};
use crate::time::Time;

use super::status::status_json;
use super::{redact_url, Recorder, RecordingError, SourceInfo, FORMAT};

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
