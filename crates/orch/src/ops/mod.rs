//! The operations every front end calls: open a queue, add and read tasks, change them
//! through the core's transition function, claim and finish work. Each operation is one
//! store transaction that writes the change and its events together; after it, the
//! events file and the QUEUE.md view are brought up to date.

mod claim;
pub mod json;
mod review;
mod run;
mod tasks;

pub use claim::{ClaimRequest, Claimed, Finish};
pub use review::Review;
pub use tasks::{NewTask, StatusSummary};

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::home::Home;
use crate::store::{self, Backend, RunEnd, Tx};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use orch_core::policy::RetryPolicy;
use orch_core::state::{Change, RunEffect};
use orch_core::task::{Status, Task};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
    /// When set, changes do not refresh the view at once; the dispatcher refreshes it on
    /// a timer instead (a busy queue would otherwise rewrite QUEUE.md per transition).
    pub defer_view: AtomicBool,
}

impl Orch {
    /// Opens the queue in `home` with its config and database.
    pub fn open(home: Home, opts: &Options) -> Result<Orch> {
        let config = Config::load(&home.config_path()).map_err(Error::Usage)?;
        let url = opts.db.clone().unwrap_or_else(|| home.db_path().display().to_string());
        let db = store::open(&url)?;
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
        Orch {
            db_url: db.describe(),
            tz: config.time_zone(),
            policy: config.retry_policy(),
            home,
            config,
            db,
            clock,
            queue_file,
            queue_read_only: opts.queue_md_read_only,
            defer_view: AtomicBool::new(false),
        }
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Runs `f` in one write transaction, then mirrors new events to `events.jsonl` and
    /// refreshes the view. Warnings from those two (they never undo the change) are
    /// returned beside the value.
    pub fn change<T>(&self, f: impl FnMut(&mut dyn Tx) -> store::Result<T>) -> Result<(T, Vec<String>)> {
        let value = store::write(self.db.as_ref(), f)?;
        Ok((value, self.after_change()))
    }

    /// Brings `events.jsonl` and QUEUE.md up to date with the database.
    pub fn after_change(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if let Err(e) = crate::event_log::flush(self) {
            warnings.push(format!("events.jsonl not updated: {e}"));
        }
        if self.defer_view.load(Ordering::Relaxed) {
            return warnings;
        }
        match crate::sync::refresh(self) {
            Ok(Some(w)) => warnings.push(w),
            Ok(None) => {}
            Err(e) => warnings.push(format!("view not updated: {e}")),
        }
        warnings
    }

    pub fn get(&self, id: &str) -> Result<Task> {
        store::read(self.db.as_ref(), |tx| tx.task_get(id))?.ok_or_else(|| not_found(id))
    }
}

pub(crate) fn not_found(id: &str) -> Error {
    Error::NotFound(format!("no task {id}"))
}

/// Persists an allowed change inside `tx`: the task (compare-and-set), the end of its run
/// and its events. `report` goes on the run that ends.
pub(crate) fn persist(tx: &mut dyn Tx, before: &Task, change: Change, report: Option<&str>) -> store::Result<Task> {
    let Change { task, mut events, run } = change;
    let saved = tx.task_update(&task)?;
    // Events of a live run carry its ids; a claim inserts its run before this.
    let live_run = match (&run, before.status) {
        (RunEffect::Start, _) => task.run_id.clone(),
        (_, Status::InProgress) => before.run_id.clone(),
        _ => None,
    };
    let trace = match &live_run {
        Some(id) => tx.run_get(id)?.map(|r| r.trace_id),
        None => None,
    };
    if let (RunEffect::End { outcome, class, reason }, Some(run_id)) = (&run, &live_run) {
        let end =
            RunEnd { outcome: outcome.as_str(), class: *class, reason: reason.as_deref(), report, at: task.updated_at };
        tx.run_end(run_id, &end)?;
    }
    for e in &mut events {
        e.run_id = live_run.clone();
        e.trace_id = trace.clone();
        tx.event_insert(e)?;
    }
    Ok(saved)
}
