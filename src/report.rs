//! Source events → the model → normalized updates, and the headless formats of those
//! updates: one JSON object per line (`--json`), readable lines (`--plain`) and a final
//! table of calls (`--summary`). The same [`Feed`] drives `tail`, `replay` and the tests.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::event::Timed;
use crate::feed::Emitted;
pub use crate::feed::{call_json, Feed, Update};
use crate::feed::{round3, token_json};
use crate::model::{Call, Model};
use crate::sanitize;
use crate::time::Time;
use crate::wire::Token;

impl Feed {
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
                    let _ = sanitize::write_json(&mut *out, &json);
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
}

/// `{"at":…,"call":{…},"type":"call"}`: the keys in the order serde_json's map keeps them
/// (sorted), each value written by serde_json itself, so the line is byte for byte what
/// `call_json` gives.
fn write_call_line(out: &mut Vec<u8>, model: &Model, call: &Call, now: Time, at: &str) {
    fn put<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, key: &str, value: &T) {
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
        let _ = sanitize::write_json(&mut *out, value);
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

/// One readable line for an update (`--plain`), safe for a terminal: every unsafe
/// character from outside is shown as an escape, so no value can start a second line.
pub fn plain_line(update: &Update) -> String {
    let line = plain_line_raw(update);
    match sanitize::terminal(&line) {
        std::borrow::Cow::Borrowed(_) => line,
        std::borrow::Cow::Owned(safe) => safe,
    }
}

fn plain_line_raw(update: &Update) -> String {
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
            "waiting" => format!("{time}  -- {}", s("reason")),
            "daemon-changed" => {
                let lost = v["lost_calls"].as_u64().unwrap_or(0);
                format!(
                    "{time}  -- another daemon run at {} ({}): {lost} running call{} lost",
                    s("address"),
                    s("instance"),
                    if lost == 1 { "" } else { "s" }
                )
            }
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
        _ => format!("{time}  {}", sanitize::json_string(v)),
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
    let ms = if s.is_finite() {
        (s * 1000.0).clamp(0.0, 1e15) as i64
    } else {
        0
    };
    crate::model::compact(ms)
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
            sanitize::terminal(call.key.tool.as_deref().unwrap_or("-")),
            sanitize::terminal(&token),
            state,
            progress,
            seconds(call.elapsed(now).as_seconds_f64()),
            sanitize::terminal(message)
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
        let _ = writeln!(out, "warning: {}", sanitize::terminal(&finding.message));
    }
    out
}
