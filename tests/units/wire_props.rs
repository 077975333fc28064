//! The fast flat-object path must decode exactly as the general serde path does.

use crate::common;

use common::cases;
use mcptop::wire::{decode_event, decode_event_general};
use proptest::prelude::*;

fn key() -> impl Strategy<Value = String> {
    // Every key the decoder knows, and near misses of them (same length, same first eight
    // bytes, or a prefix), unknown keys and an escaped known one.
    let known: Vec<String> = mcptop::wire::field_names().map(str::to_owned).collect();
    let near = [
        "other",
        "timestamq",
        "session_ix",
        "session_labex",
        "duration_mx",
        "progress_requestex",
        "progressx",
        "tokens",
        "toke",
        "t\\u006fken",
        "argument",
        "argumentz",
        "traceparenx",
    ];
    prop_oneof![
        3 => proptest::sample::select(known),
        1 => proptest::sample::select(near.map(str::to_owned).to_vec()),
    ]
    .prop_map(|k| format!("\"{k}\""))
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "-?(0|[1-9][0-9]{0,20})(\\.[0-9]{1,6})?([eE][+-]?[0-9]{1,3})?",
        Just("01".to_string()),
        Just("1.".to_string()),
        Just("-".to_string()),
        Just("+1".to_string()),
        Just(".5".to_string()),
        Just("1e".to_string()),
        Just("18446744073709551616".to_string()),
        "\"[a-z :→é]{0,12}\"",
        Just(r#""with \"escape\" and \\ and \u00e9""#.to_string()),
        Just("\"bad \\x escape\"".to_string()),
        Just("\"ctl \u{1} char\"".to_string()),
        Just("\"2026-04-17T10:20:33.123456789+00:00\"".to_string()),
        Just("\"2026-04-17T10:20:33Z\"".to_string()),
        Just("\"started\"".to_string()),
        Just("\"failed\"".to_string()),
        Just("\"progress\"".to_string()),
        Just("true".to_string()),
        Just("false".to_string()),
        Just("null".to_string()),
        Just("nul".to_string()),
        Just("{\"progress\":1}".to_string()),
        Just("[1,2]".to_string()),
    ]
}

fn object() -> impl Strategy<Value = String> {
    (
        prop::collection::vec((key(), value(), "[ \t\n]{0,2}"), 0..8),
        prop_oneof![Just(""), Just(" "), Just(" x"), Just(","), Just("}")],
    )
        .prop_map(|(pairs, tail)| {
            let body: Vec<String> = pairs
                .into_iter()
                .map(|(k, v, ws)| format!("{ws}{k}{ws}:{ws}{v}{ws}"))
                .collect();
            format!("{{{}}}{tail}", body.join(","))
        })
}

/// Construct's ProgressEvent as Construct writes it (what the decoder reads on a straight
/// path), its six values from the set above, and now and then one byte put in anywhere.
fn progress_event() -> impl Strategy<Value = String> {
    let insert = prop_oneof![
        Just(' '),
        Just(','),
        Just('"'),
        Just('}'),
        Just('\\'),
        Just('x'),
        Just('1'),
    ];
    // Mostly a value of the field's own kind, now and then anything.
    let number = || {
        prop_oneof![
            4 => "-?(0|[1-9][0-9]{0,17})(\\.[0-9]{1,6})?([eE][+-]?[0-9]{1,3})?",
            1 => Just("null".to_string()),
            1 => value(),
        ]
    };
    let text = || {
        prop_oneof![
            4 => "\"[a-z :→é_0-9]{0,30}\"",
            1 => Just("null".to_string()),
            1 => value(),
        ]
    };
    let token = prop_oneof![
        4 => "(0|[1-9][0-9]{0,6})",
        2 => "\"[a-z0-9-]{1,8}\"",
        1 => value(),
    ];
    let stamp = prop_oneof![
        4 => Just("\"2026-04-17T10:20:33.123456789+00:00\"".to_string()),
        1 => value(),
    ];
    (
        (token, number(), number(), text(), text(), stamp)
            .prop_map(|(a, b, c, d, e, f)| vec![a, b, c, d, e, f]),
        prop_oneof![
            6 => Just(""),
            1 => Just(" "),
            1 => Just(" x"),
            1 => Just(","),
            1 => Just("}"),
            1 => Just("\n"),
        ],
        prop_oneof![3 => Just(None), 1 => (0usize..400, insert).prop_map(Some)],
    )
        .prop_map(|(values, tail, insert)| {
            let keys = ["token", "progress", "total", "message", "tool", "timestamp"];
            let body: Vec<String> = keys
                .iter()
                .zip(&values)
                .map(|(k, v)| format!("\"{k}\":{v}"))
                .collect();
            let mut json = format!("{{{}}}{tail}", body.join(","));
            if let Some((at, c)) = insert {
                let at = at % (json.len() + 1);
                if json.is_char_boundary(at) {
                    json.insert(at, c);
                }
            }
            json
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(4000), ..ProptestConfig::default() })]

    #[test]
    fn fast_and_general_paths_agree(
        json in object(),
        event in prop_oneof![Just("message"), Just("call"), Just("lagged"), Just("connected")],
    ) {
        prop_assert_eq!(decode_event(event, &json, "7"), decode_event_general(event, &json, "7"));
    }

    #[test]
    fn the_straight_path_for_construct_agrees_with_the_general_one(json in progress_event()) {
        prop_assert_eq!(decode_event("message", &json, "7"), decode_event_general("message", &json, "7"));
    }
}

#[test]
fn real_frames_agree() {
    for json in [
        r#"{"token":7,"progress":1,"total":2,"message":"notion: sending request","tool":"notion","timestamp":"2026-04-17T10:20:33.123456789+00:00"}"#,
        r#"{"detail":"daemon responded 401 Unauthorized","error":"daemon-unreachable"}"#,
        r#"{"token":"a","tool":"web_fetch","state":"finished","duration_ms":3000}"#,
        r#"{"missed": 37}"#,
        r#"{ "token" : 1 , "progress" : 2.5e0 }  "#,
        r#"{"progress":1,"progress":2}"#,
        r#"{"duration_ms":0.1e310}"#,
        r#"{"ra\m\\\"#,
        r#"{"token":1,"progress":1e400}"#,
        r#"{"token":1,"progress":-1e400}"#,
        r#"{"token":7,"progress":1,"total":null,"message":null,"tool":"notion","timestamp":null}"#,
        r#"{"token":"t-1","progress":37.5,"total":100.0,"message":"a \"quote\"","tool":"x","timestamp":"2026-04-17T10:20:33Z"}"#,
        r#"{"token":7,"progress":1,"total":2,"message":"m","tool":"t","timestamp":"2026-04-17T10:20:33Z"} "#,
        r#"{"token":7,"progress":1,"total":2,"message":"m","tool":"t","timestamp":"2026-04-17T10:20:33Z"}x"#,
        r#"{"token":7,"progress":1,"total":2,"message":"m","tool":"t","timestamp":"2026-04-17T10:20:33Z","tool":"u"}"#,
        r#"{"token":7,"progress":"1","total":2,"message":"m","tool":"t","timestamp":"2026-04-17T10:20:33Z"}"#,
        r#"{"token":7,"progress":1,"total":2,"message":"m","tool":7,"timestamp":"2026-04-17T10:20:33Z"}"#,
        r#"{"token":7,"progress":1,"total":2,"message":{"a":1},"tool":"t","timestamp":"2026-04-17T10:20:33Z"}"#,
        r#"{"token":7,"progress":1,"total":2,"message":"m","tool":"t","timestamp":"2026-04-17T10:20:33Z""#,
        r#"{"token":7,"progress":1,"total":2,"message":"m","tool":"t"}"#,
    ] {
        assert_eq!(
            decode_event("message", json, ""),
            decode_event_general("message", json, ""),
            "{json}"
        );
    }
}

/// Any extras a call event carries: one line per field of `CallExtras`.
fn extras() -> impl Strategy<Value = mcptop::wire::CallExtras> {
    use mcptop::wire::{CallExtras, Origin, Token, Wait};
    let token = prop_oneof![
        any::<i64>().prop_map(|n| Token::Int(n.into())),
        "\\PC{0,12}".prop_map(Token::Str),
    ];
    (
        proptest::option::of(any::<bool>()),
        proptest::option::of(token),
        proptest::option::of("\\PC{1,40}"),
        proptest::option::of(prop_oneof![Just(Wait::Input), Just(Wait::Permission)]),
        proptest::option::of(prop_oneof![
            Just(Origin::Hook),
            Just(Origin::Otel),
            Just(Origin::Model)
        ]),
        proptest::option::of("00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]"),
        proptest::option::of("\\PC{1,20}"),
        proptest::option::of("[a-z0-9-]{1,20}"),
    )
        .prop_map(
            |(
                progress_requested,
                progress_token,
                task,
                waiting_for,
                origin,
                traceparent,
                subagent,
                subagent_id,
            )| {
                CallExtras {
                    progress_requested,
                    progress_token,
                    task,
                    waiting_for,
                    origin,
                    traceparent,
                    subagent,
                    subagent_id,
                }
            },
        )
}

/// Any call event a producer (the daemon, a tap, the hook) writes with the schema's type.
fn call_event() -> impl Strategy<Value = mcptop::wire::schema::CallEvent<'static>> {
    use mcptop::time::Time;
    use mcptop::wire::schema::CallEvent;
    use mcptop::wire::CallState;
    use serde_json::{json, Value};
    let token = prop_oneof![
        any::<u32>().prop_map(|n| json!(n)),
        "[a-z0-9-]{1,12}".prop_map(|s| json!(s)),
    ];
    let text = "\\PC{1,40}";
    let state = prop_oneof![
        Just(CallState::Started),
        Just(CallState::Working),
        Just(CallState::Waiting),
        Just(CallState::Finished),
        Just(CallState::Failed),
        Just(CallState::Cancelled),
        Just(CallState::Lost),
    ];
    let detail = prop_oneof![
        any::<i32>().prop_map(|n| json!({"n": n})),
        text.prop_map(|s| json!({"path": s, "flags": [1, 2]})),
        text.prop_map(Value::String),
    ];
    (
        (token.clone(), "[a-z_]{1,16}", state),
        (
            proptest::option::of(0i64..4_000_000_000_000_000_000),
            proptest::option::of(0u64..1_000_000_000_000),
            proptest::option::of(text),
            proptest::option::of(text),
        ),
        (
            extras(),
            proptest::option::of(detail),
            // A result is a summary object (schema::result_summary), never a bare value.
            proptest::option::of(("\\PC{0,40}", 0u64..1_000_000).prop_map(
                |(text, bytes)| json!({"bytes": bytes, "types": ["text"], "text": text}),
            )),
        ),
    )
        .prop_map(
            |(
                (token, tool, state),
                (stamp, duration_ms, error, message),
                (extras, arguments, result),
            )| {
                let mut event = CallEvent::new(token, tool, state);
                event.timestamp = stamp.map(Time::from_unix_nanos);
                event.duration_ms = duration_ms;
                event.error = error.map(Into::into);
                event.message = message.map(Into::into);
                event.extras = extras;
                event.arguments = arguments;
                event.result = result;
                event
            },
        )
}

fn token_of(value: &serde_json::Value) -> Option<mcptop::wire::Token> {
    use mcptop::wire::Token;
    match value {
        serde_json::Value::Number(n) => n.as_i64().map(|n| Token::Int(n.into())),
        serde_json::Value::String(s) => Some(Token::Str(s.clone())),
        _ => None,
    }
}

fn json_of(text: Option<&str>) -> Option<serde_json::Value> {
    text.map(|t| serde_json::from_str(t).unwrap_or(serde_json::Value::Null))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(2000), ..ProptestConfig::default() })]

    /// What a producer writes is what the decoder reads: every field of the schema's call
    /// event arrives in the frame, through the fast path and the general one.
    #[test]
    fn a_call_event_as_written_is_the_frame_read(event in call_event()) {
        use mcptop::wire::Frame;
        let json = serde_json::to_string(&event).unwrap();
        for (path, frame) in [
            ("fast", decode_event("call", &json, "")),
            ("general", decode_event_general("call", &json, "")),
        ] {
            let Frame::Call(frame) = frame else {
                return Err(TestCaseError::fail(format!("{path}: not a call frame: {frame:?} from {json}")));
            };
            prop_assert_eq!(frame.token, token_of(&event.token), "{} {}", path, json);
            prop_assert_eq!(frame.tool.as_deref(), Some(&*event.tool), "{} {}", path, json);
            prop_assert_eq!(frame.state, event.state, "{} {}", path, json);
            prop_assert_eq!(frame.timestamp, event.timestamp, "{} {}", path, json);
            prop_assert_eq!(frame.duration_ms, event.duration_ms.map(|d| d as f64), "{} {}", path, json);
            // The contract's one rule across fields: a message is what a call does (or,
            // finished well, what it did); on a failure it is the reason, when no error is
            // given.
            let failed = event.state.is_end() && event.state != mcptop::wire::CallState::Finished;
            let (error, message) = if failed {
                (event.error.as_deref().or(event.message.as_deref()), None)
            } else {
                (event.error.as_deref(), event.message.as_deref())
            };
            prop_assert_eq!(frame.error.as_deref(), error, "{} {}", path, json);
            prop_assert_eq!(frame.message.as_deref(), message, "{} {}", path, json);
            // Every extra, whatever it is: a field added to `CallExtras` is checked here.
            prop_assert_eq!(&frame.extras, &event.extras, "{} {}", path, json);
            prop_assert_eq!(json_of(frame.arguments.as_deref()), event.arguments.clone(), "{} {}", path, json);
            prop_assert_eq!(json_of(frame.result.as_deref()), event.result.clone(), "{} {}", path, json);
        }
    }
}
