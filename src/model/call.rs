//! One tool call as the monitor knows it: progress, rate, ETA, history.

use std::collections::VecDeque;

use chrono::TimeDelta;

use crate::time::Time;

use crate::wire::Token;

/// A call's identity in the table: stable for the life of the row, never reused, so a
/// selection or a `follow` binds to the call and not to a row position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub u64);

/// What identifies a call on the wire: its session (on an all-sessions stream), the tool
/// (when the server names it) and the token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CallKey {
    pub session: Option<String>,
    pub tool: Option<String>,
    pub token: Option<Token>,
}

/// A [`CallKey`] borrowed from a frame: looks a call up without allocating. Hashes exactly
/// as the owned key does (same fields, same order; `&str` hashes as `String`, `&T` as `T`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct KeyRef<'a> {
    pub session: Option<&'a str>,
    pub tool: Option<&'a str>,
    pub token: Option<&'a Token>,
}

impl KeyRef<'_> {
    pub fn to_key(self) -> CallKey {
        CallKey {
            session: self.session.map(str::to_owned),
            tool: self.tool.map(str::to_owned),
            token: self.token.cloned(),
        }
    }
}

impl hashbrown::Equivalent<CallKey> for KeyRef<'_> {
    fn equivalent(&self, key: &CallKey) -> bool {
        use crate::sse::scan::same_bytes;
        fn same(a: Option<&str>, b: Option<&str>) -> bool {
            match (a, b) {
                (Some(a), Some(b)) => same_bytes(a.as_bytes(), b.as_bytes()),
                (a, b) => a.is_none() && b.is_none(),
            }
        }
        same(self.session, key.session.as_deref())
            && same(self.tool, key.tool.as_deref())
            && self.token == key.token.as_ref()
    }
}

/// How a call ended, or that it has not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Running,
    /// Progress reached the total, or the server said it finished.
    Done,
    Failed,
    Cancelled,
    /// Its end will never be known: still running when its daemon went away (a
    /// restart), or its producer said its end never came (`"state":"lost"`).
    Lost,
}

impl Status {
    pub fn is_finished(self) -> bool {
        self != Status::Running
    }
}

/// One point of the progress history (for the sparkline and the detail view).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub at: Time,
    pub progress: f64,
}

/// A message the call reported, with when it arrived.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MessageEntry<'a> {
    pub at: Time,
    pub text: &'a str,
}

/// A call's distinct messages, oldest first, newest last (the current one), at most a fixed
/// number of them. The texts sit end to end in one buffer, so a call that reports a new
/// message with every update costs no allocation per message.
/// The most bytes of messages one call keeps.
pub const MESSAGE_LOG_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, Default)]
pub struct MessageLog {
    text: String,
    /// Each message's arrival and where its text starts; it ends where the next one starts
    /// (the last at the end of the buffer). Bytes before the first start are dead.
    entries: VecDeque<(Time, usize)>,
}

impl MessageLog {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The newest message.
    pub fn last(&self) -> Option<&str> {
        let &(_, start) = self.entries.back()?;
        self.text.get(start..)
    }

    /// Oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = MessageEntry<'_>> + ExactSizeIterator {
        (0..self.entries.len()).map(move |i| {
            let (at, start) = self.entries[i];
            let end = self.entries.get(i + 1).map_or(self.text.len(), |e| e.1);
            MessageEntry {
                at,
                text: self.text.get(start..end).unwrap_or_default(),
            }
        })
    }

    /// Bytes the log's buffer holds, live or not yet reclaimed.
    pub fn text_bytes(&self) -> usize {
        self.text.len()
    }

    /// Bytes of the messages held.
    fn live_bytes(&self) -> usize {
        self.entries
            .front()
            .map_or(0, |&(_, start)| self.text.len() - start)
    }

    /// Appends a message, dropping the oldest past `cap` messages or past
    /// [`MESSAGE_LOG_BYTES`] (the new one is always kept).
    fn push(&mut self, at: Time, text: &str, cap: usize) {
        while self.entries.len() >= cap.max(1)
            || (!self.entries.is_empty() && self.live_bytes() + text.len() > MESSAGE_LOG_BYTES)
        {
            self.entries.pop_front();
        }
        if self.entries.is_empty() {
            // Nothing live: every byte is dead.
            self.text.clear();
        }
        let dead = self.entries.front().map_or(self.text.len(), |e| e.1);
        // Reclaim dead bytes once they are the larger part: each live byte moves at most
        // once per byte that died before it, so appends stay amortised O(length).
        if dead > 0 && dead >= self.text.len() - dead {
            self.text.drain(..dead);
            for entry in &mut self.entries {
                entry.1 -= dead;
            }
            // A burst of long messages should not pin its memory once it is gone.
            if self.text.capacity() > 4096
                && self.text.capacity() > 4 * (self.text.len() + text.len())
            {
                self.text.shrink_to(2 * (self.text.len() + text.len()));
            }
        }
        self.entries.push_back((at, self.text.len()));
        self.text.push_str(text);
    }
}

#[derive(Debug, Clone)]
pub struct Call {
    pub id: CallId,
    pub key: CallKey,
    /// 1 for the first call seen under this key, then 2, 3 … as the token is reused.
    pub generation: u32,
    pub first_seen: Time,
    pub last_update: Time,
    pub progress: Option<f64>,
    pub total: Option<f64>,
    pub status: Status,
    pub ended_at: Option<Time>,
    /// The error or cancellation reason, when there is one.
    pub error: Option<String>,
    /// Duration reported by the server at the end, if any.
    pub reported_duration: Option<TimeDelta>,
    /// Frames applied to this call.
    pub updates: u64,
    /// Smoothed progress units per second.
    pub rate: Option<f64>,
    /// Smoothed seconds between updates (the call's own cadence).
    pub cadence: Option<f64>,
    pub history: VecDeque<Sample>,
    /// Distinct messages in the order they came, newest last (the current one).
    pub messages: MessageLog,
    /// Updates whose progress did not increase.
    pub non_increasing: u32,
    /// Updates that arrived after the call was done.
    pub after_completion: u32,
    /// Signs that several concurrent calls share this token (Construct reuses token 0).
    pub shared_token: bool,
    /// The call was seen only through progress (no `started`), so it may have begun earlier.
    pub started_unseen: bool,
    /// The server said how the call ended (a `call` finished/failed/cancelled event), not
    /// just progress reaching its total.
    pub end_reported: bool,
    /// `Some(false)` when the caller asked for no progress (a tap saw no progress token):
    /// an empty bar is then expected, not a fault.
    pub progress_requested: Option<bool>,
    /// The label (or id) of the session the call belongs to, on an all-sessions stream.
    pub session_label: Option<String>,
    /// Recent instantaneous rates, to judge whether the rate is stable enough for an ETA.
    recent_rates: VecDeque<f64>,
    /// The daemon run (`pid … · started …`) the call came from, when the source said.
    pub instance: Option<std::sync::Arc<str>>,
    /// Running but blocked: on input (a task's `input_required`) or on permission.
    pub waiting: Option<crate::wire::Wait>,
    /// The token a person sees, where the key is a tap's (`Some("")`: none to show).
    pub shown_token: Option<crate::wire::Token>,
    /// The MCP task the call runs as.
    pub task: Option<String>,
    /// Who reported it when not a tap: an agent's hooks or its OpenTelemetry (its own
    /// tools, which report no progress) or its model turns.
    pub origin: Option<crate::wire::schema::Origin>,
    /// The W3C trace the agent ran it in (32 hex digits, from its `traceparent`): where
    /// to look for its span in a tracing backend.
    pub trace_id: Option<String>,
    /// The subagent that made it (its type, then its id), when the agent's hooks said.
    pub subagent: Option<(String, String)>,
    /// An agent's own report of an MCP call (`mcp__SERVER__TOOL`) whose server's tap shows
    /// the same call: that row is the call; this one is not shown again.
    pub reached: Option<CallId>,
    /// Its arguments and a summary of its result (JSON texts, bounded), from a tap.
    pub arguments: Option<String>,
    pub result: Option<String>,
}

/// Floats that differ in their last bits are the same number here: a server that adds up
/// fractional megabytes reports 57.445750074142566 of 57.44575007414256.
const RELATIVE_TOLERANCE: f64 = 1e-9;

/// Progress `p` has reached the total `t` (within the tolerance).
pub fn reached(p: f64, t: f64) -> bool {
    p >= t - t.abs() * RELATIVE_TOLERANCE
}

/// Progress `p` is past the total `t` by more than the tolerance.
pub fn beyond(p: f64, t: f64) -> bool {
    p > t + t.abs() * RELATIVE_TOLERANCE
}

/// Smoothing time constant for rates and cadence, in seconds.
const TAU_SECS: f64 = 5.0;
const RECENT_RATES: usize = 5;

impl Call {
    pub(crate) fn new(id: CallId, key: CallKey, generation: u32, at: Time) -> Call {
        Call {
            id,
            key,
            generation,
            first_seen: at,
            last_update: at,
            progress: None,
            total: None,
            status: Status::Running,
            ended_at: None,
            error: None,
            reported_duration: None,
            updates: 0,
            rate: None,
            cadence: None,
            history: VecDeque::new(),
            messages: MessageLog::default(),
            non_increasing: 0,
            after_completion: 0,
            shared_token: false,
            started_unseen: true,
            end_reported: false,
            progress_requested: None,
            session_label: None,
            recent_rates: VecDeque::with_capacity(RECENT_RATES),
            instance: None,
            waiting: None,
            shown_token: None,
            task: None,
            trace_id: None,
            subagent: None,
            reached: None,
            origin: None,
            arguments: None,
            result: None,
        }
    }

    /// The latest message the call reported.
    pub fn message(&self) -> Option<&str> {
        self.messages.last()
    }

    /// Percent done, when the total is known and positive.
    pub fn percent(&self) -> Option<f64> {
        match (self.progress, self.total) {
            (Some(p), Some(t)) if t > 0.0 && reached(p, t) => Some(100.0),
            (Some(p), Some(t)) if t > 0.0 => Some((p / t * 100.0).clamp(0.0, 100.0)),
            _ => None,
        }
    }

    /// How long the call has run (to its end, when it ended).
    pub fn elapsed(&self, now: Time) -> TimeDelta {
        if let Some(d) = self.reported_duration {
            return d;
        }
        let end = self.ended_at.unwrap_or(now);
        (end - self.first_seen).max(TimeDelta::zero())
    }

    /// Time since the last update.
    pub fn since_update(&self, now: Time) -> TimeDelta {
        (now - self.last_update).max(TimeDelta::zero())
    }

    /// Whether recent rates agree well enough to promise an ETA.
    pub fn rate_is_stable(&self) -> bool {
        let Some(rate) = self.rate else { return false };
        if self.recent_rates.len() < 3 || rate <= 0.0 {
            return false;
        }
        self.recent_rates
            .iter()
            .all(|r| (r - rate).abs() <= 0.5 * rate)
    }

    /// Estimated time to completion: only with a known total and a stable rate.
    pub fn eta(&self) -> Option<TimeDelta> {
        if self.status != Status::Running || !self.rate_is_stable() {
            return None;
        }
        let (p, t, rate) = (self.progress?, self.total?, self.rate?);
        let secs = ((t - p).max(0.0)) / rate;
        if !secs.is_finite() || secs > 1e7 {
            return None;
        }
        crate::time::delta_from_secs(secs)
    }

    /// Applies a progress report.
    pub(crate) fn record_progress(
        &mut self,
        at: Time,
        progress: f64,
        total: Option<f64>,
        message: Option<std::borrow::Cow<'_, str>>,
        limits: &HistoryLimits,
    ) {
        if let Some(prev) = self.progress {
            if progress <= prev {
                self.non_increasing += 1;
            } else {
                let dt = at.secs_since(self.last_update);
                if dt > 0.0 {
                    self.observe_rate((progress - prev) / dt, dt);
                }
            }
        }
        if self.updates > 0 {
            let dt = at.secs_since(self.last_update).max(0.0);
            self.cadence = Some(match self.cadence {
                None => dt,
                Some(c) => c + (dt - c) * 0.3,
            });
        }
        self.updates += 1;
        self.last_update = at.max(self.last_update);
        self.progress = Some(progress);
        if total.is_some() {
            self.total = total;
        }
        push_bounded(&mut self.history, Sample { at, progress }, limits.samples);
        if let Some(text) = message {
            if self.message() != Some(&*text) {
                self.messages.push(at, &text, limits.messages);
            }
        }
        if let (Some(t), Status::Running) = (self.total, self.status) {
            if t > 0.0 && reached(progress, t) {
                self.status = Status::Done;
                self.ended_at = Some(at);
            }
        }
    }

    fn observe_rate(&mut self, instant: f64, dt: f64) {
        // Time-weighted: an update after a long gap counts for more. (dt / (tau + dt) has
        // the shape of 1 - exp(-dt / tau) without a call into libm for every frame.)
        let alpha = dt / (TAU_SECS + dt);
        self.rate = Some(match self.rate {
            None => instant,
            Some(r) => r + (instant - r) * alpha,
        });
        if self.recent_rates.len() == RECENT_RATES {
            self.recent_rates.pop_front();
        }
        self.recent_rates.push_back(instant);
    }

    /// A message that came without progress (a task's status message).
    pub(crate) fn record_message(&mut self, at: Time, text: &str, limits: &HistoryLimits) {
        if self.message() != Some(text) {
            self.messages.push(at, text, limits.messages);
        }
    }

    /// The token to show for the call: the agent's own where a tap keyed it otherwise.
    pub fn token_shown(&self) -> Option<&crate::wire::Token> {
        match &self.shown_token {
            Some(crate::wire::Token::Str(s)) if s.is_empty() => None,
            Some(t) => Some(t),
            None => self.key.token.as_ref(),
        }
    }

    pub(crate) fn finish(&mut self, status: Status, at: Time, error: Option<String>) {
        self.waiting = None;
        self.status = status;
        self.ended_at = Some(at);
        self.last_update = at.max(self.last_update);
        if error.is_some() {
            self.error = error;
        }
    }
}

/// Bounds on what a call remembers.
#[derive(Debug, Clone, Copy)]
pub struct HistoryLimits {
    pub samples: usize,
    pub messages: usize,
}

fn push_bounded<T>(queue: &mut VecDeque<T>, item: T, cap: usize) {
    if cap == 0 {
        return;
    }
    if queue.len() >= cap {
        queue.pop_front();
    }
    queue.push_back(item);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn borrowed_and_owned_keys_hash_alike() {
        let hasher = rustc_hash::FxBuildHasher;
        for (session, tool, token) in [
            (None, Some("notion"), Some(Token::Int(7))),
            (Some("s1"), None, Some(Token::Str("abc".into()))),
            (Some("s2"), Some("x"), None),
            (None, None, None),
        ] {
            let borrowed = KeyRef {
                session,
                tool,
                token: token.as_ref(),
            };
            let owned = borrowed.to_key();
            assert_eq!(hasher.hash_one(borrowed), hasher.hash_one(&owned));
            assert!(hashbrown::Equivalent::equivalent(&borrowed, &owned));
        }
    }

    proptest::proptest! {
        /// The log holds exactly the last `cap` messages pushed, in order, and its buffer
        /// stays within a constant factor of what it holds.
        #[test]
        fn the_message_log_keeps_the_newest_messages(
            cap in 0usize..6,
            texts in proptest::collection::vec("[a-zé€\\n]{0,40}", 0..60),
        ) {
            let mut log = MessageLog::default();
            let mut reference: VecDeque<(Time, String)> = VecDeque::new();
            for (n, text) in texts.iter().enumerate() {
                let at = Time::from_unix_nanos(n as i64);
                log.push(at, text, cap);
                if reference.len() >= cap.max(1) {
                    reference.pop_front();
                }
                reference.push_back((at, text.clone()));
                let held: Vec<(Time, String)> =
                    log.iter().map(|m| (m.at, m.text.to_owned())).collect();
                proptest::prop_assert_eq!(&held, &Vec::from(reference.clone()));
                proptest::prop_assert_eq!(log.len(), reference.len());
                proptest::prop_assert_eq!(log.last(), reference.back().map(|m| m.1.as_str()));
                let live: usize = reference.iter().map(|m| m.1.len()).sum();
                let newest = reference.back().map_or(0, |m| m.1.len());
                proptest::prop_assert!(log.text.len() <= 2 * live + newest);
            }
            let newest_first: Vec<&str> = log.iter().rev().map(|m| m.text).collect();
            let expected: Vec<&str> = reference.iter().rev().map(|m| m.1.as_str()).collect();
            proptest::prop_assert_eq!(newest_first, expected);
        }
    }

    #[test]
    fn a_long_message_does_not_pin_its_buffer() {
        let mut log = MessageLog::default();
        let t = Time::from_unix_nanos(0);
        log.push(t, &"x".repeat(1 << 20), 3);
        for n in 0..10 {
            log.push(t, &format!("step {n}"), 3);
        }
        assert_eq!(log.len(), 3);
        assert_eq!(log.last(), Some("step 9"));
        assert!(log.text.capacity() < 4096, "{}", log.text.capacity());
    }

    #[test]
    fn keys_that_differ_anywhere_are_different() {
        let tools = [
            "",
            "a",
            "b",
            "grep",
            "grap",
            "run_tests",
            "run_testz",
            "web_fetch_all_pages",
            "web_fetch_all_pagez",
            "xeb_fetch_all_pages",
        ];
        let token = Token::Int(7);
        for (i, a) in tools.iter().enumerate() {
            for (j, b) in tools.iter().enumerate() {
                for (sa, sb) in [(None, None), (Some(*a), Some(*b)), (None, Some(*b))] {
                    let borrowed = KeyRef {
                        session: sa,
                        tool: Some(a),
                        token: Some(&token),
                    };
                    let owned = KeyRef {
                        session: sb,
                        tool: Some(b),
                        token: Some(&token),
                    }
                    .to_key();
                    let same = i == j && sa.is_some() == sb.is_some();
                    assert_eq!(
                        hashbrown::Equivalent::equivalent(&borrowed, &owned),
                        same,
                        "{sa:?}/{a:?} against {sb:?}/{b:?}"
                    );
                }
            }
        }
    }
}
