//! Quick add: one line of free text turned into a task (`orch quick`, chat `!add`).
//!
//! Words with a meaning are taken out; the rest, in order, is the task text:
//! - `p0` / `p1` / `p2` (any case): the priority; another `p` and number (`p3`) is
//!   refused with the list of priorities (`orch add` takes such a word as text);
//! - `due:…`: any time [`crate::when`] reads, the same forms as `add --due`:
//!   `due:2026-12-01 18:00`, `due:2026-12-01`, `due:+3h`, `due:tomorrow 9am`,
//!   `due:내일 18:00`, `due:오늘 오후 3시`, `due:18:00` (the next such time); the words
//!   of a time phrase after `due:` go with it, and a quoted value also works
//!   (`due:"2026-12-01 18:00"`);
//! - `start:…`: the task is not claimed before that time (`add --not-before`), in the
//!   same forms as `due:` (`start:+2h`, `start:tomorrow 9am`, `start:"2026-12-01 09:00"`);
//! - `criteria:"…"` (or `criteria:word`): the success criteria;
//! - `#name`: the resource key (tasks sharing one never run at once). The name starts
//!   with a letter (any script: `#db`, `#배포`), so `fix issue #123` stays text.
//! - `@name`: the worker profile (`[profiles.NAME]` of orch.toml, checked by the add): `@`
//!   then an ASCII letter, then letters, digits, `_` or `-` (`a@b.c`, `@9` and `"@name"` are text).
//!
//! Relative days are calendar days in the display time zone; a day given without a time
//! means [`DEFAULT_DUE_TIME`] (18:00, the end of a working day, as in the seed queue).
//! Every due time must fall in the years 1 to 9999 ([`crate::time::check_due`]); the
//! parsing never panics on what a person typed (a test reads this file for `unwrap`).
//! Pure: `now` and the time zone come from the caller.

use crate::task::Priority;
use crate::when;
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// The time of a due day given without one.
pub const DEFAULT_DUE_TIME: (i8, i8) = when::DEFAULT_TIME;

/// What one line of text says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Quick {
    pub task: String,
    pub priority: Option<Priority>,
    pub due_at: Option<Timestamp>,
    /// Not claimed before this time (`start:…`).
    pub not_before: Option<Timestamp>,
    pub criteria: Option<String>,
    pub resource: Option<String>,
    /// The worker profile an `@name` word names.
    pub profile: Option<String>,
    /// Things worth saying that do not stop the add (a due time in the past).
    pub warnings: Vec<String>,
}

/// Why a line was refused; the message names the word.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QuickError(pub String);

/// One word of the line; `quoted` when its value came from quotes (`criteria:"a b"`).
#[derive(Debug)]
struct Word {
    text: String,
    quoted: bool,
}

/// Parses `line` at `now`, with relative days counted in `tz`.
pub fn parse(line: &str, now: Timestamp, tz: &TimeZone) -> Result<Quick, QuickError> {
    let words = split(line)?;
    let mut q = Quick::default();
    let mut text: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        i += 1;
        let lower = w.text.to_lowercase();
        let priority = if w.quoted { None } else { priority_word(&lower)? };
        if let Some(p) = priority {
            if let Some(old) = q.priority.filter(|old| *old != p) {
                return Err(QuickError(format!("two priorities given (`{old}` and `{p}`)")));
            }
            q.priority = Some(p);
        } else if let Some((key, value)) = ["due:", "start:"].iter().find_map(|k| Some((*k, strip_key(&w.text, k)?))) {
            let start = key == "start:";
            if (start && q.not_before.is_some()) || (!start && q.due_at.is_some()) {
                let what = if start { "start times" } else { "due times" };
                return Err(QuickError(format!("two {what} given")));
            }
            let mut value = value.to_string();
            // `due: 내일` (a space after the colon) takes the next word.
            if value.is_empty() && i < words.len() {
                value = words[i].text.clone();
                i += 1;
            }
            // `due:내일 18:00`, `due:오늘 오후 3시`: the words of a time phrase go together.
            while !w.quoted && i < words.len() && !words[i].quoted && when::continues(&value, &words[i].text) {
                value = format!("{value} {}", words[i].text);
                i += 1;
            }
            let at = parse_time(key, &value, now, tz)?;
            if start {
                q.not_before = Some(at);
            } else {
                q.warnings.extend(when::past_warning(&value, at, now, tz));
                q.due_at = Some(at);
            }
        } else if let Some(value) = strip_key(&w.text, "criteria:") {
            if q.criteria.is_some() {
                return Err(QuickError("two criteria given (quote one: criteria:\"1) … 2) …\")".into()));
            }
            let value = value.trim();
            if value.is_empty() {
                return Err(QuickError("criteria: is empty (write criteria:\"…\")".into()));
            }
            q.criteria = Some(value.to_string());
        } else if let Some(name) = resource_name(w) {
            if let Some(old) = q.resource.as_deref().filter(|r| *r != name) {
                return Err(QuickError(format!("two resources given (`#{old}` and `#{name}`)")));
            }
            q.resource = Some(name.to_string());
        } else if let Some(name) = profile_name(w) {
            if let Some(old) = q.profile.as_deref().filter(|p| *p != name) {
                return Err(QuickError(format!("two profiles given (`@{old}` and `@{name}`)")));
            }
            q.profile = Some(name.to_string());
        } else {
            text.push(&w.text);
        }
    }
    q.task = text.join(" ");
    if q.task.is_empty() {
        return Err(QuickError("no task text is left once p0/due:/start:/criteria:/#resource are taken out".into()));
    }
    Ok(q)
}

/// The priority a word names: `p` and a number (any case) is a priority, and one the
/// queue does not have (`p3`) is refused with the list; any other word is none.
fn priority_word(lower: &str) -> Result<Option<Priority>, QuickError> {
    let Some(digits) = lower.strip_prefix('p') else { return Ok(None) };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    match lower.parse::<Priority>() {
        Ok(p) => Ok(Some(p)),
        Err(_) => {
            let names: Vec<&str> = Priority::ALL.iter().map(|p| p.as_str()).collect();
            Err(QuickError(format!(
                "unknown priority `{lower}`: the priorities are {} (P0 the most urgent)",
                names.join(", ")
            )))
        }
    }
}

/// The resource a `#name` word names: `#` then a letter (so `#123`, an issue number,
/// and a lone `#` are text).
fn resource_name(w: &Word) -> Option<&str> {
    let name = w.text.strip_prefix('#').filter(|_| !w.quoted)?;
    name.chars().next().filter(|c| c.is_alphabetic()).map(|_| name)
}

/// The profile an `@name` word names: `@`, an ASCII letter, then ASCII letters, digits,
/// `_` or `-` (a profile name's form); any other word with `@` is text.
fn profile_name(w: &Word) -> Option<&str> {
    let name = w.text.strip_prefix('@').filter(|_| !w.quoted)?;
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    ok.then_some(name)
}

/// The keys whose value may be quoted.
const KEYS: [&str; 3] = ["due:", "start:", "criteria:"];

/// The value of `key:` when `word` starts with it (any case).
fn strip_key<'a>(word: &'a str, key: &str) -> Option<&'a str> {
    word.get(..key.len()).filter(|p| p.eq_ignore_ascii_case(key)).map(|_| &word[key.len()..])
}

/// Splits on whitespace; a `key:` followed by a quote reads to the closing quote.
fn split(line: &str) -> Result<Vec<Word>, QuickError> {
    let mut words = Vec::new();
    let mut rest = line.trim_start();
    while !rest.is_empty() {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let word = &rest[..end];
        let quote_at =
            KEYS.iter().find(|k| strip_key(word, k).is_some_and(|v| v.starts_with(['"', '“']))).map(|k| k.len());
        match quote_at.and_then(|c| Some((c, rest[c..].chars().next()?))) {
            Some((c, open)) => {
                let close = if open == '“' { '”' } else { '"' };
                let body_start = c + open.len_utf8();
                let Some(len) = rest[body_start..].find(close) else {
                    return Err(QuickError(format!("`{word}`: the quote is never closed")));
                };
                let text = format!("{}{}", &rest[..c], &rest[body_start..body_start + len]);
                words.push(Word { text, quoted: true });
                rest = rest[body_start + len + close.len_utf8()..].trim_start();
            }
            None => {
                words.push(Word { text: word.to_string(), quoted: false });
                rest = rest[end..].trim_start();
            }
        }
    }
    Ok(words)
}

/// A due value as `parse` accepts it: any form [`when::parse_when`] reads.
pub fn parse_due(value: &str, now: Timestamp, tz: &TimeZone) -> Result<Timestamp, QuickError> {
    parse_time("due:", value, now, tz)
}

/// The time after `key` (`due:`, `start:`): any form [`when::parse_when`] reads.
fn parse_time(key: &str, value: &str, now: Timestamp, tz: &TimeZone) -> Result<Timestamp, QuickError> {
    let value = value.trim();
    when::parse_when(value, now, tz).map_err(|why| QuickError(format!("{key}{value}: {why} ({})", when::EXAMPLES)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seoul() -> TimeZone {
        TimeZone::get("Asia/Seoul").unwrap()
    }

    /// 2026-03-10 15:30 in Seoul (06:30 UTC).
    fn now() -> Timestamp {
        "2026-03-10T06:30:00Z".parse().unwrap()
    }

    fn seoul_time(s: &str) -> Timestamp {
        crate::time::parse_display_time(s, &seoul()).unwrap()
    }

    #[test]
    fn each_form_is_understood() {
        struct Case {
            line: &'static str,
            task: &'static str,
            priority: Option<Priority>,
            due: Option<&'static str>,
            criteria: Option<&'static str>,
            resource: Option<&'static str>,
        }
        let case =
            |line, task, priority, due, criteria, resource| Case { line, task, priority, due, criteria, resource };
        let cases = [
            case("write the notes", "write the notes", None, None, None, None),
            case("p0 fix login", "fix login", Some(Priority::P0), None, None, None),
            case("fix login P2", "fix login", Some(Priority::P2), None, None, None),
            case("ship due:2026-12-01 18:00", "ship", None, Some("2026-12-01 18:00"), None, None),
            case("ship due:2026-12-01 9:05 now", "ship now", None, Some("2026-12-01 09:05"), None, None),
            case("ship due:2026-12-01", "ship", None, Some("2026-12-01 18:00"), None, None),
            case("ship due:\"2026-12-01 07:00\"", "ship", None, Some("2026-12-01 07:00"), None, None),
            case("ship due:+3h", "ship", None, Some("2026-03-10 18:30"), None, None),
            case("ship due:+1h30m", "ship", None, Some("2026-03-10 17:00"), None, None),
            case("ship due:+2d", "ship", None, Some("2026-03-12 15:30"), None, None),
            case("ship due:today 20:00", "ship", None, Some("2026-03-10 20:00"), None, None),
            case("ship due:tomorrow 18:00", "ship", None, Some("2026-03-11 18:00"), None, None),
            case("ship due:Tomorrow", "ship", None, Some("2026-03-11 18:00"), None, None),
            case("보고서 작성 due:오늘 23:59", "보고서 작성", None, Some("2026-03-10 23:59"), None, None),
            case("보고서 작성 due:내일 18:00", "보고서 작성", None, Some("2026-03-11 18:00"), None, None),
            case("보고서 작성 due:내일", "보고서 작성", None, Some("2026-03-11 18:00"), None, None),
            case("보고서 작성 due:모레 9:00", "보고서 작성", None, Some("2026-03-12 09:00"), None, None),
            case("보고서 작성 due:내일 18시", "보고서 작성", None, Some("2026-03-11 18:00"), None, None),
            case("보고서 due:모레 14시30분 작성", "보고서 작성", None, Some("2026-03-12 14:30"), None, None),
            case("call due:16:00", "call", None, Some("2026-03-10 16:00"), None, None),
            case("call due:09:00", "call", None, Some("2026-03-11 09:00"), None, None),
            case("call due: 내일", "call", None, Some("2026-03-11 18:00"), None, None),
            case(
                "docs criteria:\"1) one page 2) p0 items first\"",
                "docs",
                None,
                None,
                Some("1) one page 2) p0 items first"),
                None,
            ),
            case("docs criteria:“한 페이지 이내”", "docs", None, None, Some("한 페이지 이내"), None),
            case("docs criteria:reviewed", "docs", None, None, Some("reviewed"), None),
            case("migrate #db p1", "migrate", Some(Priority::P1), None, None, Some("db")),
            case(
                "p0 릴리즈 노트 작성 due:내일 18:00 criteria:\"1) 변경사항 전부 2) 한 페이지\" #docs",
                "릴리즈 노트 작성",
                Some(Priority::P0),
                Some("2026-03-11 18:00"),
                Some("1) 변경사항 전부 2) 한 페이지"),
                Some("docs"),
            ),
            case("see http://x.y/a #", "see http://x.y/a #", None, None, None, None),
            case("fix issue #123", "fix issue #123", None, None, None, None),
            case("plan p2p sync p", "plan p2p sync p", None, None, None, None),
            case("fix #123 #api", "fix #123", None, None, None, Some("api")),
            case("배포 준비 #배포", "배포 준비", None, None, None, Some("배포")),
            case("tag ##x #_y", "tag ##x #_y", None, None, None, None),
        ];
        for c in cases {
            let q = parse(c.line, now(), &seoul()).unwrap_or_else(|e| panic!("{}: {e}", c.line));
            assert_eq!(q.task, c.task, "{}", c.line);
            assert_eq!(q.priority, c.priority, "{}", c.line);
            assert_eq!(q.due_at, c.due.map(seoul_time), "{}", c.line);
            assert_eq!(q.criteria.as_deref(), c.criteria, "{}", c.line);
            assert_eq!(q.resource.as_deref(), c.resource, "{}", c.line);
            assert!(q.warnings.is_empty(), "{}: {:?}", c.line, q.warnings);
        }
    }

    #[test]
    fn relative_days_are_calendar_days_in_the_display_zone() {
        // 01:30 on the 11th in Seoul is still the 10th in UTC: "tomorrow" is Seoul's.
        let late: Timestamp = "2026-03-10T16:30:00Z".parse().unwrap();
        let q = parse("x due:내일 09:00", late, &seoul()).unwrap();
        assert_eq!(q.due_at, Some(seoul_time("2026-03-12 09:00")));
        let utc = parse("x due:tomorrow 09:00", late, &TimeZone::UTC).unwrap();
        assert_eq!(utc.due_at, Some("2026-03-11T09:00:00Z".parse().unwrap()));
    }

    #[test]
    fn due_times_past_the_year_9999_or_before_the_year_1_are_refused() {
        for bad in [
            "+70000000h",
            "+999999999999999h",
            "+9000y",
            "9999-12-31 23:00",
            "0000-06-01 18:00",
            "0000-06-01",
            "-009999-01-03T00:00:00Z",
            "9999-12-30T20:00:00Z",
        ] {
            let e = parse_due(bad, now(), &seoul()).unwrap_err();
            assert!(e.0.starts_with(&format!("due:{bad}: ")), "{bad}: {e:?}");
        }
        assert!(parse(&format!("x due:+{}h", 70_000_000), now(), &seoul()).is_err());
        assert!(parse_due("9999-12-29 18:00", now(), &seoul()).is_ok());
    }

    #[test]
    fn an_at_word_names_the_profile_and_other_at_words_are_text() {
        let q = parse("p0 @fast write the notes", now(), &seoul()).unwrap();
        assert_eq!((q.profile.as_deref(), q.task.as_str()), (Some("fast"), "write the notes"));
        let q = parse("mail a@b.c about @9 and \"@fast\"", now(), &seoul()).unwrap();
        assert_eq!((q.profile, q.task.as_str()), (None, "mail a@b.c about @9 and \"@fast\""));
    }

    #[test]
    fn a_start_word_holds_the_task_until_its_time() {
        let q = parse("p0 deploy start:+2h due:tomorrow 9am", now(), &seoul()).unwrap();
        assert_eq!((q.task.as_str(), q.not_before), ("deploy", Some(now() + jiff::SignedDuration::from_hours(2))));
        assert_eq!(q.due_at, Some(seoul_time("2026-03-11 09:00")));
        let q = parse("deploy start:\"2026-12-01 09:00\"", now(), &seoul()).unwrap();
        assert_eq!(q.not_before, Some(seoul_time("2026-12-01 09:00")));
        let err = parse("deploy start:soon", now(), &seoul()).unwrap_err().0;
        assert!(err.starts_with("start:soon: "), "{err}");
        assert_eq!(parse("x start:+1h start:+2h", now(), &seoul()).unwrap_err().0, "two start times given");
    }

    #[test]
    fn a_due_time_in_the_past_is_kept_with_a_warning() {
        let q = parse("x due:오늘 09:00", now(), &seoul()).unwrap();
        assert_eq!(q.due_at, Some(seoul_time("2026-03-10 09:00")));
        assert_eq!(q.warnings.len(), 1, "{:?}", q.warnings);
    }

    #[test]
    fn bad_lines_are_refused_naming_the_word() {
        let cases = [
            ("p0 due:2026-02-30", "due:2026-02-30"),
            ("x due:someday", "due:someday"),
            ("x due:내일 25:00", "not a time"),
            ("x due:+soon", "due:+soon"),
            ("x criteria:\"never closed", "never closed"),
            ("x criteria:", "criteria: is empty"),
            ("p0 p1 x", "two priorities"),
            ("p3 x", "unknown priority `p3`: the priorities are P0, P1, P2"),
            ("x P10", "unknown priority `p10`"),
            ("x #a #b", "two resources"),
            ("x @fast @slow", "two profiles"),
            ("x due:+1h due:+2h", "two due times"),
            ("p0 due:+1h #db", "no task text"),
            ("", "no task text"),
        ];
        for (line, want) in cases {
            let e = parse(line, now(), &seoul()).unwrap_err();
            assert!(e.to_string().contains(want), "{line}: {e}");
        }
    }
}
