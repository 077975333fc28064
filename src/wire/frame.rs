//! Typed frames: what one SSE event or WebSocket text message means to mcptop.

use std::borrow::Cow;
use std::fmt;

use crate::time::Time;

/// A progress token (or a JSON-RPC request id): an integer or a string. Construct uses
/// u64; standard MCP allows any string or integer. Numbers that are not integers are kept
/// as their JSON text so nothing is lost or merged.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Token {
    Int(i128),
    Str(String),
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Int(n) => write!(f, "{n}"),
            Token::Str(s) => f.write_str(s),
        }
    }
}

/// A progress report: Construct's ProgressEvent, or a JSON-RPC `notifications/progress`.
/// Its text borrows from the event it was decoded from where it can (see
/// [`Frame::into_owned`] to keep it longer).
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressFrame<'a> {
    pub token: Option<Token>,
    pub progress: f64,
    pub total: Option<f64>,
    pub message: Option<Cow<'a, str>>,
    pub tool: Option<Cow<'a, str>>,
    /// When the tool reported, stamped by the server (absent in plain MCP notifications).
    pub timestamp: Option<Time>,
    /// The session it belongs to, on a daemon's all-sessions stream (mcptop extension).
    pub session: Option<Cow<'a, str>>,
    pub session_label: Option<Cow<'a, str>>,
}

/// The lifecycle states of the `call` extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallState {
    Started,
    /// Still running (after waiting, or with news of what it does: a task's status).
    Working,
    /// Running but blocked on someone ([`CallFrame::waiting_for`] says on what).
    Waiting,
    Finished,
    Failed,
    Cancelled,
    /// Over, but how it ended will never be known (its end never came: the agent moved
    /// on past a permission prompt it denied, or its session ended first).
    Lost,
}

impl CallState {
    pub fn parse(s: &str) -> Option<CallState> {
        match s {
            "started" => Some(CallState::Started),
            "working" => Some(CallState::Working),
            "waiting" => Some(CallState::Waiting),
            "finished" => Some(CallState::Finished),
            "failed" => Some(CallState::Failed),
            "cancelled" | "canceled" => Some(CallState::Cancelled),
            "lost" => Some(CallState::Lost),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CallState::Started => "started",
            CallState::Working => "working",
            CallState::Waiting => "waiting",
            CallState::Finished => "finished",
            CallState::Failed => "failed",
            CallState::Cancelled => "cancelled",
            CallState::Lost => "lost",
        }
    }

    /// Whether the call is over.
    pub fn is_end(self) -> bool {
        matches!(
            self,
            CallState::Finished | CallState::Failed | CallState::Cancelled | CallState::Lost
        )
    }
}

/// What a waiting call waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Wait {
    /// The server asked the client for input (a task's `input_required`, an elicitation).
    Input,
    /// The agent asks its user for permission to run the tool.
    Permission,
}

impl Wait {
    pub fn parse(s: &str) -> Option<Wait> {
        match s {
            "input" => Some(Wait::Input),
            "permission" => Some(Wait::Permission),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Wait::Input => "input",
            Wait::Permission => "permission",
        }
    }
}

/// `event: call` — a call started, finished, failed or was cancelled (mcptop extension).
#[derive(Debug, Clone, PartialEq)]
pub struct CallFrame<'a> {
    pub token: Option<Token>,
    pub tool: Option<Cow<'a, str>>,
    pub state: CallState,
    pub timestamp: Option<Time>,
    /// Why a call failed or was cancelled.
    pub error: Option<String>,
    /// What a running call does now (a task's status message).
    pub message: Option<String>,
    /// How long the call took, when the server measured it.
    pub duration_ms: Option<f64>,
    /// `Some(false)`: the caller asked for no progress, so none will come (taps say so).
    pub progress_requested: Option<bool>,
    /// The progress token the agent gave, where `token` is a tap's key for the call.
    pub progress_token: Option<Token>,
    /// The task the call runs as (MCP tasks).
    pub task: Option<String>,
    /// On `waiting`: what for.
    pub waiting_for: Option<Wait>,
    /// Who saw the call when not a tap: an agent's hooks or its OpenTelemetry (its own
    /// tools: no progress will come), or its model turns.
    pub origin: Option<crate::wire::schema::Origin>,
    /// The call's arguments (JSON text), when a tap saw them.
    pub arguments: Option<String>,
    /// A summary of its result (JSON text: `{"bytes", "types", "text"}`).
    pub result: Option<String>,
    pub session: Option<Cow<'a, str>>,
    pub session_label: Option<Cow<'a, str>>,
}

/// `event: server` — what a tap saw of the server behind it (mcptop extension).
#[derive(Debug, Clone, PartialEq, Default, serde::Deserialize)]
pub struct ServerFrame {
    #[serde(flatten)]
    pub server: super::schema::ServerEvent,
    #[serde(default)]
    pub session: Option<String>,
    #[serde(default)]
    pub session_label: Option<String>,
}

/// A JSON-RPC response: the end of a request (and of its progress).
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseFrame {
    pub id: Option<Token>,
    /// The JSON-RPC error message, or the text of a tool result with `isError: true`.
    pub error: Option<String>,
}

/// Why a payload was not understood. Never fatal: such frames are counted and skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unknown {
    /// The payload is not JSON.
    NotJson,
    /// Empty data with no id.
    Empty,
    /// A JSON-RPC notification or request mcptop does not track (e.g. logging).
    OtherMethod(String),
    /// JSON, but of no shape mcptop knows (or a known shape with wrong field types).
    Shape,
}

/// One decoded frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame<'a> {
    Progress(ProgressFrame<'a>),
    Call(CallFrame<'a>),
    Server(Box<ServerFrame>),
    /// The server says this subscriber lost `missed` events.
    Lagged {
        missed: u64,
    },
    /// `event: connected`, sent first by some gateways.
    Connected {
        session_id: Option<String>,
    },
    /// `{"error": …, "detail": …}`: the server (or gateway) gives up on the stream.
    Error {
        error: String,
        detail: Option<String>,
    },
    /// An event with an id and no data (MCP 2025-11-25 priming): only moves the resume point.
    Priming,
    Response(ResponseFrame),
    /// `notifications/cancelled`.
    Cancelled {
        request_id: Option<Token>,
        reason: Option<String>,
    },
    Unknown(Unknown),
}

impl Frame<'_> {
    /// The same frame, owning all its text.
    pub fn into_owned(self) -> Frame<'static> {
        let own = |s: Option<Cow<'_, str>>| s.map(|s| Cow::Owned(s.into_owned()));
        match self {
            Frame::Progress(p) => Frame::Progress(ProgressFrame {
                token: p.token,
                progress: p.progress,
                total: p.total,
                message: own(p.message),
                tool: own(p.tool),
                timestamp: p.timestamp,
                session: own(p.session),
                session_label: own(p.session_label),
            }),
            Frame::Call(c) => Frame::Call(CallFrame {
                token: c.token,
                tool: own(c.tool),
                state: c.state,
                timestamp: c.timestamp,
                error: c.error,
                message: c.message,
                duration_ms: c.duration_ms,
                progress_requested: c.progress_requested,
                progress_token: c.progress_token,
                task: c.task,
                waiting_for: c.waiting_for,
                origin: c.origin,
                arguments: c.arguments,
                result: c.result,
                session: own(c.session),
                session_label: own(c.session_label),
            }),
            Frame::Server(s) => Frame::Server(s),
            Frame::Lagged { missed } => Frame::Lagged { missed },
            Frame::Connected { session_id } => Frame::Connected { session_id },
            Frame::Error { error, detail } => Frame::Error { error, detail },
            Frame::Priming => Frame::Priming,
            Frame::Response(r) => Frame::Response(r),
            Frame::Cancelled { request_id, reason } => Frame::Cancelled { request_id, reason },
            Frame::Unknown(u) => Frame::Unknown(u),
        }
    }
}
