//! Display time and durations.
//!
//! The database keeps UTC instants; QUEUE.md and the CLI show `YYYY-MM-DD HH:MM` in the
//! display time zone (default `Asia/Seoul`). The zone is passed in: looking it up is the
//! caller's business, so this module stays pure.
//!
//! Every duration and time a person gives is checked here against a limit when it is
//! read ([`MAX_DURATION`], [`due_after`], [`check_due`]; the config and the CLI add
//! tighter ones, such as the lease's), and the arithmetic the services do with them
//! ([`later`], [`earlier`]) stays within jiff's range: nothing here can panic on what a
//! person typed. (A test reads this file and refuses `unwrap`, `expect` and `panic!`
//! outside its tests.)

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

/// Formats an instant as `YYYY-MM-DD HH:MM:SS` in `tz`: event lines, and times near
/// enough that the seconds matter.
pub fn format_display_seconds(ts: Timestamp, tz: &TimeZone) -> String {
    let mut out = format_display_time(ts, tz);
    out.push(':');
    push_digits(&mut out, tz.to_datetime(ts).second().into(), 2);
    out
}

/// An instant as people need it, seen from `now`, in `tz`: within the hour with its
/// seconds and how far it is (`in 2s (2026-03-10 15:32:05)`, `2026-03-10 15:20:00 (10m
/// ago)`), within the day with minutes (`in 3h 5m (2026-03-10 18:35)`), further off
/// as [`format_display_time`]. Every human-readable time of a retry or a lease goes
/// through here, so none is shown in UTC or rounded to a minute that has not come yet.
pub fn format_from_now(at: Timestamp, now: Timestamp, tz: &TimeZone) -> String {
    let d = at.duration_since(now);
    let abs = d.abs();
    let ahead = !d.is_negative();
    let dur = |d: SignedDuration| format_duration(d);
    if abs < SignedDuration::from_hours(1) {
        let shown = format_display_seconds(at, tz);
        return if ahead { format!("in {} ({shown})", dur(abs)) } else { format!("{shown} ({} ago)", dur(abs)) };
    }
    let shown = format_display_time(at, tz);
    if abs < SignedDuration::from_hours(24) {
        let minutes = SignedDuration::from_secs(abs.as_secs() / 60 * 60);
        return if ahead {
            format!("in {} ({shown})", dur(minutes))
        } else {
            format!("{shown} ({} ago)", dur(minutes))
        };
    }
    shown
}

/// When something scheduled happens next (a retry): `now` once its time has come, else
/// as [`format_from_now`] (`in 2s (2026-03-10 15:32:05)`).
pub fn format_next(at: Timestamp, now: Timestamp, tz: &TimeZone) -> String {
    if at <= now {
        return "now".to_string();
    }
    format_from_now(at, now, tz)
}

/// A run's length as the dispatcher's progress line and `log` show it: tenths of a
/// second under a minute (`2.4s`), else [`format_duration`] (`1h 2m 5s`).
pub fn format_elapsed(d: SignedDuration) -> String {
    if d.abs() < SignedDuration::from_secs(60) {
        return format!("{:.1}s", d.as_secs_f64());
    }
    format_duration(d)
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

/// The longest duration orch reads anywhere (an argument such as `--since` or
/// `--older-than`, a config value): 100 years of 365.25 days. Keys and flags that feed a
/// clock have tighter limits of their own.
pub const MAX_DURATION: SignedDuration = SignedDuration::from_hours(36_525 * 24);

/// The earliest due time: 0001-01-01 00:00 UTC (shown with four year digits in every
/// time zone, so QUEUE.md can read it back).
pub const MIN_DUE: Timestamp = Timestamp::constant(-62_135_596_800, 0);

/// The latest due time: 9999-12-30 00:00 UTC (jiff's last instant is that day, so that
/// every time zone still shows a year of four digits).
pub const MAX_DUE: Timestamp = Timestamp::constant(253_402_128_000, 0);

/// Parses a duration as people write it: `90s`, `15m`, `1h 30m`, `1.5h`, `2d`; at most
/// [`MAX_DURATION`].
pub fn parse_duration(s: &str) -> Result<SignedDuration, String> {
    parse_duration_at_most(s, MAX_DURATION)
}

/// [`parse_duration`] with a limit of the caller's: a longer duration is refused with
/// the limit named.
pub fn parse_duration_at_most(s: &str, max: SignedDuration) -> Result<SignedDuration, String> {
    let d = parse_any_duration(s)?;
    if d > max {
        return Err(format!("bad duration `{}`: longer than {}, the most allowed here", s.trim(), format_limit(max)));
    }
    Ok(d)
}

/// A limit as people write it: whole days as `7d`, else as [`format_duration`].
pub fn format_limit(d: SignedDuration) -> String {
    let secs = d.as_secs();
    if secs > 0 && secs % 86_400 == 0 && d.subsec_nanos() == 0 {
        return format!("{}d", secs / 86_400);
    }
    format_duration(d)
}

/// A due time `d` after `now` (`--due +3h`), checked as [`check_due`] checks any.
pub fn due_after(now: Timestamp, d: SignedDuration) -> Result<Timestamp, String> {
    let past = || format!("+{} is past the latest due time, {}", format_duration(d), MAX_DUE);
    now.checked_add(d).map_err(|_| past()).and_then(check_due).map_err(|_| past())
}

/// `t` when it is a due time orch keeps: between [`MIN_DUE`] and [`MAX_DUE`] (the
/// years 1 to 9999).
pub fn check_due(t: Timestamp) -> Result<Timestamp, String> {
    if t < MIN_DUE || t > MAX_DUE {
        return Err(format!("due time {t} is out of range (from {MIN_DUE} to {MAX_DUE})"));
    }
    Ok(t)
}

/// `t + d`, held within jiff's range. The durations the services add were checked when
/// they were read; this only makes sure a slip is never a crash.
pub fn later(t: Timestamp, d: SignedDuration) -> Timestamp {
    t.checked_add(d).unwrap_or(if d.is_negative() { Timestamp::MIN } else { Timestamp::MAX })
}

/// `t - d`, held within jiff's range, as [`later`].
pub fn earlier(t: Timestamp, d: SignedDuration) -> Timestamp {
    t.checked_sub(d).unwrap_or(if d.is_negative() { Timestamp::MAX } else { Timestamp::MIN })
}

/// A number of seconds (a KPI, an age) as a duration, for display: a value that is no
/// number is zero and one past [`SignedDuration`]'s range is held at its ends.
pub fn secs_f64(s: f64) -> SignedDuration {
    if s.is_nan() {
        return SignedDuration::ZERO;
    }
    SignedDuration::try_from_secs_f64(s).unwrap_or(if s < 0.0 { SignedDuration::MIN } else { SignedDuration::MAX })
}

fn parse_any_duration(s: &str) -> Result<SignedDuration, String> {
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
    let (sign, secs) = if secs < 0 { ("-", secs.unsigned_abs()) } else { ("", secs.unsigned_abs()) };
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
    fn durations_and_due_times_past_their_limits_are_refused_and_nothing_panics() {
        assert_eq!(parse_duration("36525d").unwrap(), MAX_DURATION);
        for bad in ["36526d", "70000000h", "999999999h", "99999999999999999999h", "1e400s", "NaNs", "-1s", "-5d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        let e = parse_duration_at_most("8d", SignedDuration::from_hours(7 * 24)).unwrap_err();
        assert_eq!(e, "bad duration `8d`: longer than 7d, the most allowed here");
        assert!(parse_duration_at_most("7d", SignedDuration::from_hours(7 * 24)).is_ok());

        let now: Timestamp = "2026-03-10T06:30:00Z".parse().unwrap();
        for d in [
            SignedDuration::MAX,
            SignedDuration::from_hours(70_000_000),
            MAX_DUE.duration_since(now) + SignedDuration::from_secs(1),
        ] {
            assert!(due_after(now, d).is_err(), "{d:?}");
        }
        assert_eq!(due_after(now, MAX_DUE.duration_since(now)).unwrap(), MAX_DUE);
        for t in [Timestamp::MIN, Timestamp::MAX, "0000-12-31T23:59:59Z".parse().unwrap()] {
            assert!(check_due(t).is_err(), "{t}");
        }
        assert_eq!(later(Timestamp::MAX, SignedDuration::MAX), Timestamp::MAX);
        assert_eq!(later(Timestamp::MIN, SignedDuration::MIN), Timestamp::MIN);
        assert_eq!(earlier(Timestamp::MIN, SignedDuration::MAX), Timestamp::MIN);
        assert_eq!(earlier(Timestamp::MAX, SignedDuration::MIN), Timestamp::MAX);
        assert_eq!(secs_f64(f64::NAN), SignedDuration::ZERO);
        assert_eq!(secs_f64(f64::INFINITY), SignedDuration::MAX);
        assert_eq!(secs_f64(f64::NEG_INFINITY), SignedDuration::MIN);
        assert_eq!(format_duration(SignedDuration::MIN).chars().next(), Some('-'));
        // Both ends of jiff's range still show four year digits and read back.
        for tz in zones() {
            for t in [MIN_DUE, MAX_DUE] {
                let shown = format_display_time(t, &tz);
                assert_eq!(shown.len(), 16, "{shown}");
                assert!(parse_display_time(&shown, &tz).is_ok(), "{shown}");
            }
        }
    }

    /// The time code reads what people type: no `unwrap`, `expect` or `panic!` outside
    /// the tests, so none can be reached from an argument or a file.
    #[test]
    fn the_time_code_cannot_panic_on_what_it_reads() {
        let files = [
            ("time.rs", include_str!("time.rs")),
            ("quick.rs", include_str!("quick.rs")),
            ("when.rs", include_str!("when.rs")),
            ("policy.rs", include_str!("policy.rs")),
        ];
        for (name, text) in files {
            let code = text.split("#[cfg(test)]").next().unwrap_or(text);
            for (i, line) in code.lines().enumerate() {
                if line.trim_start().starts_with("//") {
                    continue;
                }
                for bad in ["unwrap(", "expect(", "panic!", "unreachable!", "todo!", "unimplemented!"] {
                    assert!(!line.contains(bad), "{name}:{}: `{bad}` in `{}`", i + 1, line.trim());
                }
            }
        }
    }

    #[test]
    fn times_from_now_are_as_precise_as_they_need_to_be_in_the_zone_given() {
        let now: Timestamp = "2026-03-10T06:30:00Z".parse().unwrap();
        let at = |s: &str| -> Timestamp { s.parse().unwrap() };
        assert_eq!(format_display_seconds(at("2026-03-10T06:32:05Z"), &seoul()), "2026-03-10 15:32:05");
        assert_eq!(format_from_now(at("2026-03-10T06:30:02Z"), now, &seoul()), "in 2s (2026-03-10 15:30:02)");
        assert_eq!(format_from_now(now, now, &seoul()), "in 0s (2026-03-10 15:30:00)");
        assert_eq!(format_from_now(at("2026-03-10T06:20:00Z"), now, &seoul()), "2026-03-10 15:20:00 (10m ago)");
        assert_eq!(format_from_now(at("2026-03-10T09:35:30Z"), now, &seoul()), "in 3h 5m (2026-03-10 18:35)");
        assert_eq!(format_from_now(at("2026-03-10T06:32:05Z"), now, &TimeZone::UTC), "in 2m 5s (2026-03-10 06:32:05)");
        assert_eq!(format_from_now(at("2026-03-12T06:30:00Z"), now, &seoul()), "2026-03-12 15:30");
        assert_eq!(format_next(at("2026-03-10T06:20:00Z"), now, &seoul()), "now");
        assert_eq!(format_next(at("2026-03-10T06:30:02Z"), now, &seoul()), "in 2s (2026-03-10 15:30:02)");
        assert_eq!(format_elapsed(SignedDuration::from_millis(2_449)), "2.4s");
        assert_eq!(format_elapsed(SignedDuration::from_secs(3_725)), "1h 2m 5s");
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
