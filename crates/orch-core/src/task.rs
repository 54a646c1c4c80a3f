//! The task model: statuses, priorities, leases and the task record itself.
//!
//! A task is one row of the queue. Fields that only make sense in one status (`lease`
//! while IN_PROGRESS, `retry_at` while FAILED) are kept consistent by `state::transition`,
//! the only place that changes a task's status; `Task::check_invariants` states them.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The five statuses of the seed queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Pending,
    InProgress,
    Done,
    Failed,
    Blocked,
}

impl Status {
    pub const ALL: [Status; 5] = [Status::Pending, Status::InProgress, Status::Done, Status::Failed, Status::Blocked];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "PENDING",
            Status::InProgress => "IN_PROGRESS",
            Status::Done => "DONE",
            Status::Failed => "FAILED",
            Status::Blocked => "BLOCKED",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value that is not one of the known names; the message lists the valid ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}` (expected one of {expected})")]
pub struct UnknownName {
    pub kind: &'static str,
    pub value: String,
    pub expected: &'static str,
}

impl FromStr for Status {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| UnknownName {
            kind: "status",
            value: s.to_string(),
            expected: "PENDING, IN_PROGRESS, DONE, FAILED, BLOCKED",
        })
    }
}

/// Priority: `P0` is the most urgent. The derived order puts P0 first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Priority {
    P0,
    P1,
    P2,
}

impl Priority {
    pub const ALL: [Priority; 3] = [Priority::P0, Priority::P1, Priority::P2];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::P0 => "P0",
            Priority::P1 => "P1",
            Priority::P2 => "P2",
        }
    }

    /// 0 for P0, 1 for P1, 2 for P2: the stored and sorted form.
    pub fn rank(self) -> i64 {
        self as i64
    }

    pub fn from_rank(rank: i64) -> Option<Priority> {
        Priority::ALL.get(usize::try_from(rank).ok()?).copied()
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Priority {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Priority::ALL.into_iter().find(|p| p.as_str().eq_ignore_ascii_case(s)).ok_or_else(|| UnknownName {
            kind: "priority",
            value: s.to_string(),
            expected: "P0, P1, P2",
        })
    }
}

/// A run's time-limited right to a task. Whoever presents `token` holds the task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub token: String,
    pub expires_at: Timestamp,
}

/// One task: the nine columns of QUEUE.md plus what the database keeps beside them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    pub id: String,
    pub status: Status,
    pub priority: Priority,
    pub task: String,
    pub success_criteria: Option<String>,
    pub owner: Option<String>,
    pub started_at: Option<Timestamp>,
    pub due_at: Option<Timestamp>,
    pub notes: Option<String>,
    /// Values of columns beyond the canonical nine, by column name, in file order.
    pub extra: Vec<(String, String)>,
    /// Attempts made so far (claims that were not given back by a shutdown).
    pub attempts: u32,
    pub max_attempts: u32,
    pub retry_at: Option<Timestamp>,
    /// A PENDING task is not claimed before this time (`add --not-before`, a worker's
    /// deferral); past, it says nothing.
    pub not_before: Option<Timestamp>,
    pub idempotency_key: Option<String>,
    pub depends_on: Vec<String>,
    pub resource: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Held while IN_PROGRESS by a claim; `None` on an IN_PROGRESS task means it was set
    /// by hand (an import) and nobody in orch holds it, so no watchdog expires it.
    pub lease: Option<Lease>,
    /// The current (or last) run of this task.
    pub run_id: Option<String>,
    /// Bumped by the store on every change; the compare-and-set guard.
    pub version: i64,
}

/// The extra column that names a task's worker profile (`orch.toml`'s `[profiles.NAME]`).
pub const EXTRA_PROFILE: &str = "profile";

/// The profile of a task that names none: `[worker]`.
pub const DEFAULT_PROFILE: &str = "default";

/// The extra column of QUEUE.md that shows a task's [`Task::not_before`] (a time, like
/// `due_at_kst`); the task keeps it in its own field, not among its extra values.
pub const COLUMN_NOT_BEFORE: &str = "not_before";

impl Task {
    /// The worker profile this task runs under: its `profile` column, else `default`
    /// (an empty or `-` cell is none).
    pub fn profile(&self) -> &str {
        self.extra
            .iter()
            .find(|(k, _)| k == EXTRA_PROFILE)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty() && *v != "-")
            .unwrap_or(DEFAULT_PROFILE)
    }

    /// A fresh PENDING task with nothing but its text set.
    pub fn new(id: String, task: String, priority: Priority, max_attempts: u32, now: Timestamp) -> Task {
        Task {
            id,
            status: Status::Pending,
            priority,
            task,
            success_criteria: None,
            owner: None,
            started_at: None,
            due_at: None,
            notes: None,
            extra: Vec::new(),
            attempts: 0,
            max_attempts,
            retry_at: None,
            not_before: None,
            idempotency_key: None,
            depends_on: Vec::new(),
            resource: None,
            created_at: now,
            updated_at: now,
            lease: None,
            run_id: None,
            version: 0,
        }
    }

    /// The rules every stored task obeys; `None` when they hold.
    pub fn check_invariants(&self) -> Option<String> {
        if self.lease.is_some() && self.status != Status::InProgress {
            return Some(format!("{} is {} but holds a lease", self.id, self.status));
        }
        if self.retry_at.is_some() && self.status != Status::Failed {
            return Some(format!("{} is {} but has retry_at", self.id, self.status));
        }
        None
    }

    /// The time a PENDING task waits for before it may be claimed; `None` when it waits
    /// for no time at `now` (another status, no not-before, or one that passed).
    pub fn waiting_until(&self, now: Timestamp) -> Option<Timestamp> {
        self.not_before.filter(|at| self.status == Status::Pending && *at > now)
    }

    /// Eligible for a claim at `now`, leaving dependencies and resources aside: PENDING
    /// and not waiting for its not-before time, or FAILED with a due retry.
    pub fn is_ready(&self, now: Timestamp) -> bool {
        match self.status {
            Status::Pending => self.not_before.is_none_or(|at| at <= now),
            Status::Failed => self.retry_at.is_some_and(|at| at <= now),
            _ => false,
        }
    }
}

/// The note a permanent failure adds (`state::transition`), as `retry_exhausted` ends
/// the notes of a task out of attempts: QUEUE.md's notes tell the kinds of FAILED apart.
pub const PERMANENT_NOTE: &str = "no_retry:permanent";

/// The three kinds of FAILED, which people must tell apart: waiting for a retry at a
/// time, out of attempts, or failed for good (a permanent failure: no retry however many
/// attempts are left). A FAILED task with no retry time is permanent when its notes end
/// with [`PERMANENT_NOTE`] or attempts are left, else out of attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailedKind {
    RetryAt(Timestamp),
    Exhausted,
    Permanent,
}

impl FailedKind {
    /// The kind of a task in `status`; `None` unless it is FAILED.
    pub fn of(task: &Task) -> Option<FailedKind> {
        Self::of_parts(task.status, task.retry_at, task.attempts, task.max_attempts, task.notes.as_deref())
    }

    /// [`FailedKind::of`] from the fields a view of a task carries.
    pub fn of_parts(
        status: Status,
        retry_at: Option<Timestamp>,
        attempts: u32,
        max_attempts: u32,
        notes: Option<&str>,
    ) -> Option<FailedKind> {
        if status != Status::Failed {
            return None;
        }
        let permanent = notes.is_some_and(|n| n.trim_end().ends_with(PERMANENT_NOTE));
        Some(match retry_at {
            Some(at) => FailedKind::RetryAt(at),
            None if attempts >= max_attempts && !permanent => FailedKind::Exhausted,
            None => FailedKind::Permanent,
        })
    }

    /// How `list`, `show` and QUEUE.md say it: `retry in 2s (2026-03-10 15:32:05)`,
    /// `retries exhausted`, `permanent, not retried`.
    pub fn describe(self, now: Timestamp, tz: &jiff::tz::TimeZone) -> String {
        match self {
            FailedKind::RetryAt(at) => format!("retry {}", crate::time::format_next(at, now, tz)),
            FailedKind::Exhausted => "retries exhausted".to_string(),
            FailedKind::Permanent => "permanent, not retried".to_string(),
        }
    }
}

/// Appends a note the way the seed does: `old / new`. Notes are never overwritten.
pub fn append_note(notes: &mut Option<String>, text: &str) {
    let text = text.trim();
    if text.is_empty() {
        return;
    }
    match notes {
        Some(n) if !n.is_empty() => {
            n.push_str(" / ");
            n.push_str(text);
        }
        _ => *notes = Some(text.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_kinds_of_failed_are_told_apart() {
        let now: Timestamp = "2026-03-10T06:30:00Z".parse().unwrap();
        let soon: Timestamp = "2026-03-10T06:30:02Z".parse().unwrap();
        let tz = jiff::tz::TimeZone::get("Asia/Seoul").unwrap();
        let said = |k: Option<FailedKind>| k.map(|k| k.describe(now, &tz));
        let kind = |status, retry_at, attempts, notes| FailedKind::of_parts(status, retry_at, attempts, 3, notes);
        assert_eq!(said(kind(Status::Failed, Some(soon), 1, None)).unwrap(), "retry in 2s (2026-03-10 15:30:02)");
        let exhausted = Some("exit_code:1 / retry_exhausted");
        assert_eq!(kind(Status::Failed, None, 3, exhausted), Some(FailedKind::Exhausted));
        assert_eq!(kind(Status::Failed, None, 1, Some("bad / no_retry:permanent")), Some(FailedKind::Permanent));
        assert_eq!(kind(Status::Failed, None, 3, Some("bad / no_retry:permanent")), Some(FailedKind::Permanent));
        assert_eq!(kind(Status::Blocked, None, 3, None), None);
        let mut t = Task::new("ORCH-001".into(), "x".into(), Priority::P1, 3, now);
        t.status = Status::Failed;
        assert_eq!(FailedKind::of(&t), Some(FailedKind::Permanent), "attempts left, no retry time");
    }

    #[test]
    fn statuses_round_trip_and_unknown_is_named() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>().unwrap(), s);
        }
        let err = "DOING".parse::<Status>().unwrap_err();
        assert!(err.to_string().contains("unknown status `DOING`"));
    }

    #[test]
    fn priority_order_puts_p0_first() {
        assert!(Priority::P0 < Priority::P1 && Priority::P1 < Priority::P2);
        assert_eq!("p1".parse::<Priority>().unwrap(), Priority::P1);
        assert!("P3".parse::<Priority>().is_err());
        assert_eq!(Priority::from_rank(2), Some(Priority::P2));
        assert_eq!(Priority::from_rank(3), None);
    }

    #[test]
    fn notes_are_appended_with_a_slash() {
        let mut n = None;
        append_note(&mut n, "a");
        append_note(&mut n, "  ");
        append_note(&mut n, "replan:b");
        assert_eq!(n.as_deref(), Some("a / replan:b"));
    }
}
