//! The event type every consumer takes: what a source (a live connection or a recording)
//! reports, in order, each with its time. Shared by the sources, the daemon's replay, the
//! model's driver and the views, below all of them.

use std::time::Duration;

use crate::time::Time;

/// How a live source reaches the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Transport {
    /// `GET /session/{id}/events`.
    Sse,
    /// The gateway's `GET /ws/mcp/events`.
    Ws,
    /// A standard MCP server's own stream (`GET` on its endpoint, `--mcp-url`).
    #[value(skip)]
    Mcp,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Sse => "sse",
            Transport::Ws => "ws",
            Transport::Mcp => "mcp",
        }
    }
}

/// What a source reports, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceEvent {
    /// One event (a WebSocket text message is an event of type `message` with no id).
    Event {
        event_type: String,
        data: String,
        id: String,
    },
    /// A keep-alive comment, or a WebSocket pong: the link is alive.
    KeepAlive,
    /// Something arrived that mcptop threw away unread, and why: an event over the size
    /// cap, a WebSocket message that is not text. The link is alive; the event is lost.
    Discarded {
        reason: String,
    },
    Status(LinkStatus),
}

/// Connection news.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkStatus {
    Connecting {
        attempt: u32,
    },
    Connected {
        transport: Transport,
        /// The session's id (never its token).
        session_id: String,
        /// Resumed after a drop with `Last-Event-ID`.
        resumed: bool,
    },
    /// The link dropped; the next attempt is in `retry_in`.
    Disconnected {
        reason: String,
        retry_in: Duration,
    },
    /// The daemon behind the link: its address and which run of it (pid and start
    /// time). Said when the source first knows it and whenever it changes: a new instance
    /// means the old one's running calls will never end.
    Daemon {
        address: String,
        instance: String,
        /// What to tell a person when the stream stays quiet (a daemon whose tools
        /// publish no progress, like stock Construct), if anything.
        quiet_hint: Option<String>,
    },
    /// What the daemon lost or refused on its paths beside the session streams (its
    /// OpenTelemetry exporter and receiver), from its `/health`: totals since it started,
    /// said when they change.
    DaemonCounts(DaemonCounts),
    /// No daemon to attach to yet; the source looks again each second.
    Waiting {
        reason: String,
    },
    /// The source stopped for good.
    Stopped(Stop),
}

/// The daemon's own losses, as its `/health` counts them (see [`LinkStatus::DaemonCounts`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DaemonCounts {
    /// Spans the OTLP exporter could not deliver to the collector.
    pub spans_dropped: u64,
    /// Why the exporter last failed (already redacted by the daemon, cut and cleaned here).
    pub export_error: Option<String>,
    /// Exports the OTLP receiver refused (malformed, too large, of an unknown type).
    pub otlp_refused: u64,
    /// Connections to the OTLP receiver from other users, closed unread.
    pub otlp_strangers: u64,
}

impl DaemonCounts {
    /// From a `/health` answer; `None` when the daemon runs neither OTLP path.
    pub fn of(health: &crate::discovery::Health) -> Option<DaemonCounts> {
        if health.otlp.is_none() && health.otlp_export.is_none() {
            return None;
        }
        let receiver = health.otlp.clone().unwrap_or_default();
        let exporter = health.otlp_export.clone().unwrap_or_default();
        Some(DaemonCounts {
            spans_dropped: exporter.dropped,
            export_error: exporter
                .last_error
                .filter(|_| exporter.dropped > 0)
                .map(|e| crate::sanitize::cut(&crate::sanitize::terminal(&e), 160).into_owned()),
            otlp_refused: receiver.refused,
            otlp_strangers: receiver.strangers,
        })
    }
}

/// Why a source stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The end of a recording.
    EndOfRecording,
    /// 401 on a session that was never opened: wrong token (or an unknown session, which
    /// the daemon does not tell apart).
    TokenRejected,
    /// The named session existed and is gone (the daemon restarted or ended it).
    SessionGone,
    /// The gateway refused the WebSocket before the session was even asked for: its own
    /// pairing token is missing or wrong (not the session's token).
    GatewayTokenRejected { had_token: bool },
    /// `--max-retries` ran out.
    GaveUp { attempts: u32, last_error: String },
    /// Anything else that cannot get better by retrying.
    Fatal(String),
}

impl Stop {
    /// One sentence for the user.
    pub fn message(&self) -> String {
        match self {
            Stop::EndOfRecording => "end of the recording".into(),
            Stop::TokenRejected => {
                "token rejected: the daemon refused this session's token (or knows no such session)"
                    .into()
            }
            Stop::GatewayTokenRejected { had_token: true } => {
                "the gateway refused its pairing token (--gateway-token, zc_…; not the session's \
                 token): get a new one with `POST /pair` and the code the gateway printed"
                    .into()
            }
            Stop::GatewayTokenRejected { had_token: false } => {
                "the gateway wants its pairing token (zc_…, not the session's token): give \
                 --gateway-token-file PATH or $MCPTOP_GATEWAY_TOKEN (get one with `POST /pair` \
                 and the code the gateway printed)"
                    .into()
            }
            Stop::SessionGone => {
                "session no longer exists: the daemon restarted or ended it (it died with \
                 the old daemon: give --new-session to follow a fresh one on the new daemon, \
                 or name the new session with --session)"
                    .into()
            }
            Stop::GaveUp {
                attempts,
                last_error,
            } => format!("gave up after {attempts} attempts: {last_error}"),
            Stop::Fatal(e) => e.clone(),
        }
    }
}

/// A source event and when it happened (microsecond precision, so a recording gives back
/// exactly the times a live run saw).
#[derive(Debug, Clone, PartialEq)]
pub struct Timed {
    pub at: Time,
    pub event: SourceEvent,
}

/// Now, truncated to whole microseconds.
pub fn now_us() -> Time {
    let ns = Time::now().unix_nanos();
    Time::from_unix_nanos(ns - ns.rem_euclid(1000))
}

/// Spent events handed back to the source that made them, whose text it fills again
/// instead of allocating three strings per event (and freeing them on another thread).
/// Shared by a consumer and its source; it keeps at most [`Recycler::KEPT`] events, of
/// small text only.
#[derive(Debug, Clone, Default)]
pub struct Recycler(std::sync::Arc<std::sync::Mutex<Vec<Spare>>>);

/// The text of one spent event, to be filled again.
#[derive(Debug, Default)]
pub struct Spare {
    pub event_type: String,
    pub data: String,
    pub id: String,
}

impl Recycler {
    /// Events kept for reuse, at most.
    pub const KEPT: usize = 4096;
    /// Text longer than this is freed, not kept.
    const LARGEST: usize = 4096;

    /// Hands back spent events (emptying `spent`); what does not fit is dropped.
    pub fn give(&self, spent: &mut Vec<Timed>) {
        let Ok(mut kept) = self.0.lock() else {
            spent.clear();
            return;
        };
        let room = Self::KEPT.saturating_sub(kept.len());
        kept.extend(
            spent
                .drain(..)
                .filter_map(|t| match t.event {
                    SourceEvent::Event {
                        event_type,
                        data,
                        id,
                    } if data.capacity() <= Self::LARGEST => Some(Spare {
                        event_type,
                        data,
                        id,
                    }),
                    _ => None,
                })
                .take(room),
        );
        spent.clear();
    }

    /// Moves the kept events' text into `pool` (up to [`Recycler::KEPT`] in all).
    pub fn take_into(&self, pool: &mut Vec<Spare>) {
        let Ok(mut kept) = self.0.lock() else {
            return;
        };
        let room = Self::KEPT.saturating_sub(pool.len());
        let take = kept.len().min(room);
        let from = kept.len() - take;
        pool.extend(kept.drain(from..));
        kept.clear();
    }
}

impl Spare {
    /// An event of this text, in the spare's buffers (or new ones when there is none).
    pub fn fill(spare: Option<Spare>, event_type: &str, data: &str, id: &str) -> SourceEvent {
        let mut s = spare.unwrap_or_default();
        for (to, from) in [
            (&mut s.event_type, event_type),
            (&mut s.data, data),
            (&mut s.id, id),
        ] {
            to.clear();
            to.push_str(from);
        }
        SourceEvent::Event {
            event_type: s.event_type,
            data: s.data,
            id: s.id,
        }
    }
}

#[cfg(test)]
mod recycler_tests {
    use super::*;

    fn event(data: String) -> Timed {
        Timed {
            at: Time::from_unix_nanos(0),
            event: SourceEvent::Event {
                event_type: "message".into(),
                data,
                id: "1".into(),
            },
        }
    }

    #[test]
    fn spent_events_come_back_as_buffers_and_stay_bounded() {
        let recycler = Recycler::default();
        let mut spent: Vec<Timed> = (0..Recycler::KEPT + 10)
            .map(|i| event(format!("{{\"n\":{i}}}")))
            .collect();
        spent.push(event("x".repeat(10_000))); // too large to keep
        spent.push(Timed {
            at: Time::from_unix_nanos(0),
            event: SourceEvent::KeepAlive,
        });
        recycler.give(&mut spent);
        assert!(spent.is_empty());
        let mut pool = Vec::new();
        recycler.take_into(&mut pool);
        assert_eq!(pool.len(), Recycler::KEPT);
        assert!(pool.iter().all(|s| s.data.capacity() <= 4096));
        // Taken once: nothing is left to take.
        let mut more = Vec::new();
        recycler.take_into(&mut more);
        assert!(more.is_empty());
        // A buffer filled again holds exactly the new text, in the spare's room.
        let spare = pool.pop();
        let room = spare.as_ref().map(|s| s.data.as_ptr());
        let filled = Spare::fill(spare, "call", "{}", "9");
        let SourceEvent::Event {
            event_type,
            data,
            id,
        } = filled
        else {
            panic!("not an event");
        };
        assert_eq!(
            (event_type.as_str(), data.as_str(), id.as_str()),
            ("call", "{}", "9")
        );
        assert_eq!(Some(data.as_ptr()), room);
        assert_eq!(
            Spare::fill(None, "message", "d", ""),
            SourceEvent::Event {
                event_type: "message".into(),
                data: "d".into(),
                id: String::new(),
            }
        );
    }
}
