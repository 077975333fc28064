//! `tail --json` writes call updates without building a `serde_json::Value`; this checks
//! that every line is byte for byte what the `Value` path gives, over every kind of update.

use crate::common;

use std::time::Duration;

use mcptop::report::Feed;
use mcptop::source::{LinkStatus, SourceEvent, Stop, Timed, Transport};
use mcptop::time::Time;
use proptest::prelude::*;

fn at(ms: i64) -> Time {
    Time::from_unix_nanos(1_800_000_000_000_000_000 + ms * 1_000_000)
}

fn event(ms: i64, event_type: &str, id: &str, data: String) -> Timed {
    Timed {
        at: at(ms),
        event: SourceEvent::Event {
            event_type: event_type.into(),
            data,
            id: id.into(),
        },
    }
}

/// Both paths over the same events: the same lines, and the same count of call updates.
fn same_lines(events: &[Timed]) -> Result<(), TestCaseError> {
    let (mut by_value, mut direct) = (Feed::default(), Feed::default());
    let mut out = Vec::new();
    for timed in events {
        let expected: Vec<String> = by_value
            .ingest(timed)
            .iter()
            .map(|u| mcptop::sanitize::json_string(&u.json))
            .collect();
        let calls_expected = expected
            .iter()
            .filter(|l| l.contains("\"type\":\"call\""))
            .count();
        out.clear();
        let calls = direct.ingest_json_lines(timed, &mut out);
        let text = String::from_utf8(out.clone()).unwrap();
        let got: Vec<&str> = text.lines().collect();
        prop_assert_eq!(got, expected.iter().map(String::as_str).collect::<Vec<_>>());
        prop_assert_eq!(calls as usize, calls_expected);
    }
    Ok(())
}

#[test]
fn every_kind_of_update_is_written_as_the_value_path_writes_it() {
    let big = "170141183460469231731687303715884105727"; // beyond i64: a string token
    let events = vec![
        Timed {
            at: at(0),
            event: SourceEvent::Status(LinkStatus::Connecting { attempt: 1 }),
        },
        Timed {
            at: at(1),
            event: SourceEvent::Status(LinkStatus::Connected {
                transport: Transport::Sse,
                session_id: "s".into(),
                resumed: false,
            }),
        },
        event(10, "message", "1", r#"{"token":1,"progress":1,"total":3,"message":"a \"quoted\" é\u0001 \u009b\u202e\u200d","tool":"t"}"#.into()),
        event(20, "message", "2", r#"{"token":1,"progress":2.5,"total":3,"tool":"t"}"#.into()),
        event(30, "message", "5", format!(r#"{{"token":{big},"progress":1}}"#)),
        event(40, "message", "6", r#"{"token":"abc","progress":7}"#.into()),
        event(50, "call", "7", r#"{"token":9,"tool":"search","state":"started","progress_requested":false,"session":"s2","session_label":"agent B"}"#.into()),
        event(60, "call", "8", r#"{"token":9,"tool":"search","state":"failed","error":"boom","session":"s2","session_label":"agent B"}"#.into()),
        // A call with its details: arguments (the first key of the call's object when
        // present), a task, a wait, a result.
        event(62, "call", "8a", r#"{"token":"e-1","tool":"edit","state":"started","arguments":{"path":"a.rs","n":[1,2.5],"q":"\"x\""},"task":"task-7"}"#.into()),
        event(64, "call", "8b", r#"{"token":"e-1","tool":"edit","state":"waiting","waiting_for":"permission"}"#.into()),
        event(66, "call", "8c", r#"{"token":"e-1","tool":"edit","state":"finished","result":{"ok":true,"lines":[1]}}"#.into()),
        // An agent's calls: a subagent's, and an MCP call its server's tap shows too.
        event(67, "call", "8d", r#"{"token":"t1","tool":"Grep","state":"started","origin":"hook","subagent":"Explore","subagent_id":"a\"1","session":"s3","session_label":"claude-code · p"}"#.into()),
        event(68, "call", "8e", r#"{"token":"t2","tool":"mcp__docs__fetch","state":"started","origin":"hook","session":"s3","session_label":"claude-code · p"}"#.into()),
        event(69, "call", "8f", r#"{"token":4,"tool":"fetch","state":"started","session":"s4","session_label":"docs"}"#.into()),
        event(69, "call", "8g", r#"{"token":"t2","tool":"mcp__docs__fetch","state":"finished","origin":"hook","session":"s3","session_label":"claude-code · p"}"#.into()),
        event(70, "lagged", "8", r#"{"missed":3}"#.into()),
        event(80, "message", "9", r#"{"error":"daemon-unreachable","detail":"x"}"#.into()),
        event(90, "message", "10", r#"{"token":1,"progress":3,"total":3,"tool":"t"}"#.into()),
        event(95, "message", "11", r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"p","progress":0.1}}"#.into()),
        Timed {
            at: at(100),
            event: SourceEvent::Discarded {
                reason: "an event with a line over 16 MiB".into(),
            },
        },
        Timed {
            at: at(110),
            event: SourceEvent::Status(LinkStatus::Disconnected {
                reason: "the server ended the stream".into(),
                retry_in: Duration::from_millis(1250),
            }),
        },
        Timed {
            at: at(120),
            event: SourceEvent::Status(LinkStatus::Stopped(Stop::SessionGone)),
        },
    ];
    same_lines(&events).unwrap();
    // The details are there to compare (not dropped on both paths alike).
    let mut feed = Feed::default();
    let lines: Vec<String> = events
        .iter()
        .flat_map(|timed| feed.ingest(timed))
        .map(|update| mcptop::sanitize::json_string(&update.json))
        .collect();
    for key in [
        "\"arguments\":{",
        "\"task\":\"task-7\"",
        "\"waiting_for\":\"permission\"",
        "\"result\":{",
        "\"progress_requested\":false",
    ] {
        assert!(lines.iter().any(|l| l.contains(key)), "{key} in {lines:#?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(common::cases(200)))]

    #[test]
    fn random_progress_streams_give_the_same_lines(
        steps in prop::collection::vec(
            (0u8..4, 0i64..5, -1e6f64..1e6, prop::option::of(0.0f64..1e6), "[ -~é☃\"\\\\]{0,12}"),
            1..40,
        ),
    ) {
        let mut events = Vec::new();
        for (i, (kind, token, progress, total, message)) in steps.into_iter().enumerate() {
            let total = total.map(|t| format!(",\"total\":{t}")).unwrap_or_default();
            let message = serde_json::to_string(&message).unwrap();
            let data = match kind {
                0 => format!(r#"{{"token":{token},"progress":{progress}{total},"message":{message},"tool":"t{token}"}}"#),
                1 => format!(r#"{{"token":"s{token}","progress":{progress}}}"#),
                2 => format!(r#"{{"token":{token},"tool":"t{token}","state":"finished","session":"x","session_label":{message}}}"#),
                _ => format!(r#"{{"token":{token},"tool":"t{token}","state":"started","progress_requested":false}}"#),
            };
            let event_type = if kind >= 2 { "call" } else { "message" };
            events.push(event(i as i64 * 37, event_type, &(i * 2 + 1).to_string(), data));
        }
        same_lines(&events)?;
    }
}
