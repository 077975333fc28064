//! `mcptop export REC --format otlp`: a recorded session lands in a collector as spans,
//! one per call, with its progress, its failure and what still ran at the end; bad
//! arguments and a refusing collector each get one line and their exit status.

use crate::common;

use common::process::{command, temp_dir};
use serde_json::Value;

/// A recording of session `s1` ("shop"): a search that finishes after two progress
/// reports, a deploy that fails, an index still running when the recording ends.
const RECORDING: &str = r#"{"format":"mcptop-recording","version":1,"started_at":"2026-12-06T10:00:00Z","source":{"session_id":"s1","label":"shop","transport":"sse"}}
[0.0,"s",{"state":"connected","transport":"sse","session_id":"s1","resumed":false}]
[0.1,"e",{"event":"call","id":"1","data":"{\"token\":1,\"tool\":\"search\",\"state\":\"started\"}"}]
[0.2,"e",{"event":"call","id":"2","data":"{\"token\":2,\"tool\":\"deploy\",\"state\":\"started\"}"}]
[0.3,"e",{"event":"call","id":"3","data":"{\"token\":3,\"tool\":\"index\",\"state\":\"started\"}"}]
[0.5,"e",{"event":"progress","id":"4","data":"{\"token\":1,\"tool\":\"search\",\"progress\":1,\"total\":4,\"message\":\"page 1\"}"}]
[0.7,"e",{"event":"progress","id":"5","data":"{\"token\":1,\"tool\":\"search\",\"progress\":3,\"total\":4,\"message\":\"page 3\"}"}]
[0.8,"e",{"event":"call","id":"6","data":"{\"token\":2,\"tool\":\"deploy\",\"state\":\"failed\",\"error\":\"boom\"}"}]
[1.0,"e",{"event":"call","id":"7","data":"{\"token\":1,\"tool\":\"search\",\"state\":\"finished\",\"duration_ms\":900}"}]
[2.0,"e",{"event":"progress","id":"8","data":"{\"token\":3,\"tool\":\"index\",\"progress\":5}"}]
"#;

fn run(home: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut c = command(home, args);
    for k in [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_HEADERS",
    ] {
        c.env_remove(k);
    }
    c.output().unwrap()
}

fn attribute<'a>(span: &'a Value, key: &str) -> &'a Value {
    span["attributes"]
        .as_array()
        .and_then(|a| a.iter().find(|kv| kv["key"] == key))
        .map(|kv| &kv["value"])
        .unwrap_or(&Value::Null)
}

#[test]
fn a_recording_lands_in_the_collector_one_span_per_call() {
    let home = temp_dir("export-otlp");
    let file = home.join("run.jsonl");
    std::fs::write(&file, RECORDING).unwrap();
    let (port, bodies) = common::collector::start(200);
    let endpoint = format!("http://127.0.0.1:{port}");
    let out = run(
        &home,
        &[
            "export",
            file.to_str().unwrap(),
            "--format",
            "otlp",
            "--otlp-endpoint",
            &endpoint,
            "--otlp-protocol",
            "http/json",
        ],
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        said.trim(),
        format!(
            "sent 3 spans (1 session) to {endpoint}/ over http/json; 1 call still running at \
             the recording's end went as lost"
        )
    );
    let bodies = bodies.lock().unwrap();
    assert_eq!(bodies.len(), 1);
    let export: Value = serde_json::from_slice(&bodies[0]).unwrap();
    let resource = &export["resourceSpans"][0];
    let session = resource["resource"]["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|kv| kv["key"] == "mcptop.session.label")
        .unwrap();
    assert_eq!(session["value"]["stringValue"], "shop");
    let spans = resource["scopeSpans"][0]["spans"].as_array().unwrap();
    let by_name = |name: &str| {
        spans
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {spans:?}"))
    };
    let nanos = |s: &Value, k: &str| s[k].as_str().unwrap().parse::<u64>().unwrap();
    let search = by_name("tools/call search");
    assert_eq!(attribute(search, "jsonrpc.request.id")["stringValue"], "1");
    let progress: Vec<&Value> = search["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] == "progress")
        .collect();
    assert_eq!(progress.len(), 2, "{search}");
    assert!(
        search.get("status").is_none_or(|s| s.get("code").is_none()),
        "{search}"
    );
    let deploy = by_name("tools/call deploy");
    assert_eq!(deploy["status"]["message"], "boom");
    assert_eq!(attribute(deploy, "error.type")["stringValue"], "tool_error");
    let index = by_name("tools/call index");
    assert_eq!(
        index["status"]["message"],
        "still running when the recording ended"
    );
    // It ends where the recording does: 2.0 s, having started at 0.3 s.
    assert_eq!(
        nanos(index, "endTimeUnixNano") - nanos(index, "startTimeUnixNano"),
        1_700_000_000
    );
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn no_collector_a_bad_file_and_a_refusing_collector_each_say_so() {
    let home = temp_dir("export-bad");
    let file = home.join("run.jsonl");
    std::fs::write(&file, RECORDING).unwrap();
    let path = file.to_str().unwrap();
    let stderr = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();

    let none = run(&home, &["export", path]);
    assert_eq!(none.status.code(), Some(2));
    assert!(
        stderr(&none).contains("give --otlp-endpoint URL"),
        "{}",
        stderr(&none)
    );

    let missing = run(
        &home,
        &[
            "export",
            "nope.jsonl",
            "--otlp-endpoint",
            "http://127.0.0.1:9",
        ],
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("nope.jsonl"),
        "{}",
        stderr(&missing)
    );

    let (port, bodies) = common::collector::start(400);
    let endpoint = format!("http://127.0.0.1:{port}");
    let refused = run(&home, &["export", path, "--otlp-endpoint", &endpoint]);
    assert_eq!(refused.status.code(), Some(1));
    let line = stderr(&refused);
    assert!(
        line.contains("failed: the collector answered 400"),
        "{line}"
    );
    assert_eq!(line.lines().count(), 1, "{line}");
    assert_eq!(bodies.lock().unwrap().len(), 1, "a 400 is not tried again");
    std::fs::remove_dir_all(&home).unwrap();
}
