//! SSE event / WebSocket text → [`Frame`].
//!
//! One pass of serde over a borrowed struct holding the union of every known field;
//! fields whose type varies between shapes (`message`, `error`, `id`, `params`, …) are kept
//! as raw JSON and decoded only when the shape needs them. Absent and `null` are the same.

use std::borrow::Cow;

use serde_json::value::RawValue;

use super::fields::{CallExtras, Fields, Raw};
use super::flat;
use super::frame::{CallFrame, Frame, ProgressFrame, ResponseFrame, Unknown};
use super::schema;
use super::words::{CallState, Token};
use crate::time::Time;

/// Decodes one SSE event. `last_event_id` is the id in force (for priming events).
pub fn decode_event<'a>(event_type: &str, data: &'a str, last_event_id: &str) -> Frame<'a> {
    if is_blank(data) {
        return if last_event_id.is_empty() {
            Frame::Unknown(Unknown::Empty)
        } else {
            Frame::Priming
        };
    }
    decode_payload(event_type, data, 0)
}

/// Decodes one WebSocket text message (the gateway forwards each SSE data payload as is).
pub fn decode_text(text: &str) -> Frame<'_> {
    if is_blank(text) {
        return Frame::Unknown(Unknown::Empty);
    }
    decode_payload("message", text, 0)
}

/// Empty or only whitespace. A payload that starts with a visible ASCII character (every
/// JSON frame does) is answered from its first byte, without decoding the text.
fn is_blank(s: &str) -> bool {
    match s.as_bytes().first() {
        Some(b) if b.is_ascii_graphic() => false,
        _ => s.trim().is_empty(),
    }
}

/// Envelopes nest at most this deep (`{"type":…,"data":{…}}` around a message).
const MAX_DEPTH: u8 = 2;

fn decode_payload<'a>(event_type: &str, json: &'a str, depth: u8) -> Frame<'a> {
    if event_type == "server" {
        return server_frame(json);
    }
    let mut fields = Fields::default();
    if flat::scan(json, &mut fields) {
        classify(event_type, &mut fields, depth)
    } else {
        decode_general(event_type, json, depth)
    }
}

/// `event: server`: an object of [`super::schema::ServerEvent`]'s fields, held to its caps.
fn server_frame(json: &str) -> Frame<'static> {
    if !json.trim_start().starts_with('{') {
        return Frame::Unknown(Unknown::Shape);
    }
    match serde_json::from_str::<super::frame::ServerFrame>(json) {
        Ok(mut frame) => {
            frame.server.bound();
            for s in [&mut frame.session, &mut frame.session_label]
                .into_iter()
                .flatten()
            {
                if let Cow::Owned(kept) = crate::sanitize::cut(s, schema::MAX_NAME) {
                    *s = kept;
                }
            }
            Frame::Server(Box::new(frame))
        }
        Err(e) if e.is_syntax() || e.is_eof() => Frame::Unknown(Unknown::NotJson),
        Err(_) => Frame::Unknown(Unknown::Shape),
    }
}

/// The general path: serde over the union of every field.
fn decode_general<'a>(event_type: &str, json: &'a str, depth: u8) -> Frame<'a> {
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
    classify(event_type, &mut raw.into(), depth)
}

/// Decodes with the general path only: the reference the fast path is tested against.
#[doc(hidden)]
pub fn decode_event_general<'a>(event_type: &str, data: &'a str, last_event_id: &str) -> Frame<'a> {
    if is_blank(data) {
        return decode_event(event_type, data, last_event_id);
    }
    decode_general(event_type, data, 0)
}

/// Turns the fields into a frame (taking what it keeps: the fields are not used again).
fn classify<'a>(event_type: &str, raw: &mut Fields<'a>, depth: u8) -> Frame<'a> {
    match event_type {
        "lagged" => {
            return match raw.missed {
                Some(missed) => Frame::Lagged { missed },
                None => Frame::Unknown(Unknown::Shape),
            }
        }
        "connected" => {
            return Frame::Connected {
                session_id: raw.session_id.take().map(Cow::into_owned),
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
                    tool: raw.tool.take(),
                    state,
                    timestamp: raw.timestamp.as_deref().and_then(parse_timestamp),
                    // A call that fails says why in `error` (or, from older servers, in
                    // `message`); one that goes on or finishes well may say what it does
                    // in `message`.
                    error: if state.is_failure() {
                        raw.error
                            .and_then(text)
                            .or_else(|| raw.message.and_then(text))
                    } else {
                        raw.error.and_then(text)
                    },
                    message: if state.is_failure() {
                        None
                    } else {
                        raw.message.and_then(text)
                    },
                    duration_ms: raw.duration_ms,
                    arguments: raw.arguments.filter(|a| *a != "null").map(str::to_owned),
                    result: raw
                        .result
                        .filter(|r| r.trim_start().starts_with('{'))
                        .map(str::to_owned),
                    extras: CallExtras::take(raw),
                    session: raw.session.take(),
                    session_label: raw.session_label.take(),
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
                .map(schema::rpc_error_text)
                .or_else(|| raw.result.and_then(schema::tool_error_text)),
        });
    }
    if let Some(progress) = raw.progress {
        return Frame::Progress(ProgressFrame {
            token: raw.token.and_then(token),
            progress,
            total: raw.total,
            message: raw.message.and_then(|m| {
                if raw.unescaped {
                    m.strip_prefix('"')
                        .and_then(|m| m.strip_suffix('"'))
                        .map(Cow::Borrowed)
                } else {
                    text_cow(m)
                }
            }),
            tool: raw.tool.take(),
            timestamp: raw.timestamp.as_deref().and_then(parse_timestamp),
            session: raw.session.take(),
            session_label: raw.session_label.take(),
        });
    }
    if let Some(error) = raw.error.and_then(text) {
        return Frame::Error {
            error,
            detail: raw.detail.take().map(Cow::into_owned),
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
            .find(|v| v.trim_start().starts_with('{'));
        if let Some(inner) = inner {
            let kind = raw.kind.as_deref().unwrap_or("message");
            let inner_type = if kind == "lagged" || kind == "call" || kind == "server" {
                kind
            } else {
                "message"
            };
            return decode_payload(inner_type, inner, depth + 1);
        }
    }
    Frame::Unknown(Unknown::Shape)
}

fn rpc_method<'a>(method: &str, params: Option<&'a str>) -> Frame<'a> {
    let params = params.unwrap_or("{}");
    match method {
        "notifications/progress" => {
            match serde_json::from_str::<schema::ProgressParams<'_>>(params) {
                Ok(p) => Frame::Progress(ProgressFrame {
                    token: p.progress_token.map(RawValue::get).and_then(token),
                    progress: p.progress,
                    total: p.total,
                    message: p.message,
                    tool: None,
                    timestamp: None,
                    session: None,
                    session_label: None,
                }),
                Err(_) => Frame::Unknown(Unknown::Shape),
            }
        }
        "notifications/cancelled" => {
            match serde_json::from_str::<schema::CancelledParams<'_>>(params) {
                Ok(p) => Frame::Cancelled {
                    request_id: p.request_id.map(RawValue::get).and_then(token),
                    reason: p.reason.map(Cow::into_owned),
                },
                Err(_) => Frame::Unknown(Unknown::Shape),
            }
        }
        other => Frame::Unknown(Unknown::OtherMethod(other.to_owned())),
    }
}

/// A token or request id: integer or string; `null` is none.
fn token(raw: &str) -> Option<Token> {
    Token::from_json(raw)
}

/// A JSON string's text, borrowed when it has no escapes; anything else is none.
fn text_cow(json: &str) -> Option<Cow<'_, str>> {
    if let Some(inner) = json.strip_prefix('"').and_then(|j| j.strip_suffix('"')) {
        if !inner.contains('\\') {
            return Some(Cow::Borrowed(inner));
        }
    }
    serde_json::from_str::<String>(json).ok().map(Cow::Owned)
}

/// A JSON string's text; anything else is none.
fn text(json: &str) -> Option<String> {
    // Most messages have no escapes: take the text between the quotes as it is.
    if let Some(inner) = json.strip_prefix('"').and_then(|j| j.strip_suffix('"')) {
        if !inner.contains('\\') {
            return Some(inner.to_owned());
        }
    }
    serde_json::from_str::<String>(json).ok()
}

/// RFC 3339 with 0 to 9 fraction digits, any offset (see [`Time::parse_rfc3339`]).
pub fn parse_timestamp(s: &str) -> Option<Time> {
    Time::parse_rfc3339(s)
}
