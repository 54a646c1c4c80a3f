//! The dispatcher takes a turn and makes the starts it leads to: it decides what the
//! turn holds and acts on it once committed (the transaction itself is
//! `ops::dispatch_turn`; one run's end alone is `ops::settle`/`ops::settle_fast`). One
//! transaction records where the workers started since the last turn run, settles the
//! runs that ended since, and claims a task for each free slot (while the day's cost
//! budget is not spent), each under a lease recorded with this dispatcher's identity. Only once that
//! is committed are the ends reported and the claimed tasks handed to the launcher
//! thread, which starts their workers (`launch`); a worker that cannot start is a
//! transient failure, settled in the next turn.
//!
//! Where a worker runs (pid, group, start time) is not a turn of its own: it goes into
//! the next turn, or after [`RECORD_WITHIN`] into a transaction of its own when no turn
//! came. Until then recovery finds the worker by the run id in its environment, as it
//! finds one whose dispatcher died before recording it.

use super::state::{Dispatcher, Ended, Phase, Slot, to_std};
use crate::error::Result;
use crate::ops::{ClaimRequest, Claimed, Ending, Outcome, Turn};
use orch_core::outcome::{Exit, Usage};
use std::time::{Duration, Instant};

/// How long where a started worker runs may wait for the next turn to be recorded.
pub const RECORD_WITHIN: Duration = Duration::from_millis(100);

impl Dispatcher<'_> {
    /// Whether a turn has something to write besides claims: ends to settle, or
    /// processes whose record is due.
    pub(super) fn turn_due(&self, now: Instant) -> bool {
        !self.ended.is_empty() || self.record_by.is_some_and(|t| now >= t)
    }

    /// One turn (see the module's doc); claims only when `claim`. Returns true when
    /// claiming found nothing eligible now (or the day's budget is spent).
    pub(super) fn turn(&mut self, claim: bool) -> Result<bool> {
        if claim && self.orch.config().budget.daily_cost_usd > 0.0 && self.ended.iter().any(|e| e.usage.cost_usd > 0.0)
        {
            // The day's budget counts what the ended runs cost: write them first.
            self.turn(false)?;
        }
        let mut idle = false;
        let mut nos = Vec::new();
        let mut paused = Vec::new();
        if claim {
            paused = self.orch.pauses()?;
            if self.daily_budget_spent()? || paused.iter().any(|p| p.profile.is_none()) {
                idle = true;
            } else {
                let free = self.opts.workers.saturating_sub(self.slots.len());
                let left = self.opts.max_claims.map_or(usize::MAX, |m| m.saturating_sub(self.claims));
                nos = (1..=self.opts.workers)
                    .filter(|n| self.slots.values().all(|s| s.no != *n))
                    .take(free.min(left))
                    .collect();
            }
        }
        let reqs: Vec<ClaimRequest> = nos.iter().map(|no| self.claim_request(*no)).collect();
        if reqs.is_empty() && self.ended.is_empty() && self.unrecorded.is_empty() {
            return Ok(idle);
        }
        let ended = std::mem::take(&mut self.ended);
        let processes = std::mem::take(&mut self.unrecorded);
        self.record_by = None;
        let endings: Vec<Ending<'_>> = ended.iter().map(Ended::ending).collect();
        let room = if reqs.is_empty() { Vec::new() } else { self.profile_room(&paused) };
        let turn = Turn { processes: &processes, endings: &endings, claims: &reqs, room: &room };
        let done = match self.orch.turn(&turn) {
            Ok(done) => done,
            Err(e) => {
                // Kept for the shutdown after the error, which tries to write them.
                drop(endings);
                self.ended = ended;
                self.unrecorded = processes;
                return Err(e);
            }
        };
        idle |= !done.all_claimed;
        for (e, settled) in ended.iter().zip(done.settled) {
            self.view_dirty = true;
            self.report(&e.task_id, &e.exit, settled, e.took);
        }
        for (c, no) in done.claimed.into_iter().zip(nos) {
            self.start(c, no);
        }
        if claim {
            self.show_status();
        }
        Ok(idle)
    }

    /// How many more tasks of each configured profile this dispatcher may start: the
    /// profile's `workers` less its tasks running in this dispatcher's slots; none of a
    /// paused profile. The turn's transaction lowers it to what the whole queue leaves
    /// (`ops::dispatch_turn`: every dispatcher's running tasks count).
    fn profile_room(&self, paused: &[crate::ops::Pause]) -> Vec<(String, usize)> {
        let config = self.orch.config();
        let mut room: Vec<(String, usize)> = config
            .profiles
            .iter()
            .map(|(name, p)| {
                let running = self.slots.values().filter(|s| s.profile == *name).count();
                (name.clone(), p.workers.saturating_sub(running))
            })
            .collect();
        for name in paused.iter().filter_map(|p| p.profile.as_deref()) {
            match room.iter_mut().find(|(n, _)| n == name) {
                Some((_, left)) => *left = 0,
                None => room.push((name.to_string(), 0)),
            }
        }
        room
    }

    fn claim_request(&self, no: usize) -> ClaimRequest {
        ClaimRequest {
            owner: self.opts.owner.clone().unwrap_or_else(|| format!("worker:{}-{no}", self.host)),
            lease: self.orch.config().dispatcher.lease,
            host: Some(self.host.clone()),
            pid: None,
            pgid: None,
            spawned_by: Some(self.opts.spawned_by.to_string()),
            dispatcher: Some(self.me.clone()),
        }
    }

    /// Takes slot `no` for a claimed task and hands the task to the launcher thread,
    /// which starts its worker (see `launch`); the loop learns how that went, and the
    /// next turn records where the worker runs.
    fn start(&mut self, c: Claimed, no: usize) {
        self.claims += 1;
        self.view_dirty = true;
        self.progress.counts.started += 1;
        let slot = self.slot_for(&c, no);
        self.slots.insert(c.run.id.clone(), slot);
        let run_id = c.run.id.clone();
        if self.launches.as_ref().is_none_or(|l| l.send(Box::new(c)).is_err()) {
            // The launcher is gone (it cannot be while the loop runs): not started.
            let s = self.slots.remove(&run_id).expect("just inserted");
            self.spawn_failed(s, "the launcher thread is gone".into());
        }
    }

    /// Slot `no` for a claimed task whose worker starts now: its deadline and first
    /// heartbeat from the config.
    pub(super) fn slot_for(&self, c: &Claimed, no: usize) -> Slot {
        let now = Instant::now();
        let config = self.orch.config();
        let lease = to_std(config.dispatcher.lease);
        let profile = c.task.profile().to_string();
        let timeout = config.profiles.get(&profile).and_then(|p| p.timeout).unwrap_or(config.worker.timeout);
        Slot {
            no,
            task_id: c.task.id.clone(),
            run_id: c.run.id.clone(),
            token: c.run.lease_token.clone(),
            title: crate::console::clip(&c.task.task, 60).to_string(),
            group: None,
            started: now,
            deadline: now + to_std(timeout),
            next_heartbeat: now + lease / 3,
            stop: None,
            kill_at: None,
            attempt: c.run.attempt,
            profile,
            phase: Phase::Work,
        }
    }

    /// A worker that could not start ends at once, a failure settled by the next turn:
    /// transient, but for an argument list too long for the system (permanent: another
    /// try would fail the same way).
    pub(super) fn spawn_failed(&mut self, s: Slot, why: crate::runner::SpawnError) {
        let exit = Exit::SpawnFailed(why.message);
        let (mut class, reason) = orch_core::outcome::verdict(&exit, None, &[]).unwrap_err();
        if why.permanent {
            class = orch_core::policy::FailureClass::Permanent;
        }
        self.ended.push(Ended {
            task_id: s.task_id,
            run_id: s.run_id,
            token: s.token,
            exit,
            took: Duration::ZERO,
            outcome: Outcome::Fail { class, reason },
            report: String::new(),
            judged: None,
            usage: Usage::default(),
        });
    }

    /// True when runs started today (display time zone) cost `budget.daily_cost_usd` or
    /// more: claiming stops until tomorrow, said once (and `orch kpi` alerts).
    fn daily_budget_spent(&mut self) -> Result<bool> {
        let limit = self.orch.config().budget.daily_cost_usd;
        if limit <= 0.0 {
            return Ok(false);
        }
        let (spent, today) = self.orch.spent_today()?;
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
}
