//! Schedules: recurring work. A schedule names a cron pattern and the task each
//! occurrence becomes; [`plan`] decides, for one tick at `now`, which occurrences become
//! tasks and which are skipped (missed while nothing ticked, or refused while the
//! previous task is still open), and how far the schedule has been handled.
//!
//! Each occurrence that becomes a task carries the idempotency key
//! [`occurrence_key`] (the schedule and the occurrence's instant), so however many
//! processes tick at once, an occurrence is one task.

use crate::cron::CronPattern;
use crate::task::Priority;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// How long after an occurrence a tick still counts it as on time, not missed.
pub const GRACE: SignedDuration = SignedDuration::from_secs(120);
/// At most this many occurrences are looked at in one tick (counted, listed in the
/// skipped event); older ones are counted as "more".
pub const SCAN_LIMIT: usize = 1000;
/// At most this many tasks come from one schedule in one tick (`--catch-up all`).
pub const FIRE_LIMIT: usize = 100;
/// The longest schedule name.
pub const NAME_MAX: usize = 64;

/// What a schedule does with occurrences it missed (no tick ran at their time).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CatchUp {
    /// Missed occurrences make no task; an occurrence is run only on time.
    None,
    /// One task for everything missed (the latest occurrence stands for the rest).
    #[default]
    One,
    /// A task for every missed occurrence (at most [`FIRE_LIMIT`] a tick).
    All,
}

impl CatchUp {
    pub fn as_str(self) -> &'static str {
        match self {
            CatchUp::None => "none",
            CatchUp::One => "one",
            CatchUp::All => "all",
        }
    }

    pub fn parse(s: &str) -> Result<CatchUp, String> {
        match s {
            "none" => Ok(CatchUp::None),
            "one" => Ok(CatchUp::One),
            "all" => Ok(CatchUp::All),
            _ => Err(format!("unknown catch-up `{s}` (expected one of none, one, all)")),
        }
    }
}

/// What a schedule makes: fixed when it is added.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    pub cron: String,
    pub task: String,
    pub priority: Priority,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_criteria: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// Whether an occurrence may start while the previous one's task is still open.
    pub overlap: bool,
    pub catch_up: CatchUp,
    pub created_at: Timestamp,
}

/// A schedule as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub name: String,
    pub spec: ScheduleSpec,
    pub paused: bool,
    /// Every occurrence at or before this instant has been handled (made a task or was
    /// skipped); it starts at the time the schedule was added (or resumed).
    pub last_tick: Timestamp,
    /// The task the last occurrence made.
    pub last_task: Option<String>,
    /// Bumped by every write (compare-and-set).
    pub version: i64,
}

/// Whether `name` may name a schedule: 1 to [`NAME_MAX`] letters, digits, `.`, `_`, `-`.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = (1..=NAME_MAX).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!("schedule name `{name}`: use 1 to {NAME_MAX} letters, digits, `.`, `_` or `-`"))
    }
}

/// A name made from a task's first words (`Nightly backup of db` → `nightly-backup-of`).
pub fn default_name(task: &str) -> String {
    let words: Vec<String> = task
        .split_whitespace()
        .map(|w| w.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase())
        .filter(|w| !w.is_empty())
        .take(3)
        .collect();
    let mut name = words.join("-");
    name.truncate(40);
    if name.is_empty() { "schedule".to_string() } else { name }
}

/// The idempotency key of one occurrence: the schedule and the occurrence's instant.
pub fn occurrence_key(name: &str, at: Timestamp) -> String {
    format!("schedule:{name}:{at}")
}

/// Why occurrences made no task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SkipReason {
    /// Their time passed with no tick (orch was not running), and the catch-up rule
    /// gave them no task of their own.
    Missed,
    /// The previous occurrence's task is still open (`--no-overlap`).
    Overlap,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Missed => "missed",
            SkipReason::Overlap => "the previous task is still open",
        }
    }
}

/// Occurrences that made no task.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Skipped {
    pub reason: SkipReason,
    /// How many (at least, when `more`).
    pub count: usize,
    /// More than [`SCAN_LIMIT`] were missed: `count` is a lower bound.
    pub more: bool,
    pub first: Timestamp,
    pub last: Timestamp,
}

/// One occurrence that becomes a task.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fire {
    pub at: Timestamp,
    /// How many missed occurrences this one task stands for besides its own.
    pub stands_for: usize,
}

/// What one tick of a schedule does.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// Occurrences that become tasks, oldest first.
    pub fire: Vec<Fire>,
    pub skipped: Vec<Skipped>,
    /// The new `last_tick`; `None` when nothing was due (nothing to write).
    pub handled_to: Option<Timestamp>,
}

/// Decides one tick of `s` at `now` (`previous_open`: the task of its last occurrence
/// is still open). A paused schedule does nothing.
pub fn plan(s: &Schedule, cron: &CronPattern, tz: &TimeZone, now: Timestamp, previous_open: bool) -> Plan {
    let Some(latest) = cron.latest_at_or_before(now, tz).filter(|l| *l > s.last_tick) else {
        return Plan::default();
    };
    if s.paused {
        return Plan::default();
    }
    // The due occurrences, newest first, as far as the limit.
    let mut due = vec![latest];
    let mut more = false;
    while let Some(prev) = cron.before(*due.last().expect("never empty"), tz).filter(|p| *p > s.last_tick) {
        if due.len() == SCAN_LIMIT {
            more = true;
            break;
        }
        due.push(prev);
    }
    due.reverse();
    let first_due = if more { cron.next_after(s.last_tick, tz).unwrap_or(due[0]) } else { due[0] };
    let on_time = now.duration_since(latest) < GRACE;
    let mut p = Plan { handled_to: Some(latest), ..Plan::default() };
    let skip = |reason, from: usize, to: usize, more: bool| Skipped {
        reason,
        count: to - from,
        more,
        first: if more && from == 0 { first_due } else { due[from] },
        last: due[to - 1],
    };
    if previous_open && !s.spec.overlap {
        if due.len() > 1 {
            p.skipped.push(skip(SkipReason::Missed, 0, due.len() - 1, more));
        }
        p.skipped.push(skip(SkipReason::Overlap, due.len() - 1, due.len(), false));
        return p;
    }
    let n = due.len();
    match s.spec.catch_up {
        CatchUp::One => {
            if n > 1 {
                p.skipped.push(skip(SkipReason::Missed, 0, n - 1, more));
            }
            p.fire.push(Fire { at: latest, stands_for: n - 1 });
        }
        CatchUp::None => {
            let fired = usize::from(on_time);
            if n > fired {
                p.skipped.push(skip(SkipReason::Missed, 0, n - fired, more));
            }
            if on_time {
                p.fire.push(Fire { at: latest, stands_for: 0 });
            }
        }
        CatchUp::All => {
            // SCAN_LIMIT > FIRE_LIMIT: when more were missed than counted, some are left out.
            let from = n.saturating_sub(FIRE_LIMIT);
            if from > 0 {
                p.skipped.push(skip(SkipReason::Missed, 0, from, more));
            }
            p.fire.extend(due[from..].iter().map(|at| Fire { at: *at, stands_for: 0 }));
        }
    }
    p
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
