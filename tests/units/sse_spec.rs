//! The WHATWG event-stream rules, one by one, each checked under every chunking.

use crate::common;

use common::{decode_every_way, decode_split, reference::reference_decode};
use mcptop::sse::{Decoder, DropReason, Dropped, Event, Limits, OwnedItem};

fn ev(event_type: &str, data: &str, id: &str) -> OwnedItem {
    OwnedItem::Event(Event {
        event_type: event_type.into(),
        data: data.into(),
        last_event_id: id.into(),
    })
}

fn msg(data: &str) -> OwnedItem {
    ev("message", data, "")
}

/// Decodes under every chunking, checks the reference decoder agrees, returns the items.
fn items(input: &[u8]) -> Vec<OwnedItem> {
    let got = decode_every_way(input, Limits::default());
    assert_eq!(
        got,
        reference_decode(input),
        "reference disagrees on {input:?}"
    );
    got
}

fn events(input: &[u8]) -> Vec<OwnedItem> {
    items(input)
        .into_iter()
        .filter(|i| matches!(i, OwnedItem::Event(_)))
        .collect()
}

#[test]
fn a_data_line_and_a_blank_line_make_a_message() {
    assert_eq!(items(b"data: hello\n\n"), vec![msg("hello")]);
}

#[test]
fn one_leading_space_is_dropped_and_no_more() {
    assert_eq!(events(b"data:x\n\n"), vec![msg("x")]);
    assert_eq!(events(b"data:  two\n\n"), vec![msg(" two")]);
    assert_eq!(events(b"data:\tx\n\n"), vec![msg("\tx")]);
    assert_eq!(events(b"data: x \n\n"), vec![msg("x ")]);
}

#[test]
fn data_lines_join_with_lf_and_lose_one_trailing_lf() {
    assert_eq!(
        events(b"data: a\ndata: b\ndata: c\n\n"),
        vec![msg("a\nb\nc")]
    );
    assert_eq!(events(b"data: a\ndata:\n\n"), vec![msg("a\n")]);
}

#[test]
fn an_empty_data_field_is_an_event_with_empty_data() {
    assert_eq!(events(b"data:\n\n"), vec![msg("")]);
    assert_eq!(events(b"data\n\n"), vec![msg("")]);
    assert_eq!(events(b"data: \n\n"), vec![msg("")]);
}

#[test]
fn a_leading_empty_data_line_is_kept() {
    assert_eq!(events(b"data:\ndata: x\n\n"), vec![msg("\nx")]);
    assert_eq!(events(b"data\ndata\ndata: y\n\n"), vec![msg("\n\ny")]);
}

#[test]
fn a_blank_line_without_data_dispatches_nothing_and_resets_the_type() {
    assert_eq!(items(b"\n\n\n"), vec![]);
    assert_eq!(events(b"event: x\n\ndata: y\n\n"), vec![msg("y")]);
}

#[test]
fn event_sets_the_type_for_one_event_only() {
    assert_eq!(
        events(b"event: progress\ndata: 1\n\ndata: 2\n\n"),
        vec![ev("progress", "1", ""), msg("2")]
    );
    assert_eq!(events(b"event:\ndata: 1\n\n"), vec![msg("1")]);
    assert_eq!(
        events(b"event: a\nevent: b\ndata: 1\n\n"),
        vec![ev("b", "1", "")]
    );
}

#[test]
fn the_last_event_id_persists_until_changed() {
    assert_eq!(
        events(b"id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\n"),
        vec![
            ev("message", "a", "1"),
            ev("message", "b", "1"),
            ev("message", "c", "2")
        ]
    );
}

#[test]
fn an_empty_id_resets_the_last_event_id() {
    assert_eq!(
        events(b"id: 7\ndata: a\n\nid\ndata: b\n\nid:\ndata: c\n\n"),
        vec![ev("message", "a", "7"), msg("b"), msg("c")]
    );
}

#[test]
fn an_id_containing_nul_is_ignored() {
    assert_eq!(
        events(b"id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n"),
        vec![ev("message", "a", "1"), ev("message", "b", "1")]
    );
}

#[test]
fn an_id_in_a_block_without_data_still_counts() {
    // A priming event (id, no data) dispatches nothing but sets the last event id.
    let mut decoder = Decoder::default();
    let mut out = Vec::new();
    decoder.feed_collect(b"id: evt-9\n\n", &mut out);
    assert_eq!(out, vec![]);
    assert_eq!(decoder.last_event_id(), "evt-9");
    assert_eq!(
        events(b"id: 5\n\ndata: x\n\n"),
        vec![ev("message", "x", "5")]
    );
}

#[test]
fn the_last_event_id_is_committed_at_the_blank_line() {
    let mut decoder = Decoder::default();
    let mut out = Vec::new();
    decoder.feed_collect(b"id: 1\ndata: a\n\nid: 2\ndata: b\n", &mut out);
    assert_eq!(decoder.last_event_id(), "1");
    // The stream ends before the blank line: event 2 never happened.
    assert!(decoder.finish());
    assert_eq!(decoder.last_event_id(), "1");
}

#[test]
fn id_and_data_may_come_in_any_order_within_an_event() {
    assert_eq!(events(b"data: x\nid: 3\n\n"), vec![ev("message", "x", "3")]);
}

#[test]
fn retry_is_accepted_only_when_all_ascii_digits() {
    assert_eq!(items(b"retry: 1500\n\n"), vec![OwnedItem::Retry(1500)]);
    assert_eq!(items(b"retry:0\n"), vec![OwnedItem::Retry(0)]);
    for bad in [
        &b"retry: 1.5\n"[..],
        b"retry: -1\n",
        b"retry: 12a\n",
        b"retry:\n",
        b"retry\n",
        b"retry:  100\n", // the second space stays in the value
        b"retry: 99999999999999999999999\n",
        b"retry: \xd9\xa3\n", // ARABIC-INDIC DIGIT THREE is not an ASCII digit
    ] {
        assert_eq!(items(bad), vec![], "{bad:?}");
    }
}

#[test]
fn retry_comes_out_in_stream_order() {
    assert_eq!(
        items(b"data: a\n\nretry: 10\ndata: b\n\n"),
        vec![msg("a"), OwnedItem::Retry(10), msg("b")]
    );
}

#[test]
fn comments_are_reported_and_never_dispatch() {
    assert_eq!(items(b":\n\n"), vec![OwnedItem::Comment]);
    assert_eq!(
        items(b": keep-alive\ndata: x\n:another\n\n"),
        vec![OwnedItem::Comment, OwnedItem::Comment, msg("x")]
    );
}

#[test]
fn field_names_are_case_sensitive_and_unknown_ones_ignored() {
    assert_eq!(items(b"Data: x\nDATA: y\n\n"), vec![]);
    assert_eq!(
        events(b"foo: bar\ndata: x\nEvent: y\nId: 3\n\n"),
        vec![msg("x")]
    );
    assert_eq!(events(b"data : x\ndata: y\n\n"), vec![msg("y")]);
}

#[test]
fn the_value_is_split_at_the_first_colon_only() {
    assert_eq!(events(b"data: a:b: c\n\n"), vec![msg("a:b: c")]);
    assert_eq!(events(b"data::\n\n"), vec![msg(":")]);
}

#[test]
fn lf_cr_and_crlf_all_end_lines() {
    let expected = vec![ev("e", "a\nb", "1"), ev("message", "c", "1")];
    assert_eq!(
        events(b"id: 1\nevent: e\ndata: a\ndata: b\n\ndata: c\n\n"),
        expected
    );
    assert_eq!(
        events(b"id: 1\revent: e\rdata: a\rdata: b\r\rdata: c\r\r"),
        expected
    );
    assert_eq!(
        events(b"id: 1\r\nevent: e\r\ndata: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n"),
        expected
    );
    assert_eq!(
        events(b"id: 1\revent: e\r\ndata: a\ndata: b\n\r\ndata: c\r\r\n"),
        expected
    );
}

#[test]
fn cr_only_streams_dispatch() {
    assert_eq!(events(b"data: x\r\r"), vec![msg("x")]);
    assert_eq!(events(b"data: x\r\rdata: y\r\r"), vec![msg("x"), msg("y")]);
}

#[test]
fn a_cr_ending_one_chunk_and_an_lf_starting_the_next_are_one_line_end() {
    let out = decode_split(b"data: x\r\n\r\n", &[8], Limits::default());
    assert_eq!(out, vec![msg("x")]);
    let out = decode_split(b"data: x\r\n\r\n", &[8, 8, 8, 9, 10, 10], Limits::default());
    assert_eq!(out, vec![msg("x")]);
}

#[test]
fn cr_cr_lf_is_two_line_ends() {
    // CR, then CRLF: one line end, then another, which dispatches.
    assert_eq!(events(b"data: x\r\r\n"), vec![msg("x")]);
}

#[test]
fn one_leading_bom_is_stripped() {
    assert_eq!(events(b"\xEF\xBB\xBFdata: x\n\n"), vec![msg("x")]);
    // The first line after a BOM is a normal line, not lost.
    assert_eq!(
        events(b"\xEF\xBB\xBFid: 1\ndata: x\n\n"),
        vec![ev("message", "x", "1")]
    );
}

#[test]
fn only_one_bom_is_stripped() {
    // The second BOM is part of the first field name, which is then unknown.
    assert_eq!(
        events(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\ndata: y\n\n"),
        vec![msg("y")]
    );
}

#[test]
fn a_bom_prefix_that_is_not_a_bom_is_content() {
    assert_eq!(events(b"\xEF\xBBdata: x\n\ndata: y\n\n"), vec![msg("y")]);
    assert_eq!(events(b"data: \xEF\xBB\xBFx\n\n"), vec![msg("\u{FEFF}x")]);
}

#[test]
fn a_bom_in_the_middle_is_not_stripped() {
    assert_eq!(
        events(b"data: a\n\n\xEF\xBB\xBFdata: b\n\ndata: c\n\n"),
        vec![msg("a"), msg("c")]
    );
}

#[test]
fn utf8_split_across_chunks_is_decoded_whole() {
    let input = "data: héllo → 😀 日本\n\n".as_bytes();
    let got = items(input);
    assert_eq!(got, vec![msg("héllo → 😀 日本")]);
}

#[test]
fn invalid_utf8_becomes_replacement_characters() {
    assert_eq!(events(b"data: a\xFFb\n\n"), vec![msg("a\u{FFFD}b")]);
    // A truncated sequence cut by a line end.
    assert_eq!(
        events(b"data: \xE2\x82\ndata: z\n\n"),
        vec![msg("\u{FFFD}\nz")]
    );
    assert_eq!(
        events(b"event: \xC0\ndata: x\n\n"),
        vec![ev("\u{FFFD}", "x", "")]
    );
    assert_eq!(
        events(b"id: \xF0\x9F\ndata: x\n\n"),
        vec![ev("message", "x", "\u{FFFD}")]
    );
}

#[test]
fn an_unterminated_event_at_the_end_is_discarded() {
    assert_eq!(items(b"data: a\n\ndata: b\n"), vec![msg("a")]);
    assert_eq!(items(b"data: a\n\ndata: b"), vec![msg("a")]);
    assert_eq!(items(b"data: a\n\nevent: x\n"), vec![msg("a")]);
}

#[test]
fn finish_reports_a_truncated_stream_and_readies_the_next_one() {
    let mut decoder = Decoder::default();
    let mut out = Vec::new();
    decoder.feed_collect(b"id: 4\ndata: a\n\ndata: half", &mut out);
    assert!(decoder.finish());
    assert_eq!(decoder.stats().truncated, 1);
    // A new connection: its BOM is stripped, the last event id carries over.
    decoder.feed_collect(b"\xEF\xBB\xBFdata: b\n\n", &mut out);
    assert!(!decoder.finish());
    assert_eq!(out, vec![ev("message", "a", "4"), ev("message", "b", "4")]);
}

#[test]
fn construct_events_decode_as_is() {
    let wire = b"data: {\"token\":7,\"progress\":1,\"total\":2,\"message\":\"notion: sending request\",\"tool\":\"notion\",\"timestamp\":\"2026-04-17T10:20:33.123456789+00:00\"}\n\ndata:{\"token\":7}\n\n:\n\n";
    let got = items(wire);
    assert_eq!(got.len(), 3);
    assert!(matches!(&got[0], OwnedItem::Event(e) if e.data.starts_with("{\"token\":7,")));
    assert_eq!(got[1], msg("{\"token\":7}"));
    assert_eq!(got[2], OwnedItem::Comment);
}

#[test]
fn the_recorded_keepalive_stream_is_only_comments() {
    // Byte for byte what the daemon sends on an idle session (HTTP chunking removed).
    assert_eq!(
        items(b":\n\n:\n\n:\n\n"),
        vec![OwnedItem::Comment, OwnedItem::Comment, OwnedItem::Comment]
    );
}

// --- caps -------------------------------------------------------------------------------

fn capped(input: &[u8], limits: Limits) -> Vec<OwnedItem> {
    decode_every_way(input, limits)
}

#[test]
fn a_line_over_the_cap_drops_its_event_and_parsing_resumes() {
    let limits = Limits::uniform(16);
    let input = b"data: ok\n\ndata: this line is far too long\ndata: more\n\ndata: next\n\n";
    assert_eq!(
        capped(input, limits),
        vec![
            msg("ok"),
            OwnedItem::Dropped(Dropped {
                reason: DropReason::LineTooLong,
                limit: 16
            }),
            msg("next"),
        ]
    );
}

#[test]
fn an_event_over_the_cap_is_dropped_once() {
    let limits = Limits {
        max_line_bytes: 64,
        max_event_bytes: 10,
    };
    let input = b"data: 12345\ndata: 67890\ndata: abc\n\ndata: fine\n\n";
    assert_eq!(
        capped(input, limits),
        vec![
            OwnedItem::Dropped(Dropped {
                reason: DropReason::EventTooLarge,
                limit: 10
            }),
            msg("fine"),
        ]
    );
}

#[test]
fn ids_inside_a_dropped_event_still_count() {
    let limits = Limits::uniform(16);
    let input = b"id: 1\ndata: a\n\nid: 2\ndata: xxxxxxxxxxxxxxxxxxxxxxx\n\ndata: b\n\n";
    let got = capped(input, limits);
    assert_eq!(got[0], ev("message", "a", "1"));
    assert!(matches!(got[1], OwnedItem::Dropped(_)));
    assert_eq!(got[2], ev("message", "b", "2"));
}

#[test]
fn a_never_ending_line_keeps_memory_under_the_cap() {
    let limits = Limits::uniform(1024);
    let mut decoder = Decoder::new(limits);
    let mut dropped = 0;
    let chunk = [b'x'; 4096];
    decoder.feed(b"data: ", &mut |_| {});
    for _ in 0..1000 {
        decoder.feed(&chunk, &mut |item| {
            if matches!(item, mcptop::sse::Item::Dropped(_)) {
                dropped += 1;
            }
        });
        assert!(decoder.buffered_bytes() <= 1024);
        assert!(decoder.buffer_capacity() <= 2 * 1024 + 64);
    }
    assert_eq!(dropped, 1);
    let mut out = Vec::new();
    decoder.feed_collect(b"\n\ndata: after\n\n", &mut out);
    assert_eq!(out, vec![msg("after")]);
    assert_eq!(decoder.stats().dropped, 1);
}

#[test]
fn long_lines_one_after_another_share_one_buffer() {
    // Each event's data line spans many chunks; the decoder holds one line-sized buffer
    // for all of them, not one for the line and another for the data.
    let line = "y".repeat(100 << 10);
    let mut input = Vec::new();
    for n in 0..10 {
        input.extend_from_slice(format!("id: {n}\ndata: {line}\n\n").as_bytes());
    }
    let mut decoder = Decoder::new(Limits::default());
    let mut events = 0;
    for chunk in input.chunks(4096) {
        decoder.feed(chunk, &mut |item| {
            if let mcptop::sse::Item::Event(e) = item {
                assert_eq!(e.data, line);
                events += 1;
            }
        });
        assert!(
            decoder.buffer_capacity() < 192 << 10,
            "{} bytes held for a 100 KiB line",
            decoder.buffer_capacity()
        );
    }
    assert_eq!(events, 10);
}

/// Found by the fuzzer: an event with a type, an id and some data, then an unterminated
/// line, all held at once. Each is within its cap; together they are what
/// `Limits::max_buffered` allows, and then the event still arrives whole.
#[test]
fn a_typed_event_with_an_id_and_a_pending_line_stays_within_max_buffered() {
    let limits = Limits {
        max_line_bytes: 27,
        max_event_bytes: 11,
    };
    let mut decoder = Decoder::new(limits);
    let mut out = Vec::new();
    decoder.feed_collect(b"event: connected\r\nid: 123456789012345678\r\n", &mut out);
    decoder.feed_collect(b"data: {\"3\r\ndata: {\"token\":1,\"progres", &mut out);
    assert!(out.is_empty());
    let held = decoder.buffered_bytes();
    assert!(
        held > 27 + 11,
        "the case holds more than the two caps: {held}"
    );
    assert!(
        held <= limits.max_buffered(),
        "{held} > {}",
        limits.max_buffered()
    );
    decoder.feed_collect(b"\r\n\r\n", &mut out);
    // The second data line breaks the event cap: the event is dropped, the id kept.
    assert!(matches!(out.as_slice(), [OwnedItem::Dropped(_)]), "{out:?}");
    assert_eq!(decoder.last_event_id(), "123456789012345678");
    // Only the type stays, kept so a repeated type is not decoded again.
    assert_eq!(decoder.buffered_bytes(), "connected".len());
}

/// Found by the fuzzer: an id of invalid bytes is held decoded, each byte a 3-byte
/// U+FFFD, so a pending id may take three times its line.
#[test]
fn an_id_of_invalid_bytes_stays_within_max_buffered() {
    let limits = Limits {
        max_line_bytes: 27,
        max_event_bytes: 11,
    };
    let mut decoder = Decoder::new(limits);
    let mut out = Vec::new();
    let mut input = b"event: 80tbbf7ed0000000\nid: 1".to_vec();
    input.extend_from_slice(&[0xff; 22]);
    input.extend_from_slice(b"\ndata: 12345678901234567890");
    decoder.feed_collect(&input, &mut out);
    let held = decoder.buffered_bytes();
    let lines_and_event = 3 * 27 + 11 + 6;
    assert!(
        held > lines_and_event,
        "the case holds more than three lines: {held}"
    );
    assert!(
        held <= limits.max_buffered(),
        "{held} > {}",
        limits.max_buffered()
    );
    decoder.feed_collect(b"\n\n", &mut out);
    assert!(matches!(out.as_slice(), [OwnedItem::Dropped(_)]), "{out:?}");
    assert_eq!(
        decoder.last_event_id(),
        format!("1{}", "\u{fffd}".repeat(22))
    );
}

#[test]
fn an_event_exactly_at_the_cap_passes() {
    // The data buffer holds value + LF: "12345678\n" is 9 bytes.
    let limits = Limits {
        max_line_bytes: 14,
        max_event_bytes: 9,
    };
    assert_eq!(capped(b"data: 12345678\n\n", limits), vec![msg("12345678")]);
}

#[test]
fn stats_count_what_happened() {
    let mut decoder = Decoder::default();
    let input = b"data: ab\n\n:\nretry: 5\ndata: c\n\n";
    decoder.feed(input, &mut |_| {});
    let stats = decoder.stats();
    assert_eq!(stats.bytes, input.len() as u64);
    assert_eq!(stats.events, 2);
    assert_eq!(stats.data_bytes, 3);
    assert_eq!(stats.comments, 1);
    assert_eq!(stats.retries, 1);
}

#[test]
fn a_long_line_across_many_chunks_decodes_whole_and_checks_utf8() {
    // 100 KiB of ASCII, then a line with a multi-byte character split across chunks, then
    // an invalid byte deep inside a long line.
    let long = "x".repeat(100 << 10);
    let mut input = format!("data: {long}\n\ndata: {long}é{long}\n\n").into_bytes();
    input.extend_from_slice(b"data: ");
    input.extend(std::iter::repeat_n(b'y', 50_000));
    input.push(0xFF);
    input.extend_from_slice(b"z\n\n");
    for size in [1000, 4096, 16 << 10, 65536, 1 << 20] {
        let got = common::decode_chunked(&input, size, Limits::default());
        assert_eq!(got.len(), 3, "chunks of {size}");
        assert_eq!(got[0], msg(&long));
        assert_eq!(got[1], msg(&format!("{long}é{long}")));
        assert_eq!(got[2], msg(&format!("{}\u{FFFD}z", "y".repeat(50_000))));
    }
}
