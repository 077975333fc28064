//! `mcptop check` on a real recording of the demo workload: it passes with sensible
//! limits, and fails, one line per violation, with a forbidden tool, a tight limit, an
//! expected tool that never ran and too many failures.

use crate::common;

use common::process::{run, serve, temp_dir, Running};
use serde_json::Value;

fn out(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn a_workload_recording_passes_sensible_checks_and_fails_strict_ones() {
    let home = temp_dir("check");
    let (mut server, _url) = serve(&home, &["--workload", "--pace", "40", "--no-bursts"]);
    let recording = home.join("run.jsonl");
    // Read as it comes (a pipe left unread would stop tail once full).
    let mut tail = Running::spawn(
        &home,
        &[
            "tail",
            "--record",
            recording.to_str().unwrap(),
            "--for",
            "5s",
            "--summary",
        ],
    );
    let (code, stderr) = tail.wait();
    assert_eq!(code, Some(0), "{stderr}");
    server.terminate();
    let file = recording.to_str().unwrap();

    let ok = run(
        &home,
        &[
            "check",
            file,
            "--max-duration",
            "10m",
            "--max-failures",
            "1000",
        ],
    );
    assert_eq!(ok.status.code(), Some(0), "{}", out(&ok));
    assert!(out(&ok).starts_with("ok: "), "{}", out(&ok));

    // A tool that ran, forbidden: one line naming it, exit 1.
    let listed = run(&home, &["check", file, "--json"]);
    let report: Value = serde_json::from_str(out(&listed).trim()).unwrap();
    let ran = report["tools"][0].as_str().unwrap().to_owned();
    let forbidden = run(
        &home,
        &[
            "check",
            file,
            "--forbid-tool",
            &ran,
            "--forbid-tool",
            "no_such_tool",
        ],
    );
    let said = out(&forbidden);
    assert_eq!(forbidden.status.code(), Some(1), "{said}");
    let lines: Vec<&str> = said.lines().collect();
    assert_eq!(lines.len(), 1, "{said}");
    assert!(
        lines[0].starts_with(&format!("forbid-tool: {ran} was called "))
            && lines[0].ends_with("(forbidden)"),
        "{said}"
    );
    let expected = run(
        &home,
        &[
            "check",
            file,
            "--expect-tool",
            "no_such_tool",
            "--max-duration",
            "1ms",
        ],
    );
    let said = out(&expected);
    assert_eq!(expected.status.code(), Some(1), "{said}");
    assert!(
        said.lines()
            .any(|l| l == "expect-tool: no call of no_such_tool (expected one)"),
        "{said}"
    );
    assert!(
        said.lines()
            .any(|l| l.starts_with("max-duration: ") && l.contains("(limit 1ms)")),
        "{said}"
    );
    assert!(
        String::from_utf8_lossy(&expected.stderr).is_empty(),
        "the lines say it all"
    );

    let json = run(&home, &["check", file, "--max-failures", "0", "--json"]);
    let report: Value = serde_json::from_str(out(&json).trim()).unwrap();
    assert!(report["calls"].as_u64().unwrap() > 0, "{report}");
    let failed = report["failed"].as_u64().unwrap();
    assert_eq!(report["ok"], failed == 0, "{report}");
    assert_eq!(json.status.code(), Some(if failed == 0 { 0 } else { 1 }));

    // JUnit: one case per assertion and per tool; the forbidden tool's case fails.
    let xml_path = home.join("junit.xml");
    let junit = run(
        &home,
        &[
            "check",
            file,
            "--forbid-tool",
            &ran,
            "--max-duration",
            "10m",
            "--junit",
            xml_path.to_str().unwrap(),
        ],
    );
    assert_eq!(junit.status.code(), Some(1), "{}", out(&junit));
    let cases = junit_cases(&std::fs::read_to_string(&xml_path).unwrap());
    let tools = report["tools"].as_array().unwrap();
    assert_eq!(cases.len(), 2 + tools.len(), "{cases:?}");
    let case = |class: &str, name: &str| {
        cases
            .iter()
            .find(|c| c.0 == class && c.1 == name)
            .unwrap_or_else(|| panic!("no {class} {name} in {cases:?}"))
    };
    assert!(case("mcptop.check", "max-duration").2.is_empty());
    let forbidden = case("mcptop.check", &format!("forbid-tool {ran}"));
    assert!(forbidden.2[0].contains("(forbidden)"), "{forbidden:?}");
    assert!(case("mcptop.tools", &ran).2[0].starts_with("forbid-tool: "));
    for tool in tools.iter().filter_map(Value::as_str).filter(|t| *t != ran) {
        assert!(case("mcptop.tools", tool).2.is_empty(), "{tool}");
    }

    // The same run against itself: every tool, the same figures on both sides, nothing
    // regressed; and its export holds the calls check judged.
    let same = run(&home, &["diff", file, file, "--json"]);
    assert_eq!(same.status.code(), Some(0), "{}", out(&same));
    let diff: Value = serde_json::from_str(out(&same).trim()).unwrap();
    let mut diffed: Vec<&str> = diff["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            assert_eq!(t["calls"][0], t["calls"][1], "{t}");
            assert_eq!(t["p95_s"][0], t["p95_s"][1], "{t}");
            assert!(t["regressions"].as_array().unwrap().is_empty(), "{t}");
            t["tool"].as_str().unwrap()
        })
        .collect();
    let mut checked: Vec<&str> = tools.iter().filter_map(Value::as_str).collect();
    diffed.sort_unstable();
    checked.sort_unstable();
    assert_eq!(diffed, checked);
    let exported = run(&home, &["export", file, "--format", "json"]);
    assert_eq!(exported.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&exported.stdout).unwrap();
    assert_eq!(doc["counts"]["calls"], report["calls"]);
    assert_eq!(doc["counts"]["failed"], report["failed"]);

    let missing = run(&home, &["check", "/no/such/file"]);
    assert_eq!(missing.status.code(), Some(2));
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn no_findings_catches_a_stall_that_recovered() {
    // A raw SSE capture: a call reports every 100 ms, then is quiet for 20 s, then ends.
    let home = temp_dir("check-stall");
    let mut capture = String::new();
    let mut at = chrono::DateTime::parse_from_rfc3339("2026-04-17T10:00:00+00:00").unwrap();
    let mut event = |p: u32, at: &chrono::DateTime<chrono::FixedOffset>| {
        capture.push_str(&format!(
            "data: {{\"token\":1,\"progress\":{p},\"total\":20,\"tool\":\"build\",\"timestamp\":\"{}\"}}\n\n",
            at.to_rfc3339()
        ));
    };
    for p in 1..=10 {
        at += chrono::TimeDelta::milliseconds(100);
        event(p, &at);
    }
    at += chrono::TimeDelta::seconds(20);
    for p in 11..=20 {
        at += chrono::TimeDelta::milliseconds(100);
        event(p, &at);
    }
    let file = home.join("capture.sse");
    std::fs::write(&file, capture).unwrap();
    let checked = run(&home, &["check", file.to_str().unwrap(), "--no-findings"]);
    let said = out(&checked);
    assert_eq!(checked.status.code(), Some(1), "{said}");
    assert!(
        said.lines()
            .any(|l| l.starts_with("stall: build #1 stalled")),
        "{said}"
    );
    let fine = run(
        &home,
        &["check", file.to_str().unwrap(), "--expect-tool", "build"],
    );
    assert_eq!(fine.status.code(), Some(0), "{}", out(&fine));
    std::fs::remove_dir_all(&home).unwrap();
}

/// The test cases of a JUnit report, read with an XML parser (which also proves it well
/// formed): (classname, name, failure messages), checking the counts the suites give.
fn junit_cases(xml: &str) -> Vec<(String, String, Vec<String>)> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut cases: Vec<(String, String, Vec<String>)> = Vec::new();
    let mut counts = Vec::new();
    let attr = |e: &quick_xml::events::BytesStart<'_>, key: &str| {
        e.attributes()
            .map(|a| a.unwrap())
            .find(|a| a.key.into_inner() == key)
            .map(|a| {
                a.normalized_value(quick_xml::XmlVersion::Explicit1_0)
                    .unwrap()
                    .into_owned()
            })
            .unwrap_or_default()
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) => match e.name().into_inner() {
                "testsuites" | "testsuite" => {
                    counts.push((attr(&e, "tests"), attr(&e, "failures")));
                }
                "testcase" => cases.push((attr(&e, "classname"), attr(&e, "name"), Vec::new())),
                "failure" => cases
                    .last_mut()
                    .expect("a failure inside a case")
                    .2
                    .push(attr(&e, "message")),
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    let failing = cases.iter().filter(|c| !c.2.is_empty()).count();
    for (tests, failures) in counts {
        assert_eq!(tests, cases.len().to_string());
        assert_eq!(failures, failing.to_string());
    }
    cases
}

/// A recording of one server's `server` event offering `tools` (name, digest), and a call.
fn server_recording(tools: &[(&str, &str)]) -> String {
    let list: Vec<Value> = tools
        .iter()
        .map(|(name, digest)| serde_json::json!({"name": name, "digest": digest}))
        .collect();
    let server = serde_json::json!({"name": "shop", "version": "1.0", "tools": list});
    let line = |at: f64, event: &str, id: u32, data: &Value| {
        serde_json::json!([at, "e", {"event": event, "id": id.to_string(), "data": data.to_string()}])
            .to_string()
    };
    [
        r#"{"format":"mcptop-recording","version":1,"started_at":"2026-12-06T10:00:00Z","source":{"session_id":"s1","label":"shop"}}"#.to_owned(),
        line(0.1, "server", 1, &server),
        line(0.2, "call", 2, &serde_json::json!({"token": 1, "tool": "search", "state": "started"})),
        line(0.3, "call", 3, &serde_json::json!({"token": 1, "tool": "search", "state": "finished"})),
    ]
    .join("\n")
        + "\n"
}

#[test]
fn a_tools_baseline_holds_for_the_same_tools_and_names_each_change() {
    let home = temp_dir("check-baseline");
    let approved = home.join("approved.jsonl");
    std::fs::write(
        &approved,
        server_recording(&[("search", "aa"), ("buy", "bb")]),
    )
    .unwrap();
    let written = run(&home, &["baseline", approved.to_str().unwrap()]);
    assert_eq!(
        written.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&written.stderr)
    );
    let baseline: Value = serde_json::from_str(out(&written).trim()).unwrap();
    assert_eq!(baseline["servers"]["shop"]["tools"]["buy"]["digest"], "bb");
    let tools = home.join("tools.json");
    std::fs::write(&tools, out(&written)).unwrap();
    let tools = tools.to_str().unwrap();

    let same = run(
        &home,
        &["check", approved.to_str().unwrap(), "--baseline", tools],
    );
    assert_eq!(same.status.code(), Some(0), "{}", out(&same));

    // The next run: `buy` redefined, `refund` new.
    let later = home.join("later.jsonl");
    std::fs::write(
        &later,
        server_recording(&[("search", "aa"), ("buy", "b2"), ("refund", "cc")]),
    )
    .unwrap();
    let xml = home.join("junit.xml");
    let changed = run(
        &home,
        &[
            "check",
            later.to_str().unwrap(),
            "--baseline",
            tools,
            "--junit",
            xml.to_str().unwrap(),
        ],
    );
    let said = out(&changed);
    assert_eq!(changed.status.code(), Some(1), "{said}");
    assert_eq!(
        said.lines().collect::<Vec<_>>(),
        [
            "baseline: server shop: tool buy changed since the baseline (definition bb → b2)",
            "baseline: server shop: tool refund added since the baseline",
        ]
    );
    let cases = junit_cases(&std::fs::read_to_string(&xml).unwrap());
    let failing: Vec<&str> = cases
        .iter()
        .filter(|c| !c.2.is_empty())
        .map(|c| c.1.as_str())
        .collect();
    assert_eq!(failing, ["baseline"], "{cases:?}");

    // Not a baseline, and a recording with no server: one line each, exit 2.
    let bad = run(
        &home,
        &[
            "check",
            later.to_str().unwrap(),
            "--baseline",
            later.to_str().unwrap(),
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
    let none = home.join("none.jsonl");
    std::fs::write(
        &none,
        "data: {\"token\":1,\"progress\":1,\"tool\":\"t\"}\n\n",
    )
    .unwrap();
    let empty = run(&home, &["baseline", none.to_str().unwrap()]);
    assert_eq!(empty.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&empty.stderr).contains("shows no server's tools"));
    std::fs::remove_dir_all(&home).unwrap();
}

/// A recording of `calls` (tool, milliseconds, failed) one after another, and a server
/// offering `tools`.
fn timed_recording(calls: &[(&str, u64, bool)], tools: &[(&str, &str)]) -> String {
    let list: Vec<Value> = tools
        .iter()
        .map(|(name, digest)| serde_json::json!({"name": name, "digest": digest}))
        .collect();
    let mut lines = vec![
        r#"{"format":"mcptop-recording","version":1,"started_at":"2026-12-06T10:00:00Z","source":{"session_id":"s1"}}"#.to_owned(),
        serde_json::json!([0.0, "e", {"event": "server", "id": "0",
            "data": serde_json::json!({"name": "shop", "tools": list}).to_string()}])
        .to_string(),
    ];
    let mut at = 0.1;
    for (i, (tool, ms, failed)) in calls.iter().enumerate() {
        let start = serde_json::json!({"token": i, "tool": tool, "state": "started"});
        lines.push(serde_json::json!([at, "e", {"event": "call", "id": (2 * i + 1).to_string(), "data": start.to_string()}]).to_string());
        at += *ms as f64 / 1000.0;
        let end = if *failed {
            serde_json::json!({"token": i, "tool": tool, "state": "failed", "error": "boom"})
        } else {
            serde_json::json!({"token": i, "tool": tool, "state": "finished"})
        };
        lines.push(serde_json::json!([at, "e", {"event": "call", "id": (2 * i + 2).to_string(), "data": end.to_string()}]).to_string());
    }
    lines.join("\n") + "\n"
}

#[test]
fn diff_marks_what_got_slower_or_failed_and_what_was_redefined() {
    let home = temp_dir("diff");
    let a = home.join("a.jsonl");
    let b = home.join("b.jsonl");
    std::fs::write(
        &a,
        timed_recording(
            &[
                ("search", 1000, false),
                ("search", 1000, false),
                ("lint", 300, false),
            ],
            &[("search", "aa"), ("lint", "ll")],
        ),
    )
    .unwrap();
    std::fs::write(
        &b,
        timed_recording(
            &[
                ("search", 2000, false),
                ("search", 2000, false),
                ("lint", 310, true),
            ],
            &[("search", "aa"), ("lint", "l2")],
        ),
    )
    .unwrap();
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let same = run(&home, &["diff", a, a]);
    assert_eq!(same.status.code(), Some(0), "{}", out(&same));
    let changed = run(&home, &["diff", a, b]);
    let said = out(&changed);
    assert_eq!(changed.status.code(), Some(1), "{said}");
    let lines: Vec<&str> = said.lines().collect();
    assert_eq!(
        lines[0],
        "server shop: tool lint changed since A (definition ll → l2)"
    );
    let row = |tool: &str| *lines.iter().find(|l| l.starts_with(tool)).expect(&said);
    assert!(row("search").contains("1.0s → 2.0s ▲"), "{said}");
    assert!(row("lint").contains("0 → 1 ▲"), "{said}");
    assert!(
        !row("lint").contains("300ms → 310ms ▲"),
        "10 ms is noise: {said}"
    );
    let json = run(&home, &["diff", a, b, "--json", "--threshold", "150%"]);
    let v: Value = serde_json::from_str(out(&json).trim()).unwrap();
    let search = v["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tool"] == "search")
        .unwrap();
    assert_eq!(
        search["regressions"],
        serde_json::json!([]),
        "2× is within 150 %: {v}"
    );
    assert_eq!(search["p50_s"], serde_json::json!([1.0, 2.0]));
    let bad = run(&home, &["diff", a, b, "--threshold", "fast"]);
    assert_eq!(bad.status.code(), Some(2));
    std::fs::remove_dir_all(&home).unwrap();
}
