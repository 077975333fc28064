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
use super::{events, text, AppState};
use crate::time::Time;
use crate::wire::schema::{check_token, Published, MAX_NAME, MAX_TEXT};
use crate::wire::Token;

/// Items one request may carry.
pub const MAX_BATCH: usize = 10_000;

#[derive(Deserialize)]
#[serde(untagged)]
enum Batch<'a> {
    #[serde(borrow)]
    Many(Vec<Published<'a>>),
    One(Box<Published<'a>>),
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
    let parsed = match parse_batch(&body) {
        Some(items) => Ok(items),
        None => serde_json::from_slice::<Batch>(&body).map(|batch| match batch {
            Batch::Many(items) => items,
            Batch::One(item) => vec![*item],
        }),
    };
    let items = match parsed {
        Ok(items) => items,
        Err(_) => {
            // The untagged error says nothing useful; find the first bad item's reason.
            let reason = match serde_json::from_slice::<Vec<Value>>(&body) {
                Ok(values) => values
                    .into_iter()
                    .enumerate()
                    .find_map(|(i, v)| {
                        serde_json::from_str::<Published<'_>>(&v.to_string())
                            .err()
                            .map(|e| format!("item {i}: {e}"))
                    })
                    .unwrap_or_else(|| "not a list of items".into()),
                Err(_) => match serde_json::from_slice::<Published<'_>>(&body) {
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
    // What the OTLP exporter takes, typed (only when the daemon exports this session).
    let mut seen = Vec::new();
    if session.exported() {
        let now = Time::now();
        for item in &items {
            match item {
                Published::Call(c) => seen.push(super::export::Observed::call(c, now)),
                Published::Progress(p) => seen.push(super::export::Observed::progress(p, now)),
                Published::Server(_) => {}
            }
        }
    }
    for (i, item) in items.into_iter().enumerate() {
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
    let items: Vec<(EventKind, &str, Time)> = ready
        .iter()
        .map(|(kind, json, at)| (*kind, json.as_str(), *at))
        .collect();
    session.publish_batch(&items);
    session.export(seen);
    Json(serde_json::json!({ "published": published })).into_response()
}

/// The items of a body, read without serde's buffering of untagged and internally tagged
/// enums (which copies the whole body into a tree first): each item is found as raw text,
/// its `"type"` read, and the item read straight into its own type. `None` when that does
/// not work out; the general path then decides, and says what is wrong.
fn parse_batch(body: &[u8]) -> Option<Vec<Published<'_>>> {
    use serde_json::value::RawValue;
    #[derive(Deserialize)]
    struct Tag<'a> {
        #[serde(borrow, rename = "type")]
        kind: Cow<'a, str>,
    }
    /// The type of an item that starts with it (as taps write them) and names it once.
    fn leading_type(text: &str) -> Option<&str> {
        let rest = text.strip_prefix("{\"type\":\"")?;
        let (kind, after) = rest.split_once('"')?;
        let once = after.starts_with([',', '}'])
            && memchr::memmem::find(after.as_bytes(), b"\"type\"").is_none();
        once.then_some(kind)
    }
    fn item(raw: &RawValue) -> Option<Published<'_>> {
        let text = raw.get();
        let tag: Tag<'_> = match leading_type(text) {
            Some(kind) => Tag {
                kind: Cow::Borrowed(kind),
            },
            None => serde_json::from_str(text).ok()?,
        };
        Some(match tag.kind.as_ref() {
            "progress" => Published::Progress(serde_json::from_str(text).ok()?),
            "call" => Published::Call(serde_json::from_str(text).ok()?),
            "server" => Published::Server(serde_json::from_str(text).ok()?),
            _ => return None,
        })
    }
    let text = std::str::from_utf8(body).ok()?;
    match text.trim_start().as_bytes().first()? {
        b'[' => {
            let raws: Vec<&RawValue> = serde_json::from_str(text).ok()?;
            if raws.len() > MAX_BATCH {
                return None;
            }
            raws.into_iter().map(item).collect()
        }
        b'{' => Some(vec![item(serde_json::from_str(text).ok()?)?]),
        _ => None,
    }
}

/// The event an item becomes: its kind, its JSON and when it happened.
/// Fields longer than their caps are cut with `…` and counted in `cut`.
pub(super) fn encode(
    item: Published<'_>,
    cut: &mut u64,
) -> Result<(EventKind, String, Time), String> {
    fn capped<'a>(text: Option<Cow<'a, str>>, max: usize, cut: &mut u64) -> Option<Cow<'a, str>> {
        text.map(|t| match crate::sanitize::cut(&t, max) {
            Cow::Borrowed(_) => t,
            Cow::Owned(kept) => {
                *cut += 1;
                Cow::Owned(kept)
            }
        })
    }
    match item {
        Published::Progress(mut event) => {
            check_token(&event.token)?;
            if !event.progress.0.is_finite() || event.total.is_some_and(|t| !t.0.is_finite()) {
                return Err("progress and total must be finite numbers".into());
            }
            let at = *event.timestamp.get_or_insert_with(Time::now);
            event.tool = capped(event.tool, MAX_NAME, cut);
            event.message = capped(event.message, MAX_TEXT, cut);
            let json = serde_json::to_string(&event).map_err(|e| e.to_string())?;
            Ok((EventKind::Progress, json, at))
        }
        Published::Call(mut event) => {
            check_token(&event.token)?;
            if let Some(shown) = &event.extras.progress_token {
                if matches!(shown, Token::Str(s) if s.len() > MAX_NAME) {
                    return Err(format!("progress_token must be at most {MAX_NAME} bytes"));
                }
            }
            let at = *event.timestamp.get_or_insert_with(Time::now);
            event.tool = capped(Some(event.tool), MAX_NAME, cut).unwrap_or_default();
            event.error = capped(event.error, MAX_TEXT, cut);
            for detail in [&mut event.arguments, &mut event.result] {
                if let Some(value) = detail.take() {
                    let (kept, was_cut) = crate::wire::schema::bounded_detail(value);
                    *cut += u64::from(was_cut);
                    *detail = Some(kept);
                }
            }
            let json = serde_json::to_string(&event).map_err(|e| e.to_string())?;
            Ok((EventKind::Call, json, at))
        }
        Published::Server(mut event) => {
            let at = *event.timestamp.get_or_insert_with(Time::now);
            *cut += event.bound();
            let json = serde_json::to_string(&event).map_err(|e| e.to_string())?;
            Ok((EventKind::Server, json, at))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast reading of a body gives what serde's general path gives, or leaves the
    /// body to it.
    #[test]
    fn bodies_read_fast_read_as_the_general_path_reads_them() {
        let bodies = [
            r#"[{"type":"progress","token":"7","progress":3,"total":10,"message":"m","tool":"t"}]"#,
            r#"{"type":"call","token":7,"tool":"search","state":"started","progress_requested":false}"#,
            r#" [ {"progress":1,"type":"progress","token":1,"extra":{"a":[1]}} ,
                 {"type":"server","name":"s","tools":[{"name":"x"}]} ] "#,
            r#"[{"type":"call","tool":"t","token":"a\"b","state":"finished","arguments":{"q":"é"}}]"#,
            r#"[]"#,
            r#"[{"type":"nope"}]"#,
            r#"[{"type":"progress","type":"call","token":1,"progress":1}]"#,
            r#"[{"token":1,"progress":1}]"#,
            r#"{"type":"progress","token":1,"progress":"x"}"#,
            r#"[{"type":"call","token":1,"tool":"t","state":"started","arguments":{"type":"x"}}]"#,
            r#"[{"type":"call","token":1,"tool":"t","state":"started","type":"progress"}]"#,
            r#"[{"type":"progress" ,"token":1,"progress":1}]"#,
            r#"[{"type":"progress\u0022,"token":1,"progress":1}]"#,
            r#"[1]"#,
            r#"nonsense"#,
        ];
        for body in bodies {
            let general = serde_json::from_slice::<Batch>(body.as_bytes())
                .ok()
                .map(|b| match b {
                    Batch::Many(items) => items,
                    Batch::One(item) => vec![*item],
                });
            // `None` leaves the body to the general path.
            if let Some(fast) = parse_batch(body.as_bytes()) {
                assert_eq!(Some(fast), general, "{body}");
            }
        }
        assert!(parse_batch(bodies[0].as_bytes()).is_some());
        assert!(parse_batch(bodies[2].as_bytes()).is_some());
    }
}
