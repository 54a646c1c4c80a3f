//! Claiming and starting: while slots are free (and the day's cost budget is not spent),
//! claim the next eligible task under a lease recorded with this dispatcher's identity,
//! start its worker and record where the process is; a worker that cannot start is a
//! transient failure at once.

use super::slots::{Phase, Slot};
use super::{Dispatcher, launch, to_std};
use crate::error::Result;
use crate::ops::{ClaimRequest, Outcome, RunRef};
use crate::store::ProcessInfo;
use orch_core::outcome::Exit;
use std::time::{Duration, Instant};

impl Dispatcher<'_> {
    /// Claims and starts tasks while slots are free. Returns true when nothing was
    /// eligible (the queue is idle for now).
    pub(super) fn fill(&mut self) -> Result<bool> {
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
                spawned_by: Some(self.opts.spawned_by.to_string()),
                dispatcher: Some(self.me.clone()),
            };
            let (claimed, _) = self.orch.claim(&req)?;
            let Some(c) = claimed else { return Ok(true) };
            self.claims += 1;
            self.view_dirty = true;
            self.progress.counts.started += 1;
            match launch::launch(self.orch, &c, &self.command) {
                Ok(spawned) => {
                    let group = self.watch(spawned.child, &c.run.id);
                    let info = ProcessInfo {
                        host: self.host.clone(),
                        pid: i64::from(spawned.pid),
                        pgid: i64::from(spawned.pid),
                        proc_start: spawned.proc_start,
                        spawned_by: self.opts.spawned_by.to_string(),
                    };
                    let now = Instant::now();
                    let lease = to_std(self.orch.config.dispatcher.lease);
                    let slot = Slot {
                        no,
                        task_id: c.task.id.clone(),
                        run_id: c.run.id.clone(),
                        token: c.run.lease_token.clone(),
                        group,
                        started: now,
                        deadline: now + to_std(self.orch.config.worker.timeout),
                        next_heartbeat: now + lease / 3,
                        stop: None,
                        kill_at: None,
                        attempt: c.run.attempt,
                        phase: Phase::Work,
                    };
                    self.slots.insert(c.run.id.clone(), slot);
                    self.orch.record_process(&c.run.id, &info)?;
                    self.progress.line(&format!(
                        "{} started (attempt {}, pid {}): {}",
                        c.task.id,
                        c.run.attempt,
                        spawned.pid,
                        crate::console::clip(&c.task.task, 60)
                    ));
                }
                Err(e) => {
                    let exit = Exit::SpawnFailed(e);
                    let (class, reason) = orch_core::outcome::verdict(&exit, None, &[]).unwrap_err();
                    let run = RunRef { task_id: &c.task.id, run_id: &c.run.id, token: &c.run.lease_token };
                    let settled = self.orch.settle(&run, Outcome::Fail { class, reason }, "", None)?;
                    self.report(&c.task.id, &exit, settled, Duration::ZERO);
                }
            }
        }
        self.show_status();
        Ok(false)
    }

    /// True when runs started today (display time zone) cost `budget.daily_cost_usd` or
    /// more: claiming stops until tomorrow, said once (and `orch kpi` alerts).
    fn daily_budget_spent(&mut self) -> Result<bool> {
        let limit = self.orch.config.budget.daily_cost_usd;
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
