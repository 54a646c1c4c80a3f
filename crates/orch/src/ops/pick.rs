//! Which task a claim takes: the expired leases swept first (the watchdog), then the
//! candidates walked in pick order past those an idempotency key holds back, blocking
//! those whose runs spent the task cost budget. Below `claim` (which takes the task)
//! and `status` (which asks what `pick` would take).

use super::rules::{Rules, cost_limit_reason, unit_draw};
use crate::persist::persist;
use jiff::Timestamp;
use orch_core::policy::RetryPolicy;
use orch_core::state::{Auth, Command, transition};
use orch_core::task::{Status, Task};
use orch_store::{StoreError, Tx};
use std::collections::HashSet;

/// Turns every lease that expired at or before `now` into a transient failure.
pub(super) fn expire_in(tx: &mut dyn Tx, now: Timestamp, policy: &RetryPolicy) -> orch_store::Result<Vec<Task>> {
    let mut changed = Vec::new();
    for t in tx.expired_leases(now)? {
        let change = transition(&t, &Command::Expire { unit: unit_draw() }, now, policy).map_err(refused)?;
        changed.push(persist(tx, &t, change, None)?);
    }
    Ok(changed)
}

/// A transition the store's own query said was allowed was refused: the query and the
/// core disagree, which is a bug, not a user error.
pub(super) fn refused(e: orch_core::state::TransitionError) -> StoreError {
    StoreError::Db(format!("claim query and transition rules disagree: {e}"))
}

/// Candidates read by the first query of the general path. One is enough when the
/// first eligible task can run; later rounds read more (see `claim_in`).
const FIRST_BATCH: usize = 1;
const MAX_BATCH: usize = 256;

/// The task a claim at `now` takes. First the expired leases are swept (so a queue
/// worked only by `pick` needs no separate watchdog), then the candidates are walked in
/// pick order: one whose idempotency key belongs to a DONE task is marked done
/// (`idempotent_skip`), one whose key belongs to an unfinished task waits, one whose runs
/// spent the task cost budget is blocked (`cost_limit`, whatever brought it back: a lease
/// that expired, a shutdown), and the first that remains is the one. Waiting candidates
/// never hide an eligible task behind them: each round reads past the ones already known
/// to wait. What it changes on the way is the caller's transaction's to commit, or to
/// roll back (`status` asks what `pick` would take without taking it).
/// A candidate whose profile is in `full` waits too (its profile runs as many tasks as
/// it may).
pub(super) fn next_in(
    tx: &mut dyn Tx,
    now: Timestamp,
    rules: &Rules<'_>,
    full: &HashSet<String>,
) -> orch_store::Result<Option<Task>> {
    let policy = rules.policy;
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
            if full.contains(cand.profile()) {
                waiting.insert(cand.id.clone());
                continue;
            }
            match idempotency(tx, &cand)? {
                Key::Free if over_budget(tx, &cand, rules.cost_limit, now, policy)? => skipped = true,
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

/// Blocks `cand` (`cost_limit`, with a `budget.exceeded` event) when its runs spent the
/// task cost budget; true when it did.
fn over_budget(
    tx: &mut dyn Tx,
    cand: &Task,
    limit: f64,
    now: Timestamp,
    policy: &RetryPolicy,
) -> orch_store::Result<bool> {
    if limit <= 0.0 {
        return Ok(false);
    }
    let spent: f64 = tx.runs_of(&cand.id)?.iter().map(|r| r.usage.cost_usd).sum();
    if spent < limit {
        return Ok(false);
    }
    let reason = cost_limit_reason(spent, limit);
    let change = transition(cand, &Command::Block { auth: Auth::Force, reason: reason.clone() }, now, policy)
        .map_err(refused)?;
    persist(tx, cand, change, None)?;
    let mut e = orch_core::event::Event::new(now, orch_core::event::kind::BUDGET_EXCEEDED);
    e.level = orch_core::event::Level::Warn;
    e.task_id = Some(cand.id.clone());
    e.msg = Some(reason);
    tx.event_insert(&e)?;
    Ok(true)
}

enum Key {
    Free,
    /// Another task with the same key is not finished: this one waits for it.
    Wait,
    /// Another task with the same key is DONE: this one is done already.
    DoneBy(String),
}

fn idempotency(tx: &mut dyn Tx, task: &Task) -> orch_store::Result<Key> {
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
