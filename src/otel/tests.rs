use super::*;
use opentelemetry_proto::tonic::common::v1::AnyValue;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, ResourceSpans, ScopeSpans, Span, Status};

fn kv(key: &str, value: Any) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

fn s(key: &str, value: &str) -> KeyValue {
    kv(key, Any::StringValue(value.into()))
}

fn export(service: &str, records: Vec<LogRecord>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![s("service.name", service)],
                ..Resource::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: records,
                ..ScopeLogs::default()
            }],
            ..ResourceLogs::default()
        }],
    }
}

/// A record as the Claude Code exporter writes it: the qualified name in the body, the
/// short one in `event.name`.
fn claude(name: &str, secs: u64, attrs: Vec<KeyValue>) -> LogRecord {
    let mut attributes = vec![s("event.name", name), s("session.id", "5e551011-aaaa")];
    attributes.extend(attrs);
    LogRecord {
        time_unix_nano: 1_765_000_000_000_000_000 + secs * 1_000_000_000,
        body: Some(AnyValue {
            value: Some(Any::StringValue(format!("claude_code.{name}"))),
        }),
        attributes,
        ..LogRecord::default()
    }
}

fn states(batch: &Batch) -> Vec<(String, CallState)> {
    batch
        .reports
        .iter()
        .map(|r| {
            (
                r.event.token.as_str().unwrap_or("?").to_owned(),
                r.event.state,
            )
        })
        .collect()
}

#[test]
fn claude_codes_decision_result_and_model_turn_become_calls_of_its_session() {
    let request = export(
        "claude-code",
        vec![
            claude(
                "tool_decision",
                0,
                vec![
                    s("tool_name", "Bash"),
                    s("tool_use_id", "toolu_1"),
                    s("decision", "accept"),
                    s("source", "config"),
                    s(
                        "tool_parameters",
                        r#"{"command":"make test","api_key":"sk-live-0123456789"}"#,
                    ),
                ],
            ),
            claude(
                "tool_result",
                2,
                vec![
                    s("tool_name", "Bash"),
                    s("tool_use_id", "toolu_1"),
                    s("success", "false"),
                    s("duration_ms", "1500"),
                    s("error", "exit 2"),
                ],
            ),
            claude(
                "api_request",
                3,
                vec![
                    s("model", "claude-sonnet-4-5"),
                    kv("duration_ms", Any::IntValue(2100)),
                    kv("input_tokens", Any::IntValue(1200)),
                    kv("output_tokens", Any::IntValue(80)),
                    kv("cost_usd", Any::DoubleValue(0.0123)),
                    s("event.sequence", "7"),
                ],
            ),
            claude("user_prompt", 4, vec![s("prompt_length", "12")]),
        ],
    );
    let batch = logs(&request, &Rules::default());
    assert_eq!(batch.records, 4);
    assert_eq!(batch.unused, 1, "the prompt says nothing of a call");
    assert_eq!(
        batch.sessions,
        vec![AgentSession {
            key: "claude-code/5e551011-aaaa".into(),
            label: "claude-code · 5e551011".into(),
        }]
    );
    assert_eq!(
        states(&batch),
        vec![
            ("toolu_1".into(), CallState::Started),
            // The result's own start (its end less its duration) and its end.
            ("toolu_1".into(), CallState::Started),
            ("toolu_1".into(), CallState::Failed),
            ("turn#7".into(), CallState::Started),
            ("turn#7".into(), CallState::Finished),
        ]
    );
    let started = &batch.reports[0].event;
    assert_eq!(started.tool, "Bash");
    assert_eq!(started.extras.origin, Some(Origin::Otel));
    assert_eq!(started.message.as_deref(), Some("make test"));
    let args = started.arguments.as_ref().unwrap().to_string();
    assert!(
        args.contains("make test") && !args.contains("sk-live"),
        "{args}"
    );
    let result_start = batch.reports[1].event.timestamp.unwrap();
    let failed = &batch.reports[2].event;
    assert_eq!(failed.duration_ms, Some(1500));
    assert_eq!(failed.timestamp.unwrap().secs_since(result_start), 1.5);
    assert_eq!(failed.error.as_deref(), Some("exit 2"));
    let turn = &batch.reports[3].event;
    assert_eq!(turn.tool, "claude-sonnet-4-5");
    assert_eq!(turn.extras.origin, Some(Origin::Model));
    assert_eq!(turn.message.as_deref(), Some("1200 in · 80 out · $0.0123"));
    assert_eq!(batch.reports[4].event.duration_ms, Some(2100));
}

#[test]
fn a_denied_call_ends_cancelled_and_a_pending_one_waits_for_permission() {
    let request = export(
        "claude-code",
        vec![
            claude(
                "tool_decision",
                0,
                vec![
                    s("tool_name", "Write"),
                    s("tool_use_id", "t1"),
                    s("decision", "reject"),
                    s("source", "user_reject"),
                ],
            ),
            claude(
                "tool_decision",
                1,
                vec![
                    s("tool_name", "Edit"),
                    s("tool_use_id", "t2"),
                    s("decision", "ask"),
                ],
            ),
        ],
    );
    let batch = logs(&request, &Rules::default());
    assert_eq!(
        states(&batch),
        vec![
            ("t1".into(), CallState::Started),
            ("t1".into(), CallState::Cancelled),
            ("t2".into(), CallState::Started),
            ("t2".into(), CallState::Waiting),
        ]
    );
    assert_eq!(
        batch.reports[1].event.error.as_deref(),
        Some("not run: denied (user_reject)")
    );
    assert_eq!(
        batch.reports[3].event.extras.waiting_for,
        Some(Wait::Permission)
    );
}

#[test]
fn codex_and_gemini_results_become_finished_rows_of_their_sessions() {
    let codex = export(
        "codex-cli",
        vec![LogRecord {
            time_unix_nano: 1_765_000_000_000_000_000,
            event_name: "codex.tool_result".into(),
            attributes: vec![
                s("conversation.id", "c0ffee00-1"),
                s("tool_name", "shell"),
                s("call_id", "call_9"),
                s("arguments", r#"{"command":["ls","-la"]}"#),
                kv("duration_ms", Any::IntValue(40)),
                s("success", "true"),
            ],
            ..LogRecord::default()
        }],
    );
    let batch = logs(&codex, &Rules::default());
    assert_eq!(batch.sessions[0].key, "codex/c0ffee00-1");
    assert_eq!(
        states(&batch),
        vec![
            ("call_9".into(), CallState::Started),
            ("call_9".into(), CallState::Finished)
        ]
    );
    assert_eq!(batch.reports[1].event.duration_ms, Some(40));

    let gemini = export(
        "gemini-cli",
        vec![LogRecord {
            time_unix_nano: 1_765_000_000_000_000_000,
            body: Some(AnyValue {
                value: Some(Any::StringValue("Tool call: read_file".into())),
            }),
            attributes: vec![
                s("event.name", "gemini_cli.tool_call"),
                s("session.id", "9e9e9e9e-2"),
                s("function_name", "read_file"),
                s("function_args", r#"{"absolute_path":"/src/main.rs"}"#),
                kv("duration_ms", Any::IntValue(7)),
                kv("success", Any::BoolValue(false)),
                s("error", "no such file"),
            ],
            ..LogRecord::default()
        }],
    );
    let batch = logs(&gemini, &Rules::default());
    assert_eq!(batch.sessions[0].label, "gemini-cli · 9e9e9e9e");
    let ended = &batch.reports[1].event;
    assert_eq!(
        (ended.tool.as_ref(), ended.state),
        ("read_file", CallState::Failed)
    );
    assert_eq!(ended.error.as_deref(), Some("no such file"));
    assert_eq!(
        batch.reports[0].event.message.as_deref(),
        Some("/src/main.rs")
    );
}

#[test]
fn mcp_tool_spans_become_calls_and_other_spans_do_not() {
    let span = |name: &str, attrs: Vec<KeyValue>, error: bool| Span {
        trace_id: vec![1; 16],
        span_id: vec![0xab, 0xcd, 0, 0, 0, 0, 0, 1],
        name: name.into(),
        kind: span::SpanKind::Client as i32,
        start_time_unix_nano: 1_765_000_000_000_000_000,
        end_time_unix_nano: 1_765_000_000_250_000_000,
        attributes: attrs,
        status: error.then(|| Status {
            message: "boom".into(),
            code: 2,
        }),
        ..Span::default()
    };
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![s("service.name", "my-agent")],
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: vec![
                    span(
                        "tools/call get_weather",
                        vec![
                            s("mcp.method.name", "tools/call"),
                            s("gen_ai.tool.name", "get_weather"),
                            s("mcp.session.id", "abc123def456"),
                            s("error.type", "tool_error"),
                        ],
                        true,
                    ),
                    span("GET /index", vec![s("http.request.method", "GET")], false),
                ],
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    };
    let batch = spans(&request, &Rules::default());
    assert_eq!((batch.records, batch.unused), (2, 1));
    assert_eq!(batch.sessions[0].label, "my-agent · abc123de");
    assert_eq!(
        states(&batch),
        vec![
            ("abcd000000000001".into(), CallState::Started),
            ("abcd000000000001".into(), CallState::Failed)
        ]
    );
    let ended = &batch.reports[1].event;
    assert_eq!(ended.duration_ms, Some(250));
    assert_eq!(ended.error.as_deref(), Some("tool_error: boom"));
}

#[test]
fn a_spans_tool_is_read_from_its_name_as_clients_and_servers_write_it() {
    assert_eq!(span_tool("tools/call add"), Some("add"));
    assert_eq!(
        span_tool("MCP send tools/call get_weather"),
        Some("get_weather")
    );
    assert_eq!(span_tool("execute_tool search"), Some("search"));
    assert_eq!(span_tool("tools/call "), None);
    assert_eq!(span_tool("GET /"), None);
}

#[test]
fn hostile_text_is_cut_to_one_line_and_numbers_that_are_not_are_ignored() {
    let long = "x".repeat(10_000);
    let request = export(
        "claude-code",
        vec![claude(
            "tool_result",
            0,
            vec![
                s("tool_name", &format!("Bash\n\u{1b}[2J{long}")),
                s("tool_use_id", "t"),
                s("duration_ms", "NaN"),
                s("success", "maybe"),
            ],
        )],
    );
    let batch = logs(&request, &Rules::default());
    let ended = &batch.reports[1].event;
    assert!(ended.tool.len() <= MAX_NAME + 3 && !ended.tool.contains('\n'));
    assert_eq!(ended.duration_ms, None);
    assert_eq!(ended.state, CallState::Finished);
}

#[test]
fn the_real_codex_exec_export_becomes_its_tool_call() {
    // What Codex CLI 0.169.0 (`codex exec`, a scripted model on loopback) sent to
    // `/v1/logs` for one `exec_command` call, byte for byte.
    let bytes = include_bytes!("../../tests/fixtures/otel/codex-0.169.0-exec.logs.pb");
    let request = <ExportLogsServiceRequest as prost::Message>::decode(&bytes[..]).unwrap();
    let batch = logs(&request, &Rules::default());
    let calls: Vec<(String, String, CallState)> = batch
        .reports
        .iter()
        .map(|r| {
            (
                r.event.token.as_str().unwrap_or_default().to_owned(),
                r.event.tool.to_string(),
                r.event.state,
            )
        })
        .collect();
    // The decision starts it; the result says it again (with its arguments) and ends it.
    // Around it, the two model turns (their tokens when the response completed).
    let token = "call_0f188d74";
    let turn = |t: &str| (format!("turn 06:34:15.{t}"), "gpt-5.4".to_owned());
    let (first, last) = (turn("091"), turn("196"));
    assert_eq!(
        calls,
        [
            (first.0.clone(), first.1.clone(), CallState::Started),
            (first.0, first.1, CallState::Finished),
            (token.into(), "exec_command".into(), CallState::Started),
            (token.into(), "exec_command".into(), CallState::Started),
            (token.into(), "exec_command".into(), CallState::Finished),
            (last.0.clone(), last.1.clone(), CallState::Started),
            (last.0, last.1, CallState::Finished),
        ],
        "{batch:#?}"
    );
    assert_eq!(
        batch.reports[1].event.message.as_deref(),
        Some("10 in · 2 out")
    );
    let ended = &batch.reports[4].event;
    assert_eq!(ended.duration_ms, Some(63));
    assert_eq!(
        batch.reports[3].event.arguments,
        Some(serde_json::json!({"cmd": "echo hello-from-codex"}))
    );
    assert_eq!(batch.sessions.len(), 1);
    assert!(
        batch.sessions[0].key.starts_with("codex/01a24a0f-"),
        "{:?}",
        batch.sessions
    );
}
