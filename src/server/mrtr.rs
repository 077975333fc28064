//! MCP 2026-07-28 multi-round-trip requests (SEP-2322): a `tools/call` (or `prompts/get`)
//! that needs the client's input answers with an `InputRequiredResult` (`resultType:
//! "input_required"`, `inputRequests` keyed by the server, and a `requestState`); the client
//! asks again with `inputResponses` under the same keys and the `requestState` echoed.
//!
//! The server keeps nothing between rounds: the state is the answers gathered so far, the
//! round, and what shows the call on the daemon's events stream (its token and start), all
//! signed with HMAC-SHA256 under a key the daemon draws at start. A state that fails its
//! check, names another tool, is too old or too big is refused. The tool runs again from
//! its start each round; a question already answered is answered from the state.

use std::time::Duration;

use base64::Engine;
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::time::Time;

type Hmac = hmac::Hmac<sha2::Sha256>;

/// The longest `requestState` read or written (the answers it carries come from the
/// client, so they are bounded here).
pub const MAX_STATE: usize = 64 * 1024;
/// How long a state stays good: a person may take a while to answer.
const STATE_LIFE: Duration = Duration::from_secs(24 * 3600);

/// The daemon's key for request states.
pub struct Rounds {
    key: [u8; 32],
}

impl Default for Rounds {
    fn default() -> Rounds {
        // Two version-4 UUIDs: 244 bits from the system's random source.
        let mut key = [0u8; 32];
        key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        Rounds { key }
    }
}

/// What a request state carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundState {
    /// The tool (or prompt) it belongs to.
    pub name: String,
    /// The round the next request is (2 after the first answer).
    pub round: u32,
    /// When the first round started (Unix nanoseconds).
    pub started: i64,
    /// The call's token on the daemon's events stream.
    pub token: Value,
    /// The answers gathered so far, by key.
    pub answers: Map<String, Value>,
}

impl Rounds {
    fn mac(&self) -> Hmac {
        // HMAC takes a key of any length.
        <Hmac as KeyInit>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!())
    }

    /// The state as the client carries it (`payload.signature`, both Base64url); `None`
    /// when it would be longer than [`MAX_STATE`].
    pub fn seal(&self, state: &RoundState) -> Option<String> {
        let engine = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let payload = serde_json::to_vec(state).ok()?;
        let payload = engine.encode(payload);
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        let signature = engine.encode(mac.finalize().into_bytes());
        let sealed = format!("{payload}.{signature}");
        (sealed.len() <= MAX_STATE).then_some(sealed)
    }

    /// Reads a state the client echoed for `name`; why not, in words, when it cannot be
    /// trusted.
    pub fn open(&self, sealed: &str, name: &str) -> Result<RoundState, String> {
        let engine = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
        if sealed.len() > MAX_STATE {
            return Err("requestState is longer than any this server issues".into());
        }
        let failed = || {
            "requestState failed its integrity check (it was not issued by this server, or was changed)".to_owned()
        };
        let (payload, signature) = sealed.split_once('.').ok_or_else(failed)?;
        let signature = engine.decode(signature).map_err(|_| failed())?;
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature).map_err(|_| failed())?;
        let bytes = engine.decode(payload).map_err(|_| failed())?;
        let state: RoundState = serde_json::from_slice(&bytes).map_err(|_| failed())?;
        if state.name != name {
            return Err(format!(
                "requestState belongs to {:?}, not to {name:?}",
                state.name
            ));
        }
        let age = Time::now().secs_since(Time::from_unix_nanos(state.started));
        if age > STATE_LIFE.as_secs_f64() {
            return Err("requestState has expired: call again without it".into());
        }
        Ok(state)
    }
}

/// What one request of a multi-round call brings to its tool: the client's capabilities
/// and the answers known (the state's and this request's), and, from the second round on,
/// the call it continues.
pub struct Mrtr {
    pub capabilities: Value,
    known: Map<String, Value>,
    pub round: u32,
    /// The call's token and start, from the state (the second round on).
    pub continues: Option<(Value, Time)>,
    /// The answers the tool read this round (the next state carries them).
    used: std::sync::Mutex<Map<String, Value>>,
    /// Whether this request may answer `input_required` (a plain call); a task asks
    /// through `tasks/update` instead.
    pub ephemeral: bool,
    rounds: std::sync::Arc<Rounds>,
}

impl Mrtr {
    /// A request's `inputResponses` and `requestState` (opened already).
    pub fn new(
        rounds: std::sync::Arc<Rounds>,
        capabilities: Value,
        responses: Option<&Map<String, Value>>,
        state: Option<RoundState>,
    ) -> Mrtr {
        let (mut known, round, continues) = match state {
            Some(s) => (
                s.answers,
                s.round,
                Some((s.token, Time::from_unix_nanos(s.started))),
            ),
            None => (Map::new(), 1, None),
        };
        if let Some(responses) = responses {
            known.extend(responses.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        Mrtr {
            capabilities,
            known,
            round,
            continues,
            used: std::sync::Mutex::default(),
            ephemeral: true,
            rounds,
        }
    }

    /// Whether the client gave an answer under `key` (of any shape).
    pub fn knows(&self, key: &str) -> bool {
        self.known.contains_key(key)
    }

    /// Whether the client declared what `method` needs.
    pub fn can(&self, method: &str) -> bool {
        let capability = match method {
            "elicitation/create" => "elicitation",
            "sampling/createMessage" => "sampling",
            "roots/list" => "roots",
            _ => return false,
        };
        self.capabilities.get(capability).is_some()
    }

    /// The answer to `request` under `key`, when the client gave one of the right shape.
    pub fn answer(&self, key: &str, request: &Value) -> Option<Value> {
        let answer = self.known.get(key)?;
        if !fits(request["method"].as_str().unwrap_or(""), answer) {
            return None;
        }
        self.used
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key.to_owned(), answer.clone());
        Some(answer.clone())
    }

    /// The next round's `requestState`; `None` when the answers would make it too big.
    pub fn seal_next(&self, name: &str, token: Value, started: Time) -> Option<String> {
        self.rounds.seal(&self.next_state(name, token, started))
    }

    /// The state of the next round.
    pub fn next_state(&self, name: &str, token: Value, started: Time) -> RoundState {
        RoundState {
            name: name.to_owned(),
            round: self.round.saturating_add(1),
            started: started.unix_nanos(),
            token,
            answers: self
                .used
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone(),
        }
    }
}

/// Whether `answer` has the shape of a result of `method` (an invalid one is asked again).
fn fits(method: &str, answer: &Value) -> bool {
    match method {
        "elicitation/create" => matches!(
            answer.get("action").and_then(Value::as_str),
            Some("accept" | "decline" | "cancel")
        ),
        "sampling/createMessage" => {
            answer.get("content").is_some_and(Value::is_object)
                || answer.get("content").is_some_and(Value::is_array)
        }
        "roots/list" => answer.get("roots").is_some_and(Value::is_array),
        _ => answer.is_object(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn state() -> RoundState {
        RoundState {
            name: "t".into(),
            round: 2,
            started: Time::now().unix_nanos(),
            token: json!(7),
            answers: json!({ "k": { "action": "accept" } })
                .as_object()
                .cloned()
                .unwrap_or_default(),
        }
    }

    #[test]
    fn a_state_opens_only_as_it_was_sealed_by_the_same_daemon() {
        let rounds = Rounds::default();
        let state = state();
        let sealed = rounds.seal(&state).expect("small enough");
        assert_eq!(rounds.open(&sealed, "t"), Ok(state.clone()));
        let err = rounds.open(&format!("{sealed}-TAMPERED"), "t").unwrap_err();
        assert!(err.contains("integrity"), "{err}");
        // Another payload under the old signature.
        let (_, signature) = sealed.split_once('.').unwrap();
        let mut other = state.clone();
        other
            .answers
            .insert("k".into(), json!({ "action": "decline" }));
        let forged = rounds.seal(&other).unwrap();
        let (payload, _) = forged.split_once('.').unwrap();
        assert!(rounds.open(&format!("{payload}.{signature}"), "t").is_err());
        // Another daemon's key.
        assert!(Rounds::default().open(&sealed, "t").is_err());
        // Another tool's state.
        assert!(rounds
            .open(&sealed, "u")
            .unwrap_err()
            .contains("belongs to"));
    }

    #[test]
    fn a_state_too_big_is_neither_issued_nor_read() {
        let rounds = Rounds::default();
        let mut big = state();
        big.answers.insert(
            "k".into(),
            json!({ "action": "accept", "content": { "x": "y".repeat(MAX_STATE) } }),
        );
        assert_eq!(rounds.seal(&big), None);
        assert!(rounds.open(&"a".repeat(MAX_STATE + 1), "t").is_err());
    }

    #[test]
    fn answers_of_the_wrong_shape_are_not_answers() {
        let responses = json!({
            "e": 12345,
            "s": { "role": "assistant", "content": { "type": "text", "text": "hi" } },
            "r": { "roots": [] },
        });
        let rounds = std::sync::Arc::new(Rounds::default());
        let m = Mrtr::new(
            rounds,
            json!({ "sampling": {} }),
            responses.as_object(),
            None,
        );
        let elicit = json!({ "method": "elicitation/create" });
        assert_eq!(m.answer("e", &elicit), None);
        assert!(m
            .answer("s", &json!({ "method": "sampling/createMessage" }))
            .is_some());
        assert!(m.answer("r", &json!({ "method": "roots/list" })).is_some());
        assert_eq!(m.answer("missing", &elicit), None);
        assert!(m.can("sampling/createMessage"));
        assert!(!m.can("elicitation/create"));
        let next = m.next_state("t", json!(1), Time::now());
        assert_eq!(next.round, 2);
        assert_eq!(next.answers.len(), 2, "only the answers read travel on");
    }
}
