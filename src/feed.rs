//! The pipeline's driver: source events into the model, normalized updates out. The same
//! [`Feed`] drives `tail`, `replay`, the monitor and the tests; the formats of its updates
//! live in [`crate::report`].

use serde::Serialize;
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

/// One thing a person or a script wants to know, already normalized: what it says,
/// typed, and the `--json` object it is (the same, with its time).
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub at: Time,
    pub said: Said,
    pub json: Value,
}

/// What an update says: the one contract of `--json` (tagged by `type`), which `--plain`
/// reads with the same types. Written through a `serde_json::Value`, so its keys come out
/// sorted, as the fast call writer of `report` writes them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Said {
    Call {
        call: Box<CallOut>,
    },
    /// What a session's server said of itself.
    Server {
        server: Box<crate::wire::schema::ServerEvent>,
        #[serde(skip_serializing_if = "Option::is_none")]
        session: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        session_label: Option<String>,
    },
    Status(LinkSaid),
    /// An event the decoder could not take whole (too long, say).
    Discarded {
        reason: String,
    },
    /// Event ids skipped: events lost before `at_id`.
    Gap {
        missing: u64,
        at_id: String,
    },
    /// The server dropped `missed` events for this subscriber.
    Lagged {
        missed: u64,
    },
    /// The server's (or gateway's) error frame.
    Error {
        error: String,
        detail: Option<String>,
    },
}

/// The link's news, as updates say it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum LinkSaid {
    Connecting {
        attempt: u32,
    },
    Connected {
        transport: String,
        session_id: String,
        resumed: bool,
        /// Events sent while the link was down may be lost (it came back without resuming).
        possible_loss: bool,
    },
    Disconnected {
        reason: String,
        retry_in_s: f64,
    },
    Stopped {
        reason: String,
    },
    Waiting {
        reason: String,
    },
    /// Another daemon run answers: the calls the old one held are lost.
    DaemonChanged {
        address: String,
        instance: String,
        lost_calls: usize,
    },
    /// What the daemon's OTLP paths lost beside the streams.
    DaemonCounts {
        spans_dropped: u64,
        export_error: Option<String>,
        otlp_refused: u64,
        otlp_strangers: u64,
    },
}

/// A call as `--json` shows it. Keys that are always there may be `null`; the others
/// are left out when they have nothing to say.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallOut {
    pub id: u64,
    pub tool: Option<String>,
    /// An integer within 64 bits, else a string.
    pub token: Value,
    pub state: &'static str,
    pub progress: Option<f64>,
    pub total: Option<f64>,
    /// To a tenth.
    pub percent: Option<f64>,
    pub message: Option<String>,
    pub elapsed_s: f64,
    pub rate: Option<f64>,
    pub eta_s: Option<f64>,
    pub error: Option<String>,
    /// Its session's label, on an all-sessions stream only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// Only `false`: the caller asked for no progress.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress_requested: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress_token: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// While it waits: `input` or `permission`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// The subagent that made it: its type and its id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subagent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subagent_id: Option<String>,
    /// An agent's report of an MCP call whose server's tap shows it: the id of the tap's
    /// call, which is the row the monitor shows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub same_as: Option<u64>,
}

impl CallOut {
    /// `call` as the model shows it at `now`.
    pub fn of(model: &Model, call: &Call, now: Time) -> CallOut {
        let detail = |d: &Option<String>| {
            d.as_deref()
                .and_then(|t| serde_json::from_str::<Value>(t).ok())
        };
        CallOut {
            id: call.id.0,
            tool: call.key.tool.clone(),
            token: token_json(call.key.token.as_ref()),
            state: model.display_state(call, now).as_str(),
            progress: call.progress,
            total: call.total,
            percent: call.percent().map(|p| round_half_away(p * 10.0) / 10.0),
            message: call.message().map(str::to_owned),
            elapsed_s: round3(call.elapsed(now).as_seconds_f64()),
            rate: call.rate.map(round3),
            eta_s: call.eta().map(|d| round3(d.as_seconds_f64())),
            error: call.error.clone(),
            session: call.session_label.clone(),
            progress_requested: (call.progress_requested == Some(false)).then_some(false),
            progress_token: call.shown_token.as_ref().map(|t| token_json(Some(t))),
            task: call.task.clone(),
            waiting_for: call
                .waiting
                .filter(|_| !call.status.is_finished())
                .map(|w| w.as_str()),
            arguments: detail(&call.arguments),
            result: detail(&call.result),
            subagent: call.subagent.as_ref().map(|(kind, _)| kind.clone()),
            subagent_id: call.subagent.as_ref().map(|(_, id)| id.clone()),
            same_as: call.reached.map(|id| id.0),
        }
    }
}

impl Said {
    /// The `--json` object, without its time.
    pub fn to_json(&self) -> Value {
        // Every field is a string, a number, a bool or JSON already: this cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
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
            let said = match emitted {
                Emitted::Said(said) => said,
                Emitted::Call(call) => {
                    let mut call = Box::new(CallOut::of(model, call, at));
                    if hide {
                        call.arguments = None;
                        call.result = None;
                    }
                    Said::Call { call }
                }
            };
            let mut json = said.to_json();
            if let Some(object) = json.as_object_mut() {
                object.insert("at".into(), json!(at.to_rfc3339_nanos()));
            }
            out.push(Update { at, said, json });
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
                    Emitted::Said(Said::Discarded {
                        reason: reason.clone(),
                    }),
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
                    Frame::Lagged { missed } => Some(Said::Lagged { missed: *missed }),
                    Frame::Error { error, detail } => Some(Said::Error {
                        error: error.clone(),
                        detail: detail.clone(),
                    }),
                    _ => None,
                };
                let change = self.model.apply(frame, at, id);
                let missing = self.model.stream().id_gap_events - gaps_before;
                if missing > 0 {
                    emit(
                        &self.model,
                        Emitted::Said(Said::Gap {
                            missing,
                            at_id: id.clone(),
                        }),
                    );
                }
                if let Some(note) = note {
                    emit(&self.model, Emitted::Said(note));
                }
                if change == Change::Server {
                    if let Some(server) = self.model.servers().last() {
                        emit(&self.model, Emitted::Said(server_said(server)));
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
                        Emitted::Said(Said::Status(LinkSaid::DaemonChanged {
                            address: address.clone(),
                            instance: instance.clone(),
                            lost_calls: lost.len(),
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
                    Emitted::Said(Said::Status(LinkSaid::DaemonCounts {
                        spans_dropped: counts.spans_dropped,
                        export_error: counts.export_error.clone(),
                        otlp_refused: counts.otlp_refused,
                        otlp_strangers: counts.otlp_strangers,
                    })),
                );
            }
            SourceEvent::Status(status) => {
                let possible_loss = self.dropped;
                let said = match status {
                    LinkStatus::Connecting { attempt } => {
                        LinkSaid::Connecting { attempt: *attempt }
                    }
                    LinkStatus::Connected {
                        transport,
                        session_id,
                        resumed,
                    } => LinkSaid::Connected {
                        transport: transport.as_str().to_owned(),
                        session_id: session_id.clone(),
                        resumed: *resumed,
                        possible_loss: possible_loss && !resumed,
                    },
                    LinkStatus::Disconnected { reason, retry_in } => LinkSaid::Disconnected {
                        reason: reason.clone(),
                        retry_in_s: round3(retry_in.as_secs_f64()),
                    },
                    LinkStatus::Stopped(stop) => LinkSaid::Stopped {
                        reason: stop.message(),
                    },
                    LinkStatus::Daemon { .. } | LinkStatus::DaemonCounts(_) => return,
                    LinkStatus::Waiting { reason } => LinkSaid::Waiting {
                        reason: reason.clone(),
                    },
                };
                let connection = self.connection_of(status);
                self.model.set_connection(connection, at);
                emit(&self.model, Emitted::Said(Said::Status(said)));
            }
        }
    }
}

/// An update on its way out: a call (written from the model) or anything else.
pub(crate) enum Emitted<'a> {
    Said(Said),
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
    serde_json::to_value(CallOut::of(model, call, now)).unwrap_or(Value::Null)
}

/// A `server` update: what a session's server said of itself.
pub fn server_said(server: &crate::model::Server) -> Said {
    Said::Server {
        server: Box::new(server.info.clone()),
        session: server.session.clone(),
        session_label: server.session_label.clone(),
    }
}

/// [`server_said`] as `--json` writes it.
pub fn server_json(server: &crate::model::Server) -> serde_json::Value {
    server_said(server).to_json()
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
