//! The JSON the daemon publishes on a session's events stream, and its SSE framing.

use serde::{Serialize, Serializer};
use serde_json::Value;

use super::hub::EventKind;
use super::session::Session;
use crate::sse::encode;
use crate::time::Time;
use crate::wire::CallState;

/// A number written as an integer when it is one (`5`, not `5.0`), as Construct does.
#[derive(Debug, Clone, Copy)]
pub struct Num(pub f64);

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
        if self.0.fract() == 0.0 && self.0.abs() < EXACT {
            s.serialize_i64(self.0 as i64)
        } else {
            s.serialize_f64(self.0)
        }
    }
}

/// Construct's ProgressEvent, fields in its order.
#[derive(Serialize)]
pub(super) struct ProgressEvent<'a> {
    pub token: &'a Value,
    pub progress: Num,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<Num>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'a str>,
    pub tool: Option<&'a str>,
    pub timestamp: String,
}

/// `event: call` (mcptop extension).
#[derive(Serialize)]
pub(super) struct CallEvent<'a> {
    pub token: &'a Value,
    pub tool: &'a str,
    pub state: &'static str,
    pub timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a str>,
    /// `false` when the caller asked for no progress (so none can come): taps say so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress_requested: Option<bool>,
}

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
        token,
        progress: Num(progress),
        total: total.map(Num),
        message: message.as_deref(),
        tool: Some(&tool),
        timestamp: now.to_rfc3339_nanos(),
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
        token,
        tool: &tool,
        state: state.as_str(),
        timestamp: now.to_rfc3339_nanos(),
        duration_ms,
        error: error.as_deref(),
        progress_requested: None,
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_have_no_fraction() {
        let s = |v| serde_json::to_string(&Num(v)).unwrap();
        assert_eq!(s(5.0), "5");
        assert_eq!(s(-2.0), "-2");
        assert_eq!(s(0.5), "0.5");
        assert_eq!(serde_json::from_str::<f64>(&s(1e300)).unwrap(), 1e300);
    }
}
