//! `mcptop proxy --upstream URL`: a Streamable HTTP reverse proxy with the tap in it.
//!
//! Every request goes upstream with its method, path, query, headers (authorization
//! included, never logged) and body; every answer comes back with its status, headers
//! and body. Event streams are passed on chunk by chunk as they arrive and decoded on the
//! side; JSON answers are read whole, observed and passed on as they are. Only
//! `--request-progress` changes messages (a token added to `tools/call`, the progress it
//! brings kept from the agent).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures_util::StreamExt;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::observe::{Direction, Item, Observer, Pass};
use super::publish::{PublishTask, Publisher, Target};
use crate::sse::{encode, Decoder, Item as SseItem, Limits};
use crate::time::Time;

/// The largest request or JSON answer body the proxy reads whole.
pub const MAX_BODY: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct ProxyOptions {
    pub upstream: String,
    /// Follow the upstream named by this discovery file as it changes (a restart).
    pub upstream_discovery: Option<std::path::PathBuf>,
    pub listen: SocketAddr,
    pub request_progress: bool,
    pub target: Target,
}

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("--upstream {url:?} is not an http:// or https:// URL")]
    BadUpstream { url: String },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

struct Shared {
    /// `scheme://host:port` of the upstream (it moves when a discovery file says so).
    origin: std::sync::RwLock<String>,
    upstream_discovery: Option<std::path::PathBuf>,
    client: reqwest::Client,
    observer: Mutex<Observer>,
    publisher: Publisher,
    rewrite: bool,
    shutdown: CancellationToken,
    /// Where the proxy listens (its Host check depends on it).
    listen: SocketAddr,
}

/// A proxy serving in the background.
pub struct RunningProxy {
    addr: SocketAddr,
    /// The upstream URL's path and query, served at the same place here.
    path: String,
    shared: Arc<Shared>,
    task: JoinHandle<std::io::Result<()>>,
    ticks: JoinHandle<()>,
    publishing: PublishTask,
}

impl RunningProxy {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL to give the agent instead of the upstream's.
    pub fn url(&self) -> String {
        format!("http://{}{}", self.addr, self.path)
    }

    /// Stops serving; calls still open end as failed; waits (boundedly) for publishing.
    /// Returns how many items could not be published.
    pub async fn shutdown(self) -> u64 {
        self.shared.shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(3), self.task).await;
        let _ = self.ticks.await;
        let mut items = Vec::new();
        self.shared
            .observer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .abandon_all(
                "the proxy stopped",
                (Instant::now(), Time::now()),
                &mut items,
            );
        self.shared.publisher.send_all(&mut items);
        drop(self.shared);
        let (_, unpublished) = self.publishing.finish(Duration::from_secs(3)).await;
        unpublished
    }
}

/// Binds and serves in the background.
pub async fn start(options: ProxyOptions) -> Result<RunningProxy, ProxyError> {
    let parsed = reqwest::Url::parse(&options.upstream)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| ProxyError::BadUpstream {
            url: options.upstream.clone(),
        })?;
    let origin = parsed.origin().ascii_serialization();
    let mut path = parsed.path().to_owned();
    if let Some(q) = parsed.query() {
        path.push('?');
        path.push_str(q);
    }
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|source| ProxyError::Listen {
            addr: options.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ProxyError::Listen {
        addr: options.listen,
        source,
    })?;
    let (publisher, publishing) = Publisher::start(options.target.clone());
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap_or_default();
    let shared = Arc::new(Shared {
        origin: std::sync::RwLock::new(origin),
        upstream_discovery: options.upstream_discovery.clone(),
        client,
        observer: Mutex::new(
            Observer::new(options.request_progress).with_redaction(super::wrap::redaction_said()),
        ),
        publisher,
        rewrite: options.request_progress,
        shutdown: CancellationToken::new(),
        listen: addr,
    });
    let ticks = {
        let ticking = Arc::clone(&shared);
        shared
            .publisher
            .spawn_ticks(shared.shutdown.clone(), move |items| {
                ticking
                    .observer
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .tick((Instant::now(), Time::now()), items);
            })
    };
    let app = Router::new()
        .fallback(forward)
        .with_state(Arc::clone(&shared));
    let stop = shared.shutdown.clone();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await
    });
    Ok(RunningProxy {
        addr,
        path,
        shared,
        task,
        ticks,
        publishing,
    })
}

/// `mcptop proxy`: serves until Ctrl-C or SIGTERM.
pub async fn run_until_signal(options: ProxyOptions) -> anyhow::Result<()> {
    let upstream = options.upstream.clone();
    let proxy = start(options).await?;
    println!("proxying {} -> {upstream}", proxy.url());
    println!("point the agent at {}", proxy.url());
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    let unpublished = proxy.shutdown().await;
    if unpublished > 0 {
        eprintln!("mcptop proxy: {unpublished} call events could not be published to the monitor");
    }
    Ok(())
}

/// The upstream's origin now: the discovery file's, when the proxy follows one and it
/// names a valid daemon URL; else the last known.
fn current_origin(shared: &Shared) -> String {
    if let Some(path) = &shared.upstream_discovery {
        let named = crate::discovery::read(path)
            .and_then(|f| reqwest::Url::parse(&f.url).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .map(|u| u.origin().ascii_serialization());
        if let Some(origin) = named {
            let mut known = shared
                .origin
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            if *known != origin {
                tracing::info!(from = %known, to = %origin, "the upstream moved");
                *known = origin;
            }
        }
    }
    shared
        .origin
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// Headers that belong to one connection, not to the message.
fn hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "host"
            | "content-length"
    )
}

/// The MCP session a message belongs to (request ids are unique only within one).
fn scope_of(headers: &HeaderMap) -> String {
    headers
        .get("mcp-session-id")
        .or_else(|| headers.get("x-construct-session"))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
}

fn plain(status: StatusCode, text: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

fn now() -> (Instant, Time) {
    (Instant::now(), Time::now())
}

async fn forward(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    // The upstream's own DNS-rebinding check sees our Host, not the page's: check here.
    if let Err(refusal) =
        crate::hostcheck::check(request.headers(), request.uri(), shared.listen.ip())
    {
        return plain(StatusCode::FORBIDDEN, refusal.message().to_owned());
    }
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => {
            return plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("mcptop proxy: cannot read the request body: {e}"),
            )
        }
    };
    let scope = scope_of(&parts.headers);
    let mut items = Vec::new();
    let calls_before = pending(&shared);
    let mut body = body;
    if parts.method == Method::POST && !body.is_empty() {
        if let Ok(text) = std::str::from_utf8(&body) {
            let verdict = shared
                .observer
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .observe(Direction::ToServer, &scope, text, now(), &mut items);
            if let Pass::Replace(new) = verdict {
                body = Bytes::from(new);
            }
        }
    }
    let started_calls = pending(&shared) > calls_before;
    shared.publisher.send_all(&mut items);
    // MCP 2026-07-28: a client cancels a request by closing its stream (or connection).
    // Held until the answer is passed on; dropped sooner (the client went), it cancels.
    let closing_cancels = parts
        .headers
        .get("mcp-protocol-version")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v >= CLOSING_CANCELS);
    let mut guard = ClosedEarly {
        shared: Arc::clone(&shared),
        scope: scope.clone(),
        request: (started_calls && closing_cancels).then(|| body.clone()),
    };

    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let origin = current_origin(&shared);
    let url = format!("{origin}{path}");
    let mut upstream = shared.client.request(parts.method.clone(), &url);
    for (name, value) in &parts.headers {
        // The proxy reads what it passes on: ask for it uncompressed.
        if !hop_by_hop(name) && name != header::ACCEPT_ENCODING {
            upstream = upstream.header(name, value);
        }
    }
    let sent = tokio::select! {
        _ = shared.shutdown.cancelled() => {
            guard.disarm();
            return plain(StatusCode::SERVICE_UNAVAILABLE, "mcptop proxy: stopping".into());
        }
        sent = upstream.body(body.clone()).send() => sent,
    };
    let answer = match sent {
        Ok(a) => a,
        Err(e) => {
            guard.disarm();
            if started_calls {
                fail_request_calls(
                    &shared,
                    &scope,
                    &body,
                    "the proxy could not reach the server",
                );
            }
            return plain(
                StatusCode::BAD_GATEWAY,
                format!("mcptop proxy: cannot reach {}: {}", origin, e.without_url()),
            );
        }
    };
    let status = answer.status();
    let mut headers = HeaderMap::new();
    for (name, value) in answer.headers() {
        if !hop_by_hop(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    if parts.method == Method::DELETE && status.is_success() {
        let mut items = Vec::new();
        shared
            .observer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .end_scope(&scope, "the session was closed", now(), &mut items);
        shared.publisher.send_all(&mut items);
    }
    let kind = content_type(&headers);
    if kind.starts_with("text/event-stream") {
        let request = started_calls.then(|| body.clone());
        let stream = sse_passthrough(Arc::clone(&shared), answer, scope, request, guard);
        let mut response = Response::new(Body::from_stream(stream));
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        return response;
    }
    if kind.starts_with("application/json") || (!status.is_success() && started_calls) {
        let bytes = match answer.bytes().await {
            Ok(b) => b,
            Err(e) => {
                guard.disarm();
                return plain(
                    StatusCode::BAD_GATEWAY,
                    format!(
                        "mcptop proxy: the server's answer broke off: {}",
                        e.without_url()
                    ),
                );
            }
        };
        guard.disarm();
        observe_answer(&shared, &scope, &bytes, status, &body, started_calls);
        let mut response = Response::new(Body::from(bytes));
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        return response;
    }
    guard.disarm();
    let stream = answer.bytes_stream();
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

fn pending(shared: &Shared) -> usize {
    shared
        .observer
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .pending()
}

/// A JSON answer: the response to the request (or a batch of them). An answer that is
/// not JSON-RPC (an HTTP error) to a request that started calls ends them as failed.
fn observe_answer(
    shared: &Shared,
    scope: &str,
    bytes: &[u8],
    status: StatusCode,
    request: &[u8],
    started_calls: bool,
) {
    let mut items = Vec::new();
    let text = std::str::from_utf8(bytes).unwrap_or("");
    let mut observer = shared
        .observer
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let before = observer.pending();
    if !text.trim().is_empty() {
        observer.observe(Direction::ToClient, scope, text, now(), &mut items);
    }
    drop(observer);
    let answered = pending(shared) < before;
    if started_calls && !answered && !status.is_success() {
        fail_request_calls(
            shared,
            scope,
            request,
            &format!("the server answered HTTP {}", status.as_u16()),
        );
    }
    shared.publisher.send_all(&mut items);
}

/// Ends the calls a request started as failed (the server never got or never answered
/// them), by answering them on the observer's side with a JSON-RPC error.
fn fail_request_calls(shared: &Shared, scope: &str, request: &[u8], why: &str) {
    let mut items = Vec::new();
    let mut observer = shared
        .observer
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    for id in tools_call_ids(request) {
        let error = serde_json::json!({
            "jsonrpc": "2.0", "id": id, "error": {"code": -32603, "message": why}
        });
        observer.observe(
            Direction::ToClient,
            scope,
            &error.to_string(),
            now(),
            &mut items,
        );
    }
    drop(observer);
    shared.publisher.send_all(&mut items);
}

/// The ids of the `tools/call` requests in a request body (one message or a batch).
fn tools_call_ids(request: &[u8]) -> Vec<serde_json::Value> {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(request) else {
        return Vec::new();
    };
    let messages = match value {
        serde_json::Value::Array(a) => a,
        one => vec![one],
    };
    messages
        .into_iter()
        .filter(|m| m.get("method").and_then(|v| v.as_str()) == Some("tools/call"))
        .filter_map(|mut m| m.get_mut("id").map(serde_json::Value::take))
        .collect()
}

/// The first protocol revision in which a client closing a request's stream cancels it.
const CLOSING_CANCELS: &str = "2026-07-28";

/// Held by a request's event stream: when the client goes away before the stream ends
/// (it is dropped mid-way) and the revision says so, the calls the request started and
/// the server has not answered end as cancelled. `request` is `None` once the stream
/// ended on its own.
struct ClosedEarly {
    shared: Arc<Shared>,
    scope: String,
    request: Option<Bytes>,
}

impl ClosedEarly {
    /// The stream ended on its own: nothing to cancel.
    fn disarm(&mut self) {
        self.request = None;
    }
}

impl Drop for ClosedEarly {
    fn drop(&mut self) {
        let Some(request) = self.request.take() else {
            return;
        };
        let mut items = Vec::new();
        let mut observer = self
            .shared
            .observer
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for id in tools_call_ids(&request) {
            // As the observer reads a cancellation (an answered call is not pending).
            let cancel = serde_json::json!({
                "jsonrpc": "2.0", "method": "notifications/cancelled",
                "params": {"requestId": id, "reason": "the client closed the request's stream (a cancellation in MCP 2026-07-28)"}
            });
            observer.observe(
                Direction::ToServer,
                &self.scope,
                &cancel.to_string(),
                now(),
                &mut items,
            );
        }
        drop(observer);
        self.shared.publisher.send_all(&mut items);
    }
}

/// An event stream passed on as it arrives (or, when rewriting, event by event), with
/// each event's data observed as a JSON-RPC message.
/// `request`: the request's body when it started calls. The calls it started that the
/// stream never answers fail when the stream breaks off, or when it ends without being
/// resumable (no event ids: the client cannot come back for the answer).
fn sse_passthrough(
    shared: Arc<Shared>,
    answer: reqwest::Response,
    scope: String,
    request: Option<Bytes>,
    guard: ClosedEarly,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    let upstream = answer.bytes_stream();
    let state = (
        upstream,
        Decoder::new(Limits::default()),
        shared,
        (scope, request),
        String::new(),
        guard,
    );
    futures_util::stream::unfold(
        state,
        |(mut upstream, mut decoder, shared, (scope, request), mut last_id, mut guard)| async move {
            loop {
                let chunk = tokio::select! {
                    _ = shared.shutdown.cancelled() => {
                        guard.disarm();
                        return None;
                    }
                    chunk = upstream.next() => chunk,
                };
                // The server ended or broke the stream: not the client's doing.
                if !matches!(chunk, Some(Ok(_))) {
                    guard.disarm();
                }
                let chunk = match chunk {
                    None => {
                        decoder.finish();
                        if let Some(request) = &request {
                            if last_id.is_empty() && decoder.last_event_id().is_empty() {
                                fail_request_calls(
                                    &shared,
                                    &scope,
                                    request,
                                    "the server ended the stream without an answer",
                                );
                            }
                        }
                        return None;
                    }
                    Some(Err(e)) => {
                        if let Some(request) = &request {
                            fail_request_calls(
                                &shared,
                                &scope,
                                request,
                                "the server's stream broke off before the answer (it stopped?)",
                            );
                        }
                        return Some((
                            Err(std::io::Error::other(e.without_url())),
                            (upstream, decoder, shared, (scope, None), last_id, guard),
                        ));
                    }
                    Some(Ok(c)) => c,
                };
                let mut items: Vec<Item> = Vec::new();
                let mut out = String::new();
                let rewrite = shared.rewrite;
                {
                    let mut observer = shared
                        .observer
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    decoder.feed(&chunk, &mut |item| match item {
                        SseItem::Event(event) => {
                            let verdict = if event.data.trim().is_empty() {
                                Pass::Forward
                            } else {
                                observer.observe(
                                    Direction::ToClient,
                                    &scope,
                                    event.data,
                                    now(),
                                    &mut items,
                                )
                            };
                            if rewrite {
                                // A dropped event's id rides on the next event passed on.
                                let id =
                                    (event.last_event_id != last_id).then_some(event.last_event_id);
                                let kind =
                                    (event.event_type != "message").then_some(event.event_type);
                                let data = match &verdict {
                                    Pass::Forward => Some(event.data),
                                    Pass::Replace(text) => Some(text.as_str()),
                                    Pass::Drop => None,
                                };
                                if let Some(data) = data {
                                    encode::write_event(&mut out, kind, id, data);
                                    last_id = event.last_event_id.to_owned();
                                }
                            }
                        }
                        SseItem::Retry(ms) if rewrite => encode::write_retry(&mut out, ms),
                        SseItem::Comment if rewrite => out.push_str(":\n\n"),
                        _ => {}
                    });
                }
                shared.publisher.send_all(&mut items);
                if !rewrite {
                    return Some((
                        Ok(chunk),
                        (upstream, decoder, shared, (scope, request), last_id, guard),
                    ));
                }
                if !out.is_empty() {
                    return Some((
                        Ok(Bytes::from(out)),
                        (upstream, decoder, shared, (scope, request), last_id, guard),
                    ));
                }
            }
        },
    )
}
