//! One SSE connection to `/session/{id}/events`: reqwest's byte stream through our decoder.

use crate::sse::discard_reason;
use std::time::Duration;

use tokio::sync::mpsc;

use super::connect::{Attempt, Ended, Resume};
use super::{now_us, SourceEvent, Status, Timed, Transport};
use crate::event::Spare;
use crate::sse::{Decoder, Item, Limits};

pub(super) async fn run(
    client: &reqwest::Client,
    attempt: &Attempt<'_>,
    resume: &mut Resume,
    tx: &mpsc::Sender<Timed>,
) -> Ended {
    let url = format!(
        "{}/session/{}/events",
        attempt.base_url,
        percent_encode(&attempt.session_id)
    );
    let mut request = client
        .get(&url)
        .bearer_auth(attempt.token)
        .header("accept", "text/event-stream");
    if !resume.last_id.is_empty() {
        request = request.header("last-event-id", &resume.last_id);
    }
    let response = match tokio::time::timeout(attempt.idle_timeout, request.send()).await {
        Err(_) => return Ended::Unreachable("no answer to the request".into()),
        Ok(Err(e)) => return Ended::Unreachable(describe(&e)),
        Ok(Ok(r)) => r,
    };
    let status = response.status().as_u16();
    if status != 200 {
        resume.retry_after = retry_after(&response);
        return Ended::refused(response).await;
    }
    let content_type = super::connect::content_type(&response);
    if !content_type.starts_with("text/event-stream") {
        return not_an_event_stream(response, content_type).await;
    }
    let resumed = !resume.last_id.is_empty();
    let connected = Status::Connected {
        transport: Transport::Sse,
        session_id: attempt.session_id.clone(),
        resumed,
    };
    read_events(response, connected, attempt, resume, tx).await
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
    let head = super::connect::read_head(&mut response, 8 << 10).await;
    let gist = super::connect::summarize_body(&content_type, &head);
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
    connected: Status,
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
            Item::Retry(ms) => resume.retry = Some(super::connect::clamp_retry(ms)),
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

/// Percent-encodes a path segment (session ids are UUIDs, but a user may type anything).
pub(super) fn percent_encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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
