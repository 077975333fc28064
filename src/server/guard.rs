//! DNS-rebinding protection for the daemon: every request passes
//! [`crate::hostcheck::check`] or gets a 403.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;

pub async fn check_host_and_origin(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    match crate::hostcheck::check(request.headers(), request.uri(), state.local_addr.ip()) {
        Ok(()) => next.run(request).await,
        Err(refusal) => super::text(StatusCode::FORBIDDEN, refusal.message()),
    }
}
