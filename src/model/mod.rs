//! Frames + time → the state of every call, the health of the stream, and findings.
//!
//! Pure: no clock, no I/O. Every input carries the time it happened (when the frame was
//! received), and every question that depends on time takes `now`. The TUI, `tail`,
//! replay and the tests all drive this same model.

pub mod agents;
mod call;
mod lint;
pub mod stats;
mod stream;

use std::borrow::Cow;
use std::collections::BTreeSet;

use rustc_hash::FxBuildHasher;

use chrono::TimeDelta;

use crate::time::Time;

use call::KeyRef;
pub use call::{
    beyond, Call, CallId, CallKey, HistoryLimits, MessageEntry, MessageLog, Sample, Status,
};
pub use lint::{
    compact, human, num, stall_threshold, CallLint, Finding, FindingKind, StreamLint, Verdict,
};
pub use stream::{Connection, IdCheck, ReconnectWindow, StreamState};

use crate::wire::{CallFrame, CallState, Frame, ProgressFrame};

#[derive(Debug, Clone)]
pub struct ModelConfig {
    /// A running call is never called stalled before this much silence.
    pub stall_min: TimeDelta,
    /// … and is called stalled after this many times its own update cadence.
    pub stall_factor: f64,
    /// With too few updates to know its cadence, after this much silence.
    pub stall_without_cadence: TimeDelta,
    /// Progress going backwards after this much quiet starts a new call on the same key.
    pub quiet_gap: TimeDelta,
    /// How long finished calls stay in the table.
    pub retention: TimeDelta,
    /// How long a call may wait on the user before the header says so.
    pub waiting_notice: TimeDelta,
    /// Hard cap on calls held; past it the oldest finished (then oldest idle) go first.
    pub max_calls: usize,
    pub history: HistoryLimits,
    /// No byte at all for this long on a connected stream is a silent stream
    /// (2.5 × the daemon's 15 s keep-alive).
    pub silent_after: TimeDelta,
    /// Delivery delay beyond clock skew above which events count as late.
    pub late_after: TimeDelta,
    /// How long a reconnect stays on the warnings list.
    pub reconnect_notice: TimeDelta,
    /// How long a loss report (dropped, missing or discarded events) stays on the list
    /// after the last loss.
    pub loss_notice: TimeDelta,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            stall_min: TimeDelta::seconds(10),
            stall_factor: 5.0,
            stall_without_cadence: TimeDelta::seconds(60),
            quiet_gap: TimeDelta::seconds(5),
            retention: TimeDelta::minutes(5),
            waiting_notice: TimeDelta::seconds(lint::WAITING_NOTICE_SECS),
            max_calls: 2000,
            history: HistoryLimits {
                samples: 120,
                messages: 50,
            },
            silent_after: TimeDelta::milliseconds(37_500),
            late_after: TimeDelta::seconds(2),
            reconnect_notice: TimeDelta::seconds(60),
            loss_notice: TimeDelta::minutes(5),
        }
    }
}

/// What an agent's second reporter says of a call the model already shows.
struct Said<'a> {
    state: CallState,
    duration_ms: Option<f64>,
    arguments: &'a Option<String>,
    error: &'a Option<String>,
    message: Option<&'a str>,
}

/// A generation no model has had: unique across models, so a cache keyed by it can never
/// mistake a fresh model (a replay's seek, a new config) for the one it was made from.
fn next_generation() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Calls by state, for the header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateCounts {
    pub running: usize,
    pub stalled: usize,
    /// Waiting for input or for permission.
    pub waiting: usize,
    pub done: usize,
    pub failed: usize,
    pub cancelled: usize,
    pub lost: usize,
}

impl StateCounts {
    /// Each state with its count, in the order they are shown, and how much it needs the
    /// user (0 first: running, stalled, waiting, failed, lost, cancelled, done).
    fn parts(&self) -> [(usize, &'static str, u8); 7] {
        [
            (self.running, "running", 0),
            (self.stalled, "stalled", 1),
            (self.waiting, "waiting", 2),
            (self.done, "done", 6),
            (self.failed, "failed", 3),
            (self.cancelled, "cancelled", 5),
            (self.lost, "lost", 4),
        ]
    }

    /// As [`StateCounts::describe`], with only as many states as fit in `width` columns:
    /// the ones that need the user the least go first, and the first state shown always
    /// stays, so the count of running calls never gives way to anything else.
    pub fn describe_within(&self, separator: &str, width: usize) -> String {
        let mut parts: Vec<(String, u8)> = self
            .parts()
            .iter()
            .filter(|(n, _, _)| *n > 0)
            .map(|(n, name, need)| (format!("{n} {name}"), *need))
            .collect();
        let join = |parts: &[(String, u8)]| {
            parts
                .iter()
                .map(|(text, _)| text.as_str())
                .collect::<Vec<_>>()
                .join(separator)
        };
        while parts.len() > 1 && crate::sanitize::width(&join(&parts)) > width {
            // The state that needs the user the least, never the most pressing one.
            let most = parts.iter().map(|(_, need)| *need).min().unwrap_or(0);
            let Some(at) = parts
                .iter()
                .enumerate()
                .filter(|(_, (_, need))| *need != most)
                .max_by_key(|(_, (_, need))| *need)
                .map(|(at, _)| at)
            else {
                break;
            };
            parts.remove(at);
        }
        join(&parts)
    }

    /// `4 running · 1 stalled · 37 done · 2 failed`: the states that have calls.
    pub fn describe(&self, separator: &str) -> String {
        self.parts()
            .iter()
            .filter(|(n, _, _)| *n > 0)
            .map(|(n, name, _)| format!("{n} {name}"))
            .collect::<Vec<_>>()
            .join(separator)
    }
}

/// What one frame did to the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A call appeared (`generation` > 1 when its token was reused).
    NewCall(CallId),
    Updated(CallId),
    Finished(CallId),
    /// Stream-level news (loss report, error frame, …) or nothing visible.
    Stream,
    /// A session's server said something new of itself (see [`Model::servers`]).
    Server,
    Ignored,
}

/// How a call looks right now: its status, or stalled while running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisplayState {
    Running,
    Stalled,
    /// Running, blocked on input or on a permission prompt.
    Waiting(crate::wire::Wait),
    Done,
    Failed,
    Cancelled,
    /// Running when its daemon restarted: never to be heard of again.
    Lost,
}

impl DisplayState {
    /// How a person reads the state: `waiting for input`, else [`DisplayState::as_str`].
    pub fn label(self) -> &'static str {
        match self {
            DisplayState::Waiting(crate::wire::Wait::Input) => "waiting for input",
            DisplayState::Waiting(crate::wire::Wait::Permission) => "waiting for permission",
            other => other.as_str(),
        }
    }

    /// Running, stalled or waiting: a call still in the air.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            DisplayState::Running | DisplayState::Stalled | DisplayState::Waiting(_)
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DisplayState::Running => "running",
            DisplayState::Stalled => "stalled",
            DisplayState::Waiting(_) => "waiting",
            DisplayState::Done => "done",
            DisplayState::Failed => "failed",
            DisplayState::Cancelled => "cancelled",
            DisplayState::Lost => "lost",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Model {
    config: ModelConfig,
    calls: hashbrown::HashMap<CallId, Call, FxBuildHasher>,
    /// Call ids in the order the calls appeared (ids only grow, so this stays sorted).
    order: Vec<CallId>,
    by_key: hashbrown::HashMap<CallKey, CallId, FxBuildHasher>,
    /// Finished calls by end time, for retention and for eviction order.
    finished: BTreeSet<(Time, CallId)>,
    /// The daemon run (`pid … · started …`) the stream comes from, once known.
    instance: Option<std::sync::Arc<str>>,
    /// Changes whenever a call appears, ends or goes: the display order is only
    /// recomputed then.
    generation: u64,
    next_id: u64,
    stream: StreamState,
    /// Calls removed by retention or by the cap.
    pub evicted: u64,
    /// The last error frame the server sent.
    pub last_error: Option<(String, Option<String>)>,
    /// What each session's server is, as its tap saw it (newest last).
    servers: Vec<Server>,
    /// An agent's reports of MCP calls (`mcp__SERVER__TOOL`) still running that no tap's
    /// call has matched yet (see [`Model::match_reached`]), oldest first.
    unreached: Vec<CallId>,
}

/// Agent MCP calls waiting for their tap's match, at most.
const MAX_UNREACHED: usize = 256;

/// The server behind one session: its name, revision, capabilities and tools.
#[derive(Debug, Clone, PartialEq)]
pub struct Server {
    pub session: Option<String>,
    pub session_label: Option<String>,
    pub info: crate::wire::schema::ServerEvent,
    /// When it was last told.
    pub seen_at: Time,
}

impl Server {
    /// What the server said, without when.
    fn untimed(info: &crate::wire::schema::ServerEvent) -> crate::wire::schema::ServerEvent {
        crate::wire::schema::ServerEvent {
            timestamp: None,
            ..info.clone()
        }
    }
}

/// Servers the model keeps (one per session); past it the least recently told goes.
pub const MAX_SERVERS: usize = 256;

impl Default for Model {
    fn default() -> Self {
        Model::new(ModelConfig::default())
    }
}

impl Model {
    pub fn new(config: ModelConfig) -> Model {
        Model {
            config,
            calls: hashbrown::HashMap::default(),
            order: Vec::new(),
            by_key: hashbrown::HashMap::default(),
            finished: BTreeSet::new(),
            instance: None,
            generation: next_generation(),
            next_id: 1,
            stream: StreamState::default(),
            evicted: 0,
            last_error: None,
            servers: Vec::new(),
            unreached: Vec::new(),
        }
    }

    /// The servers behind the sessions, the least recently told first.
    pub fn servers(&self) -> &[Server] {
        &self.servers
    }

    fn apply_server(&mut self, frame: crate::wire::ServerFrame, at: Time) -> Change {
        let crate::wire::ServerFrame {
            server,
            session,
            session_label,
        } = frame;
        if let Some(i) = self.servers.iter().position(|s| s.session == session) {
            let old = self.servers.remove(i);
            if old.info == Server::untimed(&server) && old.session_label == session_label {
                self.servers.push(Server { seen_at: at, ..old });
                return Change::Stream;
            }
        }
        if self.servers.len() >= MAX_SERVERS {
            self.servers.remove(0);
        }
        self.servers.push(Server {
            session,
            session_label,
            info: Server::untimed(&server),
            seen_at: at,
        });
        Change::Server
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    pub fn stream(&self) -> &StreamState {
        &self.stream
    }

    /// The calls by start, oldest first (the timeline's rows); a subagent's calls
    /// together, where its first call started.
    pub fn ids_by_start(&self) -> Vec<CallId> {
        // A subagent's calls go together, where its first call started.
        let mut groups: hashbrown::HashMap<(&Option<String>, &str), Time> =
            hashbrown::HashMap::new();
        for c in self.calls().filter(|c| c.reached.is_none()) {
            if let Some((_, agent)) = &c.subagent {
                let start = groups
                    .entry((&c.key.session, agent))
                    .or_insert(c.first_seen);
                *start = (*start).min(c.first_seen);
            }
        }
        let mut calls: Vec<(Time, &str, Time, CallId)> = self
            .calls()
            .filter(|c| c.reached.is_none())
            .map(|c| match &c.subagent {
                Some((_, agent)) => (
                    groups
                        .get(&(&c.key.session, agent.as_str()))
                        .copied()
                        .unwrap_or(c.first_seen),
                    agent.as_str(),
                    c.first_seen,
                    c.id,
                ),
                None => (c.first_seen, "", c.first_seen, c.id),
            })
            .collect();
        calls.sort_unstable();
        calls.into_iter().map(|(.., id)| id).collect()
    }

    /// Calls in the order they appeared.
    pub fn calls(&self) -> impl DoubleEndedIterator<Item = &Call> + ExactSizeIterator {
        // `order` and `calls` hold the same ids: both change only in `new_call` and `remove`.
        self.order.iter().map(|id| &self.calls[id])
    }

    pub fn call(&self, id: CallId) -> Option<&Call> {
        self.calls.get(&id)
    }

    pub fn len(&self) -> usize {
        self.calls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The source connected, dropped, or is trying again.
    pub fn set_connection(&mut self, connection: Connection, at: Time) {
        self.stream.set_connection(connection, at);
    }

    /// A keep-alive (or any byte) arrived.
    pub fn keepalive(&mut self, at: Time) {
        self.stream.keepalive(at);
    }

    /// The source threw an event away unread (over the size cap, not text).
    pub fn discarded(&mut self, at: Time, reason: &str) {
        self.stream.activity(at);
        self.stream.discarded += 1;
        self.stream.last_discard_at = Some(at);
        if self.stream.last_discard != reason {
            self.stream.last_discard = reason.to_owned();
        }
    }

    /// The daemon's own losses as its `/health` counts them now (totals since it started:
    /// a count that grew is a fresh loss; a smaller one is another run of the daemon).
    pub fn daemon_counts(&mut self, counts: &crate::event::DaemonCounts, at: Time) {
        let old = &self.stream.daemon_counts;
        let grew = counts.spans_dropped > old.spans_dropped
            || counts.otlp_refused > old.otlp_refused
            || counts.otlp_strangers > old.otlp_strangers;
        let any = counts.spans_dropped + counts.otlp_refused + counts.otlp_strangers > 0;
        if grew || (any && self.stream.last_daemon_loss_at.is_none()) {
            self.stream.last_daemon_loss_at = Some(at);
        }
        if !any {
            self.stream.last_daemon_loss_at = None;
        }
        self.stream.daemon_counts = counts.clone();
    }

    /// Applies one frame received at `at`, whose SSE id (if any) was `event_id`.
    pub fn apply(&mut self, frame: Frame<'_>, at: Time, event_id: &str) -> Change {
        self.stream.activity(at);
        if !event_id.is_empty() && !matches!(frame, Frame::Priming) {
            self.stream.check_id(event_id);
        }
        match frame {
            Frame::Progress(mut p) => {
                self.stream.events += 1;
                self.stream.last_event = Some(at);
                bound_token(&mut p.token);
                bound(&mut p.tool, MAX_NAME);
                bound(&mut p.session, MAX_NAME);
                bound(&mut p.session_label, MAX_NAME);
                bound(&mut p.message, MAX_MESSAGE);
                self.apply_progress(p, at)
            }
            Frame::Call(mut c) => {
                self.stream.events += 1;
                self.stream.last_event = Some(at);
                bound_token(&mut c.token);
                bound(&mut c.tool, MAX_NAME);
                bound(&mut c.session, MAX_NAME);
                bound(&mut c.session_label, MAX_NAME);
                bound_token(&mut c.extras.progress_token);
                if let Some(e) = &mut c.error {
                    bound_string(e, MAX_MESSAGE);
                }
                if let Some(m) = &mut c.message {
                    bound_string(m, MAX_MESSAGE);
                }
                for t in [
                    &mut c.extras.task,
                    &mut c.extras.subagent,
                    &mut c.extras.subagent_id,
                ]
                .into_iter()
                .flatten()
                {
                    bound_string(t, MAX_NAME);
                }
                for detail in [&mut c.arguments, &mut c.result].into_iter().flatten() {
                    if detail.len() > MAX_KEPT_DETAIL {
                        // Cut JSON is no JSON: keep a note of it instead.
                        *detail = format!("\"(cut: {} bytes)\"", detail.len());
                    }
                }
                // A `started` without an id is the daemon telling a new subscriber of a
                // call open since before it came (a stream of ids numbers every live
                // event): the call began at its timestamp (within a day, not ahead).
                let began = match (c.state, c.timestamp) {
                    (CallState::Started, Some(t))
                        if event_id.is_empty() && t < at && at.secs_since(t) < 86_400.0 =>
                    {
                        t
                    }
                    _ => at,
                };
                self.apply_call(c, at, began)
            }
            Frame::Server(server) => self.apply_server(*server, at),
            Frame::Lagged { missed } => {
                self.stream.server_missed = self.stream.server_missed.saturating_add(missed);
                self.stream.unexplained_loss = self.stream.unexplained_loss.saturating_add(missed);
                self.stream.lagged_reports = self.stream.lagged_reports.saturating_add(1);
                self.stream.last_lagged_at = Some(at);
                Change::Stream
            }
            Frame::Error {
                mut error,
                mut detail,
            } => {
                bound_string(&mut error, MAX_MESSAGE);
                if let Some(d) = &mut detail {
                    bound_string(d, MAX_MESSAGE);
                }
                self.last_error = Some((error, detail));
                Change::Stream
            }
            Frame::Connected { .. } | Frame::Priming => Change::Stream,
            Frame::Response(_) | Frame::Cancelled { .. } => {
                self.stream.events += 1;
                Change::Ignored
            }
            Frame::Unknown(_) => {
                self.stream.unknown_frames += 1;
                Change::Ignored
            }
        }
    }

    fn apply_progress(&mut self, p: ProgressFrame<'_>, at: Time) -> Change {
        if let Some(stamped) = p.timestamp {
            self.stream.observe_delay(at, stamped);
        }
        let key = KeyRef {
            session: p.session.as_deref(),
            tool: p.tool.as_deref(),
            token: p.token.as_ref(),
        };
        let quiet_gap = self.config.quiet_gap;
        let existing = self.by_key.get(&key).copied();
        let (id, fresh) = match existing.and_then(|id| self.calls.get_mut(&id)) {
            Some(call) => {
                let quiet = at >= call.last_update + quiet_gap;
                let prev = call.progress.unwrap_or(f64::NEG_INFINITY);
                if call.status.is_finished() {
                    if call.status == Status::Done && p.progress >= prev && !quiet {
                        // More of the same after the end: the server (or a second call on
                        // a shared token) keeps reporting.
                        call.after_completion += 1;
                        call.shared_token |= p.progress == prev;
                        (call.id, false)
                    } else {
                        (self.new_call(key.to_key(), at), true)
                    }
                } else if p.progress < prev {
                    if quiet {
                        // The old call went quiet and a new one began on the same token:
                        // silence ended the old one.
                        let ended = call.last_update;
                        let old = call.id;
                        call.status = Status::Done;
                        call.ended_at = Some(ended);
                        self.finished.insert((ended, old));
                        self.generation = next_generation();
                        (self.new_call(key.to_key(), at), true)
                    } else {
                        call.shared_token = true;
                        (call.id, false)
                    }
                } else {
                    if p.progress == prev && !quiet {
                        call.shared_token |= call.key.token == Some(crate::wire::Token::Int(0));
                    }
                    (call.id, false)
                }
            }
            None => (self.new_call(key.to_key(), at), true),
        };
        let history = self.config.history;
        let Some(call) = self.calls.get_mut(&id) else {
            return Change::Ignored;
        };
        if call.session_label.is_none() {
            call.session_label = session_name(p.session_label.as_deref(), p.session.as_deref());
        }
        let was_running = call.status == Status::Running;
        call.record_progress(at, p.progress, p.total, p.message, &history);
        if was_running && call.status.is_finished() {
            self.finished.insert((at, id));
            self.generation = next_generation();
            return Change::Finished(id);
        }
        if fresh {
            Change::NewCall(id)
        } else {
            Change::Updated(id)
        }
    }

    fn apply_call(&mut self, c: CallFrame<'_>, at: Time, began: Time) -> Change {
        let label = session_name(c.session_label.as_deref(), c.session.as_deref());
        let progress_requested = c.extras.progress_requested;
        let key = CallKey {
            session: c.session.as_ref().map(|s| s.clone().into_owned()),
            tool: c.tool.map(std::borrow::Cow::into_owned),
            token: c.token,
        };
        let existing = self.by_key.get(&key).copied();
        // An agent's calls (hooks, OpenTelemetry) have keys of their own that are never
        // reused, and its two reporters say the same things at different times.
        if c.extras.origin.is_some() {
            if let Some(id) = existing {
                // The one that names the subagent may come second.
                if let (Some(call), Some(agent)) =
                    (self.calls.get_mut(&id), c.extras.subagent_id.as_ref())
                {
                    if call.subagent.is_none() {
                        call.subagent =
                            Some((c.extras.subagent.clone().unwrap_or_default(), agent.clone()));
                    }
                }
                let said = Said {
                    state: c.state,
                    duration_ms: c.duration_ms,
                    arguments: &c.arguments,
                    error: &c.error,
                    message: c.message.as_deref(),
                };
                if let Some(change) = self.amend(id, &said, at) {
                    return change;
                }
            }
        }
        match c.state {
            CallState::Started => {
                if let Some(call) = existing.and_then(|id| self.calls.get_mut(&id)) {
                    if call.status == Status::Running && call.updates == 0 && !call.started_unseen {
                        return Change::Ignored; // a repeated `started`
                    }
                    if call.status == Status::Running {
                        call.shared_token = true;
                    }
                }
                let id = self.new_call(key, began);
                let history = self.config.history;
                if let Some(call) = self.calls.get_mut(&id) {
                    // Heard of now, however long it has run.
                    call.last_update = at;
                    call.started_unseen = false;
                    call.progress_requested = progress_requested;
                    call.session_label = label;
                    call.shown_token = c.extras.progress_token;
                    call.task = c.extras.task;
                    call.origin = c.extras.origin;
                    call.trace_id = c.extras.traceparent.as_deref().and_then(trace_id);
                    call.subagent = match (c.extras.subagent, c.extras.subagent_id) {
                        (None, None) => None,
                        (kind, id) => Some((kind.unwrap_or_default(), id.unwrap_or_default())),
                    };
                    call.arguments = c.arguments;
                    if let Some(m) = c.message.as_deref().filter(|m| !m.is_empty()) {
                        call.record_message(at, m, &history);
                    }
                }
                self.match_reached(id);
                Change::NewCall(id)
            }
            CallState::Working | CallState::Waiting => {
                // News of a call still running: a task's status, or that it waits.
                let running = existing.filter(|id| {
                    self.calls
                        .get(id)
                        .is_some_and(|call| !call.status.is_finished())
                });
                let (id, fresh) = match running {
                    Some(id) => (id, false),
                    None => (self.new_call(key, at), true),
                };
                let history = self.config.history;
                let Some(call) = self.calls.get_mut(&id) else {
                    return Change::Ignored;
                };
                if call.session_label.is_none() {
                    call.session_label = label;
                }
                // Who reported it, for a call first heard of here (its start never came).
                if call.origin.is_none() && fresh {
                    call.origin = c.extras.origin;
                }
                if c.extras.task.is_some() {
                    call.task = c.extras.task;
                }
                call.waiting = match c.state {
                    CallState::Waiting => {
                        Some(c.extras.waiting_for.unwrap_or(crate::wire::Wait::Input))
                    }
                    _ => None,
                };
                if let Some(m) = c.message.as_deref().filter(|m| !m.is_empty()) {
                    call.record_message(at, m, &history);
                }
                call.last_update = at.max(call.last_update);
                self.generation = next_generation();
                if fresh {
                    Change::NewCall(id)
                } else {
                    Change::Updated(id)
                }
            }
            state => {
                let status = match state {
                    CallState::Failed => Status::Failed,
                    CallState::Cancelled => Status::Cancelled,
                    CallState::Lost => Status::Lost,
                    _ => Status::Done,
                };
                // The running call, or one that progress alone ended (reaching its total)
                // whose end the server now reports: the same call, not a new row.
                let running = existing.filter(|id| {
                    self.calls
                        .get(id)
                        .is_some_and(|c| !c.status.is_finished() || !c.end_reported)
                });
                let (id, fresh) = match running {
                    Some(id) => (id, false),
                    None => {
                        // The end of a call we never saw start: show it, with the duration
                        // the server measured.
                        let started = c
                            .duration_ms
                            .and_then(crate::time::delta_from_millis)
                            .map(|d| at - d)
                            .unwrap_or(at);
                        (self.new_call(key, started), true)
                    }
                };
                let Some(call) = self.calls.get_mut(&id) else {
                    return Change::Ignored;
                };
                if call.session_label.is_none() {
                    call.session_label = label;
                }
                // Who reported it, for a call first heard of here (its start never came).
                if call.origin.is_none() && fresh {
                    call.origin = c.extras.origin;
                }
                if progress_requested.is_some() {
                    call.progress_requested = progress_requested;
                }
                if let Some(d) = c.duration_ms.and_then(crate::time::delta_from_millis) {
                    call.reported_duration = Some(d);
                }
                let end = if call.status.is_finished() {
                    // Keep the moment progress completed it; take the reported outcome.
                    call.ended_at.unwrap_or(at)
                } else {
                    at
                };
                if c.result.is_some() {
                    call.result = c.result;
                }
                if let Some(m) = c.message.as_deref().filter(|m| !m.is_empty()) {
                    let history = self.config.history;
                    call.record_message(at, m, &history);
                }
                call.finish(status, end, c.error);
                call.end_reported = true;
                if fresh {
                    call.started_unseen = false;
                }
                self.finished.insert((end, id));
                self.generation = next_generation();
                Change::Finished(id)
            }
        }
    }

    /// A report of the agent's call `id` already shows, from its other reporter (the
    /// hooks live, OpenTelemetry seconds later): what it adds is kept (the agent's own
    /// duration, its arguments, why it failed), and the row stays one row. `None` when the report is news to the row (an end of a running call,
    /// say), which then goes the usual way.
    fn amend(&mut self, id: CallId, said: &Said<'_>, at: Time) -> Option<Change> {
        let history = self.config.history;
        let call = self.calls.get_mut(&id)?;
        let ended = call.status.is_finished();
        let (state, duration_ms, arguments, error) =
            (&said.state, &said.duration_ms, said.arguments, said.error);
        match *state {
            CallState::Started | CallState::Working | CallState::Waiting => {
                if call.arguments.is_none() {
                    call.arguments.clone_from(arguments);
                }
                // What the call does, when its first reporter did not say.
                if let (None, Some(m)) = (call.message(), said.message) {
                    call.record_message(at, m, &history);
                }
                // A running call's wait is news; its start again (the hooks showed it
                // first) and anything said of a call already ended are not.
                if !ended && *state != CallState::Started {
                    return None;
                }
            }
            _ if !ended => return None,
            state => {
                if let Some(d) = duration_ms.and_then(crate::time::delta_from_millis) {
                    call.reported_duration = Some(d);
                }
                if state == CallState::Failed && call.error.is_none() {
                    call.error.clone_from(error);
                }
                call.end_reported = true;
            }
        }
        self.generation = next_generation();
        Some(Change::Updated(id))
    }

    fn new_call(&mut self, key: CallKey, at: Time) -> CallId {
        self.generation = next_generation();
        if self.calls.len() >= self.config.max_calls {
            self.evict_one();
        }
        let id = CallId(self.next_id);
        self.next_id += 1;
        // The generation follows the call this key last named (while it is still held).
        let generation = self
            .by_key
            .get(&key)
            .and_then(|prev| self.calls.get(prev))
            .map_or(1, |prev| prev.generation.saturating_add(1));
        self.by_key.insert(key.clone(), id);
        let mut call = Call::new(id, key, generation, at);
        call.instance = self.instance.clone();
        self.calls.insert(id, call);
        self.order.push(id);
        id
    }

    /// Removes the oldest finished call, or failing that the call idle the longest.
    fn evict_one(&mut self) {
        let victim = match self.finished.iter().next().copied() {
            Some(entry) => {
                self.finished.remove(&entry);
                Some(entry.1)
            }
            None => self
                .calls
                .values()
                .min_by_key(|c| (c.last_update, c.id))
                .map(|c| c.id),
        };
        if let Some(id) = victim {
            self.remove(id);
        }
    }

    fn remove(&mut self, id: CallId) {
        self.generation = next_generation();
        if let Some(call) = self.calls.remove(&id) {
            if let Ok(at) = self.order.binary_search(&id) {
                self.order.remove(at);
            }
            self.evicted += 1;
            if self.by_key.get(&call.key) == Some(&id) {
                self.by_key.remove(&call.key);
            }
        }
    }

    /// Drops finished calls older than the retention time. Call it now and then (the TUI
    /// does on its tick); memory stays flat however long the stream runs.
    pub fn expire(&mut self, now: Time) {
        let horizon = now - self.config.retention;
        while let Some(&(ended, id)) = self.finished.iter().next() {
            if ended > horizon {
                break;
            }
            self.finished.remove(&(ended, id));
            if self.calls.get(&id).is_some_and(|c| c.status.is_finished()) {
                self.remove(id);
            }
        }
    }

    /// Removes every finished call now (the TUI's "clear finished").
    pub fn clear_finished(&mut self) {
        let ids: Vec<CallId> = self.finished.iter().map(|&(_, id)| id).collect();
        self.finished.clear();
        self.generation = next_generation();
        for id in ids {
            if self.calls.get(&id).is_some_and(|c| c.status.is_finished()) {
                self.remove(id);
            }
        }
    }

    pub fn display_state(&self, call: &Call, now: Time) -> DisplayState {
        match call.status {
            Status::Running if call.waiting.is_some() => {
                DisplayState::Waiting(call.waiting.unwrap_or(crate::wire::Wait::Input))
            }
            Status::Running if lint::is_stalled(call, now, &self.config) => DisplayState::Stalled,
            Status::Running => DisplayState::Running,
            Status::Done => DisplayState::Done,
            Status::Failed => DisplayState::Failed,
            Status::Cancelled => DisplayState::Cancelled,
            Status::Lost => DisplayState::Lost,
        }
    }

    /// The daemon run the stream comes from now. When it is another run than before,
    /// the calls still running are lost (see [`Model::mark_lost`]); returns them.
    pub fn daemon_instance(&mut self, instance: &str, at: Time) -> Vec<CallId> {
        let changed = self
            .instance
            .as_deref()
            .is_some_and(|known| known != instance);
        if self.instance.as_deref() != Some(instance) {
            self.instance = Some(instance.into());
        }
        if changed {
            self.mark_lost(at)
        } else {
            Vec::new()
        }
    }

    /// What to say should the stream stay quiet (see [`lint::QuietDaemon`]).
    pub fn set_quiet_hint(&mut self, hint: Option<String>) {
        self.stream.quiet_hint = hint;
    }

    /// The daemon run new calls come from, when the source said.
    pub fn instance(&self) -> Option<&str> {
        self.instance.as_deref()
    }

    /// Every call still running becomes lost (its daemon restarted, so its end will never
    /// come): no longer stalled, no ETA, cleared by `c` like a finished one. Returns them.
    pub fn mark_lost(&mut self, at: Time) -> Vec<CallId> {
        let lost: Vec<CallId> = self
            .calls()
            .filter(|c| c.status == Status::Running)
            .map(|c| c.id)
            .collect();
        for &id in &lost {
            if let Some(call) = self.calls.get_mut(&id) {
                call.finish(
                    Status::Lost,
                    at,
                    Some("lost: the daemon restarted while it ran".into()),
                );
                self.finished.insert((at, id));
                self.generation = next_generation();
            }
        }
        lost
    }

    /// Changes whenever the set of calls or which of them are finished changes: a cache of
    /// [`Model::display_order`] is good while it stays the same.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The calls in the order the monitor shows them by default: calls still running
    /// (stalled ones too) in the order they started, then finished ones, newest first.
    pub fn display_order(&self) -> Vec<CallId> {
        let mut out: Vec<CallId> = self
            .calls()
            .filter(|c| !c.status.is_finished())
            .map(|c| c.id)
            .collect();
        let active = out.len();
        // The finished set is ordered by end time; an entry counts when its call still
        // holds that end (a call ends once, or its entry is stale).
        out.extend(self.finished.iter().rev().filter_map(|&(end, id)| {
            self.calls
                .get(&id)
                .filter(|c| c.status.is_finished() && c.ended_at == Some(end))
                .map(|c| c.id)
        }));
        if out.len() != self.calls.len() {
            // Not in step (never expected): sort the finished ones by end time instead.
            out.truncate(active);
            let mut finished: Vec<&Call> =
                self.calls().filter(|c| c.status.is_finished()).collect();
            finished.sort_by(|a, b| b.ended_at.cmp(&a.ended_at).then(b.id.cmp(&a.id)));
            out.extend(finished.iter().map(|c| c.id));
        }
        // An agent's report of a call its server's tap shows is that row.
        out.retain(|id| self.calls.get(id).is_some_and(|c| c.reached.is_none()));
        out
    }

    /// How many calls are in each state now.
    pub fn counts(&self, now: Time) -> StateCounts {
        let mut counts = StateCounts::default();
        for call in self.calls().filter(|c| c.reached.is_none()) {
            match self.display_state(call, now) {
                DisplayState::Running => counts.running += 1,
                DisplayState::Stalled => counts.stalled += 1,
                DisplayState::Waiting(_) => counts.waiting += 1,
                DisplayState::Done => counts.done += 1,
                DisplayState::Failed => counts.failed += 1,
                DisplayState::Cancelled => counts.cancelled += 1,
                DisplayState::Lost => counts.lost += 1,
            }
        }
        counts
    }

    /// Every active finding: the stream's first, then each call's in table order.
    pub fn findings(&self, now: Time) -> Vec<Finding> {
        self.findings_for(now, |_| true)
    }

    /// As [`Model::findings`], about the calls `keep` lets through (a filtered view's).
    pub fn findings_for(&self, now: Time, keep: impl Fn(&Call) -> bool) -> Vec<Finding> {
        let mut out = lint::group(self.findings_each(now, keep));
        // The worst first (stable: equal ones keep their order).
        out.sort_by_key(|f| f.kind.severity());
        out
    }

    /// As [`Model::findings_for`], one finding per call (not grouped into one line per
    /// kind), in no particular order: for a report that links each to its call.
    pub fn findings_each(&self, now: Time, keep: impl Fn(&Call) -> bool) -> Vec<Finding> {
        let mut out = Vec::new();
        for lint in lint::STREAM_LINTS {
            if let Verdict::Warn(message) = lint.check(&self.stream, now, &self.config) {
                out.push(Finding {
                    kind: lint.kind(),
                    call: None,
                    message,
                });
            }
        }
        // Calls without a progress token are common (most clients send none): one line
        // for all of them, not one each.
        let mut tokenless = Vec::new();
        for call in self.calls().filter(|c| keep(c)) {
            for finding in self.call_findings(call, now) {
                if finding.kind == FindingKind::NoProgressToken {
                    tokenless.push(finding);
                } else {
                    out.push(finding);
                }
            }
        }
        match tokenless.len() {
            0 => {}
            1 => out.extend(tokenless),
            n => out.push(Finding {
                kind: FindingKind::NoProgressToken,
                call: None,
                message: format!(
                    "{n} running calls have no progress token requested, so only elapsed time \
                     shows (try --request-progress)"
                ),
            }),
        }
        out
    }

    /// The findings about one call.
    pub fn call_findings(&self, call: &Call, now: Time) -> Vec<Finding> {
        let mut out: Vec<Finding> = lint::CALL_LINTS
            .iter()
            .filter_map(|lint| match lint.check(call, now, &self.config) {
                Verdict::Warn(message) => Some(Finding {
                    kind: lint.kind(),
                    call: Some(call.id),
                    message,
                }),
                _ => None,
            })
            .collect();
        if let Some(message) = self.never_reached(call, now) {
            out.push(Finding {
                kind: FindingKind::NeverReached,
                call: Some(call.id),
                message,
            });
        }
        out
    }

    /// One call seen twice: an agent's report of its MCP call (`mcp__SERVER__TOOL`, from
    /// its hooks or telemetry) and the same call as the server's tap saw it (a session
    /// labelled SERVER, the tool TOOL, started no earlier than a second before the agent
    /// said). The tap's row is the call (it has the arguments, the progress, the result);
    /// the agent's is marked [`Call::reached`] and shown no more. Each tap call answers
    /// one agent call, the oldest waiting.
    fn match_reached(&mut self, id: CallId) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let slack = chrono::TimeDelta::seconds(1);
        if call.origin.is_some() {
            let Some((server, tool)) = call.key.tool.as_deref().and_then(lint::mcp_tool) else {
                return;
            };
            let since = call.first_seen - slack;
            let taken: Vec<CallId> = self.calls.values().filter_map(|c| c.reached).collect();
            let tap = self
                .calls()
                .filter(|c| {
                    c.origin.is_none()
                        && c.session_label.as_deref() == Some(server)
                        && c.key.tool.as_deref() == Some(tool)
                        && c.first_seen >= since
                        && !taken.contains(&c.id)
                })
                .map(|c| c.id)
                .next();
            match tap {
                Some(tap) => {
                    if let Some(call) = self.calls.get_mut(&id) {
                        call.reached = Some(tap);
                    }
                }
                None => {
                    if self.unreached.len() >= MAX_UNREACHED {
                        // Those that ended or were matched go first; only then the oldest.
                        let calls = &self.calls;
                        self.unreached.retain(|u| {
                            calls
                                .get(u)
                                .is_some_and(|c| c.status == Status::Running && c.reached.is_none())
                        });
                    }
                    if self.unreached.len() >= MAX_UNREACHED {
                        self.unreached.remove(0);
                    }
                    self.unreached.push(id);
                }
            }
        } else if !self.unreached.is_empty() {
            let (Some(label), Some(tool)) = (call.session_label.clone(), call.key.tool.clone())
            else {
                return;
            };
            let until = call.first_seen + slack;
            let calls = &self.calls;
            self.unreached.retain(|u| {
                calls
                    .get(u)
                    .is_some_and(|c| c.status == Status::Running && c.reached.is_none())
            });
            let found = self.unreached.iter().position(|u| {
                calls.get(u).is_some_and(|c| {
                    c.first_seen <= until
                        && c.key.tool.as_deref().and_then(lint::mcp_tool)
                            == Some((label.as_str(), tool.as_str()))
                })
            });
            if let Some(i) = found {
                let agent = self.unreached.remove(i);
                if let Some(c) = self.calls.get_mut(&agent) {
                    c.reached = Some(id);
                }
                self.generation = next_generation();
            }
        }
    }

    /// An agent's call of an MCP server's tool (`mcp__SERVER__TOOL`, from its hooks or
    /// telemetry) that the server's own tap (a session labelled SERVER, `mcptop setup`'s
    /// `wrap --label`) has not seen start within [`lint::NEVER_REACHED_SECS`]: the agent
    /// is stuck before the wire, not the server. Said only of a server whose tap shows.
    pub fn never_reached(&self, call: &Call, now: Time) -> Option<String> {
        if call.origin.is_none()
            || call.reached.is_some()
            || call.status != Status::Running
            || call.waiting.is_some()
            || now - call.first_seen < chrono::TimeDelta::seconds(lint::NEVER_REACHED_SECS)
        {
            return None;
        }
        let (server, tool) = lint::mcp_tool(call.key.tool.as_deref()?)?;
        // Said only where the server's tap shows (else nothing could have seen it).
        let watched = self
            .calls()
            .any(|c| c.origin.is_none() && c.session_label.as_deref() == Some(server));
        watched.then(|| {
            format!(
                "{}: the agent started it {} ago and server {server} never saw it (its tap \
                 got no tools/call): the agent is stuck before the wire, not the server",
                call.key.tool.as_deref().unwrap_or(tool),
                human(now - call.first_seen)
            )
        })
    }

    /// Each lint's verdict on one call, for the detail view.
    pub fn call_verdicts(&self, call: &Call, now: Time) -> Vec<(FindingKind, Verdict)> {
        lint::CALL_LINTS
            .iter()
            .map(|lint| (lint.kind(), lint.check(call, now, &self.config)))
            .collect()
    }

    /// Each stream lint's verdict.
    pub fn stream_verdicts(&self, now: Time) -> Vec<(FindingKind, Verdict)> {
        lint::STREAM_LINTS
            .iter()
            .map(|lint| (lint.kind(), lint.check(&self.stream, now, &self.config)))
            .collect()
    }
}

/// What a call's session is called: its label, else the start of its id.
impl Model {
    /// The bytes of text the model holds (names, tokens, errors, messages): what its byte
    /// bound is about.
    pub fn text_bytes(&self) -> usize {
        self.calls
            .values()
            .map(|c| {
                let token = match &c.key.token {
                    Some(crate::wire::Token::Str(s)) => s.len(),
                    _ => 0,
                };
                c.key.tool.as_ref().map_or(0, String::len)
                    + c.key.session.as_ref().map_or(0, String::len)
                    + c.session_label.as_ref().map_or(0, String::len)
                    + c.error.as_ref().map_or(0, String::len)
                    + token
                    + c.messages.text_bytes()
            })
            .sum()
    }
}

/// The most the model keeps of a tool name, token or session label (bytes).
pub const MAX_NAME: usize = 256;
/// The longest arguments or result summary the model keeps for a call (bytes of JSON, as
/// it arrived). A tap cuts a longer value to a string of its JSON text of at most
/// [`crate::wire::schema::MAX_DETAIL`] bytes, whose own JSON escapes at most every byte
/// (a quote or a backslash) and adds two quotes: that is kept whole here.
pub const MAX_KEPT_DETAIL: usize = 2 * crate::wire::schema::MAX_DETAIL + 2;
/// The most the model keeps of one message or error (bytes).
pub const MAX_MESSAGE: usize = 2048;

/// What the model holds is bounded in bytes by construction: at most `max_calls` calls
/// (2,000 by default), each with names of at most [`MAX_NAME`], an error of at most
/// [`MAX_MESSAGE`], a message log of at most [`call::MESSAGE_LOG_BYTES`] and
/// `history.samples` samples: about 40 MiB at the very worst, whatever a server sends.
fn bound(text: &mut Option<Cow<'_, str>>, max: usize) {
    if let Some(t) = text {
        if t.len() > max {
            *t = Cow::Owned(crate::sanitize::cut(t, max).into_owned());
        }
    }
}

fn bound_string(text: &mut String, max: usize) {
    if text.len() > max {
        *text = crate::sanitize::cut(text, max).into_owned();
    }
}

fn bound_token(token: &mut Option<crate::wire::Token>) {
    if let Some(crate::wire::Token::Str(s)) = token {
        bound_string(s, MAX_NAME);
    }
}

fn session_name(label: Option<&str>, id: Option<&str>) -> Option<String> {
    match (label, id) {
        (Some(l), _) if !l.is_empty() => Some(l.to_owned()),
        (_, Some(id)) => Some(id.chars().take(8).collect()),
        _ => None,
    }
}

/// The trace id of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`); none for anything
/// else, so only 32 hex digits of it are ever kept or shown.
fn trace_id(traceparent: &str) -> Option<String> {
    let mut parts = traceparent.split('-');
    let (version, trace, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (parts.next().is_none()
        && hex(version, 2)
        && hex(trace, 32)
        && hex(parent, 16)
        && hex(flags, 2)
        && trace.bytes().any(|b| b != b'0'))
    .then(|| trace.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::{Model, StateCounts};
    use crate::time::Time;
    use crate::wire::decode_event;

    #[test]
    fn a_call_keeps_the_trace_its_agent_ran_it_in_and_nothing_else() {
        let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
        let mut model = Model::default();
        let at = Time::from_unix_nanos(1_776_420_000_000_000_000);
        for (token, traceparent) in [
            (1, format!("00-{trace}-00f067aa0ba902b7-01")),
            (2, format!("00-{}-00f067aa0ba902b7-01", "0".repeat(32))),
            (3, format!("00-{trace}-00f067aa0ba902b7-01\u{1b}[2J")),
            (4, "x".repeat(5000)),
        ] {
            let json = serde_json::json!({
                "token": token, "tool": "t", "state": "started", "traceparent": traceparent,
            })
            .to_string();
            model.apply(decode_event("call", &json, ""), at, "");
        }
        let mut kept: Vec<_> = model
            .calls()
            .map(|c| (format!("{:?}", c.key.token), c.trace_id.clone()))
            .collect();
        kept.sort();
        assert_eq!(
            kept,
            [
                ("Some(Int(1))".to_owned(), Some(trace.to_owned())),
                ("Some(Int(2))".to_owned(), None),
                ("Some(Int(3))".to_owned(), None),
                ("Some(Int(4))".to_owned(), None),
            ]
        );
    }

    #[test]
    fn counts_give_way_least_pressing_first_and_keep_their_order() {
        let counts = StateCounts {
            running: 3,
            stalled: 1,
            done: 120,
            failed: 2,
            cancelled: 4,
            lost: 1,
            ..StateCounts::default()
        };
        let all = "3 running · 1 stalled · 120 done · 2 failed · 4 cancelled · 1 lost";
        assert_eq!(counts.describe(" · "), all);
        assert_eq!(counts.describe_within(" · ", 200), all);
        let fits = |width| counts.describe_within(" · ", width);
        assert_eq!(fits(50), "3 running · 1 stalled · 2 failed · 1 lost");
        assert_eq!(fits(30), "3 running · 1 stalled");
        // The most pressing state stays even when nothing fits.
        assert_eq!(fits(3), "3 running");
        let idle = StateCounts {
            done: 7,
            failed: 1,
            ..StateCounts::default()
        };
        assert_eq!(idle.describe_within(" · ", 10), "1 failed");
    }
}
