//! A recording's events by index, for playing and seeking: held in memory, or indexed on
//! disk (a large recording is never held whole).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::event::{LinkStatus, SourceEvent};
use crate::time::Time;

use super::lines::{parse_header, parse_line, Line, Notes};
use super::{RecordingError, SourceInfo};

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
