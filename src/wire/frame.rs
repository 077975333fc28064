//! Typed frames: what one SSE event or WebSocket text message means to mcptop.

use std::borrow::Cow;

pub use super::fields::CallExtras;
pub use super::words::{CallState, Token};
use crate::time::Time;

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
    /// The call's arguments (JSON text), when a tap saw them.
    pub arguments: Option<String>,
    /// A summary of its result (JSON text: `{"bytes", "types", "text"}`).
    pub result: Option<String>,
    /// What else the event said (progress asked for, the agent's token, task, wait,
    /// origin, trace context).
    pub extras: CallExtras,
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
// Calls are the common frame (with progress): boxing them would cost an allocation per
// frame for a value that is moved once, from the decoder to the model.
#[allow(clippy::large_enum_variant)]
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
                arguments: c.arguments,
                result: c.result,
                extras: c.extras,
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
