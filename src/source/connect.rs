//! The live source: connect, read, and when the link drops, reconnect with capped
//! exponential backoff and jitter, resuming with `Last-Event-ID` and dropping replayed
//! duplicates. It never gives up unless `max_retries` says so; it stops only on a state
//! that retrying cannot fix (a rejected token, a session that no longer exists).
//!
//! In automatic mode (the daemon found through a discovery file, the session picked from
//! its listing) it follows the daemon: when it goes away it waits for the discovery file
//! to name a daemon that answers again (on the same port or a new one) and attaches to
//! the newest session.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::discover::{discover, Daemon, DiscoverOptions};
use super::link::{send, Attempt, Ended, Resume};
use super::select::{select, Chosen, SelectError, SelectOptions};
use super::{LinkStatus, SourceEvent, Stop, Timed, Transport};

/// How the live source runs.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    pub transport: Transport,
    /// The daemon's keep-alive interval; no byte for 2.5× this is a dead link.
    pub keepalive: Duration,
    /// The gateway token for the WebSocket route, when the gateway wants one.
    pub gateway_token: Option<String>,
    /// Consecutive failed attempts before giving up (none: never).
    pub max_retries: Option<u32>,
    /// First and longest pause between attempts.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// How to find the daemon and the session again after it restarts (automatic mode).
    pub rediscover: Option<(DiscoverOptions, SelectOptions)>,
    /// A named session that died with its daemon: make a fresh one on the new daemon (its
    /// open `POST /session`) and follow it (`--new-session`).
    pub new_session: bool,
    /// Where the consumer hands back spent events, whose text the source fills again.
    pub recycler: Option<crate::event::Recycler>,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            transport: Transport::Sse,
            keepalive: Duration::from_secs(15),
            gateway_token: None,
            max_retries: None,
            backoff_min: Duration::from_millis(250),
            backoff_max: Duration::from_secs(10),
            rediscover: None,
            new_session: false,
            recycler: None,
        }
    }
}

/// A connection that lived less than this, or delivered nothing, counts as a failed
/// attempt for the backoff and `--max-retries`: a server that answers and closes at once
/// must not get a reconnect storm.
const HEALTHY_AFTER: Duration = Duration::from_secs(3);

/// How often an mcptop daemon's `/health` is read for what it lost beside the streams.
const COUNTS_EVERY: Duration = Duration::from_secs(2);

/// Reads the `/health` of the daemon `base` names (while it names one) every
/// [`COUNTS_EVERY`], and says its OTLP paths' counts whenever they change. Ends with the
/// consumer, or when `base`'s sender goes.
async fn watch_counts(
    mut base: tokio::sync::watch::Receiver<Option<String>>,
    tx: mpsc::Sender<Timed>,
) {
    // Nothing lost is nothing to say: only counts that differ from that are said.
    let mut said = crate::event::DaemonCounts::default();
    loop {
        tokio::select! {
            changed = base.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep(COUNTS_EVERY) => {}
        }
        let url = base.borrow_and_update().clone();
        let Some(url) = url else { continue };
        let Some(counts) = crate::discovery::health(&url)
            .await
            .as_ref()
            .and_then(crate::event::DaemonCounts::of)
        else {
            continue;
        };
        if said != counts {
            let status = LinkStatus::DaemonCounts(counts.clone());
            if send(&tx, SourceEvent::Status(status)).await.is_err() {
                return;
            }
            said = counts;
        }
    }
}

/// Aborts a task when dropped.
struct Aborting(tokio::task::JoinHandle<()>);

impl Drop for Aborting {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs until `stop` is cancelled, the consumer goes away, or a final state; returns why.
pub async fn run(
    mut daemon: Daemon,
    mut chosen: Chosen,
    options: LiveOptions,
    tx: mpsc::Sender<Timed>,
    stop: CancellationToken,
) -> Stop {
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()
        .unwrap_or_default();
    let idle_timeout = options.keepalive.mul_f64(2.5);
    let mut resume = Resume::default();
    let mut mcp_session = super::mcp::McpSession::default();
    let mut failures: u32 = 0;
    let mut attempts: u32 = 0;
    let mut opened_this_session = false;
    let mut daemon_gone = false;
    let mut announced: Option<String> = None;
    let (base, watched) = tokio::sync::watch::channel(None);
    let _counts = Aborting(tokio::spawn(watch_counts(watched, tx.clone())));
    loop {
        // An mcptop daemon with OTLP paths counts what they lose: watched beside the stream.
        base.send_if_modified(|url| {
            let now = (daemon.mcptop && daemon.otlp).then(|| daemon.base_url.clone());
            let changed = *url != now;
            *url = now;
            changed
        });
        // Which daemon run this is, whenever it is another than the one last said.
        if let Some(instance) = daemon.instance.clone() {
            if announced.as_deref() != Some(instance.as_str()) {
                let address = crate::recording::redact_url(&daemon.base_url)
                    .trim_start_matches("http://")
                    .to_owned();
                tracing::info!(%address, %instance, "following daemon");
                // Stock Construct publishes no progress on its session streams: say what
                // shows its calls, should the stream stay quiet.
                let quiet_hint =
                    (!daemon.mcptop && options.transport != Transport::Mcp).then(|| {
                        format!(
                            "this daemon's tools report no progress on the session stream: to see \
                         its calls, run `mcptop proxy --upstream {}/mcp` and point the agent at \
                         the proxy, or use your agent's hooks",
                            crate::recording::redact_url(&daemon.base_url)
                        )
                    });
                let status = LinkStatus::Daemon {
                    address,
                    instance: instance.clone(),
                    quiet_hint,
                };
                if send(&tx, SourceEvent::Status(status)).await.is_err() {
                    return Stop::Fatal("the consumer went away".into());
                }
                announced = Some(instance);
            }
        }
        attempts = attempts.saturating_add(1);
        if send(
            &tx,
            SourceEvent::Status(LinkStatus::Connecting { attempt: attempts }),
        )
        .await
        .is_err()
        {
            return Stop::Fatal("the consumer went away".into());
        }
        let attempt = Attempt {
            base_url: &daemon.base_url,
            session_id: chosen.session_id.clone(),
            token: &chosen.token,
            gateway_token: options.gateway_token.as_deref(),
            keepalive: options.keepalive,
            idle_timeout,
            delivered: Default::default(),
            recycler: options.recycler.as_ref(),
        };
        let began = tokio::time::Instant::now();
        let ended = tokio::select! {
            _ = stop.cancelled() => None,
            ended = async {
                match options.transport {
                    Transport::Sse => super::sse::run(&client, &attempt, &mut resume, &tx).await,
                    Transport::Ws => super::ws::run(&attempt, &tx).await,
                    Transport::Mcp => {
                        super::mcp::run(&client, &attempt, &mut resume, &mut mcp_session, &tx).await
                    }
                }
            } => Some(ended),
        };
        let ended = match ended {
            Some(Ended::Closed) | None => {
                // Stopping: the MCP session this source made ends with it.
                super::mcp::end_session(&client, &attempt, &mcp_session).await;
                return Stop::Fatal(
                    if ended.is_none() {
                        "stopped"
                    } else {
                        "the consumer went away"
                    }
                    .into(),
                );
            }
            Some(ended) => ended,
        };
        // Did this attempt get through to the stream, and was it worth it: it delivered
        // something and lived a while?
        let got_through = matches!(ended, Ended::Dropped(_));
        let healthy = got_through
            && attempt.delivered.load(std::sync::atomic::Ordering::Relaxed) > 0
            && began.elapsed() >= HEALTHY_AFTER;
        if got_through {
            opened_this_session = true;
            daemon_gone = false;
        }
        if healthy {
            failures = 0;
        } else {
            failures = failures.saturating_add(1);
        }
        let reason = match ended {
            Ended::Closed => return Stop::Fatal("the consumer went away".into()),
            Ended::GatewayRefused => {
                return Stop::GatewayTokenRejected {
                    had_token: options.gateway_token.is_some(),
                }
            }
            // Construct serves the WebSocket route on its gateway, not on its MCP port.
            Ended::Refused { status: 404, .. } if options.transport == Transport::Ws => {
                return Stop::Fatal(format!(
                    "no WebSocket route at {}/ws/mcp/events: Construct serves it on its gateway \
                     (by default 127.0.0.1:42617, or [gateway] in ~/.construct/config.toml): \
                     give --url http://127.0.0.1:42617",
                    crate::recording::redact_url(&daemon.base_url)
                ));
            }
            Ended::Dropped(reason) => reason,
            Ended::Unreachable(reason) => {
                daemon_gone = true;
                format!("{reason}, daemon unreachable; waiting for it to come back")
            }
            Ended::Refused { status, .. } if status == 401 || status == 404 => {
                // Construct answers 401 for an unknown session too, so a 401 on a session
                // that worked before means it is gone (the daemon restarted).
                match &options.rediscover {
                    Some((discover_options, select_options)) if !chosen.explicit => {
                        match follow(discover_options, select_options).await {
                            Ok((d, c)) if c.session_id != chosen.session_id || d != daemon => {
                                daemon = d;
                                chosen = c;
                                resume = Resume::default();
                                opened_this_session = false;
                                failures = 0;
                                "the session ended; attaching to the newest session".into()
                            }
                            Ok(_) if opened_this_session => return Stop::SessionGone,
                            Ok(_) => return Stop::TokenRejected,
                            Err(e) => format!("the session ended; {e}"),
                        }
                    }
                    Some((discover_options, _))
                        if chosen.explicit && options.new_session && opened_this_session =>
                    {
                        // The named session died with its daemon: a fresh one on the new run.
                        let found = discover(discover_options).await;
                        // It worked before and is refused now: it died (with its daemon).
                        let fresh = match &found {
                            Ok(d) => super::select::create(d, chosen.label.as_deref(), None)
                                .await
                                .ok(),
                            Err(_) => None,
                        };
                        match (found, fresh) {
                            (Ok(d), Some((session_id, token))) => {
                                let reason = format!(
                                    "the session died with the old daemon; following a new session, {session_id}, on the new one"
                                );
                                daemon = d;
                                chosen = Chosen {
                                    session_id,
                                    token,
                                    label: chosen.label.clone(),
                                    explicit: true,
                                };
                                resume = Resume::default();
                                opened_this_session = false;
                                failures = 0;
                                reason
                            }
                            _ => "the session died with the old daemon; waiting for a new one to make a session on".into(),
                        }
                    }
                    _ if opened_this_session || status == 404 => return Stop::SessionGone,
                    _ => return Stop::TokenRejected,
                }
            }
            // Not even a request could be made (a malformed address).
            Ended::Refused { status: 0, body } => return Stop::Fatal(body),
            Ended::Refused { status, body } if (400..500).contains(&status) => {
                let body = if body.is_empty() {
                    body
                } else {
                    format!(": {body}")
                };
                return Stop::Fatal(format!("the daemon refused the stream: {status}{body}"));
            }
            // A 200 that is not an event stream says so itself.
            Ended::Refused { status: 200, body } => body,
            Ended::Refused { status, body } if body.is_empty() => {
                format!("the daemon answered {status}")
            }
            Ended::Refused { status, body } => format!("the daemon answered {status}: {body}"),
        };
        if let Some(max) = options.max_retries {
            if failures > max {
                // The reason as it stands, without the promise to wait that no longer holds.
                let last_error = reason
                    .strip_suffix("; waiting for it to come back")
                    .unwrap_or(&reason)
                    .to_owned();
                return Stop::GaveUp {
                    attempts: failures,
                    last_error,
                };
            }
        }
        let mut pause = backoff(&options, failures, resume.retry);
        if let Some(asked) = resume.retry_after.take() {
            // The server said when to come back; never wait more than a minute.
            pause = pause.max(asked.min(Duration::from_secs(60)));
        }
        tracing::info!(attempt = attempts, failures, pause_ms = pause.as_millis() as u64, %reason, "link down");
        let status = LinkStatus::Disconnected {
            reason,
            retry_in: pause,
        };
        if send(&tx, SourceEvent::Status(status)).await.is_err() {
            return Stop::Fatal("the consumer went away".into());
        }
        tokio::select! {
            _ = stop.cancelled() => return Stop::Fatal("stopped".into()),
            _ = tokio::time::sleep(pause) => {}
        }
        if daemon_gone {
            // Automatic mode: the discovery file may name the daemon's new address.
            if let Some((discover_options, select_options)) = &options.rediscover {
                if let Ok(found) = discover(discover_options).await {
                    if found != daemon {
                        daemon = found;
                        // Another daemon numbers its events afresh: nothing to resume.
                        resume = Resume::default();
                        // A restarted daemon has new sessions: pick again, unless the
                        // user named one (then its absence is the answer).
                        let picked = if chosen.explicit {
                            None
                        } else {
                            select(&daemon, select_options).await.ok()
                        };
                        if let Some(c) = picked {
                            if c.session_id != chosen.session_id {
                                resume = Resume::default();
                                opened_this_session = false;
                            }
                            chosen = c;
                        }
                    }
                }
            }
        }
    }
}

/// Finds the daemon and the newest session again.
async fn follow(
    discover_options: &DiscoverOptions,
    select_options: &SelectOptions,
) -> Result<(Daemon, Chosen), String> {
    let daemon = discover(discover_options)
        .await
        .map_err(|e| e.to_string())?;
    match select(&daemon, select_options).await {
        Ok(chosen) => Ok((daemon, chosen)),
        Err(e @ SelectError::NoSessions { .. }) => Err(format!("{e}; waiting")),
        Err(e) => Err(e.to_string()),
    }
}

/// The pause before attempt `failures + 1`: the server's `retry:` first, then doubling
/// up to the cap, each with up to 50 % jitter off so clients do not stampede.
fn backoff(options: &LiveOptions, failures: u32, retry: Option<Duration>) -> Duration {
    let base = retry
        .unwrap_or(options.backoff_min)
        .max(Duration::from_millis(1));
    if failures <= 1 {
        return base.min(options.backoff_max.max(base));
    }
    let grown = base.saturating_mul(1u32 << (failures - 1).min(16));
    let capped = grown.min(options.backoff_max.max(base));
    capped.mul_f64(0.5 + fastrand::f64() * 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::link::*;

    #[test]
    fn replayed_ids_are_dropped() {
        let mut r = Resume::default();
        r.start_connection();
        assert!(r.accept("1"));
        assert!(r.accept("2"));
        assert!(r.accept("2"), "no id line: the same id stays in force");
        // A server that ignores Last-Event-ID and replays from the start.
        r.start_connection();
        assert!(!r.accept("1"));
        assert!(!r.accept("2"));
        assert!(r.accept("3"));
        assert!(r.accept("")); // no id: cannot tell
        assert!(r.accept("evt-a"));
        assert_eq!(r.last_id, "evt-a");
    }

    #[test]
    fn only_a_resumes_replay_is_dropped() {
        // A hostile or restarted server: a huge id, then lower ones. Every one is new.
        let mut r = Resume::default();
        r.start_connection();
        for id in ["18446744073709551615", "5", "6", "1", "2", "3"] {
            assert!(r.accept(id), "{id} was dropped");
        }
        assert_eq!(r.last_id, "3");
        // Resumed from 3: the replay of 2 and 3 is dropped, then ids go on from anywhere.
        r.start_connection();
        assert!(!r.accept("2"));
        assert!(!r.accept("3"));
        assert!(r.accept("4"));
        assert!(r.accept("1"), "past the replay, a lower id is a new event");
        assert!(r.accept("0"));
        // Resumed from a huge id: once a new id came, nothing more is dropped.
        r.last_id = u64::MAX.to_string();
        r.start_connection();
        assert!(r.accept("evt-1"));
        assert!(r.accept("7"));
        assert!(r.accept("8"));
    }

    #[test]
    fn error_bodies_come_down_to_one_short_line() {
        let page = b"<!DOCTYPE html>\n<html><head><style>p{}</style><title>\n 503 Service\n Unavailable</title></head><body><h1>503</h1></body></html>";
        assert_eq!(summarize_body("text/html", page), "503 Service Unavailable");
        let untitled = b"<html><script>var x = '<b>';</script><body><h1>Bad\n gateway</h1><p>try later</p></body></html>";
        assert_eq!(
            summarize_body("text/html", untitled),
            "Bad gateway try later"
        );
        assert_eq!(
            summarize_body(
                "application/json",
                br#"{"error":{"code":7,"message":"session expired"}}"#
            ),
            "session expired"
        );
        assert_eq!(summarize_body("", br#"{"detail":"nope"}"#), "nope");
        assert_eq!(
            summarize_body("text/plain", b"  too\r\n many\trequests \x1b[31m "),
            "too many requests [31m"
        );
        let long = "word ".repeat(100);
        let line = summarize_body("text/plain", long.as_bytes());
        assert_eq!(line.chars().count(), 120);
        assert!(line.ends_with('…'));
        assert_eq!(summarize_body("text/html", b"<p>cut <b"), "cut");
        assert_eq!(summarize_body("text/plain", b"caf\xff"), "caf\u{fffd}");
    }

    #[test]
    fn backoff_starts_at_retry_and_is_capped() {
        let options = LiveOptions::default();
        assert_eq!(
            backoff(&options, 1, Some(Duration::from_millis(3000))),
            Duration::from_millis(3000)
        );
        assert_eq!(backoff(&options, 1, None), Duration::from_millis(250));
        for failures in 2..40 {
            let d = backoff(&options, failures, None);
            assert!(d <= Duration::from_secs(10), "{d:?}");
            assert!(d >= Duration::from_millis(125), "{d:?}");
        }
    }
}
