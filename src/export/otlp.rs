//! `mcptop export --format otlp`: every call a span of the
//! MCP semantic conventions, as the daemon's exporter sends live ones, for the team's
//! collector.
//!
//! The recording plays through the same model the monitor uses, so every kind of source
//! (mcptop's daemon, Construct's progress-only stream, a standard MCP server's
//! notifications) gives the calls a person saw; each call's news (its start, progress,
//! waits, end) then goes through the exporter's own pairing, which adds its findings.

use crate::event::{SourceEvent, Timed};
use crate::feed::Emitted;
use crate::model::{Call, CallId, Status};
use crate::recording::Opened;
use crate::server::export::{Observed, SessionSpan, Spans};
use crate::wire::CallState;
use std::collections::HashMap;
use std::sync::Arc;

/// A recording's calls as spans.
pub struct Replayed {
    pub spans: Vec<SessionSpan>,
    /// Calls still running when the recording ended (sent ended there, as lost).
    pub unfinished: usize,
    /// Spans the pairing dropped (more calls open at once than it holds).
    pub dropped: u64,
}

/// What was last said of a call.
#[derive(Default)]
struct Said {
    progress: Option<f64>,
    waiting: Option<crate::wire::Wait>,
    ended: bool,
}

/// The news of `call` since `said` (nothing said yet when `fresh`), as the exporter's
/// events.
fn news(call: &Call, said: &mut Said, fresh: bool, out: &mut Vec<Observed>) {
    let token = call.id.0.to_string();
    let request_id = call.token_shown().map(ToString::to_string);
    let base = || Observed {
        token: token.clone(),
        request_id: request_id.clone(),
        tool: Some(call.key.tool.clone().unwrap_or_else(|| "call".into())),
        origin: call.origin,
        at: call.last_update,
        ..Observed::default()
    };
    if fresh {
        out.push(Observed {
            state: Some(CallState::Started),
            at: call.first_seen,
            ..base()
        });
    }
    if call.progress.is_some() && call.progress != said.progress {
        out.push(Observed {
            progress_event: true,
            progress: call.progress,
            total: call.total,
            message: call.messages.last().map(str::to_owned),
            ..base()
        });
        said.progress = call.progress;
    }
    if call.waiting != said.waiting && call.status == Status::Running {
        out.push(Observed {
            state: Some(if call.waiting.is_some() {
                CallState::Waiting
            } else {
                CallState::Working
            }),
            waiting_for: call.waiting,
            message: call.messages.last().map(str::to_owned),
            ..base()
        });
        said.waiting = call.waiting;
    }
    if call.status.is_finished() && !said.ended {
        said.ended = true;
        out.push(Observed {
            state: Some(match call.status {
                Status::Failed => CallState::Failed,
                Status::Cancelled => CallState::Cancelled,
                Status::Lost => CallState::Lost,
                Status::Done | Status::Running => CallState::Finished,
            }),
            at: call.ended_at.unwrap_or(call.last_update),
            error: call.error.clone(),
            duration_ms: call.reported_duration.map(|d| d.as_seconds_f64() * 1000.0),
            ..base()
        });
    }
}

/// Plays `recording` through the model and pairs every call's news into spans.
pub fn spans(recording: Opened) -> Replayed {
    let mut feed = crate::playback::feed(crate::model::HistoryLimits {
        samples: 4,
        messages: 2,
    });
    let source = &recording.source;
    let session: Arc<str> = Arc::from(
        source
            .session_id
            .as_deref()
            .or(source.label.as_deref())
            .unwrap_or("recording"),
    );
    let label: Option<Arc<str>> = source.label.as_deref().map(Arc::from);
    let mut pairing = Spans::default();
    let mut said: HashMap<CallId, Said> = HashMap::new();
    // Sessions of an all-sessions stream, shared by their calls.
    let mut sessions: HashMap<String, Arc<str>> = HashMap::new();
    let mut out = Vec::new();
    let mut end = recording.started_at;
    let tape = recording.tape;
    let mut observe = |call: &Call,
                       said: &mut HashMap<CallId, Said>,
                       pairing: &mut Spans,
                       out: &mut Vec<Observed>| {
        let (id, call_label) = match call.key.session.as_deref() {
            Some(s) => (
                Arc::clone(sessions.entry(s.to_owned()).or_insert_with(|| Arc::from(s))),
                call.session_label.as_deref().map(Arc::from),
            ),
            None => (Arc::clone(&session), label.clone()),
        };
        let fresh = !said.contains_key(&call.id);
        news(call, said.entry(call.id).or_default(), fresh, out);
        for e in out.drain(..) {
            pairing.observe(&id, call_label.as_ref(), e);
        }
    };
    for i in 0..tape.len() {
        let Some(event) = tape.event(i) else { continue };
        if matches!(event, SourceEvent::KeepAlive) {
            continue;
        }
        let at = recording.started_at
            + chrono::TimeDelta::from_std(tape.at(i)).unwrap_or(chrono::TimeDelta::MAX);
        end = end.max(at);
        let timed = Timed { at, event };
        feed.ingest_frame(&timed, None, |_, emitted| {
            if let Emitted::Call(call) = emitted {
                observe(call, &mut said, &mut pairing, &mut out);
            }
        });
    }
    // What still runs at the end: its span ends there, said so.
    let mut unfinished = 0;
    let running: Vec<CallId> = feed
        .model
        .calls()
        .filter(|c| c.status == Status::Running)
        .map(|c| c.id)
        .collect();
    for id in running {
        let Some(call) = feed.model.call(id) else {
            continue;
        };
        let mut call = call.clone();
        call.status = Status::Lost;
        call.ended_at = Some(end.max(call.last_update));
        call.error = Some("still running when the recording ended".into());
        unfinished += 1;
        observe(&call, &mut said, &mut pairing, &mut out);
    }
    Replayed {
        spans: std::mem::take(&mut pairing.done),
        unfinished,
        dropped: pairing.dropped,
    }
}
