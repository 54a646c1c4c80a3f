//! The dispatcher (`orch run`, and `orch exec` for one task): a loop that sweeps expired
//! leases, claims while fewer than N workers run, spawns, renews leases, enforces
//! deadlines and reaps.
//!
//! One thread runs the loop; it sleeps on a channel fed by a thread per worker (its
//! exit), a watcher of the database (any other process's commit: a new task, a cancel)
//! and the signal handler. So a new task starts within milliseconds of its commit, a
//! cancel stops its worker at once, and nothing polls slowly.
//!
//! Safety: every worker runs under a lease the dispatcher renews (three times per lease
//! at least); a lost lease stops the worker's process group at once, so one task never
//! has two live runs. The per-task deadline holds even while heartbeats succeed. On
//! SIGINT/SIGTERM the dispatcher stops claiming, stops its workers and gives their tasks
//! back (PENDING, the attempt not counted). If it is killed outright, the leases expire
//! and any watchdog recovers the tasks; the next dispatcher on this host recovers them at
//! once (see `recover`).

mod launch;
mod lock;
mod progress;
mod recover;
mod review;
mod settle;

pub use launch::run_dir;
pub use progress::Counts;

use crate::error::{Error, Result};
use crate::gate;
use crate::ops::{ClaimRequest, Orch};
use crate::runner::{self, hostname};
use crate::store::{self, ProcessInfo};
use orch_core::outcome::Exit;
use orch_core::state::Auth;
use orch_core::task::Status;
use progress::Progress;
use review::AfterWork;
use settle::{Outcome, Settled, Stop};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

pub const SPAWNED_BY_DISPATCHER: &str = "dispatcher";
pub const SPAWNED_BY_EXEC: &str = "exec";

/// How often the loop wakes with nothing to do: the watchdog sweep, due retries.
const TICK: Duration = Duration::from_secs(1);
/// How often the view is rewritten while the dispatcher runs.
const VIEW_EVERY: Duration = Duration::from_millis(500);

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
}

/// What a dispatcher did, for its summary and exit code.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Summary {
    pub counts: Counts,
    pub elapsed_s: f64,
    /// The last task it finished and how its worker exited (exec's exit code).
    pub last_task: Option<String>,
    pub last_status: Option<Status>,
    #[serde(skip)]
    pub last_exit: Option<Exit>,
}

enum Msg {
    Exited { run_id: String, exit: Exit },
    Changed,
    Signal,
}

struct Slot {
    no: usize,
    task_id: String,
    run_id: String,
    token: String,
    pgid: i32,
    started: Instant,
    deadline: Instant,
    next_heartbeat: Instant,
    stop: Option<Stop>,
    kill_at: Option<Instant>,
    attempt: u32,
    /// The worker's process, or the reviewer's after a passing report.
    phase: Phase,
}

enum Phase {
    Work,
    Review(gate::Decision),
}

struct Dispatcher<'a> {
    orch: &'a Orch,
    opts: RunOptions,
    host: String,
    command: Vec<String>,
    slots: HashMap<String, Slot>,
    tx: mpsc::Sender<Msg>,
    progress: Progress,
    claims: usize,
    draining: bool,
    view_dirty: bool,
    summary: Summary,
    budget_announced: Option<jiff::civil::Date>,
}

/// Runs the dispatcher until it is told to stop, or (with `until_idle`/`max_claims`)
/// until there is nothing more to do.
pub fn run(orch: &Orch, opts: RunOptions) -> Result<Summary> {
    let cap = orch.config.dispatcher.hard_cap;
    if opts.workers == 0 || opts.workers > cap {
        return Err(Error::Usage(format!("--workers must be between 1 and dispatcher.hard_cap ({cap})")));
    }
    let host = hostname();
    let _lock = match opts.spawned_by {
        SPAWNED_BY_DISPATCHER => Some(lock::acquire(orch, &host)?),
        _ => None,
    };
    let began = Instant::now();
    let (tx, rx) = mpsc::channel();
    let stop_threads = Arc::new(AtomicBool::new(false));
    spawn_watcher(orch, tx.clone(), stop_threads.clone())?;
    let signals = spawn_signal_listener(tx.clone())?;
    orch.defer_view.store(true, Ordering::Relaxed);
    let mut d = Dispatcher {
        orch,
        command: opts.command.clone().unwrap_or_else(|| orch.config.worker.command.clone()),
        progress: Progress::new(orch.tz.clone(), opts.quiet),
        opts,
        host,
        slots: HashMap::new(),
        tx,
        claims: 0,
        draining: false,
        view_dirty: false,
        summary: Summary::default(),
        budget_announced: None,
    };
    if d.opts.spawned_by == SPAWNED_BY_DISPATCHER {
        let grace = to_std(orch.config.worker.grace);
        for id in recover::recover(orch, &d.host, grace)? {
            d.progress.line(&format!("{id} put back: its dispatcher died while it ran"));
            d.view_dirty = true;
        }
    }
    let result = d.run_loop(&rx);
    stop_threads.store(true, Ordering::Relaxed);
    signals.close();
    orch.defer_view.store(false, Ordering::Relaxed);
    let warnings = orch.after_change();
    for w in warnings {
        eprintln!("orch: warning: {w}");
    }
    d.progress.finish_live();
    d.summary.counts = d.progress.counts.clone();
    d.summary.elapsed_s = began.elapsed().as_secs_f64();
    result.map(|()| d.summary)
}

fn to_std(d: jiff::SignedDuration) -> Duration {
    d.unsigned_abs()
}

/// A second connection that blocks until another process commits, then wakes the loop.
fn spawn_watcher(orch: &Orch, tx: mpsc::Sender<Msg>, stop: Arc<AtomicBool>) -> Result<()> {
    let db = store::open(&orch.db_url)?;
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match db.wait_for_change(Duration::from_millis(250)) {
                Ok(true) => {
                    if tx.send(Msg::Changed).is_err() {
                        return;
                    }
                }
                Ok(false) => {}
                Err(_) => std::thread::sleep(Duration::from_millis(250)),
            }
        }
    });
    Ok(())
}

fn spawn_signal_listener(tx: mpsc::Sender<Msg>) -> Result<signal_hook::iterator::Handle> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals =
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM]).map_err(|e| Error::Io(format!("signals: {e}")))?;
    let handle = signals.handle();
    std::thread::spawn(move || {
        for _ in signals.forever() {
            if tx.send(Msg::Signal).is_err() {
                return;
            }
        }
    });
    Ok(handle)
}

impl Dispatcher<'_> {
    fn run_loop(&mut self, rx: &mpsc::Receiver<Msg>) -> Result<()> {
        let mut next_tick = Instant::now();
        let mut next_view = Instant::now() + VIEW_EVERY;
        let mut want_claim = true;
        let mut idle = false;
        loop {
            let now = Instant::now();
            if now >= next_tick {
                next_tick = now + TICK;
                let (expired, _) = self.orch.sweep()?;
                for t in &expired {
                    self.progress.line(&format!("{} lease expired: {}", t.id, t.status));
                }
                self.view_dirty |= !expired.is_empty();
                self.check_leases()?;
                want_claim = true;
            }
            self.timers(now)?;
            if want_claim && !self.draining {
                idle = self.fill()?;
                want_claim = false;
            }
            if self.slots.is_empty() && (self.draining || self.limit_reached() || (self.opts.until_idle && idle)) {
                return Ok(());
            }
            if self.view_dirty && Instant::now() >= next_view {
                next_view = Instant::now() + VIEW_EVERY;
                self.view_dirty = false;
                if let Ok(Some(w)) = crate::sync::refresh(self.orch) {
                    eprintln!("orch: warning: {w}");
                }
            }
            let wait = self.next_timer(next_tick).saturating_duration_since(Instant::now());
            let first = match rx.recv_timeout(wait) {
                Ok(m) => Some(m),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
            };
            let mut changed = false;
            for msg in first.into_iter().chain(std::iter::from_fn(|| rx.try_recv().ok())) {
                match msg {
                    Msg::Exited { run_id, exit } => {
                        self.reap(&run_id, exit)?;
                        want_claim = true;
                    }
                    Msg::Changed => changed = true,
                    Msg::Signal => self.begin_shutdown(),
                }
            }
            if changed {
                self.check_leases()?;
                want_claim = true;
            }
        }
    }

    fn limit_reached(&self) -> bool {
        self.opts.max_claims.is_some_and(|m| self.claims >= m)
    }

    /// The earliest moment the loop must act on its own.
    fn next_timer(&self, tick: Instant) -> Instant {
        self.slots
            .values()
            .flat_map(|s| [Some(s.next_heartbeat), Some(s.deadline), s.kill_at])
            .flatten()
            .fold(tick, Instant::min)
    }

    /// Claims and starts tasks while slots are free. Returns true when nothing was
    /// eligible (the queue is idle for now).
    fn fill(&mut self) -> Result<bool> {
        if self.daily_budget_spent()? {
            return Ok(true);
        }
        while self.slots.len() < self.opts.workers && !self.limit_reached() {
            let no = (1..=self.opts.workers).find(|n| self.slots.values().all(|s| s.no != *n)).unwrap_or(1);
            let owner = self.opts.owner.clone().unwrap_or_else(|| format!("worker:{}-{no}", self.host));
            let req = ClaimRequest {
                owner,
                lease: self.orch.config.dispatcher.lease,
                host: Some(self.host.clone()),
                pid: None,
                pgid: None,
            };
            let (claimed, _) = self.orch.claim(&req)?;
            let Some(c) = claimed else { return Ok(true) };
            self.claims += 1;
            self.view_dirty = true;
            self.progress.counts.started += 1;
            match launch::launch(self.orch, &c, &self.command) {
                Ok(spawned) => {
                    let info = ProcessInfo {
                        host: self.host.clone(),
                        pid: i64::from(spawned.pid),
                        pgid: i64::from(spawned.pid),
                        proc_start: spawned.proc_start,
                        spawned_by: self.opts.spawned_by.to_string(),
                    };
                    self.orch.record_process(&c.run.id, &info)?;
                    self.progress.line(&format!(
                        "{} started (attempt {}, pid {}): {}",
                        c.task.id,
                        c.run.attempt,
                        spawned.pid,
                        crate::cli::clip(&c.task.task, 60)
                    ));
                    let now = Instant::now();
                    let lease = to_std(self.orch.config.dispatcher.lease);
                    let slot = Slot {
                        no,
                        task_id: c.task.id.clone(),
                        run_id: c.run.id.clone(),
                        token: c.run.lease_token.clone(),
                        pgid: spawned.pid,
                        started: now,
                        deadline: now + to_std(self.orch.config.worker.timeout),
                        next_heartbeat: now + lease / 3,
                        stop: None,
                        kill_at: None,
                        attempt: c.run.attempt,
                        phase: Phase::Work,
                    };
                    self.watch(spawned.child, &c.run.id);
                    self.slots.insert(c.run.id.clone(), slot);
                }
                Err(e) => {
                    let exit = Exit::SpawnFailed(e);
                    let (class, reason) = orch_core::outcome::verdict(&exit, None, &[]).unwrap_err();
                    let outcome = Outcome::Fail { class, reason };
                    let settled = settle::finish(self.orch, &c.task.id, &c.run.lease_token, outcome, "")?;
                    self.report(&c.task.id, &exit, settled, Duration::ZERO);
                }
            }
        }
        Ok(false)
    }

    /// True when runs started today (display time zone) cost `budget.daily_cost_usd` or
    /// more: claiming stops until tomorrow, said once.
    fn daily_budget_spent(&mut self) -> Result<bool> {
        let limit = self.orch.config.budget.daily_cost_usd;
        if limit <= 0.0 {
            return Ok(false);
        }
        let tz = &self.orch.tz;
        let today = tz.to_datetime(self.orch.now()).date();
        let midnight = tz.to_ambiguous_timestamp(today.to_datetime(jiff::civil::Time::midnight())).compatible();
        let since = midnight.map_err(|e| Error::Io(format!("time zone: {e}")))?;
        let spent = self.orch.cost_since(since)?;
        if spent < limit {
            return Ok(false);
        }
        if self.budget_announced != Some(today) {
            self.budget_announced = Some(today);
            let msg =
                format!("daily cost limit reached: ${spent:.2} spent today (limit ${limit:.2}); no more claims today");
            self.orch.budget_exceeded(None, &msg)?;
            self.progress.line(&msg);
        }
        Ok(true)
    }

    /// Heartbeats, deadlines and kills that are due.
    fn timers(&mut self, now: Instant) -> Result<()> {
        let lease = self.orch.config.dispatcher.lease;
        let grace = to_std(self.orch.config.worker.grace);
        let mut lost = Vec::new();
        for s in self.slots.values_mut() {
            if s.kill_at.is_some_and(|k| now >= k) {
                runner::kill_group(s.pgid);
                s.kill_at = None;
            }
            if s.stop.is_none() && now >= s.deadline {
                s.stop = Some(Stop::Timeout);
                runner::terminate_group(s.pgid);
                s.kill_at = Some(now + grace);
            }
            if s.stop.is_none() && now >= s.next_heartbeat {
                match self.orch.heartbeat(&s.task_id, Auth::Token(s.token.clone()), lease) {
                    Ok(_) => s.next_heartbeat = now + to_std(lease) / 3,
                    Err(Error::Transition(_)) => lost.push(s.run_id.clone()),
                    // The database may be away for a moment: try again soon; the lease
                    // has two more heartbeats' worth of time.
                    Err(_) => s.next_heartbeat = now + Duration::from_secs(1),
                }
            }
        }
        for run_id in lost {
            self.lose(&run_id);
        }
        Ok(())
    }

    /// Stops every worker whose task no longer holds its lease (cancelled, expired and
    /// taken, edited by hand).
    fn check_leases(&mut self) -> Result<()> {
        if self.slots.is_empty() {
            return Ok(());
        }
        let ids: Vec<(String, String, String)> = self
            .slots
            .values()
            .filter(|s| s.stop.is_none())
            .map(|s| (s.run_id.clone(), s.task_id.clone(), s.token.clone()))
            .collect();
        let lost: Vec<String> = store::read(self.orch.db.as_ref(), |tx| {
            let mut lost = Vec::new();
            for (run_id, task_id, token) in &ids {
                let holds = tx.task_get(task_id)?.and_then(|t| t.lease).is_some_and(|l| &l.token == token);
                if !holds {
                    lost.push(run_id.clone());
                }
            }
            Ok(lost)
        })?;
        for run_id in lost {
            self.lose(&run_id);
        }
        Ok(())
    }

    fn lose(&mut self, run_id: &str) {
        if let Some(s) = self.slots.get_mut(run_id) {
            s.stop = Some(Stop::LeaseLost);
            runner::kill_group(s.pgid);
        }
    }

    fn begin_shutdown(&mut self) {
        if self.draining {
            return;
        }
        self.draining = true;
        self.progress.line(&format!("stopping: {} running worker(s) will be put back", self.slots.len()));
        let kill_at = Instant::now() + to_std(self.orch.config.worker.grace);
        for s in self.slots.values_mut() {
            if s.stop.is_none() {
                s.stop = Some(Stop::Shutdown);
                runner::terminate_group(s.pgid);
                s.kill_at = Some(kill_at);
            }
        }
    }

    /// Sends the process's exit to the loop when it comes.
    fn watch(&self, child: std::process::Child, run_id: &str) {
        let tx = self.tx.clone();
        let run_id = run_id.to_string();
        runner::wait_in_background(child, move |exit| {
            let _ = tx.send(Msg::Exited { run_id, exit });
        });
    }

    fn reap(&mut self, run_id: &str, exit: Exit) -> Result<()> {
        let Some(mut s) = self.slots.remove(run_id) else { return Ok(()) };
        // Leave nothing of the process's group behind.
        runner::kill_group(s.pgid);
        let (outcome, report) = match std::mem::replace(&mut s.phase, Phase::Work) {
            Phase::Work => match review::after_work(self.orch, &s.run_id, &exit, s.stop)? {
                AfterWork::Settle(outcome, report) => (outcome, report),
                AfterWork::Review(d) => match review::start_review(self.orch, &s.task_id, &s.run_id, s.attempt, &d) {
                    Ok(spawned) => {
                        s.pgid = spawned.pid;
                        s.deadline = Instant::now() + to_std(self.orch.config.gate.reviewer_timeout);
                        s.phase = Phase::Review(d);
                        self.watch(spawned.child, &s.run_id);
                        self.slots.insert(s.run_id.clone(), s);
                        return Ok(());
                    }
                    Err(e) => {
                        let reason = format!("reviewer_failed: could not start: {e}");
                        self.orch.set_verdict(&s.run_id, gate::Verdict::Retry.as_str(), &reason)?;
                        (Outcome::Fail { class: orch_core::policy::FailureClass::Transient, reason }, d.report)
                    }
                },
            },
            Phase::Review(d) => (review::after_review(self.orch, &s.run_id, &exit, s.stop, &d)?, d.report),
        };
        let settled = settle::finish(self.orch, &s.task_id, &s.token, outcome, &report)?;
        self.view_dirty = true;
        self.report(&s.task_id, &exit, settled, s.started.elapsed());
        Ok(())
    }

    fn report(&mut self, task_id: &str, exit: &Exit, settled: Settled, took: Duration) {
        let took = format!("{:.1}s", took.as_secs_f64());
        let c = &mut self.progress.counts;
        let line = match &settled {
            Settled::LeaseLost => {
                c.lease_lost += 1;
                format!("{task_id} stopped: its lease was lost ({took})")
            }
            Settled::Task(t) => match t.status {
                Status::Done => {
                    c.done += 1;
                    format!("{task_id} done ({took})")
                }
                Status::Failed => {
                    c.failed += 1;
                    let next = t.retry_at.map_or_else(
                        || "no retry".to_string(),
                        |r| format!("retry at {}", orch_core::time::format_display_time(r, &self.orch.tz)),
                    );
                    format!("{task_id} failed ({}): {next} ({took})", describe(exit))
                }
                Status::Blocked => {
                    c.blocked += 1;
                    format!("{task_id} blocked ({took})")
                }
                Status::Pending => {
                    c.interrupted += 1;
                    format!("{task_id} put back (not counted as an attempt)")
                }
                Status::InProgress => format!("{task_id} still in progress"),
            },
        };
        self.progress.line(&line);
        self.summary.last_task = Some(task_id.to_string());
        self.summary.last_status = match &settled {
            Settled::Task(t) => Some(t.status),
            Settled::LeaseLost => None,
        };
        self.summary.last_exit = Some(exit.clone());
        self.progress.status(self.slots.len(), 0);
    }
}

fn describe(exit: &Exit) -> String {
    match exit {
        Exit::Code(c) => format!("exit {c}"),
        Exit::Signal(s) => format!("signal {s}"),
        Exit::SpawnFailed(e) => format!("could not start: {e}"),
        Exit::TimedOut => "timeout".into(),
    }
}
