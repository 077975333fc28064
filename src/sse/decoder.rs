//! The incremental event-stream decoder (WHATWG HTML, "event stream interpretation").
//!
//! Sans-IO: bytes go in through [`Decoder::feed`], items come out through a callback, in
//! stream order, for any chunking of the input. No socket, no clock, no async.
//!
//! Why bytes and not chars: line terminators (CR, LF) and the field separator (`:`) are ASCII,
//! and an ASCII byte never occurs inside a UTF-8 multi-byte sequence. Splitting lines and
//! fields on raw bytes and decoding each value afterwards therefore gives exactly the result
//! of decoding the whole stream first, including U+FFFD for invalid sequences, while a
//! character split across two chunks simply sits in the line buffer until its line ends.

use std::borrow::Cow;

use memchr::{memchr, memchr2_iter};

/// Default cap on one line and on one event's data: 16 MiB.
pub const DEFAULT_MAX_BYTES: usize = 16 << 20;

const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// Caps that keep memory bounded whatever the peer sends.
///
/// A line longer than `max_line_bytes`, or an event whose data grows past
/// `max_event_bytes`, drops the event it belongs to: the decoder reports it once as
/// [`Item::Dropped`], ignores that event's remaining `data`/`event` lines, and resumes
/// normally after the blank line that ends it. `id` and `retry` lines inside a dropped
/// event still take effect, so a later resume does not ask for the dropped event again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_line_bytes: usize,
    pub max_event_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_bytes: DEFAULT_MAX_BYTES,
            max_event_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

impl Limits {
    /// The same cap for lines and events.
    pub fn uniform(max_bytes: usize) -> Self {
        Limits {
            max_line_bytes: max_bytes,
            max_event_bytes: max_bytes,
        }
    }
}

/// One dispatched event, borrowed from the decoder's buffers for the duration of the
/// callback. Use [`EventRef::to_owned`] to keep it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRef<'a> {
    /// The `event:` field, or `"message"` when the event had none (or an empty one).
    pub event_type: &'a str,
    /// The `data:` lines joined with LF.
    pub data: &'a str,
    /// The last event id in force when the event was dispatched (`""` if none).
    pub last_event_id: &'a str,
}

/// An owned event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Event {
    pub event_type: String,
    pub data: String,
    pub last_event_id: String,
}

impl EventRef<'_> {
    pub fn to_owned(&self) -> Event {
        Event {
            event_type: self.event_type.to_owned(),
            data: self.data.to_owned(),
            last_event_id: self.last_event_id.to_owned(),
        }
    }
}

/// Why an event was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// A line of the event was longer than [`Limits::max_line_bytes`].
    LineTooLong,
    /// The event's data grew past [`Limits::max_event_bytes`].
    EventTooLarge,
}

/// A report that an event was dropped because it broke a cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    pub reason: DropReason,
    /// The cap that was exceeded, in bytes.
    pub limit: usize,
}

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.reason {
            DropReason::LineTooLong => {
                write!(f, "dropped an event with a line over {} bytes", self.limit)
            }
            DropReason::EventTooLarge => {
                write!(f, "dropped an event with over {} bytes of data", self.limit)
            }
        }
    }
}

/// What the decoder reports, in stream order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<'a> {
    Event(EventRef<'a>),
    /// A `retry:` field made only of ASCII digits: the reconnection time in milliseconds.
    Retry(u64),
    /// A comment line (`:` …); servers use them as keep-alives.
    Comment,
    /// An event was dropped for breaking a cap.
    Dropped(Dropped),
}

/// An owned [`Item`], for callers that collect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedItem {
    Event(Event),
    Retry(u64),
    Comment,
    Dropped(Dropped),
}

impl From<Item<'_>> for OwnedItem {
    fn from(item: Item<'_>) -> Self {
        match item {
            Item::Event(e) => OwnedItem::Event(e.to_owned()),
            Item::Retry(ms) => OwnedItem::Retry(ms),
            Item::Comment => OwnedItem::Comment,
            Item::Dropped(d) => OwnedItem::Dropped(d),
        }
    }
}

/// Counters since the decoder was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bytes fed.
    pub bytes: u64,
    /// Events dispatched.
    pub events: u64,
    /// Bytes of data in dispatched events.
    pub data_bytes: u64,
    /// Comment lines seen.
    pub comments: u64,
    /// Retry values accepted.
    pub retries: u64,
    /// Events dropped for breaking a cap.
    pub dropped: u64,
    /// Streams that ended in the middle of an event (whose tail was discarded).
    pub truncated: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bom {
    /// At the start of a stream; the number of BOM bytes matched so far.
    Pending(u8),
    Done,
}

/// The decoder. See the module documentation.
#[derive(Debug)]
pub struct Decoder {
    limits: Limits,
    bom: Bom,
    /// The previous chunk ended with CR: an LF starting the next chunk ends no line.
    pending_cr: bool,
    /// Bytes of a line not yet terminated.
    partial: Vec<u8>,
    /// The current line broke the line cap: discard bytes up to its end.
    skipping_line: bool,
    /// The current event broke a cap: ignore its data/event lines until the blank line.
    event_dropped: bool,
    /// The data buffer, raw bytes (decoded at dispatch).
    data: Vec<u8>,
    /// The event type buffer, raw bytes.
    event_type: Vec<u8>,
    /// The last event ID buffer.
    id_buffer: String,
    /// The last event ID string, committed at each blank line.
    last_event_id: String,
    stats: Stats,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(Limits::default())
    }
}

impl Decoder {
    pub fn new(limits: Limits) -> Self {
        Decoder {
            limits,
            bom: Bom::Pending(0),
            pending_cr: false,
            partial: Vec::new(),
            skipping_line: false,
            event_dropped: false,
            data: Vec::new(),
            event_type: Vec::new(),
            id_buffer: String::new(),
            last_event_id: String::new(),
            stats: Stats::default(),
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The last event ID string: what a reconnecting client sends as `Last-Event-ID`.
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// Starts from a known last event id (a resumed connection).
    pub fn set_last_event_id(&mut self, id: &str) {
        self.last_event_id.clear();
        self.last_event_id.push_str(id);
        self.id_buffer.clear();
        self.id_buffer.push_str(id);
    }

    /// Bytes held for an unterminated line or event: what the decoder costs in memory now,
    /// capacity aside. Never more than the two caps together.
    pub fn buffered_bytes(&self) -> usize {
        self.partial.len() + self.data.len() + self.event_type.len()
    }

    /// Capacity held by the decoder's buffers, in bytes.
    pub fn buffer_capacity(&self) -> usize {
        self.partial.capacity() + self.data.capacity() + self.event_type.capacity()
    }

    /// Feeds the next chunk of the stream; `on_item` receives every item it completes.
    pub fn feed<F: FnMut(Item<'_>)>(&mut self, input: &[u8], on_item: &mut F) {
        self.stats.bytes += input.len() as u64;
        let mut input = input;
        if let Bom::Pending(matched) = self.bom {
            let mut n = usize::from(matched);
            let mut i = 0;
            while n < BOM.len() && i < input.len() {
                if input[i] != BOM[n] {
                    break;
                }
                n += 1;
                i += 1;
            }
            if n == BOM.len() {
                self.bom = Bom::Done;
                input = &input[i..];
            } else if i == input.len() {
                // Still a BOM prefix: wait for more bytes.
                self.bom = Bom::Pending(n as u8);
                return;
            } else {
                // Not a BOM: the bytes matched so far are ordinary content. Those matched
                // in earlier chunks are replayed; those in this chunk are still in `input`.
                self.bom = Bom::Done;
                self.feed_lines(&BOM[..usize::from(matched)], on_item);
            }
        }
        self.feed_lines(input, on_item);
    }

    /// Ends the stream. An unterminated line or event is discarded, as the spec says.
    /// Returns true if something was discarded. The decoder is then ready for the next
    /// connection's bytes; the last event id (and the counters) carry over.
    pub fn finish(&mut self) -> bool {
        let truncated = matches!(self.bom, Bom::Pending(n) if n > 0)
            || !self.partial.is_empty()
            || self.skipping_line
            || self.event_dropped
            || !self.data.is_empty()
            || !self.event_type.is_empty();
        if truncated {
            self.stats.truncated += 1;
        }
        self.bom = Bom::Pending(0);
        self.pending_cr = false;
        self.partial.clear();
        self.skipping_line = false;
        self.event_dropped = false;
        self.data.clear();
        self.event_type.clear();
        self.id_buffer.clear();
        self.id_buffer.push_str(&self.last_event_id);
        truncated
    }

    /// Convenience: feeds `input` and appends every item, owned, to `out`.
    pub fn feed_collect(&mut self, input: &[u8], out: &mut Vec<OwnedItem>) {
        self.feed(input, &mut |item| out.push(item.into()));
    }

    fn feed_lines<F: FnMut(Item<'_>)>(&mut self, mut input: &[u8], on_item: &mut F) {
        if self.pending_cr && !input.is_empty() {
            self.pending_cr = false;
            if input[0] == b'\n' {
                input = &input[1..];
            }
        }
        let mut start = 0;
        for end in memchr2_iter(b'\n', b'\r', input) {
            if end < start {
                continue; // the LF of a CRLF already consumed
            }
            if self.partial.is_empty() && !self.skipping_line {
                self.line(&input[start..end], on_item);
            } else {
                self.complete_partial(&input[start..end], on_item);
            }
            start = end + 1;
            if input[end] == b'\r' {
                match input.get(start) {
                    Some(b'\n') => start += 1,
                    Some(_) => {}
                    None => self.pending_cr = true,
                }
            }
        }
        if start < input.len() {
            self.stash(&input[start..], on_item);
        }
    }

    /// Keeps the bytes of an unterminated line, within the line cap.
    fn stash<F: FnMut(Item<'_>)>(&mut self, tail: &[u8], on_item: &mut F) {
        if self.skipping_line {
            return;
        }
        if self.partial.len() + tail.len() > self.limits.max_line_bytes {
            self.partial.clear();
            self.skipping_line = true;
            self.drop_event(DropReason::LineTooLong, on_item);
            return;
        }
        self.partial.extend_from_slice(tail);
    }

    fn complete_partial<F: FnMut(Item<'_>)>(&mut self, head: &[u8], on_item: &mut F) {
        if self.skipping_line {
            self.skipping_line = false;
            return;
        }
        let mut line = std::mem::take(&mut self.partial);
        line.extend_from_slice(head);
        self.line(&line, on_item);
        line.clear();
        self.partial = line; // keep the capacity
    }

    /// Interprets one complete line (without its terminator).
    fn line<F: FnMut(Item<'_>)>(&mut self, line: &[u8], on_item: &mut F) {
        if line.is_empty() {
            self.dispatch(on_item);
            return;
        }
        if line.len() > self.limits.max_line_bytes {
            self.drop_event(DropReason::LineTooLong, on_item);
            return;
        }
        let (name, value) = match memchr(b':', line) {
            Some(0) => {
                self.stats.comments += 1;
                on_item(Item::Comment);
                return;
            }
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match name {
            b"data" => {
                if self.event_dropped {
                    return;
                }
                if self.data.len() + value.len() + 1 > self.limits.max_event_bytes {
                    self.drop_event(DropReason::EventTooLarge, on_item);
                    return;
                }
                self.data.extend_from_slice(value);
                self.data.push(b'\n');
            }
            b"event" => {
                if !self.event_dropped {
                    self.event_type.clear();
                    self.event_type.extend_from_slice(value);
                }
            }
            b"id" => {
                if memchr(0, value).is_none() {
                    self.id_buffer.clear();
                    self.id_buffer.push_str(&String::from_utf8_lossy(value));
                }
            }
            b"retry" => {
                if let Some(ms) = parse_retry(value) {
                    self.stats.retries += 1;
                    on_item(Item::Retry(ms));
                }
            }
            _ => {}
        }
    }

    fn dispatch<F: FnMut(Item<'_>)>(&mut self, on_item: &mut F) {
        if self.last_event_id != self.id_buffer {
            self.last_event_id.clear();
            self.last_event_id.push_str(&self.id_buffer);
        }
        if self.event_dropped || self.data.is_empty() {
            self.event_dropped = false;
            self.data.clear();
            self.event_type.clear();
            return;
        }
        self.data.pop(); // the trailing LF
        let data = decode(&self.data);
        let event_type = if self.event_type.is_empty() {
            Cow::Borrowed("message")
        } else {
            decode(&self.event_type)
        };
        self.stats.events += 1;
        self.stats.data_bytes += data.len() as u64;
        on_item(Item::Event(EventRef {
            event_type: &event_type,
            data: &data,
            last_event_id: &self.last_event_id,
        }));
        self.data.clear();
        self.event_type.clear();
    }

    fn drop_event<F: FnMut(Item<'_>)>(&mut self, reason: DropReason, on_item: &mut F) {
        self.data.clear();
        self.event_type.clear();
        if self.event_dropped {
            return; // reported once per event
        }
        self.event_dropped = true;
        self.stats.dropped += 1;
        let limit = match reason {
            DropReason::LineTooLong => self.limits.max_line_bytes,
            DropReason::EventTooLarge => self.limits.max_event_bytes,
        };
        on_item(Item::Dropped(Dropped { reason, limit }));
    }
}

/// UTF-8 with U+FFFD for invalid sequences; borrows when the bytes are valid.
fn decode(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// `retry` is honoured only when its value is made of ASCII digits. An empty value, or one
/// too large for a u64, is ignored (as browsers do).
fn parse_retry(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    let mut ms: u64 = 0;
    for &b in value {
        if !b.is_ascii_digit() {
            return None;
        }
        ms = ms.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(ms)
}

/// Decodes a complete stream in one call (feed everything, then finish).
pub fn decode_all(input: &[u8], limits: Limits) -> Vec<OwnedItem> {
    let mut decoder = Decoder::new(limits);
    let mut out = Vec::new();
    decoder.feed_collect(input, &mut out);
    decoder.finish();
    out
}
