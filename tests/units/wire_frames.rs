//! Frame decoding on the shapes seen on the wire, captured ones first.

use chrono::{TimeZone, Utc};
use mcptop::time::Time;
use mcptop::wire::{
    decode_event, decode_text, parse_timestamp, CallState, Frame, ProgressFrame, ResponseFrame,
    Token, Unknown,
};

fn progress(frame: Frame) -> ProgressFrame {
    match frame {
        Frame::Progress(p) => p,
        other => panic!("expected progress, got {other:?}"),
    }
}

#[test]
fn construct_progress_event() {
    let p = progress(decode_event(
        "message",
        r#"{"token":7,"progress":1,"total":2,"message":"notion: sending request","tool":"notion","timestamp":"2026-04-17T10:20:33.123456789+00:00"}"#,
        "",
    ));
    assert_eq!(p.token, Some(Token::Int(7)));
    assert_eq!(p.progress, 1.0);
    assert_eq!(p.total, Some(2.0));
    assert_eq!(p.message.as_deref(), Some("notion: sending request"));
    assert_eq!(p.tool.as_deref(), Some("notion"));
    let ts = p.timestamp.expect("timestamp");
    assert_eq!(ts.unix_nanos() % 1_000_000_000, 123_456_789);
    assert_eq!(ts.to_string(), "2026-04-17T10:20:33.123456789Z");
}

#[test]
fn progress_and_total_may_be_integers_or_floats_and_optional_fields_null() {
    let p = progress(decode_text(
        r#"{"token":0,"progress":2.5,"total":null,"message":null,"tool":null,"timestamp":null}"#,
    ));
    assert_eq!(p.progress, 2.5);
    assert_eq!(
        (p.total, p.message, p.tool, p.timestamp),
        (None, None, None, None)
    );
    let p = progress(decode_text(r#"{"token":1,"progress":5.0,"total":5}"#));
    assert_eq!((p.progress, p.total), (5.0, Some(5.0)));
}

#[test]
fn tokens_beyond_i64_negative_and_strings_keep_their_identity() {
    let max = progress(decode_text(
        r#"{"token":18446744073709551615,"progress":1}"#,
    ));
    assert_eq!(max.token, Some(Token::Int(18_446_744_073_709_551_615)));
    let neg = progress(decode_text(r#"{"token":-3,"progress":1}"#));
    assert_eq!(neg.token, Some(Token::Int(-3)));
    let float = progress(decode_text(r#"{"token":7.5,"progress":1}"#));
    assert_eq!(float.token, Some(Token::Str("7.5".into())));
    assert_eq!(float.token.map(|t| t.to_string()).as_deref(), Some("7.5"));
}

#[test]
fn json_rpc_progress_with_string_and_integer_tokens() {
    let p = progress(decode_event(
        "message",
        r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"abc-1","progress":50,"total":100,"message":"half"}}"#,
        "evt-3",
    ));
    assert_eq!(p.token, Some(Token::Str("abc-1".into())));
    assert_eq!((p.progress, p.total), (50.0, Some(100.0)));
    assert_eq!(p.message.as_deref(), Some("half"));
    let p = progress(decode_text(
        r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":777,"progress":0.25}}"#,
    ));
    assert_eq!(p.token, Some(Token::Int(777)));
    assert_eq!((p.total, p.message), (None, None));
}

#[test]
fn json_rpc_responses_end_requests_and_carry_errors() {
    // Captured from Construct: a tool result with isError.
    let f = decode_text(
        r#"{"id":3,"jsonrpc":"2.0","result":{"content":[{"text":"error sending request for url (https://api.notion.com/v1/search)","type":"text"}],"isError":true}}"#,
    );
    assert_eq!(
        f,
        Frame::Response(ResponseFrame {
            id: Some(Token::Int(3)),
            error: Some("error sending request for url (https://api.notion.com/v1/search)".into()),
        })
    );
    let ok = decode_text(r#"{"jsonrpc":"2.0","id":"r1","result":{"content":[]}}"#);
    assert_eq!(
        ok,
        Frame::Response(ResponseFrame {
            id: Some(Token::Str("r1".into())),
            error: None
        })
    );
    let err = decode_text(
        r#"{"jsonrpc":"2.0","id":9,"error":{"code":-32601,"message":"Method not found"}}"#,
    );
    assert_eq!(
        err,
        Frame::Response(ResponseFrame {
            id: Some(Token::Int(9)),
            error: Some("Method not found".into())
        })
    );
}

#[test]
fn cancellation_notifications() {
    assert_eq!(
        decode_text(
            r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":12,"reason":"user"}}"#
        ),
        Frame::Cancelled {
            request_id: Some(Token::Int(12)),
            reason: Some("user".into())
        }
    );
}

#[test]
fn other_json_rpc_methods_are_named_unknowns() {
    assert_eq!(
        decode_text(
            r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"x"}}"#
        ),
        Frame::Unknown(Unknown::OtherMethod("notifications/message".into()))
    );
}

#[test]
fn lagged_and_connected_events() {
    assert_eq!(
        decode_event("lagged", r#"{"missed": 37}"#, "12"),
        Frame::Lagged { missed: 37 }
    );
    assert_eq!(
        decode_event("lagged", r#"{}"#, ""),
        Frame::Unknown(Unknown::Shape)
    );
    assert_eq!(
        decode_event("connected", r#"{"session_id":"4b16"}"#, ""),
        Frame::Connected {
            session_id: Some("4b16".into())
        }
    );
}

#[test]
fn call_lifecycle_extension() {
    let f = decode_event(
        "call",
        r#"{"token":4,"tool":"run_tests","state":"failed","timestamp":"2026-04-17T10:20:33Z","error":"exit 1","duration_ms":1520}"#,
        "8",
    );
    match f {
        Frame::Call(c) => {
            assert_eq!(c.state, CallState::Failed);
            assert_eq!(c.token, Some(Token::Int(4)));
            assert_eq!(c.tool.as_deref(), Some("run_tests"));
            assert_eq!(c.error.as_deref(), Some("exit 1"));
            assert_eq!(c.duration_ms, Some(1520.0));
            assert_eq!(
                c.timestamp,
                Some(Time::from(
                    Utc.with_ymd_and_hms(2026, 4, 17, 10, 20, 33).unwrap()
                ))
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        decode_event("call", r#"{"token":4,"state":"exploded"}"#, ""),
        Frame::Unknown(Unknown::Shape)
    );
}

#[test]
fn the_gateway_error_frame() {
    // Captured: the gateway's frame before it closes the socket.
    assert_eq!(
        decode_text(
            r#"{"detail":"daemon responded 401 Unauthorized","error":"daemon-unreachable"}"#
        ),
        Frame::Error {
            error: "daemon-unreachable".into(),
            detail: Some("daemon responded 401 Unauthorized".into()),
        }
    );
}

#[test]
fn priming_events_and_empty_data() {
    assert_eq!(decode_event("message", "", "evt-1"), Frame::Priming);
    assert_eq!(
        decode_event("message", "", ""),
        Frame::Unknown(Unknown::Empty)
    );
    assert_eq!(decode_text("  "), Frame::Unknown(Unknown::Empty));
    // Whitespace of every kind JSON allows around a value, and Unicode spaces.
    for blank in ["\n", "\r\n\t ", "\u{0b}\u{0c}", "\u{a0}\u{2003}"] {
        assert_eq!(
            decode_event("message", blank, "7"),
            Frame::Priming,
            "{blank:?}"
        );
        assert_eq!(
            decode_text(blank),
            Frame::Unknown(Unknown::Empty),
            "{blank:?}"
        );
    }
    // Not blank: a visible character anywhere.
    assert_eq!(
        decode_event("message", " x ", "7"),
        Frame::Unknown(Unknown::NotJson)
    );
}

#[test]
fn tagged_envelopes_flat_and_nested() {
    let flat = progress(decode_text(
        r#"{"type":"progress","progress":50,"total":100,"message":"indexing"}"#,
    ));
    assert_eq!(
        (flat.progress, flat.message.as_deref()),
        (50.0, Some("indexing"))
    );
    let nested = progress(decode_text(
        r#"{"type":"progress","data":{"token":3,"progress":2,"total":4,"tool":"grep"}}"#,
    ));
    assert_eq!(
        (nested.token, nested.tool.as_deref()),
        (Some(Token::Int(3)), Some("grep"))
    );
    let rpc = progress(decode_text(
        r#"{"type":"notification","payload":{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":1}}}"#,
    ));
    assert_eq!(rpc.token, Some(Token::Str("t".into())));
    assert_eq!(
        decode_text(r#"{"type":"lagged","missed":4}"#),
        Frame::Lagged { missed: 4 }
    );
}

#[test]
fn garbage_is_unknown_never_an_error() {
    assert_eq!(decode_text("not json"), Frame::Unknown(Unknown::NotJson));
    assert_eq!(
        decode_text("{\"token\":1,"),
        Frame::Unknown(Unknown::NotJson)
    );
    assert_eq!(decode_text("[1,2]"), Frame::Unknown(Unknown::Shape));
    assert_eq!(
        decode_text(r#"{"progress":"half"}"#),
        Frame::Unknown(Unknown::Shape)
    );
    assert_eq!(
        decode_text(r#"{"hello":"world"}"#),
        Frame::Unknown(Unknown::Shape)
    );
    assert_eq!(decode_text("42"), Frame::Unknown(Unknown::Shape));
    // Deeply nested envelopes stop at a fixed depth.
    let deep = r#"{"type":"a","data":{"type":"b","data":{"type":"c","data":{"progress":1}}}}"#;
    assert_eq!(decode_text(deep), Frame::Unknown(Unknown::Shape));
}

#[test]
fn timestamps_with_every_fraction_length_and_offset() {
    let base = Time::from(Utc.with_ymd_and_hms(2026, 4, 17, 10, 20, 33).unwrap());
    for (text, nanos) in [
        ("2026-04-17T10:20:33Z", 0),
        ("2026-04-17T10:20:33.1Z", 100_000_000),
        ("2026-04-17T10:20:33.123456Z", 123_456_000),
        ("2026-04-17T10:20:33.123456789+00:00", 123_456_789),
        ("2026-04-17T12:20:33.5+02:00", 500_000_000),
    ] {
        let t = parse_timestamp(text).unwrap_or_else(|| panic!("{text}"));
        assert_eq!(t, base + chrono::TimeDelta::nanoseconds(nanos), "{text}");
    }
    assert_eq!(parse_timestamp("yesterday"), None);
    // A frame with a bad timestamp is still a frame.
    let p = progress(decode_text(
        r#"{"token":1,"progress":1,"timestamp":"soon"}"#,
    ));
    assert_eq!(p.timestamp, None);
}

#[test]
fn the_timestamp_fast_path_agrees_with_chrono() {
    use chrono::DateTime;
    let mut cases = vec![
        "1970-01-01T00:00:00Z".to_string(),
        "2000-02-29T23:59:59.999999999Z".to_string(),
        "2100-02-28T00:00:00+14:00".to_string(),
        "1999-12-31T23:59:59-12:30".to_string(),
        "2026-11-22T03:39:49.5z".to_string(),
    ];
    // Every month end, leap years and not, and odd offsets.
    for year in [1900, 1996, 2000, 2023, 2024, 2200, 2400] {
        for month in 1..=12 {
            for day in [1, 28, 29, 30, 31] {
                cases.push(format!("{year}-{month:02}-{day:02}T12:34:56.0123+05:45"));
            }
        }
    }
    // Invalid ones both reject (or chrono alone decides).
    cases.extend(
        [
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00.1234567890Z",
            "2024-01-01T00:00:60Z",
            "2024-01-01 00:00:00Z",
        ]
        .map(String::from),
    );
    for case in cases {
        let expected = DateTime::parse_from_rfc3339(&case)
            .ok()
            .and_then(|t| t.timestamp_nanos_opt())
            .map(Time::from_unix_nanos);
        // Outside the years 1677-2262 (an i64 of nanoseconds) nothing parses.
        assert_eq!(parse_timestamp(&case), expected, "{case}");
    }
}
