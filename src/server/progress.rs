//! The JSON the daemon publishes on a session's events stream, and its SSE framing.

use serde_json::Value;

use super::hub::EventKind;
use super::session::Session;
use crate::sse::encode;
use crate::time::Time;
use crate::wire::schema::{CallEvent, ProgressEvent};
use crate::wire::CallState;

pub use crate::wire::schema::Num;

/// Publishes one progress report on the session's events stream.
pub fn publish_progress(
    session: &Session,
    token: &Value,
    tool: &str,
    progress: f64,
    total: Option<f64>,
    message: Option<&str>,
) {
    let now = Time::now();
    let tool = crate::sanitize::cut(tool, super::MAX_NAME);
    let message = message.map(|m| crate::sanitize::cut(m, super::MAX_TEXT));
    let event = ProgressEvent {
        token: token.clone(),
        progress: Num(progress),
        total: total.map(Num),
        message,
        tool: Some(tool),
        timestamp: Some(now),
    };
    if let Ok(json) = serde_json::to_string(&event) {
        session.publish(EventKind::Progress, json, now);
    }
}

/// Publishes a call lifecycle event.
pub fn publish_call(
    session: &Session,
    token: &Value,
    tool: &str,
    state: CallState,
    duration_ms: Option<u64>,
    error: Option<&str>,
) {
    let now = Time::now();
    let tool = crate::sanitize::cut(tool, super::MAX_NAME);
    let error = error.map(|e| crate::sanitize::cut(e, super::MAX_TEXT));
    let event = CallEvent {
        timestamp: Some(now),
        duration_ms,
        error,
        ..CallEvent::new(token.clone(), tool, state)
    };
    if let Ok(json) = serde_json::to_string(&event) {
        session.publish(EventKind::Call, json, now);
    }
}

/// A running call's log line or status, as a `working` call event with a message.
pub fn publish_call_message(session: &Session, token: &Value, tool: &str, message: &str) {
    let now = Time::now();
    let tool = crate::sanitize::cut(tool, super::MAX_NAME);
    let event = CallEvent {
        timestamp: Some(now),
        message: Some(crate::sanitize::cut(message, super::MAX_TEXT)),
        ..CallEvent::new(token.clone(), tool, CallState::Working)
    };
    if let Ok(json) = serde_json::to_string(&event) {
        session.publish(EventKind::Call, json, now);
    }
}

/// A running call waits for its client (`what` it asked), as a `waiting` call event.
pub fn publish_call_waiting(session: &Session, token: &Value, tool: &str, what: &str) {
    let now = Time::now();
    let tool = crate::sanitize::cut(tool, super::MAX_NAME);
    let mut event = CallEvent {
        timestamp: Some(now),
        message: Some(crate::sanitize::cut(what, super::MAX_TEXT)),
        ..CallEvent::new(token.clone(), tool, CallState::Waiting)
    };
    event.extras.waiting_for = Some(crate::wire::Wait::Input);
    if let Ok(json) = serde_json::to_string(&event) {
        session.publish(EventKind::Call, json, now);
    }
}

/// `event: lagged` with how many events this subscriber lost.
pub fn write_lagged_sse(out: &mut String, missed: u64) {
    encode::write_event(
        out,
        Some("lagged"),
        None,
        &format!("{{\"missed\":{missed}}}"),
    );
}

/// The WebSocket text telling a subscriber what it lost.
pub fn ws_lagged(missed: u64) -> String {
    format!("{{\"type\":\"lagged\",\"missed\":{missed}}}")
}
