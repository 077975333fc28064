//! `mcptop export --format json`: a recorded session as one JSON document, the stable
//! contract of the HTML report (which embeds it) and of anyone's own tooling
//! (`docs/export.md` describes every field; `format` and `version` say which contract).
//!
//! The recording plays through the monitor's own model, so the calls are the ones a
//! person saw, with the findings the monitor raised at any point of the session.

use std::collections::BTreeMap;

use chrono::TimeDelta;
use serde::Serialize;
use serde_json::Value;

use crate::feed::Feed;
use crate::model::stats::tool_stats;
use crate::model::{Call, Status};
use crate::recording::Opened;
use crate::source::Timed;
use crate::time::Time;

pub const FORMAT: &str = "mcptop-export";
pub const VERSION: u32 = 1;

/// How often (in recorded time) the findings are looked at while the session plays.
const LOOK_EVERY: TimeDelta = TimeDelta::milliseconds(250);
/// Points of a call's progress curve kept in the document (evenly thinned past it).
pub const CURVE_POINTS: usize = 48;
/// Progress samples a call remembers while the session plays.
const SAMPLES: usize = 512;
/// Messages a call remembers.
const MESSAGES: usize = 32;
/// Findings kept (a hostile recording could raise one per call).
const MAX_FINDINGS: usize = 1000;

/// The whole session.
#[derive(Debug, Clone, Serialize)]
pub struct Document {
    /// [`FORMAT`].
    pub format: &'static str,
    /// [`VERSION`]: a field's meaning never changes within a version; fields may be added.
    pub version: u32,
    /// What the session is called (the recording's file name, unless given).
    pub title: String,
    pub source: Source,
    /// When the session began and ended (RFC 3339); every `*_s` offset counts from
    /// `started_at`.
    pub started_at: String,
    pub ended_at: String,
    pub duration_s: f64,
    pub counts: Counts,
    pub findings: Vec<Finding>,
    /// Per tool, the busiest first.
    pub tools: Vec<ToolStats>,
    /// The servers behind the sessions, as their taps saw them.
    pub servers: Vec<Server>,
    /// Every call, in the order it appeared.
    pub calls: Vec<CallOut>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Source {
    pub session_id: Option<String>,
    pub label: Option<String>,
    pub transport: Option<String>,
    pub daemon: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub calls: usize,
    pub running: usize,
    pub done: usize,
    pub failed: usize,
    pub cancelled: usize,
    pub lost: usize,
    /// Calls left out past the bound on calls kept.
    pub evicted: u64,
}

/// A finding the monitor raised while the session played.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Its kind (`stalled`, `progress-not-increasing`, `loss`, …).
    pub kind: &'static str,
    /// Its rank: lower is worse (0: a stall, a wait, a call that never reached its
    /// server; 12: calls without a progress token). The findings are listed by it.
    pub severity: u8,
    /// As the monitor said it when last seen.
    pub message: String,
    /// The call it is about (its `id` in `calls`), if any.
    pub call: Option<u64>,
    /// When it was first and last seen.
    pub first_s: f64,
    pub last_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ToolStats {
    pub tool: String,
    pub calls: usize,
    pub running: usize,
    pub failed: usize,
    /// Failures among the calls that ended, in per cent.
    pub failure_percent: Option<f64>,
    pub p50_s: Option<f64>,
    pub p95_s: Option<f64>,
    pub max_s: Option<f64>,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Server {
    pub session: Option<String>,
    pub label: Option<String>,
    pub name: String,
    pub version: Option<String>,
    pub protocol: Option<String>,
    pub capabilities: Vec<String>,
    pub tools: Vec<crate::wire::schema::ToolInfo>,
}

/// One call.
#[derive(Debug, Clone, Serialize)]
pub struct CallOut {
    /// Unique in the document.
    pub id: u64,
    pub session: Option<String>,
    pub session_label: Option<String>,
    pub tool: String,
    /// The progress token or request id, as shown on the monitor.
    pub token: Option<String>,
    pub task: Option<String>,
    /// The W3C trace id the agent ran it in (32 hex digits).
    pub trace_id: Option<String>,
    /// `hook`, `otel` or `model` when an agent reported it rather than a tap.
    pub origin: Option<&'static str>,
    /// `running` (still, when the session ended), `done`, `failed`, `cancelled`, `lost`.
    pub status: &'static str,
    /// Still waiting at the end: `input` or `permission`.
    pub waiting: Option<&'static str>,
    pub started_at: String,
    pub start_s: f64,
    pub ended_at: Option<String>,
    pub end_s: Option<f64>,
    /// From its start to its end (or to the session's end while running).
    pub elapsed_s: f64,
    /// What the server or agent said it took, when it said.
    pub reported_duration_s: Option<f64>,
    /// Seen only through progress, so it may have begun before `start_s`.
    pub started_unseen: bool,
    pub progress: Option<f64>,
    pub total: Option<f64>,
    pub error: Option<String>,
    /// Its last message.
    pub message: Option<String>,
    /// Its arguments and a summary of its result as the tap recorded them (already
    /// redacted): JSON when they parse, else the text.
    pub arguments: Option<Value>,
    pub result: Option<Value>,
    /// `[offset_s, progress]`, at most [`CURVE_POINTS`], the last always kept.
    pub progress_curve: Vec<[f64; 2]>,
    /// Its last messages, oldest first.
    pub messages: Vec<Message>,
    /// Frames applied to it.
    pub updates: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub at_s: f64,
    pub text: String,
}

fn secs(d: Option<TimeDelta>) -> Option<f64> {
    d.map(|d| d.as_seconds_f64())
}

/// JSON when `text` parses as JSON, else the text itself.
fn json_or_text(text: &Option<String>) -> Option<Value> {
    let text = text.as_deref()?;
    Some(serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned())))
}

pub fn status_word(status: Status) -> &'static str {
    match status {
        Status::Running => "running",
        Status::Done => "done",
        Status::Failed => "failed",
        Status::Cancelled => "cancelled",
        Status::Lost => "lost",
    }
}

/// At most `n` points of `points`, evenly spaced, the first and the last kept.
fn thin(points: Vec<[f64; 2]>, n: usize) -> Vec<[f64; 2]> {
    if points.len() <= n || n < 2 {
        return points;
    }
    let last = points.len() - 1;
    (0..n)
        .map(|i| points[i * last / (n - 1)])
        .collect::<Vec<_>>()
}

fn call_out(call: &Call, start: Time, end: Time) -> CallOut {
    let off = |t: Time| t.secs_since(start);
    CallOut {
        id: call.id.0,
        session: call.key.session.clone(),
        session_label: call.session_label.clone(),
        tool: call.key.tool.clone().unwrap_or_else(|| "?".into()),
        token: call.token_shown().map(ToString::to_string),
        task: call.task.clone(),
        trace_id: call.trace_id.clone(),
        origin: call.origin.map(|o| o.as_str()),
        status: status_word(call.status),
        waiting: call.waiting.map(|w| match w {
            crate::wire::Wait::Input => "input",
            crate::wire::Wait::Permission => "permission",
        }),
        started_at: call.first_seen.to_string(),
        start_s: off(call.first_seen),
        ended_at: call.ended_at.map(|t| t.to_string()),
        end_s: call.ended_at.map(off),
        elapsed_s: call.elapsed(end).as_seconds_f64(),
        reported_duration_s: secs(call.reported_duration),
        started_unseen: call.started_unseen,
        progress: call.progress,
        total: call.total,
        error: call.error.clone(),
        message: call.message().map(str::to_owned),
        arguments: json_or_text(&call.arguments),
        result: json_or_text(&call.result),
        progress_curve: thin(
            call.history
                .iter()
                .map(|s| [off(s.at), s.progress])
                .collect(),
            CURVE_POINTS,
        ),
        messages: call
            .messages
            .iter()
            .map(|m| Message {
                at_s: off(m.at),
                text: m.text.to_owned(),
            })
            .collect(),
        updates: call.updates,
    }
}

/// Plays `recording` through the model: the session as a document.
pub fn build(recording: Opened, title: &str) -> Document {
    let mut feed = crate::playback::feed(crate::model::HistoryLimits {
        samples: SAMPLES,
        messages: MESSAGES,
    });
    let start = recording.started_at;
    let mut end = start;
    let mut last_look: Option<Time> = None;
    // By (kind, call or message): stream findings are one each, call findings one per call.
    let mut findings: BTreeMap<(&'static str, String), Finding> = BTreeMap::new();
    let look = |feed: &Feed, at: Time, findings: &mut BTreeMap<_, Finding>| {
        for f in feed.model.findings_each(at, |_| true) {
            let room = findings.len() < MAX_FINDINGS;
            let kind = f.kind.name();
            let key = (kind, f.call.map_or_else(String::new, |c| c.0.to_string()));
            let t = at.secs_since(start);
            match findings.get_mut(&key) {
                Some(seen) => {
                    seen.message = f.message;
                    seen.last_s = t;
                }
                None if room => {
                    findings.insert(
                        key,
                        Finding {
                            kind,
                            severity: f.kind.severity(),
                            message: f.message,
                            call: f.call.map(|c| c.0),
                            first_s: t,
                            last_s: t,
                        },
                    );
                }
                None => {}
            }
        }
    };
    let tape = recording.tape;
    for i in 0..tape.len() {
        let Some(event) = tape.event(i) else { continue };
        let at = start + TimeDelta::from_std(tape.at(i)).unwrap_or(TimeDelta::MAX);
        if last_look.is_none_or(|l| at - l >= LOOK_EVERY) {
            // Before the event lands: a quiet spell is a stall only until it ends.
            look(&feed, at, &mut findings);
            last_look = Some(at);
        }
        end = end.max(at);
        feed.apply(&Timed { at, event });
    }
    look(&feed, end, &mut findings);
    let model = &feed.model;
    let mut counts = Counts {
        evicted: model.evicted,
        ..Counts::default()
    };
    let mut calls = Vec::with_capacity(model.len());
    for call in model.calls() {
        counts.calls += 1;
        match call.status {
            Status::Running => counts.running += 1,
            Status::Done => counts.done += 1,
            Status::Failed => counts.failed += 1,
            Status::Cancelled => counts.cancelled += 1,
            Status::Lost => counts.lost += 1,
        }
        calls.push(call_out(call, start, end));
    }
    let mut findings: Vec<Finding> = findings.into_values().collect();
    findings.sort_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then(a.first_s.total_cmp(&b.first_s))
    });
    let tools = tool_stats(model, end)
        .into_iter()
        .map(|s| ToolStats {
            failure_percent: s.failure_percent(),
            p50_s: secs(s.p50),
            p95_s: secs(s.p95),
            max_s: secs(s.max),
            tool: s.tool,
            calls: s.calls,
            running: s.running,
            failed: s.failed,
            last_error: s.last_error,
        })
        .collect();
    let servers = model
        .servers()
        .iter()
        .map(|s| Server {
            session: s.session.clone(),
            label: s.session_label.clone(),
            name: s.info.name.clone(),
            version: s.info.version.clone(),
            protocol: s.info.protocol.clone(),
            capabilities: s.info.capabilities.clone(),
            tools: s.info.tools.clone(),
        })
        .collect();
    let source = recording.source;
    Document {
        format: FORMAT,
        version: VERSION,
        title: title.to_owned(),
        source: Source {
            session_id: source.session_id,
            label: source.label,
            transport: source.transport,
            daemon: source.daemon,
        },
        started_at: start.to_string(),
        ended_at: end.to_string(),
        duration_s: end.secs_since(start),
        counts,
        findings,
        tools,
        servers,
        calls,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_curve_is_thinned_evenly_with_both_ends_kept() {
        let points: Vec<[f64; 2]> = (0..1000).map(|i| [f64::from(i), f64::from(i)]).collect();
        let thinned = thin(points, 10);
        assert_eq!(thinned.len(), 10);
        assert_eq!(thinned[0], [0.0, 0.0]);
        assert_eq!(thinned[9], [999.0, 999.0]);
        assert!(thinned.windows(2).all(|w| w[0][0] < w[1][0]));
        let short: Vec<[f64; 2]> = vec![[0.0, 1.0], [1.0, 2.0]];
        assert_eq!(thin(short.clone(), 10), short);
    }

    #[test]
    fn arguments_are_json_when_they_parse_and_text_when_not() {
        assert_eq!(
            json_or_text(&Some(r#"{"a":1}"#.into())),
            Some(serde_json::json!({"a": 1}))
        );
        assert_eq!(
            json_or_text(&Some("{cut…".into())),
            Some(Value::String("{cut…".into()))
        );
        assert_eq!(json_or_text(&None), None);
    }
}
