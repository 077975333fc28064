//! NDJSON fixtures for the model: one input per line, each with the time it happened.
//!
//! `{"at": T, "data": D, "event"?: E, "id"?: I}` — an SSE event (D a string, or an object
//!   that is serialised); decoded by the real frame decoder.
//! `{"at": T, "keepalive": true}` — a keep-alive comment.
//! `{"at": T, "status": "connecting" | "connected" | "resumed" | "disconnected"}`.

use mcptop::model::{Connection, Model, ModelConfig};
use mcptop::time::Time;
use mcptop::wire::decode_event;
use serde_json::Value;

pub fn at(s: &str) -> Time {
    Time::parse_rfc3339(s).unwrap_or_else(|| panic!("bad time {s}"))
}

pub fn load(name: &str) -> Vec<Value> {
    let path = format!("{}/tests/fixtures/model/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{path}: {e}: {l}")))
        .collect()
}

/// Feeds every line up to and including time `until` (all when none).
pub fn run(name: &str, config: ModelConfig, until: Option<Time>) -> Model {
    let mut model = Model::new(config);
    for line in load(name) {
        let t = at(line["at"].as_str().expect("at"));
        if until.is_some_and(|u| t > u) {
            break;
        }
        apply_line(&mut model, &line, t);
    }
    model
}

pub fn apply_line(model: &mut Model, line: &Value, t: Time) {
    if let Some(status) = line["status"].as_str() {
        let connection = match status {
            "connecting" => Connection::Connecting,
            "connected" => Connection::Connected { resumed: false },
            "resumed" => Connection::Connected { resumed: true },
            "disconnected" => Connection::Disconnected {
                reason: "connection closed".into(),
            },
            other => panic!("unknown status {other}"),
        };
        model.set_connection(connection, t);
    } else if line["keepalive"].as_bool() == Some(true) {
        model.keepalive(t);
    } else {
        let data = match &line["data"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let event = line["event"].as_str().unwrap_or("message");
        let id = line["id"].as_str().unwrap_or("");
        model.apply(decode_event(event, &data, id), t, id);
    }
}
