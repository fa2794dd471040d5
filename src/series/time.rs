//! Timestamp parsing and formatting.
//!
//! Timestamps are UTC epoch milliseconds (`i64`) everywhere inside alertlab. Calendar text is parsed
//! and formatted with chrono, except the two fixed-width spellings that fill multi-million-row files,
//! which a fast path reads. Accepted: RFC 3339 (`2024-01-01T00:05:00Z`, `+02:00` offsets, fractions),
//! NAB's `YYYY-MM-DD HH:MM:SS[.ffffff]` (read as UTC; `YYYY/MM/DD` too), dates, the compact
//! `YYYYMMDDHHMMSS` of some KPI datasets, and epoch numbers whose unit (s, ms, µs, ns) is told by
//! their magnitude; anything outside 1970–9999 is refused.

/// Milliseconds in one second, minute, hour and day.
pub const SECOND_MS: i64 = 1_000;
pub const MINUTE_MS: i64 = 60 * SECOND_MS;
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
pub const DAY_MS: i64 = 24 * HOUR_MS;
pub const WEEK_MS: i64 = 7 * DAY_MS;
/// 1970-01-05T00:00:00Z, the first Monday after the epoch (a Thursday): weeks start on Mondays
/// (the seasonal band's weekly bins, a chart's week ticks).
pub const FIRST_MONDAY_MS: i64 = 4 * DAY_MS;
/// The longest duration alertlab accepts, in a spec (`for`, windows, Alertmanager intervals...) or
/// on the command line (`--grace`): one year.
pub const MAX_DURATION_MS: i64 = 365 * DAY_MS;

/// Numeric epochs below this magnitude are seconds; each factor of 1000 above it is the next unit
/// (ms, µs, ns). 1e11 s is the year 5138; 1e11 ms is March 1973, so the ranges do not overlap in
/// practice.
const EPOCH_MS_THRESHOLD: f64 = 1e11;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of a day count since 1970-01-01 (inverse of [`days_from_civil`]).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn digits(bytes: &[u8], at: usize, len: usize) -> Option<u32> {
    let slice = bytes.get(at..at + len)?;
    let mut n = 0u32;
    for &b in slice {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (b - b'0') as u32;
    }
    Some(n)
}

/// Parse one timestamp cell into UTC epoch milliseconds, or `None` when it is no timestamp we accept
/// (anything outside 1970-01-01 to 9999-12-31 included).
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Some(ms) = calendar_text(text.as_bytes()) {
        return ms.filter(|ms| in_range(*ms));
    }
    let number: f64 = text.parse().ok()?;
    epoch_number_to_ms(number)
}

/// Calendar text parsed: `YYYY-MM-DD…`, or year first with slashes, `YYYY/MM/DD…` (as some
/// spreadsheets and log tools export it; as unambiguous as ISO 8601, unlike `02/03/2024`, which
/// stays an error). `None` when the text is not shaped like a date (an epoch number),
/// `Some(None)` when it is but does not parse.
fn calendar_text(b: &[u8]) -> Option<Option<i64>> {
    if b.len() < 10 {
        return None;
    }
    if b[4] == b'-' && b[7] == b'-' {
        return Some(parse_calendar(b));
    }
    if b[4] == b'/' && b[7] == b'/' && b[..4].iter().all(u8::is_ascii_digit) {
        let mut dashed = b.to_vec();
        dashed[4] = b'-';
        dashed[7] = b'-';
        return Some(parse_calendar(&dashed));
    }
    None
}

/// Whether `ms` lies in the span alertlab reads: 1970-01-01 to 9999-12-31.
pub fn in_range(ms: i64) -> bool {
    (0..=MAX_TIME_MS).contains(&ms)
}

/// The latest time alertlab accepts anywhere: 9999-12-31T23:59:59Z.
pub const MAX_TIME_MS: i64 = 253_402_300_799_000;

/// A point in time given on the command line or in a spec (`--start`, `backtest.end`, ...): RFC 3339
/// text or an epoch number, its unit told by its magnitude as in data files
/// ([`epoch_number_to_ms`]: a time copied from a file's time column reads the same here), between
/// 1970 and 9999.
pub fn parse_time_arg(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let ms = calendar_text(text.as_bytes())
        .unwrap_or_else(|| text.parse::<f64>().ok().and_then(epoch_number_to_ms));
    ms.filter(|ms| in_range(*ms)).ok_or_else(|| {
        format!("`{text}` is not a time; expected RFC 3339 (`2024-01-01T00:00:00Z`) or epoch seconds (or milliseconds) between 1970 and 9999")
    })
}

/// An epoch number to milliseconds, its unit told by its magnitude: below 10¹¹ seconds (up to the
/// year 5138), below 10¹⁴ milliseconds, below 10¹⁷ microseconds, below 10²⁰ nanoseconds (each range
/// starts after the previous one ends for any date from 1973 on). `None` for anything else,
/// negative, or outside 1970–9999.
pub fn epoch_number_to_ms(number: f64) -> Option<i64> {
    if !number.is_finite() || number < 0.0 {
        return None;
    }
    if let Some(ms) = compact_calendar(number) {
        return Some(ms);
    }
    let ms = if number < EPOCH_MS_THRESHOLD {
        number * 1e3
    } else if number < EPOCH_MS_THRESHOLD * 1e3 {
        number
    } else if number < EPOCH_MS_THRESHOLD * 1e6 {
        number / 1e3
    } else if number < EPOCH_MS_THRESHOLD * 1e9 {
        number / 1e6
    } else {
        return None;
    };
    let ms = ms.round() as i64;
    in_range(ms).then_some(ms)
}

/// A 14-digit number that spells a time as `YYYYMMDDHHMMSS` (`20181001000500`), as several AIOps
/// KPI datasets write their time column: read as that UTC time. As epoch milliseconds such a number
/// would be after the year 2286, so no real epoch is taken for one; a number that is not a valid
/// date and time between 1970 and 2199 is left to the magnitude rule.
fn compact_calendar(number: f64) -> Option<i64> {
    if !(1e13..1e14).contains(&number) || number.fract() != 0.0 {
        return None;
    }
    let n = number as i64;
    let part = |div: i64| (n / div % 100) as u32;
    let year = n / 10_000_000_000;
    let (month, day, hour, minute, second) = (
        part(100_000_000),
        part(1_000_000),
        part(10_000),
        part(100),
        part(1),
    );
    if !(1970..2200).contains(&year) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let date = chrono::NaiveDate::from_ymd_opt(year as i32, month, day)?;
    let time = date.and_hms_opt(hour, minute, second)?;
    Some(time.and_utc().timestamp_millis())
}

/// A calendar timestamp. The two spellings that fill multi-million-row files — `YYYY-MM-DDTHH:MM:SS`
/// (optionally with `Z`) as alertlab writes it, and NAB's `YYYY-MM-DD HH:MM:SS` — are read by a
/// fixed-position fast path (`alertlab bench load` shows it matters: every row of a long-layout file
/// has its own timestamp); every other spelling (fractions, offsets, dates alone, `UTC` suffixes) goes
/// to chrono.
fn parse_calendar(b: &[u8]) -> Option<i64> {
    if let Some(ms) = parse_fixed(b) {
        return Some(ms);
    }
    let text = std::str::from_utf8(b).ok()?;
    parse_with_chrono(text)
}

/// `YYYY-MM-DD[T ]HH:MM:SS[Z]`, digits at fixed positions.
fn parse_fixed(b: &[u8]) -> Option<i64> {
    if !(b.len() == 19 || (b.len() == 20 && b[19] == b'Z')) {
        return None;
    }
    if b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let year = digits(b, 0, 4)? as i64;
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let (hour, minute, second) = (digits(b, 11, 2)?, digits(b, 14, 2)?, digits(b, 17, 2)?);
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    Some(
        days_from_civil(year, month, day) * DAY_MS
            + hour as i64 * HOUR_MS
            + minute as i64 * MINUTE_MS
            + second as i64 * SECOND_MS,
    )
}

/// Every other calendar spelling: RFC 3339 (offsets, fractions), then naive UTC date-times with or
/// without seconds and fractions, a ` UTC` / ` +0000 UTC` suffix, or a date alone.
fn parse_with_chrono(text: &str) -> Option<i64> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime};
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_millis());
    }
    // ISO 8601 offsets without a colon (`+0100`).
    for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Some(t.timestamp_millis());
        }
    }
    let naive = text
        .strip_suffix(" +0000 UTC")
        .or_else(|| text.strip_suffix(" UTC"))
        .unwrap_or(text);
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(naive, format) {
            return Some(t.and_utc().timestamp_millis());
        }
    }
    NaiveDate::parse_from_str(naive, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// RFC 3339 UTC with second precision (milliseconds only when present): `2024-01-01T00:05:00Z`.
pub fn format_rfc3339(ms: i64) -> String {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write as _;
    let Some(t) = chrono::DateTime::from_timestamp_millis(ms) else {
        return format!("{ms} ms since 1970");
    };
    // Written field by field: a report writes a time per transition and episode edge (hundreds of
    // thousands in a fleet's JSON), and a format string is parsed anew on every call.
    if !(0..=9999).contains(&t.year()) {
        // Such years take a sign in RFC 3339's extended form, as chrono writes it.
        return match ms % SECOND_MS {
            0 => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            _ => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        };
    }
    let mut out = String::with_capacity(24);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if ms % SECOND_MS != 0 {
        let _ = write!(out, ".{:03}", t.timestamp_subsec_millis());
    }
    out.push('Z');
    out
}

/// A duration in a short human form: `45s`, `5m`, `1h30m`, `2d4h`.
pub fn format_duration(ms: i64) -> String {
    if ms < 0 {
        return format!("-{}", format_duration(-ms));
    }
    let s = ms / SECOND_MS;
    if ms % SECOND_MS != 0 {
        return format!("{}ms", ms);
    }
    let (d, h, m, sec) = (s / 86_400, (s / 3600) % 24, (s / 60) % 60, s % 60);
    let mut out = String::new();
    for (n, unit) in [(d, "d"), (h, "h"), (m, "m"), (sec, "s")] {
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

/// Parse a Prometheus-style duration (`90s`, `5m`, `1h30m`, `2d`, `1w`, `500ms`) into milliseconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if text == "0" {
        return Some(0);
    }
    let bytes = text.as_bytes();
    let mut total = 0i64;
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if start == i {
            return None;
        }
        let n: i64 = text[start..i].parse().ok()?;
        let unit_start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = match &text[unit_start..i] {
            "ms" => 1,
            "s" => SECOND_MS,
            "m" => MINUTE_MS,
            "h" => HOUR_MS,
            "d" => DAY_MS,
            "w" => WEEK_MS,
            "y" => 365 * DAY_MS,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    Some(total)
}

/// Prometheus duration spelling of milliseconds (`1h30m`, `0s`), as `promtool` accepts it.
pub fn format_prometheus_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut rest = ms;
    let mut out = String::new();
    for (unit_ms, unit) in [
        (DAY_MS, "d"),
        (HOUR_MS, "h"),
        (MINUTE_MS, "m"),
        (SECOND_MS, "s"),
        (1, "ms"),
    ] {
        if rest >= unit_ms {
            out.push_str(&format!("{}{}", rest / unit_ms, unit));
            rest %= unit_ms;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Field by field, the text is chrono's own RFC 3339 formatting, at every kind of instant.
    #[test]
    fn rfc3339_text_is_chronos_formatting() {
        let chrono_text = |ms: i64| {
            let t = chrono::DateTime::from_timestamp_millis(ms).unwrap();
            if ms % SECOND_MS == 0 {
                t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
            } else {
                t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
            }
        };
        let mut rng = crate::rng::Rng::new(5);
        let edges = [
            0,
            -1,
            1,
            999,
            -999,
            -62_135_596_800_000,
            253_402_300_799_999,
        ];
        let random = (0..20_000).map(|_| rng.int(-70_000_000_000_000, 300_000_000_000_000));
        for ms in edges.into_iter().chain(random) {
            assert_eq!(format_rfc3339(ms), chrono_text(ms), "{ms}");
        }
        assert_eq!(
            format_rfc3339(1_704_067_200_500),
            "2024-01-01T00:00:00.500Z"
        );
    }

    #[test]
    fn parses_the_spellings_users_have() {
        let t = 1_392_388_200_000; // 2014-02-14 14:30:00 UTC
        assert_eq!(parse_timestamp("2014-02-14 14:30:00"), Some(t));
        assert_eq!(parse_timestamp("2014-02-14T14:30:00Z"), Some(t));
        assert_eq!(parse_timestamp("2014-02-14T15:30:00+01:00"), Some(t));
        assert_eq!(parse_timestamp("2014-02-14T13:30:00-0100"), Some(t));
        assert_eq!(parse_timestamp("2014-02-14 14:30:00.000000"), Some(t));
        assert_eq!(parse_timestamp("2014-02-14T14:30:00.250Z"), Some(t + 250));
        assert_eq!(parse_timestamp("1392388200"), Some(t));
        assert_eq!(parse_timestamp("1392388200000"), Some(t));
        assert_eq!(parse_timestamp("1392388200.5"), Some(t + 500));
        assert_eq!(
            parse_timestamp("2014-02-14"),
            Some(t - 14 * HOUR_MS - 30 * MINUTE_MS)
        );
        // Year first with slashes, as spreadsheets export it.
        assert_eq!(parse_timestamp("2014/02/14 14:30:00"), Some(t));
        assert_eq!(parse_timestamp("2014/02/14 14:30"), Some(t));
        assert_eq!(parse_time_arg("2014/02/14T14:30:00Z"), Ok(t));
        // Compact `YYYYMMDDHHMMSS`, as AIOps KPI datasets write it, text or number.
        assert_eq!(parse_timestamp("20140214143000"), Some(t));
        assert_eq!(epoch_number_to_ms(20_140_214_143_000.0), Some(t));
    }

    /// A 14-digit number that is no valid date and time stays an epoch in milliseconds (after
    /// 2286), as before; a fraction is no compact time either.
    #[test]
    fn compact_times_must_be_valid_dates() {
        for not_a_date in [
            20_141_314_143_000.0, // month 13
            20_140_230_143_000.0, // 30 February
            20_140_214_246_000.0, // hour 24
            20_140_214_143_060.0, // second 60
            99_990_101_000_000.0, // year 9999, beyond 2199
            20_140_214_143_000.5,
        ] {
            assert_eq!(compact_calendar(not_a_date), None, "{not_a_date}");
        }
        assert_eq!(
            epoch_number_to_ms(20_141_314_143_000.0),
            Some(20_141_314_143_000)
        );
    }

    #[test]
    fn rejects_what_is_no_timestamp() {
        for bad in [
            "",
            "yesterday",
            "2014-13-01 00:00:00",
            "2014-02-30",
            "2014-02-14 25:00:00",
            "2014-02-14T14:30:00Q",
            // Day and month order unknowable.
            "02/14/2014 14:30:00",
            "14/02/2014 14:30:00",
            "2014/02-14 14:30:00",
            "2014/13/01 00:00:00",
            "NaN",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_round_trip() {
        for ms in [
            0,
            1_392_388_200_000,
            1_392_388_200_250,
            951_782_400_000,
            MAX_TIME_MS,
        ] {
            assert_eq!(parse_timestamp(&format_rfc3339(ms)), Some(ms));
        }
        assert_eq!(format_rfc3339(1_392_388_200_000), "2014-02-14T14:30:00Z");
    }

    /// Found by the hostile-input review: times outside 1970–9999, impossible offsets and epochs in
    /// other units were accepted or clamped.
    #[test]
    fn out_of_range_and_garbage_times_are_refused() {
        for bad in [
            "1e300",
            "-5",
            "0026-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "2024-01-01T00:00:00+99:99",
            "2024-01-01T00:00:00+24:00",
            "inf",
            "NaN",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
        // The unit of an epoch is told by its magnitude.
        let t = 1_704_067_200_000; // 2024-01-01
        for text in [
            "1704067200",
            "1704067200000",
            "1704067200000000",
            "1704067200000000000",
        ] {
            assert_eq!(parse_timestamp(text), Some(t), "{text}");
        }
        // On the command line and in specs too, as a file's time column would give them.
        for text in [
            "1704067200",
            "1704067200.0",
            "1704067200000",
            "20240101000000",
        ] {
            assert_eq!(parse_time_arg(text), Ok(t), "{text}");
        }
        for bad in ["-1", "1e30", "NaN", "inf", "yesterday"] {
            assert!(parse_time_arg(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h30m"), Some(90 * MINUTE_MS));
        assert_eq!(parse_duration("15m"), Some(15 * MINUTE_MS));
        assert_eq!(parse_duration("0"), Some(0));
        assert_eq!(parse_duration("-5m"), None);
        assert_eq!(parse_duration("5 minutes"), None);
        assert_eq!(format_prometheus_duration(90 * MINUTE_MS), "1h30m");
        assert_eq!(format_prometheus_duration(0), "0s");
        assert_eq!(format_duration(DAY_MS + 4 * HOUR_MS), "1d4h");
    }
}
