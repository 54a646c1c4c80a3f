//! The worker side: claim the next eligible task under a lease (which one: `pick`),
//! renew it, finish it (a `done` goes through the gate, see `settle`); and the watchdog
//! sweep that turns expired leases into transient failures. A task whose runs spent its
//! cost budget is never claimed again: the claim blocks it (`cost_limit`) instead.

use super::Orch;
use super::pick::{expire_in, next_in, refused};
use super::rules::{Rules, unit_draw};
use crate::error::Result;
use crate::persist::persist_traced;
use jiff::{SignedDuration, Timestamp};
use orch_core::policy::{FailureClass, RetryPolicy};
use orch_core::state::{Auth, Command, transition};
use orch_core::task::Task;
use orch_store::{ClaimSpec, NextClaim, Run, StoreError, Tx};
use std::collections::HashSet;

/// Who claims, and for how long.
#[derive(Clone, Debug)]
pub struct ClaimRequest {
    pub owner: String,
    pub lease: SignedDuration,
    pub host: Option<String>,
    pub pid: Option<i64>,
    pub pgid: Option<i64>,
    /// `dispatcher` or `exec` when orch spawns the worker; `None` for an agent.
    pub spawned_by: Option<String>,
    /// The identity (`HOST:PID:START`) of the process that spawns the worker.
    pub dispatcher: Option<String>,
}

impl ClaimRequest {
    /// A claim by `owner` (an agent's, with no process of orch's) under a lease of `lease`.
    pub fn new(owner: impl Into<String>, lease: SignedDuration) -> ClaimRequest {
        ClaimRequest {
            owner: owner.into(),
            lease,
            host: None,
            pid: None,
            pgid: None,
            spawned_by: None,
            dispatcher: None,
        }
    }
}

/// A claimed task and its new run (whose `lease_token` the worker must present).
#[derive(Clone, Debug)]
pub struct Claimed {
    pub task: Task,
    pub run: Run,
}

/// How a worker finishes.
#[derive(Clone, Debug)]
pub enum Finish {
    Done { notes: Option<String> },
    Fail { reason: String, class: FailureClass },
}

/// 32 lowercase hex digits: a W3C trace-context trace id, or a lease token.
pub(crate) fn hex_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl Orch {
    /// Claims the next eligible task in one transaction; `None` when nothing is eligible.
    pub fn claim(&self, req: &ClaimRequest) -> Result<(Option<Claimed>, Vec<String>)> {
        let now = self.now();
        let rules = self.rules();
        self.change(|tx| claim_in(tx, req, now, &rules, &HashSet::new()))
    }

    /// Renews the lease of a running task.
    pub fn heartbeat(&self, id: &str, auth: Auth, lease: SignedDuration) -> Result<(Task, Vec<String>)> {
        let lease_until = orch_core::time::later(self.now(), lease);
        self.apply(id, &Command::Heartbeat { auth, lease_until })
    }

    /// Ends the current run of a task. `Done` with the lease token goes through the
    /// gate ([`Orch::done`]): DONE only on a PASS. `Fail` is FAILED by the retry rule.
    pub fn finish(&self, id: &str, auth: Auth, finish: Finish, report: Option<&str>) -> Result<(Task, Vec<String>)> {
        match finish {
            Finish::Done { notes } => self.done(id, auth, notes, report).map(|d| (d.task, d.warnings)),
            Finish::Fail { reason, class } => {
                self.apply_with_report(id, &Command::Fail { auth, reason, class, unit: unit_draw() }, report)
            }
        }
    }

    /// The watchdog: every expired lease becomes a transient failure `lease_expired`,
    /// which then follows the retry rule. Returns the tasks it changed.
    pub fn sweep(&self) -> Result<(Vec<Task>, Vec<String>)> {
        let now = self.now();
        self.change(|tx| expire_in(tx, now, &self.policy))
    }

    /// Every run of a task, oldest first.
    pub fn runs(&self, id: &str) -> Result<Vec<Run>> {
        self.get(id)?;
        Ok(orch_store::read(self.db.as_ref(), |tx| tx.runs_of(id))?)
    }
}

/// The claim transaction; a task whose profile is in `full` is passed over (its
/// profile runs as many tasks as it may). The common case is one step of the store
/// ([`Tx::claim_next`]), checked against the core's transition; it is taken when no task
/// cost limit is set (the limit needs each candidate's spend, which [`next_in`] reads).
/// Otherwise the next task (see [`next_in`]) is claimed.
pub(super) fn claim_in(
    tx: &mut dyn Tx,
    req: &ClaimRequest,
    now: Timestamp,
    rules: &Rules<'_>,
    full: &HashSet<String>,
) -> orch_store::Result<Option<Claimed>> {
    let policy = rules.policy;
    if rules.cost_limit <= 0.0 && full.is_empty() {
        let run = new_run(req, now);
        let spec = ClaimSpec { now, owner: &req.owner, lease_until: orch_core::time::later(now, req.lease), run: &run };
        match tx.claim_next(&spec)? {
            NextClaim::Claimed { before, after } => return confirm(req, run, &before, &after, now, policy).map(Some),
            NextClaim::Nothing => return Ok(None),
            NextClaim::Undecided => {}
        }
    }
    match next_in(tx, now, rules, full)? {
        Some(cand) => start(tx, req, &cand, now, policy).map(Some),
        None => Ok(None),
    }
}

/// A new run for `req` with a fresh id, trace id and lease token; its task and attempt
/// are filled in once the task is known.
fn new_run(req: &ClaimRequest, now: Timestamp) -> Run {
    Run {
        id: uuid::Uuid::now_v7().to_string(),
        owner: req.owner.clone(),
        trace_id: hex_id(),
        lease_token: hex_id(),
        host: req.host.clone(),
        pid: req.pid,
        pgid: req.pgid,
        spawned_by: req.spawned_by.clone(),
        dispatcher: req.dispatcher.clone(),
        started_at: now,
        ..Run::default()
    }
}

fn claim_command(req: &ClaimRequest, run: &Run, now: Timestamp) -> Command {
    Command::Claim {
        owner: req.owner.clone(),
        token: run.lease_token.clone(),
        lease_until: orch_core::time::later(now, req.lease),
        run_id: run.id.clone(),
    }
}

/// The store's one-step claim wrote the task with its own SQL; the core's transition is
/// the rule. They must agree (times as stored, to the millisecond), or the claim is
/// undone: a divergence is a bug, never a silent difference between stores.
fn confirm(
    req: &ClaimRequest,
    run: Run,
    before: &Task,
    after: &Task,
    now: Timestamp,
    policy: &RetryPolicy,
) -> orch_store::Result<Claimed> {
    let change = transition(before, &claim_command(req, &run, now), now, policy).map_err(refused)?;
    let mut task = change.task;
    task.version += 1;
    if as_stored(&task) != as_stored(after) {
        return Err(StoreError::Db(format!(
            "the store's claim of {} differs from the transition rules: {after:?}, expected {task:?}",
            task.id
        )));
    }
    let run = Run { task_id: task.id.clone(), attempt: task.attempts, ..run };
    Ok(Claimed { task, run })
}

/// `t` with its times cut to milliseconds, as the stores keep them.
fn as_stored(t: &Task) -> Task {
    let ms = |x: Timestamp| Timestamp::from_millisecond(x.as_millisecond()).unwrap_or(x);
    let mut t = t.clone();
    for at in [&mut t.started_at, &mut t.due_at, &mut t.retry_at] {
        *at = at.map(ms);
    }
    t.created_at = ms(t.created_at);
    t.updated_at = ms(t.updated_at);
    if let Some(l) = &mut t.lease {
        l.expires_at = ms(l.expires_at);
    }
    t
}

/// Claims `cand`: a new run with a fresh lease token, and the task IN_PROGRESS.
fn start(
    tx: &mut dyn Tx,
    req: &ClaimRequest,
    cand: &Task,
    now: Timestamp,
    policy: &RetryPolicy,
) -> orch_store::Result<Claimed> {
    let run = Run { task_id: cand.id.clone(), attempt: cand.attempts + 1, ..new_run(req, now) };
    let change = transition(cand, &claim_command(req, &run, now), now, policy).map_err(refused)?;
    tx.run_insert(&run)?;
    let task = persist_traced(tx, cand, change, None, Some(&run.trace_id))?;
    Ok(Claimed { task, run })
}
