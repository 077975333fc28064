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
    Status(Status),
}

/// Connection news.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
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
    /// No daemon to attach to yet; the source looks again each second.
    Waiting {
        reason: String,
    },
    /// The source stopped for good.
    Stopped(Stop),
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
