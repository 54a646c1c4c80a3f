//! The one reader of a point in time a person types: `add --due`, `replan --due`,
//! `quick`'s `due:` and chat's `!add` all come here, so every command accepts the same
//! forms:
//!
//! - relative: `+3h`, `+30m`, `+2d`, `+1h 30m` (an exact duration from now; a day is
//!   24 hours);
//! - RFC 3339: `2026-12-24T09:00:00+09:00`, `2026-12-24T00:00:00Z`;
//! - a date, a date and a time: `2026-12-24` (at [`DEFAULT_TIME`]), `2026-12-24 09:00`,
//!   `2026-12-24T09:00`;
//! - a day word and an optional time: `today`, `tomorrow`, `오늘`, `내일`, `모레`
//!   (calendar days in the display zone; without a time, [`DEFAULT_TIME`]);
//! - a time alone: the next time the clock shows it (`18:00`, `9am`, `오후 3시`).
//!
//! A time is `18:00`, `9:30`, `18시`, `18시30분`, `9시반`, `9am`, `3:30pm`, `9 am`, with
//! an optional Korean `오전`/`오후` before it (`오후 3시`, `오후3시`).
//!
//! Wall-clock times are read in the zone given: a time that a daylight-saving gap skips
//! is taken on the gap's later side (02:30 on a spring-forward night is 03:30), a time
//! that a fold repeats is the earlier of the two. Every result is a due time orch keeps
//! ([`crate::time::check_due`]). Pure: `now` and the zone come from the caller; nothing
//! here panics on what a person typed (a test reads this file for `unwrap`).

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// The time of a day given without one: 18:00, the end of a working day.
pub const DEFAULT_TIME: (i8, i8) = (18, 0);

/// A short list of accepted forms, for refusals.
pub const EXAMPLES: &str = "examples: 2026-12-24 09:00, 2026-12-24, +3h, tomorrow 9am, today 18:00, 내일 18:00, 모레 9시, 오늘 오후 3시, RFC 3339";

/// Reads `s` at `now`, wall-clock times and day words in `tz`. The error says what is
/// wrong, without the value (the caller names the flag and the value).
pub fn parse_when(s: &str, now: Timestamp, tz: &TimeZone) -> Result<Timestamp, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty".into());
    }
    if let Some(rel) = s.strip_prefix('+') {
        let d = crate::time::parse_duration_at_most(rel, SignedDuration::MAX)?;
        return crate::time::due_after(now, d);
    }
    if let Ok(ts) = s.parse::<Timestamp>() {
        return crate::time::check_due(ts);
    }
    if let Some(dt) = civil_datetime(s) {
        return at_local(dt.date(), dt.time(), tz);
    }
    let words: Vec<&str> = s.split_whitespace().collect();
    let today = tz.to_datetime(now).date();
    let (first, rest) = words.split_first().ok_or("empty")?;
    let day = match relative_day(first) {
        Some(n) => Some(today.checked_add(jiff::Span::new().days(n)).map_err(|e| e.to_string())?),
        None => parse_date(first),
    };
    match day {
        Some(date) if rest.is_empty() => at_local(date, Time::constant(DEFAULT_TIME.0, DEFAULT_TIME.1, 0, 0), tz),
        Some(date) => {
            let time = parse_time_words(rest).ok_or_else(|| format!("`{}` is not a time (HH:MM)", rest.join(" ")))?;
            at_local(date, time, tz)
        }
        None => {
            let Some(time) = parse_time_words(&words) else {
                return Err("not a date, a day word, a time or +DURATION".into());
            };
            // A time alone: the next time the clock shows it.
            let at = at_local(today, time, tz)?;
            if at > now {
                return Ok(at);
            }
            at_local(today.tomorrow().map_err(|e| e.to_string())?, time, tz)
        }
    }
}

/// The warning every command gives for a due time before `now` (the time is kept):
/// `given` as typed, `at` in `tz`.
pub fn past_warning(given: &str, at: Timestamp, now: Timestamp, tz: &TimeZone) -> Option<String> {
    (at < now).then(|| {
        let zone = tz.iana_name().unwrap_or("the display time zone");
        format!(
            "due time `{}` ({} {zone}) is in the past; the task is due now",
            given.trim(),
            crate::time::format_display_time(at, tz)
        )
    })
}

/// Whether `next`, a word after `so_far` in free text, continues a time phrase
/// (`내일` then `18:00`, `오늘` then `오후`, `오후` then `3시`, `9` then `am`): quick-add
/// reads `due:내일 오후 3시` as one value this way.
pub fn continues(so_far: &str, next: &str) -> bool {
    let Some(last) = so_far.split_whitespace().last() else { return false };
    let after_day = relative_day(last).is_some() || parse_date(last).is_some();
    if after_day {
        // By shape (`25:00` too), so that a wrong time is refused rather than kept as text.
        return meridiem(next).is_some() || time_parts(next).is_some() || parse_time_words(&[next]).is_some();
    }
    if meridiem(last).is_some() {
        return time_parts(next).is_some() || bare_hour(next).is_some();
    }
    if bare_hour(last).is_some() || (time_parts(last).is_some() && last.contains(':')) {
        return am_pm(next).is_some();
    }
    false
}

/// Days after today named by a word, in the display time zone.
fn relative_day(word: &str) -> Option<i64> {
    match word.to_lowercase().as_str() {
        "today" | "오늘" => Some(0),
        "tomorrow" | "내일" => Some(1),
        "모레" => Some(2),
        _ => None,
    }
}

/// `YYYY-MM-DD`.
fn parse_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    let ok_shape = b.len() == 10 && b[4] == b'-' && b[7] == b'-';
    if !ok_shape {
        return None;
    }
    s.parse::<Date>().ok()
}

/// `YYYY-MM-DD HH:MM` or `YYYY-MM-DDTHH:MM[:SS]` (no offset: a wall-clock time).
fn civil_datetime(s: &str) -> Option<DateTime> {
    let (date, time) = s.split_once([' ', 'T'])?;
    let date = parse_date(date)?;
    let digits = |t: &str, min: usize| (min..=2).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = time.split(':').collect();
    let (h, m, sec) = match parts[..] {
        [h, m] => (h, m, "00"),
        [h, m, sec] => (h, m, sec),
        _ => return None,
    };
    if !digits(h, 1) || !digits(m, 2) || !digits(sec, 2) {
        return None;
    }
    let time = Time::new(h.parse().ok()?, m.parse().ok()?, sec.parse().ok()?, 0).ok()?;
    Some(date.to_datetime(time))
}

/// `오전` (before noon) → false, `오후` (after noon) → true.
fn meridiem(word: &str) -> Option<bool> {
    match word {
        "오전" => Some(false),
        "오후" => Some(true),
        _ => None,
    }
}

/// `am` → false, `pm` → true (any case, `a.m.` too).
fn am_pm(word: &str) -> Option<bool> {
    match word.to_lowercase().replace('.', "").as_str() {
        "am" => Some(false),
        "pm" => Some(true),
        _ => None,
    }
}

/// One or two digits: an hour waiting for its `am`/`pm`.
fn bare_hour(s: &str) -> Option<i8> {
    (!s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
}

/// `18:00`, `9:30`, `18시`, `18시30분`, `9시반` by their shape: (hour, minute), not yet
/// checked.
fn time_parts(s: &str) -> Option<(i8, i8)> {
    let (h, m, colon) = if let Some((h, m)) = s.split_once(':') {
        (h, m, true)
    } else if let Some(h) = s.strip_suffix("시반") {
        (h, "30", false)
    } else if let Some(h) = s.strip_suffix('시') {
        (h, "0", false)
    } else if let Some((h, m)) = s.strip_suffix('분').and_then(|r| r.split_once('시')) {
        (h, m, false)
    } else {
        return None;
    };
    let digits = |t: &str| !t.is_empty() && t.len() <= 2 && t.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || !digits(m) || (colon && m.len() != 2) {
        return None;
    }
    Some((h.parse().ok()?, m.parse().ok()?))
}

/// A time of day in one to three words: `[오전|오후] TIME`, `TIME[am|pm]`,
/// `HOUR am|pm`, checked.
fn parse_time_words(words: &[&str]) -> Option<Time> {
    let (after_noon_kr, words) = match words.split_first() {
        Some((w, rest)) if meridiem(w).is_some() => (meridiem(w), rest),
        _ => (None, words),
    };
    let (word, suffix) = match words {
        [w] => split_glued(w)?,
        [w, ap] => (*w, Some(am_pm(ap)?)),
        _ => return None,
    };
    // `오후3시` glued.
    let (after_noon_kr, word) = match (after_noon_kr, word.strip_prefix("오전"), word.strip_prefix("오후")) {
        (None, Some(w), _) => (Some(false), w),
        (None, _, Some(w)) => (Some(true), w),
        _ => (after_noon_kr, word),
    };
    let (h, m) = match time_parts(word) {
        Some(hm) => hm,
        None if suffix.is_some() || after_noon_kr.is_some() => (bare_hour(word)?, 0),
        None => return None,
    };
    let h = match (after_noon_kr, suffix) {
        (Some(_), Some(_)) => return None,
        (None, None) => h,
        // 12 am is midnight, 12 pm noon; an hour of 0 or past 12 takes no am/pm.
        (Some(pm), None) | (None, Some(pm)) if (1..=12).contains(&h) => h % 12 + if pm { 12 } else { 0 },
        _ => return None,
    };
    Time::new(h, m, 0, 0).ok()
}

/// `9am` → (`9`, am); `3:30PM` → (`3:30`, pm); any other word → (itself, none).
fn split_glued(w: &str) -> Option<(&str, Option<bool>)> {
    let lower = w.to_ascii_lowercase();
    for (suffix, pm) in [("am", false), ("pm", true), ("a.m.", false), ("p.m.", true)] {
        if lower.ends_with(suffix) && w.len() > suffix.len() {
            return Some((w.get(..w.len() - suffix.len())?, Some(pm)));
        }
    }
    Some((w, None))
}

/// The instant a wall-clock date and time name in `tz` (a gap takes the later side, a
/// fold the earlier), when it is a due time orch keeps.
fn at_local(date: Date, time: Time, tz: &TimeZone) -> Result<Timestamp, String> {
    let at = tz.to_ambiguous_timestamp(date.to_datetime(time)).compatible().map_err(|e| e.to_string())?;
    crate::time::check_due(at)
}

#[cfg(test)]
#[path = "when_tests.rs"]
mod tests;
