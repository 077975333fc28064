//! Daemon sessions: who may read which events stream, and the calls running in each.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use serde::Serialize;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::hub::{RingBudget, SessionEvents};
use crate::time::Time;

/// One session: its secret, its events stream and its running calls.
pub struct Session {
    pub id: String,
    token: String,
    pub label: Option<String>,
    pub cwd: String,
    pub created_at: Time,
    pub events: SessionEvents,
    /// Created without the admin token (an open `POST /session`, an anonymous MCP client):
    /// any local user may have made it, so the owner's views leave it out unless asked.
    pub anonymous: bool,
    /// The daemon's all-sessions stream, which gets a copy of every event of an owner's
    /// session tagged with where it comes from (mcptop mode; `None` for that stream itself
    /// and for anonymous sessions).
    all: Option<Arc<Session>>,
    /// The stream of every session, anonymous ones included (mcptop mode), fed only while
    /// somebody follows it.
    everyone: Option<Arc<Session>>,
    /// `{"session":"<id>","session_label":"<label>",`: the start of the tagged copy.
    tag: Arc<str>,
    /// Progress tokens minted for calls that gave none (mcptop mode): unique per session.
    next_token: AtomicU64,
    /// Running calls by JSON-RPC request id (its JSON text), for `notifications/cancelled`.
    running: Mutex<HashMap<String, CancellationToken>>,
    /// Progress tokens (their JSON text) of the calls running now, kept unique.
    tokens_in_use: Mutex<HashSet<String>>,
    /// Cancelled when the session ends: its streams close.
    pub closed: CancellationToken,
    /// The last time anyone used the session (unix nanoseconds): for idle expiry.
    touched: std::sync::atomic::AtomicI64,
    /// Fields of published events cut to their caps (counted, said in `GET /sessions`).
    pub cut_fields: AtomicU64,
    /// The latest `server` event's JSON: sent first to every new subscriber.
    server: Mutex<Option<Arc<str>>>,
    /// The OTLP exporter, for an owner's session when the daemon exports.
    export: Option<Arc<super::export::Exporter>>,
    /// An agent session's model turns so far (its OpenTelemetry's `api_request`s).
    pub usage: Mutex<crate::otel::Usage>,
}

impl Session {
    /// Publishes one event on this session's stream (and, tagged, on the all-sessions
    /// stream); returns its id in this session.
    pub fn publish(&self, kind: super::hub::EventKind, data: impl AsRef<str>, now: Time) -> u64 {
        let data = data.as_ref();
        self.remember_server(kind, data);
        if let Some(export) = &self.export {
            if let Some(seen) = super::export::Observed::from_json(kind, data, now) {
                export.offer(self, vec![seen]);
            }
        }
        let (id, event) = self.events.publish_event(kind, &[data], now);
        if let Some(event) = event {
            self.fan_out([(event, now)]);
        }
        id
    }

    /// Publishes events in order, as [`Session::publish`] does each, the session's own
    /// under one lock (a batch from `POST /publish` reaches a subscriber in one go).
    pub fn publish_batch(&self, items: &[(super::hub::EventKind, &str, Time)]) {
        for (kind, data, _) in items {
            self.remember_server(*kind, data);
        }
        let events = self.events.publish_batch(items);
        let published = events.into_iter().zip(items);
        self.fan_out(published.filter_map(|(e, (_, _, now))| Some((e?, *now))));
    }

    /// What a batch published with [`Session::publish_batch`] said, typed, for the OTLP
    /// exporter (the publisher has it before it is JSON: nothing is parsed again).
    pub fn export(&self, seen: Vec<super::export::Observed>) {
        if let Some(export) = &self.export {
            if !seen.is_empty() {
                export.offer(self, seen);
            }
        }
    }

    /// Whether the daemon exports this session's calls.
    pub fn exported(&self) -> bool {
        self.export.is_some()
    }

    /// A `server` event is also the state new subscribers are sent first.
    fn remember_server(&self, kind: super::hub::EventKind, data: &str) {
        if kind == super::hub::EventKind::Server {
            *self.server.lock().unwrap_or_else(PoisonError::into_inner) = Some(data.into());
        }
    }

    /// The tagged copies of this session's events on the all-sessions streams; the stream
    /// of every session is fed only while somebody follows it. The last stream takes each
    /// event itself, not a copy.
    fn fan_out(&self, events: impl IntoIterator<Item = (super::hub::Published, Time)>) {
        let idle = self
            .everyone
            .as_ref()
            .filter(|e| e.events.subscribers() == 0);
        let everyone = self
            .everyone
            .as_ref()
            .filter(|e| e.events.subscribers() > 0);
        let all = self.all.as_ref();
        if self.everyone.is_none() && all.is_none() {
            return;
        }
        for (event, now) in events {
            if let Some(idle) = idle {
                // Nobody follows it, so nothing is sent; what calls are open is still
                // kept, for whoever comes.
                idle.events.note_call(&event, &self.tag);
            }
            match (everyone, all) {
                (Some(first), Some(last)) => {
                    first.events.publish_tagged(event.clone(), &self.tag, now);
                    last.events.publish_tagged(event, &self.tag, now);
                }
                (Some(only), None) | (None, Some(only)) => {
                    only.events.publish_tagged(event, &self.tag, now);
                }
                (None, None) => {}
            }
        }
    }

    /// `data` (a JSON object) with this session's id and label in front.
    fn tagged(&self, data: &str) -> String {
        super::hub::tag_parts(&self.tag, data).concat()
    }

    /// The latest `server` event's JSON, tagged with the session when `tagged` (for the
    /// all-sessions streams).
    pub fn server_event(&self, tagged: bool) -> Option<String> {
        let data = self
            .server
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()?;
        Some(if tagged {
            self.tagged(&data)
        } else {
            data.as_ref().to_owned()
        })
    }

    /// How many more events can be published before the slowest subscriber, of this
    /// session's stream or of the all-sessions stream, starts losing some.
    pub fn room(&self) -> usize {
        let room = |events: &SessionEvents| {
            let (backlog, capacity) = events.backlog();
            capacity.saturating_sub(backlog)
        };
        let mut least = room(&self.events);
        for other in [&self.all, &self.everyone].into_iter().flatten() {
            least = least.min(room(&other.events));
        }
        least
    }

    /// Marks the session as in use now.
    pub fn touch(&self) {
        self.touched
            .store(Time::now().unix_nanos(), Ordering::Relaxed);
    }

    /// When the session was last used: published to, opened, or touched.
    pub fn last_used(&self) -> Time {
        let touched = Time::from_unix_nanos(self.touched.load(Ordering::Relaxed));
        let last_event = self.events.last_event_at().unwrap_or(self.created_at);
        touched.max(last_event)
    }

    /// Nobody follows it and nothing runs in it.
    pub fn is_idle(&self) -> bool {
        self.events.subscribers() == 0 && self.running_calls() == 0
    }

    pub fn token_matches(&self, candidate: &str) -> bool {
        super::auth::constant_time_eq(self.token.as_bytes(), candidate.as_bytes())
    }

    /// The session token, for the one response that hands it out.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The token a call shows on the events stream: the caller's own when no running
    /// call of this session uses it, else (or when it gave none) a fresh one, so two
    /// calls never share a row. Released when the claim is dropped.
    pub fn claim_token(self: &Arc<Self>, wanted: Option<&Value>) -> TokenClaim {
        let mut in_use = self
            .tokens_in_use
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut candidate = wanted.cloned();
        loop {
            if let Some(token) = candidate.take() {
                let key = token.to_string();
                if in_use.insert(key.clone()) {
                    return TokenClaim {
                        session: Arc::clone(self),
                        token,
                        key,
                    };
                }
            }
            // Minted tokens start high, away from the small integers clients pick.
            candidate = Some(Value::from(self.next_token.fetch_add(1, Ordering::Relaxed)));
        }
    }

    /// Registers a running call; the guard unregisters it when dropped.
    pub fn start_call(self: &Arc<Self>, request_id: String) -> (CancellationToken, RunningCall) {
        let cancel = self.closed.child_token();
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(request_id.clone(), cancel.clone());
        (
            cancel,
            RunningCall {
                session: Arc::clone(self),
                request_id,
            },
        )
    }

    /// Cancels the call with this request id; false when none runs.
    pub fn cancel_call(&self, request_id: &str) -> bool {
        let running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        match running.get(request_id) {
            Some(cancel) => {
                cancel.cancel();
                true
            }
            None => false,
        }
    }

    pub fn running_calls(&self) -> usize {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// A progress token held by a running call.
pub struct TokenClaim {
    session: Arc<Session>,
    pub token: Value,
    key: String,
}

impl Drop for TokenClaim {
    fn drop(&mut self) {
        self.session
            .tokens_in_use
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
    }
}

/// Unregisters a call when it ends, however it ends.
pub struct RunningCall {
    session: Arc<Session>,
    request_id: String,
}

impl Drop for RunningCall {
    fn drop(&mut self) {
        self.session
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.request_id);
    }
}

/// How far a subscriber of an anonymous session may fall behind, whatever
/// `--broadcast-capacity` says: 256 anonymous sessions × 64 events of at most ~16 KiB.
pub const ANONYMOUS_BROADCAST: usize = 64;

/// The session id that names the all-sessions stream: every owner's session.
pub const ALL: &str = "*";
/// The session id that names the stream of every session, anonymous ones included.
pub const EVERYONE: &str = "**";

/// Where a new session's events go besides its own stream.
struct Fanout {
    anonymous: bool,
    all: Option<Arc<Session>>,
    everyone: Option<Arc<Session>>,
    export: Option<Arc<super::export::Exporter>>,
}

impl Session {
    fn new(
        id: String,
        token: String,
        label: Option<String>,
        cwd: String,
        events: SessionEvents,
        fanout: Fanout,
    ) -> Session {
        let mut tag = String::from("{\"session\":");
        tag.push_str(&serde_json::Value::from(id.as_str()).to_string());
        if let Some(label) = &label {
            tag.push_str(",\"session_label\":");
            tag.push_str(&serde_json::Value::from(label.as_str()).to_string());
        }
        tag.push(',');
        let created_at = Time::now();
        Session {
            touched: std::sync::atomic::AtomicI64::new(created_at.unix_nanos()),
            cut_fields: AtomicU64::new(0),
            id,
            token,
            label,
            cwd,
            created_at,
            events,
            anonymous: fanout.anonymous,
            all: fanout.all,
            everyone: fanout.everyone,
            export: fanout.export,
            usage: Mutex::default(),
            tag: tag.into(),
            next_token: AtomicU64::new(1_000_000),
            running: Mutex::new(HashMap::new()),
            tokens_in_use: Mutex::new(HashSet::new()),
            closed: CancellationToken::new(),
            server: Mutex::new(None),
        }
    }
}

/// What `GET /sessions` shows of a session: never its token.
#[derive(Debug, Serialize)]
pub struct SessionSummary {
    pub session_id: String,
    pub label: Option<String>,
    pub cwd: String,
    pub created_at: String,
    pub events: u64,
    pub subscribers: usize,
    pub running_calls: usize,
    pub last_event_at: Option<String>,
    /// Created without the admin token; left out of the owner's views unless asked.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub anonymous: bool,
    /// Fields cut to their caps in this session's events.
    #[serde(skip_serializing_if = "is_zero")]
    pub cut_fields: u64,
    /// An agent session's model turns, from its OpenTelemetry.
    #[serde(skip_serializing_if = "is_zero")]
    pub model_turns: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub input_tokens: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub output_tokens: u64,
    /// What those turns cost, in US dollars, as the agent reckons it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// How many sessions the daemon keeps, and for how long an idle one lives.
#[derive(Debug, Clone)]
pub struct SessionLimits {
    /// Sessions in all; past it the oldest idle one is ended to make room.
    pub max_sessions: usize,
    /// Anonymous sessions (any local user can make them), within `max_sessions`.
    pub max_anonymous: usize,
    /// An owner's session nobody follows and nothing runs in ends after this long unused.
    pub idle_ttl: std::time::Duration,
    /// The same for an anonymous session.
    pub anonymous_idle_ttl: std::time::Duration,
    /// The bytes the session rings may hold, each and in all.
    pub ring_budget: RingBudget,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            max_sessions: 1024,
            max_anonymous: 256,
            idle_ttl: std::time::Duration::from_secs(24 * 3600),
            anonymous_idle_ttl: std::time::Duration::from_secs(3600),
            ring_budget: RingBudget::new(4 << 20, 256 << 20),
        }
    }
}

/// No room for another session: every session is busy.
#[derive(Debug, thiserror::Error)]
#[error("the daemon holds {held} sessions and none is idle: end one, or raise the limit")]
pub struct Full {
    pub held: usize,
}

/// Every session of the daemon.
pub struct Sessions {
    by_id: RwLock<HashMap<String, Arc<Session>>>,
    /// Every event of every session, tagged with its session (`/session/*/events` with
    /// the admin token; mcptop mode only). Anonymous sessions are not on it.
    pub all: Option<Arc<Session>>,
    /// Every event of every session, anonymous ones included (`/session/**/events`).
    pub everyone: Option<Arc<Session>>,
    broadcast_capacity: usize,
    replay_capacity: usize,
    extensions: bool,
    limits: SessionLimits,
    /// The OTLP exporter every owner's session made from now on feeds.
    pub exporter: std::sync::OnceLock<Arc<super::export::Exporter>>,
}

impl Sessions {
    pub fn new(broadcast_capacity: usize, replay_capacity: usize, extensions: bool) -> Sessions {
        Sessions::with_limits(
            broadcast_capacity,
            replay_capacity,
            extensions,
            SessionLimits::default(),
        )
    }

    pub fn with_limits(
        broadcast_capacity: usize,
        replay_capacity: usize,
        extensions: bool,
        limits: SessionLimits,
    ) -> Sessions {
        // The fan-out streams carry every session's events: a budget of their own.
        let fanout_budget = RingBudget::new(32 << 20, 64 << 20);
        let stream = |id: &str, label: &str| {
            extensions.then(|| {
                Arc::new(Session::new(
                    id.into(),
                    String::new(),
                    Some(label.into()),
                    String::new(),
                    SessionEvents::with_budget(
                        broadcast_capacity,
                        replay_capacity,
                        true,
                        fanout_budget.clone(),
                    ),
                    Fanout {
                        anonymous: false,
                        all: None,
                        everyone: None,
                        export: None,
                    },
                ))
            })
        };
        Sessions {
            by_id: RwLock::new(HashMap::new()),
            all: stream(ALL, "all sessions"),
            everyone: stream(EVERYONE, "every session, anonymous ones included"),
            broadcast_capacity,
            replay_capacity,
            extensions,
            limits,
            exporter: std::sync::OnceLock::new(),
        }
    }

    pub fn limits(&self) -> &SessionLimits {
        &self.limits
    }

    /// Creates a session with a fresh UUID v4 id and a 32-hex-digit token. An anonymous
    /// one (made without the admin token) stays off the all-sessions stream. Past the
    /// limits the oldest idle session (of the same kind, for an anonymous one) is ended
    /// first; when none is idle the session is refused.
    pub fn try_create(
        &self,
        label: Option<String>,
        cwd: String,
        anonymous: bool,
    ) -> Result<Arc<Session>, Full> {
        let (held, anonymous_held) = {
            let by_id = self.by_id.read().unwrap_or_else(PoisonError::into_inner);
            (by_id.len(), by_id.values().filter(|s| s.anonymous).count())
        };
        let over_anonymous = anonymous && anonymous_held >= self.limits.max_anonymous;
        if held >= self.limits.max_sessions || over_anonymous {
            let victim = self.oldest_idle(if over_anonymous { Some(true) } else { None });
            match victim {
                Some(id) => {
                    tracing::info!(
                        held,
                        anonymous,
                        "session limit: the least recently used idle session ended"
                    );
                    self.remove(&id);
                }
                None => {
                    tracing::warn!(
                        held,
                        anonymous,
                        "session limit: a new session refused, none is idle"
                    );
                    return Err(Full { held });
                }
            }
        }
        Ok(self.create(label, cwd, anonymous))
    }

    /// The id of the idle session used least recently (of one kind, when given).
    fn oldest_idle(&self, anonymous: Option<bool>) -> Option<String> {
        let by_id = self.by_id.read().unwrap_or_else(PoisonError::into_inner);
        by_id
            .values()
            .filter(|s| anonymous.is_none_or(|a| s.anonymous == a) && s.is_idle())
            .min_by_key(|s| s.last_used())
            .map(|s| s.id.clone())
    }

    /// Ends every session idle for longer than its kind's time to live; returns their ids.
    pub fn expire_idle(&self, now: Time) -> Vec<String> {
        let expired: Vec<String> = {
            let by_id = self.by_id.read().unwrap_or_else(PoisonError::into_inner);
            by_id
                .values()
                .filter(|s| {
                    let ttl = if s.anonymous {
                        self.limits.anonymous_idle_ttl
                    } else {
                        self.limits.idle_ttl
                    };
                    s.is_idle() && now.secs_since(s.last_used()) > ttl.as_secs_f64()
                })
                .map(|s| s.id.clone())
                .collect()
        };
        for id in &expired {
            self.remove(id);
        }
        if !expired.is_empty() {
            tracing::info!(sessions = expired.len(), "idle sessions ended");
        }
        expired
    }

    /// The `server` events a new subscriber of `stream` gets first: the session's own, or,
    /// for an all-sessions stream, every session's on it, tagged.
    pub fn server_events(&self, stream: &Session) -> Vec<String> {
        let everyone = self
            .everyone
            .as_ref()
            .is_some_and(|e| std::ptr::eq(&**e, stream));
        let all = self
            .all
            .as_ref()
            .is_some_and(|a| std::ptr::eq(&**a, stream));
        if !everyone && !all {
            return stream.server_event(false).into_iter().collect();
        }
        let by_id = self.by_id.read().unwrap_or_else(PoisonError::into_inner);
        let mut sessions: Vec<&Arc<Session>> = by_id
            .values()
            .filter(|s| everyone || !s.anonymous)
            .collect();
        sessions.sort_by_key(|s| s.created_at);
        sessions
            .into_iter()
            .filter_map(|s| s.server_event(true))
            .collect()
    }

    /// Creates a session whatever the limits (the daemon's own sessions).
    pub fn create(&self, label: Option<String>, cwd: String, anonymous: bool) -> Arc<Session> {
        let session = Arc::new(Session::new(
            uuid::Uuid::new_v4().to_string(),
            uuid::Uuid::new_v4().simple().to_string(),
            label,
            cwd,
            SessionEvents::with_budget(
                if anonymous {
                    // Any local user can make one and follow it without reading: the
                    // events a subscriber has not taken stay held, so less of them.
                    self.broadcast_capacity.min(ANONYMOUS_BROADCAST)
                } else {
                    self.broadcast_capacity
                },
                self.replay_capacity,
                self.extensions,
                self.limits.ring_budget.clone(),
            ),
            Fanout {
                anonymous,
                all: if anonymous { None } else { self.all.clone() },
                everyone: self.everyone.clone(),
                // Only the owner's sessions leave the machine.
                export: if anonymous {
                    None
                } else {
                    self.exporter.get().cloned()
                },
            },
        ));
        self.by_id
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(session.id.clone(), Arc::clone(&session));
        session
    }

    pub fn get(&self, id: &str) -> Option<Arc<Session>> {
        self.by_id
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    /// Ends a session: its streams close and its running calls are cancelled.
    pub fn remove(&self, id: &str) -> Option<Arc<Session>> {
        let session = self
            .by_id
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id)?;
        session.closed.cancel();
        // A monitor that attaches later must not see its calls running.
        for stream in [&self.all, &self.everyone].into_iter().flatten() {
            stream.events.forget_open(&session.tag);
        }
        Some(session)
    }

    /// Every session, newest activity first.
    pub fn summaries(&self) -> Vec<SessionSummary> {
        let sessions: Vec<Arc<Session>> = self
            .by_id
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        let mut rows: Vec<(Time, SessionSummary)> = sessions
            .iter()
            .map(|s| {
                let last = s.events.last_event_at();
                let usage = *s.usage.lock().unwrap_or_else(PoisonError::into_inner);
                (
                    last.unwrap_or(s.created_at),
                    SessionSummary {
                        session_id: s.id.clone(),
                        label: s.label.clone(),
                        cwd: s.cwd.clone(),
                        created_at: s.created_at.to_rfc3339_nanos(),
                        events: s.events.count(),
                        subscribers: s.events.subscribers(),
                        running_calls: s.running_calls(),
                        last_event_at: last.map(Time::to_rfc3339_nanos),
                        anonymous: s.anonymous,
                        cut_fields: s.cut_fields.load(Ordering::Relaxed),
                        model_turns: usage.turns,
                        input_tokens: usage.input,
                        output_tokens: usage.output,
                        cost_usd: usage.cost,
                    },
                )
            })
            .collect();
        rows.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then_with(|| a.1.session_id.cmp(&b.1.session_id))
        });
        rows.into_iter().map(|(_, s)| s).collect()
    }

    pub fn len(&self) -> usize {
        self.by_id
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_published_in_order_on_the_session_and_tagged_on_all_sessions() {
        use super::super::hub::EventKind;
        let sessions = Sessions::new(64, 16, true);
        let session = sessions.create(Some("l".into()), "/".into(), false);
        let mut own = session.events.subscribe(None).live;
        let all = sessions.all.clone().unwrap();
        let mut tagged = all.events.subscribe(None).live;
        let now = Time::from_unix_nanos(5);
        session.publish_batch(&[
            (EventKind::Progress, r#"{"token":1,"progress":1}"#, now),
            (EventKind::Call, r#"{"token":1,"state":"finished"}"#, now),
            (EventKind::Server, r#"{"name":"s"}"#, now),
        ]);
        let ids: Vec<u64> = (0..3).map(|_| own.try_recv().unwrap().id).collect();
        assert_eq!(ids, [1, 2, 3]);
        let first = tagged.try_recv().unwrap();
        assert!(first
            .data()
            .starts_with(&format!("{{\"session\":\"{}\"", session.id)));
        assert_eq!(tagged.try_recv().unwrap().kind, EventKind::Call);
        assert_eq!(tagged.try_recv().unwrap().kind, EventKind::Server);
        assert_eq!(
            session.server_event(false).as_deref(),
            Some(r#"{"name":"s"}"#)
        );
    }

    #[test]
    fn an_anonymous_session_holds_fewer_unread_events_per_subscriber() {
        let sessions = Sessions::new(1024, 16, true);
        let owner = sessions.create(None, "/".into(), false);
        let anonymous = sessions.create(None, "/".into(), true);
        assert_eq!(owner.events.backlog().1, 1024);
        assert_eq!(anonymous.events.backlog().1, ANONYMOUS_BROADCAST);
        // A smaller capacity asked for is kept for both.
        let small = Sessions::new(8, 16, true);
        assert_eq!(small.create(None, "/".into(), true).events.backlog().1, 8);
    }
}
