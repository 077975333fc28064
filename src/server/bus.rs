//! The fan-out of one stream's events to its subscribers: a bounded queue every receiver
//! reads at its own pace, the oldest value dropped when a new one finds it full (and a
//! receiver that had not read it told how many it lost), like `tokio::sync::broadcast`
//! and built the same way: a ring of slots, each behind a lock of its own, so a sender and
//! its receivers rarely wait for each other.
//!
//! Unlike tokio's channel, a receiver reads values in place ([`Receiver::try_recv_each`]):
//! a subscriber copies an event's bytes without taking a reference to it (a reference is an
//! atomic count on a chunk shared with the publisher's thread, one more cache line moving
//! between cores per event). A sender wakes receivers only when one is waiting.
//!
//! The errors are tokio's, so a receiver is used as one of tokio's would be.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

pub use tokio::sync::broadcast::error::{RecvError, SendError, TryRecvError};

struct Shared<T> {
    slots: Box<[Mutex<Slot<T>>]>,
    tail: Mutex<Tail>,
    /// The sender is gone: once a receiver has read what is held, it is closed.
    closed: AtomicBool,
    /// Receivers waiting for a value, woken by a send or by the sender's end.
    wake: Notify,
    /// How many receivers wait (or are about to): a send with none skips the wake-up.
    waiting: AtomicUsize,
}

struct Slot<T> {
    /// The position of the value held (meaningless while there is none).
    pos: u64,
    value: Option<T>,
}

struct Tail {
    /// The position the next value gets.
    next: u64,
    /// Each receiver's next position, moved by the receiver itself.
    positions: Vec<Arc<AtomicU64>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<T> Shared<T> {
    fn slot(&self, pos: u64) -> &Mutex<Slot<T>> {
        // The length is at least one and the index below it.
        &self.slots[(pos % self.slots.len() as u64) as usize]
    }

    /// The oldest position still held.
    fn oldest(&self, next: u64) -> u64 {
        next.saturating_sub(self.slots.len() as u64)
    }
}

/// A queue holding `capacity` values (at least one; its slots are made at once) for its
/// receivers, none yet.
pub fn channel<T>(capacity: usize) -> Sender<T> {
    let slots = (0..capacity.max(1))
        .map(|_| {
            Mutex::new(Slot {
                pos: 0,
                value: None,
            })
        })
        .collect();
    Sender {
        shared: Arc::new(Shared {
            slots,
            tail: Mutex::new(Tail {
                next: 0,
                positions: Vec::new(),
            }),
            closed: AtomicBool::new(false),
            wake: Notify::new(),
            waiting: AtomicUsize::new(0),
        }),
    }
}

pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Queues `value` for every receiver there is now; with none, it is handed back.
    /// Returns how many receivers there are.
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let mut tail = lock(&self.shared.tail);
        let receivers = tail.positions.len();
        if receivers == 0 {
            return Err(SendError(value));
        }
        let pos = tail.next;
        tail.next += 1;
        // Written under the tail's lock, so slots fill in the order of their positions.
        let evicted = {
            let mut slot = lock(self.shared.slot(pos));
            slot.pos = pos;
            slot.value.replace(value)
        };
        drop(tail);
        drop(evicted);
        // A receiver counts itself as waiting before it looks at the slot (under the
        // slot's lock this send held), so either it saw the value or this sees it waiting.
        if self.shared.waiting.load(Ordering::SeqCst) > 0 {
            self.shared.wake.notify_waiters();
        }
        Ok(receivers)
    }

    /// A receiver of every value sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        let mut tail = lock(&self.shared.tail);
        let next = tail.next;
        let position = Arc::new(AtomicU64::new(next));
        tail.positions.push(Arc::clone(&position));
        Receiver {
            shared: Arc::clone(&self.shared),
            position,
            next,
        }
    }

    pub fn receiver_count(&self) -> usize {
        lock(&self.shared.tail).positions.len()
    }

    /// Values some receiver has not read yet (and that are still held).
    pub fn backlog(&self) -> usize {
        let tail = lock(&self.shared.tail);
        let oldest = self.shared.oldest(tail.next);
        let slowest = (tail.positions.iter())
            .map(|at| at.load(Ordering::Relaxed))
            .min();
        slowest.map_or(0, |at| tail.next.saturating_sub(at.max(oldest)) as usize)
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        self.shared.wake.notify_waiters();
    }
}

pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// `next`, told to the sender (for its backlog).
    position: Arc<AtomicU64>,
    /// The position of the next value to read.
    next: u64,
}

/// The most values a receiver reads in one call: a caller that stops early does not
/// wait for a long run to end.
const READ_AT_ONCE: usize = 256;

impl<T> Receiver<T> {
    /// Reads the values waiting, oldest first, in place: `visit` is given each one and
    /// answers whether it wants the next. Returns how many it read (at most
    /// [`READ_AT_ONCE`]: call again for more); `Lagged(n)` (reading nothing) when `n`
    /// values were dropped before this receiver read them, after which it reads on from
    /// the oldest held; `Empty` or `Closed` when nothing waits.
    pub fn try_recv_each(
        &mut self,
        mut visit: impl FnMut(&T) -> bool,
    ) -> Result<usize, TryRecvError> {
        // Read first: once the sender is gone, every value it sent is in its slot.
        let closed = self.shared.closed.load(Ordering::SeqCst);
        let mut taken = 0usize;
        let mut overwritten = false;
        while taken < READ_AT_ONCE {
            let slot = lock(self.shared.slot(self.next));
            match &slot.value {
                Some(value) if slot.pos == self.next => {
                    taken += 1;
                    self.next += 1;
                    if !visit(value) {
                        break;
                    }
                }
                Some(_) if slot.pos > self.next => {
                    overwritten = true;
                    break;
                }
                // Not written yet (it holds an older value, or none).
                _ => break,
            }
        }
        if taken > 0 {
            self.position.store(self.next, Ordering::Relaxed);
            // A loss found after some reads is told by the next call.
            return Ok(taken);
        }
        if overwritten {
            let next = lock(&self.shared.tail).next;
            let oldest = self.shared.oldest(next);
            let lost = oldest.saturating_sub(self.next);
            self.next = self.next.max(oldest);
            self.position.store(self.next, Ordering::Relaxed);
            return Err(TryRecvError::Lagged(lost));
        }
        Err(if closed {
            TryRecvError::Closed
        } else {
            TryRecvError::Empty
        })
    }
}

impl<T: Clone> Receiver<T> {
    /// The next value, if one waits.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut taken = None;
        self.try_recv_each(|value| {
            taken = Some(value.clone());
            false
        })?;
        taken.ok_or(TryRecvError::Empty)
    }

    /// The next value, waiting for one; `Closed` once the sender is gone and everything
    /// held was read. Cancel-safe: a dropped wait takes nothing.
    pub async fn recv(&mut self) -> Result<T, RecvError> {
        /// What `try_recv` gave as `recv`'s answer (`None`: nothing yet).
        fn answer<T>(got: Result<T, TryRecvError>) -> Option<Result<T, RecvError>> {
            match got {
                Ok(value) => Some(Ok(value)),
                Err(TryRecvError::Lagged(n)) => Some(Err(RecvError::Lagged(n))),
                Err(TryRecvError::Closed) => Some(Err(RecvError::Closed)),
                Err(TryRecvError::Empty) => None,
            }
        }
        loop {
            if let Some(answer) = answer(self.try_recv()) {
                return answer;
            }
            let shared = Arc::clone(&self.shared);
            let woken = shared.wake.notified();
            let _waiting = Waiting::new(&shared.waiting);
            // Looked at again now that a send will wake this one.
            if let Some(answer) = answer(self.try_recv()) {
                return answer;
            }
            woken.await;
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut tail = lock(&self.shared.tail);
        tail.positions.retain(|at| !Arc::ptr_eq(at, &self.position));
    }
}

/// Counts a receiver as waiting while it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Waiting<'a> {
        count.fetch_add(1, Ordering::SeqCst);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn every_receiver_reads_every_value_after_it_subscribed() {
        let tx = channel::<u32>(8);
        assert!(tx.send(0).is_err(), "nobody to send to");
        let mut a = tx.subscribe();
        assert_eq!(tx.send(1).ok(), Some(1));
        let mut b = tx.subscribe();
        assert_eq!(tx.send(2).ok(), Some(2));
        assert_eq!(tx.receiver_count(), 2);
        assert_eq!(a.try_recv().ok(), Some(1));
        assert_eq!(a.try_recv().ok(), Some(2));
        assert_eq!(a.try_recv(), Err(TryRecvError::Empty));
        assert_eq!(tx.backlog(), 1, "b has not read 2");
        assert_eq!(b.try_recv().ok(), Some(2));
        assert_eq!(tx.backlog(), 0);
        drop(b);
        assert_eq!(tx.receiver_count(), 1);
        drop(tx);
        assert_eq!(a.try_recv(), Err(TryRecvError::Closed));
    }

    #[test]
    fn a_slow_receiver_is_told_what_it_lost_and_reads_on_from_the_oldest() {
        let tx = channel::<u32>(4);
        let mut slow = tx.subscribe();
        let mut fast = tx.subscribe();
        for n in 0..10 {
            tx.send(n).expect("receivers");
            assert_eq!(fast.try_recv().ok(), Some(n));
        }
        assert_eq!(tx.backlog(), 4, "only what is held counts");
        assert_eq!(slow.try_recv(), Err(TryRecvError::Lagged(6)));
        let mut seen = Vec::new();
        let read = slow.try_recv_each(|&n| {
            seen.push(n);
            true
        });
        assert_eq!(read, Ok(4));
        assert_eq!(seen, vec![6, 7, 8, 9]);
        assert_eq!(tx.backlog(), 0);
        // A visit that wants no more stops after the value it was given.
        for n in 10..13 {
            tx.send(n).expect("receivers");
        }
        seen.clear();
        let read = slow.try_recv_each(|&n| {
            seen.push(n);
            seen.len() < 2
        });
        assert_eq!((read, seen), (Ok(2), vec![10, 11]));
        assert_eq!(slow.try_recv().ok(), Some(12));
    }

    #[test]
    fn held_values_are_read_before_the_close() {
        let tx = channel::<String>(4);
        let mut rx = tx.subscribe();
        tx.send("last".into()).expect("a receiver");
        drop(tx);
        assert_eq!(rx.try_recv().ok().as_deref(), Some("last"));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_waiting_receiver_is_woken_by_a_send_and_by_the_close() {
        let tx = channel::<u64>(16);
        let mut rx = tx.subscribe();
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                match rx.recv().await {
                    Ok(n) => got.push(n),
                    Err(RecvError::Lagged(n)) => panic!("lost {n} of a paced stream"),
                    Err(RecvError::Closed) => return got,
                }
            }
        });
        for n in 0..2_000u64 {
            tx.send(n).expect("the reader");
            if n % 8 == 0 {
                // Let the reader catch up and wait again, so sends find it waiting.
                while tx.backlog() > 0 {
                    tokio::task::yield_now().await;
                }
            }
        }
        while tx.backlog() > 0 {
            tokio::task::yield_now().await;
        }
        drop(tx);
        let got = tokio::time::timeout(Duration::from_secs(10), reader)
            .await
            .expect("the reader ends once the sender is gone")
            .expect("the reader");
        assert_eq!(got, (0..2_000).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_cancelled_wait_leaves_nobody_counted_as_waiting() {
        let tx = channel::<u8>(2);
        let mut rx = tx.subscribe();
        let waited = tokio::time::timeout(Duration::from_millis(20), rx.recv()).await;
        assert!(waited.is_err(), "nothing was sent");
        assert_eq!(tx.shared.waiting.load(Ordering::SeqCst), 0);
        tx.send(7).expect("a receiver");
        assert_eq!(rx.recv().await.ok(), Some(7));
    }
}
