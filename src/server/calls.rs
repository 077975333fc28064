//! Running a `tools/call`: the tool runs in its own task (a dropped connection is not a
//! cancellation), writes its messages into a [`StreamLog`] that any number of readers
//! follow (the POST response, a resume after a cut), and publishes its progress and
//! lifecycle on the session's events stream.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use serde_json::{json, Value};
use tokio::sync::watch;

use super::progress::{
    publish_call, publish_call_message, publish_call_waiting, publish_progress, Num,
};
use super::session::Session;
use super::tools::{self, Outcome, ToolContext};
use crate::wire::CallState;

/// The JSON-RPC messages of one response stream, kept so a client can resume it.
pub struct StreamLog {
    inner: Mutex<LogInner>,
    version: watch::Sender<u64>,
}

struct LogInner {
    /// The messages kept, the first of them number `first` of the stream.
    messages: std::collections::VecDeque<Arc<str>>,
    first: usize,
    bytes: usize,
    done: bool,
}

/// Bytes of messages a response stream keeps for resumption: a call's final answer is
/// always kept, the oldest progress notifications go first.
const LOG_BUDGET: usize = 1 << 20;

impl StreamLog {
    pub fn new() -> Arc<StreamLog> {
        Arc::new(StreamLog {
            inner: Mutex::new(LogInner {
                messages: std::collections::VecDeque::new(),
                first: 0,
                bytes: 0,
                done: false,
            }),
            version: watch::channel(0).0,
        })
    }

    pub fn push(&self, message: String) {
        {
            let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            inner.bytes += message.len();
            inner.messages.push_back(message.into());
            while inner.bytes > LOG_BUDGET && inner.messages.len() > 1 {
                if let Some(old) = inner.messages.pop_front() {
                    inner.bytes -= old.len();
                    inner.first += 1;
                }
            }
        }
        self.version.send_modify(|v| *v += 1);
    }

    pub fn finish(&self) {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .done = true;
        self.version.send_modify(|v| *v += 1);
    }

    /// Messages from number `from` on (those still kept), the number of the first one
    /// returned, and whether the stream is complete.
    pub fn read_from(&self, from: usize) -> (Vec<Arc<str>>, usize, bool) {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let start = from.max(inner.first);
        let messages = inner
            .messages
            .iter()
            .skip(start - inner.first)
            .cloned()
            .collect();
        (messages, start, inner.done)
    }

    pub fn watch(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }
}

/// How a call's token on the events stream is chosen.
pub enum EventToken {
    /// Exactly this one (Construct's behaviour, collisions and all).
    Fixed(Value),
    /// The caller's, unless a running call has it; else a fresh one (mcptop).
    Unique(Option<Value>),
}

/// One call to start.
pub struct CallRequest {
    pub session: Arc<Session>,
    pub request_id: Value,
    pub tool: String,
    pub arguments: Value,
    /// The token progress notifications on the response carry; none means none are sent.
    pub response_token: Option<Value>,
    /// The token of this call on the events stream.
    pub event_token: EventToken,
    /// Whether `event: call` lifecycle events are published.
    pub lifecycle: bool,
    /// Whether progress is published on the session's stream (not by stock Construct's
    /// tools).
    pub publish_progress: bool,
    /// The least severe log level sent as `notifications/message` on the response; none
    /// sends no log lines.
    pub log_level: Option<LogLevel>,
    /// Where a call that runs as a task asks its client for input.
    pub input: Option<Arc<tools::InputSlot>>,
    /// Where a plain call's client answers what the call asks it on its response stream
    /// (MCP 2025-11-25 sessions).
    pub answers: Option<Arc<super::tool_context::Answers>>,
    /// What the result object carries beside the tool's (`resultType`, `_meta`).
    pub result_extra: Option<Value>,
    /// MCP 2026-07-28: the client's capabilities and the answers it gave; from the second
    /// round of a multi-round call, the call it continues.
    pub mrtr: Option<super::mrtr::Mrtr>,
}

/// The syslog levels of MCP logging, least severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug,
    Info,
    Notice,
    Warning,
    Error,
    Critical,
    Alert,
    Emergency,
}

impl LogLevel {
    pub fn parse(s: &str) -> Option<LogLevel> {
        Some(match s {
            "debug" => LogLevel::Debug,
            "info" => LogLevel::Info,
            "notice" => LogLevel::Notice,
            "warning" => LogLevel::Warning,
            "error" => LogLevel::Error,
            "critical" => LogLevel::Critical,
            "alert" => LogLevel::Alert,
            "emergency" => LogLevel::Emergency,
            _ => return None,
        })
    }
}

/// Starts the call in its own task; its messages go to `log`.
pub fn spawn(call: CallRequest, log: Arc<StreamLog>) {
    tokio::spawn(run(call, log));
}

/// Runs the call to its end: its messages go to `log` (the last one its response), its
/// progress and lifecycle to the session's stream; returns how it ended.
pub async fn run(call: CallRequest, log: Arc<StreamLog>) -> Outcome {
    let CallRequest {
        session,
        request_id,
        tool,
        arguments,
        response_token,
        event_token,
        lifecycle,
        publish_progress: publishes,
        log_level,
        input,
        answers,
        result_extra,
        mrtr,
    } = call;
    let (event_token, _claim) = match event_token {
        EventToken::Fixed(token) => (token, None),
        EventToken::Unique(wanted) => {
            let claim = session.claim_token(wanted.as_ref());
            (claim.token.clone(), Some(claim))
        }
    };
    let key = serde_json::to_string(&request_id).unwrap_or_default();
    let (cancel, _running) = session.start_call(key);
    let started = Instant::now();
    // A later round of a multi-round call goes on with the call its first round began.
    let continues = mrtr
        .as_ref()
        .and_then(|m| m.continues.clone().map(|c| (m.round, c.1)));
    let first_started = continues.map_or_else(crate::time::Time::now, |(_, t)| t);
    if lifecycle {
        match continues {
            Some((round, _)) => publish_call_message(
                &session,
                &event_token,
                &tool,
                &format!("round {round}: the client answered"),
            ),
            None => publish_call(
                &session,
                &event_token,
                &tool,
                CallState::Started,
                None,
                None,
            ),
        }
    }
    let report = {
        let session = Arc::clone(&session);
        let log = Arc::clone(&log);
        let tool = tool.clone();
        let event_token = event_token.clone();
        move |progress: f64, total: Option<f64>, message: Option<&str>| {
            if let Some(token) = &response_token {
                let mut params = json!({ "progressToken": token, "progress": Num(progress) });
                if let Some(total) = total {
                    params["total"] = json!(Num(total));
                }
                if let Some(message) = message {
                    params["message"] = json!(message);
                }
                let note = json!({
                    "jsonrpc": "2.0",
                    "method": "notifications/progress",
                    "params": params,
                });
                log.push(note.to_string());
            }
            if publishes {
                publish_progress(&session, &event_token, &tool, progress, total, message);
            }
        }
    };
    let log_line = {
        let session = Arc::clone(&session);
        let log = Arc::clone(&log);
        let tool = tool.clone();
        let event_token = event_token.clone();
        move |level: &str, message: &str| {
            let wanted = LogLevel::parse(level)
                .zip(log_level)
                .is_some_and(|(level, least)| level >= least);
            if wanted {
                let note = json!({
                    "jsonrpc": "2.0",
                    "method": "notifications/message",
                    "params": { "level": level, "logger": tool, "data": message },
                });
                log.push(note.to_string());
            }
            if lifecycle {
                // The monitor shows a call's log lines among its messages.
                publish_call_message(&session, &event_token, &tool, message);
            }
        }
    };
    let client = answers.map(|answers| {
        let log = Arc::clone(&log);
        let send: super::tool_context::Sender = Box::new(move |message: String| log.push(message));
        (answers, send)
    });
    let waiting = {
        let session = Arc::clone(&session);
        let tool = tool.clone();
        let event_token = event_token.clone();
        move |what: Option<&str>| {
            if !lifecycle {
                return;
            }
            match what {
                Some(what) => publish_call_waiting(&session, &event_token, &tool, what),
                None => publish_call_message(&session, &event_token, &tool, "the client answered"),
            }
        }
    };
    let ctx = ToolContext {
        report: Box::new(report),
        log: Box::new(log_line),
        cancel,
        input,
        client,
        mrtr,
        waiting: Box::new(waiting),
    };
    let mut outcome = tools::run(&tool, &arguments, &ctx).await;
    let elapsed = match continues {
        Some(_) => std::time::Duration::from_secs_f64(
            crate::time::Time::now().secs_since(first_started).max(0.0),
        ),
        None => started.elapsed(),
    };
    let duration_ms = Some(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX));
    if let Outcome::InputRequired(requests) = &outcome {
        // Not the end: the client answers and calls again, with the state sealed here.
        let sealed = ctx
            .mrtr
            .as_ref()
            .and_then(|m| m.seal_next(&tool, event_token.clone(), first_started));
        match sealed {
            Some(state) => {
                let mut result = json!({
                    "inputRequests": requests,
                    "requestState": state,
                });
                if let (Some(object), Some(Value::Object(extra))) =
                    (result.as_object_mut(), &result_extra)
                {
                    object.extend(extra.clone());
                    object.insert("resultType".into(), "input_required".into());
                }
                log.push(
                    json!({ "jsonrpc": "2.0", "id": request_id, "result": result }).to_string(),
                );
                if lifecycle {
                    let what: Vec<String> = requests
                        .as_object()
                        .map(|r| r.values().map(crate::wire::schema::ask_text).collect())
                        .unwrap_or_default();
                    publish_call_waiting(&session, &event_token, &tool, &what.join("; "));
                }
                log.finish();
                return outcome;
            }
            None => {
                outcome = Outcome::Error {
                    code: -32603,
                    message: "the answers so far are too large to carry in a requestState"
                        .to_owned(),
                }
            }
        }
    }
    let (state, error) = match &outcome {
        Outcome::Done(_) | Outcome::Content(_) => (CallState::Finished, None),
        Outcome::Failed(e) | Outcome::Error { message: e, .. } => {
            (CallState::Failed, Some(e.as_str()))
        }
        Outcome::Cancelled => (CallState::Cancelled, Some("cancelled by the client")),
        Outcome::InputRequired(_) => (
            CallState::Failed,
            Some("input required where none can be asked"),
        ),
    };
    // A cancelled request gets no response (MCP: the receiver does not answer it).
    match &outcome {
        Outcome::Error { code, message } => log.push(
            json!({
                "jsonrpc": "2.0",
                "id": request_id,
                "error": { "code": code, "message": message },
            })
            .to_string(),
        ),
        Outcome::Cancelled => {}
        Outcome::InputRequired(_) => log.push(
            json!({
                "jsonrpc": "2.0",
                "id": request_id,
                "error": { "code": -32603, "message": "the tool needs input this request cannot ask for" },
            })
            .to_string(),
        ),
        done => {
            let mut result = tool_result(done).unwrap_or_default();
            if let (Some(object), Some(Value::Object(extra))) =
                (result.as_object_mut(), &result_extra)
            {
                object.extend(extra.clone());
            }
            log.push(json!({ "jsonrpc": "2.0", "id": request_id, "result": result }).to_string());
        }
    }
    if lifecycle {
        publish_call(&session, &event_token, &tool, state, duration_ms, error);
    }
    log.finish();
    outcome
}

/// The `CallToolResult` of a call that ran (done or failed); none for an error or a
/// cancellation.
pub fn tool_result(outcome: &Outcome) -> Option<Value> {
    match outcome {
        Outcome::Done(text) => Some(json!({
            "content": [{ "type": "text", "text": text }],
            "isError": false,
        })),
        Outcome::Failed(text) => Some(json!({
            "content": [{ "type": "text", "text": text }],
            "isError": true,
        })),
        Outcome::Content(result) => {
            let mut result = result.clone();
            if let Some(object) = result.as_object_mut() {
                object.insert("isError".into(), false.into());
            }
            Some(result)
        }
        Outcome::Error { .. } | Outcome::Cancelled | Outcome::InputRequired(_) => None,
    }
}

#[cfg(test)]
mod log_tests {
    use super::*;

    #[test]
    fn a_long_stream_keeps_its_newest_bytes_and_its_numbering() {
        let log = StreamLog::new();
        let note = "n".repeat(1000);
        for _ in 0..10_000 {
            log.push(note.clone());
        }
        log.push("the result".into());
        log.finish();
        let (kept, first, done) = log.read_from(0);
        assert!(done);
        assert!(kept.len() * 1000 <= LOG_BUDGET + 1000, "{}", kept.len());
        assert_eq!(first + kept.len(), 10_001, "numbers go on where they were");
        assert_eq!(kept.last().map(|m| &**m), Some("the result"));
        // A reader that is up to date gets nothing again.
        let (none, at, _) = log.read_from(10_001);
        assert!(none.is_empty());
        assert_eq!(at, 10_001);
    }
}
