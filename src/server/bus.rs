//! The fan-out of one stream's events to its subscribers: a bounded queue every receiver
//! reads at its own pace, the oldest value dropped when a new one finds it full (and a
//! receiver that had not read it told how many it lost), like `tokio::sync::broadcast`.
//!
//! Unlike tokio's channel, a receiver can take every value waiting in one go and read
//! them in place ([`Receiver::try_recv_each`]): a subscriber at full speed locks the queue
//! once per batch, not once per event, and copies an event's bytes without taking a
//! reference to it (a reference is an atomic count shared with the publisher's thread).
//! A sender wakes receivers only when one is waiting.
//!
//! The errors are tokio's, so a receiver is used as one of tokio's would be.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

pub use tokio::sync::broadcast::error::{RecvError, SendError, TryRecvError};

struct Shared<T> {
    state: Mutex<State<T>>,
    /// Receivers waiting for a value, woken by a send or by the sender's end.
    wake: Notify,
    /// How many receivers wait (or are about to): a send with none skips the wake-up.
    waiting: AtomicUsize,
}

struct State<T> {
    /// The values still held, the oldest first; the newest has position `next - 1`.
    held: VecDeque<T>,
    /// The position the next value gets.
    next: u64,
    capacity: usize,
    /// Each receiver's next position, by its slot (`None`: a free slot).
    positions: Vec<Option<u64>>,
    receivers: usize,
    /// The sender is gone: once a receiver has read what is held, it is closed.
    closed: bool,
}

impl<T> State<T> {
    fn first(&self) -> u64 {
        self.next - self.held.len() as u64
    }
}

fn lock<T>(shared: &Shared<T>) -> MutexGuard<'_, State<T>> {
    shared.state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A queue holding `capacity` values (at least one) for its receivers, none yet.
pub fn channel<T>(capacity: usize) -> Sender<T> {
    let capacity = capacity.max(1);
    Sender {
        shared: Arc::new(Shared {
            state: Mutex::new(State {
                held: VecDeque::with_capacity(capacity.min(4096)),
                next: 0,
                capacity,
                positions: Vec::new(),
                receivers: 0,
                closed: false,
            }),
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
        let mut state = lock(&self.shared);
        if state.receivers == 0 {
            return Err(SendError(value));
        }
        let receivers = state.receivers;
        state.held.push_back(value);
        state.next += 1;
        let evicted = if state.held.len() > state.capacity {
            state.held.pop_front()
        } else {
            None
        };
        drop(state);
        drop(evicted);
        // A receiver counts itself as waiting before it looks at the queue (under the
        // lock this send held), so either it saw the value or this sees it waiting.
        if self.shared.waiting.load(Ordering::SeqCst) > 0 {
            self.shared.wake.notify_waiters();
        }
        Ok(receivers)
    }

    /// A receiver of every value sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        let mut state = lock(&self.shared);
        let next = state.next;
        let slot = match state.positions.iter().position(Option::is_none) {
            Some(free) => {
                state.positions[free] = Some(next);
                free
            }
            None => {
                state.positions.push(Some(next));
                state.positions.len() - 1
            }
        };
        state.receivers += 1;
        Receiver {
            shared: Arc::clone(&self.shared),
            slot,
            next,
        }
    }

    pub fn receiver_count(&self) -> usize {
        lock(&self.shared).receivers
    }

    /// Values some receiver has not read yet (and that are still held).
    pub fn backlog(&self) -> usize {
        let state = lock(&self.shared);
        let first = state.first();
        let slowest = state.positions.iter().flatten().min().copied();
        slowest.map_or(0, |at| (state.next - at.max(first)) as usize)
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        lock(&self.shared).closed = true;
        self.shared.wake.notify_waiters();
    }
}

pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    slot: usize,
    /// The position of the next value to read.
    next: u64,
}

impl<T> Receiver<T> {
    /// Reads the values waiting, oldest first, in place: `visit` is given each one and
    /// answers whether it wants the next. Returns how many it read; `Lagged(n)` (reading
    /// nothing) when `n` values were dropped before this receiver read them, after which
    /// it reads on from the oldest held; `Empty` or `Closed` when nothing waits.
    pub fn try_recv_each(
        &mut self,
        mut visit: impl FnMut(&T) -> bool,
    ) -> Result<usize, TryRecvError> {
        let Receiver { shared, slot, next } = self;
        let mut state = lock(shared);
        let first = state.first();
        let moved_to = |state: &mut State<T>, next: &mut u64, to: u64| {
            *next = to;
            if let Some(at) = state.positions.get_mut(*slot) {
                *at = Some(to);
            }
        };
        if *next < first {
            let lost = first - *next;
            moved_to(&mut state, next, first);
            return Err(TryRecvError::Lagged(lost));
        }
        let from = (*next - first) as usize;
        let mut read = 0usize;
        for value in state.held.range(from..) {
            read += 1;
            if !visit(value) {
                break;
            }
        }
        if read == 0 {
            return Err(if state.closed {
                TryRecvError::Closed
            } else {
                TryRecvError::Empty
            });
        }
        let to = *next + read as u64;
        moved_to(&mut state, next, to);
        Ok(read)
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
        loop {
            match self.try_recv() {
                Ok(value) => return Ok(value),
                Err(TryRecvError::Lagged(n)) => return Err(RecvError::Lagged(n)),
                Err(TryRecvError::Closed) => return Err(RecvError::Closed),
                Err(TryRecvError::Empty) => {}
            }
            let shared = Arc::clone(&self.shared);
            let woken = shared.wake.notified();
            let _waiting = Waiting::new(&shared.waiting);
            // Looked at again now that a send will wake this one.
            match self.try_recv() {
                Ok(value) => return Ok(value),
                Err(TryRecvError::Lagged(n)) => return Err(RecvError::Lagged(n)),
                Err(TryRecvError::Closed) => return Err(RecvError::Closed),
                Err(TryRecvError::Empty) => woken.await,
            }
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = lock(&self.shared);
        if let Some(at) = state.positions.get_mut(self.slot) {
            *at = None;
        }
        state.receivers = state.receivers.saturating_sub(1);
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
