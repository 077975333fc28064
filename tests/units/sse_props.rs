//! Properties of the decoder over generated inputs and chunkings.

use crate::common;

use common::{cases, decode_split, reference::reference_decode};
use mcptop::sse::{encode, Decoder, Event, Limits, OwnedItem};
use proptest::prelude::*;

/// Pieces that make SSE-shaped input likely to hit every rule and every boundary.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"data".to_vec()),
        Just(b"data:".to_vec()),
        Just(b"data: ".to_vec()),
        Just(b"id".to_vec()),
        Just(b"id: ".to_vec()),
        Just(b"event: ".to_vec()),
        Just(b"retry: ".to_vec()),
        Just(b":".to_vec()),
        Just(b" ".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\n\n".to_vec()),
        Just(b"\xEF\xBB\xBF".to_vec()),
        Just(b"\xEF\xBB".to_vec()),
        Just(b"\0".to_vec()),
        // Bytes the line-end scan looks at twice (0x08..=0x0F besides CR and LF).
        Just(b"\t".to_vec()),
        Just(b"\x08\x0b\x0c\x0e\x0f".to_vec()),
        Just("é😀日".as_bytes().to_vec()),
        Just(b"\xF0\x9F".to_vec()),
        Just(b"\xFF".to_vec()),
        Just(b"\xC0\x80".to_vec()),
        "[0-9]{1,4}".prop_map(|s| s.into_bytes()),
        "[a-z]{1,6}".prop_map(|s| s.into_bytes()),
    ]
}

fn sse_input() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(piece(), 0..60).prop_map(|pieces| pieces.concat())
}

fn cuts(len: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..=len, 0..12).prop_map(|mut v| {
        v.sort_unstable();
        v
    })
}

fn input_and_cuts() -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
    sse_input().prop_flat_map(|input| {
        let len = input.len();
        (Just(input), cuts(len))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(2000), ..ProptestConfig::default() })]

    #[test]
    fn any_split_gives_the_unsplit_items((input, cuts) in input_and_cuts()) {
        let whole = decode_split(&input, &[], Limits::default());
        let split = decode_split(&input, &cuts, Limits::default());
        prop_assert_eq!(split, whole);
    }

    #[test]
    fn the_decoder_agrees_with_the_reference((input, cuts) in input_and_cuts()) {
        let fast = decode_split(&input, &cuts, Limits::default());
        prop_assert_eq!(fast, reference_decode(&input));
    }

    #[test]
    fn byte_at_a_time_agrees_with_the_reference(input in sse_input()) {
        let every_byte: Vec<usize> = (0..input.len()).collect();
        let fast = decode_split(&input, &every_byte, Limits::default());
        prop_assert_eq!(fast, reference_decode(&input));
    }

    #[test]
    fn caps_are_chunk_independent((input, cuts) in input_and_cuts(), cap in 1usize..40) {
        let limits = Limits { max_line_bytes: cap, max_event_bytes: cap / 2 + 1 };
        let whole = decode_split(&input, &[], limits);
        let split = decode_split(&input, &cuts, limits);
        prop_assert_eq!(split, whole);
    }

    #[test]
    fn random_bytes_never_panic_nor_outgrow_the_caps(
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..40),
        cap in 1usize..200,
    ) {
        let limits = Limits::uniform(cap);
        let mut decoder = Decoder::new(limits);
        for chunk in &chunks {
            decoder.feed(chunk, &mut |_| {});
            prop_assert!(decoder.buffered_bytes() <= limits.max_buffered());
        }
        decoder.finish();
        prop_assert_eq!(decoder.buffered_bytes(), 0);
    }

    #[test]
    fn encoded_events_decode_to_themselves(
        events in prop::collection::vec(
            ("[a-z]{0,8}", "[ -~\u{e9}\u{1F600}\r\n]{0,40}", "[0-9a-f-]{0,12}"),
            0..20,
        ),
        cuts in cuts(2000),
    ) {
        let mut wire = String::new();
        let mut expected = Vec::new();
        let mut last_id = String::new();
        for (ty, data, id) in &events {
            encode::write_event(&mut wire, Some(ty.as_str()), Some(id.as_str()), data);
            last_id.clone_from(id);
            expected.push(OwnedItem::Event(Event {
                event_type: if ty.is_empty() { "message".into() } else { ty.clone() },
                data: data.replace("\r\n", "\n").replace('\r', "\n"),
                last_event_id: last_id.clone(),
            }));
        }
        prop_assert_eq!(decode_split(wire.as_bytes(), &cuts, Limits::default()), expected);
    }
}
