//! The OTLP receiver (`mcptop serve --otlp`): agents' OpenTelemetry in, calls out.
//!
//! OTLP/HTTP (`POST /v1/logs`, `/v1/traces`, `/v1/metrics`; protobuf or JSON, gzip or
//! not, answered in the request's content type) and OTLP/gRPC (the three collector
//! services, gzip accepted) are served on every OTLP listener: 4318 and 4317 by
//! convention. Metrics are accepted and dropped. What a log event or a span says of a tool
//! call ([`crate::otel`]) is published on the agent session's daemon session, the one its
//! hooks publish on too (`POST /session` with the same `agent_session`): one row per call.
//!
//! Only loopback connections of this user are served (the peer's socket is looked up by
//! owner, as `tail` checks the daemon's), so no other local user can put rows on the
//! owner's monitor. A malformed or oversized export is refused with the OTLP error status,
//! counted on `/health`, and nothing of it is shown.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use serde::Serialize;

use super::hub::EventKind;
use super::session::Session;
use super::AppState;
use crate::otel::Batch;
use crate::time::Time;
use crate::wire::schema::Published;

/// The largest export taken, as sent (compressed or not) and once decompressed.
pub const MAX_BODY: usize = 16 << 20;
pub const MAX_DECODED: usize = 64 << 20;

/// What the receiver has taken and refused, for `/health`.
#[derive(Default)]
pub struct Counts {
    pub exports: AtomicU64,
    pub records: AtomicU64,
    pub calls: AtomicU64,
    /// Exports refused: unreadable, too large, of an unknown type.
    pub refused: AtomicU64,
    /// Connections refused: not of this user.
    pub strangers: AtomicU64,
}

/// `/health`'s `otlp`.
#[derive(Serialize)]
pub struct Health {
    pub http: Option<String>,
    pub grpc: Option<String>,
    pub exports: u64,
    pub records: u64,
    pub calls: u64,
    pub refused: u64,
    pub strangers: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

/// The agent sessions the daemon holds a session for: `claude-code/<id>` → session id.
#[derive(Default)]
pub struct Agents {
    by_key: Mutex<HashMap<String, String>>,
}

impl Agents {
    /// The daemon session of an agent session: the one it has, or a new one (`label`).
    pub fn session(
        &self,
        state: &AppState,
        key: &str,
        label: Option<String>,
        cwd: String,
    ) -> Result<Arc<Session>, super::session::Full> {
        let mut by_key = self.by_key.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(session) = by_key.get(key).and_then(|id| state.sessions.get(id)) {
            return Ok(session);
        }
        // Sessions end (idle, or evicted): their entries go with them.
        by_key.retain(|_, id| state.sessions.get(id).is_some());
        let session = state.sessions.try_create(label, cwd, false)?;
        by_key.insert(key.to_owned(), session.id.clone());
        Ok(session)
    }
}

/// The OTLP routes: HTTP and gRPC.
pub fn router(state: Arc<AppState>) -> Router {
    let receiver = Receiver(Arc::clone(&state));
    let gzip = tonic::codec::CompressionEncoding::Gzip;
    let logs = LogsServiceServer::new(receiver.clone())
        .accept_compressed(gzip)
        .max_decoding_message_size(MAX_DECODED);
    let traces = TraceServiceServer::new(receiver.clone())
        .accept_compressed(gzip)
        .max_decoding_message_size(MAX_DECODED);
    let metrics = MetricsServiceServer::new(receiver)
        .accept_compressed(gzip)
        .max_decoding_message_size(MAX_DECODED);
    // A gRPC export refused before it reaches the service (unreadable, too large) gets
    // tonic's own status; it is counted here, like an OTLP/HTTP refusal.
    let grpc = Router::new()
        .route_service(
            "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
            logs,
        )
        .route_service(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            traces,
        )
        .route_service(
            "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
            metrics,
        )
        .layer(axum::middleware::map_response_with_state(
            Arc::clone(&state),
            count_grpc_refusal,
        ));
    Router::new()
        .route("/v1/logs", post(http_logs))
        .route("/v1/traces", post(http_traces))
        .route("/v1/metrics", post(http_metrics))
        .with_state(state)
        .merge(grpc)
}

/// Counts a gRPC answer that is an error (`grpc-status` other than 0 in its headers: a
/// refusal answers before any message).
async fn count_grpc_refusal(State(state): State<Arc<AppState>>, response: Response) -> Response {
    if response
        .headers()
        .get("grpc-status")
        .is_some_and(|v| v.as_bytes() != b"0")
    {
        state.otlp.counts.refused.fetch_add(1, Ordering::Relaxed);
    }
    response
}

/// Publishes what an export says of calls; the number of call events published.
fn take(state: &AppState, batch: Batch) -> Result<u64, String> {
    let counts = &state.otlp;
    counts.counts.exports.fetch_add(1, Ordering::Relaxed);
    counts
        .counts
        .records
        .fetch_add(batch.records, Ordering::Relaxed);
    let home = super::resolve_cwd(None);
    let mut published = 0u64;
    for (i, agent) in batch.sessions.iter().enumerate() {
        let session = counts
            .agents
            .session(state, &agent.key, Some(agent.label.clone()), home.clone())
            .map_err(|full| full.to_string())?;
        let mut cut = 0u64;
        let mut ready = Vec::new();
        let mut seen = Vec::new();
        for report in batch.reports.iter().filter(|r| r.session == i) {
            let mut event = report.event.clone();
            if let Some(turn) = &report.usage {
                // A model turn's end also says what the session has cost so far.
                let mut usage = session.usage.lock().unwrap_or_else(PoisonError::into_inner);
                usage.add(turn);
                let turn = event.message.as_deref().unwrap_or("model turn");
                event.message = Some(std::borrow::Cow::Owned(format!(
                    "{turn} — {}",
                    usage.session_summary()
                )));
            }
            if session.exported() {
                seen.push(super::export::Observed::call(&event, Time::now()));
            }
            if let Ok(event) = super::ingest::encode(Published::Call(event), &mut cut) {
                ready.push(event);
            }
        }
        if cut > 0 {
            session.cut_fields.fetch_add(cut, Ordering::Relaxed);
        }
        let items: Vec<(EventKind, &str, Time)> = ready
            .iter()
            .map(|(kind, json, at)| (*kind, json.as_str(), *at))
            .collect();
        session.publish_batch(&items);
        session.export(seen);
        published += items.len() as u64;
    }
    counts.counts.calls.fetch_add(published, Ordering::Relaxed);
    Ok(published)
}

/// The receiver's state in the daemon.
#[derive(Default)]
pub struct Otlp {
    pub counts: Counts,
    pub agents: Agents,
    /// Where it listens (for `/health`).
    pub http: Mutex<Option<String>>,
    pub grpc: Mutex<Option<String>>,
    /// Why a receiver asked for does not run (its port was taken).
    pub missing: Mutex<Vec<String>>,
    pub rules: crate::redact::Rules,
}

impl Otlp {
    pub fn new(rules: crate::redact::Rules) -> Otlp {
        Otlp {
            rules,
            ..Otlp::default()
        }
    }

    pub fn health(&self) -> Health {
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Health {
            http: self
                .http
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            grpc: self
                .grpc
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            exports: n(&self.counts.exports),
            records: n(&self.counts.records),
            calls: n(&self.counts.calls),
            refused: n(&self.counts.refused),
            strangers: n(&self.counts.strangers),
            missing: self
                .missing
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// OTLP/HTTP

#[derive(Clone, Copy, PartialEq)]
enum Encoding {
    Protobuf,
    Json,
}

/// `google.rpc.Status`, the body of an OTLP/HTTP error.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

fn content_type(encoding: Encoding) -> &'static str {
    match encoding {
        Encoding::Protobuf => "application/x-protobuf",
        Encoding::Json => "application/json",
    }
}

/// An OTLP/HTTP error: `google.rpc.Status` in the request's encoding (JSON when it has
/// none we know). Counted.
fn refuse(state: &AppState, status: StatusCode, encoding: Encoding, message: &str) -> Response {
    state.otlp.counts.refused.fetch_add(1, Ordering::Relaxed);
    // INVALID_ARGUMENT, or UNAVAILABLE for what may work later.
    let code = if status == StatusCode::SERVICE_UNAVAILABLE {
        14
    } else {
        3
    };
    let body = match encoding {
        Encoding::Protobuf => RpcStatus {
            code,
            message: message.to_owned(),
        }
        .encode_to_vec(),
        Encoding::Json => serde_json::json!({ "code": code, "message": message })
            .to_string()
            .into_bytes(),
    };
    (
        status,
        [(header::CONTENT_TYPE, content_type(encoding))],
        body,
    )
        .into_response()
}

/// The request's encoding (by `Content-Type`) and its body, decompressed.
fn open(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(Encoding, Bytes), (StatusCode, Encoding, String)> {
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let encoding = match kind.as_str() {
        "application/x-protobuf" | "application/protobuf" => Encoding::Protobuf,
        "application/json" => Encoding::Json,
        _ => {
            return Err((
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Encoding::Json,
                "OTLP/HTTP takes application/x-protobuf or application/json".into(),
            ))
        }
    };
    let coding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .trim()
        .to_ascii_lowercase();
    match coding.as_str() {
        "" | "identity" => Ok((encoding, body.clone())),
        "gzip" | "x-gzip" => {
            use std::io::Read;
            let mut out = Vec::new();
            let mut reader =
                flate2::read::MultiGzDecoder::new(&body[..]).take(MAX_DECODED as u64 + 1);
            reader.read_to_end(&mut out).map_err(|e| {
                (
                    StatusCode::BAD_REQUEST,
                    encoding,
                    format!("the gzip body cannot be read: {e}"),
                )
            })?;
            if out.len() > MAX_DECODED {
                return Err((
                    StatusCode::PAYLOAD_TOO_LARGE,
                    encoding,
                    format!("the export is over {} MiB decompressed", MAX_DECODED >> 20),
                ));
            }
            Ok((encoding, Bytes::from(out)))
        }
        other => Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            encoding,
            format!(
                "Content-Encoding {} is not taken (gzip or none)",
                crate::sanitize::cut(&crate::sanitize::terminal(other), 40)
            ),
        )),
    }
}

fn decode<T: Message + Default + serde::de::DeserializeOwned>(
    encoding: Encoding,
    body: &[u8],
) -> Result<T, String> {
    match encoding {
        Encoding::Protobuf => {
            T::decode(body).map_err(|e| format!("not an OTLP protobuf export: {e}"))
        }
        Encoding::Json => {
            serde_json::from_slice(body).map_err(|e| format!("not an OTLP JSON export: {e}"))
        }
    }
}

/// An empty `Export*ServiceResponse` (all taken) in `encoding`.
fn accepted(encoding: Encoding) -> Response {
    let body: Vec<u8> = match encoding {
        // Every field of the response is optional: the empty message.
        Encoding::Protobuf => Vec::new(),
        Encoding::Json => b"{}".to_vec(),
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, content_type(encoding))],
        body,
    )
        .into_response()
}

async fn http_export<T, F>(
    state: Arc<AppState>,
    headers: HeaderMap,
    body: axum::body::Body,
    read: F,
) -> Response
where
    T: Message + Default + serde::de::DeserializeOwned,
    F: FnOnce(&T, &crate::redact::Rules) -> Option<Batch>,
{
    // Read here, not by an extractor: a body past the bound gets the OTLP status, counted.
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(body) => body,
        Err(_) => {
            let encoding = match open(&headers, &Bytes::new()) {
                Ok((encoding, _)) | Err((_, encoding, _)) => encoding,
            };
            return refuse(
                &state,
                StatusCode::PAYLOAD_TOO_LARGE,
                encoding,
                &format!(
                    "the export is over {} MiB as sent, or it broke off",
                    MAX_BODY >> 20
                ),
            );
        }
    };
    let (encoding, body) = match open(&headers, &body) {
        Ok(opened) => opened,
        Err((status, encoding, why)) => return refuse(&state, status, encoding, &why),
    };
    let request: T = match decode(encoding, &body) {
        Ok(r) => r,
        Err(why) => return refuse(&state, StatusCode::BAD_REQUEST, encoding, &why),
    };
    let Some(batch) = read(&request, &state.otlp.rules) else {
        return accepted(encoding);
    };
    match take(&state, batch) {
        Ok(_) => accepted(encoding),
        Err(why) => refuse(&state, StatusCode::SERVICE_UNAVAILABLE, encoding, &why),
    }
}

async fn http_logs(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    http_export(
        state,
        headers,
        body,
        |r: &ExportLogsServiceRequest, rules| Some(crate::otel::logs(r, rules)),
    )
    .await
}

async fn http_traces(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    http_export(
        state,
        headers,
        body,
        |r: &ExportTraceServiceRequest, rules| Some(crate::otel::spans(r, rules)),
    )
    .await
}

/// Metrics are taken (an agent sends them beside its events) and dropped.
async fn http_metrics(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    http_export(
        state,
        headers,
        body,
        |_: &ExportMetricsServiceRequest, _| None,
    )
    .await
}

// ---------------------------------------------------------------------------------------
// OTLP/gRPC

#[derive(Clone)]
struct Receiver(Arc<AppState>);

impl Receiver {
    fn take(&self, batch: Batch) -> Result<(), tonic::Status> {
        take(&self.0, batch)
            .map(|_| ())
            .map_err(tonic::Status::unavailable)
    }
}

#[tonic::async_trait]
impl LogsService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, tonic::Status> {
        self.take(crate::otel::logs(request.get_ref(), &self.0.otlp.rules))?;
        Ok(tonic::Response::new(ExportLogsServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.take(crate::otel::spans(request.get_ref(), &self.0.otlp.rules))?;
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Receiver {
    async fn export(
        &self,
        _request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        self.0.otlp.counts.exports.fetch_add(1, Ordering::Relaxed);
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}
