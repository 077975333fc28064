//! What every kind of link (SSE, WebSocket, MCP's Streamable HTTP) shares: one connection
//! attempt and how it ended, where a resumed stream continues, reading an SSE body into
//! events, handing them to the consumer, and saying an HTTP failure in plain words.
//! `connect` runs the attempts; `sse`, `ws` and `mcp` are the links.

use std::time::Duration;

use tokio::sync::mpsc;

use super::{now_us, LinkStatus, SourceEvent, Timed};
use crate::event::Spare;
use crate::sse::{discard_reason, Decoder, Item, Limits};

/// What one connection attempt needs.
pub(super) struct Attempt<'a> {
    pub base_url: &'a str,
    pub session_id: String,
    pub token: &'a str,
    pub gateway_token: Option<&'a str>,
    pub keepalive: Duration,
    pub idle_timeout: Duration,
    /// Events and keep-alives this connection delivered (a connection that delivers
    /// nothing before it ends is a failure, however it ended).
    pub delivered: std::sync::atomic::AtomicU64,
    /// Spent events to fill again, if the consumer hands them back.
    pub recycler: Option<&'a crate::event::Recycler>,
}

impl Attempt<'_> {
    /// Counts one delivered event or keep-alive.
    pub fn delivered_one(&self) {
        self.delivered
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The range a server's `retry:` is held to.
pub(super) const RETRY_RANGE: (Duration, Duration) =
    (Duration::from_millis(100), Duration::from_secs(60));

/// A server's `retry:` in milliseconds, held to [`RETRY_RANGE`].
pub(super) fn clamp_retry(ms: u64) -> Duration {
    Duration::from_millis(ms).clamp(RETRY_RANGE.0, RETRY_RANGE.1)
}

/// How one connection ended.
#[derive(Debug)]
pub(super) enum Ended {
    /// The consumer went away.
    Closed,
    /// The server answered the request with another status than 200.
    Refused { status: u16, body: String },
    /// No connection could be made.
    Unreachable(String),
    /// It worked, then broke.
    Dropped(String),
    /// The gateway refused its own token before the WebSocket upgrade.
    GatewayRefused,
}

impl Ended {
    /// A refusal with the gist of the server's answer (at most 8 KiB of it is read).
    pub(super) async fn refused(mut response: reqwest::Response) -> Ended {
        let status = response.status().as_u16();
        let content_type = content_type(&response);
        let head = read_head(&mut response, 8 << 10).await;
        Ended::Refused {
            status,
            body: summarize_body(&content_type, &head),
        }
    }
}

/// The response's content type, empty when it has none.
pub(super) fn content_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// The first `limit` bytes of a body, however long the body is (an error page may be
/// endless), waiting at most a few seconds for them.
pub(super) async fn read_head(response: &mut reqwest::Response, limit: usize) -> Vec<u8> {
    let mut head = Vec::new();
    let read = async {
        while head.len() < limit {
            match response.chunk().await {
                Ok(Some(chunk)) => head.extend_from_slice(&chunk),
                _ => break,
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(3), read).await;
    head.truncate(limit);
    head
}

/// The gist of an error body in one short line: a JSON error's message, an HTML page's
/// title (or its text), or the text itself; whitespace collapsed, at most 120 characters.
pub fn summarize_body(content_type: &str, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim_start();
    let gist = if let Ok(value) = serde_json::from_str::<serde_json::Value>(trimmed) {
        json_message(&value).unwrap_or_else(|| trimmed.to_owned())
    } else if content_type.contains("html") || trimmed.starts_with('<') {
        html_gist(trimmed)
    } else {
        trimmed.to_owned()
    };
    let mut line = gist
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if line.chars().count() > 120 {
        line = line.chars().take(119).collect::<String>() + "…";
    }
    line
}

/// `{"error": "…"}`, `{"error": {"message": "…"}}`, `{"message": "…"}`, `{"detail": "…"}`.
fn json_message(value: &serde_json::Value) -> Option<String> {
    for key in ["error", "message", "detail"] {
        match value.get(key) {
            Some(serde_json::Value::String(s)) => return Some(s.clone()),
            Some(inner @ serde_json::Value::Object(_)) => {
                if let Some(s) = json_message(inner) {
                    return Some(s);
                }
            }
            _ => {}
        }
    }
    None
}

/// An HTML page's `<title>`, else its text without tags, scripts or styles.
fn html_gist(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    if let Some(start) = lower.find("<title") {
        if let Some(open_end) = lower[start..].find('>') {
            let from = start + open_end + 1;
            if let Some(len) = lower[from..].find("</title") {
                let title = html[from..from + len].trim();
                if !title.is_empty() {
                    return title.to_owned();
                }
            }
        }
    }
    let mut out = String::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        out.push(' ');
        let tag = rest[open..].to_ascii_lowercase();
        let skip_to = ["script", "style"]
            .iter()
            .find(|name| tag[1..].starts_with(*name))
            .and_then(|name| tag.find(&format!("</{name}")));
        let after = skip_to.unwrap_or(0);
        match rest[open + after..].find('>') {
            Some(close) => rest = &rest[open + after + close + 1..],
            None => {
                rest = "";
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Where a resumed stream continues, and which replayed events to drop.
#[derive(Debug, Default)]
pub(super) struct Resume {
    pub last_id: String,
    /// While a resumed connection replays: the numeric `Last-Event-ID` that was sent.
    /// Ids at or below it are the replay's duplicates; the first other id ends the replay.
    replay_bound: Option<u64>,
    /// The id in force before the current event, on this connection.
    previous: String,
    /// The server's `retry:`, which sets the first pause after a drop.
    pub retry: Option<Duration>,
    /// A 503's or 429's `Retry-After`, for the next pause only.
    pub retry_after: Option<Duration>,
}

impl Resume {
    /// Starts a connection: the decoder begins with the last id in force, and a numeric
    /// one sent as `Last-Event-ID` bounds what the server may replay.
    pub fn start_connection(&mut self) {
        self.previous = self.last_id.clone();
        self.replay_bound = self.last_id.parse::<u64>().ok();
    }

    /// Whether an event with this id is new. An event that carries the id already in
    /// force has no `id:` line of its own (a `lagged` report, say) and is new. Only the
    /// head of a resumed connection can hold duplicates: ids at or below the
    /// `Last-Event-ID` that was sent, before any other id. Past that head every event is
    /// new, whatever its id: ids that restart, go down or are not numbers lose nothing.
    pub fn accept(&mut self, id: &str) -> bool {
        // Compared from the end, where consecutive ids differ: no call into `memcmp`.
        if id.len() == self.previous.len() && id.bytes().rev().eq(self.previous.bytes().rev()) {
            return true;
        }
        // Into the buffers they had: an event of a stream with ids allocates nothing here.
        self.previous.clear();
        self.previous.push_str(id);
        if let Some(bound) = self.replay_bound {
            if id.parse::<u64>().is_ok_and(|n| n <= bound) {
                return false;
            }
            self.replay_bound = None;
        }
        self.last_id.clear();
        self.last_id.push_str(id);
        true
    }
}

/// A 503's or 429's `Retry-After` in seconds (the HTTP-date form is not worth a parser).
pub(super) fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    if !matches!(response.status().as_u16(), 429 | 503) {
        return None;
    }
    let value = response.headers().get("retry-after")?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// A 200 that is not an event stream (a login page, a proxy's error page, a JSON
/// answer): says what came instead.
pub(super) async fn not_an_event_stream(
    mut response: reqwest::Response,
    content_type: String,
) -> Ended {
    let head = read_head(&mut response, 8 << 10).await;
    let gist = summarize_body(&content_type, &head);
    let what = if content_type.is_empty() {
        "no content-type".to_owned()
    } else {
        format!("content-type {content_type}")
    };
    Ended::Refused {
        status: 200,
        body: if gist.is_empty() {
            format!("not an event stream ({what})")
        } else {
            format!("not an event stream ({what}): {gist}")
        },
    }
}

/// Reports `connected`, then reads an event stream until it ends or goes silent for the
/// idle timeout, dropping events a resume replayed.
pub(super) async fn read_events(
    mut response: reqwest::Response,
    connected: LinkStatus,
    attempt: &Attempt<'_>,
    resume: &mut Resume,
    tx: &mpsc::Sender<Timed>,
) -> Ended {
    if send(tx, SourceEvent::Status(connected)).await.is_err() {
        return Ended::Closed;
    }
    let mut decoder = Decoder::new(Limits::default());
    decoder.set_last_event_id(&resume.last_id);
    resume.start_connection();
    let mut out = Vec::new();
    // Text buffers of spent events, filled again for new ones.
    let mut pool = Vec::new();
    loop {
        let chunk = match tokio::time::timeout(attempt.idle_timeout, response.chunk()).await {
            Err(_) => {
                return Ended::Dropped(format!(
                    "no byte for {} s, not even a keep-alive: the link is dead",
                    attempt.idle_timeout.as_secs_f64()
                ))
            }
            Ok(Err(e)) => return Ended::Dropped(describe(&e)),
            Ok(Ok(None)) => return Ended::Dropped("the server ended the stream".into()),
            Ok(Ok(Some(chunk))) => chunk,
        };
        // The events of one chunk arrived together: one clock reading serves them all.
        let at = now_us();
        out.clear();
        if let Some(recycler) = attempt.recycler {
            if pool.len() < 256 {
                recycler.take_into(&mut pool);
            }
        }
        decoder.feed(&chunk, &mut |item| match item {
            Item::Event(e) => {
                if resume.accept(e.last_event_id) {
                    out.push(Spare::fill(
                        pool.pop(),
                        e.event_type,
                        e.data,
                        e.last_event_id,
                    ));
                }
            }
            Item::Comment => out.push(SourceEvent::KeepAlive),
            Item::Retry(ms) => resume.retry = Some(clamp_retry(ms)),
            Item::Dropped(dropped) => out.push(SourceEvent::Discarded {
                reason: discard_reason(&dropped),
            }),
        });
        if hand_over(tx, at, &mut out, attempt).await.is_err() {
            return Ended::Closed;
        }
    }
}

/// Sends a chunk's events in order, taking the channel's room for as many as fit at once
/// (one wait and one wake-up of the consumer per batch, not per event).
pub(super) async fn hand_over(
    tx: &mpsc::Sender<Timed>,
    at: crate::time::Time,
    out: &mut Vec<SourceEvent>,
    attempt: &Attempt<'_>,
) -> Result<(), ()> {
    let mut events = out.drain(..);
    let mut left = events.len();
    while left > 0 {
        let n = left.min(tx.max_capacity());
        let permits = tx.reserve_many(n).await.map_err(|_| ())?;
        for (permit, event) in permits.zip(events.by_ref()) {
            if matches!(event, SourceEvent::Event { .. } | SourceEvent::KeepAlive) {
                attempt.delivered_one();
            }
            permit.send(Timed { at, event });
        }
        left -= n;
    }
    Ok(())
}

/// Why the decoder dropped an event, in the units a person reads.
pub(super) async fn send(tx: &mpsc::Sender<Timed>, event: SourceEvent) -> Result<(), ()> {
    tx.send(Timed {
        at: now_us(),
        event,
    })
    .await
    .map_err(|_| ())
}

/// A reqwest error in a few words: its root cause ("connection refused", "connection
/// reset by peer"), never the URL (it may carry a token in its query).
pub(super) fn describe(e: &reqwest::Error) -> String {
    let mut root: &dyn std::error::Error = e;
    while let Some(s) = root.source() {
        root = s;
    }
    let mut text = root.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "the daemon");
    }
    // "Connection refused (os error 111)" → "connection refused".
    if let Some(at) = text.find(" (os error ") {
        text.truncate(at);
    }
    let mut chars = text.chars();
    let text = match chars.next() {
        Some(first) if chars.clone().next().is_some_and(char::is_lowercase) => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => text,
    };
    if e.is_timeout() && !text.contains("timed out") {
        return format!("timed out ({text})");
    }
    plain_words(&text).map_or(text, str::to_owned)
}

/// The HTTP stack's words for a cut connection, in the words of a person watching a
/// daemon (`unexpected EOF during chunk size line` is a daemon that stopped).
fn plain_words(text: &str) -> Option<&'static str> {
    let lower = text.to_ascii_lowercase();
    let cut = [
        "unexpected eof",
        "connection reset",
        "connection closed before message completed",
        "end of file before message length reached",
        "incomplete message",
        "broken pipe",
    ];
    cut.iter()
        .any(|c| lower.contains(c))
        .then_some("the daemon closed the connection mid-stream (it stopped?)")
}

#[cfg(test)]
mod hand_over_tests {
    use super::*;

    fn attempt() -> Attempt<'static> {
        Attempt {
            base_url: "http://127.0.0.1:1",
            session_id: "s".into(),
            token: "",
            gateway_token: None,
            keepalive: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(1),
            delivered: Default::default(),
            recycler: None,
        }
    }

    #[tokio::test]
    async fn a_chunk_larger_than_the_channel_goes_over_whole_and_in_order() {
        let (tx, mut rx) = mpsc::channel::<Timed>(3);
        let attempt = attempt();
        let mut out: Vec<SourceEvent> = (0..10)
            .map(|n| SourceEvent::Event {
                event_type: String::new(),
                data: n.to_string(),
                id: String::new(),
            })
            .collect();
        out.insert(4, SourceEvent::KeepAlive);
        out.push(SourceEvent::Discarded {
            reason: "too long".into(),
        });
        let at = now_us();
        let reader = tokio::spawn(async move {
            let mut seen = Vec::new();
            while let Some(timed) = rx.recv().await {
                seen.push(timed.event);
            }
            seen
        });
        hand_over(&tx, at, &mut out, &attempt).await.unwrap();
        drop(tx);
        let seen = reader.await.unwrap();
        assert!(out.is_empty());
        assert_eq!(seen.len(), 12);
        let datas: Vec<&str> = seen
            .iter()
            .filter_map(|e| match e {
                SourceEvent::Event { data, .. } => Some(data.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(datas, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
        assert!(matches!(seen[4], SourceEvent::KeepAlive));
        assert!(matches!(seen[11], SourceEvent::Discarded { .. }));
        // Events and keep-alives count as delivered; a discarded event does not.
        assert_eq!(
            attempt.delivered.load(std::sync::atomic::Ordering::Relaxed),
            11
        );
    }

    #[tokio::test]
    async fn a_closed_consumer_ends_the_hand_over() {
        let (tx, rx) = mpsc::channel::<Timed>(2);
        drop(rx);
        let attempt = attempt();
        let mut out = vec![SourceEvent::KeepAlive; 5];
        assert!(hand_over(&tx, now_us(), &mut out, &attempt).await.is_err());
    }
}

#[cfg(test)]
mod words_tests {
    #[test]
    fn a_cut_stream_is_said_in_plain_words() {
        for jargon in [
            "unexpected EOF during chunk size line",
            "connection reset by peer",
            "error reading a body from connection: end of file before message length reached",
        ] {
            assert_eq!(
                super::plain_words(jargon),
                Some("the daemon closed the connection mid-stream (it stopped?)"),
                "{jargon}"
            );
        }
        assert_eq!(super::plain_words("connection refused"), None);
    }
}
