//! `mcptop check RECORDING`: assertions about a recorded session, for CI. The recording
//! (or a raw SSE capture) is played through the model at its own times; then each
//! assertion either holds or names what broke it.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::feed::Feed;
use crate::model::{DisplayState, FindingKind};
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
    /// The servers offer exactly the tools approved here, each as it was.
    pub baseline: Option<crate::baseline::Baseline>,
}

/// One broken assertion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub check: &'static str,
    pub message: String,
    /// The tool it is about, when it is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
}

/// A call that failed: its tool, the name a person sees (`tool #token`), and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedCall {
    pub tool: String,
    pub call: String,
    pub reason: String,
}

/// The result of a check.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub ok: bool,
    pub calls: usize,
    pub failed: usize,
    pub tools: Vec<String>,
    pub violations: Vec<Violation>,
    /// The calls that failed, in the recording's order.
    pub failed_calls: Vec<FailedCall>,
}

/// How often (in recorded time) the findings are looked at while the recording plays: a
/// stall is only visible between its last update and the next.
const LOOK_EVERY: Duration = Duration::from_millis(250);
/// Calls judged at most (the oldest finished go first past it).
pub use crate::playback::MAX_CALLS;

fn secs(d: Duration) -> String {
    crate::model::compact(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Plays `recording` through the model and checks it.
pub fn run(recording: Opened, checks: &Checks) -> Report {
    // Every call of the recording is judged, with a short history each.
    let mut feed = crate::playback::feed(crate::model::HistoryLimits {
        samples: 16,
        messages: 4,
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
                    tool: Some(tool.clone()),
                });
            }
        }
        if model.display_state(call, end) == DisplayState::Failed {
            let why = call.error.as_deref().unwrap_or("no reason given");
            failed.push(FailedCall {
                tool: tool.clone(),
                call: name.clone(),
                reason: crate::sanitize::terminal(why).into_owned(),
            });
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
                tool: Some(tool.clone()),
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
                tool: Some(tool.clone()),
            });
        }
    }
    if let Some(max) = checks.max_failures {
        if failed.len() > max {
            violations.push(Violation {
                check: "max-failures",
                message: format!(
                    "{} call{} failed (at most {max}): {}",
                    failed.len(),
                    if failed.len() == 1 { "" } else { "s" },
                    failed
                        .iter()
                        .map(|f| format!("{}: {}", f.call, f.reason))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                tool: None,
            });
        }
    }
    if let Some(approved) = &checks.baseline {
        let now = crate::baseline::of_model(model);
        for change in crate::baseline::compare(approved, &now) {
            violations.push(Violation {
                check: "baseline",
                message: change.message,
                tool: Some(change.tool),
            });
        }
    }
    for (message, check) in seen_findings {
        violations.push(Violation {
            check,
            message: crate::sanitize::terminal(&message).into_owned(),
            tool: None,
        });
    }
    Report {
        ok: violations.is_empty(),
        calls,
        failed: failed.len(),
        tools: tools.into_keys().collect(),
        violations,
        failed_calls: failed,
    }
}

/// The checks that findings break (`--no-findings`).
const FINDING_CHECKS: [&str; 3] = ["stall", "progress-not-increasing", "progress"];

/// One JUnit test case: its class, its name, and its failures' messages.
struct Case {
    class: &'static str,
    name: String,
    failures: Vec<String>,
}

/// The report as JUnit XML (the `testsuites` form Jenkins, GitLab and GitHub's test
/// reporters read): one test case per assertion given and one per tool called, each
/// failing with what broke it (a tool's: its calls over their limit, forbidden, or failed
/// past `--max-failures`, each with the call and the reason). `name` names the suite.
pub fn junit(report: &Report, checks: &Checks, name: &str) -> String {
    let of = |check: &str| -> Vec<String> {
        report
            .violations
            .iter()
            .filter(|v| v.check == check)
            .map(|v| v.message.clone())
            .collect()
    };
    let mut cases = Vec::new();
    if checks.max_duration.is_some() || !checks.max_duration_of.is_empty() {
        cases.push(Case {
            class: "mcptop.check",
            name: "max-duration".into(),
            failures: of("max-duration"),
        });
    }
    for (check, tools) in [
        ("expect-tool", &checks.expect_tools),
        ("forbid-tool", &checks.forbid_tools),
    ] {
        for tool in tools {
            cases.push(Case {
                class: "mcptop.check",
                name: format!("{check} {tool}"),
                failures: report
                    .violations
                    .iter()
                    .filter(|v| v.check == check && v.tool.as_deref() == Some(tool.as_str()))
                    .map(|v| v.message.clone())
                    .collect(),
            });
        }
    }
    if checks.max_failures.is_some() {
        cases.push(Case {
            class: "mcptop.check",
            name: "max-failures".into(),
            failures: of("max-failures"),
        });
    }
    if checks.baseline.is_some() {
        cases.push(Case {
            class: "mcptop.check",
            name: "baseline".into(),
            failures: of("baseline"),
        });
    }
    if checks.no_findings {
        cases.push(Case {
            class: "mcptop.check",
            name: "no-findings".into(),
            failures: report
                .violations
                .iter()
                .filter(|v| FINDING_CHECKS.contains(&v.check) || v.check == "loss")
                .map(|v| v.message.clone())
                .collect(),
        });
    }
    let failures_counted = report.violations.iter().any(|v| v.check == "max-failures");
    for tool in &report.tools {
        let mut failures: Vec<String> = report
            .violations
            .iter()
            .filter(|v| {
                matches!(v.check, "max-duration" | "forbid-tool" | "baseline")
                    && v.tool.as_deref() == Some(tool.as_str())
            })
            .map(|v| format!("{}: {}", v.check, v.message))
            .collect();
        if failures_counted {
            failures.extend(
                report
                    .failed_calls
                    .iter()
                    .filter(|f| &f.tool == tool)
                    .map(|f| format!("failed: {}: {}", f.call, f.reason)),
            );
        }
        cases.push(Case {
            class: "mcptop.tools",
            name: tool.clone(),
            failures,
        });
    }
    write_junit(name, report, &cases)
}

fn write_junit(name: &str, report: &Report, cases: &[Case]) -> String {
    use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
    let failing = cases.iter().filter(|c| !c.failures.is_empty()).count();
    let (tests, failures) = (cases.len().to_string(), failing.to_string());
    let mut w = quick_xml::Writer::new_with_indent(Vec::new(), b' ', 2);
    // Writing to a Vec cannot fail; a failure would only cut the document short.
    let mut put = |e: Event<'_>| {
        let _ = w.write_event(e);
    };
    put(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    let mut suites = BytesStart::new("testsuites");
    suites.push_attribute(("name", "mcptop check"));
    suites.push_attribute(("tests", tests.as_str()));
    suites.push_attribute(("failures", failures.as_str()));
    put(Event::Start(suites));
    // Names and texts from a recording are from outside: no control character reaches
    // the XML (it would not be well-formed) or a CI log raw.
    let name = crate::sanitize::terminal(name);
    let mut suite = BytesStart::new("testsuite");
    suite.push_attribute(("name", name.as_ref()));
    suite.push_attribute(("tests", tests.as_str()));
    suite.push_attribute(("failures", failures.as_str()));
    suite.push_attribute(("errors", "0"));
    suite.push_attribute(("skipped", "0"));
    put(Event::Start(suite));
    let calls = report.calls.to_string();
    let failed = report.failed.to_string();
    put(Event::Start(BytesStart::new("properties")));
    for (k, v) in [("calls", calls.as_str()), ("failed_calls", failed.as_str())] {
        let mut p = BytesStart::new("property");
        p.push_attribute(("name", k));
        p.push_attribute(("value", v));
        put(Event::Empty(p));
    }
    put(Event::End(BytesEnd::new("properties")));
    for case in cases {
        let mut c = BytesStart::new("testcase");
        c.push_attribute(("classname", case.class));
        c.push_attribute(("name", crate::sanitize::terminal(&case.name).as_ref()));
        if case.failures.is_empty() {
            put(Event::Empty(c));
            continue;
        }
        put(Event::Start(c));
        let mut f = BytesStart::new("failure");
        let first = crate::sanitize::terminal(&case.failures[0]);
        let first = crate::sanitize::cut(&first, 200);
        f.push_attribute(("message", first.as_ref()));
        f.push_attribute(("type", "mcptop.check"));
        put(Event::Start(f));
        let text: Vec<String> = case
            .failures
            .iter()
            .map(|m| crate::sanitize::terminal(m).into_owned())
            .collect();
        put(Event::Text(BytesText::new(&text.join("\n"))));
        put(Event::End(BytesEnd::new("failure")));
        put(Event::End(BytesEnd::new("testcase")));
    }
    put(Event::End(BytesEnd::new("testsuite")));
    put(Event::End(BytesEnd::new("testsuites")));
    let mut out = String::from_utf8(w.into_inner()).unwrap_or_default();
    out.push('\n');
    out
}
