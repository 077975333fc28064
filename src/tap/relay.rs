//! Relaying newline-delimited JSON-RPC one way while the tap watches it.
//!
//! In pass-through mode each read is written on as it came, byte for byte: a small one
//! right after the observer has looked at it (microseconds), a large one before; lines
//! are gathered on the side for the observer. When
//! messages may be rewritten (`--request-progress`) a line is written once it is complete,
//! as the observer's verdict says.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use std::io::{Read, Write};

use super::observe::{Direction, Item, Observer, Pass};
use super::publish::Publisher;
use crate::time::Time;

/// Lines longer than this are relayed but not observed.
pub const MAX_OBSERVED_LINE: usize = 64 * 1024 * 1024;

/// Reads up to this size are observed before they are passed on.
const OBSERVE_FIRST_MAX: usize = 64 * 1024;

/// What a relay did.
#[derive(Debug, Default, Clone, Copy)]
pub struct RelayStats {
    pub bytes: u64,
    pub messages: u64,
    /// Lines too long to observe (relayed all the same).
    pub unobserved: u64,
}

pub struct Relay {
    pub direction: Direction,
    pub observer: Arc<Mutex<Observer>>,
    pub publisher: Publisher,
    /// Messages may be replaced or dropped: write whole lines after observing them.
    pub rewrite: bool,
}

impl Relay {
    /// Copies `from` to `to` until `from` ends (blocking: run it on a thread of its own,
    /// so a message goes from one pipe to the other with no hand-over in between).
    pub fn run<R: Read, W: Write>(&self, mut from: R, mut to: W) -> std::io::Result<RelayStats> {
        let mut stats = RelayStats::default();
        let mut buf = vec![0u8; 64 * 1024];
        let mut line: Vec<u8> = Vec::new();
        // Past the observation cap: the rest of this line is relayed unobserved.
        let mut oversize = false;
        let mut items = Vec::new();
        loop {
            let n = match from.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                break;
            }
            let chunk = &buf[..n];
            stats.bytes += n as u64;
            // Small messages are observed before they are passed on (a microsecond or
            // two), so the monitor learns of an answer before the agent can react to it
            // (e.g. the server's name before the first call). Large ones go first.
            let observe_first = line.len() + n <= OBSERVE_FIRST_MAX;
            if !self.rewrite && !observe_first {
                to.write_all(chunk)?;
                to.flush()?;
            }
            let mut start = 0;
            for end in memchr::memchr_iter(b'\n', chunk) {
                let piece = &chunk[start..=end];
                start = end + 1;
                if oversize {
                    oversize = false;
                    if self.rewrite {
                        to.write_all(piece)?;
                    }
                    continue;
                }
                let whole: &[u8] = if line.is_empty() {
                    piece
                } else {
                    line.extend_from_slice(piece);
                    &line
                };
                stats.messages += 1;
                let verdict = self.look(whole, &mut items);
                // Queued before the message is passed on: the other direction may observe
                // the peer's reaction to it (a call right after `initialize`) before this
                // loop ends, and the monitor must hear of them in that order.
                if !items.is_empty() {
                    self.publisher.send_all(&mut items);
                }
                if self.rewrite {
                    match verdict {
                        Pass::Forward => to.write_all(whole)?,
                        Pass::Replace(text) => {
                            to.write_all(text.as_bytes())?;
                            to.write_all(b"\n")?;
                        }
                        Pass::Drop => {}
                    }
                }
                line.clear();
            }
            let rest = &chunk[start..];
            if oversize {
                if self.rewrite {
                    to.write_all(rest)?;
                }
            } else {
                line.extend_from_slice(rest);
                if line.len() > MAX_OBSERVED_LINE {
                    stats.unobserved += 1;
                    oversize = true;
                    if self.rewrite {
                        to.write_all(&line)?;
                    }
                    line = Vec::new();
                }
            }
            if !self.rewrite && observe_first {
                to.write_all(chunk)?;
            }
            to.flush()?;
            self.publisher.send_all(&mut items);
        }
        // A last message without its newline.
        if !line.is_empty() && !oversize {
            stats.messages += 1;
            let verdict = self.look(&line, &mut items);
            if self.rewrite {
                match verdict {
                    Pass::Forward => to.write_all(&line)?,
                    Pass::Replace(text) => to.write_all(text.as_bytes())?,
                    Pass::Drop => {}
                }
            }
            self.publisher.send_all(&mut items);
        }
        to.flush()?;
        Ok(stats)
    }

    fn look(&self, line: &[u8], items: &mut Vec<Item>) -> Pass {
        let Ok(text) = std::str::from_utf8(line) else {
            return Pass::Forward;
        };
        let text = text.trim();
        if text.is_empty() {
            return Pass::Forward;
        }
        self.observer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .observe(
                self.direction,
                "",
                text,
                (Instant::now(), Time::now()),
                items,
            )
    }
}
