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
    /// A call of MCP 2026-07-28: the client's capabilities and the answers it gave (a
    /// plain call that needs more answers `input_required`).
    pub mrtr: Option<super::mrtr::Mrtr>,
    /// Says on the daemon's events stream that the call waits for its client (what it
    /// asked), or runs on (`None`: the client answered).
    pub waiting: Waiter,
}

/// See [`ToolContext::waiting`].
pub type Waiter = Box<dyn Fn(Option<&str>) + Send + Sync>;

/// What asking the client gave.
pub enum Asked {
    /// The answers (the `result` of each request), in the order asked.
    Answers(Vec<Value>),
    /// Not yet: the call answers `input_required` with these `inputRequests`.
    Later(Value),
    /// No answer will come, and why.
    Refused(String),
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

/// A task's questions to its client (`input_required`, answered by `tasks/update`): any
/// number at once, answered together or one by one.
pub struct InputSlot {
    state: std::sync::Mutex<InputState>,
    answered: tokio::sync::Notify,
    /// Called when a question is asked or answered (the task's status changes).
    on_change: Box<dyn Fn() + Send + Sync>,
}

#[derive(Default)]
struct InputState {
    /// The outstanding questions, by key (unique over the task's life).
    asked: serde_json::Map<String, Value>,
    /// Answers not yet taken by the tool.
    answers: std::collections::HashMap<String, Value>,
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

    /// The outstanding questions, if any: `{key: request}` as `inputRequests` has it.
    pub fn pending(&self) -> Option<Value> {
        let state = self.lock();
        (!state.asked.is_empty()).then(|| Value::Object(state.asked.clone()))
    }

    /// Takes the responses of `tasks/update`: those for outstanding keys answer them;
    /// others (unknown, already answered) are ignored. True when any was answered.
    pub fn respond(&self, responses: &Value) -> bool {
        let answered = {
            let mut state = self.lock();
            let keys: Vec<String> = state
                .asked
                .keys()
                .filter(|k| responses.get(k.as_str()).is_some())
                .cloned()
                .collect();
            for key in &keys {
                state.asked.remove(key);
                if let Some(answer) = responses.get(key.as_str()) {
                    state.answers.insert(key.clone(), answer.clone());
                }
            }
            !keys.is_empty()
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
    /// Not over: the client must answer these `inputRequests` and call again (MCP
    /// 2026-07-28 multi-round-trip requests).
    InputRequired(Value),
}

pub struct Cancelled;

impl ToolContext {
    pub(super) fn log(&self, level: &str, message: &str) {
        (self.log)(level, message);
    }

    /// Asks the client every `(key, request)` (`{"method", "params"}`) at once, however the
    /// call can: answers the client already gave (MCP 2026-07-28, by key), a task's
    /// `input_required` (answered by `tasks/update`), a plain 2026 call's
    /// `InputRequiredResult`, or an MCP 2025 request on the call's own stream.
    pub(super) async fn ask_all(
        &self,
        questions: Vec<(String, Value)>,
    ) -> Result<Asked, Cancelled> {
        let mut answers: Vec<Option<Value>> = questions
            .iter()
            .map(|(key, request)| self.mrtr.as_ref().and_then(|m| m.answer(key, request)))
            .collect();
        let missing: Vec<(usize, &String, &Value)> = questions
            .iter()
            .enumerate()
            .filter(|(i, _)| answers[*i].is_none())
            .map(|(i, (k, r))| (i, k, r))
            .collect();
        if missing.is_empty() {
            return Ok(Asked::Answers(answers.into_iter().flatten().collect()));
        }
        let what = missing
            .iter()
            .map(|(_, _, r)| crate::wire::schema::ask_text(r))
            .collect::<Vec<_>>()
            .join("; ");
        if let Some(slot) = &self.input {
            {
                let mut state = slot.lock();
                for (_, key, request) in &missing {
                    state.asked.insert((*key).clone(), (*request).clone());
                }
            }
            (slot.on_change)();
            (self.waiting)(Some(&what));
            loop {
                {
                    let mut state = slot.lock();
                    if missing
                        .iter()
                        .all(|(_, k, _)| state.answers.contains_key(*k))
                    {
                        for (i, key, _) in &missing {
                            answers[*i] = state.answers.remove(*key);
                        }
                        break;
                    }
                }
                tokio::select! {
                    _ = self.cancel.cancelled() => return Err(Cancelled),
                    _ = slot.answered.notified() => {}
                }
            }
            (self.waiting)(None);
            return Ok(Asked::Answers(answers.into_iter().flatten().collect()));
        }
        if let Some(mrtr) = self.mrtr.as_ref().filter(|m| m.ephemeral) {
            if let Some((_, _, r)) = missing
                .iter()
                .find(|(_, _, r)| !mrtr.can(r["method"].as_str().unwrap_or("")))
            {
                return Ok(Asked::Refused(format!(
                    "{} needs a client capability this client did not declare",
                    r["method"].as_str().unwrap_or("?")
                )));
            }
            let mut requests = serde_json::Map::new();
            for (_, key, request) in &missing {
                requests.insert((*key).clone(), (*request).clone());
            }
            return Ok(Asked::Later(Value::Object(requests)));
        }
        if self.client.is_none() {
            let method = missing[0].2["method"].as_str().unwrap_or("?");
            return Ok(Asked::Refused(format!(
                "{method} needs a client that can be asked: a plain tools/call of an MCP 2025 session, a task, or MCP 2026-07-28"
            )));
        }
        for (i, _, request) in &missing {
            let method = request["method"].as_str().unwrap_or("?").to_owned();
            (self.waiting)(Some(&crate::wire::schema::ask_text(request)));
            let answer = self
                .ask_client((*request).clone())
                .await?
                .unwrap_or_default();
            (self.waiting)(None);
            match (answer.get("result"), answer.get("error")) {
                (Some(result), _) => answers[*i] = Some(result.clone()),
                (None, Some(error)) => {
                    return Ok(Asked::Refused(format!(
                        "the client refused {method}: {}",
                        error["message"].as_str().unwrap_or("no reason given")
                    )))
                }
                (None, None) => {
                    return Ok(Asked::Refused(format!(
                        "the client's answer to {method} was neither a result nor an error"
                    )))
                }
            }
        }
        Ok(Asked::Answers(answers.into_iter().flatten().collect()))
    }

    /// Sends the client `request` (`{"method", "params"}`) on the call's response stream
    /// and waits for its answer: the client's JSON-RPC response (`result` or `error`).
    /// `Ok(None)` when the call cannot ask (not a plain call of a session that can).
    async fn ask_client(&self, request: Value) -> Result<Option<Value>, Cancelled> {
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
