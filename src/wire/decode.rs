//! SSE event / WebSocket text → [`Frame`].
//!
//! One pass of serde over a borrowed struct holding the union of every known field;
//! fields whose type varies between shapes (`message`, `error`, `id`, `params`, …) are kept
//! as raw JSON and decoded only when the shape needs them. Absent and `null` are the same.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::frame::{CallFrame, CallState, Frame, ProgressFrame, ResponseFrame, Token, Unknown};

/// Decodes one SSE event. `last_event_id` is the id in force (for priming events).
pub fn decode_event(event_type: &str, data: &str, last_event_id: &str) -> Frame {
    if data.trim().is_empty() {
        return if last_event_id.is_empty() {
            Frame::Unknown(Unknown::Empty)
        } else {
            Frame::Priming
        };
    }
    decode_payload(event_type, data, 0)
}

/// Decodes one WebSocket text message (the gateway forwards each SSE data payload as is).
pub fn decode_text(text: &str) -> Frame {
    if text.trim().is_empty() {
        return Frame::Unknown(Unknown::Empty);
    }
    decode_payload("message", text, 0)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Raw<'a> {
    #[serde(borrow)]
    token: Option<&'a RawValue>,
    progress: Option<f64>,
    total: Option<f64>,
    #[serde(borrow)]
    message: Option<&'a RawValue>,
    #[serde(borrow)]
    tool: Option<Cow<'a, str>>,
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(borrow)]
    jsonrpc: Option<Cow<'a, str>>,
    #[serde(borrow)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow)]
    params: Option<&'a RawValue>,
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    result: Option<&'a RawValue>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
    #[serde(borrow)]
    state: Option<Cow<'a, str>>,
    #[serde(borrow)]
    detail: Option<Cow<'a, str>>,
    missed: Option<u64>,
    #[serde(borrow)]
    session_id: Option<Cow<'a, str>>,
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
    #[serde(borrow)]
    payload: Option<&'a RawValue>,
    duration_ms: Option<f64>,
}

/// Envelopes nest at most this deep (`{"type":…,"data":{…}}` around a message).
const MAX_DEPTH: u8 = 2;

fn decode_payload(event_type: &str, json: &str, depth: u8) -> Frame {
    // Only objects are frames (serde would otherwise map an array onto the fields by
    // position).
    if !json.trim_start().starts_with('{') {
        return match serde_json::from_str::<serde::de::IgnoredAny>(json) {
            Ok(_) => Frame::Unknown(Unknown::Shape),
            Err(_) => Frame::Unknown(Unknown::NotJson),
        };
    }
    let raw: Raw<'_> = match serde_json::from_str(json) {
        Ok(raw) => raw,
        Err(e) if e.is_syntax() || e.is_eof() => return Frame::Unknown(Unknown::NotJson),
        Err(_) => return Frame::Unknown(Unknown::Shape),
    };
    classify(event_type, raw, depth)
}

fn classify(event_type: &str, raw: Raw<'_>, depth: u8) -> Frame {
    match event_type {
        "lagged" => {
            return match raw.missed {
                Some(missed) => Frame::Lagged { missed },
                None => Frame::Unknown(Unknown::Shape),
            }
        }
        "connected" => {
            return Frame::Connected {
                session_id: raw.session_id.map(Cow::into_owned),
            }
        }
        _ => {}
    }
    if let Some(method) = raw.method.as_deref() {
        return rpc_method(method, raw.params);
    }
    if let Some(state) = raw.state.as_deref() {
        if event_type == "call" || raw.kind.is_none() {
            return match CallState::parse(state) {
                Some(state) => Frame::Call(CallFrame {
                    token: raw.token.and_then(token),
                    tool: raw.tool.map(Cow::into_owned),
                    state,
                    timestamp: raw.timestamp.as_deref().and_then(parse_timestamp),
                    error: raw
                        .error
                        .and_then(text)
                        .or_else(|| raw.message.and_then(text)),
                    duration_ms: raw.duration_ms,
                }),
                None => Frame::Unknown(Unknown::Shape),
            };
        }
    }
    if raw.jsonrpc.is_some() && (raw.result.is_some() || raw.error.is_some()) {
        return Frame::Response(ResponseFrame {
            id: raw.id.and_then(token),
            error: raw
                .error
                .and_then(rpc_error_message)
                .or_else(|| raw.result.and_then(tool_error_text)),
        });
    }
    if let Some(progress) = raw.progress {
        return Frame::Progress(ProgressFrame {
            token: raw.token.and_then(token),
            progress,
            total: raw.total,
            message: raw.message.and_then(text),
            tool: raw.tool.map(Cow::into_owned),
            timestamp: raw.timestamp.as_deref().and_then(parse_timestamp),
        });
    }
    if let Some(error) = raw.error.and_then(text) {
        return Frame::Error {
            error,
            detail: raw.detail.map(Cow::into_owned),
        };
    }
    if raw.missed.is_some() && raw.kind.as_deref() == Some("lagged") {
        return Frame::Lagged {
            missed: raw.missed.unwrap_or(0),
        };
    }
    // A tagged envelope: the message sits in `data`, `payload` or `message`.
    if raw.kind.is_some() && depth < MAX_DEPTH {
        let inner = [raw.data, raw.payload, raw.message]
            .into_iter()
            .flatten()
            .find(|v| v.get().trim_start().starts_with('{'));
        if let Some(inner) = inner {
            let kind = raw.kind.as_deref().unwrap_or("message");
            let inner_type = if kind == "lagged" || kind == "call" {
                kind
            } else {
                "message"
            };
            return decode_payload(inner_type, inner.get(), depth + 1);
        }
    }
    Frame::Unknown(Unknown::Shape)
}

#[derive(Deserialize)]
struct ProgressParams<'a> {
    #[serde(rename = "progressToken", borrow)]
    progress_token: Option<&'a RawValue>,
    progress: f64,
    total: Option<f64>,
    #[serde(borrow)]
    message: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct CancelledParams<'a> {
    #[serde(rename = "requestId", borrow)]
    request_id: Option<&'a RawValue>,
    #[serde(borrow)]
    reason: Option<Cow<'a, str>>,
}

fn rpc_method(method: &str, params: Option<&RawValue>) -> Frame {
    let params = params.map(RawValue::get).unwrap_or("{}");
    match method {
        "notifications/progress" => match serde_json::from_str::<ProgressParams<'_>>(params) {
            Ok(p) => Frame::Progress(ProgressFrame {
                token: p.progress_token.and_then(token),
                progress: p.progress,
                total: p.total,
                message: p.message.map(Cow::into_owned),
                tool: None,
                timestamp: None,
            }),
            Err(_) => Frame::Unknown(Unknown::Shape),
        },
        "notifications/cancelled" => match serde_json::from_str::<CancelledParams<'_>>(params) {
            Ok(p) => Frame::Cancelled {
                request_id: p.request_id.and_then(token),
                reason: p.reason.map(Cow::into_owned),
            },
            Err(_) => Frame::Unknown(Unknown::Shape),
        },
        other => Frame::Unknown(Unknown::OtherMethod(other.to_owned())),
    }
}

/// A token or request id: integer or string; `null` is none.
fn token(raw: &RawValue) -> Option<Token> {
    let text = raw.get().trim();
    if text.starts_with('"') {
        return serde_json::from_str::<String>(text).ok().map(Token::Str);
    }
    if text == "null" {
        return None;
    }
    match text.parse::<i128>() {
        Ok(n) => Some(Token::Int(n)),
        Err(_) => Some(Token::Str(text.to_owned())),
    }
}

/// A JSON string's text; anything else is none.
fn text(raw: &RawValue) -> Option<String> {
    serde_json::from_str::<String>(raw.get()).ok()
}

fn rpc_error_message(raw: &RawValue) -> Option<String> {
    #[derive(Deserialize)]
    struct RpcError {
        code: Option<i64>,
        message: Option<String>,
    }
    if let Some(s) = text(raw) {
        return Some(s);
    }
    let e: RpcError = serde_json::from_str(raw.get()).ok()?;
    Some(match (e.message, e.code) {
        (Some(m), _) => m,
        (None, Some(code)) => format!("error {code}"),
        (None, None) => "error".to_owned(),
    })
}

/// A `tools/call` result with `isError: true`: its first text content is the error.
fn tool_error_text(raw: &RawValue) -> Option<String> {
    #[derive(Deserialize)]
    struct Content {
        text: Option<String>,
    }
    #[derive(Deserialize)]
    struct ToolResult {
        #[serde(rename = "isError", default)]
        is_error: bool,
        #[serde(default)]
        content: Vec<Content>,
    }
    let result: ToolResult = serde_json::from_str(raw.get()).ok()?;
    if !result.is_error {
        return None;
    }
    Some(
        result
            .content
            .into_iter()
            .find_map(|c| c.text)
            .unwrap_or_else(|| "tool reported an error".to_owned()),
    )
}

/// RFC 3339 with 0 to 9 fraction digits, any offset, as UTC.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
