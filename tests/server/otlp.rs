//! The OTLP receiver: what real exporters send (OTLP/HTTP in protobuf and JSON, gzip or
//! not, and OTLP/gRPC) becomes calls on the agent session's daemon session, the one its
//! hooks use; bad exports get the OTLP error status and a count on `/health`.

use std::io::Write;
use std::net::SocketAddr;

use mcptop::server::RunningServer;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use serde_json::Value;

use super::{health, http, json, owner_session, start, within, SseReader};

fn s(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(Any::StringValue(value.into())),
        }),
        ..KeyValue::default()
    }
}

fn claude(name: &str, attrs: &[(&str, &str)]) -> ExportLogsServiceRequest {
    let mut attributes = vec![s("event.name", name), s("session.id", "cc-42")];
    attributes.extend(attrs.iter().map(|(k, v)| s(k, v)));
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![s("service.name", "claude-code")],
                ..Resource::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    time_unix_nano: 1_765_000_000_000_000_000,
                    body: Some(AnyValue {
                        value: Some(Any::StringValue(format!("claude_code.{name}"))),
                    }),
                    attributes,
                    ..LogRecord::default()
                }],
                ..ScopeLogs::default()
            }],
            ..ResourceLogs::default()
        }],
    }
}

async fn receiver() -> (RunningServer, SocketAddr, SocketAddr) {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let server = start(|c| {
        c.otlp_http = Some(any);
        c.otlp_grpc = Some(any);
    })
    .await;
    let (Some(http_at), Some(grpc_at)) = server.otlp_addrs() else {
        panic!("both receivers listen");
    };
    (server, http_at, grpc_at)
}

/// The agent session's daemon session, as its hook opens it, and its stream.
async fn agent_session(server: &RunningServer) -> SseReader {
    let created = owner_session(
        server,
        serde_json::json!({"label": "claude-code · shop", "agent_session": "claude-code/cc-42"}),
    )
    .await;
    let response = http()
        .get(format!(
            "{}/session/{}/events",
            server.base_url(),
            created["session_id"].as_str().unwrap()
        ))
        .bearer_auth(created["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    SseReader::new(response)
}

async fn next_call(stream: &mut SseReader) -> Value {
    loop {
        let event = stream.next_event().await.expect("the stream goes on");
        if event.event_type == "call" {
            return json(&event.data);
        }
    }
}

#[tokio::test]
async fn every_encoding_and_grpc_land_on_the_hooks_session() {
    let (server, http_at, grpc_at) = receiver().await;
    let mut stream = agent_session(&server).await;

    // OTLP/HTTP JSON, as the JavaScript exporter sends it (`http/json`).
    let decision = claude(
        "tool_decision",
        &[
            ("tool_name", "Bash"),
            ("tool_use_id", "toolu_1"),
            ("decision", "accept"),
            (
                "tool_parameters",
                r#"{"command":"make","password":"hunter22"}"#,
            ),
        ],
    );
    let answer = http()
        .post(format!("http://{http_at}/v1/logs"))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&decision).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-type"], "application/json");
    let started = next_call(&mut stream).await;
    assert_eq!(
        (&started["tool"], &started["state"], &started["origin"]),
        (
            &Value::from("Bash"),
            &Value::from("started"),
            &Value::from("otel")
        )
    );
    assert_eq!(started["message"], "make");
    assert!(!started.to_string().contains("hunter22"), "{started}");

    // OTLP/HTTP protobuf, gzipped (`http/protobuf` with compression).
    let result = claude(
        "tool_result",
        &[
            ("tool_name", "Bash"),
            ("tool_use_id", "toolu_1"),
            ("success", "true"),
            ("duration_ms", "1234"),
            // Made by a subagent.
            ("agent_id", "a7"),
            ("agent_type", "Explore"),
        ],
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&result.encode_to_vec()).unwrap();
    let answer = http()
        .post(format!("http://{http_at}/v1/logs"))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(gz.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-type"], "application/x-protobuf");
    let body = answer.bytes().await.unwrap();
    assert!(
        opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse::decode(body)
            .is_ok()
    );
    // The result's own start (the same call), with its subagent, then its end with the
    // agent's duration.
    let started = next_call(&mut stream).await;
    assert_eq!(
        (
            &started["state"],
            &started["subagent"],
            &started["subagent_id"]
        ),
        (
            &Value::from("started"),
            &Value::from("Explore"),
            &Value::from("a7")
        ),
        "{started}"
    );
    let finished = next_call(&mut stream).await;
    assert_eq!(finished["state"], "finished");
    assert_eq!(finished["duration_ms"], 1234);

    // OTLP/gRPC, gzipped (Gemini CLI's default).
    let mut client = within(
        "a gRPC connection",
        LogsServiceClient::connect(format!("http://{grpc_at}")),
    )
    .await
    .unwrap()
    .send_compressed(tonic::codec::CompressionEncoding::Gzip);
    let turn = claude(
        "api_request",
        &[
            ("model", "claude-haiku-4-5"),
            ("duration_ms", "800"),
            ("cost_usd", "0.002"),
            ("event.sequence", "3"),
        ],
    );
    within("a gRPC export", client.export(turn)).await.unwrap();
    let model = next_call(&mut stream).await;
    assert_eq!(
        (&model["tool"], &model["origin"], &model["token"]),
        (
            &Value::from("claude-haiku-4-5"),
            &Value::from("model"),
            &Value::from("turn#3")
        )
    );
    let ended = next_call(&mut stream).await;
    assert_eq!(ended["state"], "finished", "{ended}");
    assert_eq!(
        ended["message"],
        "$0.0020 — session: 1 turn · 0 in · 0 out · $0.0020"
    );
    // The next turn's end says the session's totals so far.
    let turn = claude(
        "api_request",
        &[
            ("model", "claude-haiku-4-5"),
            ("input_tokens", "1200"),
            ("output_tokens", "80"),
            ("cost_usd", "0.003"),
            ("event.sequence", "4"),
        ],
    );
    within("a gRPC export", client.export(turn)).await.unwrap();
    let _started = next_call(&mut stream).await;
    let ended = next_call(&mut stream).await;
    assert_eq!(
        ended["message"],
        "1200 in · 80 out · $0.0030 — session: 2 turns · 1200 in · 80 out · $0.0050"
    );

    // Spans of the MCP conventions over OTLP/HTTP: another service, a session of its own.
    let spans = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![s("service.name", "py-agent")],
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    span_id: vec![1, 2, 3, 4, 5, 6, 7, 8],
                    name: "tools/call add".into(),
                    start_time_unix_nano: 1_765_000_000_000_000_000,
                    end_time_unix_nano: 1_765_000_000_100_000_000,
                    attributes: vec![s("mcp.method.name", "tools/call")],
                    ..Span::default()
                }],
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    };
    let answer = http()
        .post(format!("http://{http_at}/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .body(spans.encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let sessions: Value = http()
        .get(format!("{}/sessions", server.base_url()))
        .bearer_auth(server.admin_token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let labels: Vec<&str> = sessions
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["label"].as_str())
        .collect();
    assert!(labels.contains(&"py-agent"), "{labels:?}");
    let agent = sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["label"]
                .as_str()
                .is_some_and(|l| l.starts_with("claude-code"))
        })
        .unwrap();
    assert_eq!(
        (&agent["model_turns"], &agent["input_tokens"]),
        (&Value::from(2), &Value::from(1200)),
        "{agent}"
    );
    assert!(
        (agent["cost_usd"].as_f64().unwrap() - 0.005).abs() < 1e-12,
        "{agent}"
    );
    assert_eq!(
        labels
            .iter()
            .filter(|l| l.starts_with("claude-code"))
            .count(),
        1,
        "one session for the agent session: {labels:?}"
    );

    let health = health(&server).await;
    assert_eq!(health["otlp"]["records"], 5, "{health}");
    assert_eq!(health["otlp"]["refused"], 0, "{health}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_exports_get_the_otlp_status_and_a_count_and_metrics_are_taken() {
    let (server, http_at, grpc_at) = receiver().await;
    let post = |kind: &'static str, encoding: Option<&'static str>, body: Vec<u8>| {
        let mut request = http()
            .post(format!("http://{http_at}/v1/logs"))
            .header("content-type", kind)
            .body(body);
        if let Some(encoding) = encoding {
            request = request.header("content-encoding", encoding);
        }
        request.send()
    };
    // JSON that is not an export: 400 and a JSON `google.rpc.Status`.
    let answer = post("application/json", None, b"{\"resourceLogs\":7}".to_vec())
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let status: Value = answer.json().await.unwrap();
    assert_eq!(status["code"], 3);
    assert!(status["message"]
        .as_str()
        .unwrap()
        .contains("not an OTLP JSON export"));
    // Protobuf that is not: 400 and a protobuf Status (field 2 is its message).
    let answer = post("application/x-protobuf", None, vec![0xff; 32])
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    assert_eq!(answer.headers()["content-type"], "application/x-protobuf");
    let body = answer.bytes().await.unwrap();
    assert!(String::from_utf8_lossy(&body).contains("not an OTLP protobuf export"));
    // An unknown content type, and a body that is not gzip.
    let answer = post("text/plain", None, b"hi".to_vec()).await.unwrap();
    assert_eq!(answer.status(), 415);
    let answer = post("application/json", Some("gzip"), b"not gzip".to_vec())
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    // A small gzip that inflates past the bound: refused, not inflated.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..=(mcptop::server::otlp::MAX_DECODED >> 20) {
        gz.write_all(&zeros).unwrap();
    }
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 1 << 20);
    let answer = post("application/x-protobuf", Some("gzip"), bomb)
        .await
        .unwrap();
    assert_eq!(answer.status(), 413);
    // One byte over the bound as sent: the OTLP status in the request's encoding.
    let answer = post(
        "application/json",
        None,
        vec![b' '; mcptop::server::otlp::MAX_BODY + 1],
    )
    .await
    .unwrap();
    assert_eq!(answer.status(), 413);
    let status: Value = answer.json().await.unwrap();
    assert!(
        status["message"].as_str().unwrap().contains("as sent"),
        "{status}"
    );
    // Metrics: taken and dropped.
    let answer = http()
        .post(format!("http://{http_at}/v1/metrics"))
        .header("content-type", "application/json")
        .body("{\"resourceMetrics\":[]}")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    // A gRPC export that is not protobuf: tonic's own refusal, counted too.
    let grpc = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let answer = grpc
        .post(format!(
            "http://{grpc_at}/opentelemetry.proto.collector.logs.v1.LogsService/Export"
        ))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(vec![0, 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff])
        .send()
        .await
        .unwrap();
    let status = answer
        .headers()
        .get("grpc-status")
        .map(|v| v.to_str().unwrap().to_owned());
    assert!(status.is_some_and(|s| s != "0"), "{:?}", answer.headers());
    let health = health(&server).await;
    assert_eq!(health["otlp"]["refused"], 7, "{health}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_port_taken_says_which_receiver_and_what_to_do() {
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let at = held.local_addr().unwrap();
    let config = mcptop::server::ServerConfig {
        otlp_http: Some(at),
        ..Default::default()
    };
    let Err(e) = mcptop::server::start(config).await else {
        panic!("the port is held");
    };
    let text = e.to_string();
    assert!(
        text.contains(&format!("cannot receive OTLP/HTTP on {at}")),
        "{text}"
    );
    assert!(text.contains("--otlp-http"), "{text}");
}

/// What a collector was sent: (content type, body).
type Seen = std::sync::Arc<std::sync::Mutex<Vec<(String, Vec<u8>)>>>;

/// A collector on loopback that keeps what it is sent, answering 503 to the first
/// `fail_first` requests.
struct Collector {
    addr: SocketAddr,
    seen: Seen,
}

async fn collector(fail_first: usize) -> Collector {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    let keep = seen.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let keep = keep.clone();
                let count = count.clone();
                async move {
                    if count.fetch_add(1, Ordering::SeqCst) < fail_first {
                        return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                    }
                    let kind = headers["content-type"].to_str().unwrap().to_owned();
                    keep.lock().unwrap().push((kind, body.to_vec()));
                    axum::http::StatusCode::OK
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Collector { addr, seen }
}

async fn publish(server: &RunningServer, id: &str, token: &str, body: Value) {
    let answer = http()
        .post(format!("{}/session/{id}/publish", server.base_url()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}

#[tokio::test]
async fn every_call_leaves_as_a_span_and_a_refusing_collector_is_tried_again() {
    use opentelemetry_proto::tonic::common::v1::any_value::Value as A;
    let collector = collector(1).await;
    let endpoint = format!("http://{}", collector.addr);
    let server = start(|c| {
        c.otlp_export = Some(
            mcptop::server::export::ExportConfig::new(&endpoint, None, Some("x-team=blue"))
                .unwrap(),
        );
    })
    .await;
    let created = owner_session(&server, serde_json::json!({"label": "shop"})).await;
    let (id, token) = (
        created["session_id"].as_str().unwrap(),
        created["token"].as_str().unwrap(),
    );
    publish(
        &server,
        id,
        token,
        serde_json::json!([
            {"type": "call", "token": "7", "tool": "search", "state": "started",
             "timestamp": "2026-12-06T10:00:00Z",
             "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
            {"type": "progress", "token": "7", "tool": "search", "progress": 1, "total": 2,
             "timestamp": "2026-12-06T10:00:01Z"},
            {"type": "call", "token": "7", "tool": "search", "state": "finished",
             "timestamp": "2026-12-06T10:00:02Z"},
        ]),
    )
    .await;
    // The first answer is a 503: the batch goes again (after half a second).
    let deadline = std::time::Instant::now() + super::WAIT;
    while collector.seen.lock().unwrap().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no span reached the collector"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (kind, body) = collector.seen.lock().unwrap()[0].clone();
    assert_eq!(kind, "application/x-protobuf");
    let request = ExportTraceServiceRequest::decode(&body[..]).unwrap();
    let resource = &request.resource_spans[0];
    let attr = |kvs: &[KeyValue], key: &str| {
        kvs.iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref())
            .and_then(|v| v.value.clone())
    };
    let resource_attrs = &resource.resource.as_ref().unwrap().attributes;
    assert_eq!(
        attr(resource_attrs, "service.name"),
        Some(A::StringValue("mcptop".into()))
    );
    assert_eq!(
        attr(resource_attrs, "mcptop.session.label"),
        Some(A::StringValue("shop".into()))
    );
    let span = &resource.scope_spans[0].spans[0];
    assert_eq!(span.name, "tools/call search");
    assert_eq!(
        span.end_time_unix_nano - span.start_time_unix_nano,
        2_000_000_000
    );
    assert_eq!(
        attr(&span.attributes, "gen_ai.tool.name"),
        Some(A::StringValue("search".into()))
    );
    assert_eq!(
        attr(&span.attributes, "mcp.method.name"),
        Some(A::StringValue("tools/call".into()))
    );
    // The agent's trace, joined.
    assert_eq!(span.trace_id[..2], [0x0a, 0xf7]);
    assert_eq!(span.parent_span_id[..2], [0xb7, 0xad]);
    assert_eq!(span.events[0].name, "progress");
    let health = health(&server).await;
    let export = &health["otlp_export"];
    assert_eq!(
        (export["spans"].as_u64(), export["retries"].as_u64()),
        (Some(1), Some(1)),
        "{health}"
    );
    assert_eq!(export["dropped"], 0, "{health}");
    assert!(
        !health.to_string().contains("blue"),
        "a header's value never shows: {health}"
    );
    server.shutdown().await.unwrap();
}
