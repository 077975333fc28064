//! Source events → the model → normalized updates, and the headless formats of those
//! updates: one JSON object per line (`--json`), readable lines (`--plain`) and a final
//! table of calls (`--summary`). The same [`Feed`] drives `tail`, `replay` and the tests.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::model::{Call, Change, Connection, Model, ModelConfig};
use crate::source::{SourceEvent, Status, Timed};
use crate::time::Time;
use crate::wire::{decode_event, Frame, Token};

/// Source events into the model, updates out.
pub struct Feed {
    pub model: Model,
    /// The link dropped since the last connection (for "possible loss").
    dropped: bool,
}

/// One thing a person or a script wants to know, already normalized.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub at: Time,
    pub json: Value,
}

impl Default for Feed {
    fn default() -> Self {
        Feed::new(ModelConfig::default())
    }
}

impl Feed {
    pub fn new(config: ModelConfig) -> Feed {
        Feed {
            model: Model::new(config),
            dropped: false,
        }
    }

    /// Applies one source event to the model only, building no update (the monitor reads
    /// the model itself).
    pub fn apply(&mut self, timed: &Timed) -> Change {
        match &timed.event {
            SourceEvent::KeepAlive => {
                self.model.keepalive(timed.at);
                Change::Ignored
            }
            SourceEvent::Discarded { reason } => {
                self.model.discarded(timed.at, reason);
                Change::Stream
            }
            SourceEvent::Event {
                event_type,
                data,
                id,
            } => self
                .model
                .apply(decode_event(event_type, data, id), timed.at, id),
            SourceEvent::Status(status) => {
                let connection = self.connection_of(status);
                self.model.set_connection(connection, timed.at);
                Change::Stream
            }
        }
    }

    /// What a status means for the model, noting drops for "possible loss".
    fn connection_of(&mut self, status: &Status) -> Connection {
        match status {
            Status::Connecting { .. } => Connection::Connecting,
            Status::Connected { resumed, .. } => {
                self.dropped = false;
                Connection::Connected { resumed: *resumed }
            }
            Status::Disconnected { reason, .. } => {
                self.dropped = true;
                Connection::Disconnected {
                    reason: reason.clone(),
                }
            }
            Status::Stopped(_) => Connection::Idle,
        }
    }

    /// Applies one source event; returns the updates it makes.
    pub fn ingest(&mut self, timed: &Timed) -> Vec<Update> {
        let at = timed.at;
        let mut out = Vec::new();
        self.ingest_with(timed, |model, emitted| {
            let mut json = match emitted {
                Emitted::Json(json) => json,
                Emitted::Call(call) => {
                    json!({ "type": "call", "call": call_json(model, call, at) })
                }
            };
            if let Some(object) = json.as_object_mut() {
                object.insert("at".into(), json!(at.to_rfc3339_nanos()));
            }
            out.push(Update { at, json });
        });
        out
    }

    /// As [`Feed::ingest`], each update written as one JSON line to `out` (exactly the
    /// line `update.json.to_string()` gives), call updates without building a `Value`:
    /// what `tail --json` does at full speed. Returns how many call updates it wrote.
    pub fn ingest_json_lines(&mut self, timed: &Timed, out: &mut Vec<u8>) -> u64 {
        let at = timed.at;
        let mut calls = 0;
        let mut stamp: Option<String> = None;
        self.ingest_with(timed, |model, emitted| {
            let at_text = stamp.get_or_insert_with(|| at.to_rfc3339_nanos());
            match emitted {
                Emitted::Json(mut json) => {
                    if let Some(object) = json.as_object_mut() {
                        object.insert("at".into(), json!(at_text));
                    }
                    let _ = serde_json::to_writer(&mut *out, &json);
                }
                Emitted::Call(call) => {
                    calls += 1;
                    write_call_line(out, model, call, at, at_text);
                }
            }
            out.push(b'\n');
        });
        calls
    }

    /// The one place that turns a source event into updates.
    fn ingest_with(&mut self, timed: &Timed, mut emit: impl FnMut(&Model, Emitted<'_>)) {
        let at = timed.at;
        match &timed.event {
            SourceEvent::KeepAlive => self.model.keepalive(at),
            SourceEvent::Discarded { reason } => {
                self.model.discarded(at, reason);
                emit(
                    &self.model,
                    Emitted::Json(json!({ "type": "discarded", "reason": reason })),
                );
            }
            SourceEvent::Event {
                event_type,
                data,
                id,
            } => {
                let gaps_before = self.model.stream().id_gap_events;
                let frame = decode_event(event_type, data, id);
                let note = match &frame {
                    Frame::Lagged { missed } => Some(json!({ "type": "lagged", "missed": missed })),
                    Frame::Error { error, detail } => {
                        Some(json!({ "type": "error", "error": error, "detail": detail }))
                    }
                    _ => None,
                };
                let change = self.model.apply(frame, at, id);
                let missing = self.model.stream().id_gap_events - gaps_before;
                if missing > 0 {
                    emit(
                        &self.model,
                        Emitted::Json(json!({ "type": "gap", "missing": missing, "at_id": id })),
                    );
                }
                if let Some(note) = note {
                    emit(&self.model, Emitted::Json(note));
                }
                if let Change::NewCall(call) | Change::Updated(call) | Change::Finished(call) =
                    change
                {
                    if let Some(call) = self.model.call(call) {
                        emit(&self.model, Emitted::Call(call));
                    }
                }
            }
            SourceEvent::Status(status) => {
                let possible_loss = self.dropped;
                let json = match status {
                    Status::Connecting { attempt } => {
                        json!({ "type": "status", "state": "connecting", "attempt": attempt })
                    }
                    Status::Connected {
                        transport,
                        session_id,
                        resumed,
                    } => json!({
                        "type": "status",
                        "state": "connected",
                        "transport": transport.as_str(),
                        "session_id": session_id,
                        "resumed": resumed,
                        "possible_loss": possible_loss && !resumed,
                    }),
                    Status::Disconnected { reason, retry_in } => json!({
                        "type": "status",
                        "state": "disconnected",
                        "reason": reason,
                        "retry_in_s": round3(retry_in.as_secs_f64()),
                    }),
                    Status::Stopped(stop) => {
                        json!({ "type": "status", "state": "stopped", "reason": stop.message() })
                    }
                };
                let connection = self.connection_of(status);
                self.model.set_connection(connection, at);
                emit(&self.model, Emitted::Json(json));
            }
        }
    }
}

/// An update on its way out: a call (written from the model) or anything else.
enum Emitted<'a> {
    Json(Value),
    Call(&'a Call),
}

/// `{"at":…,"call":{…},"type":"call"}`: the keys in the order serde_json's map keeps them
/// (sorted), each value written by serde_json itself, so the line is byte for byte what
/// `call_json` gives.
fn write_call_line(out: &mut Vec<u8>, model: &Model, call: &Call, now: Time, at: &str) {
    fn put<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, key: &str, value: &T) {
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
        let _ = serde_json::to_writer(&mut *out, value);
        out.push(b',');
    }
    out.extend_from_slice(b"{");
    put(out, "at", at);
    out.extend_from_slice(b"\"call\":{");
    put(
        out,
        "elapsed_s",
        &round3(call.elapsed(now).as_seconds_f64()),
    );
    put(out, "error", &call.error);
    put(
        out,
        "eta_s",
        &call.eta().map(|d| round3(d.as_seconds_f64())),
    );
    put(out, "id", &call.id.0);
    put(out, "message", &call.message());
    put(
        out,
        "percent",
        &call.percent().map(|p| (p * 10.0).round() / 10.0),
    );
    put(out, "progress", &call.progress);
    if call.progress_requested == Some(false) {
        put(out, "progress_requested", &false);
    }
    put(out, "rate", &call.rate.map(round3));
    if let Some(label) = &call.session_label {
        put(out, "session", label);
    }
    put(out, "state", model.display_state(call, now).as_str());
    match call.key.token.as_ref() {
        Some(Token::Int(n)) => match i64::try_from(*n) {
            Ok(n) => put(out, "token", &n),
            Err(_) => put(out, "token", &n.to_string()),
        },
        Some(Token::Str(s)) => put(out, "token", s),
        None => put(out, "token", &()),
    }
    put(out, "tool", &call.key.tool);
    put(out, "total", &call.total);
    out.pop(); // the last comma
    out.extend_from_slice(b"},\"type\":\"call\"}");
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn token_json(token: Option<&Token>) -> Value {
    match token {
        Some(Token::Int(n)) => {
            i64::try_from(*n).map_or_else(|_| json!(n.to_string()), |n| json!(n))
        }
        Some(Token::Str(s)) => json!(s),
        None => Value::Null,
    }
}

/// A call as `--json` shows it.
pub fn call_json(model: &Model, call: &Call, now: Time) -> Value {
    let mut value = json!({
        "id": call.id.0,
        "tool": call.key.tool,
        "token": token_json(call.key.token.as_ref()),
        "state": model.display_state(call, now).as_str(),
        "progress": call.progress,
        "total": call.total,
        "percent": call.percent().map(|p| (p * 10.0).round() / 10.0),
        "message": call.message(),
        "elapsed_s": round3(call.elapsed(now).as_seconds_f64()),
        "rate": call.rate.map(round3),
        "eta_s": call.eta().map(|d| round3(d.as_seconds_f64())),
        "error": call.error,
    });
    // Only on an all-sessions stream, so a one-session stream's output is unchanged.
    if let (Some(label), Some(object)) = (&call.session_label, value.as_object_mut()) {
        object.insert("session".into(), label.as_str().into());
    }
    if call.progress_requested == Some(false) {
        if let Some(object) = value.as_object_mut() {
            object.insert("progress_requested".into(), false.into());
        }
    }
    value
}

/// One readable line for an update (`--plain`).
pub fn plain_line(update: &Update) -> String {
    let v = &update.json;
    let time = update.at.to_datetime().format("%H:%M:%S%.3f");
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("");
    match s("type") {
        "call" => {
            let c = &v["call"];
            let text = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("");
            let mut line = format!("{time}  ");
            if !text("session").is_empty() {
                let _ = write!(line, "[{}] ", text("session"));
            }
            let _ = write!(
                line,
                "{:<18} ",
                format!("{} {}", or_dash(text("tool")), token_text(&c["token"]))
            );
            let _ = write!(line, "{:<9}", text("state"));
            match (c["progress"].as_f64(), c["total"].as_f64()) {
                (Some(p), Some(t)) => {
                    let _ = write!(line, " {}/{}", num(p), num(t));
                }
                (Some(p), None) => {
                    let _ = write!(line, " {}", num(p));
                }
                _ => {}
            }
            if let Some(pct) = c["percent"].as_f64() {
                // Floor, so a running call never reads 100 %.
                let _ = write!(line, " {}%", pct.floor());
            }
            let _ = write!(line, " {}", seconds(c["elapsed_s"].as_f64().unwrap_or(0.0)));
            if let Some(eta) = c["eta_s"].as_f64() {
                let _ = write!(line, " eta {}", seconds(eta));
            }
            if !text("message").is_empty() {
                let _ = write!(line, "  {}", text("message"));
            }
            if !text("error").is_empty() {
                let _ = write!(line, "  error: {}", text("error"));
            }
            line
        }
        "status" => match s("state") {
            "connecting" => format!("{time}  -- connecting (attempt {})", v["attempt"]),
            "connected" => {
                let mut line = format!(
                    "{time}  -- connected over {} to session {}",
                    s("transport"),
                    s("session_id")
                );
                if v["resumed"] == true {
                    line.push_str(", resumed");
                }
                if v["possible_loss"] == true {
                    line.push_str(" — events sent while disconnected may be lost (no resume)");
                }
                line
            }
            "disconnected" => format!(
                "{time}  -- disconnected: {}; retrying in {}",
                s("reason"),
                seconds(v["retry_in_s"].as_f64().unwrap_or(0.0))
            ),
            _ => format!("{time}  -- stopped: {}", s("reason")),
        },
        "lagged" => format!(
            "{time}  !! the server dropped {} events for this subscriber",
            v["missed"]
        ),
        "gap" => format!(
            "{time}  !! {} events missing before id {}",
            v["missing"],
            s("at_id")
        ),
        "error" => format!("{time}  !! server error: {} {}", s("error"), s("detail")),
        _ => format!("{time}  {v}"),
    }
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

fn token_text(token: &Value) -> String {
    match token {
        Value::Null => String::new(),
        Value::String(s) => format!("[{s}]"),
        other => format!("[{other}]"),
    }
}

fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.2}")
    }
}

fn seconds(s: f64) -> String {
    if s < 60.0 {
        format!("{s:.1}s")
    } else {
        format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    }
}

/// The final table of calls (`--summary`), then the stream's findings.
pub fn summary(model: &Model, now: Time) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<22} {:<14} {:<9} {:>14} {:>9}  message",
        "tool", "token", "state", "progress", "elapsed"
    );
    for call in model.calls() {
        let state = model.display_state(call, now).as_str();
        let progress = match (call.progress, call.total) {
            (Some(p), Some(t)) => format!("{}/{}", num(p), num(t)),
            (Some(p), None) => num(p),
            _ => "-".into(),
        };
        let token = token_text(&token_json(call.key.token.as_ref()));
        let message = call.error.as_deref().or(call.message()).unwrap_or("");
        let _ = writeln!(
            out,
            "{:<22} {:<14} {:<9} {:>14} {:>9}  {}",
            call.key.tool.as_deref().unwrap_or("-"),
            token,
            state,
            progress,
            seconds(call.elapsed(now).as_seconds_f64()),
            message
        );
    }
    let stream = model.stream();
    let _ = writeln!(
        out,
        "{} calls, {} events, {} lost (server), {} missing (id gaps)",
        model.len(),
        stream.events,
        stream.server_missed,
        stream.id_gap_events
    );
    for finding in model.findings(now) {
        let _ = writeln!(out, "warning: {}", finding.message);
    }
    out
}
