//! The dispatcher (`orch run`, and `orch exec` for one task): a loop that sweeps expired
//! leases, renews leases, enforces deadlines, writes a turn (the processes started, the
//! runs that ended, a claim per free slot: one transaction) and then starts the claimed
//! tasks' workers, and reaps. This file owns the loop and how it ends; what the dispatcher
//! keeps (options, slots, ended runs) is in `state`, the slots' timers and lease checks
//! in `slots`, the turn and the starts in `take_turn`, a process's end
//! in `reap`, what wakes the loop in `wake`, the schedules ticked in `schedules`, the
//! dispatcher's record of liveness in `liveness`.
//!
//! One thread runs the loop; it sleeps on a channel fed by the launcher thread (a
//! worker's start: its folder, files and process are made there, while the loop writes
//! the next turn), the runner's reaper (a worker's exit), a watcher of the database (any
//! other process's commit: a new task, a cancel) and the signal handler. So a new task starts within milliseconds of its commit, a
//! cancel stops its worker at once, and nothing polls slowly.
//!
//! Safety: every worker runs under a lease the dispatcher renews (three times per lease
//! at least); a lost lease stops the worker's process group at once, so one task never
//! has two live runs. The per-task deadline holds even while heartbeats succeed. On
//! SIGINT, SIGTERM or SIGHUP the dispatcher stops claiming, stops its workers and gives
//! their tasks back (PENDING, the attempt not counted); an error inside the loop does the
//! same, as far as it can, before it is returned. Every process of a run goes with it,
//! even one that left the worker's process group: the dispatcher is their subreaper
//! and they carry the run's id (see `runner`); when the dispatcher ends, nothing it
//! started is left. If the dispatcher is killed outright,
//! the leases expire and any watchdog recovers the tasks; the next dispatcher on this
//! host recovers them at once, once the dead one is provably gone (see `recover`).

mod landing;
mod launch;
mod liveness;
mod lock;
mod msg;
mod on_save;
mod program;
mod progress;
mod reap;
mod recover;
mod resume;
mod retry_wait;
mod schedules;
mod slots;
mod state;
#[cfg(test)]
mod strays_tests;
mod take_turn;
mod wake;

pub use progress::Counts;
pub use state::{LeftRetry, RunOptions, Summary};

use crate::error::{Error, Result};
use crate::ops::{Orch, Outcome, RunRef};
use crate::runner::{self, hostname};
use msg::Msg;
use state::{Dispatcher, Slot, Stop, to_std};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

pub const SPAWNED_BY_DISPATCHER: &str = "dispatcher";
pub const SPAWNED_BY_EXEC: &str = "exec";

/// How often the loop wakes with nothing to do: the watchdog sweep, due retries, the
/// status line.
const TICK: Duration = Duration::from_secs(1);
/// How long the store may keep failing (busy, or away) before the dispatcher gives up.
const STORE_OUTAGE: Duration = Duration::from_secs(300);
/// The pause between tries while the store fails.
const STORE_RETRY: Duration = Duration::from_millis(250);
/// How often the QUEUE.md view is rewritten while a dispatcher runs.
const VIEW_EVERY: Duration = Duration::from_millis(500);
/// How long `events.jsonl` may lag behind the database while the dispatcher runs.
const EVENTS_EVERY: Duration = Duration::from_millis(100);

/// Runs the dispatcher until it is told to stop, or (with `until_idle`/`max_claims`)
/// until there is nothing more to do.
pub fn run(orch: &Orch, opts: RunOptions) -> Result<Summary> {
    let cap = orch.config().dispatcher.hard_cap;
    if opts.workers == 0 || opts.workers > cap {
        return Err(Error::Usage(format!("--workers must be between 1 and dispatcher.hard_cap ({cap})")));
    }
    let command = opts.command.clone().unwrap_or_else(|| orch.config().worker.command.clone());
    let key = match &opts.command {
        Some(_) => "the command after `--`".to_string(),
        None => format!("worker.command in {}", orch.home().config_path().display()),
    };
    let host = hostname();
    let (tx, rx) = mpsc::channel();
    // Watching starts before the lock is taken (and named in its file): a save made once
    // the lock names this dispatcher is seen.
    let saves = match opts.spawned_by {
        SPAWNED_BY_DISPATCHER => on_save::watch(orch, tx.clone()).unwrap_or_else(|e| {
            crate::console::eprint(&format!("orch: warning: QUEUE.md is not imported on save: {e}"));
            None
        }),
        _ => None,
    };
    let _lock = match opts.spawned_by {
        SPAWNED_BY_DISPATCHER => Some(lock::acquire(orch, &host)?),
        _ => None,
    };
    // After the lock: a second dispatcher is told so first, whatever its command.
    program::check(&command, &key, std::env::var_os("PATH").as_deref(), orch.home().root())?;
    if opts.spawned_by == SPAWNED_BY_DISPATCHER {
        for (name, p) in &orch.config().profiles {
            let key = format!("profiles.{name}.command in {}", orch.home().config_path().display());
            program::check(&p.command, &key, std::env::var_os("PATH").as_deref(), orch.home().root())?;
        }
    }
    let workspaces = crate::workspace::Workspaces::open(orch)?;
    if let Some(ws) = &workspaces {
        ws.recover(orch)?.iter().for_each(|l| crate::console::eprint(&format!("orch: {l}")));
    }
    let began = Instant::now();
    let stop_threads = Arc::new(AtomicBool::new(false));
    wake::spawn_watcher(orch, tx.clone(), stop_threads.clone())?;
    let signals = wake::spawn_signal_listener(tx.clone())?;
    orch.set_deferred(true);
    let (launches, jobs) = mpsc::channel();
    let (mut d, result) = std::thread::scope(|scope| {
        let started = tx.clone();
        let ws = workspaces.clone();
        scope.spawn(|| launch::launcher(orch, &command, ws, jobs, started));
        // Hooks run on a thread of their own, so the loop never waits for one; it
        // finishes those queued once the loop is over (each within hooks.timeout).
        if orch.config().hooks.any() {
            let (hooks, queue) = mpsc::channel();
            orch.set_hook_queue(Some(hooks));
            scope.spawn(|| orch.run_hooks(queue));
        }
        let mut d = Dispatcher::new(orch, opts, host, launches, tx);
        d.workspaces = workspaces;
        let ran = d.run(&rx);
        orch.set_hook_queue(None);
        ran
    });
    // Starts the launcher made after the loop gave up their slots: stopped.
    while let Ok(msg) = rx.try_recv() {
        if let Msg::Started { started: Ok(st), run_id } = msg
            && !d.slots.contains_key(&run_id)
        {
            st.group.kill();
        }
    }
    // Every run is over: whatever is still below this process (a run's process that
    // left its group and its run id behind) is killed.
    runner::end_descendants();
    stop_threads.store(true, Ordering::Relaxed);
    signals.close();
    drop(saves);
    orch.set_deferred(false);
    for w in orch.after_change() {
        crate::console::eprint(&format!("orch: warning: {w}"));
    }
    d.progress.finish_live();
    d.summary.counts = d.progress.counts.clone();
    d.summary.elapsed_s = began.elapsed().as_secs_f64();
    d.summary.stopped_by = d.stopped_by.map(str::to_string);
    result.map(|()| d.summary)
}

impl Dispatcher<'_> {
    /// The record of liveness, recovery, the loop, and on an error the shutdown; then the
    /// record is marked stopped and the launcher let go.
    fn run(mut self, rx: &mpsc::Receiver<Msg>) -> (Self, Result<()>) {
        let mut result = self.record_start();
        if result.is_ok() && self.opts.spawned_by == SPAWNED_BY_DISPATCHER {
            match recover::recover(self.orch, &self.host, to_std(self.orch.config().worker.grace)) {
                Ok(back) => {
                    for id in back {
                        self.progress.line(&format!("{id} put back: the dispatcher that ran it is gone"));
                        self.view_dirty = true;
                    }
                }
                Err(e) => result = Err(e),
            }
        }
        if result.is_ok() {
            result = self.run_through_outages(rx);
        }
        if result.is_err() {
            self.abort(rx);
        }
        self.record_stop();
        self.launches = None;
        (self, result)
    }
}

impl Dispatcher<'_> {
    /// The loop, taken up again after the store failed for a while (busy, or a
    /// PostgreSQL server restarting): what the failed step had not written is kept and
    /// written on the next try, and workers go on meanwhile (their heartbeats are
    /// retried; a lease that runs out is the watchdog's). An outage longer than
    /// [`STORE_OUTAGE`], an outage while shutting down (the error path stops the workers
    /// and gives back what it can; the next dispatcher recovers the rest), or any other
    /// error ends the dispatcher.
    fn run_through_outages(&mut self, rx: &mpsc::Receiver<Msg>) -> Result<()> {
        loop {
            let e = match self.run_loop(rx) {
                Err(Error::Store(e)) if e.is_transient() && !self.draining => e,
                other => return other,
            };
            let since = *self.store_down.get_or_insert_with(|| {
                crate::console::eprint(&format!(
                    "orch: warning: the database cannot be used now ({e}); going on when it can"
                ));
                Instant::now()
            });
            if since.elapsed() >= STORE_OUTAGE {
                return Err(Error::Store(e));
            }
            // Signals and exits are taken while waiting, by the next loop.
            std::thread::sleep(STORE_RETRY);
        }
    }

    /// The store answered again after failing: the claims of a turn whose COMMIT was cut
    /// off may have been saved after all, and their tasks go back at once.
    fn store_back(&mut self) -> Result<()> {
        let Some(since) = self.store_down else { return Ok(()) };
        self.give_back_strays()?;
        self.store_down = None;
        eprintln!("orch: the database can be used again (after {:.1}s)", since.elapsed().as_secs_f64());
        Ok(())
    }

    /// Puts back, PENDING with the attempt not counted (`claim_not_started`), every task
    /// this dispatcher holds on a run it does not run: claimed by a turn that failed at
    /// COMMIT (so no worker was started) yet saved.
    fn give_back_strays(&mut self) -> Result<()> {
        let known = |id: &str| {
            self.slots.contains_key(id)
                || self.ended.iter().any(|e| e.run_id == id)
                || self.unreaped.iter().any(|(r, _)| r == id)
        };
        let strays: Vec<orch_store::Run> = self
            .orch
            .live_runs_on(&self.host)?
            .into_iter()
            .filter(|r| r.dispatcher.as_deref() == Some(self.me.as_str()) && !known(&r.id))
            .collect();
        for run in strays {
            let auth = orch_core::state::Auth::Token(run.lease_token.clone());
            let cmd = orch_core::state::Command::Interrupt { auth, reason: "claim_not_started".into() };
            match self.orch.apply(&run.task_id, &cmd) {
                Ok(_) => {
                    self.progress
                        .line(&format!("{} put back: its claim was saved but its worker never started", run.task_id));
                    self.view_dirty = true;
                }
                // The task moved on meanwhile (its lease expired, an operator): the run is
                // over all the same.
                Err(Error::Transition(_)) => self.orch.end_orphan_run(&run.id)?,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn run_loop(&mut self, rx: &mpsc::Receiver<Msg>) -> Result<()> {
        let mut next_tick = Instant::now();
        let mut next_view = Instant::now() + VIEW_EVERY;
        let mut next_events = Instant::now() + EVENTS_EVERY;
        let mut want_claim = true;
        let mut idle = false;
        loop {
            self.retry_reaps()?;
            let now = Instant::now();
            let ticked = now >= next_tick;
            if ticked {
                next_tick = now + TICK;
                let (expired, _) = self.orch.sweep()?;
                self.store_back()?;
                for t in &expired {
                    self.progress.line(&format!("{} lease expired: {}", t.id, t.status));
                }
                self.view_dirty |= !expired.is_empty();
                self.check_leases()?;
                self.refresh_seen(now);
                want_claim = true;
            }
            if self.timers(now)? {
                self.check_leases()?;
            }
            if ticked || self.schedule_at.is_some_and(|at| now >= at) {
                want_claim |= self.tick_schedules();
            }
            let claim = want_claim && !self.draining;
            if claim || self.turn_due(now) {
                if claim {
                    self.claim_tried = self.orch.now();
                }
                let nothing = self.turn(claim)?;
                if claim {
                    idle = nothing;
                    want_claim = false;
                }
                // A worker that could not start ended at once: its slot is free again.
                want_claim |= !self.ended.is_empty();
            }
            if ticked {
                self.show_status();
            }
            // A run that ended before its start was heard of still has its start to come
            // (the launcher always says): it is recorded and shown before the loop ends.
            let quiet = self.slots.is_empty() && self.ended.is_empty() && self.early_exits.is_empty();
            if quiet && idle && self.claims > self.idle_told {
                // Nothing to do after having had work: said once, until new work.
                self.idle_told = self.claims;
                self.orch.fire_idle();
            }
            if quiet && (self.draining || self.limit_reached()) {
                return Ok(());
            }
            if quiet && self.opts.until_idle && idle && self.idle_ends()? {
                return Ok(());
            }
            if self.view_dirty && Instant::now() >= next_view {
                next_view = Instant::now() + VIEW_EVERY;
                self.view_dirty = false;
                // A file left unimported is said once, not at every refresh.
                let warning = self.orch.refresh_view().ok().flatten();
                if let Some(w) = warning.as_ref().filter(|w| self.view_warning.as_ref() != Some(*w)) {
                    crate::console::eprint(&format!("orch: warning: {w}"));
                }
                self.view_warning = warning;
            }
            if self.orch.events_behind() && Instant::now() >= next_events {
                next_events = Instant::now() + EVENTS_EVERY;
                // A file that cannot be written now is caught up later (and at the end).
                let _ = self.orch.catch_up_events();
            }
            let wait = if self.ended.is_empty() {
                let next = self.next_timer(next_tick);
                let next = self.schedule_at.map_or(next, |at| next.min(at));
                let next = if self.orch.events_behind() { next.min(next_events) } else { next };
                next.saturating_duration_since(Instant::now())
            } else {
                Duration::ZERO
            };
            let first = match rx.recv_timeout(wait) {
                Ok(m) => Some(m),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
            };
            let mut changed = false;
            for msg in first.into_iter().chain(std::iter::from_fn(|| rx.try_recv().ok())) {
                match msg {
                    Msg::Started { run_id, started } => want_claim |= self.started(&run_id, started),
                    Msg::Exited { run_id, exit } => {
                        // Its start may not have been heard of yet: the process is gone
                        // all the same, and reaped.
                        if let Some(s) = self.slots.get(&run_id).filter(|s| s.group.is_none()) {
                            let early = (s.task_id.clone(), s.attempt, s.title.clone());
                            self.early_exits.insert(run_id.clone(), early);
                        }
                        self.reap(&run_id, exit)?;
                        want_claim = true;
                    }
                    Msg::Changed => changed = true,
                    Msg::Saved => self.save_waiting = true,
                    Msg::Signal(name) => self.begin_shutdown(name),
                }
            }
            // A save taken in may have added tasks (claimed now) or edited running ones
            // (whose leases it ended).
            changed |= self.take_save()?;
            if changed {
                self.check_leases()?;
                want_claim = true;
            }
        }
    }

    fn limit_reached(&self) -> bool {
        self.opts.max_claims.is_some_and(|m| self.claims >= m)
    }

    /// The live status line (terminals only): running, the counts, and how many tasks
    /// could be claimed now.
    fn show_status(&mut self) {
        if !self.progress.is_live() {
            return;
        }
        let queued = self.orch.eligible_now(progress::QUEUED_CAP).unwrap_or(0);
        self.progress.status(self.slots.len(), queued);
    }

    /// Stops claiming and stops every worker: SIGTERM to its group now, SIGKILL after
    /// `worker.grace`; each task is given back as its worker exits.
    fn begin_shutdown(&mut self, signal: &'static str) {
        if self.draining {
            return;
        }
        self.draining = true;
        self.stopped_by = Some(signal);
        self.stop_workers(&format!("stopping on {signal}"));
    }

    /// SIGTERM to every worker's group not already being stopped, SIGKILL after the
    /// grace period.
    fn stop_workers(&mut self, why: &str) {
        self.progress.line(&format!("{why}: {} running worker(s) will be put back", self.slots.len()));
        let kill_at = Instant::now() + to_std(self.orch.config().worker.grace);
        for s in self.slots.values_mut() {
            if s.stop.is_none() || s.stop == Some(Stop::Finished) {
                s.stop = Some(Stop::Shutdown);
                s.group.as_ref().map(runner::Group::terminate);
                s.kill_at = Some(kill_at);
            }
        }
    }

    /// After an error in the loop: what a shutdown does, as far as it can — stop every
    /// worker's group, wait for the exits (SIGKILL after the grace period), and give each
    /// task back. Errors on the way are ignored: the first error is the one reported.
    fn abort(&mut self, rx: &mpsc::Receiver<Msg>) {
        self.draining = true;
        // The runs that ended and the processes started, if the error left them unwritten.
        let _ = self.turn(false);
        self.stop_workers("stopping after an error");
        let until = Instant::now() + to_std(self.orch.config().worker.grace) + Duration::from_secs(2);
        while !self.slots.is_empty() && Instant::now() < until {
            let now = Instant::now();
            for s in self.slots.values_mut() {
                if s.kill_at.is_some_and(|k| now >= k) {
                    s.group.as_ref().map(runner::Group::kill);
                    s.kill_at = None;
                }
            }
            let wait = self.next_timer(until).saturating_duration_since(Instant::now());
            let ended = match rx.recv_timeout(wait) {
                Ok(Msg::Exited { run_id, .. }) => Some(run_id),
                Ok(Msg::Started { run_id, started }) => {
                    // It was being stopped as it started: stopped now.
                    let group = started.ok().map(|st| st.group);
                    group.as_ref().map(runner::Group::kill);
                    match self.slots.get_mut(&run_id) {
                        Some(s) if group.is_some() => {
                            s.group = group;
                            None
                        }
                        Some(_) => Some(run_id),
                        None => None,
                    }
                }
                _ => None,
            };
            if let Some(s) = ended.and_then(|id| self.slots.remove(&id)) {
                self.give_back(&s);
            }
        }
        let left: Vec<Slot> = self.slots.drain().map(|(_, s)| s).collect();
        for s in &left {
            // A worker still being started is left to recovery, as after a crash: its
            // task is not given back while its process may yet start.
            if let Some(g) = &s.group {
                g.kill();
                self.give_back(s);
            }
        }
    }

    /// A worker started (or could not): its slot gets its process group, and the next
    /// turn records where it runs; a stop decided while it was being started kills it at
    /// once. True when its slot is free again (it could not start).
    fn started(&mut self, run_id: &str, started: Result<msg::Started, runner::SpawnError>) -> bool {
        // A run whose process ended before its start was heard of: only recorded. Its
        // slot, if there is one, is its review by now, whose process is not this one.
        let early = self.early_exits.remove(run_id);
        let st = match (early, self.slots.get_mut(run_id), started) {
            (Some(_), _, Err(_)) => return false,
            (Some((task_id, attempt, title)), _, Ok(st)) => (task_id, attempt, title, st),
            (None, Some(_), Err(e)) => {
                let s = self.slots.remove(run_id).expect("the slot is there");
                self.spawn_failed(s, e);
                return true;
            }
            (None, None, Err(_)) => return false,
            (None, Some(s), Ok(st)) => {
                if s.stop.is_some() {
                    st.group.kill();
                }
                s.group = Some(st.group.clone());
                (s.task_id.clone(), s.attempt, s.title.clone(), st)
            }
            // Its slot was given up (an error): a worker that starts now is stopped.
            (None, None, Ok(st)) => {
                st.group.kill();
                return false;
            }
        };
        let (task_id, attempt, title, st) = st;
        self.unrecorded.push((
            run_id.to_string(),
            orch_store::ProcessInfo {
                host: self.host.clone(),
                pid: i64::from(st.pid),
                pgid: i64::from(st.pid),
                proc_start: st.proc_start,
                spawned_by: self.opts.spawned_by.to_string(),
            },
        ));
        self.record_by.get_or_insert(Instant::now() + take_turn::RECORD_WITHIN);
        self.progress.line(&format!("{task_id} started (attempt {attempt}, pid {}): {title}", st.pid));
        false
    }

    fn give_back(&mut self, s: &Slot) {
        let run = RunRef { task_id: &s.task_id, run_id: &s.run_id, token: &s.token };
        if self.orch.settle(&run, Outcome::Interrupt, "", None).is_ok() {
            self.progress.counts.interrupted += 1;
            self.progress.line(&format!("{} put back (not counted as an attempt)", s.task_id));
        }
    }
}
