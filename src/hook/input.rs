//! A hook event of any size, cut down to one the hook can hold: the event is kept, its
//! bulk is not. Claude Code hands the whole tool input and response to every hook (a
//! `Write` of a large file, a `Read`'s result), and the call must still start and end on
//! the monitor.
//!
//! One pass over the bytes, sans-IO: every JSON string is cut to [`MAX_STRING`] bytes
//! (on a character boundary, never inside an escape, marked with `…`), and once the kept
//! text passes [`MAX_KEPT`] every further member of the top-level object keeps its key
//! with `null` for its value. The output stays valid JSON for valid input; invalid input
//! stays invalid and is refused by the parser as before.

use std::io::Read;

/// The longest string kept, in bytes of its JSON text.
pub const MAX_STRING: usize = 16 << 10;
/// The kept text past which top-level values give way to `null`.
pub const MAX_KEPT: usize = 1 << 20;
/// The kept text past which nothing more is kept at all (keys included).
const HARD_KEPT: usize = MAX_KEPT + (MAX_KEPT >> 1);

/// Reads `input` to its end, keeping a cut copy of it (see the module's doc). Bytes past
/// what is kept are read and dropped, so the writer never blocks on a full pipe.
pub fn read_cut(mut input: impl Read) -> std::io::Result<Vec<u8>> {
    let mut cutter = Cutter::default();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        cutter.feed(&buf[..n]);
    }
    Ok(cutter.finish())
}

/// Cuts a whole event held in memory (see [`read_cut`]).
pub fn cut(input: &[u8]) -> Vec<u8> {
    let mut cutter = Cutter::default();
    cutter.feed(input);
    cutter.finish()
}

#[derive(Default)]
struct Cutter {
    out: Vec<u8>,
    /// Open containers, innermost last: `{` or `[`.
    depth: usize,
    in_string: bool,
    /// An escape's letter comes next (after a backslash).
    escape_letter: bool,
    /// An escape's hex digits still to come (after `\u`).
    escape_hex: u8,
    /// Bytes of the current string kept so far.
    string_len: usize,
    /// The current string is past its cut: bytes are dropped until its closing quote.
    string_cut: bool,
    /// The current top-level value is given up: bytes are dropped until it ends.
    skipping: bool,
    /// Where the current top-level member's value starts in `out`.
    value_start: Option<usize>,
    /// `out`'s length after the last whole top-level member.
    member_end: usize,
    /// Nothing more is kept: the object was closed early.
    closed: bool,
}

impl Cutter {
    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.closed {
                return;
            }
            self.byte(b);
        }
    }

    fn byte(&mut self, b: u8) {
        if self.in_string {
            self.string_byte(b);
            return;
        }
        match b {
            b'"' => {
                self.in_string = true;
                self.string_len = 0;
                self.string_cut = false;
                self.keep(b);
            }
            b'{' | b'[' => {
                self.depth += 1;
                self.keep(b);
            }
            b'}' | b']' => {
                if self.depth == 1 {
                    self.end_member();
                }
                self.depth = self.depth.saturating_sub(1);
                self.keep(b);
            }
            b':' if self.depth == 1 && !self.skipping => {
                self.keep(b);
                self.value_start = Some(self.out.len());
            }
            b',' if self.depth == 1 => {
                self.end_member();
                self.keep(b);
            }
            _ => self.keep(b),
        }
        self.check_budget();
    }

    fn string_byte(&mut self, b: u8) {
        if self.escape_letter || self.escape_hex > 0 {
            if self.escape_letter {
                self.escape_letter = false;
                self.escape_hex = if b == b'u' { 4 } else { 0 };
            } else {
                self.escape_hex -= 1;
            }
            if !self.string_cut {
                self.keep(b);
                self.string_len += 1;
            }
            return;
        }
        if b == b'"' {
            self.in_string = false;
            if self.string_cut && !self.skipping {
                self.out.extend_from_slice("…".as_bytes());
            }
            self.keep(b);
            self.check_budget();
            return;
        }
        self.escape_letter = b == b'\\';
        // A character's first byte past the limit: the cut goes here.
        if !self.string_cut && self.string_len >= MAX_STRING && (b & 0xC0) != 0x80 {
            self.string_cut = true;
        }
        if !self.string_cut {
            self.keep(b);
            self.string_len += 1;
        }
    }

    fn keep(&mut self, b: u8) {
        if !self.skipping {
            self.out.push(b);
        }
    }

    /// A top-level member ends: a value given up becomes `null`, kept text is counted.
    fn end_member(&mut self) {
        self.skipping = false;
        self.value_start = None;
        self.member_end = self.out.len();
    }

    fn check_budget(&mut self) {
        if self.skipping || self.out.len() <= MAX_KEPT {
            return;
        }
        if self.out.len() > HARD_KEPT {
            // Keys alone are too many: the object ends after its last whole member.
            self.out.truncate(self.member_end);
            self.out.push(b'}');
            self.closed = true;
        } else if let Some(start) = self.value_start.take() {
            // Inside a top-level value: it becomes `null`, and the rest of it is dropped.
            self.out.truncate(start);
            self.out.extend_from_slice(b"null");
            self.skipping = true;
        }
    }

    fn finish(self) -> Vec<u8> {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    fn through(v: &Value) -> Value {
        let text = serde_json::to_vec(v).unwrap();
        serde_json::from_slice(&cut(&text)).expect("the cut text is JSON")
    }

    #[test]
    fn a_large_write_keeps_its_event_and_cuts_its_content() {
        let content = "é".repeat(3 << 20);
        let event = json!({
            "session_id": "s1",
            "hook_event_name": "PreToolUse",
            "tool_name": "Write",
            "tool_input": {"file_path": "/tmp/big.txt", "content": content},
            "tool_use_id": "toolu_1",
        });
        let kept = through(&event);
        assert_eq!(kept["hook_event_name"], "PreToolUse");
        assert_eq!(kept["tool_use_id"], "toolu_1");
        assert_eq!(kept["tool_input"]["file_path"], "/tmp/big.txt");
        let cut = kept["tool_input"]["content"].as_str().unwrap();
        assert!(cut.len() <= MAX_STRING + 3, "{}", cut.len());
        assert!(cut.ends_with('…') && cut.starts_with("éé"));
    }

    #[test]
    fn a_huge_structured_response_becomes_null_and_later_members_stay() {
        let rows: Vec<Value> = (0..200_000).map(|i| json!({"line": i})).collect();
        let event = json!({
            "hook_event_name": "PostToolUse",
            "tool_response": rows,
            "tool_use_id": "toolu_9",
        });
        let text = serde_json::to_vec(&event).unwrap();
        assert!(text.len() > 2 * MAX_KEPT);
        let kept = cut(&text);
        assert!(kept.len() <= HARD_KEPT + 8);
        let v: Value = serde_json::from_slice(&kept).unwrap();
        assert_eq!(v["tool_response"], Value::Null);
        assert_eq!(v["tool_use_id"], "toolu_9");
        assert_eq!(v["hook_event_name"], "PostToolUse");
    }

    #[test]
    fn escapes_are_never_cut_in_half() {
        for pad in 0..8 {
            let s = format!(
                "{}{}",
                "a".repeat(MAX_STRING - pad),
                "\\\"\u{1}\u{e9}x".repeat(4)
            );
            let kept = through(&json!({ "k": s }));
            let k = kept["k"].as_str().unwrap();
            assert!(k.ends_with('…'));
            assert!(s.starts_with(k.trim_end_matches('…')));
        }
    }

    #[test]
    fn reading_drains_everything_and_keeps_little() {
        let big = format!(r#"{{"a":"{}","b":1}}"#, "x".repeat(5 << 20));
        let kept = read_cut(std::io::Cursor::new(big.as_bytes())).unwrap();
        let v: Value = serde_json::from_slice(&kept).unwrap();
        assert_eq!(v["b"], 1);
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            ".{0,40}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::btree_map(".{0,12}", inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// A small event passes unchanged; any event stays JSON.
        #[test]
        fn small_events_pass_unchanged(fields in prop::collection::btree_map(".{0,12}", any_json(), 0..8)) {
            let v = Value::Object(fields.into_iter().collect());
            prop_assert_eq!(through(&v), v);
        }
    }
}
