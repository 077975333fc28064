//! One session's event stream: numbering, the replay ring and the broadcast to subscribers.
//!
//! Every event gets the next id (from 1) under one lock that also pushes it into the ring
//! and onto the broadcast, so a subscriber that takes the ring's tail and a receiver in the
//! same critical section sees every event exactly once, in id order.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::broadcast;

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
/// for data of more than one line, a copy of its own).
#[derive(Debug)]
pub struct Published {
    pub id: u64,
    pub kind: EventKind,
    sse: Box<str>,
    data: Data,
}

#[derive(Debug)]
enum Data {
    /// Where in the SSE block the one-line data is.
    In(u32, u32),
    Own(Box<str>),
}

impl Published {
    /// The event as SSE: `id:` (mcptop framing), `event:` (when not the default type),
    /// `data:` lines and the blank line.
    pub fn sse(&self) -> &str {
        &self.sse
    }

    /// The event's JSON text.
    pub fn data(&self) -> &str {
        match &self.data {
            Data::In(from, to) => self
                .sse
                .get(*from as usize..*to as usize)
                .unwrap_or_default(),
            Data::Own(data) => data,
        }
    }

    fn bytes(&self) -> usize {
        let own = match &self.data {
            Data::In(..) => 0,
            Data::Own(d) => d.len(),
        };
        self.sse.len() + own + std::mem::size_of::<Published>()
    }

    /// Encodes an event: exactly the bytes [`encode::write_event`] writes, in one
    /// allocation for the common one-line data.
    fn render(
        id: u64,
        kind: EventKind,
        event_type: Option<&str>,
        numbered: bool,
        data: &str,
    ) -> Published {
        let mut number = itoa::Buffer::new();
        let number = number.format(id);
        let one_line = memchr::memchr2(b'\r', b'\n', data.as_bytes()).is_none();
        let capacity = number.len() + 5 + event_type.map_or(0, |t| t.len() + 8) + data.len() + 8;
        let mut sse = String::with_capacity(capacity);
        if numbered {
            sse.push_str("id: ");
            sse.push_str(number);
            sse.push('\n');
        }
        let data = match (one_line, u32::try_from(data.len())) {
            (true, Ok(_)) => {
                if let Some(t) = event_type {
                    sse.push_str("event: ");
                    sse.push_str(t);
                    sse.push('\n');
                }
                sse.push_str("data: ");
                let from = sse.len();
                sse.push_str(data);
                let to = sse.len();
                sse.push_str("\n\n");
                match (u32::try_from(from), u32::try_from(to)) {
                    (Ok(from), Ok(to)) => Data::In(from, to),
                    _ => Data::Own(data.into()),
                }
            }
            _ => {
                encode::write_event(&mut sse, event_type, None, data);
                Data::Own(data.into())
            }
        };
        Published {
            id,
            kind,
            sse: sse.into_boxed_str(),
            data,
        }
    }
}

/// What a new subscriber gets: the events it asked to be replayed, how many of those the
/// ring no longer holds, and a receiver for everything after.
pub struct Subscription {
    pub replay: Vec<Arc<Published>>,
    /// Events after the client's `Last-Event-ID` that fell out of the ring.
    pub missed: u64,
    pub live: broadcast::Receiver<Arc<Published>>,
}

struct Ring {
    next_id: u64,
    events: VecDeque<Arc<Published>>,
    last_event_at: Option<Time>,
    /// Bytes of the events the ring holds (their JSON and SSE text).
    bytes: usize,
}

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

fn event_bytes(event: &Published) -> usize {
    event.bytes()
}

/// The event stream of one session.
pub struct SessionEvents {
    ring: Mutex<Ring>,
    capacity: usize,
    /// mcptop framing (`id:` and `event:` fields) or Construct's (`data:` only).
    extensions: bool,
    tx: broadcast::Sender<Arc<Published>>,
    broadcast: usize,
    budget: RingBudget,
}

impl Drop for SessionEvents {
    fn drop(&mut self) {
        let ring = self.ring.get_mut().unwrap_or_else(PoisonError::into_inner);
        self.budget
            .used
            .fetch_sub(ring.bytes, std::sync::atomic::Ordering::Relaxed);
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
        let (tx, _) = broadcast::channel(broadcast.max(1));
        SessionEvents {
            ring: Mutex::new(Ring {
                next_id: 1,
                events: VecDeque::with_capacity(replay.min(4096)),
                last_event_at: None,
                bytes: 0,
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
        let data = data.as_ref();
        let event_type = if self.extensions {
            kind.sse_type()
        } else {
            None
        };
        // The id is handed out and the event encoded under the lock, so ids, the ring and
        // the broadcast keep one order; it is one copy of the data.
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        let id = ring.next_id;
        ring.next_id += 1;
        ring.last_event_at = Some(now);
        let event = Arc::new(Published::render(
            id,
            kind,
            event_type,
            self.extensions,
            data,
        ));
        if self.capacity > 0 {
            use std::sync::atomic::Ordering::Relaxed;
            let size = event_bytes(&event);
            ring.bytes += size;
            self.budget.used.fetch_add(size, Relaxed);
            ring.events.push_back(Arc::clone(&event));
            // Oldest first, until the ring fits its count, its bytes and its share of
            // the bytes of all rings (the newest event always stays).
            while ring.events.len() > self.capacity
                || (ring.events.len() > 1
                    && (ring.bytes > self.budget.per_ring
                        || self.budget.used.load(Relaxed) > self.budget.total))
            {
                let Some(old) = ring.events.pop_front() else {
                    break;
                };
                let size = event_bytes(&old);
                ring.bytes -= size;
                self.budget.used.fetch_sub(size, Relaxed);
            }
        }
        // No receiver is not an error: the ring still has the event for a later resume.
        let _ = self.tx.send(event);
        id
    }

    /// Whether publishing here serves anyone: a subscriber to send to, or a ring to keep.
    pub fn wanted(&self) -> bool {
        self.capacity > 0 || self.tx.receiver_count() > 0
    }

    /// Counts an event nobody can ever read (no subscriber, no ring): its id is used, so
    /// a later subscriber's `Last-Event-ID` still tells what it missed.
    pub fn skip(&self, now: Time) {
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        ring.next_id += 1;
        ring.last_event_at = Some(now);
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
                let oldest = ring.events.front().map_or(ring.next_id, |e| e.id);
                let missed = oldest.saturating_sub(after + 1);
                let replay = ring
                    .events
                    .iter()
                    .filter(|e| e.id > after)
                    .cloned()
                    .collect();
                (replay, missed)
            }
            _ => (Vec::new(), 0),
        };
        Subscription {
            replay,
            missed,
            live,
        }
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
        (self.tx.len(), self.broadcast)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(events: &[Arc<Published>]) -> Vec<u64> {
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
                assert_eq!(event.sse(), want, "{data:?} {kind:?} {ext}");
                assert_eq!(event.data(), data);
            }
        }
    }

    #[test]
    fn skipped_events_use_their_ids() {
        let hub = SessionEvents::new(8, 0, true);
        assert!(!hub.wanted(), "no ring, no subscriber");
        hub.skip(Time::from_unix_nanos(1));
        hub.skip(Time::from_unix_nanos(2));
        let sub = hub.subscribe(None);
        assert!(hub.wanted());
        assert_eq!(
            hub.publish(EventKind::Progress, "{}", Time::from_unix_nanos(3)),
            3
        );
        drop(sub);
        assert_eq!(hub.last_event_at(), Some(Time::from_unix_nanos(3)));
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
        assert_eq!(&*next.sse, "id: 2\nevent: call\ndata: b\n\n");
    }
}
