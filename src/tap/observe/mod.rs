//! What a tap sees in the JSON-RPC traffic between an agent and an MCP server, and what it
//! makes of it: the start and end of every `tools/call`, its progress, its cancellation,
//! the MCP task it may run as, and the server's name. Pure: messages and clocks in,
//! [`Item`]s out.
//!
//! - JSON-RPC is read with the shapes of [`crate::wire::schema`];
//! - this module is the state machine of calls; [`task`] what a task's news means for its call;
//! - [`item`] is what it publishes, [`rewrite`] how a progress token is added.
//!
//! With `request_progress`, a `tools/call` without a progress token gets one (so a server
//! that can report progress does), and the notifications that token brings are taken out
//! before they reach the agent, which never asked for them.
//!
//! **Tasks** (MCP 2025-11-25 `tasks`, and the 2026-07-28 extension
//! `io.modelcontextprotocol/tasks`): a `tools/call` whose result creates a task does not end
//! there. Its row keeps running, now followed by task id through `tasks/get` answers,
//! status notifications (`notifications/tasks/status`, `notifications/tasks`),
//! `tasks/result` and `tasks/cancel`, to its real end; `input_required` shows as waiting
//! for input; a task whose ttl passes with no end seen, or that the server no longer
//! knows, fails as expired. Its progress token stays mapped until then.
//!
//! **Waits on the client** (MCP 2025-11-25): while a `tools/call` runs, the server may ask
//! the client something: `elicitation/create` (a question for the user), `sampling/
//! createMessage` (the client's model), `roots/list`. The call then shows waiting for
//! input, with what was asked, and runs on when the client answers (a declined or
//! cancelled elicitation says so). The call asked for is the task a request names
//! (`_meta["io.modelcontextprotocol/related-task"]`), else the newest call running in the
//! same MCP session.
//!
//! **Multi-round calls** (MCP 2026-07-28, SEP-2322): a `tools/call` answered with an
//! `InputRequiredResult` (`resultType: "input_required"`) does not end either: it waits for
//! input, saying what its `inputRequests` ask, until the client calls again with
//! `inputResponses`. That retry (matched by the `requestState` the server gave, else the
//! tool's oldest call that got none) goes on with the same row, one round on, to its
//! result.

mod item;
mod rewrite;
mod task;
#[cfg(test)]
mod tests;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::borrow::Cow;
use std::time::{Duration, Instant};

use serde_json::value::RawValue;
use serde_json::Value;

use crate::time::Time;
use crate::wire::schema::{
    rpc_error_text, server_name, tool_error_text, CallParams, CancelledParams, Message,
    ProgressParams,
};
pub use crate::wire::{CallState, Wait};
pub use item::Item;
pub(crate) use rewrite::insert_progress_token;
use task::{created_task, TaskFields, TaskIdParams, TaskOp, TaskSeen};

/// Which way a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the agent (the MCP client) to the server.
    ToServer,
    /// From the server to the agent.
    ToClient,
}

/// What the tap passes on for a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Pass {
    /// Pass it on as it came, byte for byte.
    Forward,
    /// Pass this instead (a progress token was added).
    Replace(String),
    /// Pass nothing (a progress notification only the tap asked for).
    Drop,
}

/// A call the tap follows, from its request to its end (or its task's end).
struct Pending {
    tool: String,
    event_token: Value,
    /// The progress token's JSON text, when the call has one.
    progress_token: Option<String>,
    started: Instant,
    /// Once the call runs as a task: what was last said of it.
    task: Option<TaskSeen>,
    /// Its round (MCP 2026-07-28 multi-round calls: 1, then one more per retry).
    round: u32,
}

/// Pending requests are keyed by (scope, the request id's JSON text): a scope is an MCP
/// session (request ids are only unique within one). Tasks by (scope, task id).
type Key = (Box<str>, Box<str>);

/// Where a progress token's call is now.
#[derive(Clone, PartialEq, Eq)]
enum Slot {
    Request(Box<str>),
    Task(Box<str>),
}

/// What a server asked its client while a call ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ask {
    Elicitation,
    Sampling,
    Roots,
}

/// At most this many calls are tracked at once (a client that never gets answers must
/// not grow the tap without bound); the oldest is dropped, reported as failed.
pub const MAX_PENDING: usize = 10_000;

/// The tap's view of the conversation.
pub struct Observer {
    request_progress: bool,
    /// `tools/call` requests waiting for their answer.
    pending: HashMap<Key, Pending>,
    /// Calls running as tasks, by (scope, task id).
    tasks: HashMap<Key, Pending>,
    /// Calls answered `input_required` (MCP 2026-07-28), waiting for the client to call
    /// again with its answers: by (scope, a hash of the request state), or (scope, `t` and
    /// the call's token) when the server gave no state.
    rounds: HashMap<Key, Pending>,
    /// `tasks/get`, `tasks/result` and `tasks/cancel` requests: (scope, request id) →
    /// what they asked about which task.
    task_requests: HashMap<Key, (TaskOp, Box<str>)>,
    /// (scope, progress token text) → where its call is.
    by_progress: HashMap<Key, Slot>,
    /// Requests the server sent the client, waiting for its answer: (scope, request id)
    /// → the call that waits, and what was asked.
    asks: HashMap<Key, (Slot, Ask)>,
    /// Progress tokens the tap added (scope, token text): their notifications are dropped.
    injected: HashSet<Key>,
    /// Pending `initialize` and `server/discover` request ids.
    initializing: HashSet<Key>,
    /// Pending `tools/list` request ids, and whether each asked for a later page.
    listing: HashMap<Key, bool>,
    /// What the server said of itself so far (published whole on every change).
    server: crate::wire::schema::ServerEvent,
    /// A hash of the last first page of `tools/list` read.
    last_listing: Option<u64>,
    next_token: u64,
    /// A short number for each MCP session seen, to qualify its request ids.
    scopes: HashMap<Box<str>, u32>,
    /// The earliest ttl deadline of a task (so most messages skip the expiry check).
    next_deadline: Option<Instant>,
    /// What is redacted from arguments and results before they are published.
    redaction: crate::redact::Rules,
    /// Messages that were not JSON-RPC (passed on untouched, not observed).
    pub unreadable: u64,
}

impl Observer {
    pub fn new(request_progress: bool) -> Observer {
        Observer {
            request_progress,
            pending: HashMap::default(),
            tasks: HashMap::default(),
            rounds: HashMap::default(),
            task_requests: HashMap::default(),
            by_progress: HashMap::default(),
            asks: HashMap::default(),
            injected: HashSet::default(),
            initializing: HashSet::default(),
            listing: HashMap::default(),
            server: crate::wire::schema::ServerEvent::default(),
            last_listing: None,
            next_token: 1,
            scopes: HashMap::default(),
            next_deadline: None,
            redaction: crate::redact::Rules::default(),
            unreadable: 0,
        }
    }

    /// The same observer, redacting by `rules` (the config file's `[redaction]`).
    pub fn with_redaction(mut self, rules: crate::redact::Rules) -> Observer {
        self.redaction = rules;
        self
    }

    /// Calls started and not yet ended (tasks included).
    pub fn pending(&self) -> usize {
        self.pending.len() + self.tasks.len() + self.rounds.len()
    }

    /// Looks at one message (a JSON-RPC object or a batch array) travelling `direction`
    /// within `scope` ("" for a stdio server); pushes what to publish onto `out` and says
    /// what to pass on.
    pub fn observe(
        &mut self,
        direction: Direction,
        scope: &str,
        message: &str,
        now: (Instant, Time),
        out: &mut Vec<Item>,
    ) -> Pass {
        self.tick(now, out);
        let trimmed = message.trim_start();
        if trimmed.starts_with('[') {
            return self.observe_batch(direction, scope, message, now, out);
        }
        match serde_json::from_str::<Message<'_>>(message) {
            Ok(peek) => self.one(direction, scope, &peek, message, now, out),
            Err(_) => {
                self.unreadable += 1;
                Pass::Forward
            }
        }
    }

    /// Ends the tasks whose ttl has passed with no end seen (they expired at the server).
    /// Taps call it now and then, so a task nobody polls any more does not run for ever.
    pub fn tick(&mut self, (instant, at): (Instant, Time), out: &mut Vec<Item>) {
        if self.next_deadline.is_none_or(|d| instant < d) {
            return;
        }
        let expired: Vec<Key> = self
            .tasks
            .iter()
            .filter(|(_, p)| {
                p.task
                    .as_ref()
                    .and_then(|t| t.deadline)
                    .is_some_and(|d| d <= instant)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in expired {
            if let Some(call) = self.tasks.remove(&key) {
                let ttl = call.task.as_ref().and_then(|t| t.ttl).unwrap_or_default();
                let why = format!(
                    "the task expired: no end seen within its ttl of {}",
                    humantime::format_duration(Duration::from_secs(ttl.as_secs()))
                );
                self.end(&key.0, call, CallState::Failed, Some(why), instant, at, out);
            }
        }
        self.next_deadline = self
            .tasks
            .values()
            .filter_map(|p| p.task.as_ref().and_then(|t| t.deadline))
            .min();
    }

    fn observe_batch(
        &mut self,
        direction: Direction,
        scope: &str,
        message: &str,
        now: (Instant, Time),
        out: &mut Vec<Item>,
    ) -> Pass {
        let Ok(parts) = serde_json::from_str::<Vec<&RawValue>>(message) else {
            self.unreadable += 1;
            return Pass::Forward;
        };
        let mut verdicts = Vec::with_capacity(parts.len());
        for part in &parts {
            let verdict = match serde_json::from_str::<Message<'_>>(part.get()) {
                Ok(peek) => self.one(direction, scope, &peek, part.get(), now, out),
                Err(_) => Pass::Forward,
            };
            verdicts.push(verdict);
        }
        if verdicts.iter().all(|v| *v == Pass::Forward) {
            return Pass::Forward;
        }
        let kept: Vec<Cow<'_, str>> = parts
            .iter()
            .zip(verdicts)
            .filter_map(|(part, verdict)| match verdict {
                Pass::Forward => Some(Cow::Borrowed(part.get())),
                Pass::Replace(text) => Some(Cow::Owned(text)),
                Pass::Drop => None,
            })
            .collect();
        if kept.is_empty() {
            return Pass::Drop;
        }
        Pass::Replace(format!("[{}]", kept.join(",")))
    }

    fn one(
        &mut self,
        direction: Direction,
        scope: &str,
        peek: &Message<'_>,
        text: &str,
        now: (Instant, Time),
        out: &mut Vec<Item>,
    ) -> Pass {
        let key = |raw: &RawValue| -> Key { (scope.into(), raw.get().trim().into()) };
        let (instant, at) = now;
        match (direction, peek.method.as_deref(), peek.id) {
            (Direction::ToServer, Some("tools/call"), Some(id)) => {
                self.call_request(scope, id, peek, text, now, out)
            }
            (Direction::ToServer, Some("initialize" | "server/discover"), Some(id)) => {
                if self.initializing.len() >= MAX_PENDING {
                    self.initializing.clear();
                }
                self.initializing.insert(key(id));
                Pass::Forward
            }
            (Direction::ToServer, Some("tools/list"), Some(id)) => {
                if self.listing.len() >= MAX_PENDING {
                    self.listing.clear();
                }
                let later_page = peek.params.is_some_and(|p| {
                    serde_json::from_str::<Value>(p.get())
                        .ok()
                        .and_then(|v| v.get("cursor").cloned())
                        .is_some_and(|c| !c.is_null())
                });
                self.listing.insert(key(id), later_page);
                Pass::Forward
            }
            (
                Direction::ToServer,
                Some(method @ ("tasks/get" | "tasks/result" | "tasks/cancel")),
                Some(id),
            ) => {
                let op = match method {
                    "tasks/get" => TaskOp::Get,
                    "tasks/result" => TaskOp::Result,
                    _ => TaskOp::Cancel,
                };
                let task = peek
                    .params
                    .and_then(|p| serde_json::from_str::<TaskIdParams<'_>>(p.get()).ok());
                if let Some(task) = task {
                    let task_key: Key = (scope.into(), task.task_id.as_ref().into());
                    if self.tasks.contains_key(&task_key) {
                        if self.task_requests.len() >= MAX_PENDING {
                            self.task_requests.clear();
                        }
                        self.task_requests
                            .insert(key(id), (op, task.task_id.as_ref().into()));
                    }
                }
                Pass::Forward
            }
            (Direction::ToServer, Some("notifications/cancelled"), None) => {
                let params = peek
                    .params
                    .and_then(|p| serde_json::from_str::<CancelledParams<'_>>(p.get()).ok());
                if let Some(CancelledParams {
                    request_id: Some(request_id),
                    reason,
                }) = params
                {
                    if let Some(call) = self.pending.remove(&key(request_id)) {
                        let reason = reason.map(Cow::into_owned);
                        self.end(scope, call, CallState::Cancelled, reason, instant, at, out);
                    }
                }
                Pass::Forward
            }
            (Direction::ToClient, Some("notifications/progress"), None) => {
                self.progress(scope, peek, at, out)
            }
            (
                Direction::ToClient,
                Some("notifications/tasks/status" | "notifications/tasks"),
                None,
            ) => {
                if let Some(task) = peek
                    .params
                    .and_then(|p| serde_json::from_str::<TaskFields<'_>>(p.get()).ok())
                {
                    self.task_update(scope, &task, now, out);
                }
                Pass::Forward
            }
            (Direction::ToClient, None, Some(id))
                if peek.result.is_some() || peek.error.is_some() =>
            {
                self.response(scope, key(id), peek, now, out);
                Pass::Forward
            }
            (
                Direction::ToClient,
                Some(method @ ("elicitation/create" | "sampling/createMessage" | "roots/list")),
                Some(id),
            ) => {
                let ask = match method {
                    "elicitation/create" => Ask::Elicitation,
                    "sampling/createMessage" => Ask::Sampling,
                    _ => Ask::Roots,
                };
                self.asked(scope, key(id), ask, peek, at, out);
                Pass::Forward
            }
            (Direction::ToServer, None, Some(id))
                if peek.result.is_some() || peek.error.is_some() =>
            {
                if let Some((slot, ask)) = self.asks.remove(&key(id)) {
                    self.answered(scope, &slot, ask, peek, at, out);
                }
                Pass::Forward
            }
            _ => Pass::Forward,
        }
    }

    /// The call a server's request to the client is about: the task it names, else the
    /// newest call running in the scope.
    fn asking_call(&self, scope: &str, peek: &Message<'_>) -> Option<Slot> {
        let task = peek
            .params
            .and_then(|p| serde_json::from_str::<Value>(p.get()).ok())
            .and_then(|p| {
                p.pointer("/_meta/io.modelcontextprotocol~1related-task/taskId")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            });
        if let Some(task) = task {
            let key: Key = (scope.into(), task.as_str().into());
            if self.tasks.contains_key(&key) {
                return Some(Slot::Task(key.1));
            }
        }
        self.pending
            .iter()
            .filter(|((s, _), _)| &**s == scope)
            .max_by_key(|(_, p)| p.started)
            .map(|((_, id), _)| Slot::Request(id.clone()))
    }

    fn call_at(&self, scope: &str, slot: &Slot) -> Option<&Pending> {
        match slot {
            Slot::Request(id) => self.pending.get(&(scope.into(), id.clone())),
            Slot::Task(id) => self.tasks.get(&(scope.into(), id.clone())),
        }
    }

    /// What a request to the client asks, in words, redacted.
    fn said(&self, request: &Value) -> String {
        let text = crate::wire::schema::ask_text(request);
        self.redaction.text(&text).unwrap_or(text)
    }

    /// The server asked the client something: the call waits for it.
    fn asked(
        &mut self,
        scope: &str,
        request: Key,
        ask: Ask,
        peek: &Message<'_>,
        at: Time,
        out: &mut Vec<Item>,
    ) {
        let Some(slot) = self.asking_call(scope, peek) else {
            return;
        };
        if self.call_at(scope, &slot).is_none() {
            return;
        }
        if self.asks.len() >= MAX_PENDING {
            self.make_room_for_a_question(at, out);
        }
        let Some(call) = self.call_at(scope, &slot) else {
            return;
        };
        let method = match ask {
            Ask::Elicitation => "elicitation/create",
            Ask::Sampling => "sampling/createMessage",
            Ask::Roots => "roots/list",
        };
        let params = peek
            .params
            .and_then(|p| serde_json::from_str::<Value>(p.get()).ok())
            .unwrap_or_default();
        let what = self.said(&serde_json::json!({ "method": method, "params": params }));
        out.push(Item::waiting(
            call.event_token.clone(),
            call.tool.clone(),
            what,
            at,
        ));
        self.asks.insert(request, (slot, ask));
    }

    /// Too many questions unanswered: those of calls that ended go; if none did, all go,
    /// and each call that waited on one says the tap lost track of it (it runs on, not
    /// waiting for ever).
    fn make_room_for_a_question(&mut self, at: Time, out: &mut Vec<Item>) {
        let dead: Vec<Key> = self
            .asks
            .iter()
            .filter(|(k, (slot, _))| self.call_at(&k.0, slot).is_none())
            .map(|(k, _)| k.clone())
            .collect();
        for key in &dead {
            self.asks.remove(key);
        }
        if self.asks.len() < MAX_PENDING {
            return;
        }
        let mut told = HashSet::default();
        let asks: Vec<(Key, (Slot, Ask))> = self.asks.drain().collect();
        for ((scope, _), (slot, _)) in asks {
            if let Some(call) = self.call_at(&scope, &slot) {
                if told.insert(call.event_token.to_string()) {
                    out.push(Item::task_status(
                        call.event_token.clone(),
                        call.tool.clone(),
                        false,
                        Some(format!(
                            "the tap lost track of its question among {MAX_PENDING} unanswered"
                        )),
                        at,
                    ));
                }
            }
        }
    }

    /// The client answered what the server asked: the call runs on, and says how.
    fn answered(
        &mut self,
        scope: &str,
        slot: &Slot,
        ask: Ask,
        peek: &Message<'_>,
        at: Time,
        out: &mut Vec<Item>,
    ) {
        let Some(call) = self.call_at(scope, slot) else {
            return; // it ended meanwhile
        };
        let action = peek
            .result
            .and_then(|r| serde_json::from_str::<Value>(r.get()).ok())
            .and_then(|r| r.get("action").and_then(Value::as_str).map(str::to_owned));
        let said = match (ask, peek.error.is_some(), action.as_deref()) {
            (Ask::Elicitation, true, _) => "the user was not asked: the client refused",
            (Ask::Elicitation, false, Some("decline")) => "the user declined",
            (Ask::Elicitation, false, Some("cancel")) => "the user cancelled the question",
            (Ask::Elicitation, false, _) => "the user answered",
            (Ask::Sampling, true, _) => "sampling refused by the client",
            (Ask::Sampling, false, _) => "sampling answered",
            (Ask::Roots, true, _) => "roots refused by the client",
            (Ask::Roots, false, _) => "roots listed",
        };
        out.push(Item::task_status(
            call.event_token.clone(),
            call.tool.clone(),
            false,
            Some(said.to_owned()),
            at,
        ));
    }

    fn call_request(
        &mut self,
        scope: &str,
        id: &RawValue,
        peek: &Message<'_>,
        text: &str,
        (instant, at): (Instant, Time),
        out: &mut Vec<Item>,
    ) -> Pass {
        let params = peek
            .params
            .and_then(|p| serde_json::from_str::<CallParams<'_>>(p.get()).ok());
        let tool = params
            .as_ref()
            .and_then(|p| p.name.as_deref())
            .unwrap_or("?")
            .to_owned();
        let given = params
            .as_ref()
            .and_then(|p| p.meta.as_ref())
            .and_then(|m| m.progress_token)
            .map(|t| t.get().trim())
            .filter(|t| is_token(t))
            .map(str::to_owned);
        // What a person sees as the call's token: the agent's own, else nothing.
        let shown = given
            .as_deref()
            .and_then(crate::wire::Token::from_json)
            .unwrap_or_else(|| crate::wire::Token::Str(String::new()));
        let mut verdict = Pass::Forward;
        let progress_token = match given {
            Some(t) => Some(t),
            None if self.request_progress => match self.add_token(text) {
                Some((token, rewritten)) => {
                    self.injected.insert((scope.into(), token.as_str().into()));
                    verdict = Pass::Replace(rewritten);
                    Some(token)
                }
                None => None,
            },
            None => None,
        };
        let request: Key = (scope.into(), id.get().trim().into());
        if params.as_ref().is_some_and(|p| p.input_responses.is_some()) {
            let state = params.as_ref().and_then(|p| p.request_state.as_deref());
            if let Some(mut call) = self.take_round(scope, &tool, state) {
                // The client answers and asks again: the same call, one round on.
                if let Some(t) = &progress_token {
                    self.by_progress.insert(
                        (scope.into(), t.as_str().into()),
                        Slot::Request(request.1.clone()),
                    );
                }
                call.progress_token = progress_token;
                call.round = call.round.saturating_add(1);
                out.push(Item::task_status(
                    call.event_token.clone(),
                    call.tool.clone(),
                    false,
                    Some(format!("round {}: the client answered", call.round)),
                    at,
                ));
                if let Some(old) = self.pending.insert(request, call) {
                    self.forget_progress(scope, &old);
                }
                return verdict;
            }
        }
        let tag = self.scope_tag(scope);
        let event_token = event_token(tag, id);
        if let Some(t) = &progress_token {
            self.by_progress.insert(
                (scope.into(), t.as_str().into()),
                Slot::Request(request.1.clone()),
            );
        }
        let arguments = params
            .as_ref()
            .and_then(|p| p.arguments)
            .and_then(|a| serde_json::from_str::<Value>(a.get()).ok())
            .map(|mut a| {
                self.redaction.value(&mut a);
                crate::wire::schema::bounded_detail(a).0
            });
        let mut started = Item::started(
            event_token.clone(),
            tool.clone(),
            at,
            progress_token.is_some(),
            shown,
        );
        let traceparent = params
            .as_ref()
            .and_then(|p| p.meta.as_ref())
            .and_then(|m| m.traceparent.as_deref())
            .filter(|t| t.len() <= 64 && t.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'))
            .map(str::to_owned);
        if let Item::Event(crate::wire::schema::Published::Call(c)) = &mut started {
            c.arguments = arguments;
            c.extras.traceparent = traceparent;
        }
        out.push(started);
        if self.pending() >= MAX_PENDING {
            self.evict_oldest(at, out);
        }
        let replaced = self.pending.insert(
            request,
            Pending {
                tool,
                event_token,
                progress_token,
                started: instant,
                task: None,
                round: 1,
            },
        );
        if let Some(old) = replaced {
            // The client reused an id still in flight: the old call's end is lost.
            self.forget_progress(scope, &old);
        }
        verdict
    }

    fn progress(&mut self, scope: &str, peek: &Message<'_>, at: Time, out: &mut Vec<Item>) -> Pass {
        let Some(params) = peek
            .params
            .and_then(|p| serde_json::from_str::<ProgressParams<'_>>(p.get()).ok())
        else {
            return Pass::Forward;
        };
        let Some(token) = params.progress_token else {
            return Pass::Forward;
        };
        let token_key: Key = (scope.into(), token.get().trim().into());
        let call = match self.by_progress.get(&token_key) {
            Some(Slot::Request(id)) => self.pending.get(&(scope.into(), id.clone())),
            Some(Slot::Task(id)) => self.tasks.get(&(scope.into(), id.clone())),
            None => None,
        };
        if let Some(call) = call {
            if params.progress.is_finite() {
                out.push(Item::progress(
                    call.event_token.clone(),
                    call.tool.clone(),
                    params.progress,
                    params.total.filter(|t| t.is_finite()),
                    params.message.map(Cow::into_owned),
                    at,
                ));
            }
        }
        if self.injected.contains(&token_key) {
            Pass::Drop
        } else {
            Pass::Forward
        }
    }

    fn response(
        &mut self,
        scope: &str,
        request: Key,
        peek: &Message<'_>,
        now: (Instant, Time),
        out: &mut Vec<Item>,
    ) {
        let (instant, at) = now;
        if self.initializing.remove(&request) {
            if let Some(result) = peek.result {
                if let Some(name) = server_name(result.get()) {
                    out.push(Item::ServerName(name));
                }
                self.server.read_hello(result.get());
                self.publish_server(at, out);
            }
            return;
        }
        if let Some(later_page) = self.listing.remove(&request) {
            if let Some(result) = peek.result {
                // An agent may list the tools before every call: the same first page
                // again is neither read nor published again.
                let hash = {
                    use std::hash::{BuildHasher, Hasher};
                    let mut h = rustc_hash::FxBuildHasher.build_hasher();
                    h.write(result.get().as_bytes());
                    h.finish()
                };
                if !later_page && self.last_listing == Some(hash) {
                    return;
                }
                self.last_listing = (!later_page).then_some(hash);
                let before = self.server.clone();
                self.server.read_tools(result.get(), !later_page);
                if self.server != before {
                    self.publish_server(at, out);
                }
            }
            return;
        }
        if let Some((op, task_id)) = self.task_requests.remove(&request) {
            self.task_answer(scope, op, &task_id, peek, now, out);
            return;
        }
        let Some(mut call) = self.pending.remove(&request) else {
            return;
        };
        if let Some(task) = peek.result.and_then(|r| created_task(r.get())) {
            // Not the end: the call runs on as a task.
            let task_key: Key = (scope.into(), task.task_id.as_ref().into());
            if let Some(t) = &call.progress_token {
                self.by_progress.insert(
                    (scope.into(), t.as_str().into()),
                    Slot::Task(task_key.1.clone()),
                );
            }
            call.task = Some(TaskSeen {
                waiting: false,
                message: None,
                deadline: None,
                ttl: None,
            });
            out.push(Item::task_created(
                call.event_token.clone(),
                call.tool.clone(),
                &task_key.1,
                at,
            ));
            if let Some(old) = self.tasks.insert(task_key, call) {
                self.forget_progress(scope, &old);
            }
            self.task_update(scope, &task, now, out);
            return;
        }
        if let Some(rounds) = peek.result.and_then(|r| input_required(r.get())) {
            // Not the end: the client is to answer and call again (MCP 2026-07-28).
            let what: Vec<String> = rounds.requests.values().map(|r| self.said(r)).collect();
            let what = if what.is_empty() {
                "input required".to_owned()
            } else {
                what.join("; ")
            };
            out.push(Item::waiting(
                call.event_token.clone(),
                call.tool.clone(),
                what,
                at,
            ));
            self.forget_progress(scope, &call);
            call.progress_token = None;
            let round_key: Box<str> = match &rounds.state {
                Some(state) => state_key(state).into(),
                None => format!("t{}", call.event_token).into(),
            };
            if self.pending() >= MAX_PENDING {
                self.evict_oldest(at, out);
            }
            self.rounds.insert((scope.into(), round_key), call);
            return;
        }
        let (state, error) = outcome(peek.error, peek.result);
        self.end(scope, call, state, error, instant, at, out);
        self.summarize_result(peek.result, out);
    }

    /// The call a retry with answers continues: the one whose `input_required` result
    /// gave this `state`, else (no state, or one not seen) the oldest of the tool's calls
    /// that got none.
    fn take_round(&mut self, scope: &str, tool: &str, state: Option<&str>) -> Option<Pending> {
        if let Some(state) = state {
            let key: Key = (scope.into(), state_key(state).into());
            if let Some(call) = self.rounds.remove(&key) {
                return Some(call);
            }
        }
        let key = self
            .rounds
            .iter()
            .filter(|((s, k), p)| &**s == scope && k.starts_with('t') && p.tool == tool)
            .min_by_key(|(_, p)| p.started)
            .map(|(k, _)| k.clone())?;
        self.rounds.remove(&key)
    }

    /// Publishes what is known of the server now.
    fn publish_server(&self, at: Time, out: &mut Vec<Item>) {
        out.push(Item::Event(crate::wire::schema::Published::Server(
            crate::wire::schema::ServerEvent {
                timestamp: Some(at),
                ..self.server.clone()
            },
        )));
    }

    /// Puts a summary of `result` (redacted) on the end event just pushed.
    fn summarize_result(&self, result: Option<&RawValue>, out: &mut [Item]) {
        let Some(result) = result else {
            return;
        };
        let mut summary = crate::wire::schema::result_summary(result.get());
        self.redaction.value(&mut summary);
        if let Some(Item::Event(crate::wire::schema::Published::Call(c))) = out.last_mut() {
            c.result = Some(summary);
        }
    }

    /// Publishes the end of `call` and lets go of its progress token.
    #[allow(clippy::too_many_arguments)]
    fn end(
        &mut self,
        scope: &str,
        call: Pending,
        state: CallState,
        error: Option<String>,
        instant: Instant,
        at: Time,
        out: &mut Vec<Item>,
    ) {
        self.forget_progress(scope, &call);
        let duration = instant.saturating_duration_since(call.started);
        out.push(Item::ended(
            call.event_token,
            call.tool,
            state,
            at,
            Some(millis(duration)),
            error,
        ));
    }

    /// Every call still open ends as failed with `why` (the server exited, the tap stops).
    pub fn abandon_all(&mut self, why: &str, (instant, at): (Instant, Time), out: &mut Vec<Item>) {
        let mut calls: Vec<(Box<str>, Pending)> = self
            .pending
            .drain()
            .chain(self.tasks.drain())
            .chain(self.rounds.drain())
            .map(|((scope, _), p)| (scope, p))
            .collect();
        calls.sort_by_key(|(_, c)| c.started);
        for (scope, call) in calls {
            self.end(
                &scope,
                call,
                CallState::Failed,
                Some(why.to_owned()),
                instant,
                at,
                out,
            );
        }
        self.by_progress.clear();
        self.injected.clear();
        self.task_requests.clear();
        self.asks.clear();
        self.next_deadline = None;
    }

    /// Every call of one scope (an MCP session that ended) ends as cancelled.
    pub fn end_scope(
        &mut self,
        scope: &str,
        why: &str,
        (instant, at): (Instant, Time),
        out: &mut Vec<Item>,
    ) {
        let in_scope = |(s, _): &Key| &**s == scope;
        let requests: Vec<Key> = self
            .pending
            .keys()
            .filter(|k| in_scope(k))
            .cloned()
            .collect();
        let tasks: Vec<Key> = self.tasks.keys().filter(|k| in_scope(k)).cloned().collect();
        let rounds: Vec<Key> = self
            .rounds
            .keys()
            .filter(|k| in_scope(k))
            .cloned()
            .collect();
        for key in rounds {
            if let Some(call) = self.rounds.remove(&key) {
                let why = Some(why.to_owned());
                self.end(scope, call, CallState::Cancelled, why, instant, at, out);
            }
        }
        for key in requests {
            if let Some(call) = self.pending.remove(&key) {
                let why = Some(why.to_owned());
                self.end(scope, call, CallState::Cancelled, why, instant, at, out);
            }
        }
        for key in tasks {
            if let Some(call) = self.tasks.remove(&key) {
                let why = Some(why.to_owned());
                self.end(scope, call, CallState::Cancelled, why, instant, at, out);
            }
        }
        self.task_requests.retain(|k, _| !in_scope(k));
        self.asks.retain(|k, _| !in_scope(k));
    }

    /// 0 for no session, else 1, 2, … in the order sessions were first seen.
    fn scope_tag(&mut self, scope: &str) -> u32 {
        if scope.is_empty() {
            return 0;
        }
        if self.scopes.len() >= MAX_PENDING {
            self.scopes.clear();
        }
        let next = self.scopes.len() as u32 + 1;
        *self.scopes.entry(scope.into()).or_insert(next)
    }

    fn evict_oldest(&mut self, at: Time, out: &mut Vec<Item>) {
        let oldest = self
            .pending
            .iter()
            .map(|(k, p)| (0, k, p.started))
            .chain(self.tasks.iter().map(|(k, p)| (1, k, p.started)))
            .chain(self.rounds.iter().map(|(k, p)| (2, k, p.started)))
            .min_by_key(|(_, _, started)| *started)
            .map(|(kind, k, _)| (kind, k.clone()));
        let Some((kind, oldest)) = oldest else {
            return;
        };
        let removed = match kind {
            0 => self.pending.remove(&oldest),
            1 => self.tasks.remove(&oldest),
            _ => self.rounds.remove(&oldest),
        };
        if let Some(call) = removed {
            self.forget_progress(&oldest.0, &call);
            out.push(Item::ended(
                call.event_token,
                call.tool,
                CallState::Failed,
                at,
                None,
                Some(format!("no answer among the last {MAX_PENDING} calls")),
            ));
        }
    }

    fn forget_progress(&mut self, scope: &str, call: &Pending) {
        if let Some(t) = &call.progress_token {
            let k: Key = (scope.into(), t.as_str().into());
            self.by_progress.remove(&k);
            self.injected.remove(&k);
        }
    }

    /// The request with `_meta.progressToken` added: (the token's JSON text, new text).
    /// Only the token is inserted into the text; every other byte stays as the agent wrote
    /// it (key order, number spelling, white space).
    fn add_token(&mut self, text: &str) -> Option<(String, String)> {
        let token = Value::String(format!("mcptop-{}", self.next_token)).to_string();
        let rewritten = insert_progress_token(text, &token)?;
        self.next_token += 1;
        Some((token, rewritten))
    }
}

/// What an `input_required` result asks (MCP 2026-07-28 multi-round-trip requests).
struct InputRequired {
    requests: serde_json::Map<String, Value>,
    state: Option<String>,
}

/// The result's `inputRequests` and `requestState` when it is an `InputRequiredResult`.
fn input_required(result: &str) -> Option<InputRequired> {
    // Cheap first: most results are not.
    if !result.contains("input_required") {
        return None;
    }
    #[derive(serde::Deserialize)]
    struct Peek {
        #[serde(rename = "resultType", default)]
        result_type: Option<String>,
        #[serde(rename = "inputRequests", default)]
        input_requests: Option<serde_json::Map<String, Value>>,
        #[serde(rename = "requestState", default)]
        request_state: Option<String>,
    }
    let peek: Peek = serde_json::from_str(result).ok()?;
    (peek.result_type.as_deref() == Some("input_required")).then(|| InputRequired {
        requests: peek.input_requests.unwrap_or_default(),
        state: peek.request_state,
    })
}

/// A request state as a short key (states may be long; only equality matters).
fn state_key(state: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = rustc_hash::FxBuildHasher.build_hasher();
    h.write(state.as_bytes());
    format!("s{:016x}{}", h.finish(), state.len())
}

/// The token a call shows on the daemon's stream: its request id (unique among the
/// client's calls in flight), qualified by its MCP session's number when there is one
/// (`7@s2`). A person sees the agent's progress token instead (`progress_token`).
fn event_token(scope: u32, id: &RawValue) -> Value {
    let id_value: Value = serde_json::from_str(id.get()).unwrap_or(Value::Null);
    let integer = id_value.is_i64() || id_value.is_u64();
    if scope == 0 && (integer || id_value.is_string()) {
        return id_value;
    }
    let id_text = match &id_value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if scope == 0 {
        id_text
    } else {
        format!("{id_text}@s{scope}")
    }
    .into()
}

/// How a call's answer ends it: a JSON-RPC error or a tool result with `isError` fails
/// it (with their text), anything else finishes it.
fn outcome(error: Option<&RawValue>, result: Option<&RawValue>) -> (CallState, Option<String>) {
    let error = match (error, result) {
        (Some(e), _) => Some(rpc_error_text(e.get())),
        (None, Some(r)) => tool_error_text(r.get()),
        (None, None) => None,
    };
    let state = if error.is_some() {
        CallState::Failed
    } else {
        CallState::Finished
    };
    (state, error)
}

/// Whether a JSON text is a valid progress token: a string or an integer.
fn is_token(json: &str) -> bool {
    match json.as_bytes().first() {
        Some(b'"') => true,
        Some(b'-' | b'0'..=b'9') => !json.contains(['.', 'e', 'E']),
        _ => false,
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
