//! OpenTelemetry out (`mcptop serve --otlp-endpoint URL`): every call of the owner's
//! sessions leaves as a span of the MCP semantic conventions, for the team's backend.
//!
//! A task follows the all-sessions stream like any subscriber (so it never slows a
//! publisher: when it falls behind, the bus drops for it, and the loss is counted), pairs
//! each call's start with its end, and sends finished spans in batches (a second, or 512
//! spans) over OTLP/HTTP (protobuf or JSON) or OTLP/gRPC. A batch that fails for a reason
//! that may pass (a connection refused, 429, 502–504, gRPC UNAVAILABLE) is tried again
//! with a growing pause; the queue is bounded, and what falls out of it is counted as
//! dropped on `/health`.
//!
//! - name `tools/call {tool}`, kind CLIENT; `mcp.method.name`, `gen_ai.operation.name =
//!   execute_tool`, `gen_ai.tool.name`, `jsonrpc.request.id` (the call's token), `error.type`
//!   and an error status when it failed, was cancelled or lost;
//! - an agent's model turn: `chat {model}`, `gen_ai.operation.name = chat`;
//! - progress notifications and waits (`waiting for permission`) as span events;
//! - the session as resource attributes (`mcptop.session.id`, `mcptop.session.label`,
//!   `service.name = mcptop`); a call that carried a W3C `traceparent` joins that trace.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    span, status, ResourceSpans, ScopeSpans, Span, Status,
};
use prost::Message;

use super::hub::EventKind;
use super::AppState;
use crate::time::Time;
use crate::wire::CallState;

/// Calls started and not ended that are remembered (the oldest go first, counted).
const MAX_OPEN: usize = 10_000;
/// Span events kept per span (progress notifications past it are counted, not kept).
const MAX_EVENTS: usize = 32;
/// Spans waiting to be sent; past it the oldest are dropped and counted.
const MAX_QUEUE: usize = 8192;
/// Spans per export request.
const BATCH: usize = 512;
/// How often a partial batch is sent.
const FLUSH: Duration = Duration::from_secs(1);
/// Tries of one batch before it is dropped.
const TRIES: u32 = 5;

/// How spans are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    #[default]
    HttpProtobuf,
    HttpJson,
    Grpc,
}

impl Protocol {
    /// The word `OTEL_EXPORTER_OTLP_PROTOCOL` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::HttpProtobuf => "http/protobuf",
            Protocol::HttpJson => "http/json",
            Protocol::Grpc => "grpc",
        }
    }

    /// `http/protobuf`, `http/json` or `grpc` (the values of `OTEL_EXPORTER_OTLP_PROTOCOL`).
    pub fn parse(s: &str) -> Option<Protocol> {
        match s.trim() {
            "http/protobuf" => Some(Protocol::HttpProtobuf),
            "http/json" => Some(Protocol::HttpJson),
            "grpc" => Some(Protocol::Grpc),
            _ => None,
        }
    }
}

/// Where and how to send spans.
#[derive(Clone, PartialEq, Eq)]
pub struct ExportConfig {
    /// For HTTP, the base (`/v1/traces` is added) or, with `traces_path_given`, the whole
    /// URL; for gRPC, the server's URL.
    pub endpoint: url::Url,
    pub protocol: Protocol,
    /// Headers every request carries (API keys: never shown).
    pub headers: Vec<(String, String)>,
    /// `endpoint` is the traces URL itself (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`).
    pub traces_path_given: bool,
}

impl std::fmt::Debug for ExportConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportConfig")
            .field(
                "endpoint",
                &crate::sanitize::redact_urls(self.endpoint.as_str()),
            )
            .field("protocol", &self.protocol)
            .field(
                "headers",
                &format!("{} (values not shown)", self.headers.len()),
            )
            .finish()
    }
}

impl ExportConfig {
    /// From the command line, the config file and the standard environment; `Err` says
    /// what to fix. `headers`: `k=v,k2=v2` with URL-encoded values, as
    /// `OTEL_EXPORTER_OTLP_HEADERS`.
    pub fn new(
        endpoint: &str,
        protocol: Option<&str>,
        headers: Option<&str>,
    ) -> Result<ExportConfig, String> {
        let shown = crate::sanitize::redact_urls(endpoint);
        let endpoint = url::Url::parse(endpoint.trim())
            .map_err(|e| format!("the OTLP endpoint {shown} is not a URL ({e})"))?;
        if !matches!(endpoint.scheme(), "http" | "https") {
            return Err(format!(
                "the OTLP endpoint {shown} is not http:// or https://"
            ));
        }
        let protocol = match protocol.filter(|p| !p.trim().is_empty()) {
            None => Protocol::HttpProtobuf,
            Some(p) => Protocol::parse(p).ok_or_else(|| {
                format!(
                    "OTLP protocol {:?} is not http/protobuf, http/json or grpc",
                    crate::sanitize::cut(&crate::sanitize::terminal(p), 40)
                )
            })?,
        };
        let mut pairs = Vec::new();
        for pair in headers
            .unwrap_or_default()
            .split(',')
            .filter(|p| !p.trim().is_empty())
        {
            let (k, v) = pair.split_once('=').ok_or_else(|| {
                "OTEL_EXPORTER_OTLP_HEADERS is not key=value,key=value (values not shown)"
                    .to_owned()
            })?;
            let v = url::form_urlencoded::parse(format!("v={}", v.trim()).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            pairs.push((k.trim().to_owned(), v));
        }
        let local = match endpoint.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        };
        if !pairs.is_empty() && endpoint.scheme() == "http" && !local {
            return Err(format!(
                "the OTLP headers (credentials, as a rule) would go in clear text to {shown}, \
                 which is not this machine: use an https:// endpoint"
            ));
        }
        Ok(ExportConfig {
            endpoint,
            protocol,
            headers: pairs,
            traces_path_given: false,
        })
    }

    fn traces_url(&self) -> String {
        if self.traces_path_given {
            return self.endpoint.to_string();
        }
        format!("{}/v1/traces", self.endpoint.as_str().trim_end_matches('/'))
    }
}

/// What the exporter has done, for `/health`.
#[derive(Default)]
pub struct Counts {
    pub spans: AtomicU64,
    pub batches: AtomicU64,
    /// Spans lost: the queue was full, a batch failed for good, the stream outran the
    /// exporter, too many calls were open.
    pub dropped: AtomicU64,
    pub retries: AtomicU64,
    pub last_error: Mutex<Option<String>>,
}

#[derive(serde::Serialize)]
pub struct Health {
    pub endpoint: String,
    pub protocol: &'static str,
    pub spans: u64,
    pub batches: u64,
    pub dropped: u64,
    pub retries: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl Counts {
    pub fn health(&self, config: &ExportConfig) -> Health {
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Health {
            endpoint: crate::sanitize::redact_urls(config.endpoint.as_str()).into_owned(),
            protocol: config.protocol.as_str(),
            spans: n(&self.spans),
            batches: n(&self.batches),
            dropped: n(&self.dropped),
            retries: n(&self.retries),
            last_error: self
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }

    fn fail(&self, why: String) {
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(why);
    }
}

/// One event of a session as the exporter needs it: typed by its publisher (taps, hooks,
/// the OTLP receiver) or read from the JSON of the daemon's own tools.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    pub progress_event: bool,
    pub token: String,
    pub tool: Option<String>,
    pub state: Option<CallState>,
    pub at: Time,
    pub duration_ms: Option<f64>,
    pub error: Option<String>,
    pub message: Option<String>,
    pub waiting_for: Option<crate::wire::Wait>,
    pub progress: Option<f64>,
    pub total: Option<f64>,
    pub origin: Option<crate::wire::schema::Origin>,
    pub traceparent: Option<String>,
    /// The JSON-RPC id to name, when `token` is not it (a replayed call's token is the
    /// monitor's own id for it, since a server may reuse its tokens).
    pub request_id: Option<String>,
}

fn token_text(token: &serde_json::Value) -> String {
    match token {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Observed {
    /// A call event as published (`at`: when, if it says not).
    pub fn call(c: &crate::wire::schema::CallEvent<'_>, at: Time) -> Observed {
        Observed {
            progress_event: false,
            token: token_text(&c.token),
            tool: Some(c.tool.to_string()),
            state: Some(c.state),
            at: c.timestamp.unwrap_or(at),
            duration_ms: c.duration_ms.map(|d| d as f64),
            error: c.error.as_deref().map(str::to_owned),
            message: c.message.as_deref().map(str::to_owned),
            waiting_for: c.extras.waiting_for,
            origin: c.extras.origin,
            traceparent: c.extras.traceparent.as_deref().map(str::to_owned),
            ..Observed::default()
        }
    }

    /// A progress event as published.
    pub fn progress(p: &crate::wire::schema::ProgressEvent<'_>, at: Time) -> Observed {
        Observed {
            progress_event: true,
            token: token_text(&p.token),
            at: p.timestamp.unwrap_or(at),
            progress: Some(p.progress.0),
            total: p.total.map(|t| t.0),
            message: p.message.as_deref().map(str::to_owned),
            ..Observed::default()
        }
    }

    /// An event's JSON (the daemon's own tools publish JSON); `None` for what is not a
    /// call's news.
    pub fn from_json(kind: EventKind, data: &str, now: Time) -> Option<Observed> {
        match kind {
            EventKind::Call => {
                let c: crate::wire::schema::CallEvent<'_> = serde_json::from_str(data).ok()?;
                Some(Observed::call(&c, now))
            }
            EventKind::Progress => {
                let p: crate::wire::schema::ProgressEvent<'_> = serde_json::from_str(data).ok()?;
                Some(Observed::progress(&p, now))
            }
            EventKind::Server => None,
        }
    }
}

/// A batch of one session's events, on their way to the exporter.
struct Offered {
    session: Arc<str>,
    label: Option<Arc<str>>,
    events: Vec<Observed>,
}

struct Open {
    start: Time,
    tool: String,
    label: Option<Arc<str>>,
    model: bool,
    trace: Option<([u8; 16], [u8; 8])>,
    events: Vec<span::Event>,
    /// The order it opened in (the oldest goes first when too many are open).
    seq: u64,
    /// What its findings are judged from (see [`Open::finding`]).
    watch: Watch,
}

/// A call's progress so far, for the findings a span carries: progress that did not
/// increase, progress past its total, a stall (a quiet spell far beyond the call's own
/// cadence, as the monitor judges it).
#[derive(Default)]
struct Watch {
    last_progress: Option<f64>,
    total: Option<f64>,
    /// Its last news (start, progress, a wait, work going on).
    last_news: Option<Time>,
    /// Progress reports, and the seconds between its news summed.
    reports: u32,
    gaps: u32,
    gap_secs: f64,
    waiting: bool,
    past_total_said: bool,
}

/// The monitor's defaults: a call is never stalled before 10 s of quiet, and is after
/// five times its own cadence (60 s before it has one).
const STALL_MIN_SECS: f64 = 10.0;
const STALL_FACTOR: f64 = 5.0;
const STALL_WITHOUT_CADENCE_SECS: f64 = 60.0;

impl Open {
    /// A finding as a span event at `at`: `mcptop.finding.kind` is the monitor's name of
    /// it (`stalled`, `progress-not-increasing`, `progress-past-total`).
    fn finding(&mut self, at: Time, kind: crate::model::FindingKind, message: String) {
        if self.events.len() < MAX_EVENTS {
            self.events.push(span::Event {
                time_unix_nano: nanos(at),
                name: "mcptop.finding".into(),
                attributes: vec![
                    text("mcptop.finding.kind", kind.name()),
                    text("mcptop.finding.message", &message),
                ],
                ..span::Event::default()
            });
        }
    }

    /// News of the call at `at`: a quiet spell before it that was a stall is said (as
    /// of when the call went quiet), and the call's cadence learns from it.
    fn news(&mut self, at: Time) {
        let Some(last) = self.watch.last_news.replace(at) else {
            return;
        };
        let quiet = (at - last).as_seconds_f64().max(0.0);
        let w = &self.watch;
        if w.reports > 0 && !w.waiting {
            let threshold = if w.gaps >= 2 {
                (STALL_FACTOR * w.gap_secs / f64::from(w.gaps)).max(STALL_MIN_SECS)
            } else {
                STALL_WITHOUT_CADENCE_SECS
            };
            if quiet > threshold {
                let message = format!(
                    "{} stalled {} (no news; its cadence says {} at most)",
                    self.tool,
                    crate::model::human(at - last),
                    crate::model::human(
                        crate::time::delta_from_secs(threshold).unwrap_or_default()
                    )
                );
                self.finding(last, crate::model::FindingKind::Stalled, message);
            }
        }
        self.watch.gaps += 1;
        self.watch.gap_secs += quiet;
    }

    /// A progress report at `at`.
    fn progress(&mut self, at: Time, progress: f64, total: Option<f64>) {
        self.news(at);
        let tool = self.tool.clone();
        if let Some(last) = self.watch.last_progress {
            if progress <= last {
                let message = format!(
                    "{tool}: progress did not increase ({} after {})",
                    crate::model::num(progress),
                    crate::model::num(last)
                );
                self.finding(at, crate::model::FindingKind::NotIncreasing, message);
            }
        }
        let total = total.or(self.watch.total);
        if let Some(t) = total {
            if crate::model::beyond(progress, t) && !self.watch.past_total_said {
                self.watch.past_total_said = true;
                let message = format!(
                    "{tool}: progress {} is past its total {}",
                    crate::model::num(progress),
                    crate::model::num(t)
                );
                self.finding(at, crate::model::FindingKind::PastTotal, message);
            }
        }
        self.watch.last_progress = Some(progress);
        self.watch.total = total;
        self.watch.reports += 1;
    }
}

/// Calls remembered as ended, so that a late second report of one (an agent's telemetry
/// after its hooks) makes no second span.
const MAX_ENDED: usize = 4096;

/// Pairs starts with ends: the spans of the calls that ended.
#[derive(Default)]
pub struct Spans {
    open: HashMap<(Arc<str>, String), Open>,
    ended: std::collections::HashSet<(Arc<str>, String)>,
    ended_order: VecDeque<(Arc<str>, String)>,
    seq: u64,
    /// Finished spans by session: (id, label) → spans.
    pub done: Vec<(Arc<str>, Option<Arc<str>>, Span)>,
    pub dropped: u64,
}

fn kv(key: &str, value: Any) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

fn text(key: &str, value: &str) -> KeyValue {
    kv(key, Any::StringValue(value.to_owned()))
}

fn nanos(t: Time) -> u64 {
    u64::try_from(t.unix_nanos()).unwrap_or(0)
}

/// `00-<trace id>-<span id>-<flags>` (W3C trace context).
fn parse_traceparent(value: &str) -> Option<([u8; 16], [u8; 8])> {
    let mut parts = value.trim().split('-');
    let (_version, trace, parent) = (parts.next()?, parts.next()?, parts.next()?);
    let mut t = [0u8; 16];
    let mut p = [0u8; 8];
    hex(trace, &mut t)?;
    hex(parent, &mut p)?;
    (t != [0; 16] && p != [0; 8]).then_some((t, p))
}

fn hex(text: &str, out: &mut [u8]) -> Option<()> {
    if text.len() != out.len() * 2 {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(())
}

fn random<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    for b in &mut out {
        *b = fastrand::u8(..);
    }
    if out == [0; N] {
        out[N - 1] = 1;
    }
    out
}

impl Spans {
    /// One event of the all-sessions stream (its JSON, tagged with its session): how the
    /// tests speak to it.
    #[cfg(test)]
    pub fn feed(&mut self, kind: EventKind, data: &str, now: Time) {
        #[derive(serde::Deserialize)]
        struct Tag {
            session: Option<String>,
            session_label: Option<String>,
        }
        let Ok(tag) = serde_json::from_str::<Tag>(data) else {
            return;
        };
        let (Some(session), Some(seen)) = (tag.session, Observed::from_json(kind, data, now))
        else {
            return;
        };
        let label: Option<Arc<str>> = tag.session_label.as_deref().map(Arc::from);
        self.observe(&Arc::from(session), label.as_ref(), seen);
    }

    /// One event of `session`.
    pub fn observe(&mut self, session: &Arc<str>, label: Option<&Arc<str>>, mut e: Observed) {
        let key = (Arc::clone(session), std::mem::take(&mut e.token));
        let at = e.at;
        if e.progress_event {
            if let (Some(open), Some(progress)) = (self.open.get_mut(&key), e.progress) {
                open.progress(at, progress, e.total);
                if open.events.len() < MAX_EVENTS {
                    let mut attributes = vec![kv("mcp.progress", Any::DoubleValue(progress))];
                    if let Some(total) = e.total {
                        attributes.push(kv("mcp.progress.total", Any::DoubleValue(total)));
                    }
                    if let Some(m) = e.message.as_deref() {
                        attributes.push(text("mcp.progress.message", m));
                    }
                    open.events.push(span::Event {
                        time_unix_nano: nanos(at),
                        name: "progress".into(),
                        attributes,
                        ..span::Event::default()
                    });
                }
            }
            return;
        }
        let Some(state) = e.state else { return };
        if e.origin.is_some() && self.ended.contains(&key) {
            return; // an agent's call, already sent: its other reporter, late
        }
        let model = e.origin == Some(crate::wire::schema::Origin::Model);
        let fresh = |seq: u64| Open {
            start: at,
            tool: crate::sanitize::cut(
                e.tool.as_deref().unwrap_or("?"),
                crate::wire::schema::MAX_NAME,
            )
            .into_owned(),
            label: label.cloned(),
            model,
            trace: e.traceparent.as_deref().and_then(parse_traceparent),
            events: Vec::new(),
            seq,
            watch: Watch {
                last_news: Some(at),
                ..Watch::default()
            },
        };
        match state {
            CallState::Started => {
                if self.open.contains_key(&key) {
                    return; // the same call said again (its other reporter)
                }
                if self.open.len() >= MAX_OPEN {
                    if let Some(oldest) = self
                        .open
                        .iter()
                        .min_by_key(|(_, o)| o.seq)
                        .map(|(k, _)| k.clone())
                    {
                        self.open.remove(&oldest);
                        self.dropped += 1;
                    }
                }
                self.seq += 1;
                let open = fresh(self.seq);
                self.open.insert(key, open);
            }
            CallState::Working | CallState::Waiting => {
                if let Some(open) = self.open.get_mut(&key) {
                    open.news(at);
                    open.watch.waiting = state == CallState::Waiting;
                    if open.events.len() < MAX_EVENTS {
                        let name = match (state, e.waiting_for) {
                            (CallState::Waiting, Some(w)) => format!("waiting for {}", w.as_str()),
                            (CallState::Waiting, None) => "waiting".to_owned(),
                            _ => "working".to_owned(),
                        };
                        let mut attributes = Vec::new();
                        if let Some(m) = e.message.as_deref() {
                            attributes.push(text("mcptop.message", m));
                        }
                        open.events.push(span::Event {
                            time_unix_nano: nanos(at),
                            name,
                            attributes,
                            ..span::Event::default()
                        });
                    }
                }
            }
            CallState::Finished | CallState::Failed | CallState::Cancelled | CallState::Lost => {
                let mut open = self.open.remove(&key).unwrap_or_else(|| {
                    // An end never seen to start: its duration says when it did.
                    let mut open = fresh(0);
                    open.start = e
                        .duration_ms
                        .and_then(crate::time::delta_from_millis)
                        .map_or(at, |d| at - d);
                    open
                });
                let end = at.max(open.start);
                open.news(end);
                if e.origin.is_some() {
                    // Agents' keys are never reused: remember it, to ignore its echo.
                    if self.ended_order.len() >= MAX_ENDED {
                        if let Some(old) = self.ended_order.pop_front() {
                            self.ended.remove(&old);
                        }
                    }
                    self.ended.insert(key.clone());
                    self.ended_order.push_back(key.clone());
                }
                let (trace_id, parent) = match open.trace {
                    Some((t, p)) => (t.to_vec(), p.to_vec()),
                    None => (random::<16>().to_vec(), Vec::new()),
                };
                let (name, mut attributes) = if open.model {
                    (
                        format!("chat {}", open.tool),
                        vec![
                            text("gen_ai.operation.name", "chat"),
                            text("gen_ai.request.model", &open.tool),
                        ],
                    )
                } else {
                    (
                        format!("tools/call {}", open.tool),
                        vec![
                            text("mcp.method.name", "tools/call"),
                            text("gen_ai.operation.name", "execute_tool"),
                            text("gen_ai.tool.name", &open.tool),
                            text(
                                "jsonrpc.request.id",
                                e.request_id.as_deref().unwrap_or(&key.1),
                            ),
                        ],
                    )
                };
                let failed = state != CallState::Finished;
                let word = match state {
                    CallState::Failed => "tool_error",
                    CallState::Cancelled => "cancelled",
                    _ => "lost",
                };
                if failed {
                    attributes.push(text("error.type", word));
                }
                self.done.push((
                    key.0,
                    open.label,
                    Span {
                        trace_id,
                        span_id: random::<8>().to_vec(),
                        parent_span_id: parent,
                        name,
                        kind: span::SpanKind::Client as i32,
                        start_time_unix_nano: nanos(open.start),
                        end_time_unix_nano: nanos(end),
                        attributes,
                        events: open.events,
                        status: failed.then(|| Status {
                            message: e.error.clone().unwrap_or_else(|| word.to_owned()),
                            code: status::StatusCode::Error as i32,
                        }),
                        ..Span::default()
                    },
                ));
            }
        }
    }
}

/// Spans in one export request, grouped by session (a resource each).
/// A finished span and the session (id, label) it belongs to.
pub type SessionSpan = (Arc<str>, Option<Arc<str>>, Span);

struct SessionSpans {
    session: Arc<str>,
    label: Option<Arc<str>>,
    spans: Vec<Span>,
}

pub fn request(spans: Vec<SessionSpan>) -> ExportTraceServiceRequest {
    // Sessions in the order they come, each with its label and spans.
    let mut by_session: Vec<SessionSpans> = Vec::new();
    for (session, label, span) in spans {
        match by_session.iter_mut().find(|s| s.session == session) {
            Some(s) => s.spans.push(span),
            None => by_session.push(SessionSpans {
                session,
                label,
                spans: vec![span],
            }),
        }
    }
    ExportTraceServiceRequest {
        resource_spans: by_session
            .into_iter()
            .map(
                |SessionSpans {
                     session,
                     label,
                     spans,
                 }| {
                    let mut attributes = vec![
                        text("service.name", "mcptop"),
                        text("service.version", env!("CARGO_PKG_VERSION")),
                        text("mcptop.session.id", &session),
                    ];
                    if let Some(label) = label {
                        attributes.push(text("mcptop.session.label", &label));
                    }
                    ResourceSpans {
                        resource: Some(Resource {
                            attributes,
                            ..Resource::default()
                        }),
                        scope_spans: vec![ScopeSpans {
                            scope: Some(InstrumentationScope {
                                name: "mcptop".into(),
                                version: env!("CARGO_PKG_VERSION").into(),
                                ..InstrumentationScope::default()
                            }),
                            spans,
                            ..ScopeSpans::default()
                        }],
                        ..ResourceSpans::default()
                    }
                },
            )
            .collect(),
    }
}

/// An export as OTLP/JSON, without the `null`s serde writes for absent messages (the
/// JSON mapping omits them, and collectors choke on them).
fn otlp_json(request: &ExportTraceServiceRequest) -> Vec<u8> {
    fn strip(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                map.retain(|_, v| !v.is_null());
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut value = serde_json::to_value(request).unwrap_or_default();
    strip(&mut value);
    serde_json::to_vec(&value).unwrap_or_default()
}

/// Whether a failure may pass if tried again.
enum Sent {
    Ok,
    Retry(String),
    Fail(String),
}

struct Sender {
    config: ExportConfig,
    http: reqwest::Client,
    grpc: Option<
        opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient<
            tonic::transport::Channel,
        >,
    >,
}

impl Sender {
    fn new(config: ExportConfig) -> Sender {
        Sender {
            config,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            grpc: None,
        }
    }

    async fn send(&mut self, request: &ExportTraceServiceRequest) -> Sent {
        match self.config.protocol {
            Protocol::Grpc => self.send_grpc(request).await,
            Protocol::HttpProtobuf | Protocol::HttpJson => {
                let (kind, body) = if self.config.protocol == Protocol::HttpJson {
                    ("application/json", otlp_json(request))
                } else {
                    ("application/x-protobuf", request.encode_to_vec())
                };
                let mut post = self
                    .http
                    .post(self.config.traces_url())
                    .header("content-type", kind)
                    .body(body);
                for (k, v) in &self.config.headers {
                    post = post.header(k.as_str(), v.as_str());
                }
                match post.send().await {
                    Ok(r) if r.status().is_success() => Sent::Ok,
                    Ok(r) => {
                        let code = r.status().as_u16();
                        let why = format!("the collector answered {code}");
                        if matches!(code, 429 | 502 | 503 | 504) {
                            Sent::Retry(why)
                        } else {
                            Sent::Fail(why)
                        }
                    }
                    Err(e) => Sent::Retry(format!(
                        "cannot reach the collector: {}",
                        crate::sanitize::redact_urls(&e.without_url().to_string())
                    )),
                }
            }
        }
    }

    async fn send_grpc(&mut self, request: &ExportTraceServiceRequest) -> Sent {
        use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
        if self.grpc.is_none() {
            let endpoint =
                match tonic::transport::Endpoint::from_shared(self.config.endpoint.to_string()) {
                    Ok(e) => e
                        .connect_timeout(Duration::from_secs(5))
                        .timeout(Duration::from_secs(10)),
                    Err(e) => return Sent::Fail(format!("not a gRPC endpoint: {e}")),
                };
            match endpoint.connect().await {
                Ok(channel) => self.grpc = Some(TraceServiceClient::new(channel)),
                Err(e) => return Sent::Retry(format!("cannot reach the collector: {e}")),
            }
        }
        let Some(client) = self.grpc.as_mut() else {
            return Sent::Retry("no connection".into());
        };
        let mut call = tonic::Request::new(request.clone());
        for (k, v) in &self.config.headers {
            if let (Ok(k), Ok(v)) = (
                tonic::metadata::MetadataKey::from_bytes(k.to_ascii_lowercase().as_bytes()),
                v.parse(),
            ) {
                call.metadata_mut().insert(k, v);
            }
        }
        match client.export(call).await {
            Ok(_) => Sent::Ok,
            Err(status) => {
                let why = format!("the collector answered {:?}", status.code());
                match status.code() {
                    tonic::Code::Unavailable
                    | tonic::Code::ResourceExhausted
                    | tonic::Code::DeadlineExceeded
                    | tonic::Code::Aborted => {
                        self.grpc = None;
                        Sent::Retry(why)
                    }
                    _ => Sent::Fail(why),
                }
            }
        }
    }
}

/// Sends `spans` in batches (a recording's, by `mcptop export`), each tried as the
/// daemon's are; the spans sent, or why a batch failed for good (what was sent before it
/// stays sent).
pub async fn send_all(config: &ExportConfig, spans: Vec<SessionSpan>) -> Result<usize, String> {
    let mut sender = Sender::new(config.clone());
    let mut sent = 0;
    let mut spans = spans.into_iter().peekable();
    while spans.peek().is_some() {
        let batch: Vec<SessionSpan> = spans.by_ref().take(BATCH).collect();
        let n = batch.len();
        let request = request(batch);
        let mut pause = Duration::from_millis(500);
        for tries in 1.. {
            match sender.send(&request).await {
                Sent::Ok => break,
                Sent::Retry(_) if tries < TRIES => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(16));
                }
                Sent::Retry(why) | Sent::Fail(why) => {
                    return Err(if sent == 0 {
                        why
                    } else {
                        format!("{why} (after {sent} spans were sent)")
                    })
                }
            }
        }
        sent += n;
    }
    Ok(sent)
}

/// Batches of events waiting for the exporter's task; past it, a batch is dropped and
/// counted (a publisher never waits).
const MAX_OFFERED: usize = 4096;

/// The exporter's state in the daemon.
pub struct Exporter {
    pub config: ExportConfig,
    pub counts: Counts,
    offered: tokio::sync::mpsc::Sender<Offered>,
    receiver: Mutex<Option<tokio::sync::mpsc::Receiver<Offered>>>,
}

impl Exporter {
    pub fn new(config: ExportConfig) -> Exporter {
        let (offered, receiver) = tokio::sync::mpsc::channel(MAX_OFFERED);
        Exporter {
            config,
            counts: Counts::default(),
            offered,
            receiver: Mutex::new(Some(receiver)),
        }
    }

    /// A session's events, for spans; never waits (a full queue drops them, counted).
    pub fn offer(&self, session: &super::Session, events: Vec<Observed>) {
        let n = events.len() as u64;
        let batch = Offered {
            session: Arc::from(session.id.as_str()),
            label: session.label.as_deref().map(Arc::from),
            events,
        };
        if self.offered.try_send(batch).is_err() {
            self.counts.dropped.fetch_add(n, Ordering::Relaxed);
        }
    }
}

/// Starts the exporter: one task pairs the sessions' events into spans and sends them in
/// batches. It ends on shutdown (the last spans are tried once first).
pub fn spawn(state: &Arc<AppState>) {
    let Some(exporter) = state.exporter.clone() else {
        return;
    };
    let Some(mut offered) = exporter
        .receiver
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
    else {
        return;
    };
    let shutdown = state.shutdown.clone();
    tokio::spawn(async move {
        let mut sender = Sender::new(exporter.config.clone());
        let mut spans = Spans::default();
        let mut queue: VecDeque<(Arc<str>, Option<Arc<str>>, Span)> = VecDeque::new();
        let mut flush = tokio::time::interval(FLUSH);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let stopping = tokio::select! {
                _ = shutdown.cancelled() => true,
                _ = flush.tick() => false,
                batch = offered.recv() => match batch {
                    Some(batch) => {
                        for e in batch.events {
                            spans.observe(&batch.session, batch.label.as_ref(), e);
                        }
                        for span in spans.done.drain(..) {
                            if queue.len() >= MAX_QUEUE {
                                queue.pop_front();
                                exporter.counts.dropped.fetch_add(1, Ordering::Relaxed);
                            }
                            queue.push_back(span);
                        }
                        if spans.dropped > 0 {
                            exporter
                                .counts
                                .dropped
                                .fetch_add(std::mem::take(&mut spans.dropped), Ordering::Relaxed);
                        }
                        if queue.len() < BATCH {
                            continue;
                        }
                        false
                    }
                    None => true,
                },
            };
            while !queue.is_empty() {
                let n = queue.len().min(BATCH);
                let batch: Vec<_> = queue.drain(..n).collect();
                let n = n as u64;
                let request = request(batch);
                let mut pause = Duration::from_millis(500);
                let mut tries = 0;
                loop {
                    tries += 1;
                    match sender.send(&request).await {
                        Sent::Ok => {
                            exporter.counts.spans.fetch_add(n, Ordering::Relaxed);
                            exporter.counts.batches.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        Sent::Retry(why) if tries < TRIES && !stopping => {
                            exporter.counts.retries.fetch_add(1, Ordering::Relaxed);
                            exporter.counts.fail(why);
                            tokio::select! {
                                _ = shutdown.cancelled() => {}
                                _ = tokio::time::sleep(pause) => {}
                            }
                            pause = (pause * 2).min(Duration::from_secs(16));
                        }
                        Sent::Retry(why) | Sent::Fail(why) => {
                            tracing::warn!(spans = n, "a batch of spans was dropped: {why}");
                            exporter.counts.dropped.fetch_add(n, Ordering::Relaxed);
                            exporter.counts.fail(why);
                            break;
                        }
                    }
                }
                if !stopping && queue.len() < BATCH {
                    break;
                }
            }
            if stopping {
                return;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tagged(fields: &str) -> String {
        format!(r#"{{"session":"s1","session_label":"shop",{fields}}}"#)
    }

    #[test]
    fn a_call_becomes_one_span_with_its_progress_and_its_failure() {
        let mut spans = Spans::default();
        let now = Time::parse_rfc3339("2026-12-06T10:00:05Z").unwrap();
        spans.feed(
            EventKind::Call,
            &tagged(r#""token":"7","tool":"search","state":"started","timestamp":"2026-12-06T10:00:00Z","traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01""#),
            now,
        );
        spans.feed(
            EventKind::Progress,
            &tagged(r#""token":"7","progress":3,"total":10,"message":"page 3","timestamp":"2026-12-06T10:00:01Z""#),
            now,
        );
        spans.feed(
            EventKind::Call,
            &tagged(r#""token":"7","tool":"search","state":"waiting","waiting_for":"permission","timestamp":"2026-12-06T10:00:02Z""#),
            now,
        );
        assert!(spans.done.is_empty());
        spans.feed(
            EventKind::Call,
            &tagged(r#""token":"7","tool":"search","state":"failed","error":"boom","timestamp":"2026-12-06T10:00:04Z""#),
            now,
        );
        let (session, label, span) = spans.done.pop().unwrap();
        assert_eq!((&*session, label.as_deref()), ("s1", Some("shop")));
        assert_eq!(span.name, "tools/call search");
        assert_eq!(
            span.end_time_unix_nano - span.start_time_unix_nano,
            4_000_000_000
        );
        assert_eq!(hex_of(&span.trace_id), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(hex_of(&span.parent_span_id), "b7ad6b7169203331");
        let names: Vec<&str> = span.events.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["progress", "waiting for permission"]);
        let status = span.status.unwrap();
        assert_eq!((status.code, status.message.as_str()), (2, "boom"));
        assert!(span.attributes.iter().any(|kv| kv.key == "error.type"
            && kv.value
                == Some(AnyValue {
                    value: Some(Any::StringValue("tool_error".into()))
                })));
    }

    #[test]
    fn a_call_both_reporters_report_is_one_span_and_a_model_turn_is_a_chat_span() {
        let mut spans = Spans::default();
        let now = Time::parse_rfc3339("2026-12-06T10:00:09Z").unwrap();
        spans.feed(EventKind::Call, &tagged(r#""token":"t","tool":"Bash","state":"started","timestamp":"2026-12-06T10:00:00Z","origin":"hook""#), now);
        spans.feed(EventKind::Call, &tagged(r#""token":"t","tool":"Bash","state":"finished","timestamp":"2026-12-06T10:00:01.500Z","origin":"hook""#), now);
        // The telemetry's report of the same call, seconds later: no second span.
        spans.feed(EventKind::Call, &tagged(r#""token":"t","tool":"Bash","state":"started","timestamp":"2026-12-06T10:00:00.100Z","origin":"otel""#), now);
        spans.feed(EventKind::Call, &tagged(r#""token":"t","tool":"Bash","state":"finished","duration_ms":1400,"origin":"otel","timestamp":"2026-12-06T10:00:01.500Z""#), now);
        // A model turn: its start is its end less its duration.
        spans.feed(EventKind::Call, &tagged(r#""token":"m","tool":"claude-sonnet-4-5","state":"started","origin":"model","timestamp":"2026-12-06T10:00:07.100Z""#), now);
        spans.feed(EventKind::Call, &tagged(r#""token":"m","tool":"claude-sonnet-4-5","state":"finished","duration_ms":900,"origin":"model","timestamp":"2026-12-06T10:00:08Z""#), now);
        assert_eq!(spans.done.len(), 2);
        let bash = &spans.done[0].2;
        assert_eq!(
            bash.end_time_unix_nano - bash.start_time_unix_nano,
            1_500_000_000
        );
        let model = &spans.done[1].2;
        assert_eq!(model.name, "chat claude-sonnet-4-5");
        assert_eq!(
            model.end_time_unix_nano - model.start_time_unix_nano,
            900_000_000
        );
        let request = request(std::mem::take(&mut spans.done));
        assert_eq!(request.resource_spans.len(), 1, "one session, one resource");
    }

    #[test]
    fn a_calls_findings_travel_on_its_span_as_events() {
        let mut spans = Spans::default();
        let now = Time::parse_rfc3339("2026-12-06T10:01:00Z").unwrap();
        let at = |s: u32| format!("2026-12-06T10:{:02}:{:02}Z", s / 60, s % 60);
        spans.feed(
            EventKind::Call,
            &tagged(&format!(
                r#""token":"9","tool":"index","state":"started","timestamp":"{}""#,
                at(0)
            )),
            now,
        );
        for (s, p) in [(1, 1), (2, 2), (3, 3), (40, 3), (41, 12)] {
            spans.feed(
                EventKind::Progress,
                &tagged(&format!(
                    r#""token":"9","progress":{p},"total":10,"timestamp":"{}""#,
                    at(s)
                )),
                now,
            );
        }
        spans.feed(
            EventKind::Call,
            &tagged(&format!(
                r#""token":"9","tool":"index","state":"finished","timestamp":"{}""#,
                at(42)
            )),
            now,
        );
        let span = &spans.done[0].2;
        let findings: Vec<(String, u64)> = span
            .events
            .iter()
            .filter(|e| e.name == "mcptop.finding")
            .map(|e| {
                let kind = match &e.attributes[0].value {
                    Some(AnyValue {
                        value: Some(Any::StringValue(k)),
                    }) => k.clone(),
                    other => panic!("{other:?}"),
                };
                (
                    kind,
                    (e.time_unix_nano - span.start_time_unix_nano) / 1_000_000_000,
                )
            })
            .collect();
        // The stall is said as of when the call went quiet (3 s in), the rest when seen.
        assert_eq!(
            findings,
            [
                ("stalled".to_owned(), 3),
                ("progress-not-increasing".to_owned(), 40),
                ("progress-past-total".to_owned(), 41)
            ]
        );
        let message = |i: usize| match &span
            .events
            .iter()
            .filter(|e| e.name == "mcptop.finding")
            .nth(i)
            .unwrap()
            .attributes[1]
            .value
        {
            Some(AnyValue {
                value: Some(Any::StringValue(m)),
            }) => m.clone(),
            other => panic!("{other:?}"),
        };
        assert!(
            message(0).starts_with("index stalled 37.0s"),
            "{}",
            message(0)
        );
        assert_eq!(message(2), "index: progress 12 is past its total 10");
        // A steady call, and one waiting on a person, have none.
        let mut spans = Spans::default();
        spans.feed(
            EventKind::Call,
            &tagged(&format!(
                r#""token":"1","tool":"t","state":"started","timestamp":"{}""#,
                at(0)
            )),
            now,
        );
        spans.feed(
            EventKind::Progress,
            &tagged(&format!(
                r#""token":"1","progress":1,"timestamp":"{}""#,
                at(1)
            )),
            now,
        );
        spans.feed(EventKind::Call, &tagged(&format!(r#""token":"1","tool":"t","state":"waiting","waiting_for":"input","timestamp":"{}""#, at(2))), now);
        spans.feed(
            EventKind::Call,
            &tagged(&format!(
                r#""token":"1","tool":"t","state":"finished","timestamp":"{}""#,
                at(300)
            )),
            now,
        );
        assert!(spans.done[0]
            .2
            .events
            .iter()
            .all(|e| e.name != "mcptop.finding"));
    }

    #[test]
    fn endpoints_and_headers_are_checked_before_anything_is_sent() {
        assert!(ExportConfig::new("collector:4318", None, None).is_err());
        assert!(ExportConfig::new("ftp://x", None, None).is_err());
        assert!(ExportConfig::new("http://127.0.0.1:4318", Some("thrift"), None).is_err());
        let clear = ExportConfig::new(
            "http://otel.example.com:4318",
            None,
            Some("x-api-key=s3cret"),
        )
        .unwrap_err();
        assert!(
            clear.contains("https://") && !clear.contains("s3cret"),
            "{clear}"
        );
        let ok = ExportConfig::new(
            "https://otel.example.com",
            Some("http/json"),
            Some("x-api-key=a%3Db, tenant = t1"),
        )
        .unwrap();
        assert_eq!(
            ok.headers,
            vec![
                ("x-api-key".into(), "a=b".into()),
                ("tenant".into(), "t1".into())
            ]
        );
        assert_eq!(ok.traces_url(), "https://otel.example.com/v1/traces");
        assert!(!format!("{ok:?}").contains("a=b"));
    }

    #[test]
    fn otlp_json_has_no_nulls_and_reads_back() {
        let mut spans = Spans::default();
        let now = Time::parse_rfc3339("2026-12-06T10:00:05Z").unwrap();
        spans.feed(
            EventKind::Call,
            &tagged(r#""token":"1","tool":"t","state":"finished","duration_ms":5"#),
            now,
        );
        let request = request(std::mem::take(&mut spans.done));
        let json = otlp_json(&request);
        let text = String::from_utf8(json.clone()).unwrap();
        assert!(!text.contains("null"), "{text}");
        let back: ExportTraceServiceRequest = serde_json::from_slice(&json).unwrap();
        assert_eq!(back, request);
    }

    fn hex_of(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
