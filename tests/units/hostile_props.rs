//! No value from outside can make the model, the line formats or the tap's observer panic:
//! random frames with extreme numbers, ids and strings (the fuzz targets `model` and
//! `tap_observer` do the same with coverage guidance).

use crate::common;

use std::time::Instant;

use mcptop::report::{plain_line, summary, Feed};
use mcptop::source::{SourceEvent, Timed};
use mcptop::tap::observe::{Direction, Observer, Pass};
use mcptop::time::Time;
use proptest::prelude::*;

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("-1e300".to_owned()),
        Just("1e308".to_owned()),
        Just("-0".to_owned()),
        Just("18446744073709551615".to_owned()),
        Just("170141183460469231731687303715884105728".to_owned()),
        Just("1e-320".to_owned()),
        (-1e6f64..1e6).prop_map(|v| v.to_string()),
        any::<i64>().prop_map(|v| v.to_string()),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("\\u001b]52;c;eA==\\u0007".to_owned()),
        Just("\\u202e\\u200d\\u009b".to_owned()),
        "[a-z]{0,12}",
        "\\PC{0,40}".prop_map(|s| s.replace(['"', '\\'], "")),
    ]
}

fn frame() -> impl Strategy<Value = (String, String, String)> {
    let fields = (number(), number(), number(), text(), text(), number());
    (0u8..6, fields, prop_oneof![Just(String::new()), number()]).prop_map(
        |(kind, (p, t, d, tool, message, tok), id)| {
            let (event_type, data) = match kind {
                0 => ("message", format!(r#"{{"token":{tok},"progress":{p},"total":{t},"tool":"{tool}","message":"{message}"}}"#)),
                1 => ("call", format!(r#"{{"token":{tok},"tool":"{tool}","state":"started"}}"#)),
                2 => ("call", format!(r#"{{"token":{tok},"tool":"{tool}","state":"failed","duration_ms":{d},"error":"{message}"}}"#)),
                3 => ("lagged", format!(r#"{{"missed":{p}}}"#)),
                4 => ("message", format!(r#"{{"jsonrpc":"2.0","method":"notifications/progress","params":{{"progressToken":"{tool}","progress":{p},"total":{t}}}}}"#)),
                _ => ("message", format!(r#"{{"error":"{tool}","detail":"{message}"}}"#)),
            };
            (event_type.to_owned(), data, id)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(common::cases(300)))]

    #[test]
    fn the_model_and_its_formats_take_anything(frames in prop::collection::vec(frame(), 1..40), step in 0i64..10_000_000_000) {
        let mut feed = Feed::default();
        let mut out = Vec::new();
        for (i, (event_type, data, id)) in frames.iter().enumerate() {
            let at = Time::from_unix_nanos(1_800_000_000_000_000_000i64.saturating_add(step.saturating_mul(i as i64)));
            let timed = Timed {
                at,
                event: SourceEvent::Event {
                    event_type: event_type.clone(),
                    data: data.clone(),
                    id: id.clone(),
                },
            };
            for update in feed.ingest(&timed) {
                let line = plain_line(&update);
                prop_assert!(!line.chars().any(mcptop::sanitize::is_unsafe), "{line:?}");
            }
            out.clear();
            feed.ingest_json_lines(&timed, &mut out);
        }
        for now in [Time::from_unix_nanos(0), Time::from_unix_nanos(i64::MAX)] {
            let table = summary(&feed.model, now);
            prop_assert!(!table.chars().any(|c| c != '\n' && mcptop::sanitize::is_unsafe(c)));
            let _ = feed.model.findings(now);
        }
    }

    #[test]
    fn the_observer_takes_anything(frames in prop::collection::vec(frame(), 1..30)) {
        let mut observer = Observer::new(true);
        let mut items = Vec::new();
        for (i, (_, data, id)) in frames.iter().enumerate() {
            // Requests and answers of the same ids, in both directions.
            let message = if i % 3 == 0 {
                format!(r#"{{"jsonrpc":"2.0","id":{},"method":"tools/call","params":{{"name":"x"}}}}"#, if id.is_empty() { "1" } else { id })
            } else {
                data.clone()
            };
            let direction = if i % 2 == 0 { Direction::ToServer } else { Direction::ToClient };
            let verdict = observer.observe(direction, "", &message, (Instant::now(), Time::now()), &mut items);
            if let Pass::Replace(new) = verdict {
                prop_assert!(serde_json::from_str::<serde_json::Value>(&new).is_ok(), "{new}");
            }
        }
        observer.abandon_all("end", (Instant::now(), Time::now()), &mut items);
    }
}
