//! The tap's view of MCP tasks (2025-11-25 `tasks` and the 2026-07-28 extension): the
//! fields it reads of a task, the requests about one, and what a task's news means for the
//! call it runs.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap as HashMap;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::{outcome, Item, Key, Observer};
use crate::time::Time;
use crate::wire::schema::{rpc_error_text, tool_error_text, Message};
use crate::wire::{CallState, TaskStatus};

/// What was last said of a call that runs as a task.
pub(super) struct TaskSeen {
    pub waiting: bool,
    pub message: Option<String>,
    /// When its ttl runs out (None: unlimited).
    pub deadline: Option<Instant>,
    pub ttl: Option<Duration>,
}

/// A request about a task, waiting for its answer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum TaskOp {
    Get,
    Result,
    Cancel,
}

/// The fields of a task (either generation) the tap reads.
#[derive(Deserialize)]
pub(super) struct TaskFields<'a> {
    #[serde(rename = "taskId", borrow)]
    pub task_id: Cow<'a, str>,
    /// A word this version does not know is none: the task goes on as working.
    #[serde(default, deserialize_with = "crate::wire::words_lenient")]
    pub status: Option<TaskStatus>,
    #[serde(rename = "statusMessage", borrow, default)]
    pub status_message: Option<Cow<'a, str>>,
    /// 2025-11-25: `ttl`; the extension: `ttlMs`. Null is unlimited.
    #[serde(default)]
    pub ttl: Option<f64>,
    #[serde(rename = "ttlMs", default)]
    pub ttl_ms: Option<f64>,
    /// The extension inlines a completed task's result and a failed task's error.
    #[serde(borrow, default)]
    pub result: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub error: Option<&'a RawValue>,
    /// The extension's `input_required` task says what it asks (SEP-2322 requests by key).
    #[serde(rename = "inputRequests", borrow, default)]
    pub input_requests: Option<&'a RawValue>,
}

/// A result that creates a task: 2025-11-25 `{"task": {…}}`, or the extension's flat
/// `{"resultType": "task", "taskId": …}`.
pub(super) fn created_task(result: &str) -> Option<TaskFields<'_>> {
    #[derive(Deserialize)]
    struct Created<'a> {
        #[serde(rename = "resultType", borrow, default)]
        result_type: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        task: Option<&'a RawValue>,
    }
    let created: Created<'_> = serde_json::from_str(result).ok()?;
    match (created.result_type.as_deref(), created.task) {
        (Some("task"), _) => serde_json::from_str(result).ok(),
        (None, Some(task)) => serde_json::from_str(task.get()).ok(),
        _ => None,
    }
}

#[derive(Deserialize)]
pub(super) struct TaskIdParams<'a> {
    #[serde(rename = "taskId", borrow)]
    pub task_id: Cow<'a, str>,
}

/// `_meta["io.modelcontextprotocol/related-task"].taskId` of a result.
pub(super) fn related_task(result: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct WithMeta<'a> {
        #[serde(rename = "_meta", borrow, default)]
        meta: Option<HashMap<Cow<'a, str>, &'a RawValue>>,
    }
    let meta = serde_json::from_str::<WithMeta<'_>>(result).ok()?.meta?;
    let related = meta.get("io.modelcontextprotocol/related-task")?;
    serde_json::from_str::<TaskIdParams<'_>>(related.get())
        .ok()
        .map(|t| t.task_id.into_owned())
}

impl Observer {
    /// The answer to a `tasks/get`, `tasks/result` or `tasks/cancel` about a task we follow.
    pub(super) fn task_answer(
        &mut self,
        scope: &str,
        op: TaskOp,
        task_id: &str,
        peek: &Message<'_>,
        now: (Instant, Time),
        out: &mut Vec<Item>,
    ) {
        let (instant, at) = now;
        let key: Key = (scope.into(), task_id.into());
        match (op, peek.error, peek.result) {
            (TaskOp::Get, Some(_), _) => {
                // The server no longer knows the task: its ttl ran out, or it was dropped.
                if let Some(call) = self.tasks.remove(&key) {
                    let why = "the task expired: the server no longer knows it".to_owned();
                    self.end(scope, call, CallState::Failed, Some(why), instant, at, out);
                }
            }
            (TaskOp::Get | TaskOp::Cancel, None, Some(result)) => {
                match serde_json::from_str::<TaskFields<'_>>(result.get()) {
                    Ok(task) => self.task_update(scope, &task, now, out),
                    // The extension acknowledges a cancel with an empty result: the agent
                    // has let the task go, so the row ends here.
                    Err(_) if op == TaskOp::Cancel => {
                        if let Some(call) = self.tasks.remove(&key) {
                            let why = Some("cancelled by the client".to_owned());
                            self.end(scope, call, CallState::Cancelled, why, instant, at, out);
                        }
                    }
                    Err(_) => {}
                }
            }
            (TaskOp::Result, error, result) => {
                let task_id = result
                    .and_then(|r| related_task(r.get()))
                    .unwrap_or_else(|| task_id.to_owned());
                if let Some(call) = self.tasks.remove(&(scope.into(), task_id.into())) {
                    let (state, error) = outcome(error, result);
                    self.end(scope, call, state, error, instant, at, out);
                    self.summarize_result(result, out);
                }
            }
            _ => {}
        }
    }

    /// What a task's state (from any message that carries it) means for its call.
    pub(super) fn task_update(
        &mut self,
        scope: &str,
        task: &TaskFields<'_>,
        (instant, at): (Instant, Time),
        out: &mut Vec<Item>,
    ) {
        let key: Key = (scope.into(), task.task_id.as_ref().into());
        let message = task
            .status_message
            .as_deref()
            .filter(|m| !m.trim().is_empty());
        let end = match task.status {
            Some(TaskStatus::Completed) => {
                Some(match task.result.and_then(|r| tool_error_text(r.get())) {
                    Some(error) => (CallState::Failed, Some(error)),
                    None => (CallState::Finished, None),
                })
            }
            Some(TaskStatus::Failed) => Some((
                CallState::Failed,
                Some(match (task.error, message) {
                    (Some(e), _) => rpc_error_text(e.get()),
                    (None, Some(m)) => m.to_owned(),
                    (None, None) => "the task failed".to_owned(),
                }),
            )),
            Some(TaskStatus::Cancelled) => Some((
                CallState::Cancelled,
                Some(message.unwrap_or("the task was cancelled").to_owned()),
            )),
            _ => None,
        };
        if let Some((state, why)) = end {
            if let Some(call) = self.tasks.remove(&key) {
                self.end(scope, call, state, why, instant, at, out);
            }
            return;
        }
        let Some(call) = self.tasks.get_mut(&key) else {
            return;
        };
        let Some(seen) = call.task.as_mut() else {
            return;
        };
        let ttl = match (task.ttl_ms, task.ttl) {
            (Some(ms), _) | (None, Some(ms)) if ms.is_finite() && ms >= 0.0 => {
                crate::time::duration_from_secs(ms / 1000.0)
            }
            _ => None,
        };
        if ttl.is_some() && seen.ttl.is_none() {
            seen.ttl = ttl;
            seen.deadline = ttl.and_then(|t| instant.checked_add(t));
            self.next_deadline = match (self.next_deadline, seen.deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        let waiting = task.status == Some(TaskStatus::InputRequired);
        // What a waiting task asks, when it says (the extension's `inputRequests`): that,
        // rather than its status message; it changes as the client answers some.
        let asked = task
            .input_requests
            .filter(|_| waiting)
            .and_then(|r| serde_json::from_str::<serde_json::Map<String, Value>>(r.get()).ok())
            .filter(|r| !r.is_empty())
            .map(|r| {
                let text: Vec<String> = r
                    .values()
                    .map(|request| {
                        let text = crate::wire::schema::ask_text(request);
                        self.redaction.text(&text).unwrap_or(text)
                    })
                    .collect();
                text.join("; ")
            });
        let message = asked.as_deref().or(message);
        let Some(call) = self.tasks.get_mut(&key) else {
            return;
        };
        let Some(seen) = call.task.as_mut() else {
            return;
        };
        let changed_message = message.is_some() && message != seen.message.as_deref();
        if waiting == seen.waiting && !changed_message {
            return;
        }
        seen.waiting = waiting;
        if let Some(m) = message {
            seen.message = Some(m.to_owned());
        }
        out.push(Item::task_status(
            call.event_token.clone(),
            call.tool.clone(),
            waiting,
            message.map(str::to_owned),
            at,
        ));
    }
}
