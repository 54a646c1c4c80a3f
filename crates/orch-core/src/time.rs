//! Display time and durations.
//!
//! The database keeps UTC instants; QUEUE.md and the CLI show `YYYY-MM-DD HH:MM` in the
//! display time zone (default `Asia/Seoul`). The zone is passed in: looking it up is the
//! caller's business, so this module stays pure.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// The display format of QUEUE.md.
pub const DISPLAY_FORMAT: &str = "%Y-%m-%d %H:%M";

/// Parses `2026-02-07 20:08` in `tz`. Seconds are not accepted: the file has minutes.
pub fn parse_display_time(s: &str, tz: &TimeZone) -> Result<Timestamp, String> {
    let s = s.trim();
    let dt = parse_display_civil(s)?;
    tz.to_ambiguous_timestamp(dt).compatible().map_err(|e| format!("time `{s}` does not exist in {}: {e}", tz_name(tz)))
}

/// `YYYY-MM-DD HH:MM` as a civil date and time, read digit by digit (the file's every
/// row has two of them).
fn parse_display_civil(s: &str) -> Result<DateTime, String> {
    let b = s.as_bytes();
    let shape_ok = b.len() == 16
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b' ',
            13 => c == b':',
            _ => c.is_ascii_digit(),
        });
    if !shape_ok {
        return Err(format!("bad time `{s}` (expected YYYY-MM-DD HH:MM)"));
    }
    let num = |from: usize, to: usize| b[from..to].iter().fold(0i16, |n, &c| n * 10 + i16::from(c - b'0'));
    // Every field but the year has two digits, so it fits an i8.
    let two = |from: usize| num(from, from + 2) as i8;
    DateTime::new(num(0, 4), two(5), two(8), two(11), two(14), 0, 0)
        .map_err(|_| format!("impossible time `{s}` (expected a real YYYY-MM-DD HH:MM)"))
}

/// Formats an instant as `YYYY-MM-DD HH:MM` in `tz`.
pub fn format_display_time(ts: Timestamp, tz: &TimeZone) -> String {
    let dt = tz.to_datetime(ts);
    if !(0..=9999).contains(&dt.year()) {
        return dt.strftime(DISPLAY_FORMAT).to_string();
    }
    let mut out = String::with_capacity(16);
    push_digits(&mut out, dt.year(), 4);
    out.push('-');
    push_digits(&mut out, dt.month().into(), 2);
    out.push('-');
    push_digits(&mut out, dt.day().into(), 2);
    out.push(' ');
    push_digits(&mut out, dt.hour().into(), 2);
    out.push(':');
    push_digits(&mut out, dt.minute().into(), 2);
    out
}

/// Writes `n` (not negative) zero-padded to `width` digits.
fn push_digits(out: &mut String, n: i16, width: u32) {
    for p in (0..width).rev() {
        out.push(char::from(b'0' + (n / 10i16.pow(p) % 10) as u8));
    }
}

fn tz_name(tz: &TimeZone) -> &str {
    tz.iana_name().unwrap_or("the display time zone")
}

/// Parses a duration as people write it: `90s`, `15m`, `1h 30m`, `1.5h`, `2d`.
pub fn parse_duration(s: &str) -> Result<SignedDuration, String> {
    let s = s.trim();
    let parsed = s
        .parse::<SignedDuration>()
        .or_else(|_| {
            // `2d` and other calendar units: a span relative to nothing, days as 24 h.
            s.parse::<jiff::Span>().and_then(|span| span.to_duration(jiff::SpanRelativeTo::days_are_24_hours()))
        })
        .map_err(|_| format!("bad duration `{s}` (examples: 90s, 15m, 1h 30m, 1.5h)"))?;
    if parsed.is_negative() {
        return Err(format!("bad duration `{s}`: it is negative"));
    }
    Ok(parsed)
}

/// Formats a duration compactly for people: `1h 30m`, `45s`, `0s`.
pub fn format_duration(d: SignedDuration) -> String {
    let secs = d.as_secs();
    let (sign, secs) = if secs < 0 { ("-", -secs) } else { ("", secs) };
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut parts = Vec::new();
    if h > 0 {
        parts.push(format!("{h}h"));
    }
    if m > 0 {
        parts.push(format!("{m}m"));
    }
    if s > 0 || parts.is_empty() {
        parts.push(format!("{s}s"));
    }
    format!("{sign}{}", parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seoul() -> TimeZone {
        TimeZone::get("Asia/Seoul").unwrap()
    }

    #[test]
    fn display_times_round_trip_in_seoul() {
        let ts = parse_display_time("2026-02-07 20:08", &seoul()).unwrap();
        assert_eq!(ts.to_string(), "2026-02-07T11:08:00Z");
        assert_eq!(format_display_time(ts, &seoul()), "2026-02-07 20:08");
    }

    #[test]
    fn bad_times_are_refused() {
        for bad in
            ["2026-02-30 10:00", "2026-13-01 10:00", "2026-02-07 24:01", "2026-2-7 1:00", "soon", "2026-02-07T10:00"]
        {
            assert!(parse_display_time(bad, &seoul()).is_err(), "{bad}");
        }
    }

    /// What [`parse_display_time`] and [`format_display_time`] did through jiff's
    /// `strptime` and `strftime` before they read and wrote digits themselves.
    fn parse_by_jiff(s: &str, tz: &TimeZone) -> Option<Timestamp> {
        let dt = DateTime::strptime(DISPLAY_FORMAT, s).ok()?;
        tz.to_ambiguous_timestamp(dt).compatible().ok()
    }

    fn zones() -> Vec<TimeZone> {
        ["Asia/Seoul", "America/New_York", "Australia/Lord_Howe", "UTC"]
            .iter()
            .map(|z| TimeZone::get(z).unwrap())
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn display_times_are_what_jiff_reads_and_writes(minute in -1_000_000_000i64..4_000_000_000i64, z in 0..4usize) {
            let tz = &zones()[z];
            let ts = Timestamp::from_second(minute * 60).unwrap();
            let shown = format_display_time(ts, tz);
            proptest::prop_assert_eq!(&shown, &tz.to_datetime(ts).strftime(DISPLAY_FORMAT).to_string());
            proptest::prop_assert_eq!(parse_display_time(&shown, tz).ok(), parse_by_jiff(&shown, tz));
        }

        #[test]
        fn any_display_time_reads_as_jiff_reads_it(
            (y, mo, d, h, mi) in (0..10_000u32, 0..14u32, 0..33u32, 0..26u32, 0..62u32),
            z in 0..4usize,
        ) {
            let tz = &zones()[z];
            let s = format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}");
            proptest::prop_assert_eq!(parse_display_time(&s, tz).ok(), parse_by_jiff(&s, tz));
        }
    }

    #[test]
    fn durations_parse_in_the_usual_forms() {
        assert_eq!(parse_duration("90s").unwrap().as_secs(), 90);
        assert_eq!(parse_duration("15m").unwrap().as_secs(), 900);
        assert_eq!(parse_duration("1h 30m").unwrap().as_secs(), 5400);
        assert_eq!(parse_duration("1.5h").unwrap().as_secs(), 5400);
        assert_eq!(parse_duration("2d").unwrap().as_secs(), 172_800);
        assert!(parse_duration("fast").is_err());
        assert_eq!(format_duration(SignedDuration::from_secs(5400)), "1h 30m");
        assert_eq!(format_duration(SignedDuration::from_secs(0)), "0s");
    }
}
