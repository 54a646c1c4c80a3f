//! What `pick` would take, answered from a read transaction (`status`): the claim's own
//! selection (`pick::next_in`) with each of its writes replaced by what the write
//! would make of the queue, so no write lock is taken and nothing is rolled back.

use super::pick::refused;
use super::rules::Rules;
use jiff::Timestamp;
use orch_core::policy::pick_order;
use orch_core::state::{Command, transition};
use orch_core::task::{Status, Task};
use orch_store::Tx;
use std::collections::HashSet;

/// What a read tells of the next claim.
pub(super) enum Look {
    /// The id of the task the claim would take, or none.
    Next(Option<String>),
    /// The claim would first write what a read cannot follow: a candidate whose
    /// idempotency key belongs to a DONE task becomes DONE, which may make the tasks
    /// that depend on it claimable. Only the claim's own selection can tell.
    Unsure,
}

/// The task a claim at `now` would take, as `pick::next_in` chooses it:
/// - expired leases count as the sweep would leave them: the resource a lapsed task held
///   is free (the candidate query counts it so), and a task the sweep makes claimable at
///   once (a retry with no delay) is a candidate in its place in pick order;
/// - a candidate whose idempotency key nobody owns would take it (later ones with the
///   key wait), one whose key an unfinished task holds waits, one whose runs spent the
///   task cost budget would be blocked: each is passed over.
pub(super) fn next_read(tx: &mut dyn Tx, now: Timestamp, rules: &Rules<'_>) -> orch_store::Result<Look> {
    let mut swept = Vec::new();
    for t in tx.expired_leases(now)? {
        let after = transition(&t, &Command::Expire { unit: 0.0 }, now, rules.policy).map_err(refused)?.task;
        if claimable(tx, &after, now)? {
            swept.push(after);
        }
    }
    let mut passed: HashSet<String> = HashSet::new();
    let mut taken_keys: HashSet<String> = HashSet::new();
    let mut batch = 1usize;
    loop {
        let limit = passed.len() + batch;
        let mut candidates = tx.claim_candidates(now, limit)?;
        let exhausted = candidates.len() < limit;
        for s in &swept {
            match candidates.iter().position(|c| pick_order(s, c).is_lt()) {
                Some(i) => candidates.insert(i, s.clone()),
                None if exhausted => candidates.push(s.clone()),
                None => {}
            }
        }
        for cand in candidates {
            if passed.contains(&cand.id) {
                continue;
            }
            if let Some(key) = &cand.idempotency_key {
                let free = match tx.idempotency_owner(key)? {
                    _ if taken_keys.contains(key) => false,
                    None => true,
                    Some(owner) if owner == cand.id => true,
                    Some(owner) => match tx.task_get(&owner)? {
                        Some(o) if o.status == Status::Done => return Ok(Look::Unsure),
                        Some(_) => false,
                        None => true,
                    },
                };
                if !free {
                    passed.insert(cand.id.clone());
                    continue;
                }
                taken_keys.insert(key.clone());
            }
            if over_budget(tx, &cand, rules.cost_limit)? {
                passed.insert(cand.id.clone());
                continue;
            }
            return Ok(Look::Next(Some(cand.id)));
        }
        if exhausted {
            return Ok(Look::Next(None));
        }
        batch = (batch * 4).min(256);
    }
}

/// Whether `t`, as the sweep leaves it, is claimable at `now`: waiting, its retry due,
/// every dependency DONE (its resource is its own: it held it until now).
fn claimable(tx: &mut dyn Tx, t: &Task, now: Timestamp) -> orch_store::Result<bool> {
    if !t.is_ready(now) {
        return Ok(false);
    }
    for d in &t.depends_on {
        if tx.task_get(d)?.is_none_or(|p| p.status != Status::Done) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether the claim would block `cand` for its runs' cost (`pick::over_budget`).
fn over_budget(tx: &mut dyn Tx, cand: &Task, limit: f64) -> orch_store::Result<bool> {
    if limit <= 0.0 {
        return Ok(false);
    }
    let spent: f64 = tx.runs_of(&cand.id)?.iter().map(|r| r.usage.cost_usd).sum();
    Ok(spent >= limit)
}
