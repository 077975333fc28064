//! Points in time as the model needs them: integer nanoseconds since the Unix epoch (UTC).
//!
//! Every frame carries one or two instants and the model compares and subtracts them many
//! times per frame. Calendar types do that through dates (divisions, month tables); an
//! integer does it in one instruction. Calendars stay at the edges: parsing (see
//! [`Time::parse_rfc3339`]) and display (`Display` prints RFC 3339).
//!
//! The range is that of an i64 of nanoseconds, the years 1677 to 2262; instants outside it
//! do not parse.

use std::fmt;
use std::ops::{Add, Sub};

use chrono::{DateTime, TimeDelta, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Time(i64);

impl Time {
    pub const fn from_unix_nanos(nanos: i64) -> Time {
        Time(nanos)
    }

    pub const fn unix_nanos(self) -> i64 {
        self.0
    }

    /// Seconds from `earlier` to `self` (negative when `earlier` is later): `(self -
    /// earlier).as_seconds_f64()` without splitting into seconds and nanoseconds.
    pub fn secs_since(self, earlier: Time) -> f64 {
        self.0.saturating_sub(earlier.0) as f64 / 1e9
    }

    /// The current wall-clock time.
    pub fn now() -> Time {
        // Straight from the system clock: no calendar date is worked out on the way.
        let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        match since {
            Ok(d) => Time(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
            // A clock set before 1970: chrono says how far.
            Err(_) => Time::from(Utc::now()),
        }
    }

    pub fn to_datetime(self) -> DateTime<Utc> {
        DateTime::from_timestamp_nanos(self.0)
    }

    /// RFC 3339 with 0 to 9 fraction digits and any offset. The layout servers send,
    /// `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM)`, is read directly; anything else (leap
    /// seconds, lower-case separators …) is left to chrono.
    pub fn parse_rfc3339(s: &str) -> Option<Time> {
        fast_rfc3339(s.as_bytes()).or_else(|| {
            let t = DateTime::parse_from_rfc3339(s).ok()?;
            t.timestamp_nanos_opt().map(Time)
        })
    }
}

impl From<DateTime<Utc>> for Time {
    /// Instants outside the years 1677–2262 saturate at the ends of the range.
    fn from(t: DateTime<Utc>) -> Time {
        Time(t.timestamp_nanos_opt().unwrap_or(if t.timestamp() < 0 {
            i64::MIN
        } else {
            i64::MAX
        }))
    }
}

/// The longest span a number from outside may stand for: about 31 years.
const MAX_OUTSIDE_SECS: f64 = 1e9;

/// Seconds from outside (the wire, a recording, the command line) as a span: `None` when
/// not finite, negative or beyond [`MAX_OUTSIDE_SECS`]. Never panics.
pub fn delta_from_secs(secs: f64) -> Option<TimeDelta> {
    if !(secs.is_finite() && (0.0..=MAX_OUTSIDE_SECS).contains(&secs)) {
        return None;
    }
    // In range, so the product fits an i64 of nanoseconds.
    Some(TimeDelta::nanoseconds((secs * 1e9).round() as i64))
}

/// Milliseconds from outside as a span, checked like [`delta_from_secs`].
pub fn delta_from_millis(ms: f64) -> Option<TimeDelta> {
    delta_from_secs(ms / 1000.0)?;
    Some(TimeDelta::nanoseconds((ms * 1e6).round() as i64))
}

/// Seconds from outside as a `std::time::Duration`, checked like [`delta_from_secs`].
pub fn duration_from_secs(secs: f64) -> Option<std::time::Duration> {
    (secs.is_finite() && (0.0..=MAX_OUTSIDE_SECS).contains(&secs))
        .then(|| std::time::Duration::from_secs_f64(secs))
}

impl Sub for Time {
    type Output = TimeDelta;
    fn sub(self, earlier: Time) -> TimeDelta {
        TimeDelta::nanoseconds(self.0.saturating_sub(earlier.0))
    }
}

impl Add<TimeDelta> for Time {
    type Output = Time;
    fn add(self, d: TimeDelta) -> Time {
        Time(
            self.0
                .saturating_add(d.num_nanoseconds().unwrap_or(i64::MAX)),
        )
    }
}

impl Sub<TimeDelta> for Time {
    type Output = Time;
    fn sub(self, d: TimeDelta) -> Time {
        Time(
            self.0
                .saturating_sub(d.num_nanoseconds().unwrap_or(i64::MAX)),
        )
    }
}

impl Time {
    /// RFC 3339 with nine fraction digits and `+00:00`, as Construct stamps its events
    /// (`2026-04-17T10:20:33.123456789+00:00`).
    pub fn to_rfc3339_nanos(self) -> String {
        self.to_datetime()
            .to_rfc3339_opts(chrono::SecondsFormat::Nanos, false)
    }
}

/// Writes times exactly as [`Time::to_rfc3339_nanos`] does, formatting the date and the
/// time of day once per second and only the nanoseconds per call: for a publisher that
/// stamps every event.
#[derive(Debug, Default)]
pub struct StampWriter {
    /// The time last written, and its text.
    last: Option<Time>,
    text: String,
}

impl StampWriter {
    pub fn write(&mut self, t: Time, out: &mut String) {
        out.push_str(self.stamp(t));
    }

    /// `t` as [`Time::to_rfc3339_nanos`] gives it: the text of the last time when it is
    /// the same one, its nanoseconds rewritten when it is in the same second.
    pub fn stamp(&mut self, t: Time) -> &str {
        const NANOS: i64 = 1_000_000_000;
        match self.last {
            Some(last) if last == t => {}
            Some(last) if last.0.div_euclid(NANOS) == t.0.div_euclid(NANOS) => {
                let mut digits = [b'0'; 9];
                let mut n = t.0.rem_euclid(NANOS);
                for d in digits.iter_mut().rev() {
                    *d = b'0' + (n % 10) as u8;
                    n /= 10;
                }
                // The text ends with `.`, 9 digits and `+00:00`.
                let end = self.text.len().saturating_sub(6);
                let text = std::str::from_utf8(&digits).unwrap_or("000000000");
                self.text.replace_range(end.saturating_sub(9)..end, text);
            }
            _ => self.text = t.to_rfc3339_nanos(),
        }
        self.last = Some(t);
        &self.text
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}",
            self.to_datetime()
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        )
    }
}

/// Each byte of `ONES` times the byte value.
const ONES: u64 = 0x0101_0101_0101_0101;

/// The 8 bytes at `at`, first byte lowest.
#[inline]
fn word(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(*b.get(at..)?.first_chunk::<8>()?))
}

/// The high bit set in every byte of `w` that is not an ASCII digit (exact up to the first
/// such byte; later bytes may be flagged too, which no caller minds).
#[inline]
fn non_digits(w: u64) -> u64 {
    // A digit has high nibble 3, and still has after adding 6 ('9' + 6 = '?').
    let high = 0xF0 * ONES;
    let bad = ((w & high) ^ (0x30 * ONES)) | ((w.wrapping_add(0x06 * ONES) & high) ^ (0x30 * ONES));
    // A set bit anywhere in a byte's high nibble → that byte's high bit.
    (bad | (bad << 1) | (bad << 2) | (bad << 3)) & (0x80 * ONES)
}

fn fast_rfc3339(b: &[u8]) -> Option<Time> {
    // The stamps of a stream come in order, many to a second: the seconds of the date and
    // time of day last read are kept, and a stamp of the same second reads only its
    // fraction and offset.
    let head = *b.first_chunk::<19>()?;
    let civil = match LAST_SECOND.get() {
        Some((last, civil)) if last == head => civil,
        _ => {
            let civil = civil_seconds(b)?;
            LAST_SECOND.set(Some((head, civil)));
            civil
        }
    };
    let mut rest = &b[19..];
    let mut nanos = 0u32;
    if let Some(frac) = rest.strip_prefix(b".") {
        let (value, n) = fraction(frac)?;
        nanos = value * POW10[9 - n];
        rest = &frac[n..];
    }
    let offset = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (h, m) = (two(rest, 1)?, two(rest, 4)?);
            if h > 23 || m > 59 {
                return None;
            }
            let secs = i64::from(h * 3600 + m * 60);
            if *sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        _ => return None,
    };
    (civil - offset)
        .checked_mul(1_000_000_000)?
        .checked_add(i64::from(nanos))
        .map(Time)
}

thread_local! {
    /// The first 19 bytes (`YYYY-MM-DDTHH:MM:SS`) of the stamp last read on this thread,
    /// and the seconds they stand for (UTC, before the offset).
    static LAST_SECOND: std::cell::Cell<Option<([u8; 19], i64)>> =
        const { std::cell::Cell::new(None) };
}

/// `YYYY-MM-DDTHH:MM:SS` at the start of `b`, checked, as seconds since the epoch (before
/// any offset); `None` when malformed or out of range (or a leap second: chrono decides).
fn civil_seconds(b: &[u8]) -> Option<i64> {
    // "YYYY-MM-" and "DDTHH:MM": the separators are checked, set to '0' and then every
    // byte must be a digit; the values are read from the digit pairs.
    const SEP0: u64 = 0xFF00_00FF_0000_0000; // bytes 4 and 7
    const SEP1: u64 = 0x0000_FF00_00FF_0000; // bytes 2 and 5
    let w0 = word(b, 0)?;
    let w1 = word(b, 8)?;
    if w0 & SEP0 != u64::from_le_bytes(*b"\0\0\0\0-\0\0-")
        || w1 & SEP1 != u64::from_le_bytes(*b"\0\0T\0\0:\0\0")
        || b.get(16) != Some(&b':')
    {
        return None;
    }
    let w0 = (w0 & !SEP0) | (SEP0 & (0x30 * ONES));
    let w1 = (w1 & !SEP1) | (SEP1 & (0x30 * ONES));
    if non_digits(w0) | non_digits(w1) != 0 {
        return None;
    }
    // Digit values, one per byte; then byte i holds 10·d[i] + d[i+1].
    let pairs = |w: u64| {
        let d = w - 0x30 * ONES;
        d * 10 + (d >> 8)
    };
    let (p0, p1) = (pairs(w0), pairs(w1));
    let byte = |w: u64, i: u32| ((w >> (8 * i)) & 0xFF) as u32;
    let year = byte(p0, 0) * 100 + byte(p0, 2);
    let (month, day) = (byte(p0, 5), byte(p1, 0));
    let (hour, min) = (byte(p1, 3), byte(p1, 6));
    let sec = two(b, 17)?;
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || min > 59
        || sec > 59
    {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    Some(days * 86_400 + i64::from(hour * 3600 + min * 60 + sec))
}

const POW10: [u32; 10] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
];

#[inline]
fn two(b: &[u8], at: usize) -> Option<u32> {
    let (hi, lo) = (
        b.get(at)?.wrapping_sub(b'0'),
        b.get(at + 1)?.wrapping_sub(b'0'),
    );
    (hi < 10 && lo < 10).then(|| u32::from(hi) * 10 + u32::from(lo))
}

/// The leading digits of a fraction (1 to 9 of them) → (their value, how many).
fn fraction(frac: &[u8]) -> Option<(u32, usize)> {
    let Some(w) = word(frac, 0) else {
        // Fewer than 8 bytes left: digit by digit.
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        let value = frac[..n]
            .iter()
            .fold(0u32, |v, &d| v * 10 + u32::from(d - b'0'));
        return Some((value, n));
    };
    let bad = non_digits(w);
    let n = if bad == 0 {
        8
    } else {
        (bad.trailing_zeros() / 8) as usize
    };
    if n == 0 {
        return None;
    }
    // The n digit values moved to the top bytes, zeros below them: leading zeros. (Bytes
    // past the digits, borrowed from or not, are shifted out.)
    let value = eight_digits(w.wrapping_sub(0x30 * ONES) << (8 * (8 - n)));
    if n < 8 {
        return Some((value, n));
    }
    match frac.get(8) {
        Some(c) if c.is_ascii_digit() => {
            if frac.get(9).is_some_and(u8::is_ascii_digit) {
                return None; // more than nine digits: chrono decides
            }
            Some((value * 10 + u32::from(c - b'0'), 9))
        }
        _ => Some((value, 8)),
    }
}

/// Eight digit values, one per byte, first lowest → their decimal value (pairs, then
/// quads, then the eight, each step one multiply).
#[inline]
fn eight_digits(d: u64) -> u32 {
    // The products overflow by design: what spills out of the top is not needed.
    let d = d.wrapping_mul(10 << 8 | 1) >> 8;
    let d = (d & 0x00FF_00FF_00FF_00FF).wrapping_mul(100 << 16 | 1) >> 16;
    ((d & 0x0000_FFFF_0000_FFFF).wrapping_mul(10_000 << 32 | 1) >> 32) as u32
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `500ms`, `30s`, `1.5m`, `1h`, `1m30s`, or plain seconds; else humantime's spellings
/// (`5min`, `1h 30m`, `2days`). The one parser of a duration for the flags and the config
/// file, so a value that works in one works in the other.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    parse_compact(s.trim()).or_else(|e| humantime::parse_duration(s.trim()).map_err(|_| e))
}

fn parse_compact(s: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("invalid duration {s:?}: use e.g. 500ms, 30s, 5m, 1h30m");
    if let Ok(secs) = s.parse::<f64>() {
        return duration_from_secs(secs).ok_or_else(bad);
    }
    let mut total = 0.0;
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let value: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    duration_from_secs(total)
        .ok_or_else(|| format!("duration {s:?} is too long (at most 31 years)"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_from_outside_never_panic() {
        for bad in [
            -1.0,
            -1e300,
            1e300,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e10,
        ] {
            assert_eq!(delta_from_secs(bad), None, "{bad}");
            assert_eq!(delta_from_millis(bad * 1000.0), None, "{bad}");
            assert_eq!(duration_from_secs(bad), None, "{bad}");
        }
        assert_eq!(
            delta_from_millis(1500.0),
            Some(TimeDelta::milliseconds(1500))
        );
        assert_eq!(
            duration_from_secs(2.5),
            Some(std::time::Duration::from_millis(2500))
        );
        assert!(delta_from_secs(1e9).is_some());
    }

    use super::*;

    #[test]
    fn now_reads_the_same_clock_as_chrono() {
        let before = Time::from(Utc::now());
        let now = Time::now();
        let after = Time::from(Utc::now());
        assert!(
            before <= now && now <= after,
            "{before:?} {now:?} {after:?}"
        );
    }

    #[test]
    fn the_stamp_writer_writes_what_to_rfc3339_nanos_does() {
        let mut w = StampWriter::default();
        let base = 1_776_420_000_123_456_789i64;
        for step in [
            0i64,
            1,
            999,
            1_000_000_000,
            7_000_000_001,
            -3_000_000_000,
            86_400_000_000_000,
        ] {
            for t in [base + step, base + step + 1, base - step] {
                let mut out = String::new();
                w.write(Time::from_unix_nanos(t), &mut out);
                assert_eq!(out, Time::from_unix_nanos(t).to_rfc3339_nanos(), "{t}");
                // The same time again: the text kept.
                assert_eq!(w.stamp(Time::from_unix_nanos(t)), out, "{t}");
            }
        }
    }

    #[test]
    fn arithmetic_and_display() {
        let t = Time::parse_rfc3339("2026-04-17T10:20:33.5Z").expect("parses");
        let later = t + TimeDelta::milliseconds(1500);
        assert_eq!(later - t, TimeDelta::milliseconds(1500));
        assert_eq!(later - TimeDelta::milliseconds(1500), t);
        assert_eq!(later.to_string(), "2026-04-17T10:20:35Z");
        assert_eq!(t.to_string(), "2026-04-17T10:20:33.500Z");
        assert_eq!(Time::from(t.to_datetime()), t);
        assert_eq!(later.secs_since(t), 1.5);
        assert_eq!(t.secs_since(later), -1.5);
    }

    /// What chrono makes of a timestamp (the reference for the direct reader).
    fn chrono(s: &str) -> Option<Time> {
        DateTime::parse_from_rfc3339(s)
            .ok()?
            .timestamp_nanos_opt()
            .map(Time)
    }

    #[test]
    fn a_second_read_before_is_remembered_and_still_checked_to_the_end() {
        // Stamps of one second, one after the other (the memo of the second is used), and
        // text of the same second that is malformed after it.
        for s in [
            "2026-04-17T10:20:33.000000001+00:00",
            "2026-04-17T10:20:33.5Z",
            "2026-04-17T10:20:33-07:30",
            "2026-04-17T10:20:33.999999999+14:00",
        ] {
            assert_eq!(fast_rfc3339(s.as_bytes()), chrono(s), "{s}");
        }
        for s in [
            "2026-04-17T10:20:33",
            "2026-04-17T10:20:33.Z",
            "2026-04-17T10:20:33.1234567890Z",
            "2026-04-17T10:20:33+24:00",
            "2026-04-17T10:20:33Zx",
        ] {
            assert_eq!(fast_rfc3339(s.as_bytes()), None, "{s}");
        }
        // A malformed head is not remembered: the same bytes fail again.
        for _ in 0..2 {
            assert_eq!(fast_rfc3339(b"2026-02-30T10:20:33Z"), None);
        }
        // Another second, then the first again.
        for s in ["2026-04-17T10:20:34.25Z", "2026-04-17T10:20:33.25Z"] {
            assert_eq!(fast_rfc3339(s.as_bytes()), chrono(s), "{s}");
        }
    }

    #[test]
    fn the_direct_reader_agrees_with_chrono() {
        for s in [
            "2026-04-17T10:20:33Z",
            "2026-04-17T10:20:33.1Z",
            "2026-04-17T10:20:33.12Z",
            "2026-04-17T10:20:33.123Z",
            "2026-04-17T10:20:33.1234567Z",
            "2026-04-17T10:20:33.12345678Z",
            "2026-04-17T10:20:33.123456789Z",
            "2026-04-17T10:20:33.000000001+00:00",
            "2026-04-17T10:20:33.987654321-07:30",
            "2026-04-17T10:20:33.9+14:00",
            "2026-04-17T10:20:33.12345678+01:00",
            "2024-02-29T23:59:59.999999999Z",
            "2000-02-29T00:00:00Z",
            "1970-01-01T00:00:00Z",
            "1969-12-31T23:59:59.5Z",
            "2026-12-31T23:59:59z",
        ] {
            let fast = fast_rfc3339(s.as_bytes());
            assert!(fast.is_some(), "{s} is read directly");
            assert_eq!(fast, chrono(s), "{s}");
        }
        for s in [
            "2026-04-17T10:20:33.Z",
            "2026-04-17T10:20:33.1234567890Z",
            "2026-04-17T10:20:33.12345678901+00:00",
            "2026-04-17T10:20:33",
            "2026-04-17T10:20:3Z",
            "2026-04-17 10:20:33Z",
            "2026-04-17t10:20:33Z",
            "2026/04-17T10:20:33Z",
            "2026-04-17T10-20:33Z",
            "2026-04-17T10:20-33Z",
            "2026-0a-17T10:20:33Z",
            "2026-04-17T1 :20:33Z",
            "2026-04-17T10:20:33.12x45678Z",
            "2026-04-17T10:2::33Z",
            "202?-04-17T10:20:33Z",
            "2026-13-01T00:00:00Z",
            "2026-00-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-04-17T24:00:00Z",
            "2026-04-17T23:60:00Z",
            "2026-04-17T23:59:60Z",
            "2026-04-17T10:20:33+24:00",
            "2026-04-17T10:20:33+0100",
            "2026-04-17T10:20:33.5Zjunk",
        ] {
            assert_eq!(fast_rfc3339(s.as_bytes()), None, "{s} is left to chrono");
        }
    }

    proptest::proptest! {
        /// Any layout the reader accepts, it reads as chrono does; the usual layout it
        /// always accepts.
        #[test]
        fn random_timestamps_read_as_chrono_reads_them(
            year in 1678u32..2262, month in 1u32..=12, day in 1u32..=31, hour in 0u32..24,
            min in 0u32..60, sec in 0u32..60, digits in 0usize..=9, frac in 0u32..1_000_000_000,
            offset in proptest::option::of((proptest::bool::ANY, 0u32..24, 0u32..60)),
            mutate in proptest::option::of((0usize..40, proptest::num::u8::ANY)),
        ) {
            let mut s = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{min:02}:{sec:02}");
            if digits > 0 {
                let f = format!("{frac:09}");
                s.push('.');
                s.push_str(&f[..digits]);
            }
            match offset {
                None => s.push('Z'),
                Some((neg, h, m)) => s.push_str(&format!("{}{h:02}:{m:02}", if neg { '-' } else { '+' })),
            }
            let mut bytes = s.into_bytes();
            if let Some((at, byte)) = mutate {
                if at < bytes.len() {
                    bytes[at] = byte;
                }
            }
            let fast = fast_rfc3339(&bytes);
            let reference = std::str::from_utf8(&bytes).ok().and_then(chrono);
            if fast.is_some() {
                proptest::prop_assert_eq!(fast, reference);
            } else if mutate.is_none() && day <= days_in_month(year, month) {
                proptest::prop_assert!(false, "the usual layout is read directly");
            }
        }
    }

    #[test]
    fn out_of_range_instants_do_not_parse() {
        assert_eq!(Time::parse_rfc3339("2300-01-01T00:00:00Z"), None);
        assert_eq!(Time::parse_rfc3339("1600-01-01T00:00:00Z"), None);
    }

    #[test]
    fn a_duration_reads_the_same_for_a_flag_and_the_config() {
        use std::time::Duration;
        for (text, secs) in [
            ("1.5m", 90.0),
            ("90", 90.0),
            ("500ms", 0.5),
            ("1h30m", 5400.0),
            (" 5m ", 300.0),
            ("5min", 300.0),
            ("1h 30m", 5400.0),
            ("2days", 172_800.0),
        ] {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_secs_f64(secs)),
                "{text:?}"
            );
        }
        for text in ["", "abc", "5 parsecs", "-3s", "1e400"] {
            let error = parse_duration(text).expect_err(text);
            assert!(error.contains("duration"), "{text:?}: {error}");
        }
    }
}
