//! Per-tool statistics over the calls held: how many, how many running and failed (with
//! the last error), how long they take (p50, p95, max) and how fast they progress.

use chrono::TimeDelta;

use super::{Call, DisplayState, Model};
use crate::time::Time;

/// One tool's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolStats {
    pub tool: String,
    pub calls: usize,
    pub running: usize,
    pub failed: usize,
    pub last_error: Option<String>,
    /// Over the calls that ended (none: no call ended yet).
    pub p50: Option<TimeDelta>,
    pub p95: Option<TimeDelta>,
    pub max: Option<TimeDelta>,
    /// Mean of the calls' smoothed rates, where progress was reported.
    pub mean_rate: Option<f64>,
}

impl ToolStats {
    /// Failures as a percentage of the calls that ended.
    pub fn failure_percent(&self) -> Option<f64> {
        let ended = self.calls - self.running;
        (ended > 0).then(|| self.failed as f64 * 100.0 / ended as f64)
    }
}

/// The `q` quantile of sorted `values` (nearest rank).
fn quantile(sorted: &[TimeDelta], q: f64) -> Option<TimeDelta> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((sorted.len() as f64) * q).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// Every tool's figures, the busiest first (then by name).
pub fn tool_stats(model: &Model, now: Time) -> Vec<ToolStats> {
    tool_stats_of(model, now, |_| true)
}

/// As [`tool_stats`], over the calls `keep` lets through (a filtered view's).
pub fn tool_stats_of(model: &Model, now: Time, keep: impl Fn(&Call) -> bool) -> Vec<ToolStats> {
    let mut by_tool: std::collections::BTreeMap<&str, Vec<&Call>> = Default::default();
    // The row that says an agent's session ended is no tool's call.
    let calls = model
        .calls()
        .filter(|c| keep(c) && !super::agents::is_session_end(c));
    for call in calls {
        by_tool
            .entry(call.key.tool.as_deref().unwrap_or("?"))
            .or_default()
            .push(call);
    }
    let mut out: Vec<ToolStats> = by_tool
        .into_iter()
        .map(|(tool, calls)| {
            let mut durations: Vec<TimeDelta> = Vec::new();
            let mut running = 0;
            let mut failed = 0;
            let mut last_error: Option<(Time, String)> = None;
            let mut rates = Vec::new();
            for call in &calls {
                match model.display_state(call, now) {
                    s if s.is_active() => running += 1,
                    DisplayState::Failed => {
                        failed += 1;
                        let at = call.ended_at.unwrap_or(call.last_update);
                        if last_error.as_ref().is_none_or(|(t, _)| at >= *t) {
                            last_error = Some((at, call.error.clone().unwrap_or_default()));
                        }
                        durations.push(call.elapsed(now));
                    }
                    _ => durations.push(call.elapsed(now)),
                }
                if let Some(r) = call.rate.filter(|r| r.is_finite() && *r > 0.0) {
                    rates.push(r);
                }
            }
            durations.sort();
            ToolStats {
                tool: tool.to_owned(),
                calls: calls.len(),
                running,
                failed,
                last_error: last_error.map(|(_, e)| e).filter(|e| !e.is_empty()),
                p50: quantile(&durations, 0.5),
                p95: quantile(&durations, 0.95),
                max: durations.last().copied(),
                mean_rate: (!rates.is_empty())
                    .then(|| rates.iter().sum::<f64>() / rates.len() as f64),
            }
        })
        .collect();
    out.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.tool.cmp(&b.tool)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let d: Vec<TimeDelta> = (1..=20).map(TimeDelta::seconds).collect();
        assert_eq!(quantile(&d, 0.5), Some(TimeDelta::seconds(10)));
        assert_eq!(quantile(&d, 0.95), Some(TimeDelta::seconds(19)));
        assert_eq!(quantile(&d[..1], 0.95), Some(TimeDelta::seconds(1)));
        assert_eq!(quantile(&[], 0.5), None);
    }
}
