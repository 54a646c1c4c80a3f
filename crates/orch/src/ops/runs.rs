//! Bookkeeping of runs (the store's `Run` records; the `orch run` command is
//! `dispatch`) for the process side: where a worker runs, what it used (per run, per
//! task, per day), what the gate said, whether a run still holds its lease, and what the
//! tasks it depends on reported.

use super::Orch;
use super::rules::finished_by_holder;
use super::verdict::{run_event, verdict_in};
use crate::error::{Error, Result};
use orch_core::event::{Event, Level, kind};
use orch_core::outcome::Usage;
use orch_core::task::Task;
use orch_store::Run;

/// Whether a run still holds its task's lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseState {
    Held,
    /// The run's own holder ended it (`orch done`, `orch fail`).
    Finished,
    /// Gone: cancelled, expired and taken, edited by hand.
    Lost,
}

/// A task this one depends on, as its worker sees it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DepReport {
    pub id: String,
    pub task: String,
    pub status: String,
    pub report: Option<String>,
}

impl Orch {
    pub fn add_usage(&self, run_id: &str, usage: &Usage) -> Result<()> {
        if usage.is_zero() {
            return Ok(());
        }
        Ok(orch_store::write(self.db.as_ref(), |tx| tx.run_add_usage(run_id, usage))?)
    }

    /// Records the agent session id the run's worker reported, so a retry resumes it.
    pub fn set_session(&self, run_id: &str, session: &str) -> Result<()> {
        Ok(orch_store::write(self.db.as_ref(), |tx| tx.run_set_session(run_id, session))?)
    }

    /// Records the gate's verdict on the run, with its event.
    pub fn set_verdict(&self, run_id: &str, verdict: &str, reason: &str) -> Result<()> {
        let now = self.now();
        self.log_change(|tx| verdict_in(tx, run_id, verdict, reason, now))
    }

    /// Records that a budget stopped something (`budget.exceeded`).
    pub fn budget_exceeded(&self, task_id: Option<&str>, msg: &str) -> Result<()> {
        let mut e = Event::new(self.now(), kind::BUDGET_EXCEEDED);
        e.level = Level::Warn;
        e.task_id = task_id.map(str::to_string);
        e.msg = Some(msg.to_string());
        self.log_change(|tx| tx.event_insert(&e).map(|_| ()))
    }

    /// What the runs of a task cost so far.
    pub fn task_cost(&self, task_id: &str) -> Result<f64> {
        Ok(self.task_usage(task_id)?.cost_usd)
    }

    /// What the runs of a task used so far, summed.
    pub fn task_usage(&self, task_id: &str) -> Result<Usage> {
        let runs = orch_store::read(self.db.as_ref(), |tx| tx.runs_of(task_id))?;
        let mut total = Usage::default();
        runs.iter().for_each(|r| total.add(&r.usage));
        Ok(total)
    }

    /// What runs started since `since` cost.
    pub fn cost_since(&self, since: jiff::Timestamp) -> Result<f64> {
        Ok(orch_store::read(self.db.as_ref(), |tx| tx.cost_since(since))?)
    }

    /// What runs started today (the display time zone's day) cost, and which day it is.
    pub fn spent_today(&self) -> Result<(f64, jiff::civil::Date)> {
        let today = self.tz.to_datetime(self.now()).date();
        let midnight = self.tz.to_ambiguous_timestamp(today.to_datetime(jiff::civil::Time::midnight())).compatible();
        let since = midnight.map_err(|e| Error::Io(format!("time zone: {e}")))?;
        Ok((self.cost_since(since)?, today))
    }

    /// How many tasks could be claimed now, counted up to `cap`.
    pub fn eligible_now(&self, cap: usize) -> Result<usize> {
        let now = self.now();
        Ok(orch_store::read(self.db.as_ref(), |tx| tx.claim_candidates(now, cap))?.len())
    }

    /// For each `(run_id, task_id, token)`, whether the run still holds its task's lease.
    pub fn lease_states(&self, runs: &[(String, String, String)]) -> Result<Vec<LeaseState>> {
        Ok(orch_store::read(self.db.as_ref(), |tx| {
            let mut out = Vec::with_capacity(runs.len());
            for (run_id, task_id, token) in runs {
                let holds = tx.task_get(task_id)?.and_then(|t| t.lease).is_some_and(|l| &l.token == token);
                let state = if holds {
                    LeaseState::Held
                } else if tx.run_get(run_id)?.is_some_and(|r| finished_by_holder(r.outcome.as_deref())) {
                    LeaseState::Finished
                } else {
                    LeaseState::Lost
                };
                out.push(state);
            }
            Ok(out)
        })?)
    }

    /// Unfinished runs a dispatcher (or `exec`) on `host` claimed.
    pub fn live_runs_on(&self, host: &str) -> Result<Vec<Run>> {
        Ok(orch_store::read(self.db.as_ref(), |tx| tx.runs_live_on(host))?)
    }

    /// The tasks `task` depends on, each with the report of its last finished run.
    pub fn dep_reports(&self, task: &Task) -> Result<Vec<DepReport>> {
        if task.depends_on.is_empty() {
            return Ok(Vec::new());
        }
        Ok(orch_store::read(self.db.as_ref(), |tx| {
            let mut out = Vec::new();
            for id in &task.depends_on {
                let Some(dep) = tx.task_get(id)? else { continue };
                // The report of the run that finished it; failed runs' output is not it.
                let runs = tx.runs_of(id)?;
                let done = runs.iter().rev().find(|r| r.outcome.as_deref() == Some("done"));
                let report =
                    done.or_else(|| runs.iter().rev().find(|r| r.report.is_some())).and_then(|r| r.report.clone());
                out.push(DepReport { id: dep.id, task: dep.task, status: dep.status.to_string(), report });
            }
            Ok(out)
        })?)
    }
}

impl Orch {
    /// Closes a run whose task moved on without it (found after its dispatcher died).
    pub fn end_orphan_run(&self, run_id: &str) -> Result<()> {
        let end = orch_store::RunEnd {
            outcome: "abandoned",
            class: None,
            reason: Some("dispatcher_lost"),
            report: None,
            at: self.now(),
        };
        self.log_change(|tx| {
            let Some(run) = tx.run_get(run_id)?.filter(|r| r.ended_at.is_none()) else { return Ok(()) };
            tx.run_end(run_id, &end)?;
            let mut e = run_event(&run, end.at, kind::RUN_FINISHED);
            e.level = Level::Warn;
            e.msg = Some("abandoned: dispatcher_lost".into());
            tx.event_insert(&e)?;
            Ok(())
        })
    }
}
