//! `orch-store`: where tasks, runs, events and the view's bookkeeping live. The only
//! crate that holds SQL; it depends on `orch-core` alone and never calls up.
//!
//! A backend offers transactions ([`Backend::write`], [`Backend::read`]); inside one, a
//! [`Tx`] offers domain-level primitives (get a task, update it with compare-and-set,
//! list the claimable ones in pick order, record a run, append an event). The rules —
//! which transition is allowed, what an import does — live above, in `ops`, and are the
//! same for every backend.
//!
//! Layout: this file holds the contract (`Backend`, `Tx`, `Capabilities`, `StoreError`,
//! `open`/`create`); `records` the records the primitives take and give; `sql` the few
//! statements both dialects take as they are; `columns` the column lists, row decoders
//! and task write binds both stores share; `sqlite/` and `postgres/` the two stores
//! (each with `txn`, its transaction, and `tx`, the `Tx` implementation on it);
//! `schedules` the columns of a schedule both stores share; `dispatchers` the record of
//! a dispatcher's liveness and its columns;
//! `mask/` the wrapper that masks secrets in everything written (`mask/tx.rs` the
//! `Backend` wrapper); `migrate` moves a queue between stores.

#[macro_use]
mod columns;
mod connect;
mod dispatchers;
pub mod mask;
pub mod migrate;
pub mod postgres;
mod records;
mod schedules;
mod sql;
pub mod sqlite;

pub use connect::{create, open};
pub use dispatchers::DispatcherRecord;
pub use records::*;
pub(crate) use sql::{Dialect, TASK_COUNTS_SQL, TASKS_WAITING_SQL, task_count, task_list_sql, tasks_each_sql};

use jiff::Timestamp;
use orch_core::event::Event;
use orch_core::outcome::Usage;
use orch_core::schedule::Schedule;
use orch_core::task::{Priority, Status, Task};
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no task {0}")]
    NotFound(String),
    /// A compare-and-set lost its race, or a unique key is taken.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database stayed locked past the busy timeout.
    #[error("database busy: {0}")]
    Busy(String),
    /// The database server cannot be reached (the connection was lost, or cannot be
    /// made): it may come back.
    #[error("{0}")]
    Unavailable(String),
    /// The database cannot be opened or used as given (bad path, bad URL, wrong schema).
    #[error("{0}")]
    Open(String),
    #[error("database error: {0}")]
    Db(String),
    /// A write closure rolled back on purpose, for a reason of its own (a refused import,
    /// a rule that refused a step): never run again, and handed back as the closure gave
    /// it, for its caller to recognise by type ([`StoreError::aborted`]), never by text.
    #[error("{0}")]
    Aborted(Box<dyn std::error::Error + Send + Sync>),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// Whether trying again later may succeed: the database was busy or away.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Busy(_) | StoreError::Unavailable(_))
    }

    /// What a write closure returns to roll back for `reason` ([`StoreError::Aborted`]).
    pub fn abort(reason: impl std::error::Error + Send + Sync + 'static) -> StoreError {
        StoreError::Aborted(Box::new(reason))
    }

    /// The reason of an [`StoreError::Aborted`], when it is an `E`.
    pub fn aborted<E: std::error::Error + 'static>(&self) -> Option<&E> {
        match self {
            StoreError::Aborted(reason) => reason.downcast_ref::<E>(),
            _ => None,
        }
    }
}

/// The primitives of one transaction. Every method is a domain operation; none is a
/// generic update.
///
/// A new method, with a default or not, must also be forwarded by `mask::MaskTx`, the
/// wrapper that masks secrets in history (events, runs' reasons and reports) on their way
/// in (a test there fails when one is not), so the store's own method runs and not the
/// slower default. Read transactions are wrapped too, so no write slips past the mask.
pub trait Tx {
    fn task_get(&mut self, id: &str) -> Result<Option<Task>>;
    /// Inserts a new task at the end of the queue's order. Its `version` is stored as given.
    /// A prefix and number name one task: an id taken already, however its number is
    /// written (`ORCH-7` beside `ORCH-007`), is a `Conflict`.
    fn task_insert(&mut self, task: &Task) -> Result<()>;
    /// The id of the task with this prefix and number, however its number is written.
    fn task_by_number(&mut self, prefix: &str, num: u64) -> Result<Option<String>>;
    /// Writes `task` if the stored version is still `task.version`; returns it with the
    /// version bumped. A lost race is `Conflict`.
    fn task_update(&mut self, task: &Task) -> Result<Task>;
    /// The tasks that list `id` in their `depends_on`.
    fn dependents_of(&mut self, id: &str) -> Result<Vec<Task>>;
    /// The highest id number in use with this prefix up to `orch_core::id::MAX_ID_NUM`
    /// (0 when none): a task stored with a larger number, as an older orch could import,
    /// never stops new ids.
    fn task_max_num(&mut self, prefix: &str) -> Result<u64>;

    /// The id numbers in use with this prefix from `from` on, ascending, at most `limit`
    /// of them: where new ids go once the numbers after the highest are taken.
    fn task_nums_from(&mut self, prefix: &str, from: u64, limit: usize) -> Result<Vec<u64>>;
    /// Tasks in queue order (the order of QUEUE.md).
    fn task_list(&mut self, filter: &ListFilter) -> Result<Vec<Task>>;
    /// The tasks that match `filter` in pick order (`orch_core::policy::pick_order`, the
    /// claim's ORDER BY), after skipping `offset` of them and at most `limit` (`None`:
    /// all), each handed to `f` as it is read: memory stays constant however many match.
    /// Read through an index in that order, never sorted whole. An error of `f` stops
    /// the walk and is returned.
    fn tasks_each(
        &mut self,
        filter: &ListFilter,
        limit: Option<u64>,
        offset: u64,
        f: &mut dyn FnMut(Task) -> Result<()>,
    ) -> Result<()>;
    /// How many tasks there are of each status and priority: the pairs that occur, in
    /// no particular order. Each store keeps these counts in a table of its own
    /// (`task_counts`), updated by triggers in the transaction of every task write, so
    /// reading them costs the same however long the queue.
    fn task_counts(&mut self) -> Result<Vec<(Status, Priority, u64)>> {
        let mut counts: Vec<(Status, Priority, u64)> = Vec::new();
        for t in self.task_list(&ListFilter::default())? {
            match counts.iter_mut().find(|(s, p, _)| *s == t.status && *p == t.priority) {
                Some(c) => c.2 += 1,
                None => counts.push((t.status, t.priority, 1)),
            }
        }
        Ok(counts)
    }
    /// How many PENDING tasks wait at `now` for their not-before time. Each store reads
    /// them from a partial index of those tasks (`tasks_not_before`): the cost follows
    /// how many wait, not the queue.
    fn tasks_waiting(&mut self, now: Timestamp) -> Result<u64> {
        let pending = ListFilter { statuses: vec![Status::Pending], priorities: Vec::new() };
        Ok(self.task_list(&pending)?.iter().filter(|t| t.waiting_until(now).is_some()).count() as u64)
    }
    /// Up to `limit` claimable tasks in pick order: ready at `now`, every dependency
    /// DONE, and no IN_PROGRESS task holding the same resource.
    fn claim_candidates(&mut self, now: Timestamp, limit: usize) -> Result<Vec<Task>>;
    /// The common claim in one step: when no lease has expired at `spec.now`, takes the
    /// first claimable task (in the order of [`Tx::claim_candidates`]) and writes what
    /// `state::transition` with `Command::Claim` makes of it (the caller checks), its
    /// run and its `task.claimed` event carrying the run's ids. A candidate that needs
    /// more — an idempotency key this task does not own yet, or (PostgreSQL) a resource
    /// to lock — is [`NextClaim::Undecided`], and nothing is written.
    fn claim_next(&mut self, spec: &ClaimSpec<'_>) -> Result<NextClaim>;
    /// Writes a transition computed from a task read before this transaction, in one
    /// step: when the stored task still has `s.task.version` (and, with `s.alone`, no
    /// task depends on it), records the verdict on the run, writes the task
    /// (compare-and-set, as [`Tx::task_update`]), ends the run and appends the events.
    /// Otherwise writes nothing and returns false: the caller goes the general way.
    /// (SQLite takes the same steps one by one, see [`settle_in_steps`].)
    fn task_settle(&mut self, s: &Settle<'_>) -> Result<bool>;
    /// Serialises the claims that count running tasks before they claim (a worker
    /// profile's limit holds across dispatchers): from this call until this transaction
    /// ends, no other transaction gets past its own call, and what it then reads includes
    /// every claim committed before. PostgreSQL takes an advisory transaction lock;
    /// SQLite's write transactions are one at a time already, so it does nothing.
    fn lock_counted_claims(&mut self) -> Result<()>;
    /// IN_PROGRESS tasks whose lease expired at or before `now`.
    fn expired_leases(&mut self, now: Timestamp) -> Result<Vec<Task>>;
    /// The task that owns an idempotency key.
    fn idempotency_owner(&mut self, key: &str) -> Result<Option<String>>;
    /// Takes `key` for `task_id`; false when another task has it already.
    fn idempotency_claim(&mut self, key: &str, task_id: &str) -> Result<bool>;

    /// Inserts a new run with who claimed it (`host`, `pid`, `pgid`, `spawned_by`,
    /// `dispatcher`); the rest is recorded as the run goes.
    fn run_insert(&mut self, run: &Run) -> Result<()>;
    fn run_end(&mut self, run_id: &str, end: &RunEnd<'_>) -> Result<()>;
    fn run_get(&mut self, run_id: &str) -> Result<Option<Run>>;
    fn run_by_token(&mut self, token: &str) -> Result<Option<Run>>;
    /// A task, and the run whose lease token is `token` when that token holds the task's
    /// lease (what a lease holder's `done` reads before the gate); `None` for no task.
    /// (SQLite reads one then the other, see [`task_and_holder_in_steps`].)
    fn task_and_holder(&mut self, id: &str, token: &str) -> Result<Option<(Task, Option<Run>)>>;
    fn run_late_report(&mut self, run_id: &str, report: &str) -> Result<()>;
    /// Records the process that executes a run (after it is spawned).
    fn run_set_process(&mut self, run_id: &str, p: &ProcessInfo) -> Result<()>;
    /// Unfinished runs that a dispatcher (or `exec`) on `host` claimed to spawn a worker
    /// for, i.e. with a `dispatcher` recorded (for a dispatcher to find what a dead one
    /// left behind), oldest first.
    fn runs_live_on(&mut self, host: &str) -> Result<Vec<Run>>;
    /// Adds to the usage recorded on a run.
    fn run_add_usage(&mut self, run_id: &str, usage: &Usage) -> Result<()>;
    /// Records the agent session id a run's worker reported (the last one stands).
    fn run_set_session(&mut self, run_id: &str, session: &str) -> Result<()>;
    /// Cost reported by runs that started at or after `since`.
    fn cost_since(&mut self, since: Timestamp) -> Result<f64>;
    /// Records the gate's verdict on a run.
    fn run_set_verdict(&mut self, run_id: &str, verdict: &str, reason: &str) -> Result<()>;
    fn runs_of(&mut self, task_id: &str) -> Result<Vec<Run>>;

    /// Appends an event; returns its sequence number. `event.seq` 0 draws the next
    /// number; a non-zero one is kept (a migration keeping history).
    fn event_insert(&mut self, event: &Event) -> Result<i64>;
    /// Appends events in the order given, each numbered as by [`Tx::event_insert`]
    /// (PostgreSQL: one statement for all).
    fn events_insert(&mut self, events: &[Event]) -> Result<()>;
    /// Up to `limit` events numbered after `seq`, in order, never one past an event that
    /// may still commit (a cursor that follows the numbers misses nothing). Fewer than
    /// `limit` means every event committed before the call began is among them.
    fn events_after(&mut self, seq: i64, limit: usize) -> Result<Vec<Event>>;

    /// Events matching `q` (see [`EventQuery`]).
    fn events_query(&mut self, q: &EventQuery) -> Result<Vec<Event>>;
    /// The events named in `kinds` of every task that has a run started at or after
    /// `since`, by task and then in sequence order (queue waits for `kpi`).
    fn events_of_tasks_run_since(&mut self, since: Timestamp, kinds: &[&str]) -> Result<Vec<Event>>;
    /// Runs that started or ended at or after `since`, and every run still going,
    /// oldest first.
    fn runs_since(&mut self, since: Timestamp) -> Result<Vec<Run>>;
    /// Retention: for every task DONE (and unchanged) since before `cutoff`, deletes its
    /// runs but the last one and all its events; also deletes the events older than
    /// `cutoff` that belong to no task. Nothing of an unfinished task is touched, and
    /// the newest event stays: new events are numbered after it, never reusing a number
    /// (SQLite numbers a row after the highest one left).
    fn prune_before(&mut self, cutoff: Timestamp) -> Result<Pruned>;

    /// Every schedule, by name.
    fn schedules(&mut self) -> Result<Vec<Schedule>>;
    fn schedule_get(&mut self, name: &str) -> Result<Option<Schedule>>;
    /// Inserts a new schedule, its `version` as given; a name taken is a `Conflict`.
    fn schedule_insert(&mut self, s: &Schedule) -> Result<()>;
    /// Writes what changes of a schedule (paused, last tick, last task) if the stored
    /// version is still `s.version`; returns it with the version bumped. A lost race is
    /// `Conflict`, a schedule that is gone `NotFound`.
    fn schedule_update(&mut self, s: &Schedule) -> Result<Schedule>;
    /// Removes a schedule (its tasks stay); false when there was none.
    fn schedule_delete(&mut self, name: &str) -> Result<bool>;

    /// Writes a dispatcher's record whole: inserted, or in place of the one with its id.
    fn dispatcher_put(&mut self, d: &DispatcherRecord) -> Result<()>;
    /// Every dispatcher recorded, by host, then start.
    fn dispatchers(&mut self) -> Result<Vec<DispatcherRecord>>;
    /// Removes the dispatchers last seen before `unseen_before` (stopped ones included);
    /// returns how many.
    fn dispatchers_prune(&mut self, unseen_before: Timestamp) -> Result<u64>;

    fn meta_get(&mut self, key: &str) -> Result<Option<String>>;
    fn meta_set(&mut self, key: &str, value: &str) -> Result<()>;
    /// Every meta entry, by key (a migration copies them all).
    fn meta_all(&mut self) -> Result<Vec<(String, String)>>;

    // Views. Each QUEUE.md file (on PostgreSQL, each host's) is a view with its own name;
    // its marks, hash and frame are its own, so two files never pass for each other.

    /// The rows of view `view`, in queue order: every IN_PROGRESS task, the other open
    /// tasks first in pick order up to `kept.open` open rows (all of them when `None`),
    /// plus the `kept.done` DONE tasks changed last (of those changed at the same
    /// instant, the later in queue order), each with its mark in that view. Reads only
    /// those rows, however long the queue and its DONE history.
    fn view_rows(&mut self, view: &str, kept: ViewKept) -> Result<Vec<(Task, Option<ViewMark>)>>;
    /// The rows of [`Tx::view_rows`], each as the view writes it: a task the view last
    /// showed at its current version comes as its mark alone ([`ViewRow::Kept`]), without
    /// reading its columns, so an unchanged view of any size costs little more than its
    /// lines. Each store has its own reading; this default, built on `view_rows`, is for
    /// wrappers that forward only the required methods.
    fn view_lines(&mut self, view: &str, kept: ViewKept) -> Result<Vec<ViewRow>> {
        Ok(self.view_rows(view, kept)?.into_iter().map(|(t, m)| ViewRow::of(t, m)).collect())
    }
    /// The tasks of [`Tx::view_rows`] (any view's: they do not depend on it) as ids and
    /// versions, in queue order: for a caller that holds the view's marks already. Each
    /// store reads only those two columns; the default is built on `view_rows`.
    fn view_versions(&mut self, kept: ViewKept) -> Result<Vec<(String, i64)>> {
        Ok(self.view_rows("", kept)?.into_iter().map(|(t, _)| (t.id, t.version)).collect())
    }
    /// Every mark of view `view`, by task id.
    fn view_marks(&mut self, view: &str) -> Result<HashMap<String, ViewMark>>;
    /// The mark of one task in view `view`. Each store looks it up by key; this default,
    /// built on `view_marks`, is for wrappers that forward only the required methods.
    fn view_mark(&mut self, view: &str, task_id: &str) -> Result<Option<ViewMark>> {
        Ok(self.view_marks(view)?.remove(task_id))
    }
    /// Sets the mark of one task in view `view`. When the mark held another line, that
    /// line joins the task's earlier lines ([`Tx::view_history`]); a mark with an empty
    /// line (forgotten) forgets them too.
    fn view_mark_set(&mut self, view: &str, task_id: &str, mark: &ViewMark) -> Result<()>;
    /// The lines view `view` showed of a task before its mark's, newest first: the last
    /// [`VIEW_HISTORY_KEPT`] different ones, each with the last version it showed, and
    /// whether older ones were dropped. Looked up by key.
    fn view_history(&mut self, view: &str, task_id: &str) -> Result<ViewHistory>;
    /// The hash and frame of view `view`; `None` for a view never written.
    fn view_get(&mut self, view: &str) -> Result<Option<ViewInfo>>;
    fn view_set_hash(&mut self, view: &str, hash: &str) -> Result<()>;
    fn view_set_frame(&mut self, view: &str, frame: &str) -> Result<()>;
    /// Every view (with a hash, a frame or marks) by name, with its hash and frame (a
    /// migration copies them).
    fn views(&mut self) -> Result<Vec<(String, ViewInfo)>>;
    /// Gives view `from`'s marks, hash and frame to `to`, which has none yet.
    fn view_rename(&mut self, from: &str, to: &str) -> Result<()>;
}

/// A database: transactions over [`Tx`].
pub trait Backend: Send + Sync {
    /// Runs `f` in a write transaction (SQLite: `BEGIN IMMEDIATE`) and commits when it
    /// returns `Ok`; rolls back on `Err`.
    ///
    /// **The closure may run again.** When an attempt fails in a way that trying again
    /// may cure, the store rolls it back and runs `f` anew in a fresh transaction, which
    /// sees nothing the earlier attempt wrote; only the last attempt's writes are ever
    /// committed. So `f` must start from what it reads in the transaction and reset
    /// whatever it keeps outside (its results, counters) at its top. Which errors run it
    /// again depends on the store:
    /// - PostgreSQL, up to 12 attempts: a `Conflict` the closure returns (a
    ///   compare-and-set lost to another writer, a key taken), a serialization failure,
    ///   a deadlock; and, for up to [`postgres::RECONNECT_WINDOW`], a connection lost
    ///   before COMMIT (run again on a new connection). A connection lost during COMMIT
    ///   is reported, never retried: the change may have been saved.
    /// - SQLite: none. A write transaction holds the database's write lock from its
    ///   start, so it cannot lose a race; a writer that finds the lock taken waits for it
    ///   (the busy timeout) before `f` runs, and then reports `Busy`. An error of `f` is
    ///   returned as it is, with everything `f` wrote rolled back.
    ///
    /// [`StoreError::Aborted`] is never run again, on either store: it is the closure's
    /// own decision to roll back ([`StoreError::abort`]).
    fn write(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()>;
    /// Runs `f` in a read transaction: one consistent snapshot.
    fn read(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()>;
    /// Blocks until another connection may have committed a change a dispatcher could
    /// act on, or `timeout` passes: a task added, a task that may be claimable now or
    /// later (PENDING, FAILED), a running task stopped by another hand than its lease
    /// holder's (its lease lost), a DONE that may release another task (one depends on
    /// it, or it had a resource or an idempotency key). A claim, a heartbeat or a note on
    /// a running task is not such a change. It must notice one within a few
    /// milliseconds (SQLite: polls `PRAGMA data_version`, which any commit moves;
    /// PostgreSQL: LISTEN/NOTIFY), so an idle dispatcher starts a new task at once.
    /// Returns whether a change was seen (a spurious `true` is allowed; a missed change
    /// is not).
    fn wait_for_change(&self, timeout: std::time::Duration) -> Result<bool>;
    /// A number that moves whenever another connection commits (SQLite's `PRAGMA
    /// data_version`), for a reader that keeps an answer until the data changes; `None`
    /// on a store without one (PostgreSQL). A connection's own commits do not move it,
    /// so ask it on a connection that never writes. Required, so a wrapper cannot
    /// forget to forward it.
    fn data_version(&self) -> Result<Option<i64>>;
    /// Where the data lives, for messages.
    fn describe(&self) -> String;
    /// What this store can do, for the callers that must choose by it (never by its
    /// URL). Required, so a wrapper cannot forget to forward it.
    fn capabilities(&self) -> Capabilities;
}

/// What a store can do: what a caller outside the store may choose by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// Processes on several hosts may share the store (PostgreSQL): what each machine
    /// keeps of its own, a view file, is named by host as well as path.
    pub shared_across_hosts: bool,
    /// Where the lock that keeps dispatchers apart goes.
    pub lock_scope: LockScope,
    /// Another process's commit wakes [`Backend::wait_for_change`] by a notification
    /// (PostgreSQL's LISTEN/NOTIFY) rather than by polling a counter.
    pub notify: bool,
}

/// Where the one-dispatcher lock goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockScope {
    /// One dispatcher per database file (SQLite): the lock is a file beside this one,
    /// the database, so homes that name the same database (`--db`) share it.
    DatabaseFile(std::path::PathBuf),
    /// Dispatchers share the database, one per host (PostgreSQL): the lock is the
    /// queue home's own.
    Home,
}

/// [`Tx::task_settle`] by the other primitives, one after the other: for a store with one
/// writer at a time, where nothing can change between the check and the writes.
pub fn settle_in_steps(tx: &mut dyn Tx, s: &Settle<'_>) -> Result<bool> {
    let t = s.task;
    if tx.task_get(&t.id)?.is_none_or(|stored| stored.version != t.version) {
        return Ok(false);
    }
    if s.alone && !tx.dependents_of(&t.id)?.is_empty() {
        return Ok(false);
    }
    if let (Some(run), Some((verdict, reason))) = (s.run_id, s.verdict) {
        tx.run_set_verdict(run, verdict, reason)?;
    }
    tx.task_update(t)?;
    if let (Some(run), Some(end)) = (s.run_id, &s.end) {
        tx.run_end(run, end)?;
    }
    tx.events_insert(s.events)?;
    Ok(true)
}

/// [`Tx::task_and_holder`] by [`Tx::task_get`] and [`Tx::run_by_token`].
pub fn task_and_holder_in_steps(tx: &mut dyn Tx, id: &str, token: &str) -> Result<Option<(Task, Option<Run>)>> {
    let Some(task) = tx.task_get(id)? else { return Ok(None) };
    let holds = task.lease.as_ref().is_some_and(|l| l.token == token);
    let run = if holds { tx.run_by_token(token)? } else { None };
    Ok(Some((task, run)))
}

/// Runs `f` in a write transaction and hands back its value: the value of its last run,
/// since `f` may run more than once (see [`Backend::write`]).
pub fn write<T>(db: &dyn Backend, mut f: impl FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
    let mut out = None;
    db.write(&mut |tx| {
        out = Some(f(tx)?);
        Ok(())
    })?;
    Ok(out.expect("write returned Ok, so the closure ran"))
}

/// Runs `f` in a read transaction and hands back its value.
pub fn read<T>(db: &dyn Backend, mut f: impl FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
    let mut out = None;
    db.read(&mut |tx| {
        out = Some(f(tx)?);
        Ok(())
    })?;
    Ok(out.expect("read returned Ok, so the closure ran"))
}
