//! How the end of a run becomes the task's next state, for the dispatcher and for a
//! worker's own `orch done` alike: the gate decides (one decision, `gate::first_step`
//! and `gate::after_review`, whoever asks), its verdict is recorded on the run, and the
//! outcome moves the task — DONE, FAILED by the retry rule, BLOCKED, or back to PENDING
//! (a shutdown, or a worker's deferral, which may pause the task's profile too). A failure of a task whose runs spent `budget.task_cost_usd` blocks it
//! (`cost_limit`) instead of retrying. A run that had ended already (its worker finished
//! the task itself) is left as it ended.

use super::Orch;
use super::late_report::keep_late_report;
use super::rules::{Rules, cost_limit_reason, finished_by_holder, unit_draw};
use super::settle_fast::{self, Known};
use super::verdict::verdict_on;
use crate::error::{Error, Result};
use crate::gate::{self, Decision, Step, Verdict};
use crate::ops::json::task_json;
use crate::persist::persist_traced;
use jiff::Timestamp;
use orch_core::event::{Event, Level, kind};
use orch_core::outcome::{DeferScope, Usage};
use orch_core::policy::FailureClass;
use orch_core::state::{Auth, Command, transition};
use orch_core::task::{Status, Task};
use orch_store::{Run, StoreError, Tx};

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
    /// The worker deferred the task (a `defer` control line, an agent's usage limit):
    /// back to PENDING not before `until`, the attempt not counted; with
    /// [`DeferScope::Profile`] its whole profile pauses until then.
    Defer {
        until: Timestamp,
        scope: DeferScope,
        reason: String,
    },
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

/// The end of one run, to be written: what becomes of its task, the report to keep on
/// the run, the gate's decision when it judged, and the usage the worker reported.
#[derive(Clone, Debug)]
pub struct Ending<'a> {
    pub run: RunRef<'a>,
    pub outcome: Outcome,
    pub report: &'a str,
    pub judged: Option<&'a Decision>,
    pub usage: Option<&'a Usage>,
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

impl Orch {
    /// Applies `outcome` to the task of `run` in one transaction; `report` goes on the
    /// run, and so does the gate's decision when there was one.
    pub fn settle(
        &self,
        run: &RunRef<'_>,
        outcome: Outcome,
        report: &str,
        judged: Option<&Decision>,
    ) -> Result<Settled> {
        let ending = Ending { run: *run, outcome, report, judged, usage: None };
        self.settle_known(&ending, None)
    }

    /// [`Orch::settle`] given the task and its live run as read before (by `done`, for the
    /// gate): no second read when nothing changed meanwhile (see `settle_in`).
    fn settle_known(&self, ending: &Ending<'_>, known: Option<Known<'_>>) -> Result<Settled> {
        let now = self.now();
        let rules = self.rules();
        let (settled, warnings) = self.change(|tx| settle_in(tx, ending, now, &rules, known.as_ref()))?;
        Ok(match settled {
            Settled::Task { task, reason, .. } => Settled::Task { task, reason, warnings },
            other => other,
        })
    }

    /// `Settled::Ended` when the run has ended with an outcome only its holder records
    /// (the worker finished the task itself); `None` while it is live, or when it was
    /// lost (expired, cancelled).
    pub fn ended_by_holder(&self, run_id: &str) -> Result<Option<Settled>> {
        Ok(orch_store::read(self.db.as_ref(), |tx| match tx.run_get(run_id)? {
            Some(run) => holder_end(tx, &run, &run.task_id),
            None => Ok(None),
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
        self.done_then(id, auth, notes, report, &|_| None)
    }

    /// [`Orch::done`], where a report the gate passed goes through `before_done` (given
    /// the run's id) before the task is DONE: a reason it returns makes the run a
    /// transient failure instead (a branch that did not land, docs/WORKSPACES.md).
    pub fn done_then(
        &self,
        id: &str,
        auth: Auth,
        notes: Option<String>,
        report: Option<&str>,
        before_done: &dyn Fn(&str) -> Option<String>,
    ) -> Result<DoneResult> {
        let holds = |task: &Task, token: &String| task.lease.as_ref().is_some_and(|l| &l.token == token);
        // The task and the run its token holds, in one read.
        let token = match &auth {
            Auth::Token(token) => token.as_str(),
            Auth::Force => "",
        };
        let (task, held) = orch_store::read(self.db.as_ref(), |tx| tx.task_and_holder(id, token))?
            .ok_or_else(|| super::not_found(id))?;
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
        let outcome = match outcome {
            Outcome::Done { .. } => match before_done(&run.id) {
                Some(reason) => Outcome::Fail { class: orch_core::policy::FailureClass::Transient, reason },
                None => outcome,
            },
            other => other,
        };
        let run_ref = RunRef { task_id: id, run_id: &run.id, token: &token };
        let ending = Ending { run: run_ref, outcome, report: &d.report, judged: Some(&d), usage: None };
        match self.settle_known(&ending, Some(Known { task: &task, run: &run }))? {
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
}

/// Writes one run's end inside `tx` (see [`settle_run`]); a deferral with `scope:
/// profile` that moved the task also pauses the task's profile until then (a
/// `queue.paused` whose reason names the deferral).
pub(super) fn settle_in(
    tx: &mut dyn Tx,
    e: &Ending<'_>,
    now: Timestamp,
    rules: &Rules<'_>,
    known: Option<&Known<'_>>,
) -> orch_store::Result<Settled> {
    let settled = settle_run(tx, e, now, rules, known)?;
    if let Outcome::Defer { until, scope: DeferScope::Profile, reason } = &e.outcome
        && let Settled::Task { task, .. } = &settled
        && task.status == Status::Pending
    {
        let why = format!("deferred by {}: {reason}", task.id);
        super::pause::defer_profile(tx, task.profile(), *until, &why, now)?;
    }
    Ok(settled)
}

/// Writes one run's end inside `tx`: the usage it reported, the gate's verdict, and the
/// task's next state by the transition rules. A run its own holder ended already (its
/// worker called `orch done` or `orch fail`) gets only the usage: its task and its
/// verdict are the holder's. When the transition is refused otherwise (the lease is
/// gone) the task is not touched and the report is kept as a late report. The change is
/// written in one step of the store when it can be (see `settle_fast`), from `known` (the
/// task and run as read before this transaction) or from what is read here first.
fn settle_run(
    tx: &mut dyn Tx,
    e: &Ending<'_>,
    now: Timestamp,
    rules: &Rules<'_>,
    known: Option<&Known<'_>>,
) -> orch_store::Result<Settled> {
    let run = &e.run;
    if let Some(u) = e.usage.filter(|u| !u.is_zero()) {
        tx.run_add_usage(run.run_id, u)?;
    }
    // Not known before: read first, and a run its holder ended already keeps that end.
    let first_read = match known {
        Some(_) => None,
        None => Some(tx.run_get(run.run_id)?),
    };
    if let Some(Some(r)) = &first_read
        && let Some(ended) = holder_end(tx, r, run.task_id)?
    {
        return Ok(ended);
    }
    let outcome = cost_limited(tx, run.task_id, e.outcome.clone(), rules.cost_limit, now)?;
    let reason = match &outcome {
        Outcome::Fail { reason, .. } | Outcome::Block { reason } | Outcome::Defer { reason, .. } => {
            Some(reason.clone())
        }
        _ => None,
    };
    let auth = Auth::Token(run.token.to_string());
    let report = Some(e.report).filter(|r| !r.trim().is_empty());
    let cmd = match outcome {
        Outcome::Interrupt => Command::Interrupt { auth, reason: "dispatcher_shutdown".into() },
        Outcome::Defer { until, reason, .. } => Command::Defer { auth, until, reason },
        Outcome::LeaseLost => {
            let reason = "lease_lost".to_string();
            Command::Fail { auth, reason, class: FailureClass::Transient, unit: unit_draw() }
        }
        Outcome::Done { note } => Command::Complete { auth, notes: note },
        Outcome::Fail { class, reason } => Command::Fail { auth, reason, class, unit: unit_draw() },
        Outcome::Block { reason } => Command::Block { auth, reason },
    };
    let judged_as = e.judged.map(|d| (d.verdict.as_str(), d.reason.as_str()));
    let settled = |task: Task| Settled::Task { task: Box::new(task), reason: reason.clone(), warnings: Vec::new() };
    // Known before: try the one step; a task that changed meanwhile is read again below.
    if let Some(k) = known
        && let Some(task) = settle_fast::settle(tx, k, &cmd, report, judged_as, now, rules.policy)?
    {
        return Ok(settled(task));
    }
    let stored = match first_read {
        Some(stored) => stored,
        None => tx.run_get(run.run_id)?,
    };
    if known.is_some()
        && let Some(r) = &stored
        && let Some(ended) = holder_end(tx, r, run.task_id)?
    {
        return Ok(ended);
    }
    let before = tx.task_get(run.task_id)?.ok_or_else(|| StoreError::NotFound(run.task_id.to_string()))?;
    if known.is_none()
        && let Some(r) = &stored
        && let Some(task) =
            settle_fast::settle(tx, &Known { task: &before, run: r }, &cmd, report, judged_as, now, rules.policy)?
    {
        return Ok(settled(task));
    }
    if let (Some(d), Some(r)) = (e.judged, &stored) {
        verdict_on(tx, r, d.verdict.as_str(), &d.reason, now)?;
    }
    match transition(&before, &cmd, now, rules.policy) {
        Ok(change) => {
            // The task's live run is this one (its token held the lease): its trace id
            // is known already.
            let trace = stored.filter(|r| before.run_id.as_deref() == Some(r.id.as_str())).map(|r| r.trace_id);
            let task = persist_traced(tx, &before, change, report, trace.as_deref())?;
            Ok(settled(task))
        }
        Err(_) => {
            keep_late_report(tx, &before, &cmd, report, now)?;
            Ok(Settled::LeaseLost)
        }
    }
}

/// The end its holder gave `run` (its worker's own `orch done` or `orch fail`), with
/// the task as it is now; `None` while the run is live or when it was lost.
fn holder_end(tx: &mut dyn Tx, run: &Run, task_id: &str) -> orch_store::Result<Option<Settled>> {
    let Some(outcome) = run.outcome.clone().filter(|o| finished_by_holder(Some(o))) else { return Ok(None) };
    Ok(tx.task_get(task_id)?.map(|task| Settled::Ended { task: Box::new(task), outcome }))
}

/// A failure of a task that spent its cost budget blocks it instead of retrying (with a
/// `budget.exceeded` event).
fn cost_limited(
    tx: &mut dyn Tx,
    task_id: &str,
    outcome: Outcome,
    limit: f64,
    now: Timestamp,
) -> orch_store::Result<Outcome> {
    if limit <= 0.0 || !matches!(outcome, Outcome::Fail { .. }) {
        return Ok(outcome);
    }
    let spent: f64 = tx.runs_of(task_id)?.iter().map(|r| r.usage.cost_usd).sum();
    if spent < limit {
        return Ok(outcome);
    }
    let reason = cost_limit_reason(spent, limit);
    let mut e = Event::new(now, kind::BUDGET_EXCEEDED);
    e.level = Level::Warn;
    e.task_id = Some(task_id.to_string());
    e.msg = Some(reason.clone());
    tx.event_insert(&e)?;
    Ok(Outcome::Block { reason })
}
