//! The table's rows, computed from the model: plain data the views lay out.

use crate::model::{human, num, Call, CallId, DisplayState, Model};
use crate::time::Time;
use crate::wire::Token;

#[derive(Debug, Clone, PartialEq)]
pub struct RowView {
    pub id: CallId,
    pub state: DisplayState,
    pub tool: String,
    /// The session's label, on an all-sessions stream; empty otherwise.
    pub session: String,
    /// The session's id (what `in:` filters by).
    pub session_key: String,
    /// The subagent that made the call (its type), when one did.
    pub agent: String,
    pub token: String,
    /// What the call works on, from its arguments (empty without).
    pub what: String,
    /// `p/total`, or the count alone when the total is unknown.
    pub progress: String,
    /// 0..=1 when the total is known.
    pub ratio: Option<f64>,
    pub percent: String,
    pub rate: String,
    pub eta: String,
    pub elapsed: String,
    pub since: String,
    pub message: String,
    pub finished: bool,
    /// The call has findings (stalled, not increasing, …): `F` shows only these.
    pub flagged: bool,
    /// For sorting: percent done, seconds elapsed, seconds since the last update.
    pub percent_value: f64,
    pub elapsed_secs: f64,
    pub since_secs: f64,
}

/// The state glyphs, explained on the help screen.
pub fn glyph(state: DisplayState) -> &'static str {
    match state {
        DisplayState::Running => "▶",
        DisplayState::Stalled => "‼",
        DisplayState::Waiting(crate::wire::Wait::Input) => "?",
        DisplayState::Waiting(crate::wire::Wait::Permission) => "⚑",
        DisplayState::Done => "✓",
        DisplayState::Failed => "✗",
        DisplayState::Cancelled => "⊘",
        DisplayState::Lost => "◌",
    }
}

pub fn token_text(token: Option<&Token>) -> String {
    token.map(ToString::to_string).unwrap_or_default()
}

/// Every call, running ones first (in the order they started), then finished ones,
/// newest first (see [`Model::display_order`]).
pub fn rows(model: &Model, now: Time) -> Vec<RowView> {
    model
        .display_order()
        .into_iter()
        .filter_map(|id| model.call(id))
        .map(|call| row(model, call, now))
        .collect()
}

/// One call's row.
pub fn row(model: &Model, call: &Call, now: Time) -> RowView {
    let state = model.display_state(call, now);
    let (progress, ratio) = match (call.progress, call.total) {
        (Some(p), Some(t)) if t > 0.0 => (
            format!("{}/{}", num(p), num(t)),
            Some((p / t).clamp(0.0, 1.0)),
        ),
        (Some(p), _) => (num(p), None),
        (None, _) => (String::new(), None),
    };
    let rate = match call.rate {
        Some(r) if state == DisplayState::Running && r > 0.0 => format!("{}/s", short(r)),
        _ => String::new(),
    };
    RowView {
        id: call.id,
        state,
        tool: safe(call.key.tool.as_deref().unwrap_or("?")),
        session: safe(call.session_label.as_deref().unwrap_or_default()),
        session_key: call.key.session.clone().unwrap_or_default(),
        agent: call
            .subagent
            .as_ref()
            .map(|(kind, id)| safe(if kind.is_empty() { id } else { kind }))
            .unwrap_or_default(),
        token: safe(&token_text(call.token_shown())),
        what: what(call).unwrap_or_default(),
        progress,
        ratio,
        percent: call.percent().map(percent_text).unwrap_or_default(),
        rate,
        eta: call.eta().map(human).unwrap_or_default(),
        elapsed: human(call.elapsed(now)),
        since: if call.status.is_finished() {
            String::new()
        } else {
            human(call.since_update(now))
        },
        message: match (state, call.error.as_deref().or_else(|| call.message())) {
            (DisplayState::Waiting(_), Some(m)) => format!("{}: {}", state.label(), safe(m)),
            (DisplayState::Waiting(_), None) => state.label().to_owned(),
            (_, m) => m.map(safe).unwrap_or_else(|| {
                let tokenless = call.origin.is_none()
                    && call.progress_requested == Some(false)
                    && state == DisplayState::Running
                    && call.progress.is_none();
                if tokenless {
                    "(no progress token)".into()
                } else {
                    String::new()
                }
            }),
        },
        finished: call.status.is_finished(),
        flagged: model
            .call_findings(call, now)
            .iter()
            .any(|f| f.kind != crate::model::FindingKind::NoProgressToken),
        percent_value: call.percent().unwrap_or(-1.0),
        elapsed_secs: call.elapsed(now).as_seconds_f64(),
        since_secs: call.since_update(now).as_seconds_f64(),
    }
}

/// What a call works on, from its arguments: its first short string values
/// (`path=src/main.rs query="select …"`), for a row that has no message of its own.
pub fn what(call: &Call) -> Option<String> {
    let args: serde_json::Value = serde_json::from_str(call.arguments.as_deref()?).ok()?;
    let parts: Vec<String> = args
        .as_object()?
        .iter()
        .filter_map(|(k, v)| {
            let s = v.as_str().filter(|s| *s != crate::redact::REDACTED)?;
            let s = crate::sanitize::fit(s, 40);
            Some(if s.contains(' ') {
                format!("{k}=\"{s}\"")
            } else {
                format!("{k}={s}")
            })
        })
        .take(3)
        .collect();
    (!parts.is_empty()).then(|| safe(&parts.join(" ")))
}

/// A percentage rounded to the nearest, except that 100 % shows only when progress
/// reached its total (2/3 is 67 %, 99.6 % is 99 %).
pub fn percent_text(p: f64) -> String {
    let shown = if p < 100.0 {
        p.round().min(99.0)
    } else {
        100.0
    };
    format!("{shown}%")
}

/// Text from outside, with every character a terminal would act on shown as an escape.
pub fn safe(s: &str) -> String {
    crate::sanitize::terminal(s).into_owned()
}

fn short(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}
