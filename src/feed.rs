//! The pipeline's driver: source events into the model, normalized updates out. The same
//! [`Feed`] drives `tail`, `replay`, the monitor and the tests; the formats of its updates
//! live in [`crate::report`].

use serde_json::{json, Value};

use crate::event::{LinkStatus, SourceEvent, Timed};
use crate::model::{Call, Change, Connection, Model, ModelConfig};
use crate::time::Time;
use crate::wire::{decode_event, Frame, Token};

self_cell::self_cell!(
    /// Source events taken together, each event's frame decoded from its data (which the
    /// frame borrows): the decoding can run on one thread and the feed on another, as
    /// `tail` runs them. [`Decoded::with_dependent_mut`] hands out each event with its
    /// frame, to be taken (`Option::take`) by [`Feed::ingest_decoded`].
    pub struct Decoded {
        owner: Vec<Timed>,
        #[covariant]
        dependent: Frames,
    }
);

/// The frames of a [`Decoded`] batch, one per source event (`None` for what is not an
/// event, or once taken).
pub type Frames<'a> = Vec<Option<Frame<'a>>>;

impl Decoded {
    /// Decodes the frame of every event of `batch`.
    pub fn decode(batch: Vec<Timed>) -> Decoded {
        Decoded::new(batch, |batch| {
            batch
                .iter()
                .map(|timed| match &timed.event {
                    SourceEvent::Event {
                        event_type,
                        data,
                        id,
                    } => Some(decode_event(event_type, data, id)),
                    _ => None,
                })
                .collect()
        })
    }
}

/// Source events into the model, updates out.
pub struct Feed {
    pub model: Model,
    /// The link dropped since the last connection (for "possible loss").
    dropped: bool,
    /// Calls' arguments and result summaries are left out of the updates (`--no-args`).
    pub hide_details: bool,
    /// `at` of the JSON lines, its date and time of day formatted once a second.
    pub(crate) stamps: crate::time::StampWriter,
}

/// One thing a person or a script wants to know, already normalized.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub at: Time,
    pub json: Value,
}

impl Default for Feed {
    fn default() -> Self {
        Feed::new(ModelConfig::default())
    }
}

impl Feed {
    pub fn new(config: ModelConfig) -> Feed {
        Feed {
            model: Model::new(config),
            dropped: false,
            hide_details: false,
            stamps: crate::time::StampWriter::default(),
        }
    }

    /// Applies one source event to the model only, building no update (the monitor reads
    /// the model itself).
    pub fn apply(&mut self, timed: &Timed) -> Change {
        match &timed.event {
            SourceEvent::KeepAlive => {
                self.model.keepalive(timed.at);
                Change::Ignored
            }
            SourceEvent::Discarded { reason } => {
                self.model.discarded(timed.at, reason);
                Change::Stream
            }
            SourceEvent::Event {
                event_type,
                data,
                id,
            } => self
                .model
                .apply(decode_event(event_type, data, id), timed.at, id),
            SourceEvent::Status(LinkStatus::Daemon {
                instance,
                quiet_hint,
                ..
            }) => {
                self.model.daemon_instance(instance, timed.at);
                self.model.set_quiet_hint(quiet_hint.clone());
                Change::Stream
            }
            SourceEvent::Status(LinkStatus::DaemonCounts(counts)) => {
                self.model.daemon_counts(counts, timed.at);
                Change::Stream
            }
            SourceEvent::Status(status) => {
                let connection = self.connection_of(status);
                self.model.set_connection(connection, timed.at);
                Change::Stream
            }
        }
    }

    /// What a status means for the model, noting drops for "possible loss".
    fn connection_of(&mut self, status: &LinkStatus) -> Connection {
        match status {
            LinkStatus::Connecting { .. } => Connection::Connecting,
            LinkStatus::Connected { resumed, .. } => {
                self.dropped = false;
                Connection::Connected { resumed: *resumed }
            }
            LinkStatus::Disconnected { reason, .. } => {
                self.dropped = true;
                Connection::Disconnected {
                    reason: reason.clone(),
                }
            }
            LinkStatus::Stopped(_) => Connection::Idle,
            LinkStatus::Daemon { .. } | LinkStatus::DaemonCounts(_) => {
                self.model.stream().connection.clone()
            }
            LinkStatus::Waiting { .. } => Connection::Connecting,
        }
    }

    /// Applies one source event; returns the updates it makes.
    pub fn ingest(&mut self, timed: &Timed) -> Vec<Update> {
        self.ingest_decoded(timed, None)
    }

    /// As [`Feed::ingest`], with the event's frame decoded already (see [`Decoded`]);
    /// `None` decodes it here.
    pub fn ingest_decoded(&mut self, timed: &Timed, frame: Option<Frame<'_>>) -> Vec<Update> {
        let at = timed.at;
        let mut out = Vec::new();
        let hide = self.hide_details;
        self.ingest_frame(timed, frame, |model, emitted| {
            let mut json = match emitted {
                Emitted::Json(json) => json,
                Emitted::Call(call) => {
                    let mut c = call_json(model, call, at);
                    if hide {
                        if let Some(object) = c.as_object_mut() {
                            object.remove("arguments");
                            object.remove("result");
                        }
                    }
                    json!({ "type": "call", "call": c })
                }
            };
            if let Some(object) = json.as_object_mut() {
                object.insert("at".into(), json!(at.to_rfc3339_nanos()));
            }
            out.push(Update { at, json });
        });
        out
    }

    /// The one place that turns a source event into updates; an event's `frame` is
    /// decoded here unless it comes decoded.
    pub(crate) fn ingest_frame(
        &mut self,
        timed: &Timed,
        frame: Option<Frame<'_>>,
        mut emit: impl FnMut(&Model, Emitted<'_>),
    ) {
        let at = timed.at;
        match &timed.event {
            SourceEvent::KeepAlive => self.model.keepalive(at),
            SourceEvent::Discarded { reason } => {
                self.model.discarded(at, reason);
                emit(
                    &self.model,
                    Emitted::Json(json!({ "type": "discarded", "reason": reason })),
                );
            }
            SourceEvent::Event {
                event_type,
                data,
                id,
            } => {
                let gaps_before = self.model.stream().id_gap_events;
                let frame = frame.unwrap_or_else(|| decode_event(event_type, data, id));
                let note = match &frame {
                    Frame::Lagged { missed } => Some(json!({ "type": "lagged", "missed": missed })),
                    Frame::Error { error, detail } => {
                        Some(json!({ "type": "error", "error": error, "detail": detail }))
                    }
                    _ => None,
                };
                let change = self.model.apply(frame, at, id);
                let missing = self.model.stream().id_gap_events - gaps_before;
                if missing > 0 {
                    emit(
                        &self.model,
                        Emitted::Json(json!({ "type": "gap", "missing": missing, "at_id": id })),
                    );
                }
                if let Some(note) = note {
                    emit(&self.model, Emitted::Json(note));
                }
                if change == Change::Server {
                    if let Some(server) = self.model.servers().last() {
                        let json = server_json(server);
                        emit(&self.model, Emitted::Json(json));
                    }
                }
                if let Change::NewCall(call) | Change::Updated(call) | Change::Finished(call) =
                    change
                {
                    if let Some(call) = self.model.call(call) {
                        emit(&self.model, Emitted::Call(call));
                    }
                }
            }
            SourceEvent::Status(LinkStatus::Daemon {
                address,
                instance,
                quiet_hint,
            }) => {
                self.model.set_quiet_hint(quiet_hint.clone());
                // Said only when the daemon changed: the calls it lost are updates too.
                let changed = self
                    .model
                    .instance()
                    .is_some_and(|known| known != instance.as_str());
                let lost = self.model.daemon_instance(instance, at);
                if changed {
                    emit(
                        &self.model,
                        Emitted::Json(json!({
                            "type": "status",
                            "state": "daemon-changed",
                            "address": address,
                            "instance": instance,
                            "lost_calls": lost.len(),
                        })),
                    );
                    for id in lost {
                        if let Some(call) = self.model.call(id) {
                            emit(&self.model, Emitted::Call(call));
                        }
                    }
                }
            }
            SourceEvent::Status(LinkStatus::DaemonCounts(counts)) => {
                self.model.daemon_counts(counts, at);
                emit(
                    &self.model,
                    Emitted::Json(json!({
                        "type": "status",
                        "state": "daemon-counts",
                        "spans_dropped": counts.spans_dropped,
                        "export_error": counts.export_error,
                        "otlp_refused": counts.otlp_refused,
                        "otlp_strangers": counts.otlp_strangers,
                    })),
                );
            }
            SourceEvent::Status(status) => {
                let possible_loss = self.dropped;
                let json = match status {
                    LinkStatus::Connecting { attempt } => {
                        json!({ "type": "status", "state": "connecting", "attempt": attempt })
                    }
                    LinkStatus::Connected {
                        transport,
                        session_id,
                        resumed,
                    } => json!({
                        "type": "status",
                        "state": "connected",
                        "transport": transport.as_str(),
                        "session_id": session_id,
                        "resumed": resumed,
                        "possible_loss": possible_loss && !resumed,
                    }),
                    LinkStatus::Disconnected { reason, retry_in } => json!({
                        "type": "status",
                        "state": "disconnected",
                        "reason": reason,
                        "retry_in_s": round3(retry_in.as_secs_f64()),
                    }),
                    LinkStatus::Stopped(stop) => {
                        json!({ "type": "status", "state": "stopped", "reason": stop.message() })
                    }
                    LinkStatus::Daemon { .. } | LinkStatus::DaemonCounts(_) => return,
                    LinkStatus::Waiting { reason } => {
                        json!({ "type": "status", "state": "waiting", "reason": reason })
                    }
                };
                let connection = self.connection_of(status);
                self.model.set_connection(connection, at);
                emit(&self.model, Emitted::Json(json));
            }
        }
    }
}

/// An update on its way out: a call (written from the model) or anything else.
pub(crate) enum Emitted<'a> {
    Json(Value),
    Call(&'a Call),
}

/// Exactly `f64::round` (half away from zero), without the library call it is on a CPU
/// baseline without SSE4.1: below 2^52 the fraction is split off exactly; from there up
/// every `f64` is a whole number already.
#[inline]
pub(crate) fn round_half_away(t: f64) -> f64 {
    if t.abs() < 4_503_599_627_370_496.0 {
        let whole = t as i64; // toward zero; exact in this range
        let fraction = t - whole as f64;
        let rounded = if fraction >= 0.5 {
            whole + 1
        } else if fraction <= -0.5 {
            whole - 1
        } else {
            whole
        };
        // `as` gives +0.0 for a negative value that rounds to zero; `round` keeps the sign.
        (rounded as f64).copysign(t)
    } else {
        t
    }
}

pub(crate) fn round3(v: f64) -> f64 {
    round_half_away(v * 1000.0) / 1000.0
}

pub(crate) fn token_json(token: Option<&Token>) -> Value {
    match token {
        // An integer token stays a number whatever its size within 64 bits (signed or
        // not); past that no JSON reader holds it exactly, and it is its digits' string.
        Some(Token::Int(n)) => match (i64::try_from(*n), u64::try_from(*n)) {
            (Ok(n), _) => json!(n),
            (_, Ok(n)) => json!(n),
            _ => json!(n.to_string()),
        },
        Some(Token::Str(s)) => json!(s),
        None => Value::Null,
    }
}

/// A call as `--json` shows it.
pub fn call_json(model: &Model, call: &Call, now: Time) -> Value {
    let mut value = json!({
        "id": call.id.0,
        "tool": call.key.tool,
        "token": token_json(call.key.token.as_ref()),
        "state": model.display_state(call, now).as_str(),
        "progress": call.progress,
        "total": call.total,
        "percent": call.percent().map(|p| round_half_away(p * 10.0) / 10.0),
        "message": call.message(),
        "elapsed_s": round3(call.elapsed(now).as_seconds_f64()),
        "rate": call.rate.map(round3),
        "eta_s": call.eta().map(|d| round3(d.as_seconds_f64())),
        "error": call.error,
    });
    // Only on an all-sessions stream, so a one-session stream's output is unchanged.
    if let (Some(label), Some(object)) = (&call.session_label, value.as_object_mut()) {
        object.insert("session".into(), label.as_str().into());
    }
    if let Some(object) = value.as_object_mut() {
        if call.progress_requested == Some(false) {
            object.insert("progress_requested".into(), false.into());
        }
        if let Some(shown) = &call.shown_token {
            object.insert("progress_token".into(), token_json(Some(shown)));
        }
        if let Some(task) = &call.task {
            object.insert("task".into(), task.as_str().into());
        }
        if let Some(wait) = call.waiting.filter(|_| !call.status.is_finished()) {
            object.insert("waiting_for".into(), wait.as_str().into());
        }
        for (key, detail) in [("arguments", &call.arguments), ("result", &call.result)] {
            if let Some(v) = detail
                .as_deref()
                .and_then(|t| serde_json::from_str::<Value>(t).ok())
            {
                object.insert(key.into(), v);
            }
        }
    }
    value
}

/// A `server` update: what a session's server said of itself.
pub fn server_json(server: &crate::model::Server) -> serde_json::Value {
    let mut json = json!({ "type": "server", "server": server.info });
    if let Some(object) = json.as_object_mut() {
        if let Some(session) = &server.session {
            object.insert("session".into(), json!(session));
        }
        if let Some(label) = &server.session_label {
            object.insert("session_label".into(), json!(label));
        }
    }
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_integer_token_is_a_number_within_64_bits_signed_or_not() {
        let int = |n: i128| token_json(Some(&Token::Int(n)));
        assert_eq!(int(7), json!(7));
        assert_eq!(int(-7), json!(-7));
        assert_eq!(int(i128::from(u64::MAX)), json!(u64::MAX));
        assert!(int(i128::from(i64::MAX) + 1).is_u64());
        assert_eq!(int(i128::from(u64::MAX) + 1), json!("18446744073709551616"));
        assert_eq!(token_json(Some(&Token::Str("7".into()))), json!("7"));
    }
}
