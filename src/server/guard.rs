//! DNS-rebinding protection: a page on another site must not reach the daemon through a
//! name that resolves to 127.0.0.1. Requests whose `Host` (when the server listens on
//! loopback) or `Origin` names anything but this machine's loopback are refused with 403.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;

pub async fn check_host_and_origin(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let bound = state.local_addr.ip();
    if bound.is_loopback() {
        if let Some(host) = headers.get(header::HOST) {
            let ok = host.to_str().ok().is_some_and(|h| is_local_host(h, bound));
            if !ok {
                return super::text(StatusCode::FORBIDDEN, "forbidden: Host is not local");
            }
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let ok = origin
            .to_str()
            .ok()
            .is_some_and(|o| is_local_origin(o, bound));
        if !ok {
            return super::text(StatusCode::FORBIDDEN, "forbidden: Origin is not local");
        }
    }
    next.run(request).await
}

/// `localhost`, `127.0.0.1`, `[::1]` or the bound address, with an optional port.
fn is_local_host(host: &str, bound: IpAddr) -> bool {
    let name = strip_port(host.trim());
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback() || ip == bound,
        Err(_) => false,
    }
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        // [::1]:8080 or [::1]
        return match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// `http(s)://<local host>[:port]`. `null` (a sandboxed or file page) is not local.
fn is_local_origin(origin: &str, bound: IpAddr) -> bool {
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    match rest {
        Some(rest) => is_local_host(rest.trim_end_matches('/'), bound),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LO: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn accepts_loopback_names_only() {
        for ok in [
            "localhost",
            "localhost:3000",
            "127.0.0.1",
            "127.0.0.1:80",
            "[::1]",
            "[::1]:9",
            "LOCALHOST",
        ] {
            assert!(is_local_host(ok, LO), "{ok}");
        }
        for bad in [
            "evil.example.com",
            "evil.example.com:80",
            "localhost.evil.com",
            "10.0.0.1",
            "",
        ] {
            assert!(!is_local_host(bad, LO), "{bad}");
        }
        assert!(is_local_origin("http://localhost:5173", LO));
        assert!(!is_local_origin("http://evil.example.com", LO));
        assert!(!is_local_origin("null", LO));
    }
}
