//! The MCP tasks the daemon runs, in both generations:
//! - the 2026-07-28 extension `io.modelcontextprotocol/tasks` (a `tools/call` answered
//!   with a task handle, `tasks/get` with the result or error inlined, `tasks/update` for
//!   input, `tasks/cancel`, `notifications/tasks`);
//! - MCP 2025-11-25 tasks (a `tools/call` with `task`, `tasks/get`, `tasks/result` that
//!   waits for the end, `tasks/list`, `tasks/cancel`), held per MCP session.
//!
//! A task is a tool call like any other on the daemon's events stream: the monitor shows
//! it running with its progress until the task ends. A task lives for its ttl from its
//! creation (never less), then is forgotten; at most [`MAX_TASKS`] are held.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::broadcast;

use super::session::Session;
use super::tools::InputSlot;
use crate::time::Time;
use crate::wire::TaskStatus;

/// Tasks held at once; past it the oldest ended task goes, and with none ended a new one
/// is refused.
pub const MAX_TASKS: usize = 10_000;
/// How long a task is kept after it was created.
pub const TTL: Duration = Duration::from_secs(600);
/// How often a client should poll.
pub const POLL_INTERVAL_MS: u64 = 250;

#[derive(Debug, Clone, PartialEq)]
/// How a task stands: still working, or how it ended (with its result).
pub enum TaskOutcome {
    Working,
    /// The tool's result (a `CallToolResult`, `isError` or not).
    Completed(Value),
    /// A JSON-RPC error object.
    Failed(Value),
    Cancelled,
}

impl TaskOutcome {
    pub fn is_terminal(&self) -> bool {
        !matches!(self, TaskOutcome::Working)
    }
}

struct State {
    status: TaskOutcome,
    message: Option<String>,
    updated: Time,
}

pub struct Task {
    pub id: String,
    created: Time,
    /// Where it expires (monotonic).
    expires: std::time::Instant,
    state: Mutex<State>,
    /// Its questions to the client.
    pub input: Arc<InputSlot>,
    /// The daemon session it runs in and its call's key there (to cancel it).
    pub session: Arc<Session>,
    pub call_key: String,
    /// The MCP session that may see it (2025-11-25); empty for anyone with its id.
    pub owner: String,
    /// The ttl it was given, in milliseconds.
    ttl_ms: u64,
}

impl Task {
    /// The task as MCP 2025-11-25 gives it (`ttl`, `pollInterval`; no result inlined).
    pub fn v1(&self) -> Value {
        let mut task = self.detailed();
        if let Some(object) = task.as_object_mut() {
            object.remove("result");
            object.remove("error");
            object.remove("inputRequests");
            if let Some(ttl) = object.remove("ttlMs") {
                object.insert("ttl".into(), ttl);
            }
            if let Some(poll) = object.remove("pollIntervalMs") {
                object.insert("pollInterval".into(), poll);
            }
        }
        task
    }

    /// Waits (up to the task's life) for it to end; its status then.
    pub async fn ended(&self, changes: &mut broadcast::Receiver<String>) -> TaskOutcome {
        let deadline = tokio::time::Instant::from_std(self.expires);
        loop {
            let status = self.status();
            if status.is_terminal() {
                return status;
            }
            match tokio::time::timeout_at(deadline, changes.recv()).await {
                Err(_) | Ok(Err(broadcast::error::RecvError::Closed)) => return self.status(),
                Ok(_) => {}
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn status(&self) -> TaskOutcome {
        self.lock().status.clone()
    }

    /// The task as `tasks/get` and `notifications/tasks` give it (a DetailedTask, without
    /// `resultType`).
    pub fn detailed(&self) -> Value {
        let state = self.lock();
        let pending = match state.status {
            TaskOutcome::Working => self.input.pending(),
            _ => None,
        };
        let status = match (&state.status, &pending) {
            (TaskOutcome::Working, Some(_)) => TaskStatus::InputRequired.as_str(),
            (TaskOutcome::Working, None) => TaskStatus::Working.as_str(),
            (TaskOutcome::Completed(_), _) => TaskStatus::Completed.as_str(),
            (TaskOutcome::Failed(_), _) => TaskStatus::Failed.as_str(),
            (TaskOutcome::Cancelled, _) => TaskStatus::Cancelled.as_str(),
        };
        let mut task = json!({
            "taskId": self.id,
            "status": status,
            "createdAt": self.created.to_rfc3339_nanos(),
            "lastUpdatedAt": state.updated.to_rfc3339_nanos(),
            "ttlMs": self.ttl_ms,
            "pollIntervalMs": POLL_INTERVAL_MS,
        });
        let message = match (&state.status, &pending) {
            (TaskOutcome::Working, Some(_)) => Some("waiting for the client's input"),
            _ => state.message.as_deref(),
        };
        if let (Some(m), Some(object)) = (message, task.as_object_mut()) {
            object.insert("statusMessage".into(), m.into());
        }
        if let Some(object) = task.as_object_mut() {
            match &state.status {
                TaskOutcome::Completed(result) => {
                    object.insert("result".into(), result.clone());
                }
                TaskOutcome::Failed(error) => {
                    object.insert("error".into(), error.clone());
                }
                _ => {}
            }
            if let Some(requests) = pending {
                object.insert("inputRequests".into(), requests);
            }
        }
        task
    }
}

/// Every task, by id.
pub struct TaskStore {
    by_id: Mutex<HashMap<String, Arc<Task>>>,
    /// The id of each task whose status changed (for `notifications/tasks`).
    changes: broadcast::Sender<String>,
}

impl Default for TaskStore {
    fn default() -> Self {
        TaskStore {
            by_id: Mutex::new(HashMap::new()),
            changes: broadcast::channel(1024).0,
        }
    }
}

/// No room for another task.
#[derive(Debug)]
pub struct Full;

impl TaskStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Task>>> {
        self.by_id.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new working task, held (so `tasks/get` finds it) before it is returned; `owner`
    /// is the MCP session that may see it ("" for anyone with its id), `ttl` its life
    /// (at most [`TTL`]).
    pub fn create(
        &self,
        session: Arc<Session>,
        owner: &str,
        ttl: Option<Duration>,
    ) -> Result<Arc<Task>, Full> {
        let ttl = ttl.unwrap_or(TTL).min(TTL);
        let now = std::time::Instant::now();
        let mut tasks = self.lock();
        tasks.retain(|_, t| t.expires > now);
        if tasks.len() >= MAX_TASKS {
            let oldest_ended = tasks
                .values()
                .filter(|t| t.status().is_terminal())
                .min_by_key(|t| t.created)
                .map(|t| t.id.clone());
            match oldest_ended {
                Some(id) => {
                    tasks.remove(&id);
                }
                None => return Err(Full),
            }
        }
        let id = uuid::Uuid::new_v4().to_string();
        let changes = self.changes.clone();
        let changed_id = id.clone();
        let at = Time::now();
        let task = Arc::new(Task {
            id: id.clone(),
            created: at,
            expires: now + ttl,
            ttl_ms: u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX),
            owner: owner.to_owned(),
            state: Mutex::new(State {
                status: TaskOutcome::Working,
                message: None,
                updated: at,
            }),
            input: Arc::new(InputSlot::new(Box::new(move || {
                let _ = changes.send(changed_id.clone());
            }))),
            call_key: serde_json::to_string(&format!("task:{id}")).unwrap_or_default(),
            session,
        });
        tasks.insert(id, Arc::clone(&task));
        Ok(task)
    }

    pub fn get(&self, id: &str) -> Option<Arc<Task>> {
        let now = std::time::Instant::now();
        self.lock().get(id).filter(|t| t.expires > now).cloned()
    }

    /// The task `id` as `owner` may see it.
    pub fn get_for(&self, id: &str, owner: &str) -> Option<Arc<Task>> {
        self.get(id).filter(|t| t.owner == owner)
    }

    /// `owner`'s tasks, oldest first.
    pub fn list_for(&self, owner: &str) -> Vec<Arc<Task>> {
        let now = std::time::Instant::now();
        let mut tasks: Vec<Arc<Task>> = self
            .lock()
            .values()
            .filter(|t| t.owner == owner && t.expires > now)
            .cloned()
            .collect();
        tasks.sort_by_key(|t| t.created);
        tasks
    }

    /// Moves a task to `status` unless it already ended (a cancelled task stays cancelled
    /// whatever its tool does after).
    pub fn settle(&self, task: &Task, status: TaskOutcome, message: Option<String>) {
        {
            let mut state = task.lock();
            if state.status.is_terminal() {
                return;
            }
            state.status = status;
            state.message = message;
            state.updated = Time::now();
        }
        let _ = self.changes.send(task.id.clone());
    }

    /// Cancels a task that still runs: it is `cancelled` from now on, and its tool is
    /// told to stop.
    pub fn cancel(&self, task: &Task) {
        self.settle(
            task,
            TaskOutcome::Cancelled,
            Some("cancelled by the client".into()),
        );
        task.session.cancel_call(&task.call_key);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.changes.subscribe()
    }
}
