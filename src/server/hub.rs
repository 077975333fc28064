//! One session's event stream: numbering, the replay ring and the broadcast to subscribers.
//!
//! Every event gets the next id (from 1) under one lock that also pushes it into the ring
//! and onto the broadcast, so a subscriber that takes the ring's tail and a receiver in the
//! same critical section sees every event exactly once, in id order.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use super::bus;
use bytes::{Bytes, BytesMut};

use crate::sse::encode;
use crate::time::Time;

/// What an event is, which decides its SSE `event:` field (mcptop extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A ProgressEvent: no `event:` field, exactly as Construct sends it.
    Progress,
    /// `event: call`, the lifecycle extension.
    Call,
    /// `event: server`: what a tap saw of its server (mcptop extension).
    Server,
}

impl EventKind {
    /// The SSE event type, `None` for the default `message`.
    pub fn sse_type(self) -> Option<&'static str> {
        match self {
            EventKind::Progress => None,
            EventKind::Call => Some("call"),
            EventKind::Server => Some("server"),
        }
    }
}

/// One published event: its id in the session, its kind, and its SSE block, encoded once
/// here rather than once per subscriber; its JSON text is the block's `data:` value (or,
/// for data of more than one line, a copy of its own right after the block).
///
/// The block is a slice of a chunk the stream's events share ([`CHUNK`]), so publishing
/// allocates once per chunk rather than once per event, and a subscriber on another thread
/// frees a chunk, not each event: cloning or dropping an event moves one reference count.
#[derive(Debug, Clone)]
pub struct Published {
    pub id: u64,
    pub kind: EventKind,
    block: Bytes,
    sse_len: u32,
    data: (u32, u32),
}

/// The size of the chunks events are written into. An event of more than a quarter of it
/// gets a block of its own, so a chunk wastes little and a big event pins nothing else.
pub const CHUNK: usize = 16 * 1024;

impl Published {
    /// The event as SSE: `id:` (mcptop framing), `event:` (when not the default type),
    /// `data:` lines and the blank line.
    pub fn sse(&self) -> &[u8] {
        self.block.get(..self.sse_len as usize).unwrap_or_default()
    }

    /// The event's JSON text.
    pub fn data(&self) -> &str {
        let (from, to) = (self.data.0 as usize, self.data.1 as usize);
        // Written from a `&str` below, so this never fails.
        std::str::from_utf8(self.block.get(from..to).unwrap_or_default()).unwrap_or_default()
    }

    fn bytes(&self) -> usize {
        self.block.len() + std::mem::size_of::<Published>()
    }

    /// Encodes an event, `data` being the concatenation of `parts`: exactly the bytes
    /// [`encode::write_event`] writes, into `arena`. `None` when the event is too big to
    /// describe with 32-bit offsets (4 GiB; the daemon's body limits are far below).
    fn render(
        arena: &mut BytesMut,
        id: u64,
        kind: EventKind,
        event_type: Option<&str>,
        numbered: bool,
        parts: &[&str],
    ) -> Option<Published> {
        let mut number = itoa::Buffer::new();
        let number = number.format(id);
        let one_line = parts
            .iter()
            .all(|p| memchr::memchr2(b'\r', b'\n', p.as_bytes()).is_none());
        // Data of several lines (rare) is framed by the general encoder first.
        let mut framed = String::new();
        let mut joined = String::new();
        if !one_line {
            joined = parts.concat();
            encode::write_event(&mut framed, event_type, None, &joined);
        }
        let data_len: usize = parts.iter().map(|p| p.len()).sum();
        let needed =
            number.len() + 5 + event_type.map_or(0, |t| t.len() + 8) + data_len + 8 + framed.len();
        u32::try_from(needed).ok()?;
        let mut own = None;
        let out = if needed > CHUNK / 4 {
            own.insert(BytesMut::with_capacity(needed))
        } else {
            if arena.capacity() - arena.len() < needed {
                *arena = BytesMut::with_capacity(CHUNK);
            }
            arena
        };
        if numbered {
            out.extend_from_slice(b"id: ");
            out.extend_from_slice(number.as_bytes());
            out.extend_from_slice(b"\n");
        }
        let (sse_len, data) = if one_line {
            if let Some(t) = event_type {
                out.extend_from_slice(b"event: ");
                out.extend_from_slice(t.as_bytes());
                out.extend_from_slice(b"\n");
            }
            out.extend_from_slice(b"data: ");
            let from = out.len();
            for part in parts {
                out.extend_from_slice(part.as_bytes());
            }
            let to = out.len();
            out.extend_from_slice(b"\n\n");
            (out.len(), (from, to))
        } else {
            out.extend_from_slice(framed.as_bytes());
            let sse_len = out.len();
            out.extend_from_slice(joined.as_bytes());
            (sse_len, (sse_len, out.len()))
        };
        let block = out.split().freeze();
        Some(Published {
            id,
            kind,
            block,
            sse_len: u32::try_from(sse_len).ok()?,
            data: (u32::try_from(data.0).ok()?, u32::try_from(data.1).ok()?),
        })
    }
}

/// What a new subscriber gets: the events it asked to be replayed, how many of those the
/// ring no longer holds, and a receiver for everything after.
pub struct Subscription {
    /// For a new subscriber (no `Last-Event-ID`): the `call` events of the calls open now,
    /// to send first without ids (they are the state now, not events of the stream).
    pub open: Vec<Arc<str>>,
    pub replay: Vec<Published>,
    /// Events after the client's `Last-Event-ID` that fell out of the ring.
    pub missed: u64,
    pub live: bus::Receiver<Published>,
}

/// An event a ring keeps.
#[derive(Debug, Clone)]
enum Kept {
    Ready(Published),
    /// The copy for a fan-out stream that nobody followed when it was published: the
    /// session's event and its tag, rendered only if a `Last-Event-ID` asks for it.
    Tagged {
        id: u64,
        source: Published,
        tag: Arc<str>,
    },
}

impl Kept {
    fn id(&self) -> u64 {
        match self {
            Kept::Ready(e) => e.id,
            Kept::Tagged { id, .. } => *id,
        }
    }

    fn bytes(&self) -> usize {
        match self {
            Kept::Ready(e) => e.bytes(),
            Kept::Tagged { source, tag, .. } => {
                source.bytes() + tag.len() + std::mem::size_of::<Kept>()
            }
        }
    }
}

/// `data` (a JSON object) with a session's tag (`{"session":…,`) in front, as the pieces
/// to write one after the other.
pub fn tag_parts<'a>(tag: &'a str, data: &'a str) -> [&'a str; 2] {
    let rest = data.strip_prefix('{').unwrap_or("}");
    let tag = if rest.trim_start().starts_with('}') {
        // No field follows the tag: drop its comma.
        tag.strip_suffix(',').unwrap_or(tag)
    } else {
        tag
    };
    [tag, rest]
}

struct Ring {
    next_id: u64,
    events: VecDeque<Kept>,
    last_event_at: Option<Time>,
    /// Bytes of the events the ring holds (their JSON and SSE text).
    bytes: usize,
    /// The chunk the next events are written into.
    arena: BytesMut,
    /// Bytes this ring gained (or lost) that the shared budget does not count yet: it is
    /// told in steps of [`BUDGET_STEP`], not on every event.
    unflushed: isize,
    /// The calls still open on this stream, for a subscriber that comes later.
    open: OpenCalls,
}

/// The calls a stream has open: for each, its `started` event and its latest `working` or
/// `waiting` one. A new subscriber gets them first, so a call that began (or began to
/// wait for a person) before the monitor attached shows at once, with its real start.
/// Only `call` events are read (a few per call), never progress.
#[derive(Default)]
struct OpenCalls {
    by_key: std::collections::HashMap<Box<str>, OpenCall>,
    next: u64,
    bytes: usize,
}

struct OpenCall {
    seq: u64,
    started: Option<Arc<str>>,
    latest: Option<Arc<str>>,
}

impl OpenCall {
    fn bytes(&self) -> usize {
        self.started.as_ref().map_or(0, |s| s.len()) + self.latest.as_ref().map_or(0, |s| s.len())
    }
}

/// Open calls a stream remembers, at most, and their bytes (the oldest give way: a
/// subscriber then gets them when they next change).
const MAX_OPEN: usize = 1024;
const MAX_OPEN_BYTES: usize = 1 << 20;

impl OpenCalls {
    /// Notes a `call` event: `data` is its JSON as the stream sends it, `source` the
    /// session's own (untagged) JSON, `tag` the session's tag on a fan-out stream.
    fn note(&mut self, tag: &str, source: &str, data: &str) {
        #[derive(serde::Deserialize)]
        struct Peek<'a> {
            #[serde(borrow)]
            token: &'a serde_json::value::RawValue,
            #[serde(borrow)]
            state: std::borrow::Cow<'a, str>,
        }
        let Ok(peek) = serde_json::from_str::<Peek<'_>>(source) else {
            return;
        };
        let key: Box<str> = format!("{tag}{}", peek.token.get()).into();
        if let Some(old) = self.by_key.get(&key) {
            self.bytes -= old.bytes();
        }
        match &*peek.state {
            "finished" | "failed" | "cancelled" | "canceled" | "lost" => {
                self.by_key.remove(&key);
                return;
            }
            "started" => {
                self.next += 1;
                let call = OpenCall {
                    seq: self.next,
                    started: Some(data.into()),
                    latest: None,
                };
                self.bytes += call.bytes();
                self.by_key.insert(key, call);
            }
            _ => {
                self.next += 1;
                let seq = self.next;
                let call = self.by_key.entry(key).or_insert(OpenCall {
                    seq,
                    started: None,
                    latest: None,
                });
                call.latest = Some(data.into());
                self.bytes += call.bytes();
            }
        }
        while self.by_key.len() > MAX_OPEN || self.bytes > MAX_OPEN_BYTES {
            let Some(oldest) = self
                .by_key
                .iter()
                .min_by_key(|(_, c)| c.seq)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(gone) = self.by_key.remove(&oldest) {
                self.bytes -= gone.bytes();
            }
        }
    }

    /// Forgets the calls of the session `tag` names (it ended).
    fn forget(&mut self, tag: &str) {
        let mut freed = 0;
        self.by_key.retain(|k, c| {
            let keep = !k.starts_with(tag);
            if !keep {
                freed += c.bytes();
            }
            keep
        });
        self.bytes -= freed;
    }

    /// Every open call's events, oldest call first.
    fn snapshot(&self) -> Vec<Arc<str>> {
        let mut calls: Vec<&OpenCall> = self.by_key.values().collect();
        calls.sort_by_key(|c| c.seq);
        calls
            .into_iter()
            .flat_map(|c| c.started.iter().chain(c.latest.iter()).cloned())
            .collect()
    }
}

/// How far a ring's bytes may drift from what the shared budget counts of them: every
/// ring may overshoot the total by this much (4 MiB for 1,024 sessions).
const BUDGET_STEP: isize = 4096;

/// The bytes the replay rings may hold: each ring, and all rings together.
#[derive(Debug, Clone)]
pub struct RingBudget {
    pub per_ring: usize,
    pub total: usize,
    used: Arc<std::sync::atomic::AtomicUsize>,
}

impl RingBudget {
    pub fn new(per_ring: usize, total: usize) -> RingBudget {
        RingBudget {
            per_ring,
            total,
            used: Arc::default(),
        }
    }

    /// Bytes held by every ring sharing this budget.
    pub fn used(&self) -> usize {
        self.used.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Default for RingBudget {
    /// 8 MiB a ring, 256 MiB in all.
    fn default() -> Self {
        RingBudget::new(8 << 20, 256 << 20)
    }
}

/// The event stream of one session.
pub struct SessionEvents {
    ring: Mutex<Ring>,
    capacity: usize,
    /// mcptop framing (`id:` and `event:` fields) or Construct's (`data:` only).
    extensions: bool,
    tx: bus::Sender<Published>,
    broadcast: usize,
    budget: RingBudget,
}

impl Drop for SessionEvents {
    fn drop(&mut self) {
        let ring = self.ring.get_mut().unwrap_or_else(PoisonError::into_inner);
        // What the budget counts of this ring: its bytes but the ones not told yet.
        let counted = ring.bytes as isize - ring.unflushed;
        self.budget.used.fetch_sub(
            counted.max(0) as usize,
            std::sync::atomic::Ordering::Relaxed,
        );
    }
}

impl SessionEvents {
    /// `broadcast` is how many events a subscriber may fall behind before it loses some;
    /// `replay` how many the ring keeps for `Last-Event-ID` (0 keeps none);
    /// `extensions` chooses mcptop's SSE framing over Construct's data-only one.
    pub fn new(broadcast: usize, replay: usize, extensions: bool) -> SessionEvents {
        SessionEvents::with_budget(broadcast, replay, extensions, RingBudget::default())
    }

    /// As [`SessionEvents::new`], the ring also held to `budget` in bytes.
    pub fn with_budget(
        broadcast: usize,
        replay: usize,
        extensions: bool,
        budget: RingBudget,
    ) -> SessionEvents {
        let tx = bus::channel(broadcast.max(1));
        SessionEvents {
            ring: Mutex::new(Ring {
                next_id: 1,
                events: VecDeque::with_capacity(replay.min(4096)),
                last_event_at: None,
                bytes: 0,
                arena: BytesMut::new(),
                unflushed: 0,
                open: OpenCalls::default(),
            }),
            capacity: replay,
            extensions,
            tx,
            broadcast: broadcast.max(1),
            budget,
        }
    }

    /// Publishes one event and returns its id.
    pub fn publish(&self, kind: EventKind, data: impl AsRef<str>, now: Time) -> u64 {
        self.publish_parts(kind, &[data.as_ref()], now)
    }

    /// Publishes one event whose data is the concatenation of `parts`, and returns its id.
    pub fn publish_parts(&self, kind: EventKind, parts: &[&str], now: Time) -> u64 {
        self.publish_event(kind, parts, now).0
    }

    /// As [`SessionEvents::publish_parts`], also returning the event (`None` when it was
    /// too big to encode and only its id was used).
    pub fn publish_event(
        &self,
        kind: EventKind,
        parts: &[&str],
        now: Time,
    ) -> (u64, Option<Published>) {
        // The id is handed out and the event encoded under the lock, so ids, the ring and
        // the broadcast keep one order; it is one copy of the data.
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        self.publish_locked(&mut ring, kind, parts, now)
    }

    /// Publishes events one after the other under one lock, so their ids follow each
    /// other and a subscriber finds them together; returns each one (as
    /// [`SessionEvents::publish_event`]).
    pub fn publish_batch(&self, items: &[(EventKind, &str, Time)]) -> Vec<Option<Published>> {
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        items
            .iter()
            .map(|&(kind, data, now)| self.publish_locked(&mut ring, kind, &[data], now).1)
            .collect()
    }

    fn publish_locked(
        &self,
        ring: &mut Ring,
        kind: EventKind,
        parts: &[&str],
        now: Time,
    ) -> (u64, Option<Published>) {
        let id = ring.next_id;
        ring.next_id += 1;
        ring.last_event_at = Some(now);
        if kind == EventKind::Call && self.extensions {
            let data = parts.concat();
            ring.open.note("", &data, &data);
        }
        let Some(event) = self.render(&mut ring.arena, id, kind, parts) else {
            // Beyond 4 GiB: no body limit lets one through; its id counts it as lost.
            return (id, None);
        };
        self.keep(ring, || Kept::Ready(event.clone()));
        // No receiver is not an error: the ring still has the event for a later resume.
        let _ = self.tx.send(event.clone());
        (id, Some(event))
    }

    /// Publishes `source`, an event of the session `tag` names, tagged with it (the
    /// all-sessions streams). With nobody following, nothing is encoded: the ring keeps
    /// the source and the tag, rendered if a resume asks for them, and without a ring only
    /// the id is used, so a later `Last-Event-ID` still counts the loss.
    pub fn publish_tagged(&self, source: Published, tag: &Arc<str>, now: Time) {
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        let id = ring.next_id;
        ring.next_id += 1;
        ring.last_event_at = Some(now);
        if source.kind == EventKind::Call && self.extensions {
            let data = tag_parts(tag, source.data()).concat();
            ring.open.note(tag, source.data(), &data);
        }
        // Decided under the lock `subscribe` takes too, so no new subscriber misses it.
        if self.tx.receiver_count() > 0 {
            let parts = tag_parts(tag, source.data());
            if let Some(event) = self.render(&mut ring.arena, id, source.kind, &parts) {
                self.keep(&mut ring, || Kept::Ready(event.clone()));
                let _ = self.tx.send(event);
            }
        } else {
            self.keep(&mut ring, || Kept::Tagged {
                id,
                source,
                tag: Arc::clone(tag),
            });
        }
    }

    fn render(
        &self,
        arena: &mut BytesMut,
        id: u64,
        kind: EventKind,
        parts: &[&str],
    ) -> Option<Published> {
        let event_type = if self.extensions {
            kind.sse_type()
        } else {
            None
        };
        Published::render(arena, id, kind, event_type, self.extensions, parts)
    }

    /// Keeps an event in the ring (when it keeps any), then drops the oldest until the
    /// ring fits its count, its bytes and its share of the bytes of all rings (the newest
    /// event always stays).
    /// `event` is made only when the ring keeps it: a ring that keeps nothing takes no
    /// reference either (each one is an atomic count on a chunk that the subscribers'
    /// threads touch too).
    fn keep(&self, ring: &mut Ring, event: impl FnOnce() -> Kept) {
        use std::sync::atomic::Ordering::Relaxed;
        if self.capacity == 0 {
            return;
        }
        let event = event();
        let size = event.bytes();
        ring.bytes += size;
        ring.unflushed += size as isize;
        ring.events.push_back(event);
        let over_total = |ring: &Ring| {
            let used = self.budget.used.load(Relaxed) as isize + ring.unflushed;
            used > self.budget.total as isize
        };
        while ring.events.len() > self.capacity
            || (ring.events.len() > 1 && (ring.bytes > self.budget.per_ring || over_total(ring)))
        {
            let Some(old) = ring.events.pop_front() else {
                break;
            };
            let size = old.bytes();
            ring.bytes -= size;
            ring.unflushed -= size as isize;
        }
        if ring.unflushed.abs() >= BUDGET_STEP {
            if ring.unflushed > 0 {
                self.budget.used.fetch_add(ring.unflushed as usize, Relaxed);
            } else {
                self.budget
                    .used
                    .fetch_sub(ring.unflushed.unsigned_abs(), Relaxed);
            }
            ring.unflushed = 0;
        }
    }

    /// Subscribes from now on, or, with `after` (a client's `Last-Event-ID`), from the
    /// event after that id: what the ring still has is replayed and the rest is counted.
    pub fn subscribe(&self, after: Option<u64>) -> Subscription {
        let ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        let live = self.tx.subscribe();
        let last = ring.next_id - 1;
        let (replay, missed) = match after {
            // An id from the future (another server instance): nothing can be replayed
            // truthfully, and nothing is known to be lost in this instance.
            Some(after) if after < last => {
                let oldest = ring.events.front().map_or(ring.next_id, Kept::id);
                let missed = oldest.saturating_sub(after + 1);
                let mut arena = BytesMut::new();
                let replay = ring
                    .events
                    .iter()
                    .filter(|e| e.id() > after)
                    .filter_map(|e| match e {
                        Kept::Ready(e) => Some(e.clone()),
                        Kept::Tagged { id, source, tag } => {
                            let parts = tag_parts(tag, source.data());
                            self.render(&mut arena, *id, source.kind, &parts)
                        }
                    })
                    .collect();
                (replay, missed)
            }
            _ => (Vec::new(), 0),
        };
        let open = match after {
            None if self.extensions => ring.open.snapshot(),
            _ => Vec::new(),
        };
        Subscription {
            open,
            replay,
            missed,
            live,
        }
    }

    /// Notes `source` (of the session `tag` names) among the open calls without publishing
    /// it (a fan-out stream nobody follows).
    pub fn note_call(&self, source: &Published, tag: &str) {
        if source.kind == EventKind::Call && self.extensions {
            let data = tag_parts(tag, source.data()).concat();
            self.ring
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .open
                .note(tag, source.data(), &data);
        }
    }

    /// Forgets the open calls of the session `tag` names (it ended: a new subscriber of a
    /// fan-out stream must not see them running).
    pub fn forget_open(&self, tag: &str) {
        self.ring
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .open
            .forget(tag);
    }

    /// Events published so far.
    pub fn count(&self) -> u64 {
        self.ring
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .next_id
            - 1
    }

    pub fn last_event_at(&self) -> Option<Time> {
        self.ring
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .last_event_at
    }

    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }

    /// Events some subscriber has not taken yet, and how many fit before the slowest
    /// one starts losing them.
    pub fn backlog(&self) -> (usize, usize) {
        (self.tx.backlog(), self.broadcast)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(events: &[Published]) -> Vec<u64> {
        events.iter().map(|e| e.id).collect()
    }

    #[test]
    fn an_event_is_encoded_as_write_event_would_and_its_data_read_back() {
        for data in ["{\"a\":1}", "", "two\nlines\r\nhere", " lead"] {
            for (kind, ext) in [
                (EventKind::Progress, true),
                (EventKind::Call, true),
                (EventKind::Call, false),
            ] {
                let hub = SessionEvents::new(8, 4, ext);
                let mut live = hub.subscribe(None).live;
                let id = hub.publish(kind, data, Time::from_unix_nanos(1));
                let event = live.try_recv().unwrap();
                let mut want = String::new();
                let id_text = id.to_string();
                encode::write_event(
                    &mut want,
                    if ext { kind.sse_type() } else { None },
                    ext.then_some(id_text.as_str()),
                    data,
                );
                assert_eq!(event.sse(), want.as_bytes(), "{data:?} {kind:?} {ext}");
                assert_eq!(event.data(), data);
            }
        }
    }

    #[test]
    fn tagged_copies_nobody_follows_use_their_ids_and_replay_as_if_live() {
        let tag: Arc<str> = Arc::from("{\"session\":\"s1\",");
        let source_stream = SessionEvents::new(8, 0, true);
        let mut sources = Vec::new();
        for (i, data) in ["{\"a\":1}", "{}", "{\"b\":\"x\ny\"}"].iter().enumerate() {
            let (_, event) = source_stream.publish_event(
                EventKind::Call,
                &[data],
                Time::from_unix_nanos(i as i64),
            );
            sources.push(event.unwrap());
        }
        // No ring, nobody following: only the ids move.
        let bare = SessionEvents::new(8, 0, true);
        bare.publish_tagged(sources[0].clone(), &tag, Time::from_unix_nanos(1));
        bare.publish_tagged(sources[1].clone(), &tag, Time::from_unix_nanos(2));
        assert_eq!(bare.count(), 2);
        assert_eq!(bare.last_event_at(), Some(Time::from_unix_nanos(2)));
        let mut live = bare.subscribe(None).live;
        bare.publish_tagged(sources[0].clone(), &tag, Time::from_unix_nanos(3));
        let event = live.try_recv().unwrap();
        assert_eq!(
            event.sse(),
            b"id: 3\nevent: call\ndata: {\"session\":\"s1\",\"a\":1}\n\n"
        );
        // With a ring and nobody following, a resume renders the same bytes a live
        // subscriber gets.
        let kept = SessionEvents::new(8, 16, true);
        let followed = SessionEvents::new(8, 16, true);
        let mut live = followed.subscribe(None).live;
        for source in &sources {
            kept.publish_tagged(source.clone(), &tag, Time::from_unix_nanos(4));
            followed.publish_tagged(source.clone(), &tag, Time::from_unix_nanos(4));
        }
        let replayed = kept.subscribe(Some(0)).replay;
        assert_eq!(ids(&replayed), vec![1, 2, 3]);
        for event in &replayed {
            let got = live.try_recv().unwrap();
            assert_eq!(event.sse(), got.sse());
            assert_eq!(event.data(), got.data());
        }
        assert_eq!(replayed[1].data(), "{\"session\":\"s1\"}");
        assert_eq!(replayed[2].data(), "{\"session\":\"s1\",\"b\":\"x\ny\"}");
    }

    #[test]
    fn events_share_chunks_and_a_big_one_has_its_own() {
        let hub = SessionEvents::new(8, 0, true);
        let mut live = hub.subscribe(None).live;
        let small = "s".repeat(100);
        let big = "b".repeat(CHUNK);
        hub.publish(EventKind::Progress, &small, Time::from_unix_nanos(1));
        hub.publish(EventKind::Progress, &small, Time::from_unix_nanos(2));
        hub.publish(EventKind::Progress, &big, Time::from_unix_nanos(3));
        let (a, b, c) = (
            live.try_recv().unwrap(),
            live.try_recv().unwrap(),
            live.try_recv().unwrap(),
        );
        let end = a.sse().as_ptr_range().end;
        assert_eq!(
            end,
            b.sse().as_ptr(),
            "the second follows the first in one chunk"
        );
        assert_eq!(c.data(), big);
        assert_eq!(c.block.len(), c.sse().len());
    }

    #[test]
    fn ids_start_at_one_and_resume_replays_the_rest() {
        let hub = SessionEvents::new(8, 4, true);
        for i in 0..6 {
            assert_eq!(
                hub.publish(EventKind::Progress, "{}", Time::from_unix_nanos(i)),
                i as u64 + 1
            );
        }
        // Ring holds 3..=6; a client that saw 4 gets 5 and 6, nothing missed.
        let sub = hub.subscribe(Some(4));
        assert_eq!(ids(&sub.replay), vec![5, 6]);
        assert_eq!(sub.missed, 0);
        // A client that saw 1 lost 2 (fell out of the ring) and gets 3..=6.
        let sub = hub.subscribe(Some(1));
        assert_eq!(ids(&sub.replay), vec![3, 4, 5, 6]);
        assert_eq!(sub.missed, 1);
        // Up to date, or from another instance: nothing.
        assert!(hub.subscribe(Some(6)).replay.is_empty());
        assert!(hub.subscribe(Some(600)).replay.is_empty());
        assert_eq!(hub.count(), 6);
    }

    #[test]
    fn the_ring_is_held_to_its_bytes_and_to_the_shared_budget() {
        let budget = RingBudget::new(64 << 10, 96 << 10);
        let big = "x".repeat(10 << 10);
        let a = SessionEvents::with_budget(8, 1_000, true, budget.clone());
        for i in 0..100 {
            a.publish(EventKind::Progress, big.as_str(), Time::from_unix_nanos(i));
        }
        assert!(budget.used() <= 64 << 10, "{}", budget.used());
        // A second ring shares the total: together they stay within it.
        let b = SessionEvents::with_budget(8, 1_000, true, budget.clone());
        for i in 0..100 {
            b.publish(EventKind::Progress, big.as_str(), Time::from_unix_nanos(i));
        }
        assert!(
            budget.used() <= (96 << 10) + (32 << 10),
            "{}",
            budget.used()
        );
        // The newest event is always there to resume from.
        assert_eq!(ids(&b.subscribe(Some(99)).replay), vec![100]);
        drop((a, b));
        assert_eq!(budget.used(), 0, "dropped rings give their bytes back");
    }

    #[test]
    fn live_receiver_continues_where_the_replay_ends() {
        let hub = SessionEvents::new(8, 16, true);
        hub.publish(EventKind::Progress, "a", Time::from_unix_nanos(1));
        let mut sub = hub.subscribe(Some(0));
        hub.publish(EventKind::Call, "b", Time::from_unix_nanos(2));
        assert_eq!(ids(&sub.replay), vec![1]);
        let next = sub.live.try_recv().expect("live event");
        assert_eq!((next.id, next.kind), (2, EventKind::Call));
        assert_eq!(next.sse(), b"id: 2\nevent: call\ndata: b\n\n");
    }
}
