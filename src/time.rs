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

    /// The current wall-clock time.
    pub fn now() -> Time {
        Time::from(Utc::now())
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

fn fast_rfc3339(b: &[u8]) -> Option<Time> {
    #[inline]
    fn two(b: &[u8], at: usize) -> Option<u32> {
        let (hi, lo) = (b[at].wrapping_sub(b'0'), b[at + 1].wrapping_sub(b'0'));
        (hi < 10 && lo < 10).then(|| u32::from(hi) * 10 + u32::from(lo))
    }
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let year = two(b, 0)? * 100 + two(b, 2)?;
    let (month, day) = (two(b, 5)?, two(b, 8)?);
    let (hour, min, sec) = (two(b, 11)?, two(b, 14)?, two(b, 17)?);
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || min > 59
        || sec > 59
    {
        return None; // out of range (or a leap second): chrono decides
    }
    let mut rest = &b[19..];
    let mut nanos = 0u32;
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return None;
        }
        for &d in &frac[..n] {
            nanos = nanos * 10 + u32::from(d - b'0');
        }
        nanos *= [
            1,
            10,
            100,
            1_000,
            10_000,
            100_000,
            1_000_000,
            10_000_000,
            100_000_000,
        ][9 - n];
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
    let days = days_from_civil(i64::from(year), month, day);
    let secs = days * 86_400 + i64::from(hour * 3600 + min * 60 + sec) - offset;
    secs.checked_mul(1_000_000_000)?
        .checked_add(i64::from(nanos))
        .map(Time)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_and_display() {
        let t = Time::parse_rfc3339("2026-04-17T10:20:33.5Z").expect("parses");
        let later = t + TimeDelta::milliseconds(1500);
        assert_eq!(later - t, TimeDelta::milliseconds(1500));
        assert_eq!(later - TimeDelta::milliseconds(1500), t);
        assert_eq!(later.to_string(), "2026-04-17T10:20:35Z");
        assert_eq!(t.to_string(), "2026-04-17T10:20:33.500Z");
        assert_eq!(Time::from(t.to_datetime()), t);
    }

    #[test]
    fn out_of_range_instants_do_not_parse() {
        assert_eq!(Time::parse_rfc3339("2300-01-01T00:00:00Z"), None);
        assert_eq!(Time::parse_rfc3339("1600-01-01T00:00:00Z"), None);
    }
}
