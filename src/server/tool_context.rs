//! What a tool of `/mcp` gets and gives: its context (progress, logs, cancellation, the
//! questions a task asks its client), how it ended, and how it may run as a task. Shared by
//! the simulated tools (`tools`) and the conformance fixtures (`fixtures`).

use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// Receives `(progress, total, message)` for each report.
pub type Reporter = Box<dyn Fn(f64, Option<f64>, Option<&str>) + Send + Sync>;
/// Receives `(level, message)` for each log line (`notifications/message`).
pub type Logger = Box<dyn Fn(&str, &str) + Send + Sync>;

/// What a tool's run needs: a way to report progress and to log, a cancellation
/// signal, and (when it runs as a task) a way to ask the client for input.
pub struct ToolContext {
    pub report: Reporter,
    pub log: Logger,
    pub cancel: CancellationToken,
    pub input: Option<std::sync::Arc<InputSlot>>,
    /// A plain call of MCP 2025-11-25 asks its client on its own response stream (the
    /// `Sender` writes there); the client posts its answer back (`Answers`).
    pub client: Option<(std::sync::Arc<Answers>, Sender)>,
}

/// Writes a message on a call's response stream.
pub type Sender = Box<dyn Fn(String) + Send + Sync>;

/// Answers an MCP session's client owes to the requests its calls sent it, by request id.
#[derive(Default)]
pub struct Answers {
    waiting:
        std::sync::Mutex<std::collections::HashMap<String, tokio::sync::oneshot::Sender<Value>>>,
    next: std::sync::atomic::AtomicU64,
}

/// Requests awaiting an answer in one MCP session, at most (the oldest give way).
const MAX_WAITING: usize = 1000;

impl Answers {
    /// A new request id (`mcptop-N`, as JSON) and where its answer will come; `None` while
    /// as many questions as can wait already do.
    fn expect(&self) -> Option<(Value, tokio::sync::oneshot::Receiver<Value>)> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = format!("mcptop-{n}");
        let (tx, rx) = tokio::sync::oneshot::channel();
        let mut waiting = self
            .waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if waiting.len() >= MAX_WAITING {
            waiting.retain(|_, tx| !tx.is_closed());
        }
        if waiting.len() >= MAX_WAITING {
            return None;
        }
        waiting.insert(Value::String(id.clone()).to_string(), tx);
        Some((Value::String(id), rx))
    }

    /// The client's answer `message` (a JSON-RPC response) to the request `id`: true when
    /// a call was waiting for it.
    pub fn deliver(&self, id: &Value, message: Value) -> bool {
        let tx = self
            .waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&id.to_string());
        tx.is_some_and(|tx| tx.send(message).is_ok())
    }
}

/// How long a call waits for its client's answer (a person may be asked).
const ANSWER_WITHIN: Duration = Duration::from_secs(600);

/// A task's questions to its client (`input_required`, answered by `tasks/update`).
pub struct InputSlot {
    state: std::sync::Mutex<InputState>,
    answered: tokio::sync::Notify,
    /// Called when a question is asked or answered (the task's status changes).
    on_change: Box<dyn Fn() + Send + Sync>,
}

#[derive(Default)]
struct InputState {
    /// The outstanding question: its key (unique over the task's life) and request.
    asked: Option<(String, Value)>,
    answer: Option<Value>,
}

impl InputSlot {
    pub fn new(on_change: Box<dyn Fn() + Send + Sync>) -> InputSlot {
        InputSlot {
            state: std::sync::Mutex::new(InputState::default()),
            answered: tokio::sync::Notify::new(),
            on_change,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, InputState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The outstanding question, if any: `{key: request}` as `inputRequests` has it.
    pub fn pending(&self) -> Option<Value> {
        let state = self.lock();
        let (key, request) = state.asked.as_ref()?;
        let mut requests = serde_json::Map::new();
        requests.insert(key.clone(), request.clone());
        Some(Value::Object(requests))
    }

    /// Takes the responses of `tasks/update`: the one for the outstanding key answers it;
    /// others (unknown, already answered) are ignored. True when it was answered.
    pub fn respond(&self, responses: &Value) -> bool {
        let answered = {
            let mut state = self.lock();
            let answer = state
                .asked
                .as_ref()
                .and_then(|(key, _)| responses.get(key))
                .cloned();
            match answer {
                Some(a) => {
                    state.asked = None;
                    state.answer = Some(a);
                    true
                }
                None => false,
            }
        };
        if answered {
            self.answered.notify_one();
            (self.on_change)();
        }
        answered
    }
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A text result.
    Done(String),
    /// A result of its own (`{"content": [...]}` with any content types).
    Content(Value),
    /// The tool ran and failed: an `isError` result.
    Failed(String),
    /// Not a tool result at all: a JSON-RPC error (the tool broke).
    Error {
        code: i64,
        message: String,
    },
    Cancelled,
}

pub struct Cancelled;

impl ToolContext {
    pub(super) fn log(&self, level: &str, message: &str) {
        (self.log)(level, message);
    }

    /// Asks the client `request` under `key` and waits for its answer; `Ok(None)` when
    /// the call cannot ask (it does not run as a task).
    pub(super) async fn ask(&self, key: &str, request: Value) -> Result<Option<Value>, Cancelled> {
        let Some(slot) = &self.input else {
            return Ok(None);
        };
        slot.lock().asked = Some((key.to_owned(), request));
        (slot.on_change)();
        loop {
            if let Some(answer) = slot.lock().answer.take() {
                return Ok(Some(answer));
            }
            tokio::select! {
                _ = self.cancel.cancelled() => return Err(Cancelled),
                _ = slot.answered.notified() => {}
            }
        }
    }

    /// Sends the client `request` (`{"method", "params"}`) on the call's response stream
    /// and waits for its answer: the client's JSON-RPC response (`result` or `error`).
    /// `Ok(None)` when the call cannot ask (not a plain call of a session that can).
    pub(super) async fn ask_client(&self, request: Value) -> Result<Option<Value>, Cancelled> {
        let Some((answers, send)) = &self.client else {
            return Ok(None);
        };
        let refused = |why: &str| {
            Ok(Some(
                serde_json::json!({ "error": { "code": -32603, "message": why } }),
            ))
        };
        let Some((id, answer)) = answers.expect() else {
            return refused("too many questions already wait for this client's answers");
        };
        let mut message = request;
        message["jsonrpc"] = Value::from("2.0");
        message["id"] = id;
        send(message.to_string());
        tokio::select! {
            _ = self.cancel.cancelled() => Err(Cancelled),
            got = tokio::time::timeout(ANSWER_WITHIN, answer) => match got {
                Ok(Ok(answer)) => Ok(Some(answer)),
                _ => refused("no answer came within 10 minutes"),
            },
        }
    }

    pub(super) fn progress(&self, progress: f64, total: Option<f64>, message: impl AsRef<str>) {
        let message = message.as_ref();
        (self.report)(progress, total, (!message.is_empty()).then_some(message));
    }

    pub(super) async fn sleep(&self, d: Duration) -> Result<(), Cancelled> {
        tokio::select! {
            _ = self.cancel.cancelled() => Err(Cancelled),
            _ = tokio::time::sleep(d) => Ok(()),
        }
    }
}

/// How a tool may run as an MCP task (`execution.taskSupport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskSupport {
    Forbidden,
    Optional,
    Required,
}

impl TaskSupport {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskSupport::Forbidden => "forbidden",
            TaskSupport::Optional => "optional",
            TaskSupport::Required => "required",
        }
    }
}
