//! The records the store's primitives take and give besides tasks and events: runs and
//! their ends, where a worker runs, filters and queries, view marks, and the one-step
//! claim and settle.

use jiff::Timestamp;
use orch_core::event::Event;
use orch_core::outcome::Usage;
use orch_core::policy::FailureClass;
use orch_core::task::{Priority, Status, Task};

/// One attempt at a task.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Run {
    pub id: String,
    pub task_id: String,
    pub attempt: u32,
    pub owner: String,
    pub trace_id: String,
    pub lease_token: String,
    pub host: Option<String>,
    pub pid: Option<i64>,
    pub pgid: Option<i64>,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    pub outcome: Option<String>,
    pub class: Option<FailureClass>,
    pub reason: Option<String>,
    pub report: Option<String>,
    /// A report that came after the lease was lost: kept, never dropped.
    pub late_report: Option<String>,
    /// The start time of the worker's process (Linux: clock ticks since boot), so a
    /// later dispatcher never signals a reused pid.
    pub proc_start: Option<i64>,
    /// `dispatcher` or `exec` when orch spawned the worker; `None` for an agent that
    /// claimed for itself.
    pub spawned_by: Option<String>,
    /// The process that claimed the run to spawn its worker (a dispatcher or `exec`), as
    /// `HOST:PID:START`: recovery touches a run only once this process is provably gone.
    /// `None` for an agent that claimed for itself.
    pub dispatcher: Option<String>,
    pub usage: Usage,
    /// The gate's verdict (`PASS`, `RETRY`, `BLOCK`) and its reason.
    pub verdict: Option<String>,
    pub verdict_reason: Option<String>,
    /// The agent's own session id, read from its output (Claude Code's `session_id`,
    /// Codex's thread id), so a retry can resume it.
    pub session: Option<String>,
}

/// Where a run's worker process is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessInfo {
    pub host: String,
    pub pid: i64,
    pub pgid: i64,
    pub proc_start: Option<i64>,
    pub spawned_by: String,
}

/// How a run ends, as the store records it.
#[derive(Clone, Debug, PartialEq)]
pub struct RunEnd<'a> {
    pub outcome: &'a str,
    pub class: Option<FailureClass>,
    pub reason: Option<&'a str>,
    pub report: Option<&'a str>,
    pub at: Timestamp,
}

#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    pub statuses: Vec<Status>,
    pub priorities: Vec<Priority>,
}

/// How many rows a view shows (see [`crate::Tx::view_rows`]): every IN_PROGRESS task;
/// the other open tasks (PENDING, FAILED, BLOCKED) first in pick order
/// (`orch_core::policy::pick_order`) until `open` open rows are shown, or all of them
/// when `open` is `None`; and the `done` DONE tasks changed last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ViewKept {
    pub open: Option<usize>,
    pub done: usize,
}

impl ViewKept {
    /// Every open task and the `done` DONE tasks changed last (no bound on open ones).
    pub fn all_open(done: usize) -> ViewKept {
        ViewKept { open: None, done }
    }
}

/// What a view last showed of a task: its line, and the task version it showed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ViewMark {
    pub version: i64,
    pub line: String,
    pub eol: String,
}

/// How many earlier lines a view keeps per task (see [`crate::Tx::view_history`]).
pub const VIEW_HISTORY_KEPT: usize = 128;

/// The lines a view showed of a task before the one its mark holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ViewHistory {
    /// Each line with the (last) task version it showed, newest first.
    pub lines: Vec<(i64, String)>,
    /// Older lines were dropped (more than [`VIEW_HISTORY_KEPT`]): not every line the
    /// view showed of the task is known.
    pub forgotten: bool,
}

/// The key of a line among a task's earlier lines: its 64-bit hash, never 0 (the key
/// of the row that says older lines were dropped).
pub fn line_key(line: &str) -> i64 {
    let h = i64::from_ne_bytes(xxhash_rust::xxh3::xxh3_64(line.as_bytes()).to_ne_bytes());
    if h == 0 { 1 } else { h }
}

/// One row of a view as the view writes it (see [`Tx::view_lines`](crate::Tx::view_lines)).
#[derive(Clone, Debug, PartialEq)]
pub enum ViewRow {
    /// The view last showed the task at its current version: the row is that mark's
    /// line again, and the task's columns are not read.
    Kept { id: String, mark: ViewMark },
    /// The task changed since the view last showed it (its mark, if any, shows an older
    /// version), or the view never showed it. (Boxed: a view is mostly kept rows.)
    Changed { task: Box<Task>, mark: Option<ViewMark> },
}

impl ViewRow {
    /// A row of [`Tx::view_rows`](crate::Tx::view_rows) as [`Tx::view_lines`](crate::Tx::view_lines) gives it.
    pub fn of(task: Task, mark: Option<ViewMark>) -> ViewRow {
        match mark {
            Some(mark) if mark.version == task.version => ViewRow::Kept { id: task.id, mark },
            mark => ViewRow::Changed { task: Box::new(task), mark },
        }
    }

    pub fn id(&self) -> &str {
        match self {
            ViewRow::Kept { id, .. } => id,
            ViewRow::Changed { task, .. } => &task.id,
        }
    }

    /// The task's version now.
    pub fn version(&self) -> i64 {
        match self {
            ViewRow::Kept { mark, .. } => mark.version,
            ViewRow::Changed { task, .. } => task.version,
        }
    }

    pub fn mark(&self) -> Option<&ViewMark> {
        match self {
            ViewRow::Kept { mark, .. } => Some(mark),
            ViewRow::Changed { mark, .. } => mark.as_ref(),
        }
    }
}

/// What the store keeps of one view file besides its marks: the hash of the text orch
/// last wrote or imported there, and its frame (the text around the table, as JSON).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ViewInfo {
    pub hash: Option<String>,
    pub frame: Option<String>,
}

/// Which events [`Tx::events_query`](crate::Tx::events_query) returns. Every filter set must hold.
#[derive(Clone, Debug, Default)]
pub struct EventQuery {
    /// Only events after this sequence number (0: from the start).
    pub after: i64,
    /// Only events at or after this time.
    pub since: Option<Timestamp>,
    pub task_id: Option<String>,
    pub run_id: Option<String>,
    /// Only these event names; empty for all.
    pub kinds: Vec<String>,
    /// At most this many (0: no limit).
    pub limit: usize,
    /// Newest first (for "the last N"); oldest first otherwise.
    pub newest_first: bool,
}

/// What [`Tx::prune_before`](crate::Tx::prune_before) removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    /// The runs deleted (their folders under `.orch/runs/` go too).
    pub run_ids: Vec<String>,
    pub events: u64,
    /// The tasks whose history was pruned.
    pub tasks: u64,
}

/// What a claim writes before it knows its task (see [`Tx::claim_next`](crate::Tx::claim_next)).
#[derive(Clone, Copy, Debug)]
pub struct ClaimSpec<'a> {
    pub now: Timestamp,
    pub owner: &'a str,
    pub lease_until: Timestamp,
    /// The new run: its id, trace id, lease token, host, pid and process group. Its
    /// `task_id` and `attempt` are the claimed task's, filled in by the store.
    pub run: &'a Run,
}

/// What [`Tx::claim_next`](crate::Tx::claim_next) did.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // a return value, moved once per claim, never stored
pub enum NextClaim {
    /// The first eligible task in pick order is claimed: the task as it was and as it
    /// is now; its run is inserted and its `task.claimed` event written.
    Claimed { before: Task, after: Task },
    /// Nothing is eligible (and no lease has expired).
    Nothing,
    /// One step cannot decide this claim: a lease has expired (the sweep comes first),
    /// the first candidate has an idempotency key it does not own yet, or (PostgreSQL)
    /// a resource the store must lock first. Nothing was written; the caller takes the general
    /// path (sweep, candidates, keys) in the same transaction.
    Undecided,
}

/// A transition of a task read before the transaction, for [`Tx::task_settle`](crate::Tx::task_settle): the task
/// as the transition left it (its `version` still the one it was read at), what it does to
/// the task's live run, and its events.
#[derive(Clone, Debug)]
pub struct Settle<'a> {
    pub task: &'a Task,
    /// The run the change is about (the task's live run).
    pub run_id: Option<&'a str>,
    /// How that run ends, when the change ends it (recorded only while it has not ended).
    pub end: Option<RunEnd<'a>>,
    /// The gate's verdict on that run and its reason, recorded first.
    pub verdict: Option<(&'a str, &'a str)>,
    /// The events, in order, with their run and trace ids set.
    pub events: &'a [Event],
    /// Write only if no task lists this one in its `depends_on`.
    pub alone: bool,
}
