//! What a tap publishes: the daemon's own event shapes ([`crate::wire::schema`]).

use std::borrow::Cow;

use serde_json::Value;

use crate::time::Time;
use crate::wire::schema::{CallEvent, Num, ProgressEvent, Published};
use crate::wire::{CallExtras, CallState, Token, Wait};

/// Something to publish. (Events are the common case and are not boxed: they move
/// through a channel one by one, and a box would add an allocation to each.)
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Item {
    /// A call or progress event, as the daemon's `POST /session/{id}/publish` takes it.
    Event(Published<'static>),
    /// The server said who it is (`initialize`, `server/discover`): `name version`.
    ServerName(String),
}

impl Item {
    /// A call began. `shown` is the token a person should see (the agent's own progress
    /// token, or `""`).
    pub fn started(token: Value, tool: String, at: Time, progress: bool, shown: Token) -> Item {
        Item::call(CallEvent {
            timestamp: Some(at),
            extras: CallExtras {
                progress_requested: Some(progress),
                progress_token: Some(shown),
                ..CallExtras::default()
            },
            ..CallEvent::new(token, tool, CallState::Started)
        })
    }

    /// The call runs on as task `task`.
    pub fn task_created(token: Value, tool: String, task: &str, at: Time) -> Item {
        Item::call(CallEvent {
            timestamp: Some(at),
            extras: CallExtras {
                task: Some(task.to_owned()),
                ..CallExtras::default()
            },
            ..CallEvent::new(token, tool, CallState::Working)
        })
    }

    /// A task's news: it waits for input, or works (with what its server says it does).
    pub fn task_status(
        token: Value,
        tool: String,
        waiting: bool,
        message: Option<String>,
        at: Time,
    ) -> Item {
        let (state, waiting_for) = if waiting {
            (CallState::Waiting, Some(Wait::Input))
        } else {
            (CallState::Working, None)
        };
        Item::call(CallEvent {
            timestamp: Some(at),
            message: message.map(Cow::Owned),
            extras: CallExtras {
                waiting_for,
                ..CallExtras::default()
            },
            ..CallEvent::new(token, tool, state)
        })
    }

    /// The call waits on the client (its user): what the server asked, in words.
    pub fn waiting(token: Value, tool: String, what: String, at: Time) -> Item {
        Item::call(CallEvent {
            timestamp: Some(at),
            message: Some(Cow::Owned(what)),
            extras: CallExtras {
                waiting_for: Some(Wait::Input),
                ..CallExtras::default()
            },
            ..CallEvent::new(token, tool, CallState::Waiting)
        })
    }

    /// The call ended.
    pub fn ended(
        token: Value,
        tool: String,
        state: CallState,
        at: Time,
        duration_ms: Option<u64>,
        error: Option<String>,
    ) -> Item {
        Item::call(CallEvent {
            timestamp: Some(at),
            duration_ms,
            error: error.map(Cow::Owned),
            ..CallEvent::new(token, tool, state)
        })
    }

    pub fn progress(
        token: Value,
        tool: String,
        progress: f64,
        total: Option<f64>,
        message: Option<String>,
        at: Time,
    ) -> Item {
        Item::Event(Published::Progress(ProgressEvent {
            token,
            progress: Num(progress),
            total: total.map(Num),
            message: message.map(Cow::Owned),
            tool: Some(Cow::Owned(tool)),
            timestamp: Some(at),
        }))
    }

    fn call(event: CallEvent<'static>) -> Item {
        Item::Event(Published::Call(event))
    }

    /// Appends the item as the daemon's `POST /session/{id}/publish` takes it; false for
    /// items that are not published (the server's name).
    pub fn write_json(&self, out: &mut Vec<u8>) -> bool {
        match self {
            Item::Event(event) => serde_json::to_writer(&mut *out, event).is_ok(),
            Item::ServerName(_) => false,
        }
    }

    /// The item as a JSON value (see [`Item::write_json`]).
    pub fn to_json(&self) -> Option<Value> {
        let mut out = Vec::new();
        if !self.write_json(&mut out) {
            return None;
        }
        serde_json::from_slice(&out).ok()
    }

    /// The call event, when it is one.
    pub fn as_call(&self) -> Option<&CallEvent<'static>> {
        match self {
            Item::Event(Published::Call(c)) => Some(c),
            _ => None,
        }
    }

    /// The progress event, when it is one.
    pub fn as_progress(&self) -> Option<&ProgressEvent<'static>> {
        match self {
            Item::Event(Published::Progress(p)) => Some(p),
            _ => None,
        }
    }
}
