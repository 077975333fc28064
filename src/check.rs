//! `mcptop check RECORDING`: assertions about a recorded session, for CI. The recording
//! (or a raw SSE capture) is played through the model at its own times; then each
//! assertion either holds or names what broke it.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::feed::Feed;
use crate::model::{DisplayState, FindingKind, ModelConfig};
use crate::recording::Opened;
use crate::source::Timed;
use crate::time::Time;

/// What must hold.
#[derive(Debug, Clone, Default)]
pub struct Checks {
    /// No call longer than this (any tool).
    pub max_duration: Option<Duration>,
    /// No call of a tool longer than its limit.
    pub max_duration_of: BTreeMap<String, Duration>,
    /// Each of these tools was called at least once.
    pub expect_tools: Vec<String>,
    /// None of these tools was called.
    pub forbid_tools: Vec<String>,
    /// At most this many calls failed.
    pub max_failures: Option<usize>,
    /// No stall, no progress that did not increase, no loss, at any point.
    pub no_findings: bool,
}

/// One broken assertion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub check: &'static str,
    pub message: String,
}

/// The result of a check.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub ok: bool,
    pub calls: usize,
    pub failed: usize,
    pub tools: Vec<String>,
    pub violations: Vec<Violation>,
}

/// How often (in recorded time) the findings are looked at while the recording plays: a
/// stall is only visible between its last update and the next.
const LOOK_EVERY: Duration = Duration::from_millis(250);
/// Calls judged at most (the oldest finished go first past it).
pub const MAX_CALLS: usize = 200_000;

fn secs(d: Duration) -> String {
    crate::model::compact(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Plays `recording` through the model and checks it.
pub fn run(recording: Opened, checks: &Checks) -> Report {
    let mut feed = Feed::new(ModelConfig {
        // Every call of the recording is judged (up to a bound: a recording is from
        // outside), with a short history each.
        max_calls: MAX_CALLS,
        retention: chrono::TimeDelta::MAX,
        history: crate::model::HistoryLimits {
            samples: 16,
            messages: 4,
        },
        ..ModelConfig::default()
    });
    let tape = recording.tape;
    let mut seen_findings: BTreeMap<String, &'static str> = BTreeMap::new();
    let mut last_look: Option<Duration> = None;
    let mut end = recording.started_at;
    let look = |feed: &Feed, at: Time, seen: &mut BTreeMap<String, &'static str>| {
        for finding in feed.model.findings(at) {
            let check = match finding.kind {
                FindingKind::Stalled => "stall",
                FindingKind::NotIncreasing => "progress-not-increasing",
                FindingKind::ServerLoss | FindingKind::IdGap | FindingKind::PossibleLoss => "loss",
                FindingKind::PastTotal | FindingKind::AfterCompletion => "progress",
                _ => continue,
            };
            seen.entry(finding.message.clone()).or_insert(check);
        }
    };
    for i in 0..tape.len() {
        let at = tape.at(i);
        let Some(event) = tape.event(i) else {
            continue;
        };
        let when = recording.started_at
            + crate::time::delta_from_millis(at.as_secs_f64() * 1000.0).unwrap_or_default();
        if checks.no_findings && last_look.is_none_or(|l| at.saturating_sub(l) >= LOOK_EVERY) {
            // Before the event lands: a quiet spell is a stall only until it ends.
            look(&feed, when, &mut seen_findings);
            last_look = Some(at);
        }
        feed.ingest(&Timed { at: when, event });
        end = when;
    }
    if checks.no_findings {
        look(&feed, end, &mut seen_findings);
    }
    let model = &feed.model;
    let mut violations = Vec::new();
    let mut tools: BTreeMap<String, usize> = BTreeMap::new();
    let mut failed = Vec::new();
    let mut calls = 0;
    for call in model.calls() {
        calls += 1;
        let tool = call.key.tool.clone().unwrap_or_else(|| "?".into());
        *tools.entry(tool.clone()).or_default() += 1;
        let elapsed =
            Duration::from_millis(u64::try_from(call.elapsed(end).num_milliseconds()).unwrap_or(0));
        let limit = checks
            .max_duration_of
            .get(&tool)
            .copied()
            .or(checks.max_duration);
        let name = match call.token_shown() {
            Some(t) => format!("{tool} #{t}"),
            None => tool.clone(),
        };
        let name = crate::sanitize::terminal(&name).into_owned();
        if let Some(limit) = limit {
            if elapsed > limit {
                let running = if call.status.is_finished() {
                    ""
                } else {
                    " and was still running"
                };
                violations.push(Violation {
                    check: "max-duration",
                    message: format!(
                        "{name} took {}{running} (limit {})",
                        secs(elapsed),
                        secs(limit)
                    ),
                });
            }
        }
        if model.display_state(call, end) == DisplayState::Failed {
            let why = call.error.as_deref().unwrap_or("no reason given");
            failed.push(format!("{name}: {}", crate::sanitize::terminal(why)));
        }
    }
    for tool in &checks.expect_tools {
        if !tools.contains_key(tool) {
            violations.push(Violation {
                check: "expect-tool",
                message: format!(
                    "no call of {} (expected one)",
                    crate::sanitize::terminal(tool)
                ),
            });
        }
    }
    for tool in &checks.forbid_tools {
        if let Some(n) = tools.get(tool) {
            violations.push(Violation {
                check: "forbid-tool",
                message: format!(
                    "{} was called {n} time{} (forbidden)",
                    crate::sanitize::terminal(tool),
                    if *n == 1 { "" } else { "s" }
                ),
            });
        }
    }
    if let Some(max) = checks.max_failures {
        if failed.len() > max {
            violations.push(Violation {
                check: "max-failures",
                message: format!(
                    "{} calls failed (at most {max}): {}",
                    failed.len(),
                    failed.join("; ")
                ),
            });
        }
    }
    for (message, check) in seen_findings {
        violations.push(Violation {
            check,
            message: crate::sanitize::terminal(&message).into_owned(),
        });
    }
    Report {
        ok: violations.is_empty(),
        calls,
        failed: failed.len(),
        tools: tools.into_keys().collect(),
        violations,
    }
}
