//! The OTLP receiver's speed (budget: at least 100,000 log records per second on the
//! 2-core machine), measured beside a baseline in the same run:
//!
//! - in process: an export of 512 Claude Code records (decision, result and model turn
//!   for each call) decoded from protobuf alone (the floor), and decoded and translated
//!   into call events ([`mcptop::otel::logs`]);
//! - over loopback: `mcptop serve`'s OTLP/HTTP receiver taking those exports (protobuf,
//!   2 clients), and, as the baseline, the taps' own route (`POST /session/{id}/publish`)
//!   taking the same call events as JSON.
//!
//! `cargo bench --bench otlp_ingest` (MCPTOP_BENCH_SECS to change the 3 s per part).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mcptop::redact::Rules;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

const RECORDS: usize = 512;

fn s(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(Any::StringValue(value.into())),
        }),
        ..KeyValue::default()
    }
}

/// 512 records as Claude Code sends them: per call, its decision, its result, a model turn.
fn export(batch: usize) -> ExportLogsServiceRequest {
    let mut records = Vec::with_capacity(RECORDS);
    for i in 0..RECORDS {
        let call = format!("toolu_{batch}_{}", i / 3);
        let (name, mut attrs) = match i % 3 {
            0 => (
                "tool_decision",
                vec![
                    s("tool_name", "Bash"),
                    s("tool_use_id", &call),
                    s("decision", "accept"),
                    s("source", "config"),
                    s(
                        "tool_parameters",
                        r#"{"bash_command":"cargo","full_command":"cargo test --workspace","description":"run the tests"}"#,
                    ),
                ],
            ),
            1 => (
                "tool_result",
                vec![
                    s("tool_name", "Bash"),
                    s("tool_use_id", &call),
                    s("success", "true"),
                    s("duration_ms", "2067"),
                    s(
                        "tool_input",
                        r#"{"command":"cargo test --workspace","description":"run the tests"}"#,
                    ),
                ],
            ),
            _ => (
                "api_request",
                vec![
                    s("model", "claude-sonnet-4-5"),
                    s("input_tokens", "1200"),
                    s("output_tokens", "80"),
                    s("cost_usd", "0.0123"),
                    s("duration_ms", "900"),
                ],
            ),
        };
        attrs.extend([
            s("event.name", name),
            s("session.id", "0f6dcf83-140c-486c-8f9f-4a84988eb643"),
            s("event.timestamp", "2026-12-06T02:52:02.204Z"),
            s("event.sequence", &i.to_string()),
            s("prompt.id", "88bcf41b-64f6-4c91-83d3-8c185019a063"),
        ]);
        records.push(LogRecord {
            time_unix_nano: 1_765_000_000_000_000_000,
            body: Some(AnyValue {
                value: Some(Any::StringValue(format!("claude_code.{name}"))),
            }),
            attributes: attrs,
            ..LogRecord::default()
        });
    }
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![
                    s("service.name", "claude-code"),
                    s("service.version", "2.1.332"),
                ],
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

fn rate(records: usize, took: Duration) -> f64 {
    records as f64 / took.as_secs_f64()
}

fn main() {
    let secs: f64 = std::env::var("MCPTOP_BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3.0);
    let body = export(0).encode_to_vec();
    println!(
        "an export: {RECORDS} records, {} KiB of protobuf\n",
        body.len() / 1024
    );

    // In process, alternating blocks so drift hits both alike.
    let rules = Rules::default();
    let (mut floor, mut ours) = (Vec::new(), Vec::new());
    let started = Instant::now();
    let mut calls = 0usize;
    while started.elapsed().as_secs_f64() < secs {
        let t = Instant::now();
        for _ in 0..20 {
            std::hint::black_box(ExportLogsServiceRequest::decode(&body[..]).unwrap());
        }
        floor.push(rate(20 * RECORDS, t.elapsed()));
        let t = Instant::now();
        for _ in 0..20 {
            let request = ExportLogsServiceRequest::decode(&body[..]).unwrap();
            calls = std::hint::black_box(mcptop::otel::logs(&request, &rules))
                .reports
                .len();
        }
        ours.push(rate(20 * RECORDS, t.elapsed()));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (floor, ours) = (median(&mut floor), median(&mut ours));
    println!("in process ({calls} call events per export):");
    println!(
        "  protobuf decode alone (floor)   {:>10.0} records/s",
        floor
    );
    println!(
        "  decode + translate              {:>10.0} records/s  ({:.2}× the floor's time)",
        ours,
        floor / ours
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(over_loopback(secs, body));
}

async fn over_loopback(secs: f64, body: Vec<u8>) {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let server = mcptop::server::start(mcptop::server::ServerConfig {
        otlp_http: Some(any),
        ..Default::default()
    })
    .await
    .unwrap();
    let (Some(otlp), _) = server.otlp_addrs() else {
        panic!("no receiver");
    };
    let client = reqwest::Client::new();
    // The baseline's events: what the receiver makes of one export, as the taps send it.
    let batch = mcptop::otel::logs(
        &ExportLogsServiceRequest::decode(&body[..]).unwrap(),
        &Rules::default(),
    );
    let events: Vec<serde_json::Value> = batch
        .reports
        .iter()
        .map(|r| {
            let mut v = serde_json::to_value(&r.event).unwrap();
            v["type"] = "call".into();
            v
        })
        .collect();
    let publish_body = serde_json::to_vec(&events).unwrap();
    let session: serde_json::Value = client
        .post(format!("{}/session", server.base_url()))
        .bearer_auth(server.admin_token())
        .json(&serde_json::json!({"label": "bench"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let publish = format!(
        "{}/session/{}/publish",
        server.base_url(),
        session["session_id"].as_str().unwrap()
    );
    let token = session["token"].as_str().unwrap().to_owned();

    let run = |url: String, body: Vec<u8>, kind: &'static str, bearer: Option<String>| {
        let client = client.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs_f64(secs / 2.0);
            let mut n = 0usize;
            while Instant::now() < deadline {
                let mut request = client
                    .post(&url)
                    .header("content-type", kind)
                    .body(body.clone());
                if let Some(t) = &bearer {
                    request = request.bearer_auth(t);
                }
                let answer = request.send().await.unwrap();
                assert!(answer.status().is_success(), "{}", answer.status());
                n += 1;
            }
            n
        }
    };
    let mut otlp_rates = Vec::new();
    let mut tap_rates = Vec::new();
    for _ in 0..2 {
        let t = Instant::now();
        let (a, b) = tokio::join!(
            run(
                format!("http://{otlp}/v1/logs"),
                body.clone(),
                "application/x-protobuf",
                None
            ),
            run(
                format!("http://{otlp}/v1/logs"),
                body.clone(),
                "application/x-protobuf",
                None
            ),
        );
        otlp_rates.push(rate((a + b) * RECORDS, t.elapsed()));
        let t = Instant::now();
        let (a, b) = tokio::join!(
            run(
                publish.clone(),
                publish_body.clone(),
                "application/json",
                Some(token.clone())
            ),
            run(
                publish.clone(),
                publish_body.clone(),
                "application/json",
                Some(token.clone())
            ),
        );
        tap_rates.push(rate((a + b) * events.len(), t.elapsed()));
    }
    let best = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    println!("\nover loopback (2 clients, best of 2 alternating rounds):");
    println!(
        "  OTLP/HTTP protobuf receiver     {:>10.0} records/s  (budget 100000)",
        best(&otlp_rates)
    );
    println!(
        "  taps' publish route (baseline)  {:>10.0} call events/s  ({} call events per {} records)",
        best(&tap_rates),
        events.len(),
        RECORDS
    );
    server.shutdown().await.unwrap();
}
