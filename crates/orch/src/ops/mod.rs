//! The operations every front end calls: open a queue, add and read tasks, change them
//! through the core's transition function, claim and finish work. Each operation is one
//! store transaction that writes the change and its events together; after it, the
//! events file and the QUEUE.md view are brought up to date.

mod claim;
mod dispatch_turn;
pub mod dispatchers;
mod fleet;
mod hook_fire;
pub mod json;
mod kpi;
mod late_report;
mod lease_token;
mod next_pick;
mod pause;
mod pick;
mod prune;
mod review;
mod rules;
mod runs;
mod schedule;
mod settle;
mod settle_fast;
mod tasks;
mod team;
mod verdict;
mod view;

pub use claim::{ClaimRequest, Claimed, Finish};
pub use dispatch_turn::{Turn, TurnDone};
pub use dispatchers::DispatcherLive;
pub use fleet::{Fleet, Holder};
pub use pause::Pause;
pub use prune::PruneReport;
pub use review::Review;
pub use runs::{DepReport, LeaseState};
pub use schedule::{FiredTask, NewSchedule, NextDue, ScheduleCount, SkippedOf, TickReport};
pub use settle::{DoneResult, Ending, Outcome, RunRef, Settled};
pub use tasks::{NewTask, StatusSummary};
pub use team::{TeamAdded, TreeNode};

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::event_log::EventLog;
use crate::home::Home;
use crate::sync::{self, View};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use orch_core::policy::RetryPolicy;
use orch_core::task::Task;
use orch_store::{Backend, Tx};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};

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
    home: Home,
    config: Config,
    db: Box<dyn Backend>,
    /// Where the database is (a path or URL), for workers and second connections.
    db_url: String,
    clock: Arc<dyn Clock>,
    tz: TimeZone,
    policy: RetryPolicy,
    /// The QUEUE.md view, if there is a file.
    view: View,
    /// When set, changes bring neither `events.jsonl` nor the view up to date at once:
    /// the dispatcher does both on timers instead (a busy queue would otherwise append
    /// to the file after every turn and rewrite QUEUE.md per transition).
    deferred: AtomicBool,
    /// Set by a change while `deferred`: `events.jsonl` lacks its events.
    events_behind: AtomicBool,
    /// The secrets masked in the history (`[events] mask`); `db` applies it to every
    /// event and run text written, front ends to what they print.
    mask: Arc<orch_store::mask::Mask>,
    /// `events.jsonl`, which the threads of this process append to in turns.
    events: EventLog,
    /// Where hooks go while a dispatcher runs (its hook thread); `None`: run at once.
    hook_queue: Mutex<Option<mpsc::Sender<crate::hooks::Fired>>>,
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
        Ok(Orch::assemble(home, config, db, Some(url), opts, Arc::new(SystemClock)))
    }

    /// Assembles a queue from parts (tests give their own clock).
    pub fn with_parts(home: Home, config: Config, db: Box<dyn Backend>, opts: &Options, clock: Arc<dyn Clock>) -> Orch {
        Orch::assemble(home, config, db, None, opts, clock)
    }

    /// [`Orch::with_parts`], the database at `url` (the one it describes when `None`).
    fn assemble(
        home: Home,
        config: Config,
        db: Box<dyn Backend>,
        url: Option<String>,
        opts: &Options,
        clock: Arc<dyn Clock>,
    ) -> Orch {
        let queue_file = match &opts.queue_md {
            Some(p) => Some(p.clone()),
            None if config.queue.file.is_empty() => None,
            None => Some(home.root().join(&config.queue.file)),
        };
        let mask = Arc::new(
            orch_store::mask::Mask::new(&config.events.mask).expect("events.mask was checked when the config was read"),
        );
        let db = orch_store::mask::wrap(db, mask.clone());
        let db_url = url.unwrap_or_else(|| db.describe());
        let tz = config.time_zone();
        let kept = orch_store::ViewKept { open: config.open_kept(), done: config.queue.done_kept };
        let view = View::new(queue_file, opts.queue_md_read_only, &home, kept, tz.clone());
        Orch {
            mask,
            db_url,
            tz,
            policy: config.retry_policy(),
            events: EventLog::new(home.events_path()),
            view,
            home,
            config,
            db,
            clock,
            deferred: AtomicBool::new(false),
            events_behind: AtomicBool::new(false),
            hook_queue: Mutex::new(None),
        }
    }

    /// The queue's home (`.orch/` and the folder around it).
    pub fn home(&self) -> &Home {
        &self.home
    }

    /// The queue's configuration (`orch.toml`).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The database (its history masked as it is written).
    pub fn db(&self) -> &dyn Backend {
        self.db.as_ref()
    }

    /// Where the database is (a path or URL), for workers and second connections.
    pub fn db_url(&self) -> &str {
        &self.db_url
    }

    /// The clock every operation reads.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The display time zone (`queue.timezone`).
    pub fn tz(&self) -> &TimeZone {
        &self.tz
    }

    /// The retry policy (`[retry]`).
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// The secrets masked in the history, for front ends to mask what they print.
    pub fn mask(&self) -> &orch_store::mask::Mask {
        &self.mask
    }

    /// Defers bringing `events.jsonl` and the view up to date (the dispatcher does both
    /// on timers while it runs), or stops deferring.
    pub fn set_deferred(&self, deferred: bool) {
        self.deferred.store(deferred, Ordering::Relaxed);
    }

    /// Runs `f` in one write transaction, then mirrors new events to `events.jsonl` and
    /// refreshes the view. Warnings from those two (they never undo the change) are
    /// returned beside the value.
    ///
    /// The view is rendered inside that transaction and its marks committed with the
    /// change, so the change and the view's record of it cost one sync; the file is
    /// written after the commit, under the view lock taken before it began
    /// (`sync::render_in`).
    ///
    /// Once committed, the hooks of the changes it wrote run (`hook_fire`); their
    /// failures are warnings too.
    pub fn change<T>(&self, mut f: impl FnMut(&mut dyn Tx) -> orch_store::Result<T>) -> Result<(T, Vec<String>)> {
        let done = self.change_unhooked(|tx| {
            crate::hooks::begin();
            f(tx)
        });
        let fired = crate::hooks::take();
        let (value, mut warnings) = done?;
        warnings.extend(self.fire(fired));
        Ok((value, warnings))
    }

    /// [`Orch::change`] before its hooks.
    fn change_unhooked<T>(&self, mut f: impl FnMut(&mut dyn Tx) -> orch_store::Result<T>) -> Result<(T, Vec<String>)> {
        let db = self.db.as_ref();
        let lock = match self.view.file() {
            Some(_) if !self.deferred.load(Ordering::Relaxed) => {
                self.view.name(db).and_then(|name| Ok((name, self.view.lock()?))).ok()
            }
            _ => None,
        };
        let Some((name, lock)) = lock else {
            let value = orch_store::write(db, f)?;
            return Ok((value, self.after_change()));
        };
        let (value, after) = orch_store::write(db, |tx| {
            let value = f(tx)?;
            Ok((value, sync::render_in(&self.view, tx, &name)?))
        })?;
        let mut warnings = Vec::new();
        match after.finish(&self.view, db, self.now(), lock) {
            Ok(Some(w)) => warnings.push(w),
            Ok(None) => {}
            Err(e) => warnings.push(format!("view not updated: {e}")),
        }
        if let Err(e) = self.events.flush(db) {
            warnings.push(format!("events.jsonl not updated: {e}"));
        }
        Ok((value, warnings))
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
            let _ = self.events.flush(self.db.as_ref());
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
        if let Err(e) = self.events.flush(self.db.as_ref()) {
            warnings.push(format!("events.jsonl not updated: {e}"));
        }
        match self.refresh_view() {
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

    /// Appends to `events.jsonl` every event it lacks; how many this thread appended.
    pub fn flush_events(&self) -> Result<usize> {
        self.events.flush(self.db.as_ref())
    }

    /// Appends to `events.jsonl` what changes made while `deferred` left out.
    pub fn catch_up_events(&self) -> Result<()> {
        if self.events_behind.swap(false, Ordering::Relaxed)
            && let Err(e) = self.events.flush(self.db.as_ref())
        {
            self.events_behind.store(true, Ordering::Relaxed);
            return Err(e);
        }
        Ok(())
    }

    pub fn get(&self, id: &str) -> Result<Task> {
        orch_store::read(self.db.as_ref(), |tx| tx.task_get(id))?.ok_or_else(|| not_found(id))
    }

    /// The id of the task numbered `num` with `prefix`, as the store spells it
    /// (`ORCH-7` or `ORCH-007`); none when there is none.
    pub fn id_by_number(&self, prefix: &str, num: u64) -> Result<Option<String>> {
        Ok(orch_store::read(self.db.as_ref(), |tx| tx.task_by_number(prefix, num))?)
    }
}

pub(crate) fn not_found(id: &str) -> Error {
    Error::NotFound(format!("no task {id}"))
}
