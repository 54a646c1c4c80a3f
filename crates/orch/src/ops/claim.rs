//! The worker side: claim the next eligible task under a lease, renew it, finish it;
//! and the watchdog sweep that turns expired leases into transient failures.

use super::{Orch, persist};
use crate::error::Result;
use crate::store::{self, Run, StoreError, Tx};
use jiff::{SignedDuration, Timestamp};
use orch_core::policy::{FailureClass, RetryPolicy};
use orch_core::state::{Auth, Command, transition};
use orch_core::task::{Status, Task};
use std::collections::HashSet;

/// Who claims, and for how long.
#[derive(Clone, Debug)]
pub struct ClaimRequest {
    pub owner: String,
    pub lease: SignedDuration,
    pub host: Option<String>,
    pub pid: Option<i64>,
    pub pgid: Option<i64>,
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

/// A random draw in [0, 1) for backoff jitter.
pub(crate) fn unit_draw() -> f64 {
    (uuid::Uuid::new_v4().as_u128() >> 75) as f64 / (1u64 << 53) as f64
}

/// 32 lowercase hex digits: a W3C trace-context trace id, or a lease token.
pub(crate) fn hex_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl Orch {
    /// Claims the next eligible task in one transaction; `None` when nothing is eligible.
    pub fn claim(&self, req: &ClaimRequest) -> Result<(Option<Claimed>, Vec<String>)> {
        let now = self.now();
        self.change(|tx| claim_in(tx, req, now, &self.policy))
    }

    /// Renews the lease of a running task.
    pub fn heartbeat(&self, id: &str, auth: Auth, lease: SignedDuration) -> Result<(Task, Vec<String>)> {
        let lease_until = self.now() + lease;
        self.apply(id, &Command::Heartbeat { auth, lease_until })
    }

    /// Ends the current run of a task: DONE, or FAILED by the retry rule.
    pub fn finish(&self, id: &str, auth: Auth, finish: Finish, report: Option<&str>) -> Result<(Task, Vec<String>)> {
        let cmd = match finish {
            Finish::Done { notes } => Command::Complete { auth, notes },
            Finish::Fail { reason, class } => Command::Fail { auth, reason, class, unit: unit_draw() },
        };
        self.apply_with_report(id, &cmd, report)
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
        Ok(store::read(self.db.as_ref(), |tx| tx.runs_of(id))?)
    }
}

/// Turns every lease that expired at or before `now` into a transient failure.
fn expire_in(tx: &mut dyn Tx, now: Timestamp, policy: &RetryPolicy) -> store::Result<Vec<Task>> {
    let mut changed = Vec::new();
    for t in tx.expired_leases(now)? {
        let change = transition(&t, &Command::Expire { unit: unit_draw() }, now, policy).map_err(refused)?;
        changed.push(persist(tx, &t, change, None)?);
    }
    Ok(changed)
}

/// A transition the store's own query said was allowed was refused: the query and the
/// core disagree, which is a bug, not a user error.
fn refused(e: orch_core::state::TransitionError) -> StoreError {
    StoreError::Db(format!("claim query and transition rules disagree: {e}"))
}

/// Candidates read by the first query of a claim. One is enough when the first eligible
/// task can run, the common case; later rounds read more (see `claim_in`).
const FIRST_BATCH: usize = 1;
const MAX_BATCH: usize = 256;

/// The claim transaction: the next task (see [`next_in`]) is claimed.
fn claim_in(
    tx: &mut dyn Tx,
    req: &ClaimRequest,
    now: Timestamp,
    policy: &RetryPolicy,
) -> store::Result<Option<Claimed>> {
    match next_in(tx, now, policy)? {
        Some(cand) => start(tx, req, &cand, now, policy).map(Some),
        None => Ok(None),
    }
}

/// The task a claim at `now` takes. First the expired leases are swept (so a queue
/// worked only by `pick` needs no separate watchdog), then the candidates are walked in
/// pick order: one whose idempotency key belongs to a DONE task is marked done
/// (`idempotent_skip`), one whose key belongs to an unfinished task waits, and the first
/// that remains is the one. Waiting candidates never hide an eligible task behind them:
/// each round reads past the ones already known to wait. What it changes on the way is
/// the caller's transaction's to commit, or to roll back (`status` asks what `pick`
/// would take without taking it).
pub(super) fn next_in(tx: &mut dyn Tx, now: Timestamp, policy: &RetryPolicy) -> store::Result<Option<Task>> {
    expire_in(tx, now, policy)?;
    let mut waiting: HashSet<String> = HashSet::new();
    let mut batch = FIRST_BATCH;
    loop {
        let limit = waiting.len() + batch;
        let candidates = tx.claim_candidates(now, limit)?;
        let exhausted = candidates.len() < limit;
        let mut skipped = false;
        for cand in candidates {
            if waiting.contains(&cand.id) {
                continue;
            }
            match idempotency(tx, &cand)? {
                Key::Free => return Ok(Some(cand)),
                Key::Wait => {
                    waiting.insert(cand.id.clone());
                }
                Key::DoneBy(other) => {
                    let change =
                        transition(&cand, &Command::Skip { done_task: other }, now, policy).map_err(refused)?;
                    persist(tx, &cand, change, None)?;
                    skipped = true;
                }
            }
        }
        if exhausted && !skipped {
            return Ok(None);
        }
        batch = (batch * 4).min(MAX_BATCH);
    }
}

/// Claims `cand`: a new run with a fresh lease token, and the task IN_PROGRESS.
fn start(
    tx: &mut dyn Tx,
    req: &ClaimRequest,
    cand: &Task,
    now: Timestamp,
    policy: &RetryPolicy,
) -> store::Result<Claimed> {
    let run = Run {
        id: uuid::Uuid::now_v7().to_string(),
        task_id: cand.id.clone(),
        attempt: cand.attempts + 1,
        owner: req.owner.clone(),
        trace_id: hex_id(),
        lease_token: hex_id(),
        host: req.host.clone(),
        pid: req.pid,
        pgid: req.pgid,
        started_at: now,
        ..Run::default()
    };
    let cmd = Command::Claim {
        owner: req.owner.clone(),
        token: run.lease_token.clone(),
        lease_until: now + req.lease,
        run_id: run.id.clone(),
    };
    let change = transition(cand, &cmd, now, policy).map_err(refused)?;
    tx.run_insert(&run)?;
    let task = persist(tx, cand, change, None)?;
    Ok(Claimed { task, run })
}

enum Key {
    Free,
    /// Another task with the same key is not finished: this one waits for it.
    Wait,
    /// Another task with the same key is DONE: this one is done already.
    DoneBy(String),
}

fn idempotency(tx: &mut dyn Tx, task: &Task) -> store::Result<Key> {
    let Some(key) = &task.idempotency_key else { return Ok(Key::Free) };
    match tx.idempotency_owner(key)? {
        None => {
            tx.idempotency_claim(key, &task.id)?;
            Ok(Key::Free)
        }
        Some(owner) if owner == task.id => Ok(Key::Free),
        Some(owner) => match tx.task_get(&owner)? {
            Some(o) if o.status == Status::Done => Ok(Key::DoneBy(owner)),
            Some(_) => Ok(Key::Wait),
            None => Ok(Key::Free),
        },
    }
}
