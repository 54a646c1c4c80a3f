//! Tests of the time reader: each form, the zone's calendar days, daylight-saving edges,
//! refusals and the warning for a time in the past.

use super::*;

fn seoul() -> TimeZone {
    TimeZone::get("Asia/Seoul").unwrap()
}

fn new_york() -> TimeZone {
    TimeZone::get("America/New_York").unwrap()
}

/// 2026-03-10 15:30 in Seoul (06:30 UTC).
fn now() -> Timestamp {
    "2026-03-10T06:30:00Z".parse().unwrap()
}

fn in_seoul(s: &str) -> Timestamp {
    crate::time::parse_display_time(s, &seoul()).unwrap()
}

#[test]
fn each_form_is_read_the_same_way() {
    let cases = [
        // Relative.
        ("+3h", "2026-03-10 18:30"),
        ("+30m", "2026-03-10 16:00"),
        ("+2d", "2026-03-12 15:30"),
        ("+1h 30m", "2026-03-10 17:00"),
        // Dates and wall-clock times.
        ("2026-12-24", "2026-12-24 18:00"),
        ("2026-12-24 09:00", "2026-12-24 09:00"),
        ("2026-12-24 9:05", "2026-12-24 09:05"),
        ("2026-12-24T09:00", "2026-12-24 09:00"),
        ("2026-12-24T09:00:00", "2026-12-24 09:00"),
        ("2026-12-24 9am", "2026-12-24 09:00"),
        ("2026-12-24 오후 3시", "2026-12-24 15:00"),
        // RFC 3339.
        ("2026-12-24T00:00:00Z", "2026-12-24 09:00"),
        ("2026-12-24T09:00:00+09:00", "2026-12-24 09:00"),
        // English day words.
        ("today 18:00", "2026-03-10 18:00"),
        ("tomorrow 9am", "2026-03-11 09:00"),
        ("Tomorrow 9 AM", "2026-03-11 09:00"),
        ("tomorrow 3:30pm", "2026-03-11 15:30"),
        ("tomorrow 12am", "2026-03-11 00:00"),
        ("tomorrow 12pm", "2026-03-11 12:00"),
        ("tomorrow", "2026-03-11 18:00"),
        // Korean day words and times.
        ("내일 18:00", "2026-03-11 18:00"),
        ("모레 9시", "2026-03-12 09:00"),
        ("오늘 오후 3시", "2026-03-10 15:00"),
        ("오늘 오후3시", "2026-03-10 15:00"),
        ("내일 오전 9시", "2026-03-11 09:00"),
        ("내일 오후 12시", "2026-03-11 12:00"),
        ("내일 오전 12시", "2026-03-11 00:00"),
        ("내일 14시30분", "2026-03-11 14:30"),
        ("내일 9시반", "2026-03-11 09:30"),
        ("내일", "2026-03-11 18:00"),
        // A time alone: the next time the clock shows it.
        ("16:00", "2026-03-10 16:00"),
        ("09:00", "2026-03-11 09:00"),
        ("9am", "2026-03-11 09:00"),
        ("오후 4시", "2026-03-10 16:00"),
    ];
    for (given, want) in cases {
        let got = parse_when(given, now(), &seoul()).unwrap_or_else(|e| panic!("{given}: {e}"));
        assert_eq!(crate::time::format_display_time(got, &seoul()), want, "{given}");
    }
}

#[test]
fn day_words_are_calendar_days_in_the_zone_given() {
    // 01:30 on the 11th in Seoul is still the 10th in UTC: "tomorrow" is Seoul's.
    let late: Timestamp = "2026-03-10T16:30:00Z".parse().unwrap();
    assert_eq!(parse_when("내일 09:00", late, &seoul()).unwrap(), in_seoul("2026-03-12 09:00"));
    let utc = parse_when("tomorrow 09:00", late, &TimeZone::UTC).unwrap();
    assert_eq!(utc, "2026-03-11T09:00:00Z".parse::<Timestamp>().unwrap());
}

#[test]
fn daylight_saving_gaps_take_the_later_side_and_folds_the_earlier() {
    let ny = new_york();
    // 2026-03-08 02:30 does not exist in New York: it is read as 03:30 EDT.
    let before_gap: Timestamp = "2026-03-07T15:00:00Z".parse().unwrap();
    assert_eq!(parse_when("2026-03-08 02:30", before_gap, &ny).unwrap().to_string(), "2026-03-08T07:30:00Z");
    assert_eq!(parse_when("tomorrow 2:30am", before_gap, &ny).unwrap().to_string(), "2026-03-08T07:30:00Z");
    // 2026-11-01 01:30 happens twice: the first (EDT, UTC-4).
    assert_eq!(parse_when("2026-11-01 01:30", before_gap, &ny).unwrap().to_string(), "2026-11-01T05:30:00Z");
    // A day word is a calendar day: 09:00 tomorrow across the change is 09:00 EDT...
    assert_eq!(parse_when("tomorrow 9am", before_gap, &ny).unwrap().to_string(), "2026-03-08T13:00:00Z");
    // ...while +1d is exactly 24 hours, one wall-clock hour later.
    let plus = parse_when("+1d", before_gap, &ny).unwrap();
    assert_eq!(plus.to_string(), "2026-03-08T15:00:00Z");
    assert_eq!(crate::time::format_display_time(plus, &ny), "2026-03-08 11:00");
    // A time alone on the night of a gap still lands after now.
    let in_gap_night: Timestamp = "2026-03-08T06:45:00Z".parse().unwrap(); // 01:45 EST
    let next = parse_when("2:30am", in_gap_night, &ny).unwrap();
    assert!(next > in_gap_night, "{next}");
}

#[test]
fn bad_values_are_refused_and_nothing_panics() {
    for bad in [
        "",
        "someday",
        "+soon",
        "2026-02-30",
        "2026-02-30 10:00",
        "내일 25:00",
        "tomorrow 13pm",
        "tomorrow 0am",
        "오후 13시",
        "오후 3pm",
        "내일 3",
        "3",
        "tomorrow 9am extra",
        "9999-12-31 23:00",
        "0000-06-01",
        "+70000000h",
        "+9000y",
        "-009999-01-03T00:00:00Z",
        "2026-12-24 9:5",
        "2026-12-24T09:00:0",
    ] {
        assert!(parse_when(bad, now(), &seoul()).is_err(), "{bad}");
    }
    assert!(parse_when("9999-12-29 18:00", now(), &seoul()).is_ok());
}

#[test]
fn a_time_in_the_past_gets_one_warning_naming_it_in_the_zone() {
    let at = parse_when("오늘 09:00", now(), &seoul()).unwrap();
    let w = past_warning("오늘 09:00", at, now(), &seoul()).unwrap();
    assert_eq!(w, "due time `오늘 09:00` (2026-03-10 09:00 Asia/Seoul) is in the past; the task is due now");
    let later = parse_when("+1m", now(), &seoul()).unwrap();
    assert_eq!(past_warning("+1m", later, now(), &seoul()), None);
}

#[test]
fn free_text_continues_a_time_phrase_only_with_time_words() {
    assert!(continues("내일", "18:00"));
    assert!(continues("오늘", "오후"));
    assert!(continues("오늘 오후", "3시"));
    assert!(continues("tomorrow", "9am"));
    assert!(continues("tomorrow 9", "am"));
    assert!(continues("2026-12-24", "09:00"));
    assert!(!continues("내일", "3"));
    assert!(!continues("내일", "회의"));
    assert!(!continues("+3h", "18:00"));
    assert!(!continues("18:00", "fix"));
}
