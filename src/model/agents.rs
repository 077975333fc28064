//! Agent sessions at a glance: one row per daemon session an agent reports into (its
//! hooks, its OpenTelemetry), with what it does now, sorted so that the one waiting for
//! its user comes first. The agents view draws these.

use chrono::TimeDelta;

use super::{Call, CallId, Model, Status};
use crate::time::Time;
use crate::wire::{Token, Wait};

/// The tool and token of the row `mcptop hook` publishes when an agent's session ends.
pub const SESSION_TOOL: &str = "session";
pub const SESSION_END: &str = "session-end";

/// What an agent session is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentState {
    /// A call of it waits on the user (since when, which call).
    Waiting(Wait, Time, CallId),
    /// A call of it runs.
    Working,
    /// Nothing runs; its last activity.
    Idle(Time),
    /// Its session ended (its hooks said so).
    Ended(Time),
}

impl AgentState {
    /// Waiting first, then working, idle, ended.
    fn rank(self) -> u8 {
        match self {
            AgentState::Waiting(Wait::Permission, ..) => 0,
            AgentState::Waiting(Wait::Input, ..) => 1,
            AgentState::Working => 2,
            AgentState::Idle(_) => 3,
            AgentState::Ended(_) => 4,
        }
    }

    /// In words, as the view shows it (`now` for "for how long"); `short` for a narrow
    /// pane, where the glyph before it says it waits.
    pub fn words(self, now: Time, short: bool) -> String {
        let waiting = if short { "" } else { "waiting for " };
        match self {
            AgentState::Waiting(Wait::Permission, since, _) => {
                format!("{waiting}permission {}", super::human(now - since))
            }
            AgentState::Waiting(Wait::Input, since, _) => {
                format!("{waiting}input {}", super::human(now - since))
            }
            AgentState::Working => "working".to_owned(),
            AgentState::Idle(since) => format!("idle {}", super::human(now - since)),
            AgentState::Ended(_) if short => "ended".to_owned(),
            AgentState::Ended(at) => format!("ended {} ago", super::human(now - at)),
        }
    }
}

/// One agent session.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentRow {
    /// The daemon session (its id): what the table's `in:` filter takes.
    pub session: String,
    /// Which agent (`claude-code`, `codex`, `gemini`).
    pub agent: String,
    /// Its directory (or what else its label names).
    pub dir: String,
    pub state: AgentState,
    /// The newest running call: its tool and what it does.
    pub running: Option<(String, String)>,
    pub calls: u64,
    pub failures: u64,
    /// Its subagents that made calls.
    pub subagents: usize,
    pub last: Time,
}

/// Whether `call` is the row that says an agent session ended (not a tool call).
pub fn is_session_end(call: &Call) -> bool {
    call.key.tool.as_deref() == Some(SESSION_TOOL)
        && matches!(&call.key.token, Some(Token::Str(t)) if t == SESSION_END)
}

/// What one pass over the calls gathers of a session.
#[derive(Default)]
struct Gathered<'a> {
    label: Option<&'a str>,
    last: Option<Time>,
    ended: Option<Time>,
    /// The running calls (few, even when the calls are many).
    running: Vec<&'a Call>,
    calls: u64,
    failures: u64,
    subagents: Vec<&'a str>,
}

impl Model {
    /// Every agent session the model holds calls of, the one that has waited longest on
    /// its user first, then those working, idle and ended (the latest activity first).
    pub fn agents(&self) -> Vec<AgentRow> {
        let mut by_session: hashbrown::HashMap<&str, Gathered<'_>> = hashbrown::HashMap::new();
        for call in self.calls() {
            if call.origin.is_none() {
                continue;
            }
            let Some(session) = call.key.session.as_deref() else {
                continue;
            };
            let g = by_session.entry(session).or_default();
            if g.label.is_none() {
                g.label = call.session_label.as_deref();
            }
            let last = call
                .ended_at
                .unwrap_or(call.last_update)
                .max(call.last_update);
            g.last = Some(g.last.map_or(last, |l| l.max(last)));
            if is_session_end(call) {
                g.ended = Some(g.ended.map_or(call.first_seen, |e| e.max(call.first_seen)));
                continue;
            }
            g.calls += 1;
            match call.status {
                Status::Running => g.running.push(call),
                Status::Failed => g.failures += 1,
                _ => {}
            }
            if let Some((_, id)) = &call.subagent {
                if !g.subagents.contains(&id.as_str()) {
                    g.subagents.push(id);
                }
            }
        }
        let mut rows: Vec<AgentRow> = by_session
            .into_iter()
            .map(|(session, g)| agent_row(session, g))
            .collect();
        rows.sort_by(|a, b| {
            a.state
                .rank()
                .cmp(&b.state.rank())
                .then_with(|| match (a.state, b.state) {
                    (AgentState::Waiting(_, x, _), AgentState::Waiting(_, y, _)) => x.cmp(&y),
                    _ => b.last.cmp(&a.last),
                })
                .then_with(|| a.session.cmp(&b.session))
        });
        rows
    }

    /// Agent sessions not ended with activity within `within` of `now`.
    pub fn live_agents(&self, now: Time, within: TimeDelta) -> usize {
        self.agents()
            .iter()
            .filter(|a| !matches!(a.state, AgentState::Ended(_)) && now - a.last <= within)
            .count()
    }
}

fn agent_row(session: &str, g: Gathered<'_>) -> AgentRow {
    let label = g.label.unwrap_or(session);
    let (agent, dir) = match label.split_once(" · ") {
        Some((agent, dir)) => (agent.to_owned(), dir.to_owned()),
        None => (label.to_owned(), String::new()),
    };
    let last = g.last.unwrap_or_else(Time::now);
    // What runs since the session ended was not heard to end: it runs no more.
    let running: Vec<&Call> = g
        .running
        .into_iter()
        .filter(|c| g.ended.is_none_or(|e| c.first_seen > e))
        .collect();
    let waiting = running
        .iter()
        .filter_map(|c| c.waiting.map(|w| (w, c.last_update, c.id)))
        .min_by_key(|(w, since, _)| (*w != Wait::Permission, *since));
    let state = match (waiting, g.ended) {
        (Some((wait, since, id)), _) => AgentState::Waiting(wait, since, id),
        (None, Some(at)) if running.is_empty() => AgentState::Ended(at),
        (None, _) if !running.is_empty() => AgentState::Working,
        (None, _) => AgentState::Idle(last),
    };
    // The call that waits on the user, else the newest running one.
    let newest = match state {
        AgentState::Waiting(_, _, id) => running.iter().find(|c| c.id == id),
        _ => running.iter().max_by_key(|c| (c.first_seen, c.id)),
    };
    AgentRow {
        session: session.to_owned(),
        agent,
        dir,
        state,
        running: newest.map(|c| {
            (
                c.key.tool.clone().unwrap_or_default(),
                c.message().unwrap_or_default().to_owned(),
            )
        }),
        calls: g.calls,
        failures: g.failures,
        subagents: g.subagents.len(),
        last,
    }
}
