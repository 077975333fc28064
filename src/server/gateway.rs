//! Construct's gateway, on a port of its own (`mcptop serve --gateway-port`): the
//! WebSocket events route, its pairing (`POST /pair` with the `X-Pairing-Code` the daemon
//! printed, answered with a `zc_…` token to send as the bearer) and its `/health`. With a
//! gateway the MCP port has no WebSocket route, as with the real daemon.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;

use super::{auth, AppState};

/// Pairing: the code to pair with, and the tokens given out.
pub struct Pairing {
    code: String,
    tokens: Mutex<HashSet<String>>,
}

impl Pairing {
    pub fn new() -> Pairing {
        Pairing {
            code: format!("{:06}", fastrand::u32(0..1_000_000)),
            tokens: Mutex::new(HashSet::new()),
        }
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    /// Whether `token` was given out by `POST /pair`.
    pub fn is_paired(&self, token: &str) -> bool {
        let tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        tokens
            .iter()
            .any(|t| auth::constant_time_eq(t.as_bytes(), token.as_bytes()))
    }

    fn pair(&self) -> String {
        let token = format!(
            "zc_{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        // A bound: the oldest pairings need not outlive a flood of new ones.
        if tokens.len() >= 1024 {
            tokens.clear();
        }
        tokens.insert(token.clone());
        token
    }
}

impl Default for Pairing {
    fn default() -> Self {
        Pairing::new()
    }
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn pair(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(pairing) = &state.pairing else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let offered = auth::header_str(&headers, "x-pairing-code").unwrap_or_default();
    if !auth::constant_time_eq(offered.as_bytes(), pairing.code.as_bytes()) {
        return json_response(
            StatusCode::FORBIDDEN,
            json!({ "error": "Invalid pairing code" }),
        );
    }
    json_response(
        StatusCode::OK,
        json!({
            "message": "Save this token — use it as Authorization: Bearer <token>",
            "paired": true,
            "persisted": false,
            "token": pairing.pair(),
        }),
    )
}

async fn health(State(state): State<Arc<AppState>>) -> Response {
    json_response(
        StatusCode::OK,
        json!({
            "paired": state.pairing.as_ref().is_some_and(|p| !p.tokens.lock().unwrap_or_else(PoisonError::into_inner).is_empty()),
            "require_pairing": true,
            "runtime": {
                "pid": std::process::id(),
                "uptime_seconds": state.started.elapsed().as_secs(),
            },
            "status": "ok",
        }),
    )
}

/// The gateway's routes.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/pair", post(pair))
        .route("/ws/mcp/events", get(super::ws::ws_events))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            super::guard::check_host_and_origin,
        ))
        .with_state(state)
}
