//! `POST /session/{id}/publish` (mcptop extension): how taps (`mcptop wrap`, `mcptop
//! proxy`) put the calls they observe on a session's events stream.
//!
//! The body is one item or an array of items, each a progress report or a call lifecycle
//! change, with the fields of the events the stream carries plus `"type"`:
//!
//! ```json
//! [{"type":"call","token":"7","tool":"search","state":"started","progress_requested":false},
//!  {"type":"progress","token":"7","tool":"search","progress":3,"total":10,"message":"…"}]
//! ```
//!
//! `timestamp` (RFC 3339) is when it happened at the tap; the daemon's clock when absent.
//! The whole batch is checked before anything is published: one bad item refuses it all.

use std::borrow::Cow;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

use super::hub::EventKind;
use super::progress::{CallEvent, Num, ProgressEvent};
use super::{events, text, AppState};
use crate::time::Time;
use crate::wire::CallState;

/// Items one request may carry.
pub const MAX_BATCH: usize = 10_000;

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum Item {
    Progress {
        token: Value,
        #[serde(default)]
        tool: Option<String>,
        progress: f64,
        #[serde(default)]
        total: Option<f64>,
        #[serde(default)]
        message: Option<String>,
        #[serde(default)]
        timestamp: Option<String>,
    },
    Call {
        token: Value,
        tool: String,
        state: String,
        #[serde(default)]
        timestamp: Option<String>,
        #[serde(default)]
        duration_ms: Option<u64>,
        #[serde(default)]
        error: Option<String>,
        #[serde(default)]
        progress_requested: Option<bool>,
    },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Batch {
    Many(Vec<Item>),
    One(Item),
}

pub async fn publish(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !state.extensions() || id == super::session::ALL || id == super::session::EVERYONE {
        return StatusCode::NOT_FOUND.into_response();
    }
    let session = match events::authorize(&state, &id, &headers) {
        Ok(s) => s,
        Err(response) => return response,
    };
    if !super::mcp::has_json_body(&headers) {
        return text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Expected request with `Content-Type: application/json`",
        );
    }
    let items = match serde_json::from_slice::<Batch>(&body) {
        Ok(Batch::Many(items)) => items,
        Ok(Batch::One(item)) => vec![item],
        Err(_) => {
            // The untagged error says nothing useful; find the first bad item's reason.
            let reason = match serde_json::from_slice::<Vec<Value>>(&body) {
                Ok(values) => values
                    .into_iter()
                    .enumerate()
                    .find_map(|(i, v)| {
                        serde_json::from_value::<Item>(v)
                            .err()
                            .map(|e| format!("item {i}: {e}"))
                    })
                    .unwrap_or_else(|| "not a list of items".into()),
                Err(_) => match serde_json::from_slice::<Item>(&body) {
                    Err(e) => e.to_string(),
                    Ok(_) => "unreadable body".into(),
                },
            };
            return text(
                StatusCode::BAD_REQUEST,
                &format!("bad publish body: {reason}"),
            );
        }
    };
    if items.len() > MAX_BATCH {
        return text(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("at most {MAX_BATCH} items per request"),
        );
    }
    let mut ready = Vec::with_capacity(items.len());
    let mut cut = 0u64;
    for (i, item) in items.iter().enumerate() {
        match encode(item, &mut cut) {
            Ok(event) => ready.push(event),
            Err(reason) => {
                return text(StatusCode::BAD_REQUEST, &format!("item {i}: {reason}"));
            }
        }
    }
    if cut > 0 {
        session
            .cut_fields
            .fetch_add(cut, std::sync::atomic::Ordering::Relaxed);
    }
    let published = ready.len();
    for (kind, json, at) in ready {
        session.publish(kind, json, at);
    }
    Json(serde_json::json!({ "published": published })).into_response()
}

/// The event an item becomes: its kind, its JSON and when it happened.
/// Fields longer than their caps are cut with `…` and counted in `cut`.
fn encode(item: &Item, cut: &mut u64) -> Result<(EventKind, String, Time), String> {
    let now = Time::now();
    fn capped<'a>(text: Option<&'a str>, max: usize, cut: &mut u64) -> Option<Cow<'a, str>> {
        text.map(|t| {
            let kept = crate::sanitize::cut(t, max);
            if matches!(kept, Cow::Owned(_)) {
                *cut += 1;
            }
            kept
        })
    }
    let when = |timestamp: &Option<String>| match timestamp {
        None => Ok(now),
        Some(t) => Time::parse_rfc3339(t).ok_or_else(|| format!("bad timestamp {t:?}")),
    };
    let check_token = |token: &Value| match token {
        Value::String(s) if s.len() <= super::MAX_NAME => Ok(()),
        Value::String(_) => Err(format!("token must be at most {} bytes", super::MAX_NAME)),
        Value::Number(n) if n.is_i64() || n.is_u64() => Ok(()),
        _ => Err("token must be a string or an integer".to_owned()),
    };
    match item {
        Item::Progress {
            token,
            tool,
            progress,
            total,
            message,
            timestamp,
        } => {
            check_token(token)?;
            if !progress.is_finite() || total.is_some_and(|t| !t.is_finite()) {
                return Err("progress and total must be finite numbers".into());
            }
            let at = when(timestamp)?;
            let tool = capped(tool.as_deref(), super::MAX_NAME, cut);
            let message = capped(message.as_deref(), super::MAX_TEXT, cut);
            let event = ProgressEvent {
                token,
                progress: Num(*progress),
                total: total.map(Num),
                message: message.as_deref(),
                tool: tool.as_deref(),
                timestamp: at.to_rfc3339_nanos(),
            };
            let json = serde_json::to_string(&event).map_err(|e| e.to_string())?;
            Ok((EventKind::Progress, json, at))
        }
        Item::Call {
            token,
            tool,
            state,
            timestamp,
            duration_ms,
            error,
            progress_requested,
        } => {
            check_token(token)?;
            let state = CallState::parse(state).ok_or_else(|| {
                format!("state {state:?} is not started, finished, failed or cancelled")
            })?;
            let at = when(timestamp)?;
            let tool = capped(Some(tool), super::MAX_NAME, cut).unwrap_or_default();
            let error = capped(error.as_deref(), super::MAX_TEXT, cut);
            let event = CallEvent {
                token,
                tool: &tool,
                state: state.as_str(),
                timestamp: at.to_rfc3339_nanos(),
                duration_ms: *duration_ms,
                error: error.as_deref(),
                progress_requested: *progress_requested,
            };
            let json = serde_json::to_string(&event).map_err(|e| e.to_string())?;
            Ok((EventKind::Call, json, at))
        }
    }
}
