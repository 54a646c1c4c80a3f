//! Agents that stop on a usage limit: Claude Code's result (`-p --output-format json`,
//! or its plain text) and Codex's error event (`codex exec --json`) told from a worker's
//! raw stdout, with the time the limit resets when the text says it. Pure: the caller
//! turns a [`Limit`] into a deferral of the task's profile (`reset_at` with `now` and a
//! time zone); nothing here reads a report or the clock.
//!
//! Only the shapes kept as fixtures (`crates/orch/tests/fixtures/`) are recognised, and
//! only where the agent itself says so: the `result` of a Claude Code result object (or
//! a stdout that is that one line of text), and the `message` of a Codex `error` or
//! `turn.failed` event. A report that merely mentions a limit is a report.

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// Which agent stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Agent {
    Claude,
    Codex,
}

impl Agent {
    pub fn as_str(self) -> &'static str {
        match self {
            Agent::Claude => "claude",
            Agent::Codex => "codex",
        }
    }
}

/// When the limit resets, as far as the text says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reset {
    /// A Unix time (`Claude AI usage limit reached|1750000000`, Codex's `resets_at`).
    At(Timestamp),
    /// A while from now (`try again in 2 hours 5 minutes`, `resets_in_seconds`).
    In(SignedDuration),
    /// A wall-clock time (`resets 3pm`, `resets Feb 7, 11am (Asia/Seoul)`), in `zone`
    /// when named, else the caller's; the next such time when no date is given.
    Clock { date: Option<(Option<i16>, i8, i8)>, time: (i8, i8), zone: Option<String> },
    /// The limit is said, its end is not.
    Unknown,
}

/// A usage limit an agent reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limit {
    pub agent: Agent,
    pub reset: Reset,
    /// The agent's own words, for the event.
    pub message: String,
}

/// The usage limit `stdout` reports, if it is one.
pub fn recognise(stdout: &str) -> Option<Limit> {
    let text = stdout.trim();
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text)
        && v.get("type").and_then(|t| t.as_str()) == Some("result")
    {
        let result = v.get("result").and_then(|r| r.as_str())?;
        return claude(result);
    }
    if !text.contains('\n') && !text.starts_with('{') {
        return claude(text);
    }
    text.lines().rev().find_map(|line| codex(line.trim()))
}

/// Claude Code's words for a usage limit, at the start of its result.
fn claude(result: &str) -> Option<Limit> {
    let r = result.trim();
    let lower = r.to_lowercase();
    let said = ["claude ai usage limit reached", "claude usage limit reached", "you've hit your limit"]
        .iter()
        .any(|p| lower.starts_with(p))
        || (lower.len() < 200
            && lower.split(['∙', '·', '|']).next().is_some_and(|h| h.trim().ends_with("limit reached")));
    if !said {
        return None;
    }
    let reset = match r.split_once('|') {
        Some((_, n)) => unix(n.trim()).map_or(Reset::Unknown, Reset::At),
        None => {
            ["resets ", "reset at "].iter().find_map(|k| after_word(r, k).and_then(clock)).unwrap_or(Reset::Unknown)
        }
    };
    Some(Limit { agent: Agent::Claude, reset, message: r.to_string() })
}

/// A Codex event line that reports a usage limit.
fn codex(line: &str) -> Option<Limit> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let msg = match v.get("type")?.as_str()? {
        "error" => v.get("message")?.as_str()?,
        "turn.failed" => v.get("error")?.get("message")?.as_str()?,
        _ => return None,
    };
    let lower = msg.to_lowercase();
    let said = ["usage limit", "usage_limit_reached", "rate limit", "rate_limit_exceeded", "quota exceeded"]
        .iter()
        .any(|p| lower.contains(p));
    if !said {
        return None;
    }
    let reset = number_after(msg, "\"resets_at\":")
        .and_then(|n| unix(&n))
        .map(Reset::At)
        .or_else(|| {
            number_after(msg, "\"resets_in_seconds\":")
                .and_then(|n| n.parse().ok())
                .map(|s| Reset::In(SignedDuration::from_secs(s)))
        })
        .or_else(|| after_word(msg, "try again in ").and_then(duration_words).map(Reset::In))
        .or_else(|| after_word(msg, "try again at ").and_then(clock))
        .unwrap_or(Reset::Unknown);
    Some(Limit { agent: Agent::Codex, reset, message: msg.to_string() })
}

/// When the limit resets: `None` when the text did not say (or said a time that does
/// not exist). `zone` is the zone a wall-clock time is read in; the caller chooses it
/// (the one the text names, else its own).
pub fn reset_at(reset: &Reset, now: Timestamp, zone: &TimeZone) -> Option<Timestamp> {
    match reset {
        Reset::At(t) => Some(*t),
        Reset::In(d) => Some(crate::time::later(now, *d)),
        Reset::Unknown => None,
        Reset::Clock { date, time: (h, m), zone: _ } => {
            let today = zone.to_datetime(now).date();
            let at =
                |d: Date| zone.to_ambiguous_timestamp(d.to_datetime(Time::new(*h, *m, 0, 0).ok()?)).compatible().ok();
            let first = match date {
                None => today,
                Some((year, month, day)) => Date::new(year.unwrap_or(today.year()), *month, *day).ok()?,
            };
            let t = at(first)?;
            if t > now || matches!(date, Some((Some(_), _, _))) {
                return Some(t);
            }
            let next = match date {
                None => first.tomorrow().ok()?,
                Some((_, month, day)) => Date::new(first.year() + 1, *month, *day).ok()?,
            };
            at(next)
        }
    }
}

fn unix(n: &str) -> Option<Timestamp> {
    let digits: String = n.chars().take_while(char::is_ascii_digit).collect();
    Timestamp::from_second(digits.parse().ok()?).ok()
}

/// The text after the first `word` (case-insensitive).
fn after_word<'a>(text: &'a str, word: &str) -> Option<&'a str> {
    let i = text.to_lowercase().find(word)?;
    text.get(i + word.len()..)
}

/// The digits after `key` (spaces skipped).
fn number_after(text: &str, key: &str) -> Option<String> {
    let rest = text.get(text.find(key)? + key.len()..)?.trim_start();
    let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (!n.is_empty()).then_some(n)
}

/// `2 hours 5 minutes`, `3 days 1 hour`, `45 seconds`: the sum of the leading pairs.
fn duration_words(text: &str) -> Option<SignedDuration> {
    let words: Vec<&str> = text.split(|c: char| c.is_whitespace() || c == ',').filter(|w| !w.is_empty()).collect();
    let mut total = SignedDuration::ZERO;
    let mut read = false;
    for pair in words.chunks(2) {
        let [n, unit] = pair else { break };
        let Ok(n) = n.parse::<i64>() else { break };
        let unit = unit.trim_end_matches(['.', ';']).to_lowercase();
        let secs = match unit.trim_end_matches('s') {
            "day" => 86_400,
            "hour" => 3_600,
            "minute" | "min" => 60,
            "second" | "sec" => 1,
            _ => break,
        };
        total = total.checked_add(SignedDuration::from_secs(n.checked_mul(secs)?))?;
        read = true;
    }
    read.then_some(total)
}

const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/// A wall-clock time as the agents write it: `3pm`, `3:30am (Europe/Moscow)`,
/// `Feb 7, 11am (Asia/Seoul)`, `Apr 28th, 2026 10:03 PM`, `15:00`.
fn clock(text: &str) -> Option<Reset> {
    let zone = text.split_once('(').and_then(|(_, z)| z.split_once(')')).map(|(z, _)| z.trim().to_string());
    let head = text.split(['(', '\n', '/']).next()?.trim().trim_end_matches('.');
    let words: Vec<String> =
        head.split([' ', ',']).filter(|w| !w.is_empty()).map(str::to_lowercase).collect::<Vec<_>>();
    let mut date = None;
    let mut rest = &words[..];
    if let Some(first) = words.first()
        && let Some(m) = MONTHS.iter().position(|m| first.starts_with(m))
    {
        let day: String = words.get(1)?.chars().take_while(char::is_ascii_digit).collect();
        let day: i8 = day.parse().ok()?;
        rest = &words[2..];
        let mut year = None;
        if let Some(y) = rest.first().filter(|w| w.len() == 4).and_then(|w| w.parse::<i16>().ok()) {
            year = Some(y);
            rest = &rest[1..];
        }
        date = Some((year, i8::try_from(m + 1).ok()?, day));
    }
    let mut spoken = rest.first()?.clone();
    if let Some(ampm) = rest.get(1).filter(|w| *w == "am" || *w == "pm") {
        spoken.push_str(ampm);
    }
    Some(Reset::Clock { date, time: time_of_day(spoken.trim_end_matches('.'))?, zone })
}

/// `3pm`, `12am`, `3:30am`, `10:03pm`, `15:00` → (hour, minute).
fn time_of_day(s: &str) -> Option<(i8, i8)> {
    let (digits, half) = match s.strip_suffix("am").or_else(|| s.strip_suffix("a.m")) {
        Some(d) => (d, Some(false)),
        None => match s.strip_suffix("pm").or_else(|| s.strip_suffix("p.m")) {
            Some(d) => (d, Some(true)),
            None => (s, None),
        },
    };
    let (h, m) = match digits.split_once(':') {
        Some((h, m)) => (h.parse::<i8>().ok()?, m.parse::<i8>().ok()?),
        None => (digits.parse::<i8>().ok()?, 0),
    };
    let h = match half {
        Some(pm) if (1..=12).contains(&h) => h % 12 + if pm { 12 } else { 0 },
        Some(_) => return None,
        None if s.contains(':') => h,
        None => return None,
    };
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some((h, m))
}

#[cfg(test)]
#[path = "usage_limit_tests.rs"]
mod tests;
