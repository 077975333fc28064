//! A daemon's endpoints as URLs: its base address (`http://127.0.0.1:PORT`, maybe behind a
//! path, or a `ws://` one) joined with path segments and a query, each part encoded by the
//! `url` crate. A session id or token a user typed cannot break out of its segment.

use url::Url;

/// `base` with `segments` appended (each one path segment, percent-encoded) and `query`'s
/// pairs added; an error says what is wrong with `base`.
pub fn join(base: &str, segments: &[&str], query: &[(&str, &str)]) -> Result<Url, String> {
    let mut url = Url::parse(base).map_err(|e| format!("{base} is not an address ({e})"))?;
    {
        let mut path = url
            .path_segments_mut()
            .map_err(|()| format!("{base} cannot have a path"))?;
        path.pop_if_empty().extend(segments);
    }
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::join;

    #[test]
    fn segments_are_encoded_and_a_trailing_slash_is_one() {
        for base in ["http://127.0.0.1:7", "http://127.0.0.1:7/"] {
            let url = join(base, &["session", "a/b c?#", "events"], &[]).unwrap();
            assert_eq!(
                url.as_str(),
                "http://127.0.0.1:7/session/a%2Fb%20c%3F%23/events"
            );
        }
        let behind = join("http://h:1/mcptop", &["sessions"], &[]).unwrap();
        assert_eq!(behind.as_str(), "http://h:1/mcptop/sessions");
        let ws = join(
            "ws://h:1",
            &["ws", "mcp", "events"],
            &[("session_id", "s 1&x=y"), ("mcp_token", "t")],
        )
        .unwrap();
        assert_eq!(
            ws.as_str(),
            "ws://h:1/ws/mcp/events?session_id=s+1%26x%3Dy&mcp_token=t"
        );
        assert!(join("no address", &["x"], &[]).is_err());
        assert!(join("mailto:me@h", &["x"], &[]).is_err());
    }
}
