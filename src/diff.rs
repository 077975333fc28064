//! `mcptop diff A B`: what changed between two recorded sessions. The servers' tools
//! (added, removed, redefined: [`crate::baseline`]), and per tool its calls, failures and
//! p50/p95 durations before and after, with regressions marked: a failure rate that
//! rose, or a p50 or p95 that grew past the threshold.

use chrono::TimeDelta;
use serde::Serialize;

use crate::model::stats::{tool_stats_of, ToolStats};
use crate::model::Model;
use crate::time::Time;

/// Growth of a duration that is a regression (0.2: 20 % slower), when it is also more
/// than [`MIN_SLOWER`] in time.
pub const DEFAULT_THRESHOLD: f64 = 0.2;
/// Slower by less than this is noise, whatever the ratio.
const MIN_SLOWER: TimeDelta = TimeDelta::milliseconds(50);

/// One tool, before and after.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolDiff {
    pub tool: String,
    pub calls: (usize, usize),
    pub failed: (usize, usize),
    /// Seconds (none: no call of it ended on that side).
    pub p50_s: (Option<f64>, Option<f64>),
    pub p95_s: (Option<f64>, Option<f64>),
    /// What got worse: `failures`, `p50`, `p95`.
    pub regressions: Vec<&'static str>,
}

/// The whole difference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diff {
    /// Tools added, removed or redefined, one sentence each.
    pub definitions: Vec<String>,
    pub tools: Vec<ToolDiff>,
    /// Whether anything regressed or any definition changed (exit 1).
    pub changed: bool,
}

fn secs(d: Option<TimeDelta>) -> Option<f64> {
    d.map(|d| d.as_seconds_f64())
}

/// Slower past the threshold, and by more than noise.
fn slower(before: Option<TimeDelta>, after: Option<TimeDelta>, threshold: f64) -> bool {
    match (before, after) {
        (Some(b), Some(a)) => {
            a - b > MIN_SLOWER && a.as_seconds_f64() > b.as_seconds_f64() * (1.0 + threshold)
        }
        _ => false,
    }
}

/// Failures as a share of the calls that ended.
fn failure_rate(s: &ToolStats) -> f64 {
    s.failure_percent().unwrap_or(0.0)
}

/// `a` (before) against `b` (after), each a played recording.
pub fn diff(a: (&Model, Time), b: (&Model, Time), threshold: f64) -> Diff {
    let definitions: Vec<String> = crate::baseline::compare(
        &crate::baseline::of_model(a.0),
        &crate::baseline::of_model(b.0),
    )
    .into_iter()
    .map(|c| c.message.replace("since the baseline", "since A"))
    .collect();
    let before = tool_stats_of(a.0, a.1, |_| true);
    let after = tool_stats_of(b.0, b.1, |_| true);
    let mut names: Vec<&str> = before
        .iter()
        .chain(&after)
        .map(|s| s.tool.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let empty = |tool: &str| ToolStats {
        tool: tool.to_owned(),
        calls: 0,
        running: 0,
        failed: 0,
        last_error: None,
        p50: None,
        p95: None,
        max: None,
        mean_rate: None,
    };
    let mut tools = Vec::new();
    for name in names {
        let x = before
            .iter()
            .find(|s| s.tool == name)
            .cloned()
            .unwrap_or_else(|| empty(name));
        let y = after
            .iter()
            .find(|s| s.tool == name)
            .cloned()
            .unwrap_or_else(|| empty(name));
        let mut regressions = Vec::new();
        if y.failed > 0 && failure_rate(&y) > failure_rate(&x) {
            regressions.push("failures");
        }
        if slower(x.p50, y.p50, threshold) {
            regressions.push("p50");
        }
        if slower(x.p95, y.p95, threshold) {
            regressions.push("p95");
        }
        tools.push(ToolDiff {
            tool: crate::sanitize::terminal(name).into_owned(),
            calls: (x.calls, y.calls),
            failed: (x.failed, y.failed),
            p50_s: (secs(x.p50), secs(y.p50)),
            p95_s: (secs(x.p95), secs(y.p95)),
            regressions,
        });
    }
    let changed = !definitions.is_empty() || tools.iter().any(|t| !t.regressions.is_empty());
    Diff {
        definitions,
        tools,
        changed,
    }
}

/// The diff as a table a person reads (`▲` marks a regression).
pub fn text(diff: &Diff) -> String {
    let d = |s: Option<f64>| {
        s.and_then(crate::time::delta_from_secs)
            .map_or("-".to_owned(), crate::model::human)
    };
    let mut out = String::new();
    for line in &diff.definitions {
        out.push_str(line);
        out.push('\n');
    }
    let rows: Vec<[String; 5]> = diff
        .tools
        .iter()
        .map(|t| {
            let mark = |what: &str| {
                if t.regressions.contains(&what) {
                    " ▲"
                } else {
                    ""
                }
            };
            [
                t.tool.clone(),
                format!("{} → {}", t.calls.0, t.calls.1),
                format!("{} → {}{}", t.failed.0, t.failed.1, mark("failures")),
                format!("{} → {}{}", d(t.p50_s.0), d(t.p50_s.1), mark("p50")),
                format!("{} → {}{}", d(t.p95_s.0), d(t.p95_s.1), mark("p95")),
            ]
        })
        .collect();
    let head = ["tool", "calls", "failed", "p50", "p95"];
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            rows.iter()
                .map(|r| crate::sanitize::width(&r[i]))
                .chain([head[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut line = |cells: [&str; 5]| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            l.push_str(c);
            if i < 4 {
                let pad = widths[i].saturating_sub(crate::sanitize::width(c)) + 2;
                l.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(head);
    for r in &rows {
        line([&r[0], &r[1], &r[2], &r[3], &r[4]]);
    }
    out
}
