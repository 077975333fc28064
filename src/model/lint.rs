//! Findings: small checks that each answer ok, warn, or "not enough data yet" — the last
//! keeps false alarms away while a call or a stream is too young to judge.

use chrono::TimeDelta;

use crate::time::Time;

use super::call::{Call, CallId, Status};
use super::stream::{Connection, StreamState};
use super::ModelConfig;

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Ok,
    Warn(String),
    NotEnoughData,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FindingKind {
    // Stream findings first: they explain call findings.
    ServerLoss,
    Discarded,
    IdGap,
    PossibleLoss,
    SilentStream,
    LateDelivery,
    Reconnected,
    /// Connected and alive, but the daemon's tools publish nothing (stock Construct).
    QuietDaemon,
    /// The daemon's OTLP exporter could not deliver spans to the collector.
    ExportDropped,
    /// The daemon's OTLP receiver refused exports (or other users' connections).
    OtlpRefused,
    // Call findings.
    /// Waiting on someone: a permission prompt, or input a task asked for.
    Waiting,
    /// The agent started an MCP tool whose server's tap never saw the call.
    NeverReached,
    Stalled,
    NotIncreasing,
    PastTotal,
    AfterCompletion,
    SharedToken,
    NoProgressToken,
}

impl FindingKind {
    /// Lower is worse: the order the findings are listed in.
    pub fn severity(self) -> u8 {
        match self {
            FindingKind::Waiting => 0,
            FindingKind::NeverReached => 0,
            FindingKind::Stalled => 0,
            FindingKind::ServerLoss => 1,
            FindingKind::IdGap => 2,
            FindingKind::PossibleLoss => 3,
            FindingKind::SilentStream => 4,
            FindingKind::Discarded => 5,
            FindingKind::LateDelivery => 6,
            FindingKind::NotIncreasing => 7,
            FindingKind::PastTotal => 8,
            FindingKind::AfterCompletion => 9,
            FindingKind::SharedToken => 10,
            FindingKind::Reconnected => 11,
            FindingKind::QuietDaemon => 4,
            FindingKind::ExportDropped => 5,
            FindingKind::OtlpRefused => 6,
            FindingKind::NoProgressToken => 12,
        }
    }

    /// What several calls with this finding have in common, for a grouped line.
    fn group_phrase(self) -> Option<&'static str> {
        Some(match self {
            FindingKind::Waiting => "waiting",
            FindingKind::NeverReached => "never reached their servers",
            FindingKind::Stalled => "stalled",
            FindingKind::NotIncreasing => "report progress that does not increase",
            FindingKind::PastTotal => "report progress past their total",
            FindingKind::AfterCompletion => "report after they completed",
            FindingKind::SharedToken => "share a progress token",
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            FindingKind::ServerLoss => "server-loss",
            FindingKind::Discarded => "discarded",
            FindingKind::IdGap => "id-gap",
            FindingKind::PossibleLoss => "possible-loss",
            FindingKind::SilentStream => "silent-stream",
            FindingKind::LateDelivery => "late-delivery",
            FindingKind::Reconnected => "reconnected",
            FindingKind::QuietDaemon => "quiet-daemon",
            FindingKind::ExportDropped => "export-dropped",
            FindingKind::OtlpRefused => "otlp-refused",
            FindingKind::Waiting => "waiting",
            FindingKind::NeverReached => "never-reached",
            FindingKind::Stalled => "stalled",
            FindingKind::NotIncreasing => "progress-not-increasing",
            FindingKind::PastTotal => "progress-past-total",
            FindingKind::AfterCompletion => "progress-after-completion",
            FindingKind::SharedToken => "shared-token",
            FindingKind::NoProgressToken => "no-progress-token",
        }
    }
}

/// One active warning.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub kind: FindingKind,
    /// The call it is about; none for stream findings.
    pub call: Option<CallId>,
    /// One sentence a person can act on.
    pub message: String,
}

/// Call findings of one kind about several calls become one line (`3 calls stalled:
/// run_tests #7 stalled 1m20s; …`), at the place of the first; others stay as they are.
pub fn group(findings: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::with_capacity(findings.len());
    // Per kind: where its first finding stands, and every message of its kind.
    let mut groups: Vec<(FindingKind, usize, Vec<String>)> = Vec::new();
    for finding in findings {
        if finding.call.is_some() && finding.kind.group_phrase().is_some() {
            if let Some(group) = groups.iter_mut().find(|g| g.0 == finding.kind) {
                group.2.push(finding.message);
                continue;
            }
            groups.push((finding.kind, out.len(), vec![finding.message.clone()]));
        }
        out.push(finding);
    }
    for (kind, at, messages) in groups {
        if messages.len() < 2 {
            continue;
        }
        let phrase = kind.group_phrase().unwrap_or("have findings");
        let shown: Vec<&str> = messages.iter().take(2).map(String::as_str).collect();
        let more = if messages.len() > 2 { "; …" } else { "" };
        out[at].message = format!(
            "{} calls {phrase}: {}{more}",
            messages.len(),
            shown.join("; ")
        );
        out[at].call = None;
    }
    out
}

pub trait CallLint {
    fn kind(&self) -> FindingKind;
    fn check(&self, call: &Call, now: Time, config: &ModelConfig) -> Verdict;
}

pub trait StreamLint {
    fn kind(&self) -> FindingKind;
    fn check(&self, stream: &StreamState, now: Time, config: &ModelConfig) -> Verdict;
}

pub(crate) const CALL_LINTS: &[&dyn CallLint] = &[
    &Stalled,
    &Waiting,
    &NotIncreasing,
    &PastTotal,
    &AfterCompletion,
    &SharedToken,
    &NoProgressToken,
];
pub(crate) const STREAM_LINTS: &[&dyn StreamLint] = &[
    &ServerLoss,
    &Discarded,
    &IdGap,
    &PossibleLoss,
    &SilentStream,
    &LateDelivery,
    &Reconnected,
    &QuietDaemon,
    &ExportDropped,
    &OtlpRefused,
];

/// Spans the daemon's exporter lost: the team's backend is missing calls.
pub struct ExportDropped;
impl StreamLint for ExportDropped {
    fn kind(&self) -> FindingKind {
        FindingKind::ExportDropped
    }
    fn check(&self, s: &StreamState, now: Time, config: &ModelConfig) -> Verdict {
        let c = &s.daemon_counts;
        match c.spans_dropped {
            0 => Verdict::Ok,
            n => aged(s.last_daemon_loss_at, now, config, || {
                let why = c
                    .export_error
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default();
                format!(
                    "OTLP export dropped {n} span{}{why}: the collector lacks those calls",
                    plural(n)
                )
            }),
        }
    }
}

/// Exports the daemon's receiver turned away: an agent's calls that never showed.
pub struct OtlpRefused;
impl StreamLint for OtlpRefused {
    fn kind(&self) -> FindingKind {
        FindingKind::OtlpRefused
    }
    fn check(&self, s: &StreamState, now: Time, config: &ModelConfig) -> Verdict {
        let c = &s.daemon_counts;
        if c.otlp_refused == 0 && c.otlp_strangers == 0 {
            return Verdict::Ok;
        }
        aged(s.last_daemon_loss_at, now, config, || {
            let mut parts = Vec::new();
            if c.otlp_refused > 0 {
                parts.push(format!(
                    "refused {} export{} (malformed, too large or of an unknown type; \
                     counts on /health)",
                    c.otlp_refused,
                    plural(c.otlp_refused)
                ));
            }
            if c.otlp_strangers > 0 {
                parts.push(format!(
                    "closed {} connection{} of another user",
                    c.otlp_strangers,
                    plural(c.otlp_strangers)
                ));
            }
            format!("OTLP receiver {}", parts.join("; "))
        })
    }
}

/// Keep-alives and nothing else from a daemon that is not mcptop's: its tools publish no
/// progress, and a person should hear why the pane stays empty and what shows the calls.
pub struct QuietDaemon;
impl StreamLint for QuietDaemon {
    fn kind(&self) -> FindingKind {
        FindingKind::QuietDaemon
    }
    fn check(&self, s: &StreamState, _: Time, _: &ModelConfig) -> Verdict {
        match (&s.quiet_hint, s.events, s.last_keepalive) {
            (Some(hint), 0, Some(_)) => Verdict::Warn(hint.clone()),
            (Some(_), 0, None) => Verdict::NotEnoughData,
            _ => Verdict::Ok,
        }
    }
}

/// Human durations: "850 ms", "41 s", "3 min 05 s", "2 h 10 min".
pub fn human(d: TimeDelta) -> String {
    compact(d.num_milliseconds().max(0))
}

/// Milliseconds in the one compact form used everywhere (the TUI, `--plain`,
/// `--summary`): `850ms`, `12.3s`, `1m05s`, `1h02m`, `3d04h`. Never over 6 characters
/// below 100 days; each unit is cut down (floor), never rounded up past its next one.
pub fn compact(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let s = ms / 1000;
    if s < 60 {
        return format!("{}.{}s", s, (ms % 1000) / 100);
    }
    if s < 3600 {
        return format!("{}m{:02}s", s / 60, s % 60);
    }
    if s < 86_400 {
        return format!("{}h{:02}m", s / 3600, (s % 3600) / 60);
    }
    format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600)
}

fn tool_name(call: &Call) -> String {
    let tool = call.key.tool.as_deref().unwrap_or("call");
    match call.token_shown() {
        Some(t) => format!("{tool} #{t}"),
        None => tool.to_owned(),
    }
}

/// The stall threshold for a call: its own cadence times a factor, never below a floor.
/// With too few updates to know the cadence, only a long absolute silence counts.
pub fn stall_threshold(call: &Call, config: &ModelConfig) -> Option<TimeDelta> {
    match call.cadence {
        Some(c) if call.updates >= 3 => {
            let relative =
                crate::time::delta_from_secs(c * config.stall_factor).unwrap_or(TimeDelta::MAX);
            Some(relative.max(config.stall_min))
        }
        _ => None,
    }
}

/// How long an agent's MCP call may go unseen by its server's tap before the header says
/// it never reached the server.
pub const NEVER_REACHED_SECS: i64 = 5;

/// `mcp__SERVER__TOOL` (how Claude Code names an MCP server's tool): the server and tool.
pub fn mcp_tool(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix("mcp__")?;
    let (server, tool) = rest.split_once("__")?;
    (!server.is_empty() && !tool.is_empty()).then_some((server, tool))
}

/// How long a call may wait before the header says so, unless the config file says
/// otherwise (`[calls] waiting_notice`): the most common reason an agent looks stuck is
/// a permission prompt nobody has seen.
pub const WAITING_NOTICE_SECS: i64 = 5;

/// A running call that waits for permission or input.
pub struct Waiting;
impl CallLint for Waiting {
    fn kind(&self) -> FindingKind {
        FindingKind::Waiting
    }
    fn check(&self, call: &Call, now: Time, config: &ModelConfig) -> Verdict {
        let Some(wait) = call.waiting.filter(|_| call.status == Status::Running) else {
            return Verdict::Ok;
        };
        let waited = call.since_update(now);
        if waited < config.waiting_notice {
            return Verdict::NotEnoughData;
        }
        let what = match wait {
            crate::wire::Wait::Permission => "waits for permission: answer the agent's prompt",
            crate::wire::Wait::Input => "waits for input the server asked for",
        };
        // An agent's call says which agent waits: with several at work, that is the news.
        let whose = match (&call.origin, &call.session_label) {
            (Some(_), Some(label)) => format!("{label}: "),
            _ => String::new(),
        };
        Verdict::Warn(format!(
            "{whose}{} {what} ({})",
            tool_name(call),
            human(waited)
        ))
    }
}

pub struct Stalled;
impl CallLint for Stalled {
    fn kind(&self) -> FindingKind {
        FindingKind::Stalled
    }
    fn check(&self, call: &Call, now: Time, config: &ModelConfig) -> Verdict {
        if call.status != Status::Running || call.waiting.is_some() {
            return Verdict::Ok;
        }
        if call.progress_requested == Some(false) && call.updates == 0 {
            // No progress was asked for, so silence says nothing about the call.
            return Verdict::NotEnoughData;
        }
        let quiet = call.since_update(now);
        let threshold = stall_threshold(call, config);
        if quiet > threshold.unwrap_or(config.stall_without_cadence) {
            Verdict::Warn(format!("{} stalled {}", tool_name(call), human(quiet)))
        } else if threshold.is_none() {
            Verdict::NotEnoughData
        } else {
            Verdict::Ok
        }
    }
}

/// Whether [`Stalled`] warns of `call` now, without the words of its warning: what a
/// call's state shows (every line of `tail --json` asks).
pub fn is_stalled(call: &Call, now: Time, config: &ModelConfig) -> bool {
    if call.status != Status::Running
        || call.waiting.is_some()
        || (call.progress_requested == Some(false) && call.updates == 0)
    {
        return false;
    }
    let quiet = call.since_update(now);
    // No threshold is below the smaller of these: a call this quiet is not stalled, and
    // its threshold need not be worked out.
    if quiet <= config.stall_min.min(config.stall_without_cadence) {
        return false;
    }
    quiet > stall_threshold(call, config).unwrap_or(config.stall_without_cadence)
}

pub struct NotIncreasing;
impl CallLint for NotIncreasing {
    fn kind(&self) -> FindingKind {
        FindingKind::NotIncreasing
    }
    fn check(&self, call: &Call, _: Time, _: &ModelConfig) -> Verdict {
        match call.non_increasing {
            0 if call.updates < 2 => Verdict::NotEnoughData,
            0 => Verdict::Ok,
            1 => Verdict::Warn(format!(
                "{}: progress did not increase once",
                tool_name(call)
            )),
            n => Verdict::Warn(format!(
                "{}: progress did not increase {n} times",
                tool_name(call)
            )),
        }
    }
}

pub struct PastTotal;
impl CallLint for PastTotal {
    fn kind(&self) -> FindingKind {
        FindingKind::PastTotal
    }
    fn check(&self, call: &Call, _: Time, _: &ModelConfig) -> Verdict {
        match (call.progress, call.total) {
            (Some(p), Some(t)) if crate::model::call::beyond(p, t) => Verdict::Warn(format!(
                "{}: progress {} is past its total {}",
                tool_name(call),
                num(p),
                num(t)
            )),
            (Some(_), Some(_)) => Verdict::Ok,
            _ => Verdict::NotEnoughData,
        }
    }
}

pub struct AfterCompletion;
impl CallLint for AfterCompletion {
    fn kind(&self) -> FindingKind {
        FindingKind::AfterCompletion
    }
    fn check(&self, call: &Call, _: Time, _: &ModelConfig) -> Verdict {
        match call.after_completion {
            0 => Verdict::Ok,
            n => Verdict::Warn(format!(
                "{}: {n} progress report{} after it completed",
                tool_name(call),
                if n == 1 { "" } else { "s" }
            )),
        }
    }
}

pub struct SharedToken;
impl CallLint for SharedToken {
    fn kind(&self) -> FindingKind {
        FindingKind::SharedToken
    }
    fn check(&self, call: &Call, _: Time, _: &ModelConfig) -> Verdict {
        if call.shared_token {
            Verdict::Warn(format!(
                "{}: concurrent calls share this token, so their progress is merged in one row",
                tool_name(call)
            ))
        } else {
            Verdict::Ok
        }
    }
}

/// A running call with an empty bar because its caller sent no progress token (a tap saw
/// the request), so the server could not report progress even if it wanted to.
pub struct NoProgressToken;
impl CallLint for NoProgressToken {
    fn kind(&self) -> FindingKind {
        FindingKind::NoProgressToken
    }
    fn check(&self, call: &Call, _: Time, _: &ModelConfig) -> Verdict {
        if call.origin.is_some() {
            // An agent's own tool: no progress is possible, so none is missing.
            return Verdict::NotEnoughData;
        }
        match call.progress_requested {
            Some(false) if call.status == Status::Running && call.progress.is_none() => {
                Verdict::Warn(format!(
                    "{}: no progress token requested, so only elapsed time shows \
                     (try --request-progress)",
                    tool_name(call)
                ))
            }
            Some(_) => Verdict::Ok,
            None => Verdict::NotEnoughData,
        }
    }
}

/// A loss finding with how long ago the last loss was (`· 2m00s ago`), gone once
/// `loss_notice` has passed without another.
fn aged(
    last: Option<Time>,
    now: Time,
    config: &ModelConfig,
    message: impl FnOnce() -> String,
) -> Verdict {
    match last {
        Some(at) if now - at > config.loss_notice => Verdict::Ok,
        Some(at) if now - at >= TimeDelta::seconds(1) => {
            Verdict::Warn(format!("{} · {} ago", message(), human(now - at)))
        }
        _ => Verdict::Warn(message()),
    }
}

pub struct ServerLoss;
impl StreamLint for ServerLoss {
    fn kind(&self) -> FindingKind {
        FindingKind::ServerLoss
    }
    fn check(&self, s: &StreamState, now: Time, config: &ModelConfig) -> Verdict {
        match s.server_missed {
            0 => Verdict::Ok,
            n => aged(s.last_lagged_at, now, config, || {
                format!("server dropped {n} event{}", plural(n))
            }),
        }
    }
}

pub struct Discarded;
impl StreamLint for Discarded {
    fn kind(&self) -> FindingKind {
        FindingKind::Discarded
    }
    fn check(&self, s: &StreamState, now: Time, config: &ModelConfig) -> Verdict {
        match s.discarded {
            0 => Verdict::Ok,
            1 => aged(s.last_discard_at, now, config, || {
                format!("1 event discarded unread: {}", s.last_discard)
            }),
            n => aged(s.last_discard_at, now, config, || {
                format!("{n} events discarded unread (last: {})", s.last_discard)
            }),
        }
    }
}

pub struct IdGap;
impl StreamLint for IdGap {
    fn kind(&self) -> FindingKind {
        FindingKind::IdGap
    }
    fn check(&self, s: &StreamState, now: Time, config: &ModelConfig) -> Verdict {
        if !s.has_ids {
            return Verdict::NotEnoughData;
        }
        match s.id_gap_events {
            0 => Verdict::Ok,
            n => aged(s.last_gap_at, now, config, || {
                format!(
                    "{n} event{} missing between ids ({} gap{})",
                    plural(n),
                    s.id_gaps,
                    plural(s.id_gaps)
                )
            }),
        }
    }
}

pub struct PossibleLoss;
impl StreamLint for PossibleLoss {
    fn kind(&self) -> FindingKind {
        FindingKind::PossibleLoss
    }
    fn check(&self, s: &StreamState, _: Time, _: &ModelConfig) -> Verdict {
        let unsure: Vec<_> = s.reconnects.iter().filter(|w| !w.resumed).collect();
        match unsure.last() {
            None => Verdict::Ok,
            Some(w) => {
                Verdict::Warn(format!(
                "events sent while the stream was down for {} may be lost (the stream {} resume)",
                human(w.duration()),
                if s.has_ids { "did not" } else { "has no ids to" }
            ))
            }
        }
    }
}

pub struct SilentStream;
impl StreamLint for SilentStream {
    fn kind(&self) -> FindingKind {
        FindingKind::SilentStream
    }
    fn check(&self, s: &StreamState, now: Time, config: &ModelConfig) -> Verdict {
        if !matches!(s.connection, Connection::Connected { .. }) {
            return Verdict::NotEnoughData;
        }
        let Some(last) = s.last_activity else {
            return Verdict::NotEnoughData;
        };
        let quiet = now - last;
        if quiet > config.silent_after {
            Verdict::Warn(format!(
                "stream silent for {} (not even a keep-alive)",
                human(quiet)
            ))
        } else {
            Verdict::Ok
        }
    }
}

pub struct LateDelivery;
impl StreamLint for LateDelivery {
    fn kind(&self) -> FindingKind {
        FindingKind::LateDelivery
    }
    fn check(&self, s: &StreamState, _: Time, config: &ModelConfig) -> Verdict {
        match s.delay() {
            None => Verdict::NotEnoughData,
            Some(d) if d > config.late_after.as_seconds_f64() => Verdict::Warn(format!(
                "events arrive {} late",
                human(crate::time::delta_from_secs(d).unwrap_or(TimeDelta::MAX))
            )),
            Some(_) => Verdict::Ok,
        }
    }
}

pub struct Reconnected;
impl StreamLint for Reconnected {
    fn kind(&self) -> FindingKind {
        FindingKind::Reconnected
    }
    fn check(&self, s: &StreamState, now: Time, config: &ModelConfig) -> Verdict {
        match s.reconnects.back() {
            Some(w) if now - w.to <= config.reconnect_notice => Verdict::Warn(format!(
                "reconnected {} ago after {} down",
                human(now - w.to),
                human(w.duration())
            )),
            _ => Verdict::Ok,
        }
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// A progress number without a pointless ".0".
pub fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.2}")
    }
}
