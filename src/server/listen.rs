//! The daemon's accept loop: axum's router on hyper, with what `axum::serve` lacks for a
//! server any local user can reach: a deadline for a request's headers (slowloris), a cap
//! on connections served at once (past it a connection gets a 503 and is closed, so
//! descriptors never run out), and a graceful end.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// How connections are held.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    /// Serve only loopback connections of this user (where the system says whose a
    /// socket is): the OTLP receiver, which takes no token.
    pub same_user_only: bool,
}

const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 48\r\nretry-after: 1\r\nconnection: close\r\n\r\nthe daemon is serving its maximum of connections";

/// Serves `app` on `listener` until `shutdown`, then waits (boundedly) for open
/// connections to finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    serve_counted(listener, app, limits, shutdown, None).await
}

/// [`serve`], counting connections refused as not this user's in `state`'s OTLP counts.
pub async fn serve_counted(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
    state: Option<Arc<super::AppState>>,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder.http2().timer(TokioTimer::new());
    loop {
        let stream = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of descriptors or a connection reset before it was taken: wait a
                // moment rather than spin, and go on serving those already open.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            tracing::warn!(
                max = limits.max_connections,
                "connection cap reached: a 503"
            );
            tokio::spawn(refuse(stream));
            continue;
        };
        if limits.same_user_only && !same_user(&stream) {
            if let Some(state) = &state {
                state
                    .otlp
                    .counts
                    .strangers
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            tracing::warn!("a connection not of this user (or not on loopback) was closed");
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
    Ok(())
}

/// Whether the peer of `stream` is on loopback and, where the system says, this user's.
fn same_user(stream: &tokio::net::TcpStream) -> bool {
    let (Ok(local), Ok(peer)) = (stream.local_addr(), stream.peer_addr()) else {
        return false;
    };
    if !peer.ip().is_loopback() && peer.ip() != local.ip() {
        return false;
    }
    crate::discovery::peer_is_ours(local, peer) != Some(false)
}

/// A 503 for a connection past the cap, written within a second, then closed.
async fn refuse(mut stream: tokio::net::TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(BUSY)).await;
    let _ = stream.shutdown().await;
}

/// Raises this process's soft limit on open descriptors to its hard limit (bounded), so
/// the connection cap, not the descriptor table, is what a flood of connections meets.
/// Returns the soft limit in force afterwards.
pub fn raise_descriptor_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit write and read only the struct given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        let wanted = limit.rlim_max.min(65_536);
        if wanted > limit.rlim_cur {
            let raised = libc::rlimit {
                rlim_cur: wanted,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit.rlim_cur = wanted;
            }
        }
    }
    Some(limit.rlim_cur)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_busy_answer_says_its_length_right() {
        let text = std::str::from_utf8(super::BUSY).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
    }
}
