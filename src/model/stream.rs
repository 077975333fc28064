//! What the model knows about the stream itself: loss, id gaps, lateness, silence,
//! reconnects. Calls are elsewhere; this is the health of the pipe they arrive through.

use std::collections::VecDeque;

use chrono::TimeDelta;

use crate::time::Time;

/// The connection as the source reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// Not connected yet (or given up).
    Idle,
    Connecting,
    Connected {
        /// True when the source resumed with `Last-Event-ID` after a drop.
        resumed: bool,
    },
    Disconnected {
        reason: String,
    },
}

/// A span during which the stream was down.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconnectWindow {
    pub from: Time,
    pub to: Time,
    /// The stream carries ids and the source resumed from the last one.
    pub resumed: bool,
}

impl ReconnectWindow {
    pub fn duration(&self) -> TimeDelta {
        self.to - self.from
    }
}

const MAX_WINDOWS: usize = 16;
/// Samples before the delay estimate is trusted.
pub const DELAY_MIN_SAMPLES: u32 = 5;

#[derive(Debug, Clone)]
pub struct StreamState {
    pub connection: Connection,
    pub connected_since: Option<Time>,
    /// When anything last arrived: an event, a keep-alive, any byte.
    pub last_activity: Option<Time>,
    pub last_keepalive: Option<Time>,
    pub last_event: Option<Time>,
    pub events: u64,
    pub unknown_frames: u64,
    /// Events the source threw away unread, and the last reason.
    pub discarded: u64,
    pub last_discard: String,
    /// When the server last reported loss (`lagged`), ids last jumped, an event was last
    /// discarded: loss findings say how long ago, and age out after a quiet while.
    /// What to say when nothing but keep-alives comes (from the source; see
    /// [`crate::event::LinkStatus::Daemon`]).
    pub quiet_hint: Option<String>,
    pub last_lagged_at: Option<Time>,
    pub last_gap_at: Option<Time>,
    pub last_discard_at: Option<Time>,
    /// What the daemon itself lost beside the streams (its OTLP paths), and when a count
    /// last grew.
    pub daemon_counts: crate::event::DaemonCounts,
    pub last_daemon_loss_at: Option<Time>,
    /// Events the server said this subscriber missed (`lagged`).
    pub server_missed: u64,
    pub lagged_reports: u64,
    /// Losses announced by the server and not yet matched by an id gap.
    pub(crate) unexplained_loss: u64,
    /// Events missing between numeric ids.
    pub id_gap_events: u64,
    pub id_gaps: u64,
    /// Events whose id was not above the last one (replays, duplicates).
    pub id_repeats: u64,
    /// Whether the stream has carried ids at all.
    pub has_ids: bool,
    last_numeric_id: Option<(String, u64)>,
    /// Delivery delay: receive time − event timestamp, minus the smallest such difference
    /// seen (which stands for the constant clock skew between the hosts).
    delay_floor: Option<f64>,
    delay_smoothed: Option<f64>,
    delay_samples: u32,
    pub reconnects: VecDeque<ReconnectWindow>,
    disconnected_at: Option<Time>,
}

impl Default for StreamState {
    fn default() -> Self {
        StreamState {
            connection: Connection::Idle,
            connected_since: None,
            last_activity: None,
            last_keepalive: None,
            last_event: None,
            events: 0,
            unknown_frames: 0,
            discarded: 0,
            last_discard: String::new(),
            quiet_hint: None,
            last_lagged_at: None,
            last_gap_at: None,
            last_discard_at: None,
            daemon_counts: crate::event::DaemonCounts::default(),
            last_daemon_loss_at: None,
            server_missed: 0,
            lagged_reports: 0,
            unexplained_loss: 0,
            id_gap_events: 0,
            id_gaps: 0,
            id_repeats: 0,
            has_ids: false,
            last_numeric_id: None,
            delay_floor: None,
            delay_smoothed: None,
            delay_samples: 0,
            reconnects: VecDeque::new(),
            disconnected_at: None,
        }
    }
}

/// What an event id says about order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdCheck {
    /// The next id, or ids that are not numeric.
    InOrder,
    /// `missing` events were skipped.
    Gap { missing: u64 },
    /// Not above the last id: a replay or a duplicate.
    Repeat,
}

impl StreamState {
    pub fn activity(&mut self, at: Time) {
        self.last_activity = Some(self.last_activity.map_or(at, |t| t.max(at)));
    }

    pub fn keepalive(&mut self, at: Time) {
        self.activity(at);
        self.last_keepalive = Some(at);
    }

    pub fn set_connection(&mut self, connection: Connection, at: Time) {
        match &connection {
            Connection::Connected { resumed } => {
                if let Some(from) = self.disconnected_at.take() {
                    if self.reconnects.len() == MAX_WINDOWS {
                        self.reconnects.pop_front();
                    }
                    self.reconnects.push_back(ReconnectWindow {
                        from,
                        to: at,
                        resumed: *resumed && self.has_ids,
                    });
                }
                self.connected_since = Some(at);
                self.activity(at);
            }
            Connection::Disconnected { .. } => {
                if matches!(self.connection, Connection::Connected { .. }) {
                    self.disconnected_at = Some(at);
                }
                self.connected_since = None;
            }
            Connection::Connecting | Connection::Idle => {}
        }
        self.connection = connection;
    }

    /// Checks an event id against the last one. Ids are compared when they are numbers,
    /// or a fixed prefix followed by a number (`evt-41`); other ids (UUIDs) say nothing.
    pub fn check_id(&mut self, id: &str) -> IdCheck {
        if id.is_empty() {
            return IdCheck::InOrder;
        }
        self.has_ids = true;
        let Some((prefix, n)) = split_numeric_id(id) else {
            return IdCheck::InOrder;
        };
        let check = match &self.last_numeric_id {
            Some((last_prefix, last)) if same_str(last_prefix, prefix) => {
                // The same id again is an event without an `id:` line (the id stays in
                // force); only a lower one is a replay.
                // A jump of more than RENUMBERED either way is a stream numbered anew
                // (another daemon instance, a hostile id), not a replay or a loss: one
                // outlandish id must not make every later event a "repeat".
                if n < *last {
                    if *last - n <= RENUMBERED {
                        IdCheck::Repeat
                    } else {
                        IdCheck::InOrder
                    }
                } else if n - *last > 1 && n - *last <= RENUMBERED {
                    IdCheck::Gap {
                        missing: n - *last - 1,
                    }
                } else {
                    IdCheck::InOrder
                }
            }
            _ => IdCheck::InOrder,
        };
        // Events the server already announced as lost (`lagged`) explain a gap of
        // the same size: they are counted once, as server loss.
        let check = match check {
            IdCheck::Gap { missing } => {
                let explained = missing.min(self.unexplained_loss);
                self.unexplained_loss -= explained;
                if missing > explained {
                    IdCheck::Gap {
                        missing: missing - explained,
                    }
                } else {
                    IdCheck::InOrder
                }
            }
            other => other,
        };
        match check {
            IdCheck::Repeat => self.id_repeats = self.id_repeats.saturating_add(1),
            IdCheck::Gap { missing } => {
                self.id_gaps = self.id_gaps.saturating_add(1);
                self.last_gap_at = self.last_activity;
                self.id_gap_events = self.id_gap_events.saturating_add(missing);
            }
            IdCheck::InOrder => {}
        }
        if check != IdCheck::Repeat {
            match &mut self.last_numeric_id {
                Some((p, last)) if same_str(p, prefix) => *last = n,
                slot => *slot = Some((prefix.to_owned(), n)),
            }
        }
        check
    }

    pub fn observe_delay(&mut self, received: Time, stamped: Time) {
        let raw = received.secs_since(stamped);
        let floor = self.delay_floor.map_or(raw, |f| f.min(raw));
        self.delay_floor = Some(floor);
        let corrected = raw - floor;
        self.delay_smoothed = Some(match self.delay_smoothed {
            None => corrected,
            Some(d) => d + (corrected - d) * 0.2,
        });
        self.delay_samples = self.delay_samples.saturating_add(1);
    }

    /// Smoothed delivery delay in seconds beyond the constant clock skew, once there are
    /// enough samples to tell.
    pub fn delay(&self) -> Option<f64> {
        (self.delay_samples >= DELAY_MIN_SAMPLES)
            .then_some(self.delay_smoothed)
            .flatten()
    }

    /// The estimated constant clock offset (receiver − sender), in seconds.
    pub fn clock_skew(&self) -> Option<f64> {
        self.delay_floor
    }

    pub fn delay_samples(&self) -> u32 {
        self.delay_samples
    }
}

/// The largest id jump read as a replay or a loss; beyond it the ids were renumbered.
const RENUMBERED: u64 = 1 << 32;

/// Short-string equality without a call into `memcmp` (prefixes are short or empty, and
/// this runs for every event).
fn same_str(a: &str, b: &str) -> bool {
    crate::sse::scan::same_bytes(a.as_bytes(), b.as_bytes())
}

/// `"41"` → `("", 41)`, `"evt-41"` → `("evt-", 41)`; anything else → none.
fn split_numeric_id(id: &str) -> Option<(&str, u64)> {
    if id.as_bytes()[0].is_ascii_digit() {
        if let Ok(n) = id.parse::<u64>() {
            return Some(("", n)); // the common case: a plain sequence number
        }
    }
    let digits = id.len() - id.bytes().rev().take_while(u8::is_ascii_digit).count();
    if digits == id.len() || id.len() - digits > 19 {
        return None;
    }
    let (prefix, number) = id.split_at(digits);
    Some((prefix, number.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_ids_are_split_from_their_prefix() {
        assert_eq!(split_numeric_id("41"), Some(("", 41)));
        assert_eq!(split_numeric_id("evt-41"), Some(("evt-", 41)));
        assert_eq!(split_numeric_id("evt-"), None);
        assert_eq!(split_numeric_id("+5"), Some(("+", 5)));
        assert_eq!(split_numeric_id("9a7c-ff"), None);
        assert_eq!(split_numeric_id("99999999999999999999999"), None);
    }

    #[test]
    fn gaps_and_repeats_are_counted() {
        let mut s = StreamState::default();
        assert_eq!(s.check_id("1"), IdCheck::InOrder);
        assert_eq!(s.check_id("2"), IdCheck::InOrder);
        assert_eq!(s.check_id("6"), IdCheck::Gap { missing: 3 });
        // The same id again: an event with no `id:` line of its own.
        assert_eq!(s.check_id("6"), IdCheck::InOrder);
        assert_eq!(s.check_id("5"), IdCheck::Repeat);
        assert_eq!(s.check_id("7"), IdCheck::InOrder);
        assert_eq!((s.id_gaps, s.id_gap_events, s.id_repeats), (1, 3, 1));
        // UUIDs carry no order.
        assert_eq!(s.check_id("0b7e6c2e-aaaa"), IdCheck::InOrder);
        assert!(s.has_ids);
    }

    #[test]
    fn ids_are_compared_within_their_prefix() {
        let mut s = StreamState::default();
        assert_eq!(s.check_id("evt-1"), IdCheck::InOrder);
        assert_eq!(s.check_id("evt-4"), IdCheck::Gap { missing: 2 });
        // A new prefix starts a new sequence: nothing to compare against.
        assert_eq!(s.check_id("evu-1"), IdCheck::InOrder);
        assert_eq!(s.check_id("evu-0"), IdCheck::Repeat);
        assert_eq!(s.check_id("a-long-prefix-of-twenty-1"), IdCheck::InOrder);
        assert_eq!(
            s.check_id("a-long-prefix-of-twenty-9"),
            IdCheck::Gap { missing: 7 }
        );
        assert_eq!(s.check_id("a-long-prefix-of-twentx-3"), IdCheck::InOrder);
        assert_eq!(s.check_id("7"), IdCheck::InOrder);
        assert_eq!(s.check_id("8"), IdCheck::InOrder);
        assert_eq!((s.id_gaps, s.id_gap_events, s.id_repeats), (2, 9, 1));
    }

    #[test]
    fn a_gap_the_server_announced_is_not_counted_twice() {
        let mut s = StreamState::default();
        s.check_id("2");
        s.unexplained_loss = 16;
        assert_eq!(s.check_id("19"), IdCheck::InOrder);
        s.unexplained_loss = 2;
        assert_eq!(s.check_id("25"), IdCheck::Gap { missing: 3 });
        assert_eq!(s.id_gap_events, 3);
    }
}
