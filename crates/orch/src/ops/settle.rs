//! How the end of a run becomes the task's next state, for the dispatcher and for a
//! worker's own `orch done` alike: the gate decides (one decision, `gate::first_step`
//! and `gate::after_review`, whoever asks), its verdict is recorded on the run, and the
//! outcome moves the task — DONE, FAILED by the retry rule, BLOCKED, or back to PENDING
//! (a shutdown). A failure of a task whose runs spent `budget.task_cost_usd` blocks it
//! (`cost_limit`) instead of retrying. A run that had ended already (its worker finished
//! the task itself) is left as it ended.

use super::Orch;
use super::one_step::{self, Known};
use crate::error::{Error, Result};
use crate::gate::{self, Decision, Step, Verdict};
use crate::ops::json::task_json;
use crate::store::{self, Run};
use orch_core::policy::FailureClass;
use orch_core::state::{Auth, Command};
use orch_core::task::{Status, Task};

/// What becomes of the task.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Done {
        note: Option<String>,
    },
    Fail {
        class: FailureClass,
        reason: String,
    },
    Block {
        reason: String,
    },
    /// Back to PENDING, the attempt not counted.
    Interrupt,
    /// The lease is gone: only keep the report.
    LeaseLost,
}

impl Outcome {
    /// Where the gate's final decision sends the task.
    pub fn of(d: &Decision) -> Outcome {
        match d.verdict {
            Verdict::Pass => Outcome::Done { note: d.note.clone() },
            Verdict::Retry => Outcome::Fail { class: FailureClass::Transient, reason: d.reason.clone() },
            Verdict::Block => Outcome::Block { reason: d.reason.clone() },
        }
    }
}

/// The run an outcome is for, and the lease token it holds.
#[derive(Clone, Copy, Debug)]
pub struct RunRef<'a> {
    pub task_id: &'a str,
    pub run_id: &'a str,
    pub token: &'a str,
}

/// What happened to the task.
#[derive(Clone, Debug)]
pub enum Settled {
    /// The task moved; `reason` is the one recorded for a failure or a block.
    Task { task: Box<Task>, reason: Option<String>, warnings: Vec<String> },
    /// The lease was gone: the task belongs to someone else now; the report was kept
    /// on the run as a late report.
    LeaseLost,
    /// The run had ended already with `outcome` (`done`, `failed`, `blocked`): its worker
    /// finished the task itself (`orch done`, `orch fail`). Nothing more was stored.
    Ended { task: Box<Task>, outcome: String },
}

/// What a lease holder's `done` came to.
#[derive(Clone, Debug)]
pub struct DoneResult {
    pub task: Task,
    /// The gate's decision; `None` when an operator forced it (`--force`).
    pub decision: Option<Decision>,
    /// The reason recorded when the task did not become DONE.
    pub reason: Option<String>,
    pub warnings: Vec<String>,
}

/// Run outcomes that only the run's own holder (or an operator's `--force`) records:
/// the run was finished, not lost.
pub(crate) fn finished_by_holder(outcome: Option<&str>) -> bool {
    matches!(outcome, Some("done" | "failed" | "blocked"))
}

impl Orch {
    /// Applies `outcome` to the task of `run`; `report` goes on the run, and so does the
    /// gate's decision when there was one (in the same transaction).
    pub fn settle(
        &self,
        run: &RunRef<'_>,
        outcome: Outcome,
        report: &str,
        judged: Option<&Decision>,
    ) -> Result<Settled> {
        self.settle_known(run, outcome, report, judged, None)
    }

    /// [`Orch::settle`], given the task and its run as read before (by `done`, for the
    /// gate), or reading them first in its own transaction: the change is written in one
    /// step of the store when the task is still as read (see `one_step`), else the
    /// general way.
    fn settle_known(
        &self,
        run: &RunRef<'_>,
        outcome: Outcome,
        report: &str,
        judged: Option<&Decision>,
        known: Option<Known<'_>>,
    ) -> Result<Settled> {
        let outcome = self.cost_limited(run.task_id, outcome)?;
        let reason = match &outcome {
            Outcome::Fail { reason, .. } | Outcome::Block { reason } => Some(reason.clone()),
            _ => None,
        };
        let auth = Auth::Token(run.token.to_string());
        let report = Some(report).filter(|r| !r.trim().is_empty());
        let cmd = match outcome {
            Outcome::Interrupt => Command::Interrupt { auth, reason: "dispatcher_shutdown".into() },
            Outcome::LeaseLost => {
                let reason = "lease_lost".to_string();
                Command::Fail { auth, reason, class: FailureClass::Transient, unit: super::claim::unit_draw() }
            }
            Outcome::Done { note } => Command::Complete { auth, notes: note },
            Outcome::Fail { class, reason } => Command::Fail { auth, reason, class, unit: super::claim::unit_draw() },
            Outcome::Block { reason } => Command::Block { auth, reason },
        };
        let now = self.now();
        let mut verdict = |tx: &mut dyn crate::store::Tx| match judged {
            Some(d) => super::run::verdict_in(tx, run.run_id, d.verdict.as_str(), &d.reason, now),
            None => Ok(()),
        };
        let judged_as = judged.map(|d| (d.verdict.as_str(), d.reason.as_str()));
        // The one-step write, from the task and run read before, or read here first.
        let mut at_once = |tx: &mut dyn crate::store::Tx| {
            let step = |tx: &mut dyn crate::store::Tx, k: &Known<'_>| {
                one_step::settle(tx, k, &cmd, report, judged_as, now, &self.policy)
            };
            match &known {
                Some(k) => step(tx, k),
                None => match (tx.task_get(run.task_id)?, tx.run_get(run.run_id)?) {
                    (Some(task), Some(r)) => step(tx, &Known { task: &task, run: &r }),
                    _ => Ok(None),
                },
            }
        };
        match self.apply_then(run.task_id, &cmd, report, &mut at_once, &mut verdict) {
            Ok((task, warnings)) => Ok(Settled::Task { task: Box::new(task), reason, warnings }),
            Err(Error::Transition(_)) => {
                let (ended, task) =
                    store::read(self.db.as_ref(), |tx| Ok((tx.run_get(run.run_id)?, tx.task_get(run.task_id)?)))?;
                match (ended.and_then(|r| r.outcome), task) {
                    (Some(o), Some(t)) if finished_by_holder(Some(&o)) => {
                        Ok(Settled::Ended { task: Box::new(t), outcome: o })
                    }
                    _ => Ok(Settled::LeaseLost),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// The run and its task when the run has ended with an outcome only its holder
    /// records (the worker finished the task itself); `None` while it is live, or when
    /// it was lost (expired, cancelled).
    pub fn ended_by_holder(&self, run_id: &str) -> Result<Option<(Run, Task)>> {
        Ok(store::read(self.db.as_ref(), |tx| {
            let Some(run) = tx.run_get(run_id)?.filter(|r| finished_by_holder(r.outcome.as_deref())) else {
                return Ok(None);
            };
            Ok(tx.task_get(&run.task_id)?.map(|t| (run, t)))
        })?)
    }

    /// The review of a run's report by `gate.reviewer`, its files named `name` in the
    /// run's folder.
    pub fn reviewer_job<'a>(
        &'a self,
        task: &'a Task,
        run_id: &'a str,
        attempt: u32,
        d: &Decision,
        name: &'a str,
    ) -> gate::reviewer::Job<'a> {
        gate::reviewer::Job {
            argv: &self.config.gate.reviewer,
            home: &self.home,
            task_id: &task.id,
            run_id,
            name,
            input: gate::reviewer_input(&task_json(task), &d.report, attempt),
        }
    }

    /// The whole gate on a report, the reviewer (when configured) run to its end under
    /// `gate.reviewer_timeout`: for `orch done` and `orch review`.
    pub fn judge(&self, task: &Task, run_id: &str, attempt: u32, report: &str, name: &str) -> Decision {
        match gate::first_step(&self.gate_for_task(task), report) {
            Step::Decided(d) => d,
            Step::Review(d) => {
                let timeout = self.config.gate.reviewer_timeout.unsigned_abs();
                let verdict = self.reviewer_job(task, run_id, attempt, &d, name).run_to_end(timeout);
                gate::after_review(d, verdict)
            }
        }
    }

    /// A worker's `done`: with the lease token, the gate decides on `report` (none is
    /// the empty report) exactly as it does for the dispatcher — PASS → DONE, RETRY → a
    /// transient failure with the reason in the notes, BLOCK → BLOCKED. An operator's
    /// `Auth::Force` skips the gate. A token that no longer holds the lease is refused
    /// (`lease lost`), its report kept on its run.
    pub fn done(&self, id: &str, auth: Auth, notes: Option<String>, report: Option<&str>) -> Result<DoneResult> {
        let holds = |task: &Task, token: &String| task.lease.as_ref().is_some_and(|l| &l.token == token);
        // The task and the run its token holds, in one read.
        let token = match &auth {
            Auth::Token(token) => token.as_str(),
            Auth::Force => "",
        };
        let (task, held) =
            store::read(self.db.as_ref(), |tx| tx.task_and_holder(id, token))?.ok_or_else(|| super::not_found(id))?;
        let token = match &auth {
            Auth::Token(token) if holds(&task, token) => token.clone(),
            // Forced (no gate), or refused by the transition, which keeps the report as a
            // late report and says why.
            _ => {
                let (task, warnings) = self.apply_with_report(id, &Command::Complete { auth, notes }, report)?;
                return Ok(DoneResult { task, decision: None, reason: None, warnings });
            }
        };
        let run = held.ok_or_else(|| Error::Io(format!("{id}: no run holds its lease token")))?;
        let d = self.judge(&task, &run.id, run.attempt, report.unwrap_or(""), "review");
        let outcome = match Outcome::of(&d) {
            Outcome::Done { note } => {
                let both = [notes, note].into_iter().flatten().collect::<Vec<_>>().join(" / ");
                Outcome::Done { note: Some(both).filter(|n| !n.is_empty()) }
            }
            other => other,
        };
        let run_ref = RunRef { task_id: id, run_id: &run.id, token: &token };
        let known = Known { task: &task, run: &run };
        match self.settle_known(&run_ref, outcome, &d.report, Some(&d), Some(known))? {
            Settled::Task { task, reason, warnings } => {
                let reason = reason.filter(|_| task.status != Status::Done);
                Ok(DoneResult { task: *task, decision: Some(d), reason, warnings })
            }
            Settled::LeaseLost | Settled::Ended { .. } => Err(Error::Conflict(format!(
                "lease lost: {id} is no longer held by this token (it changed while the gate judged the report, \
                     which is kept on the run)"
            ))),
        }
    }

    /// A failure of a task that spent its cost budget blocks it instead of retrying.
    fn cost_limited(&self, task_id: &str, outcome: Outcome) -> Result<Outcome> {
        let limit = self.config.budget.task_cost_usd;
        if limit <= 0.0 || !matches!(outcome, Outcome::Fail { .. }) {
            return Ok(outcome);
        }
        let spent = self.task_cost(task_id)?;
        if spent < limit {
            return Ok(outcome);
        }
        let reason = super::run::cost_limit_reason(spent, limit);
        self.budget_exceeded(Some(task_id), &reason)?;
        Ok(Outcome::Block { reason })
    }
}
