//! A fast path for the frames that dominate a stream: flat JSON objects whose values are
//! strings, numbers, booleans or null (Construct's ProgressEvent, `call`, `lagged`, error
//! frames). It reads the object in one pass without building anything.
//!
//! Construct's ProgressEvent, as Construct writes it, takes a straight path first: its six
//! keys in its order, compared in place, each value read by the same rules.
//!
//! It is strict and humble: on anything it does not handle exactly as serde would (nested
//! values, escapes in keys, duplicate known keys, a field of an unexpected type, control
//! characters, escapes, a malformed number, trailing bytes) it answers `None` and the caller takes
//! the general serde path. A property test checks both paths agree on generated input.

use std::borrow::Cow;

use super::fields::{Field, Fields, Slot};

/// Fills `fields` (all empty on entry) from a flat JSON object; false asks for the general
/// path (`fields` is then partly filled and not to be used).
pub(super) fn scan<'a>(json: &'a str, fields: &mut Fields<'a>) -> bool {
    progress_event(json, fields).is_some() || scan_into(json, fields).is_some()
}

/// The keys of Construct's ProgressEvent in the order Construct writes them, each with
/// the byte before it.
const PROGRESS_EVENT: [(Field, &[u8]); 6] = [
    (Field::token, b"{\"token\":"),
    (Field::progress, b",\"progress\":"),
    (Field::total, b",\"total\":"),
    (Field::message, b",\"message\":"),
    (Field::tool, b",\"tool\":"),
    (Field::timestamp, b",\"timestamp\":"),
];

/// Construct's ProgressEvent exactly as Construct writes it (its six fields in its order,
/// no space: `{"token":…,"progress":…,"total":…,"message":…,"tool":…,"timestamp":…}`),
/// read in one straight pass by the rules of the general scan, which would read it the
/// same way, key after predicted key. At the first difference (a space, another order
/// or field, an escape) it answers `None` with `fields` empty again, for the general scan.
fn progress_event<'a>(json: &'a str, fields: &mut Fields<'a>) -> Option<()> {
    let b = json.as_bytes();
    if !starts_at(b, 0, PROGRESS_EVENT[0].1) {
        return None; // not one: nothing written yet
    }
    let read = (|| {
        let mut i = 0;
        for (field, key) in PROGRESS_EVENT {
            if !starts_at(b, i, key) {
                return None;
            }
            i += key.len();
            let (value, end) = value(b, i)?;
            assign(fields, field, value, sub(json, i, end))?;
            i = end;
        }
        (b.get(i) == Some(&b'}') && skip_ws(b, i + 1) == b.len()).then_some(())
    })();
    if read.is_none() {
        *fields = Fields::default();
        return None;
    }
    fields.unescaped = true;
    Some(())
}

fn scan_into<'a>(json: &'a str, fields: &mut Fields<'a>) -> Option<()> {
    let b = json.as_bytes();
    let mut seen = 0u32;
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        i += 1;
    } else {
        let mut last = None;
        loop {
            // Key: a string without escapes. The one the usual field order predicts is
            // checked first, with a compare of its bytes.
            let (known, after_colon) = match predicted_after(last) {
                Some((field, key)) if starts_at(b, i, key) => (Some(field), i + key.len()),
                _ => {
                    let (key, after_key, escaped) = string(b, i)?;
                    if escaped {
                        return None;
                    }
                    i = skip_ws(b, after_key);
                    if b.get(i) != Some(&b':') {
                        return None;
                    }
                    (Field::named(b, key), i + 1)
                }
            };
            last = known;
            i = skip_ws(b, after_colon);
            let (value, after_value) = value(b, i)?;
            if let Some(field) = known {
                let bit = 1u32 << field as u32;
                if seen & bit != 0 {
                    return None; // serde rejects duplicate fields
                }
                seen |= bit;
                assign(fields, field, value, sub(json, i, after_value))?;
            }
            i = skip_ws(b, after_value);
            match b.get(i) {
                Some(b',') => i = skip_ws(b, i + 1),
                Some(b'}') => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    if skip_ws(b, i) != b.len() {
        return None;
    }
    fields.unescaped = true;
    Some(())
}

/// The field most likely to come after `last` (`None`: the first), with its key as it
/// appears before the value: Construct writes a ProgressEvent's fields in this order.
#[inline(always)]
fn predicted_after(last: Option<Field>) -> Option<(Field, &'static [u8])> {
    Some(match last {
        None => (Field::token, b"\"token\":"),
        Some(Field::token) => (Field::progress, b"\"progress\":"),
        Some(Field::progress) => (Field::total, b"\"total\":"),
        Some(Field::total) => (Field::message, b"\"message\":"),
        Some(Field::message) => (Field::tool, b"\"tool\":"),
        Some(Field::tool) => (Field::timestamp, b"\"timestamp\":"),
        _ => return None,
    })
}

/// Whether `b[i..]` starts with `pat` (word compares, no `memcmp` call, for short keys).
#[inline(always)]
fn starts_at(b: &[u8], i: usize, pat: &[u8]) -> bool {
    b.get(i..i + pat.len())
        .is_some_and(|s| crate::sse::scan::same_bytes(s, pat))
}

/// `json[start..end]` where both ends are next to an ASCII delimiter the scan found (a
/// quote, a colon, a comma, a brace, a digit, a letter of a literal), so at char boundaries.
#[inline(always)]
fn sub(json: &str, start: usize, end: usize) -> &str {
    let bytes = &json.as_bytes()[start..end];
    debug_assert!(json.is_char_boundary(start) && json.is_char_boundary(end));
    // SAFETY: a slice of valid UTF-8 between two char boundaries is valid UTF-8; both ends
    // sit next to ASCII bytes of `json` (see above), and an ASCII byte is never inside a
    // multi-byte sequence.
    unsafe { std::str::from_utf8_unchecked(bytes) }
}

#[derive(Clone, Copy)]
enum Value {
    /// A string without escapes.
    Str,
    /// A number, with its value when the scan read it.
    Num(Option<f64>),
    Bool,
    Null,
}

/// Stores one known field, with serde's typing rules; `None` where serde would fail.
#[inline(always)]
fn assign<'a>(f: &mut Fields<'a>, field: Field, value: Value, raw: &'a str) -> Option<()> {
    match f.slot(field) {
        // Raw JSON kept for later (any type).
        Slot::Raw(slot) => *slot = (!matches!(value, Value::Null)).then_some(raw),
        Slot::Num(slot) => *slot = number(value, raw)?,
        Slot::Text(slot) => *slot = text(value, raw)?,
        Slot::Count(slot) => {
            *slot = match value {
                Value::Null => None,
                Value::Num(_) => Some(raw.parse::<u64>().ok()?),
                _ => return None,
            }
        }
        Slot::Flag(slot) => {
            *slot = match value {
                Value::Null => None,
                Value::Bool => Some(raw == "true"),
                _ => return None,
            }
        }
    }
    Some(())
}

fn number(value: Value, raw: &str) -> Option<Option<f64>> {
    match value {
        Value::Null => Some(None),
        Value::Num(Some(v)) => Some(Some(v)),
        Value::Num(None) => Some(Some(float(raw)?)),
        _ => None,
    }
}

/// A JSON number as f64. Progress and totals are nearly always small integers or short
/// decimals: those (up to 15 digits) are read directly; anything else (exponents, long
/// digit strings) goes to `str::parse`. Both give the same value, bit for bit.
#[inline]
fn float(raw: &str) -> Option<f64> {
    let b = raw.as_bytes();
    let (negative, digits) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, b),
    };
    // `37`, and `37.5` or `100.0` as serializers of an f64 write them: with at most 15
    // digits in all, the digits are an integer below 2^53 and the power of ten exact, so
    // one division, correctly rounded, is the correctly rounded value (Clinger's fast path).
    // One pass reads the digits and finds the dot; anything else (an exponent, a second
    // dot, no digit on one side of it, too many digits) takes `parse`.
    if digits.len() <= 16 {
        let mut n = 0i64;
        let mut count = 0usize;
        let mut dot = None;
        let mut plain = true;
        for (at, &c) in digits.iter().enumerate() {
            match c {
                b'0'..=b'9' => {
                    n = n * 10 + i64::from(c - b'0');
                    count += 1;
                }
                b'.' if dot.is_none() => dot = Some(at),
                _ => {
                    plain = false;
                    break;
                }
            }
        }
        let fraction_len = dot.map_or(0, |d| digits.len() - d - 1);
        if plain
            && count <= 15
            && dot != Some(0)
            && (dot.is_none() || fraction_len > 0)
            && count > 0
        {
            let v = n as f64 / POWERS[fraction_len];
            return Some(if negative { -v } else { v });
        }
    }
    // serde_json rejects numbers beyond f64's range where `parse` gives infinity: let the
    // general path decide.
    raw.parse::<f64>().ok().filter(|v| v.is_finite())
}

fn text(value: Value, raw: &str) -> Option<Option<Cow<'_, str>>> {
    match value {
        Value::Null => Some(None),
        Value::Str => Some(Some(Cow::Borrowed(sub(raw, 1, raw.len() - 1)))),
        _ => None,
    }
}

#[inline]
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

/// A JSON string starting at `i`: the range of its contents, the index after it, and
/// whether it has escapes. `None` on a control character or no closing quote.
#[inline]
fn string(b: &[u8], i: usize) -> Option<((usize, usize), usize, bool)> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let start = i + 1;
    let mut j = start;
    let mut escaped = false;
    loop {
        j = next_special(b, j)?;
        match b[j] {
            b'"' => return Some(((start, j), j + 1, escaped)),
            b'\\' => {
                escaped = true;
                j += 2;
            }
            _ => return None, // a control character
        }
    }
}

/// The index of the next `"`, `\` or control byte at or after `j`, eight bytes at a time.
#[inline]
fn next_special(b: &[u8], mut j: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(word) = b.get(j..j + 8) {
        let x = u64::from_le_bytes(word.try_into().ok()?);
        let quote = x ^ (ONES * u64::from(b'"'));
        let slash = x ^ (ONES * u64::from(b'\\'));
        // A byte is flagged when it is zero in `quote` or `slash`, or below 0x20 in `x`.
        // (Borrows can flag bytes above a real hit, never below it: the lowest is exact.)
        let hits = (quote.wrapping_sub(ONES) & !quote
            | slash.wrapping_sub(ONES) & !slash
            | x.wrapping_sub(ONES * 0x20) & !x)
            & HIGH;
        if hits != 0 {
            return Some(j + (hits.trailing_zeros() / 8) as usize);
        }
        j += 8;
    }
    // `j` may be past the end (an escape at the very end): nothing more to find.
    b.get(j..)?
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|k| j + k)
}

/// A scalar value starting at `i` and the index after it; `None` for objects, arrays and
/// anything malformed.
#[inline(always)]
fn value(b: &[u8], i: usize) -> Option<(Value, usize)> {
    match *b.get(i)? {
        b'"' => {
            let (_, end, escaped) = string(b, i)?;
            // Escapes are rare; the general path validates and decodes them.
            (!escaped).then_some((Value::Str, end))
        }
        b't' if b[i..].starts_with(b"true") => Some((Value::Bool, i + 4)),
        b'f' if b[i..].starts_with(b"false") => Some((Value::Bool, i + 5)),
        b'n' if b[i..].starts_with(b"null") => Some((Value::Null, i + 4)),
        b'-' | b'0'..=b'9' => {
            let (end, read) = json_number(b, i)?;
            Some((Value::Num(read), end))
        }
        _ => None,
    }
}

/// The end of a JSON number (RFC 8259 grammar) starting at `i`, and its value when the
/// number is plain and short (no exponent, at most 15 digits: what [`float`] reads
/// directly, read the same way in the same pass); `None` for the value leaves it to
/// [`float`].
#[inline]
fn json_number(b: &[u8], mut i: usize) -> Option<(usize, Option<f64>)> {
    let negative = b.get(i) == Some(&b'-');
    if negative {
        i += 1;
    }
    // The digits on both sides of the dot as one integer (it wraps past 18 digits, and is
    // used only up to 15), and how many digits there are in all.
    let mut n = 0i64;
    let mut count = 0usize;
    let mut take = |c: u8, count: &mut usize| {
        n = n.wrapping_mul(10).wrapping_add(i64::from(c - b'0'));
        *count += 1;
    };
    match b.get(i) {
        Some(&c @ b'0') => {
            take(c, &mut count);
            i += 1;
        }
        Some(b'1'..=b'9') => {
            while let Some(&c @ b'0'..=b'9') = b.get(i) {
                take(c, &mut count);
                i += 1;
            }
        }
        _ => return None,
    }
    let whole_digits = count;
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !b.get(i).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        while let Some(&c @ b'0'..=b'9') = b.get(i) {
            take(c, &mut count);
            i += 1;
        }
    }
    let fraction_len = count - whole_digits;
    let mut plain = count <= 15;
    if let Some(b'e' | b'E') = b.get(i) {
        plain = false;
        i += 1;
        if let Some(b'+' | b'-') = b.get(i) {
            i += 1;
        }
        if !b.get(i).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    // A value must end at a delimiter, or serde would reject the text.
    match b.get(i) {
        None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') => {}
        _ => return None,
    }
    // As in `float`: an integer below 2^53 over an exact power of ten, one correctly
    // rounded division.
    let value = plain.then(|| {
        let v = n as f64 / POWERS[fraction_len];
        if negative {
            -v
        } else {
            v
        }
    });
    Some((i, value))
}

/// The powers of ten that are exact in an f64 and divide a short decimal's digits.
const POWERS: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

#[cfg(test)]
mod tests {
    use super::float;

    #[test]
    fn short_decimals_read_as_parse_reads_them() {
        let mut texts: Vec<String> = [
            "0",
            "-0",
            "0.0",
            "-0.0",
            "37.0",
            "100.0",
            "0.1",
            "0.3",
            "2.675",
            "-1.5",
            "999999999999999",
            "99999999999999.9",
            "0.000000000000001",
            "1234567.891",
            "9007199254740993",
            "1e3",
            "12.50",
        ]
        .iter()
        .map(|t| t.to_string())
        .collect();
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..50_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let digits = (x % 17) as usize;
            let n = (x >> 8) % 10u64.pow(digits.min(16) as u32).max(1);
            let text = n.to_string();
            let dot = (x >> 4) as usize % (text.len() + 1);
            texts.push(if dot == 0 {
                text
            } else {
                format!("{}.{}", &text[..dot], &text[dot..])
                    .trim_end_matches('.')
                    .to_owned()
            });
        }
        for text in texts {
            let want = text.parse::<f64>().unwrap();
            assert_eq!(
                float(&text).map(f64::to_bits),
                Some(want.to_bits()),
                "{text}"
            );
        }
    }

    #[test]
    fn integer_fast_path_matches_parse_bit_for_bit() {
        for raw in [
            "0",
            "-0",
            "1",
            "-1",
            "42",
            "100",
            "999999999999999",
            "-999999999999999",
            "1000000000000000",
            "12345678901234567",
            "2.5",
            "1e3",
            "-0.0",
        ] {
            let fast = float(raw).expect(raw);
            let slow = raw.parse::<f64>().expect(raw);
            assert_eq!(fast.to_bits(), slow.to_bits(), "{raw}");
        }
    }
}
