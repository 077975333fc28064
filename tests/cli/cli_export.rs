//! `mcptop export REC --format otlp`: a recorded session lands in a collector as spans,
//! one per call, with its progress, its failure and what still ran at the end; bad
//! arguments and a refusing collector each get one line and their exit status.
//! `--format json|html|har`: the same session as a document, a page that embeds exactly
//! that document, and an HTTP archive.

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
        stderr(&none)
            .contains("give --format html, har or json (with -o FILE), or --otlp-endpoint URL"),
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

/// [`RECORDING`] with a fourth call, `crawl`, that reports every second, then goes quiet for
/// two minutes (a stall), then finishes.
fn stalling_recording() -> String {
    let mut text = RECORDING.to_owned();
    text.push_str(
        r#"[2.1,"e",{"event":"call","id":"9","data":"{\"token\":4,\"tool\":\"crawl\",\"state\":\"started\",\"arguments\":{\"url\":\"https://example.com/\"}}"}]
"#,
    );
    for (i, t) in [3.0, 4.0, 5.0, 6.0].iter().enumerate() {
        text.push_str(&format!(
            r#"[{t},"e",{{"event":"progress","id":"{}","data":"{{\"token\":4,\"tool\":\"crawl\",\"progress\":{},\"total\":10}}"}}]
"#,
            10 + i,
            i + 1
        ));
    }
    text.push_str(
        r#"[126.0,"e",{"event":"call","id":"14","data":"{\"token\":4,\"tool\":\"crawl\",\"state\":\"finished\",\"result\":{\"pages\":10}}"}]
"#,
    );
    text
}

fn document(home: &std::path::Path, file: &std::path::Path) -> Value {
    let out = run(
        home,
        &["export", file.to_str().unwrap(), "--format", "json"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn call<'a>(doc: &'a Value, tool: &str) -> &'a Value {
    doc["calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["tool"] == tool)
        .unwrap_or_else(|| panic!("no {tool} in {doc}"))
}

#[test]
fn a_recording_becomes_a_document_of_its_calls_tools_and_findings() {
    let home = temp_dir("export-json");
    let file = home.join("run.jsonl");
    std::fs::write(&file, stalling_recording()).unwrap();
    let doc = document(&home, &file);
    assert_eq!(doc["format"], "mcptop-export");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["title"], "run.jsonl");
    assert_eq!(doc["source"]["label"], "shop");
    assert_eq!(doc["duration_s"], 126.0);
    let counts = &doc["counts"];
    assert_eq!(
        (
            &counts["calls"],
            &counts["done"],
            &counts["failed"],
            &counts["running"]
        ),
        (
            &Value::from(4),
            &Value::from(2),
            &Value::from(1),
            &Value::from(1)
        ),
        "{counts}"
    );

    let search = call(&doc, "search");
    assert_eq!(search["status"], "done");
    assert_eq!(search["start_s"], 0.1);
    assert_eq!(search["end_s"], 1.0);
    assert_eq!(search["reported_duration_s"], 0.9);
    let texts: Vec<&str> = search["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["page 1", "page 3"]);
    assert_eq!(
        search["progress_curve"],
        serde_json::json!([[0.5, 1.0], [0.7, 3.0]])
    );
    let deploy = call(&doc, "deploy");
    assert_eq!(
        (&deploy["status"], &deploy["error"]),
        (&"failed".into(), &"boom".into())
    );
    let index = call(&doc, "index");
    assert_eq!(index["status"], "running");
    assert_eq!(index["end_s"], Value::Null);
    assert_eq!(index["elapsed_s"], 125.7, "running to the session's end");
    let crawl = call(&doc, "crawl");
    assert_eq!(
        crawl["arguments"],
        serde_json::json!({"url": "https://example.com/"})
    );
    assert_eq!(crawl["result"], serde_json::json!({"pages": 10}));

    // The crawl went quiet for two minutes: stalled, though it finished in the end.
    let findings = doc["findings"].as_array().unwrap();
    let stalled = findings
        .iter()
        .find(|f| f["kind"] == "stalled" && f["call"] == crawl["id"])
        .unwrap_or_else(|| panic!("no stall of crawl in {findings:?}"));
    assert!(stalled["first_s"].as_f64().unwrap() > 6.0);
    assert!(
        stalled["message"].as_str().unwrap().contains("crawl"),
        "{stalled}"
    );

    let tools: Vec<&str> = doc["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tool"].as_str().unwrap())
        .collect();
    assert_eq!(tools.len(), 4, "{tools:?}");
    let deploy_stats = doc["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tool"] == "deploy")
        .unwrap();
    assert_eq!(deploy_stats["failure_percent"], 100.0);
    std::fs::remove_dir_all(&home).unwrap();
}

/// The JSON block a page embeds, as the browser's `JSON.parse` reads it.
fn embedded(html: &str) -> Value {
    let open = r#"<script type="application/json" id="data">"#;
    let start = html.find(open).unwrap() + open.len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

#[test]
fn the_page_embeds_exactly_the_document_and_markup_in_it_stays_text() {
    let home = temp_dir("export-html");
    let file = home.join("run.jsonl");
    // A tool named to break out of the data block and a message to break out of the page.
    let hostile = stalling_recording().replace("deploy", "</script><script>alert(1)</script>");
    std::fs::write(&file, &hostile).unwrap();
    let page = home.join("report.html");
    let out = run(
        &home,
        &[
            "export",
            file.to_str().unwrap(),
            "-o",
            page.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.starts_with(&format!("wrote {} (4 calls, ", page.display())),
        "{said}"
    );
    assert!(out.stdout.is_empty());
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(
        html.matches("<script").count(),
        2,
        "only the page's own two blocks"
    );
    assert!(html
        .contains(r#"http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;;"#));
    assert!(
        !html.contains("<link") && !html.contains("<img") && !html.contains(" src="),
        "nothing loaded from anywhere"
    );
    let doc = document(&home, &file);
    assert_eq!(
        embedded(&html),
        doc,
        "the page shows what --format json says"
    );
    assert_eq!(
        call(&doc, "</script><script>alert(1)</script>")["status"],
        "failed"
    );
    // Private, as recordings are: it holds the calls' arguments.
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&page).unwrap().permissions().mode() & 0o777,
        0o600
    );
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn har_has_an_entry_per_call_as_the_json_rpc_post_it_is() {
    let home = temp_dir("export-har");
    let file = home.join("run.jsonl");
    std::fs::write(&file, stalling_recording()).unwrap();
    let har = home.join("run.har");
    let out = run(
        &home,
        &[
            "export",
            file.to_str().unwrap(),
            "-o",
            har.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let har: Value = serde_json::from_str(&std::fs::read_to_string(&har).unwrap()).unwrap();
    let log = &har["log"];
    assert_eq!(log["version"], "1.2");
    assert_eq!(log["creator"]["name"], "mcptop");
    let entries = log["entries"].as_array().unwrap();
    let tools: Vec<Value> = entries
        .iter()
        .map(|e| {
            let body: Value =
                serde_json::from_str(e["request"]["postData"]["text"].as_str().unwrap()).unwrap();
            assert_eq!(body["method"], "tools/call");
            body["params"]["name"].clone()
        })
        .collect();
    assert_eq!(
        tools,
        ["search", "deploy", "index", "crawl"],
        "in the order they began"
    );
    let search = &entries[0];
    assert_eq!(search["request"]["method"], "POST");
    assert_eq!(search["request"]["url"], "mcp://shop/tools/call/search");
    assert_eq!(search["startedDateTime"], "2026-12-06T10:00:00.100Z");
    assert_eq!(search["time"], 900.0);
    assert_eq!(search["timings"]["wait"], 900.0);
    assert_eq!(search["response"]["status"], 200);
    let deploy = &entries[1];
    assert_eq!(deploy["_error"], "boom");
    let answer: Value =
        serde_json::from_str(deploy["response"]["content"]["text"].as_str().unwrap()).unwrap();
    assert_eq!(answer["result"]["isError"], true);
    let index = &entries[2];
    assert_eq!(index["response"]["status"], 0, "no answer came");
    assert!(index["_error"].as_str().unwrap().contains("still running"));
    let crawl = &entries[3];
    let answer: Value =
        serde_json::from_str(crawl["response"]["content"]["text"].as_str().unwrap()).unwrap();
    assert_eq!(answer["result"], serde_json::json!({"pages": 10}));
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn a_report_format_is_asked_for_or_named_by_the_file_and_never_follows_a_link() {
    let home = temp_dir("export-args");
    let file = home.join("run.jsonl");
    std::fs::write(&file, RECORDING).unwrap();
    let path = file.to_str().unwrap();
    let fails = |args: &[&str], says: &str| {
        let out = run(&home, args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    };
    let txt = home.join("report.txt");
    fails(
        &["export", path, "-o", txt.to_str().unwrap()],
        "which format for",
    );
    fails(
        &[
            "export",
            path,
            "--format",
            "otlp",
            "-o",
            txt.to_str().unwrap(),
        ],
        "writes no file",
    );
    fails(
        &[
            "export",
            path,
            "--format",
            "html",
            "--otlp-endpoint",
            "http://127.0.0.1:9",
        ],
        "--otlp-endpoint is for --format otlp",
    );
    assert!(!txt.exists());
    // A link planted where the report goes is not followed.
    let target = home.join("elsewhere");
    std::fs::write(&target, "kept").unwrap();
    let link = home.join("report.html");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    fails(
        &["export", path, "-o", link.to_str().unwrap()],
        "symbolic link",
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "kept");
    // --format json to standard output; the extension names it otherwise.
    let out = run(&home, &["export", path, "--format", "har"]);
    assert_eq!(out.status.code(), Some(0));
    let har: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(har["log"]["entries"].as_array().unwrap().len(), 3);
    let json = home.join("out.JSON");
    let out = run(
        &home,
        &[
            "export",
            path,
            "-o",
            json.to_str().unwrap(),
            "--title",
            "nightly",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(
        (&doc["format"], &doc["title"]),
        (&"mcptop-export".into(), &"nightly".into())
    );
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn live_records_the_running_daemon_for_a_while_then_exports_it() {
    let home = temp_dir("export-live");
    let (mut server, _url) =
        common::process::serve(&home, &["--workload", "--pace", "40", "--no-bursts"]);
    let out = run(&home, &["export", "--live", "2s", "--format", "json"]);
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.starts_with("mcptop: recording all sessions for 2s"),
        "{said}"
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["title"], "all sessions (2s live)");
    assert!(
        doc["counts"]["calls"].as_u64().unwrap() > 0,
        "{}",
        doc["counts"]
    );
    assert!(
        doc["duration_s"].as_f64().unwrap() <= 3.0,
        "{}",
        doc["duration_s"]
    );
    // A session the daemon does not know: tail's exit status and its one line.
    let out = run(
        &home,
        &[
            "export",
            "--live",
            "2s",
            "--format",
            "json",
            "--session",
            "nope",
        ],
    );
    assert_eq!(out.status.code(), Some(4));
    assert!(out.stdout.is_empty());
    // A file and --live at once is a usage error.
    let out = run(
        &home,
        &["export", "x.jsonl", "--live", "2s", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(2));
    server.terminate();
    std::fs::remove_dir_all(&home).unwrap();
}
