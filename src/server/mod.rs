//! The embedded daemon (`mcptop serve`): Construct's routes, its gateway's WebSocket
//! route, a standard MCP Streamable HTTP endpoint whose tools report progress, and the
//! mcptop extensions (event ids, replay, lag and call lifecycle events).
//!
//! [`start`] binds and serves in the background and returns a [`RunningServer`]; the
//! workload, replay and tests drive it through real HTTP like any other client.

// Handlers refuse a request by returning the finished response as the error: a large
// `Err`, but one that is built once and sent, never propagated through layers.
#![allow(clippy::result_large_err)]

mod auth;
mod bus;
mod calls;
mod events;
pub mod export;
mod fixtures;
mod gateway;
mod guard;
pub mod hooked;
mod hub;
mod ingest;
mod listen;
mod mcp;
mod mrtr;
pub mod otlp;
mod progress;
pub mod replay;
mod session;
mod tasks;
mod tool_context;
mod tools;
pub mod workload;
mod ws;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use hub::RingBudget;
pub use hub::{EventKind, Published, SessionEvents};
pub use session::{Session, SessionLimits, SessionSummary, Sessions};
pub use tools::{names as tool_names, TOOL_NAMES};

use crate::time::Time;

/// The MCP protocol version Construct's dialect announces.
pub const CONSTRUCT_PROTOCOL_VERSION: &str = "2024-11-05";

/// Which wire the server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Compat {
    /// Construct's routes plus the mcptop extensions (ids, replay, lag, call events) and
    /// standard MCP on `/mcp`.
    #[default]
    Mcptop,
    /// Exactly Construct's framing: data-only events, no ids, silent loss, no admin
    /// listing, no standard MCP on `/mcp`.
    Construct,
}

/// How the server runs. [`ServerConfig::default`] is what `mcptop serve` uses.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub addr: SocketAddr,
    /// A `:` comment after this long without an event.
    pub keepalive: Duration,
    /// How far a subscriber may fall behind before it loses events.
    pub broadcast_capacity: usize,
    /// Events per session kept for `Last-Event-ID`.
    pub replay_capacity: usize,
    pub compat: Compat,
    /// When set, the WebSocket route requires this gateway token.
    pub gateway_token: Option<String>,
    /// The admin token (generated when `None`).
    pub admin_token: Option<String>,
    /// The `retry:` sent to MCP 2025-11-25 clients, in milliseconds.
    pub sse_retry_ms: u64,
    /// How many sessions are kept, for how long idle, and the bytes their rings hold.
    pub limits: SessionLimits,
    /// Connections served at once; past it a new one gets a 503 and is closed.
    pub max_connections: usize,
    /// How long a client may take to send a request's headers.
    pub header_timeout: Duration,
    /// Whether `/mcp` speaks MCP 2026-07-28 (and the tasks extension) beside the
    /// sessioned revisions; without it the server is like one of before 2026-07-28.
    pub mcp_2026: bool,
    /// Serve Construct's gateway (the WebSocket route, with pairing) on this address
    /// instead of the WebSocket route on the main port.
    pub gateway_addr: Option<SocketAddr>,
    /// Like stock Construct, tools called through Construct's dialect publish no
    /// progress on the session stream.
    pub stock_tools: bool,
    /// Receive OTLP/HTTP on this address (4318 by convention).
    pub otlp_http: Option<SocketAddr>,
    /// Receive OTLP/gRPC on this address (4317 by convention).
    pub otlp_grpc: Option<SocketAddr>,
    /// What the OTLP receiver redacts of the agents' tool details.
    pub redaction: crate::redact::Rules,
    /// Send every call as a span to this OTLP collector.
    pub otlp_export: Option<export::ExportConfig>,
    /// A receiver that cannot listen (its port taken) is left out, said, and the daemon
    /// runs on: the receivers come from the config file, and the daemon must not fail for
    /// them (a hook starts it).
    pub otlp_optional: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            keepalive: Duration::from_secs(15),
            broadcast_capacity: 1024,
            replay_capacity: 1024,
            compat: Compat::Mcptop,
            gateway_token: None,
            admin_token: None,
            sse_retry_ms: 1000,
            limits: SessionLimits::default(),
            max_connections: 512,
            header_timeout: Duration::from_secs(10),
            mcp_2026: true,
            gateway_addr: None,
            stock_tools: false,
            otlp_http: None,
            otlp_grpc: None,
            redaction: crate::redact::Rules::default(),
            otlp_export: None,
            otlp_optional: false,
        }
    }
}

/// What every handler shares.
pub struct AppState {
    pub config: ServerConfig,
    pub sessions: Sessions,
    mcp_sessions: mcp::McpSessions,
    admin_token: String,
    started_at: Time,
    started: Instant,
    /// The address the server is bound to (its Host is always acceptable).
    local_addr: SocketAddr,
    /// Cancelled on shutdown: every open stream ends.
    pub shutdown: CancellationToken,
    /// The gateway's pairing, when it runs (`--gateway-port`).
    pairing: Option<gateway::Pairing>,
    /// The OTLP receiver's counts and agent sessions.
    pub otlp: otlp::Otlp,
    /// The OTLP exporter, when it runs.
    pub exporter: Option<Arc<export::Exporter>>,
}

impl AppState {
    pub fn extensions(&self) -> bool {
        self.config.compat == Compat::Mcptop
    }

    /// Standard MCP sessions held now.
    pub fn mcp_session_count(&self) -> usize {
        self.mcp_sessions.len()
    }

    fn is_admin(&self, token: &str) -> bool {
        self.extensions() && auth::constant_time_eq(self.admin_token.as_bytes(), token.as_bytes())
    }
}

/// A server running in the background.
pub struct RunningServer {
    addr: SocketAddr,
    state: Arc<AppState>,
    task: JoinHandle<std::io::Result<()>>,
    gateway: Option<(SocketAddr, JoinHandle<std::io::Result<()>>)>,
    /// The OTLP receivers: (gRPC or not, where, the task).
    otlp: Vec<(bool, SocketAddr, JoinHandle<std::io::Result<()>>)>,
}

impl RunningServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The MCP endpoint, the `url` of the discovery file.
    pub fn mcp_url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    pub fn admin_token(&self) -> &str {
        &self.state.admin_token
    }

    /// `http://127.0.0.1:PORT` of the gateway, when it runs.
    pub fn gateway_url(&self) -> Option<String> {
        self.gateway
            .as_ref()
            .map(|(addr, _)| format!("http://{addr}"))
    }

    /// The code `POST /pair` wants, when the gateway runs.
    pub fn pairing_code(&self) -> Option<&str> {
        self.state.pairing.as_ref().map(gateway::Pairing::code)
    }

    /// Where the OTLP receiver listens: (HTTP, gRPC), when asked for.
    pub fn otlp_addrs(&self) -> (Option<SocketAddr>, Option<SocketAddr>) {
        let at = |grpc: bool| {
            self.otlp
                .iter()
                .find(|(g, _, _)| *g == grpc)
                .map(|(_, a, _)| *a)
        };
        (at(false), at(true))
    }

    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// Ends every stream and stops serving.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.state.shutdown.cancel();
        if let Some((_, gateway)) = self.gateway {
            let _ = tokio::time::timeout(Duration::from_secs(5), gateway).await;
        }
        for (_, _, receiver) in self.otlp {
            let _ = tokio::time::timeout(Duration::from_secs(5), receiver).await;
        }
        match tokio::time::timeout(Duration::from_secs(5), self.task).await {
            Ok(joined) => Ok(joined??),
            Err(_) => anyhow::bail!("the server did not stop within 5 s"),
        }
    }

    /// Serves until the server stops by itself (it does not, unless it fails).
    pub async fn wait(self) -> anyhow::Result<()> {
        Ok(self.task.await??)
    }
}

/// Binds `config.addr` and serves in the background.
pub async fn start(config: ServerConfig) -> std::io::Result<RunningServer> {
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    let gateway_listener = match config.gateway_addr {
        Some(at) => Some(tokio::net::TcpListener::bind(at).await?),
        None => None,
    };
    let mut otlp_listeners = Vec::new();
    let mut otlp_missing = Vec::new();
    for (at, grpc, what) in [
        (config.otlp_http, false, "OTLP/HTTP"),
        (config.otlp_grpc, true, "OTLP/gRPC"),
    ] {
        let Some(at) = at else { continue };
        match tokio::net::TcpListener::bind(at).await {
            Ok(listener) => otlp_listeners.push((grpc, listener)),
            Err(e) => {
                // Whose the port is matters: another user's program would be sent the
                // agent's telemetry, tool arguments and all.
                let whose = match crate::discovery::listener_is_ours(at) {
                    Some(false) => " by another user: the agent's telemetry (tool \
                                    arguments) would go to that user; stop sending it \
                                    (`mcptop setup AGENT --otel --undo`) or pick another \
                                    port"
                        .to_owned(),
                    _ => {
                        " (another collector may hold it: stop it, or pick another port)".to_owned()
                    }
                };
                let line = format!(
                    "cannot receive {what} on {at}: {e}{whose} (--otlp-http/--otlp-grpc, \
                     or [otlp] in the config file)"
                );
                if !config.otlp_optional {
                    return Err(std::io::Error::new(e.kind(), line));
                }
                otlp_missing.push(line);
            }
        }
    }
    let admin_token = config
        .admin_token
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let state = Arc::new(AppState {
        sessions: Sessions::with_limits(
            config.broadcast_capacity,
            config.replay_capacity,
            config.compat == Compat::Mcptop,
            config.limits.clone(),
        ),
        mcp_sessions: mcp::McpSessions::default(),
        admin_token,
        started_at: Time::now(),
        started: Instant::now(),
        local_addr: addr,
        shutdown: CancellationToken::new(),
        pairing: gateway_listener.as_ref().map(|_| gateway::Pairing::new()),
        otlp: otlp::Otlp::new(config.redaction.clone()),
        exporter: config
            .otlp_export
            .clone()
            .map(|c| Arc::new(export::Exporter::new(c))),
        config,
    });
    spawn_reaper(&state);
    if let Some(exporter) = &state.exporter {
        let _ = state.sessions.exporter.set(Arc::clone(exporter));
    }
    export::spawn(&state);
    let app = router(Arc::clone(&state));
    let shutdown = state.shutdown.clone();
    // Descriptors for the cap's worth of connections, and some for everything else.
    let max_connections = match listen::raise_descriptor_limit() {
        Some(fds) => state
            .config
            .max_connections
            .min(usize::try_from(fds.saturating_sub(64).max(16)).unwrap_or(usize::MAX)),
        None => state.config.max_connections,
    };
    let limits = listen::ConnectionLimits {
        max_connections,
        header_timeout: state.config.header_timeout,
        same_user_only: false,
    };
    let gateway = match gateway_listener {
        Some(listener) => {
            let at = listener.local_addr()?;
            let app = gateway::router(Arc::clone(&state));
            let limits = listen::ConnectionLimits {
                max_connections,
                header_timeout: state.config.header_timeout,
                same_user_only: false,
            };
            let shutdown = state.shutdown.clone();
            Some((
                at,
                tokio::spawn(listen::serve(listener, app, limits, shutdown)),
            ))
        }
        None => None,
    };
    let mut otlp = Vec::new();
    *state
        .otlp
        .missing
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = otlp_missing;
    for (grpc, listener) in otlp_listeners {
        let at = listener.local_addr()?;
        let slot = if grpc {
            &state.otlp.grpc
        } else {
            &state.otlp.http
        };
        *slot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(at.to_string());
        let limits = listen::ConnectionLimits {
            same_user_only: true,
            ..limits
        };
        let app = otlp::router(Arc::clone(&state));
        let served = listen::serve_counted(
            listener,
            app,
            limits,
            state.shutdown.clone(),
            Some(Arc::clone(&state)),
        );
        otlp.push((grpc, at, tokio::spawn(served)));
    }
    let task = tokio::spawn(listen::serve(listener, app, limits, shutdown));
    Ok(RunningServer {
        addr,
        state,
        task,
        gateway,
        otlp,
    })
}

fn router(state: Arc<AppState>) -> Router {
    let mut routes = Router::new()
        .route("/health", get(health))
        .route("/session", post(create_session))
        .route("/sessions", get(list_sessions))
        .route("/session/{id}/events", get(events::session_events))
        .route("/session/{id}/publish", post(ingest::publish));
    // With a gateway, the WebSocket route lives there (as Construct's does).
    if state.pairing.is_none() {
        routes = routes.route("/ws/mcp/events", get(ws::ws_events));
    }
    routes
        .route(
            "/mcp",
            post(mcp::post_mcp)
                .get(mcp::get_mcp)
                .delete(mcp::delete_mcp),
        )
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            guard::check_host_and_origin,
        ))
        .with_state(state)
}

/// Construct's `/health`, fields in its order, plus what this daemon is.
#[derive(serde::Serialize)]
struct Health {
    status: &'static str,
    pid: u32,
    uptime_seconds: u64,
    started_at: String,
    protocol_version: &'static str,
    /// mcptop's own (left out in `--compat construct`, whose `/health` is Construct's).
    #[serde(skip_serializing_if = "Option::is_none")]
    server: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'static str>,
    /// The OTLP receiver, when it runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    otlp: Option<otlp::Health>,
    /// The OTLP exporter, when it runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    otlp_export: Option<export::Health>,
}

async fn health(State(state): State<Arc<AppState>>) -> Response {
    Json(Health {
        status: "ok",
        pid: std::process::id(),
        uptime_seconds: state.started.elapsed().as_secs(),
        started_at: state.started_at.to_rfc3339_nanos(),
        protocol_version: CONSTRUCT_PROTOCOL_VERSION,
        server: state.extensions().then_some("mcptop"),
        version: state.extensions().then_some(env!("CARGO_PKG_VERSION")),
        otlp: (state.config.otlp_http.is_some() || state.config.otlp_grpc.is_some())
            .then(|| state.otlp.health()),
        otlp_export: state.exporter.as_ref().map(|e| e.counts.health(&e.config)),
    })
    .into_response()
}

#[derive(Deserialize, Default)]
struct NewSession {
    cwd: Option<String>,
    label: Option<String>,
    /// An agent's own session (`claude-code/<id>`), for the owner: the daemon session it
    /// already has (from its OpenTelemetry, or an earlier hook), or a new one.
    agent_session: Option<String>,
}

/// `POST /session`: no auth, optional `{cwd, label}`, as Construct answers it.
async fn create_session(
    State(state): State<Arc<AppState>>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let request = if body.iter().all(u8::is_ascii_whitespace) {
        NewSession::default()
    } else {
        if !mcp::has_json_body(&headers) {
            return text(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Expected request with `Content-Type: application/json`",
            );
        }
        match serde_json::from_slice::<NewSession>(&body) {
            Ok(r) => r,
            Err(e) => {
                return text(
                    StatusCode::BAD_REQUEST,
                    &format!("Failed to parse the request body as JSON: {e}"),
                )
            }
        }
    };
    let cwd = crate::sanitize::cut(&resolve_cwd(request.cwd.as_deref()), MAX_CWD).into_owned();
    let label = request
        .label
        .filter(|l| !l.trim().is_empty())
        .map(|l| crate::sanitize::cut(&l, MAX_NAME).into_owned());
    // Construct's route stays open, but only the owner (who holds the admin token from
    // the private discovery file) makes sessions that show in the owner's views.
    let anonymous = !auth::bearer(&headers).is_some_and(|t| state.is_admin(t));
    let agent = request
        .agent_session
        .filter(|k| !anonymous && !k.is_empty())
        .map(|k| crate::sanitize::cut(&k, MAX_NAME + 16).into_owned());
    let created = match &agent {
        Some(key) => state.otlp.agents.session(&state, key, label, cwd),
        None => state.sessions.try_create(label, cwd, anonymous),
    };
    let session = match created {
        Ok(session) => session,
        Err(full) => return text(StatusCode::SERVICE_UNAVAILABLE, &full.to_string()),
    };
    // Construct's field order.
    #[derive(serde::Serialize)]
    struct Created<'a> {
        session_id: &'a str,
        token: &'a str,
        cwd: &'a str,
    }
    Json(Created {
        session_id: &session.id,
        token: session.token(),
        cwd: &session.cwd,
    })
    .into_response()
}

/// `~` and `~/x` expand to the home directory; no cwd means the home directory.
fn resolve_cwd(cwd: Option<&str>) -> String {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/".to_owned());
    match cwd.map(str::trim) {
        None | Some("") | Some("~") => home,
        Some(c) => match c.strip_prefix("~/") {
            Some(rest) => format!("{}/{rest}", home.trim_end_matches('/')),
            None => c.to_owned(),
        },
    }
}

/// `GET /sessions` with the admin token (mcptop extension).
async fn list_sessions(
    State(state): State<Arc<AppState>>,
    headers: axum::http::HeaderMap,
) -> Response {
    if !state.extensions() {
        return StatusCode::NOT_FOUND.into_response();
    }
    match auth::bearer(&headers) {
        None => text(
            StatusCode::UNAUTHORIZED,
            "missing Authorization: Bearer <admin token>",
        ),
        Some(t) if state.is_admin(t) => Json(state.sessions.summaries()).into_response(),
        Some(_) => text(StatusCode::UNAUTHORIZED, "invalid admin token"),
    }
}

/// The longest tool name, token or session label kept, and the longest message or error
/// kept; longer ones are cut with `…`.
pub use crate::wire::schema::{MAX_NAME, MAX_TEXT};
/// The longest working directory kept.
pub const MAX_CWD: usize = 1024;

/// Ends idle sessions (and their MCP sessions) once a minute, until shutdown.
fn spawn_reaper(state: &Arc<AppState>) {
    let state = Arc::clone(state);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = state.shutdown.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            }
            reap(&state);
        }
    });
}

/// One pass of the reaper: idle sessions past their time, and MCP sessions whose daemon
/// session is gone.
pub fn reap(state: &AppState) {
    state.sessions.expire_idle(Time::now());
    state
        .mcp_sessions
        .retain(|id| state.sessions.get(id).is_some());
}

/// A plain-text answer, as Construct gives for errors.
fn text(status: StatusCode, body: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body.to_owned(),
    )
        .into_response()
}
