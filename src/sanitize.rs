//! The one sanitizer for text from outside (servers, streams, recordings, other users) on
//! its way to a terminal, the clipboard or a JSON line a terminal may show.
//!
//! A character is *unsafe* when a terminal acts on it or hides it: C0 controls (tab and line
//! ends included), DEL, C1 controls, the bidi embeddings, overrides, isolates and marks, the
//! zero-width characters, the line and paragraph separators and the BOM. For a terminal
//! each becomes a visible escape (`\x1b`, `\u{202e}`), never the raw character; in JSON
//! each is written as `\uXXXX` (serde_json already escapes C0; this adds the rest).

use std::borrow::Cow;
use std::io;

/// Whether a terminal would act on `c` or hide it.
#[inline]
pub fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{061c}'            // Arabic letter mark
        | '\u{180e}'            // Mongolian vowel separator
        | '\u{200b}'..='\u{200f}' // zero-width space/non-joiner/joiner, LRM, RLM
        | '\u{2028}'..='\u{202e}' // line/paragraph separators, embeddings and overrides
        | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
        | '\u{2066}'..='\u{2069}' // isolates
        | '\u{feff}'            // BOM / zero-width no-break space
    )
}

/// Whether a byte may start an unsafe character (a cheap prefilter: every unsafe character
/// starts with one of these bytes, and most text has none).
#[inline]
fn may_start_unsafe(b: u8) -> bool {
    b < 0x20 || b == 0x7f || b == 0xc2 || b == 0xd8 || b == 0xe1 || b == 0xe2 || b == 0xef
}

/// Whether `s` has no unsafe character.
pub fn is_clean(s: &str) -> bool {
    let bytes = s.as_bytes();
    match bytes.iter().position(|&b| may_start_unsafe(b)) {
        None => true,
        Some(start) => !s[start..].chars().any(is_unsafe),
    }
}

/// `s` with every unsafe character as a visible escape: `\t`, `\n`, `\r`, `\x1b`,
/// `\u{202e}`. Borrowed when there is nothing to escape.
pub fn terminal(s: &str) -> Cow<'_, str> {
    let bytes = s.as_bytes();
    let Some(first) = bytes.iter().position(|&b| may_start_unsafe(b)) else {
        return Cow::Borrowed(s);
    };
    if !s[first..].chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str(&s[..first]);
    for c in s[first..].chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

/// Appends `c`, escaped when unsafe.
pub fn push_escaped(out: &mut String, c: char) {
    use std::fmt::Write as _;
    if !is_unsafe(c) {
        out.push(c);
        return;
    }
    match c {
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        c if (c as u32) < 0x100 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// `s` cut to at most `max` bytes at a character boundary, ending in `…` when cut (the
/// ellipsis counts towards `max`). `max` below 4 keeps only what fits.
pub fn cut(s: &str, max: usize) -> Cow<'_, str> {
    if s.len() <= max {
        return Cow::Borrowed(s);
    }
    let keep = max.saturating_sub('…'.len_utf8());
    let mut end = keep.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = String::with_capacity(end + 3);
    out.push_str(&s[..end]);
    if max >= '…'.len_utf8() {
        out.push('…');
    }
    Cow::Owned(out)
}

/// `text` with the secrets a URL can carry hidden: the user and password before `@`
/// become `***@`, and the values of query keys that look secret (`token`, `key`,
/// `secret`, `password`, `auth`, `sig`, `code`) become `***`. For every message that may
/// quote a URL the user gave.
pub fn redact_urls(text: &str) -> Cow<'_, str> {
    if !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, url_part) = rest.split_at(at + 3);
        out.push_str(before);
        let end = url_part
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`' | ')'))
            .unwrap_or(url_part.len());
        let (url, after) = url_part.split_at(end);
        out.push_str(&redact_one(url));
        rest = after;
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// One URL after its `scheme://`.
fn redact_one(url: &str) -> String {
    let authority_end = url.find(['/', '?', '#']).unwrap_or(url.len());
    let (authority, tail) = url.split_at(authority_end);
    let mut out = String::with_capacity(url.len());
    match authority.rsplit_once('@') {
        Some((_, host)) => {
            out.push_str("***@");
            out.push_str(host);
        }
        None => out.push_str(authority),
    }
    let Some(q) = tail.find('?') else {
        out.push_str(tail);
        return out;
    };
    out.push_str(&tail[..=q]);
    let query = &tail[q + 1..];
    let (query, fragment) = match query.find('#') {
        Some(f) => (&query[..f], &query[f..]),
        None => (query, ""),
    };
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match pair.split_once('=') {
            Some((key, _)) if looks_secret(key) => {
                out.push_str(key);
                out.push_str("=***");
            }
            _ => out.push_str(pair),
        }
    }
    out.push_str(fragment);
    out
}

fn looks_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "token", "key", "secret", "password", "passwd", "auth", "sig", "code", "session",
    ]
    .iter()
    .any(|k| key.contains(k))
}

/// The columns `text` takes on a terminal (a CJK character or an emoji takes two).
pub fn width(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}

/// The columns one character takes (control characters, which never reach here raw, none).
pub fn char_width(c: char) -> usize {
    unicode_width::UnicodeWidthChar::width(c).unwrap_or(0)
}

/// `text` cut to `width` terminal columns, ending in `…` when cut. A cut never falls
/// inside a number (`of 1…` would read as a smaller one): the number goes whole, or not
/// at all. [`cut`] is the same by bytes, for storage.
pub fn fit(text: &str, width: usize) -> String {
    if self::width(text) <= width {
        return text.to_owned();
    }
    if width == 0 {
        return String::new();
    }
    let mut used = 0;
    let mut end = 0;
    for (i, c) in text.char_indices() {
        let w = char_width(c);
        if used + w > width - 1 {
            break;
        }
        used += w;
        end = i + c.len_utf8();
    }
    let (kept, rest) = text.split_at(end);
    let mut kept = kept;
    if inside_number(kept, rest) {
        let start = kept
            .trim_end_matches(|c: char| c.is_ascii_digit() || c == '.' || c == ',')
            .len();
        kept = kept[..start].trim_end();
    }
    let mut out = String::with_capacity(kept.len() + 3);
    out.push_str(kept);
    out.push('…');
    out
}

/// `text` padded with spaces to `width` terminal columns (`format!`'s `{:<w$}` counts
/// characters, which misaligns CJK and emoji).
pub fn pad(text: &str, width: usize) -> String {
    let fill = width.saturating_sub(self::width(text));
    let mut out = String::with_capacity(text.len() + fill);
    out.push_str(text);
    out.extend(std::iter::repeat_n(' ', fill));
    out
}

/// Whether a cut between `kept` and `rest` splits a number (`35 of 1|00`, `3.|5`).
fn inside_number(kept: &str, rest: &str) -> bool {
    let before = kept.chars().next_back();
    let mut after = rest.chars();
    let next = after.next();
    let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
    match (before, next) {
        (b, n) if digit(b) && digit(n) => true,
        // A separator between digits: `3|.5`, `3.|5`, `1,|000`.
        (b, Some('.' | ',')) if digit(b) => digit(after.next()),
        (Some('.' | ','), n) if digit(n) => digit(kept.chars().rev().nth(1)),
        _ => false,
    }
}

/// A serde_json formatter that also escapes C1, bidi and zero-width characters as
/// `\uXXXX`, so a JSON line is safe to show on a terminal. Otherwise compact, byte for
/// byte what serde_json writes.
#[derive(Clone, Copy, Default)]
pub struct SafeJson;

impl serde_json::ser::Formatter for SafeJson {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let bytes = fragment.as_bytes();
        // serde_json has escaped C0 already; only the multi-byte ones and DEL remain.
        let Some(first) = bytes.iter().position(|&b| may_start_unsafe(b)) else {
            return writer.write_all(bytes);
        };
        let mut done = 0;
        for (i, c) in fragment[first..].char_indices() {
            if is_unsafe(c) {
                let at = first + i;
                writer.write_all(&bytes[done..at])?;
                write!(writer, "\\u{:04x}", c as u32)?;
                done = at + c.len_utf8();
            }
        }
        writer.write_all(&bytes[done..])
    }
}

/// Writes `value` as compact JSON with [`SafeJson`].
pub fn write_json<W: io::Write, T: serde::Serialize + ?Sized>(
    writer: W,
    value: &T,
) -> serde_json::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(writer, SafeJson);
    value.serialize(&mut ser)
}

/// `value` as a compact, terminal-safe JSON string.
pub fn json_string<T: serde::Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::with_capacity(128);
    // Writing to a Vec fails only for a value that cannot be JSON (a map with non-string
    // keys), which none of ours is.
    let _ = write_json(&mut out, value);
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_acts_on() {
        assert_eq!(terminal("plain text ✓ é"), "plain text ✓ é");
        assert!(matches!(terminal("plain ✓"), Cow::Borrowed(_)));
        assert_eq!(
            terminal("a\x1b]52;c;cm0gLXJmIH4=\x07b"),
            "a\\x1b]52;c;cm0gLXJmIH4=\\x07b"
        );
        assert_eq!(terminal("x\r\n-- stopped: y"), "x\\r\\n-- stopped: y");
        assert_eq!(terminal("\u{9b}2J"), "\\x9b2J");
        assert_eq!(terminal("\u{7f}"), "\\x7f");
        assert_eq!(terminal("abc\u{202e}txt.exe"), "abc\\u{202e}txt.exe");
        assert_eq!(
            terminal("a\u{200d}b\u{2066}c\u{feff}"),
            "a\\u{200d}b\\u{2066}c\\u{feff}"
        );
        assert_eq!(terminal("tab\there"), "tab\\there");
        // Neighbours of the unsafe ranges stay as they are.
        for ok in [
            '\u{a0}', '\u{2010}', '\u{2030}', '\u{2070}', '\u{fefe}', 'ء',
        ] {
            assert!(!is_unsafe(ok), "{ok:?}");
            assert!(is_clean(&ok.to_string()));
        }
    }

    #[test]
    fn every_unsafe_char_comes_out_escaped() {
        for u in 0..=0x10ffffu32 {
            let Some(c) = char::from_u32(u) else { continue };
            let shown = terminal(&c.to_string()).into_owned();
            if is_unsafe(c) {
                assert!(shown.starts_with('\\') && shown.is_ascii(), "{u:x}");
                let json = json_string(&c.to_string());
                assert!(json.is_ascii(), "{u:x}: {json}");
            } else {
                assert_eq!(shown, c.to_string());
            }
        }
    }

    #[test]
    fn json_escapes_c1_and_bidi() {
        let s = "a\u{9b}b\u{202e}c\x1bd\u{7f}é";
        let line = json_string(&serde_json::json!({ "m": s }));
        assert_eq!(line, r#"{"m":"a\u009bb\u202ec\u001bd\u007fé"}"#);
        let back: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back["m"], s);
        assert_eq!(
            json_string("plain"),
            serde_json::to_string("plain").unwrap()
        );
    }

    #[test]
    fn urls_lose_their_credentials() {
        assert_eq!(
            redact_urls("cannot reach http://user:SECRETPW@127.0.0.1:9/x?token=abc&n=1 now"),
            "cannot reach http://***@127.0.0.1:9/x?token=***&n=1 now"
        );
        assert_eq!(
            redact_urls("ws://h/ws?mcp_token=t&session_id=s#f"),
            "ws://h/ws?mcp_token=***&session_id=***#f"
        );
        assert_eq!(redact_urls("no url here"), "no url here");
        assert_eq!(
            redact_urls("http://127.0.0.1:1/mcp"),
            "http://127.0.0.1:1/mcp"
        );
    }

    #[test]
    fn cuts_at_a_char_boundary_with_an_ellipsis() {
        assert_eq!(cut("short", 10), "short");
        assert_eq!(cut("abcdefghij", 6), "abc…");
        assert_eq!(cut("ééééé", 6), "é…");
        assert!(cut(&"x".repeat(10_000), 256).len() <= 256);
        assert_eq!(cut("abcdef", 2), "");
        assert_eq!(fit("ééééé", 3), "éé…");
        // Display width, not characters: CJK and emoji take two columns.
        assert_eq!(fit("日本語のテキスト", 7), "日本語…");
        assert_eq!(width(&fit("日本語のテキスト", 8)), 7);
        assert_eq!(fit("ok 🚀🚀🚀", 6), "ok 🚀…");
        // Never inside a number.
        assert_eq!(fit("compiling crate 35 of 100", 20), "compiling crate 35 …");
        assert_eq!(
            fit("compiling crate 35 of 100", 24),
            "compiling crate 35 of…"
        );
        assert_eq!(fit("compiling crate 35 of 100", 18), "compiling crate…");
        assert_eq!(fit("41.9 MB of 93.0 MB", 4), "…");
        assert_eq!(fit("41.9 MB of 93.0 MB", 6), "41.9 …");
        assert_eq!(fit("1,000,000 rows", 5), "…");
        assert_eq!(fit("step 12", 6), "step …");
        assert_eq!(fit("step 12", 7), "step 12");
        assert_eq!(fit("abc", 3), "abc");
        assert_eq!(fit("abc", 0), "");
    }
}
