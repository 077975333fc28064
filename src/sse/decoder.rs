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

use std::ops::Range;

use memchr::memchr;

use memchr::memchr2;

use super::scan;

/// Default cap on one line and on one event's data: 16 MiB.
pub const DEFAULT_MAX_BYTES: usize = 16 << 20;

const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// Input is processed this many bytes at a time (see `feed`).
const PIECE: usize = 4 << 10;

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

    /// The most bytes a decoder with these caps ever holds between chunks
    /// ([`Decoder::buffered_bytes`]): an unterminated line, the event's data (its
    /// `data: ` prefix of up to 6 bytes included when a stashed line became the data
    /// buffer), its type (a line at most) and its pending id (a line, decoded: each
    /// invalid byte becomes a 3-byte U+FFFD, so three times a line at most).
    pub fn max_buffered(&self) -> usize {
        5 * self.max_line_bytes + self.max_event_bytes + 6
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
    /// Whether `partial` is all ASCII, checked piece by piece as it was stashed.
    partial_ascii: bool,
    /// Whether the data buffer is known to be all ASCII (set only when a stashed line
    /// became the data buffer); otherwise dispatch validates it.
    data_ascii: bool,
    /// The current line broke the line cap: discard bytes up to its end.
    skipping_line: bool,
    /// The current event broke a cap: ignore its data/event lines until the blank line.
    event_dropped: bool,
    /// The data buffer, raw bytes (decoded at dispatch): `data[data_start..]`. A long data
    /// line completed from the line buffer becomes the data buffer whole (no copy), its
    /// `data:` prefix skipped by `data_start`. Empty data always has `data_start == 0`.
    data: Vec<u8>,
    data_start: usize,
    /// The event type buffer: set for this event when `has_event_type`; kept (raw and
    /// decoded) across events so a repeated type is not decoded again.
    event_type: Vec<u8>,
    event_type_str: String,
    has_event_type: bool,
    /// An `id` field seen since the last blank line (the last event ID buffer, raw).
    pending_id: String,
    has_pending_id: bool,
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
            partial_ascii: true,
            data_ascii: false,
            skipping_line: false,
            event_dropped: false,
            data: Vec::new(),
            data_start: 0,
            event_type: Vec::new(),
            event_type_str: String::new(),
            has_event_type: false,
            pending_id: String::new(),
            has_pending_id: false,
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
        self.has_pending_id = false;
    }

    /// Bytes held for an unterminated line or event: what the decoder costs in memory now,
    /// capacity aside. Never more than [`Limits::max_buffered`].
    pub fn buffered_bytes(&self) -> usize {
        self.partial.len() + self.data.len() + self.event_type.len() + self.pending_id.len()
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
        // While a long line is pending, its bytes are scanned, checked and copied: do that
        // in pieces small enough to stay in L1 between the passes. (The result does not
        // depend on how the input is cut.)
        while !input.is_empty() {
            let take = if self.partial.is_empty() && !self.skipping_line {
                input.len()
            } else {
                input.len().min(PIECE)
            };
            let (piece, rest) = input.split_at(take);
            self.feed_lines(piece, on_item);
            input = rest;
        }
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
            || self.has_event_type
            || self.has_pending_id;
        if truncated {
            self.stats.truncated += 1;
        }
        self.bom = Bom::Pending(0);
        self.pending_cr = false;
        self.partial.clear();
        self.partial_ascii = true;
        self.skipping_line = false;
        self.event_dropped = false;
        self.clear_data();
        self.has_event_type = false;
        self.has_pending_id = false;
        self.pending_id.clear();
        truncated
    }

    /// Convenience: feeds `input` and appends every item, owned, to `out`.
    pub fn feed_collect(&mut self, input: &[u8], out: &mut Vec<OwnedItem>) {
        self.feed(input, &mut |item| out.push(item.into()));
    }

    fn feed_lines<F: FnMut(Item<'_>)>(&mut self, input: &[u8], on_item: &mut F) {
        let mut start = 0;
        if self.pending_cr && !input.is_empty() {
            self.pending_cr = false;
            if input[0] == b'\n' {
                start = 1;
            }
        }
        let mut partial = !self.partial.is_empty() || self.skipping_line;
        // The value of the current event's only data line so far, while it is still in
        // `input`: dispatch borrows it instead of copying it into the data buffer.
        let mut inline: Option<Range<usize>> = None;
        // Ids, likewise, while they are in `input`: the event's pending id, and the last
        // event id in force once an event committed it. They are copied into the decoder
        // once, when this chunk is done, instead of once per event.
        let mut pending_id: Option<Range<usize>> = None;
        let mut last_id: Option<Range<usize>> = None;
        // Walk the line ends block by block (see `scan`): one bit mask per 64 bytes.
        let mut base = 0;
        let mut empty_blocks = 0;
        while base < input.len() {
            let mut mask = scan::block_mask(&input[base..]);
            if mask == 0 {
                empty_blocks += 1;
                if empty_blocks >= scan::LEAP_AFTER {
                    // A long line: leap to its end at full vector speed.
                    match memchr2(b'\n', b'\r', &input[base..]) {
                        Some(found) => base += found,
                        None => break,
                    }
                    empty_blocks = 0;
                    continue;
                }
                base += scan::BLOCK;
                continue;
            }
            empty_blocks = 0;
            while mask != 0 {
                let end = base + mask.trailing_zeros() as usize;
                mask &= mask - 1;
                if end < start || !scan::is_line_end(input[end]) {
                    continue; // the LF of a CRLF, already consumed; or not a line end
                }
                if partial {
                    partial = false;
                    self.complete_partial(&input[start..end], on_item);
                } else if end == start {
                    if let Some(r) = pending_id.take() {
                        last_id = Some(r);
                        self.has_pending_id = false;
                    } else if self.has_pending_id {
                        last_id = None; // dispatch commits the buffered id
                    }
                    let data = inline.take().map(|r| &input[r]);
                    let id = last_id.clone().map(|r| &input[r]);
                    self.dispatch(data, id, on_item);
                } else {
                    // A field value is always a suffix of its line.
                    match self.field(input, start..end, on_item) {
                        Field::Data(value) => {
                            self.push_data(input, end - value.len()..end, &mut inline, on_item)
                        }
                        Field::Id(value, true) => pending_id = Some(end - value.len()..end),
                        Field::Id(value, false) => {
                            pending_id = None;
                            self.set_pending_id(value, false);
                        }
                        Field::Done if self.event_dropped => inline = None,
                        Field::Done => {}
                    }
                }
                start = self.skip_line_end(input, end);
            }
            base += scan::BLOCK;
        }
        if let Some(r) = inline {
            self.data.extend_from_slice(&input[r]);
            self.data.push(b'\n');
        }
        if let Some(r) = last_id {
            self.last_event_id.clear();
            self.last_event_id.push_str(ascii_str(&input[r]));
        }
        if let Some(r) = pending_id {
            self.set_pending_id(&input[r], true);
        }
        if start < input.len() {
            self.stash(&input[start..], on_item);
        }
    }

    /// The position after the line end at `at` (CR, LF or CRLF; a CR at the very end of
    /// the chunk may be the first half of a CRLF split across chunks).
    #[inline]
    fn skip_line_end(&mut self, input: &[u8], at: usize) -> usize {
        let next = at + 1;
        if input[at] == b'\r' {
            match input.get(next) {
                Some(b'\n') => return next + 1,
                None => self.pending_cr = true,
                Some(_) => {}
            }
        }
        next
    }

    /// Keeps the bytes of an unterminated line, within the line cap.
    fn stash<F: FnMut(Item<'_>)>(&mut self, tail: &[u8], on_item: &mut F) {
        if self.skipping_line {
            return;
        }
        if self.partial.len() + tail.len() > self.limits.max_line_bytes {
            self.partial.clear();
            self.partial_ascii = true;
            self.skipping_line = true;
            self.drop_event(DropReason::LineTooLong, on_item);
            return;
        }
        if self.partial.is_empty()
            && self.data.is_empty()
            && self.data.capacity() > self.partial.capacity()
        {
            // A long line starts while no data is held: take the data buffer, which the
            // last long line left there (see `complete_partial`). One line-sized buffer
            // then serves every long line, instead of two that fill fresh memory.
            std::mem::swap(&mut self.partial, &mut self.data);
        }
        self.partial_ascii &= scan::is_ascii(tail);
        self.partial.extend_from_slice(tail);
    }

    fn complete_partial<F: FnMut(Item<'_>)>(&mut self, head: &[u8], on_item: &mut F) {
        if self.skipping_line {
            self.skipping_line = false;
            return;
        }
        let mut line = std::mem::take(&mut self.partial);
        let ascii = std::mem::replace(&mut self.partial_ascii, true) && scan::is_ascii(head);
        line.extend_from_slice(head);
        let value = if line.is_empty() {
            self.dispatch(None, None, on_item);
            None
        } else {
            match self.field(&line, 0..line.len(), on_item) {
                Field::Data(value) => Some(value),
                Field::Id(value, ascii) => {
                    self.set_pending_id(value, ascii);
                    None
                }
                Field::Done => None,
            }
        };
        if let Some(value) = value {
            let value_start = line.len() - value.len();
            if self.data.is_empty() && value.len() < self.limits.max_event_bytes {
                // The event's first data line: the line buffer becomes the data buffer
                // (long lines are the ones that span chunks; this saves copying them).
                std::mem::swap(&mut self.data, &mut line);
                self.data_start = value_start;
                self.data_ascii = ascii;
                self.data.push(b'\n');
            } else {
                let mut inline = None;
                self.push_data(&line, value_start..line.len(), &mut inline, on_item);
                if let Some(r) = inline {
                    self.data.extend_from_slice(&line[r]);
                    self.data.push(b'\n');
                }
            }
        }
        line.clear();
        self.partial = line; // keep the capacity
    }

    /// Interprets one complete, non-empty line, `src[at]`, where `src[at.end]` (when it
    /// exists) is the CR or LF that ends it. Returns the value of a `data` field that the
    /// event keeps, or of an `id` field that takes effect; handles every other field itself.
    #[inline(always)]
    fn field<'l, F: FnMut(Item<'_>)>(
        &mut self,
        src: &'l [u8],
        at: Range<usize>,
        on_item: &mut F,
    ) -> Field<'l> {
        let head = head_word(src, at.clone());
        let line = &src[at];
        if line.len() > self.limits.max_line_bytes {
            self.drop_event(DropReason::LineTooLong, on_item);
            return Field::Done;
        }
        // The fields a progress stream is made of are recognised by their first bytes;
        // anything else goes the general way (split at the first colon).
        let (name, value) = match classify(head) {
            Some((name, at)) => (name, &line[at..]),
            None if line[0] == b':' => {
                self.stats.comments += 1;
                on_item(Item::Comment);
                return Field::Done;
            }
            None => match memchr(b':', line) {
                Some(colon) => (Name::of(&line[..colon]), &line[colon + 1..]),
                None => (Name::of(line), &b""[..]),
            },
        };
        let value = value.strip_prefix(b" ").unwrap_or(value);
        match name {
            Name::Data if self.event_dropped => {}
            Name::Data => return Field::Data(value),
            Name::Event => {
                if !self.event_dropped {
                    // Streams repeat a handful of types: decode only when it changes.
                    if !scan::same_bytes(&self.event_type, value) {
                        self.event_type.clear();
                        self.event_type.extend_from_slice(value);
                        self.event_type_str.clear();
                        self.event_type_str.push_str(&decode(value));
                    }
                    self.has_event_type = true;
                }
            }
            Name::Id => {
                // One pass decides both: a NUL voids the field; ASCII needs no validation.
                let (nul, ascii) = scan::nul_and_ascii(value);
                if !nul {
                    return Field::Id(value, ascii);
                }
            }
            Name::Retry => {
                if let Some(ms) = parse_retry(value) {
                    self.stats.retries += 1;
                    on_item(Item::Retry(ms));
                }
            }
            Name::Other => {}
        }
        Field::Done
    }

    /// An `id` field takes effect: `value` becomes the pending last event id (`ascii`: it
    /// is known to be all ASCII).
    fn set_pending_id(&mut self, value: &[u8], ascii: bool) {
        self.pending_id.clear();
        if ascii {
            self.pending_id.push_str(ascii_str(value));
        } else {
            self.pending_id.push_str(&String::from_utf8_lossy(value));
        }
        self.has_pending_id = true;
    }

    /// Adds a data line's value (`src[range]`) to the event, borrowing it while it is the
    /// event's only data line, within the event cap.
    #[inline(always)]
    fn push_data<F: FnMut(Item<'_>)>(
        &mut self,
        src: &[u8],
        range: Range<usize>,
        inline: &mut Option<Range<usize>>,
        on_item: &mut F,
    ) {
        let held = self.data.len() - self.data_start + inline.as_ref().map_or(0, |r| r.len() + 1);
        if held + range.len() + 1 > self.limits.max_event_bytes {
            *inline = None;
            self.drop_event(DropReason::EventTooLarge, on_item);
            return;
        }
        if held == 0 {
            *inline = Some(range);
            return;
        }
        if let Some(r) = inline.take() {
            self.data.extend_from_slice(&src[r]);
            self.data.push(b'\n');
        }
        self.data_ascii = false;
        self.data.extend_from_slice(&src[range]);
        self.data.push(b'\n');
    }

    /// A blank line. `inline` is the event's data when it was borrowed from the input, and
    /// `id` the last event id in force when the input holds it (all ASCII; the decoder's
    /// own copy is then stale until the chunk is done).
    #[inline(always)]
    fn dispatch<F: FnMut(Item<'_>)>(
        &mut self,
        inline: Option<&[u8]>,
        id: Option<&[u8]>,
        on_item: &mut F,
    ) {
        if self.has_pending_id {
            self.has_pending_id = false;
            std::mem::swap(&mut self.last_event_id, &mut self.pending_id);
        }
        if self.event_dropped || (inline.is_none() && self.data.is_empty()) {
            self.event_dropped = false;
            self.clear_data();
            self.has_event_type = false;
            return;
        }
        let raw = match inline {
            Some(value) => value,
            None => {
                self.data.pop(); // the trailing LF
                &self.data[self.data_start..]
            }
        };
        let data = if self.data_ascii && inline.is_none() {
            // SAFETY: every byte of the buffer was checked to be ASCII when it was stashed.
            Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(raw) })
        } else {
            decode(raw)
        };
        let event_type = if self.has_event_type && !self.event_type.is_empty() {
            self.event_type_str.as_str()
        } else {
            "message"
        };
        self.stats.events += 1;
        self.stats.data_bytes += data.len() as u64;
        on_item(Item::Event(EventRef {
            event_type,
            data: &data,
            last_event_id: match id {
                Some(id) => ascii_str(id),
                None => &self.last_event_id,
            },
        }));
        self.clear_data();
        self.has_event_type = false;
    }

    #[inline]
    fn clear_data(&mut self) {
        self.data.clear();
        self.data_start = 0;
        self.data_ascii = false;
    }

    fn drop_event<F: FnMut(Item<'_>)>(&mut self, reason: DropReason, on_item: &mut F) {
        self.clear_data();
        self.has_event_type = false;
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

/// The first 8 bytes at `at.start`, little-endian, for [`classify`]. One load when `src`
/// has 8 bytes there, even if the line is shorter: the bytes past a line are its CR or LF
/// and whatever follows, and since neither CR nor LF occurs in a field prefix, a prefix
/// that matches lies wholly within the line. Zero-padded copy otherwise.
#[inline(always)]
fn head_word(src: &[u8], at: Range<usize>) -> u64 {
    if let Some(word) = src.get(at.start..).and_then(|s| s.first_chunk::<8>()) {
        return u64::from_le_bytes(*word);
    }
    let line = &src[at];
    let mut head = [0u8; 8];
    for (h, &b) in head.iter_mut().zip(line) {
        *h = b;
    }
    u64::from_le_bytes(head)
}

/// Recognises `data:`, `id:` and `event:` from a line's first bytes (see [`head_word`]),
/// the fields a progress stream is made of. Returns the field and where its value starts.
#[inline]
fn classify(head: u64) -> Option<(Name, usize)> {
    const fn word(s: &[u8]) -> (u64, u64) {
        let mut v = 0u64;
        let mut i = 0;
        while i < s.len() {
            v |= (s[i] as u64) << (8 * i);
            i += 1;
        }
        (
            v,
            if s.len() == 8 {
                u64::MAX
            } else {
                (1u64 << (8 * s.len())) - 1
            },
        )
    }
    const DATA: (u64, u64) = word(b"data:");
    const ID: (u64, u64) = word(b"id:");
    const EVENT: (u64, u64) = word(b"event:");
    if head & DATA.1 == DATA.0 {
        Some((Name::Data, 5))
    } else if head & ID.1 == ID.0 {
        Some((Name::Id, 3))
    } else if head & EVENT.1 == EVENT.0 {
        Some((Name::Event, 6))
    } else {
        None
    }
}

/// What a line means to the caller of [`Decoder::field`].
enum Field<'l> {
    /// A data line's value, for an event still being kept.
    Data(&'l [u8]),
    /// An id line that takes effect; whether its value is all ASCII.
    Id(&'l [u8], bool),
    /// Anything else, already handled.
    Done,
}

/// Bytes known to be ASCII, as text.
#[inline(always)]
fn ascii_str(bytes: &[u8]) -> &str {
    debug_assert!(bytes.is_ascii());
    // SAFETY: every caller passes bytes checked to be ASCII (`scan::nul_and_ascii`), and
    // ASCII is valid UTF-8.
    unsafe { std::str::from_utf8_unchecked(bytes) }
}

#[derive(Clone, Copy)]
enum Name {
    Data,
    Event,
    Id,
    Retry,
    Other,
}

impl Name {
    fn of(name: &[u8]) -> Name {
        match name {
            b"data" => Name::Data,
            b"event" => Name::Event,
            b"id" => Name::Id,
            b"retry" => Name::Retry,
            _ => Name::Other,
        }
    }
}

/// UTF-8 with U+FFFD for invalid sequences; borrows when the bytes are valid.
#[inline]
fn decode(bytes: &[u8]) -> Cow<'_, str> {
    if scan::is_ascii(bytes) {
        // SAFETY: ASCII is valid UTF-8. (The check is several times cheaper than full
        // validation, and progress frames are almost always ASCII JSON.)
        return Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
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
