//! Cron patterns: parsed and searched by the `croner` crate, evaluated in a time zone
//! through a small adapter to jiff (the time library of the rest of orch).
//!
//! A pattern has the standard five fields (minute, hour, day of month, month, day of
//! week) or six with seconds first, or is one of `@hourly`, `@daily`, `@weekly`,
//! `@monthly`, `@yearly`. Its wall-clock times are read in the time zone given; across
//! daylight saving changes croner's rules hold: a fixed time of day that falls in a
//! spring-forward gap runs at the first instant after the gap, and one that happens twice
//! in a fall-back overlap runs once, at the earlier instant; an interval pattern (`*/15`,
//! `*`) skips the missing wall-clock times and runs on both instants of repeated ones.

use croner::errors::CronError;
use croner::parser::{CronParser, Seconds, Year};
use croner::{CivilDate, CivilDateTime, CivilTime, CronDateTime, Resolution, Weekday};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp, ZonedDateTime};
use std::cmp::Ordering;

/// A parsed cron pattern.
#[derive(Clone, Debug)]
pub struct CronPattern {
    cron: croner::Cron,
    text: String,
}

/// Reads a cron pattern, or says what is wrong with it.
pub fn parse(text: &str) -> Result<CronPattern, String> {
    let trimmed = text.trim();
    let fields = trimmed.split_whitespace().count();
    if !trimmed.starts_with('@') && !(5..=6).contains(&fields) {
        return Err(format!(
            "cron pattern `{trimmed}` has {fields} fields; give 5 (minute hour day month weekday) or 6 (seconds first)"
        ));
    }
    let parser = CronParser::builder().seconds(Seconds::Optional).year(Year::Disallowed).build();
    let cron = parser.parse(trimmed).map_err(|e| format!("cron pattern `{trimmed}`: {}", message(&e)))?;
    Ok(CronPattern { cron, text: trimmed.to_string() })
}

fn message(e: &CronError) -> String {
    match e {
        CronError::EmptyPattern => "empty".into(),
        CronError::InvalidPattern(m) | CronError::IllegalCharacters(m) | CronError::ComponentError(m) => m.clone(),
        other => other.to_string(),
    }
}

impl CronPattern {
    /// The pattern as it was given (trimmed).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first occurrence strictly after `t`; `None` when there is none within the
    /// years croner searches.
    pub fn next_after(&self, t: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let at = At(t.to_zoned_datetime(tz.clone()));
        self.cron.find_next_occurrence(&at, false).ok().map(|z| z.0.timestamp())
    }

    /// The last occurrence at or before `t`.
    pub fn latest_at_or_before(&self, t: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let at = At(t.to_zoned_datetime(tz.clone()));
        self.cron.find_previous_occurrence(&at, true).ok().map(|z| z.0.timestamp()).filter(|o| *o <= t)
    }

    /// The last occurrence strictly before `t`.
    pub fn before(&self, t: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let at = At(t.to_zoned_datetime(tz.clone()));
        self.cron.find_previous_occurrence(&at, false).ok().map(|z| z.0.timestamp()).filter(|o| *o < t)
    }

    /// Up to `n` occurrences after `t`, in order.
    pub fn next_n(&self, t: Timestamp, tz: &TimeZone, n: usize) -> Vec<Timestamp> {
        let mut out = Vec::with_capacity(n.min(1000));
        let mut from = t;
        while out.len() < n {
            let Some(next) = self.next_after(from, tz) else { break };
            out.push(next);
            from = next;
        }
        out
    }
}

/// A zoned time as croner sees it: the adapter between croner and jiff.
#[derive(Clone, Debug)]
struct At(ZonedDateTime);

impl CronDateTime for At {
    fn to_civil(&self) -> CivilDateTime {
        let d = self.0.datetime();
        CivilDateTime::new(
            CivilDate::from_parts_unchecked(i32::from(d.year()), d.month() as u32, d.day() as u32),
            CivilTime::from_parts_unchecked(d.hour() as u32, d.minute() as u32, d.second() as u32),
        )
    }

    fn civil_weekday(&self) -> Weekday {
        Weekday::from_days_from_sunday(u32::from(self.0.weekday().to_sunday_zero_offset().unsigned_abs()))
    }

    fn resolve_civil(&self, civil: CivilDateTime) -> Result<Resolution<Self>, CronError> {
        let year = i16::try_from(civil.year()).map_err(|_| CronError::InvalidDate)?;
        let small = |v: u32| i8::try_from(v).map_err(|_| CronError::InvalidDate);
        let dt = jiff::civil::DateTime::new(
            year,
            small(civil.month())?,
            small(civil.day())?,
            small(civil.hour())?,
            small(civil.minute())?,
            small(civil.second())?,
            0,
        )
        .map_err(|_| CronError::InvalidDate)?;
        let ambiguous = self.0.time_zone().to_ambiguous_zoned_datetime(dt);
        Ok(match ambiguous.offset() {
            AmbiguousOffset::Unambiguous { .. } => {
                Resolution::Single(At(ambiguous.unambiguous().map_err(|_| CronError::InvalidTime)?))
            }
            AmbiguousOffset::Fold { .. } => {
                let earlier = ambiguous.clone().earlier().map_err(|_| CronError::InvalidTime)?;
                let later = ambiguous.later().map_err(|_| CronError::InvalidTime)?;
                Resolution::Ambiguous(At(earlier), At(later))
            }
            AmbiguousOffset::Gap { .. } => Resolution::Gap,
        })
    }

    fn checked_add_seconds(&self, seconds: i64) -> Option<Self> {
        self.0.checked_add(SignedDuration::from_secs(seconds)).ok().map(At)
    }

    fn cmp_instant(&self, other: &Self) -> Ordering {
        self.0.timestamp().cmp(&other.0.timestamp())
    }
}

#[cfg(test)]
#[path = "cron_tests.rs"]
mod tests;
