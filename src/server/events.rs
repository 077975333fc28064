//! `GET /session/{id}/events`: a session's events as SSE.
//!
//! Each subscriber gets a task that writes into a small channel the response body reads
//! from; the task ends when the client goes away, the session ends or the server stops.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use futures_util::stream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::hub::Subscription;
use super::progress::write_lagged_sse;
use super::session::Session;
use super::{auth, text, AppState};

/// Events gathered into one body chunk when they are already waiting.
const BATCH_BYTES: usize = 32 * 1024;

pub async fn session_events(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let session = match authorize(&state, &id, &headers) {
        Ok(s) => s,
        Err(response) => return response,
    };
    let after = if state.extensions() {
        auth::header_str(&headers, "last-event-id").and_then(|v| v.parse::<u64>().ok())
    } else {
        None
    };
    let subscription = session.events.subscribe(after);
    let servers = if state.extensions() {
        state.sessions.server_events(&session)
    } else {
        Vec::new()
    };
    let body = sse_body(
        subscription,
        servers,
        state.extensions(),
        state.config.keepalive,
        [session.closed.clone(), state.shutdown.clone()],
    );
    sse_response(body)
}

/// The session, if the request's Bearer token opens it: Construct's 401s, never a 404
/// (an unknown session and a wrong token look the same, so ids cannot be probed).
pub fn authorize(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
) -> Result<Arc<Session>, Response> {
    let Some(token) = auth::bearer(headers) else {
        return Err(text(
            StatusCode::UNAUTHORIZED,
            "missing Authorization: Bearer <token>",
        ));
    };
    let stream = match id {
        super::session::ALL => state.sessions.all.as_ref(),
        super::session::EVERYONE => state.sessions.everyone.as_ref(),
        _ => None,
    };
    if let Some(stream) = stream {
        if state.is_admin(token) {
            return Ok(Arc::clone(stream));
        }
    }
    match state.sessions.get(id) {
        Some(s) if s.token_matches(token) || state.is_admin(token) => {
            s.touch();
            Ok(s)
        }
        _ => Err(text(StatusCode::UNAUTHORIZED, "invalid session or token")),
    }
}

pub fn sse_response(body: Body) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// Sends what `out` holds as one body chunk (nothing when empty); false once the client
/// has gone away.
pub async fn flush(tx: &mpsc::Sender<Bytes>, out: &mut String) -> bool {
    out.is_empty() || tx.send(Bytes::from(std::mem::take(out))).await.is_ok()
}

/// A body fed by a task; the task stops when the body is dropped.
pub fn channel_body() -> (mpsc::Sender<Bytes>, Body) {
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let chunks = stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    });
    (tx, Body::from_stream(chunks))
}

fn sse_body(
    subscription: Subscription,
    servers: Vec<String>,
    extensions: bool,
    keepalive: Duration,
    stop: [CancellationToken; 2],
) -> Body {
    let (tx, body) = channel_body();
    tokio::spawn(pump(subscription, servers, tx, extensions, keepalive, stop));
    body
}

async fn pump(
    subscription: Subscription,
    servers: Vec<String>,
    tx: mpsc::Sender<Bytes>,
    extensions: bool,
    keepalive: Duration,
    [closed, shutdown]: [CancellationToken; 2],
) {
    let Subscription {
        open,
        replay,
        missed,
        mut live,
    } = subscription;
    // The batch being written. Its allocation is reused: once the body has sent the
    // last chunk on, `reserve` takes the same buffer back.
    let mut out = BytesMut::with_capacity(BATCH_BYTES * 2);
    let mut note = String::new();
    if extensions && missed > 0 {
        write_lagged_sse(&mut note, missed);
    }
    // What the session's server is, without an id: it is the state now, not an event
    // of the stream, so it neither moves a client's resume point nor looks like a gap.
    for data in &servers {
        crate::sse::encode::write_event(&mut note, Some("server"), None, data);
    }
    // The calls open now, the same way: a call that began before this subscriber came
    // shows at once, from its real start (and waiting, if it waits).
    for data in &open {
        crate::sse::encode::write_event(&mut note, Some("call"), None, data);
    }
    out.extend_from_slice(note.as_bytes());
    for event in &replay {
        out.extend_from_slice(event.sse());
    }
    if !send_batch(&tx, &mut out).await {
        return;
    }
    loop {
        let next = tokio::select! {
            biased;
            _ = closed.cancelled() => return,
            _ = shutdown.cancelled() => return,
            _ = tx.closed() => return,
            next = tokio::time::timeout(keepalive, live.recv()) => next,
        };
        let lagged = |out: &mut BytesMut, n: u64| {
            if extensions {
                let mut text = String::new();
                write_lagged_sse(&mut text, n);
                out.extend_from_slice(text.as_bytes());
            }
        };
        match next {
            Err(_idle) => out.extend_from_slice(b":\n\n"),
            Ok(Ok(event)) => {
                out.extend_from_slice(event.sse());
                // Take whatever else is already waiting, so a burst is one write; when
                // the queue runs dry early, let the publisher run once or twice first, so
                // a stream at full speed is not woken (and written) event by event.
                let mut yields = 0;
                // The waiting events are copied in place, no reference taken to each.
                while out.len() < BATCH_BYTES {
                    let taken = live.try_recv_each(|event| {
                        out.extend_from_slice(event.sse());
                        out.len() < BATCH_BYTES
                    });
                    match taken {
                        Ok(_) => {}
                        Err(super::bus::TryRecvError::Lagged(n)) => lagged(&mut out, n),
                        Err(super::bus::TryRecvError::Empty) if yields < 2 => {
                            yields += 1;
                            tokio::task::yield_now().await;
                        }
                        Err(_) => break,
                    }
                }
            }
            // Construct loses the overflow silently; mcptop says how much.
            Ok(Err(super::bus::RecvError::Lagged(n))) => lagged(&mut out, n),
            Ok(Err(super::bus::RecvError::Closed)) => return,
        }
        if !send_batch(&tx, &mut out).await {
            return;
        }
    }
}

/// Sends the batch as one body chunk (nothing when empty) and makes room for the next;
/// false once the client has gone away.
async fn send_batch(tx: &mpsc::Sender<Bytes>, out: &mut BytesMut) -> bool {
    if out.is_empty() {
        return true;
    }
    let chunk = out.split().freeze();
    let sent = tx.send(chunk).await.is_ok();
    out.reserve(BATCH_BYTES * 2);
    sent
}
