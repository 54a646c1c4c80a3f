//! What a dispatcher keeps while it runs: its options and summary, the `Dispatcher`
//! record itself, a slot per live worker with its clocks (`Slot`, `Phase`, `Stop`) and
//! the runs that ended waiting for the next turn (`Ended`). The files beside this one
//! add the dispatcher's behaviour (`slots`: timers and lease checks, `take_turn`: the
//! turn and the starts, `reap`: a process's end); `mod.rs` runs the loop.

use super::msg::Msg;
use super::progress::{Counts, Progress};
use crate::gate::Decision;
use crate::ops::{Claimed, Ending, Orch, Outcome, RunRef};
use crate::runner::{self, Group};
use orch_core::outcome::{Exit, Usage};
use orch_core::task::Status;
use std::collections::HashMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct RunOptions {
    pub workers: usize,
    pub until_idle: bool,
    /// Argv template; `None` is `worker.command` from the config.
    pub command: Option<Vec<String>>,
    /// Owner name; `None` names each slot `worker:HOST-N`.
    pub owner: Option<String>,
    /// Stop after this many claims (exec: 1).
    pub max_claims: Option<usize>,
    pub spawned_by: &'static str,
    pub quiet: bool,
    /// With `until_idle`: how long ahead a retry is waited for (`--max-wait`).
    pub max_wait: jiff::SignedDuration,
}

/// What a dispatcher did, for its summary and exit code.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Summary {
    pub counts: Counts,
    pub elapsed_s: f64,
    /// The signal that stopped it (`SIGTERM`, `SIGINT`, `SIGHUP`), if one did.
    pub stopped_by: Option<String>,
    /// The last task it finished and how its worker exited (exec's exit code).
    pub last_task: Option<String>,
    pub last_status: Option<Status>,
    #[serde(skip)]
    pub last_exit: Option<Exit>,
    /// The retries an `--until-idle` run left behind, due later than `--max-wait`
    /// (or due but not eligible), earliest first.
    pub left_retries: Vec<LeftRetry>,
}

/// A retry left for later: the task and when it is due.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LeftRetry {
    pub id: String,
    pub retry_at: jiff::Timestamp,
}

pub(super) struct Dispatcher<'a> {
    pub(super) orch: &'a Orch,
    pub(super) opts: RunOptions,
    pub(super) host: String,
    /// `HOST:PID:START`, recorded on every run this dispatcher claims.
    pub(super) me: String,
    /// Claimed tasks for the launcher thread to start; `None` once the loop is over.
    pub(super) launches: Option<mpsc::Sender<Box<Claimed>>>,
    pub(super) slots: HashMap<String, Slot>,
    /// Runs whose exit came before the launcher said their process had started (task
    /// id, attempt, title): reaped at once, their process recorded when the start is heard.
    pub(super) early_exits: HashMap<String, (String, u32, String)>,
    /// Runs that ended, for the next turn to settle.
    pub(super) ended: Vec<Ended>,
    /// Processes that ended while the store could not be used: reaped again.
    pub(super) unreaped: Vec<(String, Exit)>,
    /// Since when the store has been failing (busy or away), while it is.
    pub(super) store_down: Option<Instant>,
    /// Workers started whose process the next turn records, and by when it must.
    pub(super) unrecorded: Vec<(String, orch_store::ProcessInfo)>,
    pub(super) record_by: Option<Instant>,
    pub(super) tx: mpsc::Sender<Msg>,
    pub(super) progress: Progress,
    pub(super) claims: usize,
    /// `claims` when `on_idle` last fired: it fires again only after new work.
    pub(super) idle_told: usize,
    pub(super) draining: bool,
    pub(super) stopped_by: Option<&'static str>,
    pub(super) view_dirty: bool,
    /// QUEUE.md was saved and is yet to be taken in (see `on_save`).
    pub(super) save_waiting: bool,
    /// The last warning a refresh of the view gave, said once while it stays the same.
    pub(super) view_warning: Option<String>,
    pub(super) summary: Summary,
    pub(super) budget_announced: Option<jiff::civil::Date>,
    /// The retry an idle `--until-idle` run said it waits for (said once each).
    pub(super) awaited: Option<LeftRetry>,
    /// When the last turn that tried to claim began: a retry due since is still to try.
    pub(super) claim_tried: jiff::Timestamp,
    /// When the next occurrence of a schedule is due (see `schedules`).
    pub(super) schedule_at: Option<Instant>,
    /// A git worktree per task (`[workspace] mode = "worktree"`); `None` when shared.
    pub(super) workspaces: Option<std::sync::Arc<crate::workspace::Workspaces>>,
    /// This dispatcher's record of liveness (`orch run` only; see `liveness`), and when
    /// it is next refreshed.
    pub(super) record: Option<orch_store::DispatcherRecord>,
    pub(super) seen_next: Instant,
}

impl<'a> Dispatcher<'a> {
    pub(super) fn new(
        orch: &'a Orch,
        opts: RunOptions,
        host: String,
        launches: mpsc::Sender<Box<crate::ops::Claimed>>,
        tx: mpsc::Sender<Msg>,
    ) -> Dispatcher<'a> {
        Dispatcher {
            orch,
            launches: Some(launches),
            early_exits: HashMap::new(),
            progress: Progress::new(orch.tz().clone(), opts.quiet),
            opts,
            host,
            me: runner::identity(),
            slots: HashMap::new(),
            ended: Vec::new(),
            unreaped: Vec::new(),
            store_down: None,
            unrecorded: Vec::new(),
            record_by: None,
            tx,
            claims: 0,
            idle_told: 0,
            draining: false,
            stopped_by: None,
            view_dirty: false,
            save_waiting: false,
            view_warning: None,
            summary: Summary::default(),
            budget_announced: None,
            awaited: None,
            claim_tried: jiff::Timestamp::MIN,
            schedule_at: None,
            workspaces: None,
            record: None,
            seen_next: Instant::now(),
        }
    }
}

pub(super) fn to_std(d: jiff::SignedDuration) -> Duration {
    d.unsigned_abs()
}

/// Why the dispatcher stopped a process itself (or let it be).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    Timeout,
    LeaseLost,
    Shutdown,
    /// The worker finished its task itself (`orch done`, `orch fail`): it may exit on
    /// its own within the grace period.
    Finished,
}

/// One live worker (or its reviewer) and its clocks.
pub struct Slot {
    pub no: usize,
    pub task_id: String,
    pub run_id: String,
    pub token: String,
    /// The task's text, clipped, for the line that says it started.
    pub title: String,
    /// The worker's process group; `None` while the launcher starts it (a stop decided
    /// meanwhile kills it as soon as it has started).
    pub group: Option<Group>,
    pub started: Instant,
    pub deadline: Instant,
    pub next_heartbeat: Instant,
    pub stop: Option<Stop>,
    pub kill_at: Option<Instant>,
    pub attempt: u32,
    /// The task's worker profile (`default` for `[worker]`).
    pub profile: String,
    /// The worker's process, or the reviewer's after a passing report.
    pub phase: Phase,
}

pub enum Phase {
    Work,
    Review(Decision),
    /// The run passed the gate and its branch is landing (`workspace.land = "auto"`).
    Land(Box<Landing>),
}

/// What a run that is landing comes to once it landed (`landing`).
#[derive(Debug)]
pub struct Landing {
    pub outcome: Outcome,
    pub report: String,
    pub judged: Option<Decision>,
    pub usage: Usage,
}

/// A run that ended, waiting for the next turn to be written.
pub struct Ended {
    pub task_id: String,
    pub run_id: String,
    pub token: String,
    pub exit: Exit,
    pub took: Duration,
    pub outcome: Outcome,
    pub report: String,
    pub judged: Option<crate::gate::Decision>,
    pub usage: Usage,
}

impl Ended {
    pub(super) fn ending(&self) -> Ending<'_> {
        Ending {
            run: RunRef { task_id: &self.task_id, run_id: &self.run_id, token: &self.token },
            outcome: self.outcome.clone(),
            report: &self.report,
            judged: self.judged.as_ref(),
            usage: Some(&self.usage),
        }
    }
}
