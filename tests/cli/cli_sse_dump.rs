//! `mcptop sse-dump` as a user runs it: the real binary, files, stdin, exit codes.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn mcptop(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcptop"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mcptop");
    let mut pipe = child.stdin.take().expect("stdin");
    pipe.write_all(stdin.unwrap_or_default())
        .expect("write stdin");
    drop(pipe);
    child.wait_with_output().expect("wait")
}

fn asset(name: &str) -> String {
    format!("{}/assets/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

#[test]
fn dumps_every_event_with_type_data_and_id() {
    let out = mcptop(&["sse-dump", &asset("mcptop-session.sse")], None);
    assert!(out.status.success(), "{out:?}");
    let items = lines(&out);
    assert_eq!(items[0], serde_json::json!({"retry": 3000}));
    assert_eq!(items[1]["type"], "connected");
    assert_eq!(items[2]["type"], "call");
    assert_eq!(items[2]["id"], "1");
    assert_eq!(items[3]["type"], "message");
    let lagged = items
        .iter()
        .find(|i| i["type"] == "lagged")
        .expect("lagged");
    assert_eq!(lagged["data"], "{\"missed\": 2}");
    assert_eq!(lagged["id"], "9");
    assert_eq!(items.len(), 1 + 1 + 1 + 5 + 1 + 1 + 1);
}

#[test]
fn the_output_does_not_depend_on_the_chunk_size() {
    for name in ["mcptop-session.sse", "construct-session.sse"] {
        let whole = mcptop(&["sse-dump", &asset(name)], None);
        for chunk in ["1", "2", "7", "100"] {
            let split = mcptop(&["sse-dump", "--chunk", chunk, &asset(name)], None);
            assert_eq!(split.stdout, whole.stdout, "{name} with --chunk {chunk}");
        }
    }
}

#[test]
fn reads_standard_input_and_warns_about_a_cut_stream() {
    let out = mcptop(&["sse-dump"], Some(b"data: a\n\ndata: b"));
    assert!(out.status.success());
    assert_eq!(
        lines(&out),
        vec![serde_json::json!({"type": "message", "data": "a", "id": ""})]
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ended in the middle of an event"), "{err}");
    let dash = mcptop(&["sse-dump", "-"], Some(b"data: x\n\n"));
    assert_eq!(lines(&dash).len(), 1);
}

#[test]
fn reports_dropped_events_and_goes_on() {
    let out = mcptop(
        &["sse-dump", "--max-bytes", "8"],
        Some(b"data: way too long for eight\n\ndata: ok\n\n"),
    );
    assert!(out.status.success());
    assert_eq!(
        lines(&out),
        vec![serde_json::json!({"type": "message", "data": "ok", "id": ""})]
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("dropped an event with a line over 8 bytes"),
        "{err}"
    );
}

#[test]
fn count_prints_one_summary_line() {
    let out = mcptop(
        &["sse-dump", "--stats", &asset("construct-session.sse")],
        None,
    );
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.starts_with("6 events, "), "{text}");
    assert!(text.contains(" events/s"), "{text}");
}

#[test]
fn a_missing_file_is_one_clear_line_and_exit_1() {
    let out = mcptop(&["sse-dump", "/no/such/file.sse"], None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("mcptop: cannot open /no/such/file.sse: "),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_arguments_exit_2_with_usage() {
    let out = mcptop(&["sse-dump", "--chunk", "0"], None);
    assert_eq!(out.status.code(), Some(2));
    let out = mcptop(&["frobnicate"], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_live_stream_shows_each_event_before_the_input_ends() {
    use std::io::{BufRead, BufReader};
    use std::sync::mpsc;
    use std::time::Duration;

    let mut child = Command::new(env!("CARGO_BIN_EXE_mcptop"))
        .arg("sse-dump")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn mcptop");
    let mut input = child.stdin.take().expect("stdin");
    let output = BufReader::new(child.stdout.take().expect("stdout"));
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in output.lines() {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    for n in 0..3 {
        input
            .write_all(format!("id: {n}\ndata: tick {n}\n\n").as_bytes())
            .expect("write");
        input.flush().expect("flush");
        // The stream stays open: the line must arrive anyway, and soon.
        let line = match received.recv_timeout(Duration::from_secs(10)) {
            Ok(line) => line.expect("read a line"),
            Err(_) => {
                let _ = child.kill();
                panic!("event {n} was not printed while the stream was open");
            }
        };
        let v: serde_json::Value = serde_json::from_str(&line).expect("JSON");
        assert_eq!(v["data"], format!("tick {n}"));
    }
    drop(input);
    assert!(child.wait().expect("wait").success());
}
