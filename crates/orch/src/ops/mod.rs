//! The operations every front end calls: open a queue, add and read tasks, change them
//! through the core's transition function, claim and finish work. Each operation is one
//! store transaction that writes the change and its events together; after it, the
//! events file and the QUEUE.md view are brought up to date.

mod claim;
mod fleet;
pub mod json;
mod kpi;
mod one_step;
mod prune;
mod review;
mod run;
mod settle;
mod tasks;
mod team;
mod turn;

pub use claim::{ClaimRequest, Claimed, Finish};
pub use review::Review;
pub use run::LeaseState;
pub use settle::{DoneResult, Ending, Outcome, RunRef, Settled};
pub use tasks::{NewTask, StatusSummary};
pub use team::{TeamAdded, TreeNode};
pub use turn::{Turn, TurnDone};

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::home::Home;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use orch_core::policy::RetryPolicy;
use orch_core::state::{Auth, Change, Command, RunEffect, transition};
use orch_core::task::{Status, Task};
use orch_store::{Backend, RunEnd, Tx};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// Settings that come from the environment or the command line rather than the config.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--db` / `ORCH_DB`: a path, `sqlite://PATH` or `postgres://…`.
    pub db: Option<String>,
    /// `ORCH_QUEUE_MD`: the view file, overriding `queue.file`.
    pub queue_md: Option<PathBuf>,
    /// `ORCH_QUEUE_MD_READ_ONLY=1`: the view is output only.
    pub queue_md_read_only: bool,
}

/// An open queue: its home, configuration and database.
pub struct Orch {
    pub home: Home,
    pub config: Config,
    pub db: Box<dyn Backend>,
    /// Where the database is (a path or URL), for workers and second connections.
    pub db_url: String,
    pub clock: Arc<dyn Clock>,
    pub tz: TimeZone,
    pub policy: RetryPolicy,
    /// The view file, if there is one.
    pub queue_file: Option<PathBuf>,
    pub queue_read_only: bool,
    /// When set, changes bring neither `events.jsonl` nor the view up to date at once:
    /// the dispatcher does both on timers instead (a busy queue would otherwise append
    /// to the file after every turn and rewrite QUEUE.md per transition).
    pub deferred: AtomicBool,
    /// Set by a change while `deferred`: `events.jsonl` lacks its events.
    events_behind: AtomicBool,
    /// The secrets masked in the history (`[events] mask`); `db` applies it to every
    /// event and run text written, front ends to what they print.
    pub mask: Arc<orch_store::mask::Mask>,
    /// The threads of this process appending to `events.jsonl` take turns.
    pub(crate) flushes: crate::event_log::Flushes,
    /// The view file's name in the store, once worked out (`sync::view_name`).
    pub(crate) view_name: OnceLock<String>,
}

impl Orch {
    /// Opens the queue in `home` with its config and database, which must exist.
    pub fn open(home: Home, opts: &Options) -> Result<Orch> {
        Orch::connect(home, opts, orch_store::open)
    }

    /// [`Orch::open`] that creates the SQLite database when there is none (`init`).
    pub fn create(home: Home, opts: &Options) -> Result<Orch> {
        Orch::connect(home, opts, orch_store::create)
    }

    fn connect(home: Home, opts: &Options, open: fn(&str) -> orch_store::Result<Box<dyn Backend>>) -> Result<Orch> {
        let config = Config::load(&home.config_path()).map_err(Error::Usage)?;
        let url = opts.db.clone().unwrap_or_else(|| home.db_path().display().to_string());
        let db = open(&url)?;
        let mut orch = Orch::with_parts(home, config, db, opts, Arc::new(SystemClock));
        orch.db_url = url;
        Ok(orch)
    }

    /// Assembles a queue from parts (tests give their own clock).
    pub fn with_parts(home: Home, config: Config, db: Box<dyn Backend>, opts: &Options, clock: Arc<dyn Clock>) -> Orch {
        let queue_file = match &opts.queue_md {
            Some(p) => Some(p.clone()),
            None if config.queue.file.is_empty() => None,
            None => Some(home.root().join(&config.queue.file)),
        };
        let mask = Arc::new(
            orch_store::mask::Mask::new(&config.events.mask).expect("events.mask was checked when the config was read"),
        );
        let db = orch_store::mask::wrap(db, mask.clone());
        Orch {
            mask,
            db_url: db.describe(),
            tz: config.time_zone(),
            policy: config.retry_policy(),
            home,
            config,
            db,
            clock,
            queue_file,
            queue_read_only: opts.queue_md_read_only,
            deferred: AtomicBool::new(false),
            events_behind: AtomicBool::new(false),
            flushes: crate::event_log::Flushes::default(),
            view_name: OnceLock::new(),
        }
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Runs `f` in one write transaction, then mirrors new events to `events.jsonl` and
    /// refreshes the view. Warnings from those two (they never undo the change) are
    /// returned beside the value.
    pub fn change<T>(&self, f: impl FnMut(&mut dyn Tx) -> orch_store::Result<T>) -> Result<(T, Vec<String>)> {
        let value = orch_store::write(self.db.as_ref(), f)?;
        Ok((value, self.after_change()))
    }

    /// Runs `f` in one write transaction and mirrors its events to `events.jsonl`,
    /// without refreshing the view: for changes QUEUE.md does not show (a verdict, a
    /// budget notice, an abandoned run). A file that could not be written is caught up
    /// by the next flush.
    pub(crate) fn log_change<T>(&self, f: impl FnMut(&mut dyn Tx) -> orch_store::Result<T>) -> Result<T> {
        let value = orch_store::write(self.db.as_ref(), f)?;
        if self.deferred.load(Ordering::Relaxed) {
            self.events_behind.store(true, Ordering::Relaxed);
        } else {
            let _ = crate::event_log::flush(self);
        }
        Ok(value)
    }

    /// Brings `events.jsonl` and QUEUE.md up to date with the database (while
    /// `deferred`, only notes that the file is behind).
    pub fn after_change(&self) -> Vec<String> {
        if self.deferred.load(Ordering::Relaxed) {
            self.events_behind.store(true, Ordering::Relaxed);
            return Vec::new();
        }
        let mut warnings = Vec::new();
        if let Err(e) = crate::event_log::flush(self) {
            warnings.push(format!("events.jsonl not updated: {e}"));
        }
        match crate::sync::refresh(self) {
            Ok(Some(w)) => warnings.push(w),
            Ok(None) => {}
            Err(e) => warnings.push(format!("view not updated: {e}")),
        }
        warnings
    }

    /// Whether changes made while `deferred` are not in `events.jsonl` yet.
    pub fn events_behind(&self) -> bool {
        self.events_behind.load(Ordering::Relaxed)
    }

    /// Appends to `events.jsonl` what changes made while `deferred` left out.
    pub fn catch_up_events(&self) -> Result<()> {
        if self.events_behind.swap(false, Ordering::Relaxed)
            && let Err(e) = crate::event_log::flush(self)
        {
            self.events_behind.store(true, Ordering::Relaxed);
            return Err(e);
        }
        Ok(())
    }

    pub fn get(&self, id: &str) -> Result<Task> {
        orch_store::read(self.db.as_ref(), |tx| tx.task_get(id))?.ok_or_else(|| not_found(id))
    }
}

pub(crate) fn not_found(id: &str) -> Error {
    Error::NotFound(format!("no task {id}"))
}

/// Persists an allowed change inside `tx`: the task (compare-and-set), the end of its run
/// and its events. `report` goes on the run that ends.
pub(crate) fn persist(
    tx: &mut dyn Tx,
    before: &Task,
    change: Change,
    report: Option<&str>,
) -> orch_store::Result<Task> {
    persist_traced(tx, before, change, report, None)
}

/// [`persist`], given the trace id of the run the change belongs to when the caller
/// knows it already (a claim that just made the run), which saves reading the run.
pub(crate) fn persist_traced(
    tx: &mut dyn Tx,
    before: &Task,
    change: Change,
    report: Option<&str>,
    trace: Option<&str>,
) -> orch_store::Result<Task> {
    let Change { task, mut events, run } = change;
    let saved = tx.task_update(&task)?;
    // Events of a live run carry its ids; a claim inserts its run before this.
    let live_run = match (&run, before.status) {
        (RunEffect::Start, _) => task.run_id.clone(),
        (_, Status::InProgress) => before.run_id.clone(),
        _ => None,
    };
    let trace = match (&live_run, trace) {
        (Some(_), Some(known)) => Some(known.to_string()),
        (Some(id), None) => tx.run_get(id)?.map(|r| r.trace_id),
        (None, _) => None,
    };
    if let (RunEffect::End { outcome, class, reason }, Some(run_id)) = (&run, &live_run) {
        let end =
            RunEnd { outcome: outcome.as_str(), class: *class, reason: reason.as_deref(), report, at: task.updated_at };
        tx.run_end(run_id, &end)?;
    }
    for e in &mut events {
        e.run_id = live_run.clone();
        e.trace_id = trace.clone();
    }
    tx.events_insert(&events)?;
    propagate(tx, before.status, &saved)?;
    Ok(saved)
}

/// Dependencies in both directions: a task that failed for good (BLOCKED, or FAILED with
/// no retry left) blocks the PENDING tasks waiting on it (`blocked_by:ID`; one already
/// blocked by a dependency gets the note too); a task that is DONE releases the tasks a
/// dependency blocked, once everything they wait on is DONE; and a task put back to
/// PENDING while something it waits on has failed for good is blocked again.
fn propagate(tx: &mut dyn Tx, before: Status, t: &Task) -> orch_store::Result<()> {
    if before == t.status {
        return Ok(());
    }
    if t.status == Status::Pending {
        for id in &t.depends_on {
            if tx.task_get(id)?.is_some_and(|d| failed_for_good(&d)) {
                let cmd = Command::Block { auth: Auth::Force, reason: format!("blocked_by:{id}") };
                return step(tx, t, &cmd, t.updated_at);
            }
        }
        return Ok(());
    }
    let failed = failed_for_good(t);
    if !failed && t.status != Status::Done {
        return Ok(());
    }
    for dep in tx.dependents_of(&t.id)? {
        let by_dependency = blocked_by_dependency(&dep);
        let cmd = match (failed, dep.status) {
            (true, Status::Pending) => Command::Block { auth: Auth::Force, reason: format!("blocked_by:{}", t.id) },
            (true, Status::Blocked) if by_dependency => Command::Note { text: format!("blocked_by:{}", t.id) },
            (false, Status::Blocked) if by_dependency => {
                let mut all_done = true;
                for id in &dep.depends_on {
                    all_done &= tx.task_get(id)?.is_some_and(|d| d.status == Status::Done);
                }
                if !all_done {
                    continue;
                }
                Command::Unblock { by: t.id.clone() }
            }
            _ => continue,
        };
        step(tx, &dep, &cmd, t.updated_at)?;
    }
    Ok(())
}

/// Applies a follow-on command inside the same transaction.
fn step(tx: &mut dyn Tx, task: &Task, cmd: &Command, now: jiff::Timestamp) -> orch_store::Result<()> {
    let change = transition(task, cmd, now, &RetryPolicy::default()).map_err(orch_store::StoreError::abort)?;
    persist(tx, task, change, None).map(|_| ())
}

pub(super) fn failed_for_good(t: &Task) -> bool {
    t.status == Status::Blocked || (t.status == Status::Failed && t.retry_at.is_none())
}

/// Whether the latest reason a task was stopped, in its notes, is a dependency (and not
/// an operator's cancel or the gate).
fn blocked_by_dependency(t: &Task) -> bool {
    const STOPS: [&str; 6] =
        ["blocked_by:", "cancelled_by_operator", "budget_hard_exceeded", "review_block", "review:", "cost_limit"];
    t.notes
        .as_deref()
        .unwrap_or("")
        .rsplit(" / ")
        .find(|n| STOPS.iter().any(|s| n.starts_with(s)))
        .is_some_and(|n| n.starts_with("blocked_by:"))
}
