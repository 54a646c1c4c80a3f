//! Cron evaluation with a fixed clock: patterns, and daylight saving changes.

use super::*;

fn tz(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap()
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[test]
fn five_fields_six_fields_and_nicknames_are_read_anything_else_is_refused() {
    for ok in ["*/5 * * * *", "*/2 * * * * *", "30 2 * * 1-5", "@hourly", "@daily", "@weekly", "0 9 * * MON"] {
        assert!(parse(ok).is_ok(), "{ok}");
    }
    for (bad, says) in [
        ("", "0 fields"),
        ("* * * *", "4 fields"),
        ("0 0 0 1 1 * 2030", "7 fields"),
        ("61 * * * *", "cron pattern `61 * * * *`"),
        ("@sometimes", "cron pattern"),
    ] {
        let e = parse(bad).unwrap_err();
        assert!(e.contains(says), "{bad}: {e}");
    }
}

#[test]
fn next_and_previous_occurrences_in_utc() {
    let c = parse("*/2 * * * * *").unwrap();
    let utc = TimeZone::UTC;
    assert_eq!(c.next_after(at("2026-01-01T00:00:00.5Z"), &utc), Some(at("2026-01-01T00:00:02Z")));
    assert_eq!(c.next_after(at("2026-01-01T00:00:00Z"), &utc), Some(at("2026-01-01T00:00:02Z")));
    assert_eq!(c.latest_at_or_before(at("2026-01-01T00:00:03.9Z"), &utc), Some(at("2026-01-01T00:00:02Z")));
    assert_eq!(c.latest_at_or_before(at("2026-01-01T00:00:02Z"), &utc), Some(at("2026-01-01T00:00:02Z")));
    assert_eq!(c.before(at("2026-01-01T00:00:02Z"), &utc), Some(at("2026-01-01T00:00:00Z")));
    let n = c.next_n(at("2026-01-01T00:00:00Z"), &utc, 3);
    assert_eq!(n, [at("2026-01-01T00:00:02Z"), at("2026-01-01T00:00:04Z"), at("2026-01-01T00:00:06Z")]);
}

#[test]
fn a_daily_time_in_a_spring_gap_or_an_autumn_overlap_comes_once_a_day() {
    // Europe/Berlin: 2026-03-29 02:00 → 03:00 (02:30 never happens); 2026-10-25
    // 03:00 → 02:00 (02:30 happens twice). Each row: the day before, the day of the
    // change and the day after, each with the one instant 02:30 stands for.
    let berlin = tz("Europe/Berlin");
    let c = parse("30 2 * * *").unwrap();
    let table = [
        ("2026-03-28T00:00:00+01:00", "2026-03-28T01:30:00Z"),
        ("2026-03-29T00:00:00+01:00", "2026-03-29T01:00:00Z"), // the gap: 03:00 CEST
        ("2026-03-30T00:00:00+02:00", "2026-03-30T00:30:00Z"),
        ("2026-10-24T00:00:00+02:00", "2026-10-24T00:30:00Z"),
        ("2026-10-25T00:00:00+02:00", "2026-10-25T00:30:00Z"), // the earlier 02:30 (CEST)
        ("2026-10-26T00:00:00+01:00", "2026-10-26T01:30:00Z"),
    ];
    for (midnight, want) in table {
        let from = at(midnight);
        let day = c.next_n(from, &berlin, 2);
        assert_eq!(day[0], at(want), "the day from {midnight}");
        assert!(
            day[1].duration_since(from) > SignedDuration::from_hours(24),
            "once on the day from {midnight}: {day:?}"
        );
    }
}
