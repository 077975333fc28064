//! DNS-rebinding protection, shared by the daemon and `mcptop proxy`: a page on another
//! site must not reach a loopback server through a name that resolves to 127.0.0.1.
//!
//! A request is refused when, on a loopback server, its `Host` (or HTTP/2 authority) is
//! missing, given twice or names anything but this machine's loopback; or when its
//! `Origin` names anything but this machine's loopback. Pure: no I/O, easy to test.

use std::net::IpAddr;

use axum::http::{header, HeaderMap, Uri};

/// Why a request was refused (the 403's body).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Host,
    Origin,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Host => "forbidden: Host is not local",
            Refusal::Origin => "forbidden: Origin is not local",
        }
    }
}

/// Checks one request's `Host`/authority and `Origin` for a server bound to `bound`.
pub fn check(headers: &HeaderMap, uri: &Uri, bound: IpAddr) -> Result<(), Refusal> {
    if bound.is_loopback() {
        let mut hosts = headers.get_all(header::HOST).iter();
        let host = match (hosts.next(), hosts.next()) {
            (Some(h), None) => h.to_str().ok(),
            (Some(_), Some(_)) => return Err(Refusal::Host),
            // HTTP/2 carries the host as the request's authority.
            (None, _) => uri.authority().map(|a| a.as_str()),
        };
        if !host.is_some_and(|h| is_local_host(h, bound)) {
            return Err(Refusal::Host);
        }
    }
    let mut origins = headers.get_all(header::ORIGIN).iter();
    match (origins.next(), origins.next()) {
        (None, _) => Ok(()),
        (Some(o), None) if o.to_str().ok().is_some_and(|o| is_local_origin(o, bound)) => Ok(()),
        _ => Err(Refusal::Origin),
    }
}

/// `localhost`, `127.0.0.1`, `[::1]` or the bound address, with an optional port.
pub fn is_local_host(host: &str, bound: IpAddr) -> bool {
    let Some(name) = strip_port(host.trim()) else {
        return false;
    };
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = match name.strip_prefix('[') {
        Some(inner) => match inner.strip_suffix(']') {
            Some(inner) => inner,
            None => return false,
        },
        None => name,
    };
    match bare.parse::<IpAddr>() {
        // A bare IPv6 address needs its brackets in a Host.
        Ok(IpAddr::V6(_)) if !name.starts_with('[') => false,
        Ok(ip) => ip.is_loopback() || ip == bound,
        Err(_) => false,
    }
}

/// The host without its `:port`; `None` when what follows the host is not a port.
fn strip_port(host: &str) -> Option<&str> {
    if host.starts_with('[') {
        // [::1]:8080 or [::1], nothing else after the bracket.
        let end = host.find(']')?;
        let rest = &host[end + 1..];
        return match rest.strip_prefix(':') {
            None if rest.is_empty() => Some(&host[..=end]),
            Some(port) if is_port(port) => Some(&host[..=end]),
            _ => None,
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if is_port(port) => Some(name),
        Some(_) => None,
        None => Some(host),
    }
}

fn is_port(s: &str) -> bool {
    !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `http(s)://<local host>[:port]`. `null` (a sandboxed or file page) is not local.
fn is_local_origin(origin: &str, bound: IpAddr) -> bool {
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    match rest {
        Some(rest) => is_local_host(rest.strip_suffix('/').unwrap_or(rest), bound),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

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
            "127.0.0.2",
        ] {
            assert!(is_local_host(ok, LO), "{ok}");
        }
        for bad in [
            "evil.example.com",
            "evil.example.com:80",
            "localhost.evil.com",
            "10.0.0.1",
            "",
            "[::1]evil.example",
            "[::1]:80evil",
            "[::1",
            "::1",
            "localhost:",
            "localhost:80:80",
            "127.0.0.1:99999999",
        ] {
            assert!(!is_local_host(bad, LO), "{bad}");
        }
        assert!(is_local_origin("http://localhost:5173", LO));
        assert!(!is_local_origin("http://evil.example.com", LO));
        assert!(!is_local_origin("null", LO));
    }

    #[test]
    fn a_missing_or_doubled_host_is_refused() {
        let uri: Uri = "/mcp".parse().unwrap();
        let mut headers = HeaderMap::new();
        assert_eq!(check(&headers, &uri, LO), Err(Refusal::Host));
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:9"));
        assert_eq!(check(&headers, &uri, LO), Ok(()));
        headers.append(header::HOST, HeaderValue::from_static("evil.example"));
        assert_eq!(check(&headers, &uri, LO), Err(Refusal::Host));
        // HTTP/2: the authority stands for the Host.
        let h2: Uri = "http://localhost:9/mcp".parse().unwrap();
        assert_eq!(check(&HeaderMap::new(), &h2, LO), Ok(()));
        let mut evil = HeaderMap::new();
        evil.insert(header::HOST, HeaderValue::from_static("localhost"));
        evil.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert_eq!(check(&evil, &uri, LO), Err(Refusal::Origin));
        // A server bound to another address checks no Host (it is not loopback-only).
        let any = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
        assert_eq!(check(&HeaderMap::new(), &uri, any), Ok(()));
    }
}
