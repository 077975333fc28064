//! Source events → the model → normalized updates, and the headless formats of those
//! updates: one JSON object per line (`--json`), readable lines (`--plain`) and a final
//! table of calls (`--summary`). The same [`Feed`] drives `tail`, `replay` and the tests.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::event::Timed;
pub use crate::feed::{call_json, Feed, Update};
use crate::feed::{round3, token_json};
use crate::feed::{Emitted, LinkSaid, Said};
use crate::model::{Call, Model};
use crate::sanitize;
use crate::time::Time;
use crate::wire::Token;

impl Feed {
    /// As [`Feed::ingest`], each update written as one JSON line to `out` (exactly the
    /// line `update.json.to_string()` gives), call updates without building a `Value`:
    /// what `tail --json` does at full speed. Returns how many call updates it wrote.
    pub fn ingest_json_lines(&mut self, timed: &Timed, out: &mut Vec<u8>) -> u64 {
        self.ingest_json_lines_decoded(timed, None, out)
    }

    /// As [`Feed::ingest_json_lines`], with the event's frame decoded already (see
    /// [`crate::feed::Decoded`]); `None` decodes it here.
    pub fn ingest_json_lines_decoded(
        &mut self,
        timed: &Timed,
        frame: Option<crate::wire::Frame<'_>>,
        out: &mut Vec<u8>,
    ) -> u64 {
        let at = timed.at;
        let mut calls = 0;
        let details = !self.hide_details;
        let mut stamps = std::mem::take(&mut self.stamps);
        // The events of a chunk share their time: its text is made once.
        let at_text = stamps.stamp(at);
        self.ingest_frame(timed, frame, |model, emitted| {
            match emitted {
                Emitted::Said(said) => {
                    let mut json = said.to_json();
                    if let Some(object) = json.as_object_mut() {
                        object.insert("at".into(), json!(at_text));
                    }
                    let _ = sanitize::write_json(&mut *out, &json);
                }
                Emitted::Call(call) => {
                    calls += 1;
                    write_call_line(out, model, call, at, at_text, details);
                }
            }
            out.push(b'\n');
        });
        self.stamps = stamps;
        calls
    }
}

/// `{"at":…,"call":{…},"type":"call"}`: the keys in the order serde_json's map keeps them
/// (sorted), each value written by serde_json itself, so the line is byte for byte what
/// `call_json` gives.
fn write_call_line(
    out: &mut Vec<u8>,
    model: &Model,
    call: &Call,
    now: Time,
    at: &str,
    details: bool,
) {
    // Every key after the first is written with the comma before it, as one piece
    // (`,"name":`): no separate byte per field, and none to take back at the end.
    #[inline(always)]
    fn put<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, key: &str, value: &T) {
        put_key(out, key);
        let _ = sanitize::write_json(&mut *out, value);
    }
    #[inline(always)]
    fn put_str(out: &mut Vec<u8>, key: &str, value: &str) {
        put_key(out, key);
        json_str(out, value);
    }
    #[inline(always)]
    fn put_f64(out: &mut Vec<u8>, key: &str, value: Option<f64>) {
        put_key(out, key);
        match value {
            Some(v) => json_f64(out, v),
            None => out.extend_from_slice(b"null"),
        }
    }
    #[inline(always)]
    fn put_secs(out: &mut Vec<u8>, key: &str, secs: Option<f64>) {
        put_key(out, key);
        match secs {
            Some(secs) => json_round3(out, secs),
            None => out.extend_from_slice(b"null"),
        }
    }
    let detail = |text: &Option<String>| {
        text.as_deref()
            .filter(|_| details)
            .and_then(|t| serde_json::from_str::<Value>(t).ok())
    };
    // The stamp and a state's name need no escape.
    debug_assert!(plain_ascii(at.as_bytes()));
    out.extend_from_slice(b"{\"at\":\"");
    out.extend_from_slice(at.as_bytes());
    out.extend_from_slice(b"\",\"call\":{");
    match detail(&call.arguments) {
        Some(arguments) => {
            put(out, "\"arguments\":", &arguments);
            put_key(out, key!("elapsed_s"));
        }
        None => put_key(out, "\"elapsed_s\":"),
    }
    json_round3(out, call.elapsed(now).as_seconds_f64());
    match &call.error {
        Some(error) => put_str(out, key!("error"), error),
        None => put_key(out, concat!(key!("error"), "null")),
    }
    put_secs(out, key!("eta_s"), call.eta().map(|d| d.as_seconds_f64()));
    put_key(out, key!("id"));
    push_int(out, call.id.0);
    match call.message() {
        Some(message) => put_str(out, key!("message"), message),
        None => put_key(out, concat!(key!("message"), "null")),
    }
    put_f64(
        out,
        key!("percent"),
        call.percent()
            .map(|p| crate::feed::round_half_away(p * 10.0) / 10.0),
    );
    put_f64(out, key!("progress"), call.progress);
    if call.progress_requested == Some(false) {
        put_key(out, concat!(key!("progress_requested"), "false"));
    }
    if let Some(shown) = &call.shown_token {
        put(
            out,
            key!("progress_token"),
            &crate::feed::token_json(Some(shown)),
        );
    }
    put_secs(out, key!("rate"), call.rate);
    if let Some(result) = detail(&call.result) {
        put(out, key!("result"), &result);
    }
    if let Some(tap) = call.reached {
        put_key(out, key!("same_as"));
        push_int(out, tap.0);
    }
    if let Some(label) = &call.session_label {
        put(out, key!("session"), label);
    }
    let state = model.display_state(call, now).as_str();
    debug_assert!(plain_ascii(state.as_bytes()));
    put_key(out, concat!(key!("state"), "\""));
    out.extend_from_slice(state.as_bytes());
    out.push(b'"');
    if let Some((kind, id)) = &call.subagent {
        put(out, key!("subagent"), kind);
        put(out, key!("subagent_id"), id);
    }
    if let Some(task) = &call.task {
        put(out, key!("task"), task);
    }
    match call.key.token.as_ref() {
        // As `token_json`: a number within 64 bits, signed or not.
        Some(Token::Int(n)) => match (i64::try_from(*n), u64::try_from(*n)) {
            (Ok(n), _) => put(out, key!("token"), &n),
            (_, Ok(n)) => put(out, key!("token"), &n),
            _ => put(out, key!("token"), &n.to_string()),
        },
        Some(Token::Str(s)) => put_str(out, key!("token"), s),
        None => put_key(out, concat!(key!("token"), "null")),
    }
    match &call.key.tool {
        Some(tool) => put_str(out, key!("tool"), tool),
        None => put_key(out, concat!(key!("tool"), "null")),
    }
    put_f64(out, key!("total"), call.total);
    if let Some(wait) = call.waiting.filter(|_| !call.status.is_finished()) {
        put(out, key!("waiting_for"), wait.as_str());
    }
    out.extend_from_slice(b"},\"type\":\"call\"}");
}

/// `,"name":`, as one piece of text: a key after the first of its object.
macro_rules! key {
    ($name:literal) => {
        concat!(",\"", $name, "\":")
    };
}
use key;

/// A key, given with its quotes and colon (`key!`).
#[inline(always)]
fn put_key(out: &mut Vec<u8>, key: &str) {
    out.extend_from_slice(key.as_bytes());
}

/// A JSON string exactly as [`sanitize::write_json`] writes it; text of printable ASCII
/// without quotes or backslashes (nearly all of it) is copied as it is.
fn json_str(out: &mut Vec<u8>, value: &str) {
    if plain_ascii(value.as_bytes()) {
        out.push(b'"');
        out.extend_from_slice(value.as_bytes());
        out.push(b'"');
    } else {
        let _ = sanitize::write_json(&mut *out, value);
    }
}

/// A number exactly as serde_json writes an `f64` (its shortest round-trip form; `null`
/// when not finite). A value that is a whole number of thousandths below 10^12 (rounded
/// rates and times, counts) is written from its integer thousandths: that decimal has at
/// most 15 significant digits, so it is the shortest form that reads back as the value.
fn json_f64(out: &mut Vec<u8>, v: f64) {
    if v == 0.0 {
        out.extend_from_slice(if v.is_sign_negative() {
            b"-0.0"
        } else {
            b"0.0"
        });
        return;
    }
    // A whole number (a count, most progress and totals): its digits and `.0`. (Below
    // 10^15 the conversion to an integer is exact for whole numbers, and cheaper than
    // `fract`, a library call on x86-64's baseline.)
    let magnitude = v.abs();
    if magnitude < 1e15 && magnitude as i64 as f64 == magnitude {
        if v < 0.0 {
            out.push(b'-');
        }
        push_int(out, magnitude as i64 as u64);
        out.extend_from_slice(b".0");
        return;
    }
    let Some(k) = thousandths(v) else {
        let _ = sanitize::write_json(&mut *out, &v);
        return;
    };
    if k < 0 {
        out.push(b'-');
    }
    write_thousandths(out, k.unsigned_abs());
}

/// `round3(x)` exactly as [`json_f64`] writes it, from the rounded thousandths as an
/// integer `k`: below 10^14 thousandths the rounded value is `k / 1000` for one `k` only
/// (distinct `k` give distinct quotients there), the one `json_f64` would find again.
fn json_round3(out: &mut Vec<u8>, x: f64) {
    let t = x * 1000.0;
    if t.is_nan() || t.abs() >= 1e14 {
        return json_f64(out, round3(x)); // huge, or not a number
    }
    let rounded = crate::feed::round_half_away(t); // whole, its sign kept (-0.0 too)
    if rounded.is_sign_negative() {
        out.push(b'-');
    }
    write_thousandths(out, (rounded as i64).unsigned_abs());
}

/// `k` thousandths as `json_f64` writes them after the sign: the whole part, the dot and
/// the fraction's digits without trailing zeros (`0` when there are none).
#[inline]
fn write_thousandths(out: &mut Vec<u8>, k: u64) {
    push_int(out, k / 1000);
    out.push(b'.');
    let frac = k % 1000;
    if frac == 0 {
        out.push(b'0');
    } else {
        let text = [
            b'0' + (frac / 100) as u8,
            b'0' + (frac / 10 % 10) as u8,
            b'0' + (frac % 10) as u8,
        ];
        out.push(text[0]);
        if !frac.is_multiple_of(100) {
            out.push(text[1]);
            if !frac.is_multiple_of(10) {
                out.push(text[2]);
            }
        }
    }
}

/// The decimal digits of `n`: below 1,000 (most counts, percents and seconds) byte by
/// byte, where a copy of a formatted buffer would cost a `memcpy` call.
#[inline]
fn push_int(out: &mut Vec<u8>, n: u64) {
    let digit = |d: u64| b'0' + (d % 10) as u8;
    if n < 10 {
        out.push(digit(n));
    } else if n < 100 {
        out.extend_from_slice(&[digit(n / 10), digit(n)]);
    } else if n < 1000 {
        out.extend_from_slice(&[digit(n / 100), digit(n / 10), digit(n)]);
    } else {
        out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    }
}

/// `v` as a whole number `k` of thousandths below 10^15 in size, when `k / 1000` is
/// exactly `v`.
#[inline]
fn thousandths(v: f64) -> Option<i64> {
    let t = v * 1000.0;
    if t.is_nan() || t.abs() >= 1e15 {
        return None; // too big, or not a number
    }
    let whole = t as i64; // toward zero: `k` is this or one away from it
    [whole, whole + 1, whole - 1]
        .into_iter()
        .find(|&k| k as f64 / 1000.0 == v)
}

/// Whether a string needs no escape in JSON nor in [`sanitize::SafeJson`]: printable
/// ASCII without `"` or `\\`, checked eight bytes at a time.
#[inline]
fn plain_ascii(text: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH != 0;
    let mut words = text.chunks_exact(8);
    for word in words.by_ref() {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        let x = u64::from_le_bytes(bytes);
        // Non-ASCII or DEL (0x7f + 1 carries into the high bit); below 0x20; `"`; `\\`.
        let odd = (x | x.wrapping_add(ONES)) & HIGH != 0
            || x.wrapping_sub(0x2020_2020_2020_2020) & !x & HIGH != 0
            || has_zero(x ^ (ONES * u64::from(b'"')))
            || has_zero(x ^ (ONES * u64::from(b'\\')));
        if odd {
            return false;
        }
    }
    words
        .remainder()
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
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
    let time = update.at.to_datetime().format("%H:%M:%S%.3f");
    let plural = |n: u64| if n == 1 { "" } else { "s" };
    match &update.said {
        Said::Call { call: c } => {
            let mut line = format!("{time}  ");
            if let Some(session) = c.session.as_deref().filter(|s| !s.is_empty()) {
                let _ = write!(line, "[{session}] ");
            }
            let who = format!(
                "{} {}",
                or_dash(c.tool.as_deref().unwrap_or("")),
                token_text(&c.token)
            );
            let _ = write!(line, "{} ", sanitize::pad(&who, 18));
            let _ = write!(line, "{:<9}", c.state);
            match (c.progress, c.total) {
                (Some(p), Some(t)) => {
                    let _ = write!(line, " {}/{}", num(p), num(t));
                }
                (Some(p), None) => {
                    let _ = write!(line, " {}", num(p));
                }
                _ => {}
            }
            if let Some(pct) = c.percent {
                // Floor, so a running call never reads 100 %.
                let _ = write!(line, " {}%", pct.floor());
            }
            let _ = write!(line, " {}", seconds(c.elapsed_s));
            if let Some(eta) = c.eta_s {
                let _ = write!(line, " eta {}", seconds(eta));
            }
            if let Some(message) = c.message.as_deref().filter(|m| !m.is_empty()) {
                let _ = write!(line, "  {message}");
            }
            if let Some(error) = c.error.as_deref().filter(|e| !e.is_empty()) {
                let _ = write!(line, "  error: {error}");
            }
            line
        }
        Said::Status(status) => match status {
            LinkSaid::Connecting { attempt } => {
                format!("{time}  -- connecting (attempt {attempt})")
            }
            LinkSaid::Connected {
                transport,
                session_id,
                resumed,
                possible_loss,
            } => {
                let mut line =
                    format!("{time}  -- connected over {transport} to session {session_id}");
                if *resumed {
                    line.push_str(", resumed");
                }
                if *possible_loss {
                    line.push_str(" — events sent while disconnected may be lost (no resume)");
                }
                line
            }
            LinkSaid::Disconnected { reason, retry_in_s } => format!(
                "{time}  -- disconnected: {reason}; retrying in {}",
                seconds(*retry_in_s)
            ),
            LinkSaid::Waiting { reason } => format!("{time}  -- {reason}"),
            LinkSaid::DaemonChanged {
                address,
                instance,
                lost_calls,
            } => {
                let lost = *lost_calls as u64;
                format!(
                    "{time}  -- another daemon run at {address} ({instance}): {lost} running call{} lost",
                    plural(lost)
                )
            }
            LinkSaid::DaemonCounts {
                spans_dropped,
                export_error,
                otlp_refused,
                otlp_strangers,
            } => {
                let mut line = format!(
                    "{time}  !! the daemon's OTLP paths: {spans_dropped} span{} not exported",
                    plural(*spans_dropped)
                );
                if let Some(error) = export_error.as_deref().filter(|e| !e.is_empty()) {
                    let _ = write!(line, " ({error})");
                }
                let _ = write!(
                    line,
                    ", {otlp_refused} export{} refused, {otlp_strangers} connection{} of other users closed",
                    plural(*otlp_refused),
                    plural(*otlp_strangers)
                );
                line
            }
            LinkSaid::Stopped { reason } => format!("{time}  -- stopped: {reason}"),
        },
        Said::Lagged { missed } => format!(
            "{time}  !! the server dropped {} for this subscriber",
            events(*missed)
        ),
        Said::Gap { missing, at_id } => {
            format!("{time}  !! {} missing before id {at_id}", events(*missing))
        }
        Said::Error { error, detail } => format!(
            "{time}  !! server error: {error} {}",
            detail.as_deref().unwrap_or("")
        ),
        Said::Server {
            server,
            session_label,
            ..
        } => {
            let mut line = format!("{time}  -- server {}", server.name);
            for text in [&server.version, &server.protocol].into_iter().flatten() {
                if !text.is_empty() {
                    line.push(' ');
                    line.push_str(text);
                }
            }
            let tools = (server.tools.len() as u64).saturating_add(server.tools_cut);
            if tools > 0 {
                line.push_str(&format!(": {tools} tool{}", plural(tools)));
            }
            if let Some(label) = session_label.as_deref().filter(|l| !l.is_empty()) {
                line.push_str(&format!(" (session {label})"));
            }
            line
        }
        // As its JSON: what was cut and why.
        Said::Discarded { .. } => format!("{time}  {}", sanitize::json_string(&update.json)),
    }
}

/// `--plain` as a person reads it: one line per change of a call (the progress that
/// reached the total and the server's word that it finished are one `done`, not two), and
/// a note repeated back to back said once, then how many more times.
#[derive(Default)]
pub struct PlainPrinter {
    /// What was last printed of each call: state, progress, message, error.
    shown: std::collections::HashMap<u64, String>,
    /// The last note (a line that is not about a call), without its time, and how many
    /// times it came again since.
    last_note: Option<(String, u64)>,
}

impl PlainPrinter {
    /// The lines to print for `update` (none, one, or the repeat count and one).
    pub fn lines(&mut self, update: &Update) -> Vec<String> {
        let v = &update.json;
        let mut out = Vec::new();
        if v["type"] == "call" {
            let c = &v["call"];
            let id = c["id"].as_u64().unwrap_or(0);
            // A finished call's duration is part of what was said: the end the server
            // reports after progress completed the call can bring the time it measured,
            // and the last line about a call must give the duration every report gives.
            let running = matches!(
                c["state"].as_str(),
                Some("running" | "stalled" | "waiting") | None
            );
            let duration = if running {
                String::new()
            } else {
                seconds(c["elapsed_s"].as_f64().unwrap_or(0.0))
            };
            let what = format!(
                "{}|{}|{}|{}|{}|{duration}",
                c["state"], c["progress"], c["total"], c["message"], c["error"]
            );
            if self.shown.get(&id) == Some(&what) {
                return out;
            }
            if self.shown.len() > 10_000 {
                self.shown.clear();
            }
            self.shown.insert(id, what);
            self.flush_into(&mut out);
            out.push(plain_line(update));
            return out;
        }
        let line = plain_line(update);
        // The note without its time: `HH:MM:SS.mmm  `.
        let note = line.get(14..).unwrap_or(&line).to_owned();
        if let Some((last, repeats)) = &mut self.last_note {
            if *last == note {
                *repeats += 1;
                return out;
            }
        }
        self.flush_into(&mut out);
        self.last_note = Some((note, 0));
        out.push(line);
        out
    }

    /// What is still owed at the end: the count of a repeated note.
    pub fn finish(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        self.flush_into(&mut out);
        self.last_note = None;
        out
    }

    fn flush_into(&mut self, out: &mut Vec<String>) {
        if let Some((note, repeats)) = &mut self.last_note {
            if *repeats > 0 {
                out.push(format!(
                    "              (the same {} more time{})",
                    repeats,
                    if *repeats == 1 { "" } else { "s" }
                ));
                *repeats = 0;
                // The next identical note starts a new run.
                note.clear();
            }
        }
    }
}

/// `1 event`, `3 events`.
fn events(n: u64) -> String {
    if n == 1 {
        "1 event".into()
    } else {
        format!("{n} events")
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

/// The final table of calls (`--summary`), then the stream's findings. Columns are as
/// wide as their content needs (within bounds); a longer tool or token is cut with `…`.
pub fn summary(model: &Model, now: Time) -> String {
    let mut out = String::new();
    struct Row {
        tool: String,
        token: String,
        state: &'static str,
        progress: String,
        elapsed: String,
        message: String,
    }
    let rows: Vec<Row> = model
        .calls()
        .map(|call| Row {
            tool: sanitize::fit(
                &sanitize::terminal(call.key.tool.as_deref().unwrap_or("-")),
                32,
            ),
            token: sanitize::fit(
                &sanitize::terminal(&token_text(&token_json(call.key.token.as_ref()))),
                20,
            ),
            state: model.display_state(call, now).as_str(),
            progress: match (call.progress, call.total) {
                (Some(p), Some(t)) => format!("{}/{}", num(p), num(t)),
                (Some(p), None) => num(p),
                _ => "-".into(),
            },
            elapsed: seconds(call.elapsed(now).as_seconds_f64()),
            message: sanitize::terminal(call.error.as_deref().or(call.message()).unwrap_or(""))
                .into_owned(),
        })
        .collect();
    let width = |f: fn(&Row) -> &str, title: &str| {
        rows.iter()
            .map(|r| crate::sanitize::width(f(r)))
            .max()
            .unwrap_or(0)
            .max(title.len())
    };
    let (wt, wk, ws, wp, we) = (
        width(|r| &r.tool, "tool"),
        width(|r| &r.token, "token"),
        width(|r| r.state, "state"),
        width(|r| &r.progress, "progress"),
        width(|r| &r.elapsed, "elapsed"),
    );
    let _ = writeln!(
        out,
        "{:<wt$} {:<wk$} {:<ws$} {:>wp$} {:>we$}  message",
        "tool", "token", "state", "progress", "elapsed"
    );
    for r in &rows {
        let _ = writeln!(
            out,
            "{} {} {:<ws$} {:>wp$} {:>we$}  {}",
            sanitize::pad(&r.tool, wt),
            sanitize::pad(&r.token, wk),
            r.state,
            r.progress,
            r.elapsed,
            r.message
        );
    }
    let stream = model.stream();
    let calls = match model.len() {
        1 => "1 call".to_owned(),
        n => format!("{n} calls"),
    };
    let _ = writeln!(
        out,
        "{calls}, {}, {} lost (server), {} missing (id gaps)",
        events(stream.events),
        stream.server_missed,
        stream.id_gap_events
    );
    for finding in model.findings(now) {
        let _ = writeln!(out, "warning: {}", sanitize::terminal(&finding.message));
    }
    out.push_str(&tool_table(model, now));
    out
}

/// Per tool: calls, running, failures (and the last error), p50/p95/max duration and the
/// mean rate (`--summary`'s second table).
pub fn tool_table(model: &Model, now: Time) -> String {
    let stats = crate::model::stats::tool_stats(model, now);
    if stats.is_empty() {
        return String::new();
    }
    let dur =
        |d: Option<chrono::TimeDelta>| d.map_or("-".to_owned(), |d| seconds(d.as_seconds_f64()));
    let rows: Vec<[String; 8]> = stats
        .iter()
        .map(|s| {
            [
                sanitize::fit(&sanitize::terminal(&s.tool), 32),
                s.calls.to_string(),
                s.running.to_string(),
                match s.failure_percent() {
                    Some(p) if s.failed > 0 => format!("{} ({p:.0}%)", s.failed),
                    _ => s.failed.to_string(),
                },
                dur(s.p50),
                dur(s.p95),
                dur(s.max),
                s.mean_rate.map_or("-".to_owned(), |r| format!("{r:.2}/s")),
            ]
        })
        .collect();
    let head = [
        "tool", "calls", "running", "failed", "p50", "p95", "max", "rate",
    ];
    let widths: Vec<usize> = (0..8)
        .map(|i| {
            rows.iter()
                .map(|r| crate::sanitize::width(&r[i]))
                .max()
                .unwrap_or(0)
                .max(head[i].len())
        })
        .collect();
    let mut out = String::from("\n");
    let line = |cells: [&str; 8]| {
        let mut l = crate::sanitize::pad(cells[0], widths[0]);
        for i in 1..8 {
            l.push_str(&format!(" {:>w$}", cells[i], w = widths[i]));
        }
        l
    };
    let _ = writeln!(out, "{}", line(head));
    for (r, s) in rows.iter().zip(&stats) {
        let cells = [
            &*r[0], &*r[1], &*r[2], &*r[3], &*r[4], &*r[5], &*r[6], &*r[7],
        ];
        let _ = write!(out, "{}", line(cells));
        if let Some(e) = &s.last_error {
            let _ = write!(
                out,
                "  last error: {}",
                sanitize::fit(&sanitize::terminal(e), 60)
            );
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_strings_are_written_as_serde_json_writes_them() {
        let mut values = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.001,
            0.1,
            0.5,
            2.25,
            99.9,
            1e11 + 0.125,
            999_999_999_999.999,
            1e12,
            1e15,
            1e16,
            1e-7,
            0.000_5,
            1.0 / 3.0,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::NAN,
            f64::INFINITY,
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let scale = [1.0, 1e3, 1e6, 1e9, 1e12][(x % 5) as usize];
            let v = (x >> 11) as f64 / (1u64 << 53) as f64 * scale;
            values.extend([
                v,
                round3(v),
                -round3(v),
                (v * 10.0).round() / 10.0,
                v.round(),
            ]);
        }
        // Times and rates rounded to thousandths, written from their integer thousandths:
        // what `json_f64` writes of the rounded value (and so serde_json), ties, tiny
        // negatives that round to -0.0, and values past the integer path included.
        let halves = (0..2_000).map(|k| (f64::from(k) + 0.5) / 1000.0);
        let more: Vec<f64> = values
            .iter()
            .copied()
            .chain(halves)
            .chain([
                -0.0004,
                -0.0005,
                -0.0,
                1e11 - 0.0005,
                1e11,
                1e12 + 0.5,
                -f64::INFINITY,
            ])
            .flat_map(|v| [v, -v, v / 7.0])
            .collect();
        for v in more {
            let (mut direct, mut rounded) = (Vec::new(), Vec::new());
            json_round3(&mut direct, v);
            json_f64(&mut rounded, round3(v));
            assert_eq!(direct, rounded, "{v:e}");
            assert_eq!(
                String::from_utf8(direct).unwrap(),
                sanitize::json_string(&round3(v)),
                "{v:e}"
            );
        }
        for v in values {
            let mut fast = Vec::new();
            json_f64(&mut fast, v);
            let want = sanitize::json_string(&v);
            assert_eq!(String::from_utf8(fast).unwrap(), want, "{v:e}");
        }
        // Integers, each appended after what a line already holds.
        let mut ints = vec![
            0,
            9,
            10,
            99,
            100,
            999,
            1_000,
            10u64.pow(19) - 1,
            10u64.pow(19),
        ];
        ints.push(u64::MAX);
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ints.push(x >> (x % 64));
        }
        for n in ints {
            let mut fast = b"{\"id\":".to_vec();
            push_int(&mut fast, n);
            assert_eq!(String::from_utf8(fast).unwrap(), format!("{{\"id\":{n}"));
        }
        for t in [
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            0.499_999_999_999_999_94,
            -0.0,
            -0.2,
            4.5e15,
            -7e300,
            1e-300,
        ] {
            assert_eq!(
                crate::feed::round_half_away(t).to_bits(),
                t.round().to_bits(),
                "{t:e}"
            );
        }
        for v in [0.3, -2.675, 1e6 + 0.0005, 123.4565] {
            let t = v * 1000.0;
            assert_eq!(
                crate::feed::round_half_away(t).to_bits(),
                t.round().to_bits()
            );
        }
        let long = "0123456789abcdefghijklmnopqrstuvwxyz ~!#$%&'()*+,-./:;<=>?@[]^_`{|}";
        let mut texts: Vec<String> = [
            "plain",
            "",
            "q\"uote",
            "back\\slash",
            "tab\t",
            "é",
            "\u{202e}x",
            "\x7f",
        ]
        .iter()
        .map(|t| t.to_string())
        .collect();
        for bad in [
            "\"", "\\", "\x7f", "\x1f", "\x00", "é", "\u{200b}", "\u{85}",
        ] {
            for at in [0, 7, 8, 15, 30, long.len()] {
                texts.push(format!("{}{bad}{}", &long[..at], &long[at..]));
            }
        }
        texts.push(long.into());
        for text in &texts {
            let text = text.as_str();
            let mut fast = Vec::new();
            json_str(&mut fast, text);
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                sanitize::json_string(text),
                "{text:?}"
            );
        }
    }
    use crate::event::{SourceEvent, Timed};

    fn event(ms: i64, event_type: &str, id: &str, data: &str) -> Timed {
        Timed {
            at: Time::from_unix_nanos(1_800_000_000_000_000_000 + ms * 1_000_000),
            event: SourceEvent::Event {
                event_type: event_type.into(),
                data: data.into(),
                id: id.into(),
            },
        }
    }

    #[test]
    fn frames_decoded_beforehand_give_the_same_lines() {
        use crate::event::LinkStatus as Status;
        let mut events = vec![
            Timed {
                at: Time::from_unix_nanos(1_800_000_000_000_000_000),
                event: SourceEvent::Status(Status::Connecting { attempt: 1 }),
            },
            event(
                1,
                "message",
                "1",
                r#"{"token":1,"tool":"t","progress":1,"total":4}"#,
            ),
            event(
                2,
                "message",
                "3",
                r#"{"token":1,"progress":2,"message":"a\nb"}"#,
            ),
            event(
                3,
                "call",
                "4",
                r#"{"token":2,"tool":"u","state":"started"}"#,
            ),
            event(4, "lagged", "4", r#"{"missed":3}"#),
            event(5, "message", "5", "not json"),
            event(6, "message", "6", ""),
            event(
                7,
                "call",
                "7",
                r#"{"token":2,"state":"failed","error":"boom"}"#,
            ),
        ];
        events.push(Timed {
            at: Time::from_unix_nanos(1_800_000_000_008_000_000),
            event: SourceEvent::KeepAlive,
        });
        let mut here = (Feed::default(), Vec::new());
        for e in &events {
            here.0.ingest_json_lines(e, &mut here.1);
        }
        let mut before = (Feed::default(), Vec::new());
        let mut batch = crate::feed::Decoded::decode(events.clone());
        batch.with_dependent_mut(|events, frames| {
            assert_eq!(frames.iter().filter(|f| f.is_some()).count(), 7);
            for (e, frame) in events.iter().zip(frames.iter_mut()) {
                before
                    .0
                    .ingest_json_lines_decoded(e, frame.take(), &mut before.1);
            }
        });
        let text = String::from_utf8(before.1).unwrap();
        assert_eq!(String::from_utf8(here.1).unwrap(), text);
        // Every kind of line came: calls, the gap, the loss, the bad frame.
        for kind in ["call", "gap", "lagged"] {
            assert!(
                text.contains(&format!(r#""type":"{kind}""#)),
                "{kind}: {text}"
            );
        }
        let mut plain = Feed::default();
        let updates: Vec<_> = events.iter().flat_map(|e| plain.ingest(e)).collect();
        let mut plain_before = Feed::default();
        let mut batch = crate::feed::Decoded::decode(events);
        let decoded: Vec<_> = batch.with_dependent_mut(|events, frames| {
            events
                .iter()
                .zip(frames.iter_mut())
                .flat_map(|(e, f)| plain_before.ingest_decoded(e, f.take()))
                .collect()
        });
        assert_eq!(updates, decoded);
        // The frame given is the one applied (the event's data is not decoded again).
        let mut feed = Feed::default();
        let mut out = Vec::new();
        let other = r#"{"token":9,"tool":"other","progress":3}"#;
        feed.ingest_json_lines_decoded(
            &event(1, "message", "1", r#"{"token":1,"tool":"t","progress":1}"#),
            Some(crate::wire::decode_event("message", other, "1")),
            &mut out,
        );
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains(r#""tool":"other""#), "{out}");
    }

    /// The `--plain` lines of `events`, and the feed that read them.
    fn plain_lines(events: &[Timed]) -> (Vec<String>, Feed) {
        let mut feed = Feed::default();
        let mut printer = PlainPrinter::default();
        let mut lines = Vec::new();
        for e in events {
            for update in feed.ingest(e) {
                lines.extend(printer.lines(&update));
            }
        }
        lines.extend(printer.finish());
        (lines, feed)
    }

    /// Progress `progress` of 2 of tool `t` (token 1), at `ms`.
    fn step(ms: i64, id: &str, progress: u32) -> Timed {
        event(
            ms,
            "message",
            id,
            &format!(r#"{{"token":1,"tool":"t","progress":{progress},"total":2}}"#),
        )
    }

    #[test]
    fn plain_lines_say_each_change_once_and_repeats_with_a_count() {
        let (lines, _) = plain_lines(&[
            step(0, "1", 1),
            step(10, "2", 2),
            event(
                20,
                "call",
                "3",
                r#"{"token":1,"tool":"t","state":"finished"}"#,
            ),
            event(30, "lagged", "3", r#"{"missed":1}"#),
            event(40, "lagged", "3", r#"{"missed":1}"#),
            event(50, "lagged", "3", r#"{"missed":1}"#),
            event(60, "message", "4", r#"{"token":2,"tool":"u","progress":1}"#),
        ]);
        let done = lines.iter().filter(|l| l.contains(" done ")).count();
        assert_eq!(done, 1, "{lines:#?}");
        let dropped: Vec<&String> = lines.iter().filter(|l| l.contains("dropped")).collect();
        assert_eq!(dropped.len(), 1, "{lines:#?}");
        assert!(dropped[0].ends_with("the server dropped 1 event for this subscriber"));
        assert!(
            lines.iter().any(|l| l.trim() == "(the same 2 more times)"),
            "{lines:#?}"
        );
        assert!(
            lines.last().is_some_and(|l| l.contains(" u ")),
            "{lines:#?}"
        );
    }

    #[test]
    fn a_call_reads_one_duration_in_plain_lines_and_the_summary() {
        // Progress completes the call at 9 s; the server's end at 10 s says it took 10 s.
        let (lines, feed) = plain_lines(&[
            step(0, "1", 1),
            step(9_000, "2", 2),
            event(
                10_000,
                "call",
                "3",
                r#"{"token":1,"tool":"t","state":"finished","duration_ms":10000}"#,
            ),
        ]);
        let last = lines.iter().rev().find(|l| l.contains(" t [1]"));
        assert!(
            last.is_some_and(|l| l.contains(" done ") && l.contains(" 10.0s")),
            "{lines:#?}"
        );
        let table = summary(
            &feed.model,
            Time::from_unix_nanos(1_800_000_000_000_000_000),
        );
        assert!(table.contains("10.0s"), "{table}");
    }

    #[test]
    fn the_summary_keeps_its_columns_whatever_the_token() {
        let mut feed = Feed::default();
        let long = "x".repeat(200);
        for (i, data) in [
            format!(r#"{{"token":"{long}","tool":"t","progress":1,"total":2}}"#),
            r#"{"token":1,"tool":"another_tool","progress":5,"total":10}"#.to_owned(),
        ]
        .iter()
        .enumerate()
        {
            feed.ingest(&event(i as i64, "message", "", data));
        }
        let table = summary(
            &feed.model,
            Time::from_unix_nanos(1_800_000_000_000_000_000),
        );
        let lines: Vec<&str> = table.lines().collect();
        let state_at = |l: &str| l.find("running").map(|b| l[..b].chars().count());
        assert_eq!(state_at(lines[1]), state_at(lines[2]), "{table}");
        assert!(lines[1].contains('…'), "{table}");
        assert!(table.contains("2 calls, 2 events"), "{table}");
    }
}
