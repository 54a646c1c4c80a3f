//! The one place a transition is written: the task (compare-and-set on its version),
//! the end of its run, its events with the run's ids, and what follows for the tasks
//! that depend on it. The operations and the importer of QUEUE.md both write through
//! it; it sits below both and knows neither.

use orch_core::policy::RetryPolicy;
use orch_core::state::{Auth, Change, Command, RunEffect, transition};
use orch_core::task::{Status, Task};
use orch_store::{RunEnd, Tx};

/// Persists an allowed change inside `tx`: the task (compare-and-set), the end of its run
/// and its events. `report` goes on the run that ends.
pub(crate) fn persist(
    tx: &mut dyn Tx,
    before: &Task,
    change: Change,
    report: Option<&str>,
) -> orch_store::Result<Task> {
    persist_traced(tx, before, change, report, None)
}

/// [`persist`], given the trace id of the run the change belongs to when the caller
/// knows it already (a claim that just made the run), which saves reading the run.
pub(crate) fn persist_traced(
    tx: &mut dyn Tx,
    before: &Task,
    change: Change,
    report: Option<&str>,
    trace: Option<&str>,
) -> orch_store::Result<Task> {
    let Change { task, mut events, run } = change;
    let saved = tx.task_update(&task)?;
    // Events of a live run carry its ids; a claim inserts its run before this.
    let live_run = match (&run, before.status) {
        (RunEffect::Start, _) => task.run_id.clone(),
        (_, Status::InProgress) => before.run_id.clone(),
        _ => None,
    };
    let trace = match (&live_run, trace) {
        (Some(_), Some(known)) => Some(known.to_string()),
        (Some(id), None) => tx.run_get(id)?.map(|r| r.trace_id),
        (None, _) => None,
    };
    if let (RunEffect::End { outcome, class, reason }, Some(run_id)) = (&run, &live_run) {
        let end =
            RunEnd { outcome: outcome.as_str(), class: *class, reason: reason.as_deref(), report, at: task.updated_at };
        tx.run_end(run_id, &end)?;
    }
    for e in &mut events {
        e.run_id = live_run.clone();
        e.trace_id = trace.clone();
    }
    tx.events_insert(&events)?;
    crate::hooks::record(before.status, &saved, &events);
    propagate(tx, before.status, &saved)?;
    Ok(saved)
}

/// Dependencies in both directions: a task that failed for good (BLOCKED, or FAILED with
/// no retry left) blocks the PENDING tasks waiting on it (`blocked_by:ID`; one already
/// blocked by a dependency gets the note too); a task that is DONE releases the tasks a
/// dependency blocked, once everything they wait on is DONE; and a task put back to
/// PENDING while something it waits on has failed for good is blocked again.
fn propagate(tx: &mut dyn Tx, before: Status, t: &Task) -> orch_store::Result<()> {
    if before == t.status {
        return Ok(());
    }
    if t.status == Status::Pending {
        return added(tx, t).map(|_| ());
    }
    let failed = failed_for_good(t);
    if !failed && t.status != Status::Done {
        return Ok(());
    }
    for dep in tx.dependents_of(&t.id)? {
        let by_dependency = blocked_by_dependency(&dep);
        let cmd = match (failed, dep.status) {
            (true, Status::Pending) => Command::Block { auth: Auth::Force, reason: format!("blocked_by:{}", t.id) },
            (true, Status::Blocked) if by_dependency => Command::Note { text: format!("blocked_by:{}", t.id) },
            (false, Status::Blocked) if by_dependency => {
                let mut all_done = true;
                for id in &dep.depends_on {
                    all_done &= tx.task_get(id)?.is_some_and(|d| d.status == Status::Done);
                }
                if !all_done {
                    continue;
                }
                Command::Unblock { by: t.id.clone() }
            }
            _ => continue,
        };
        step(tx, &dep, &cmd, t.updated_at)?;
    }
    Ok(())
}

/// What follows for a PENDING task just written (a new one, or one put back): when a
/// task it waits on has failed for good, it is blocked at once (`blocked_by:ID`), as
/// [`propagate`] blocks the tasks waiting on a task when that fails. The task as it is
/// now.
pub(crate) fn added(tx: &mut dyn Tx, t: &Task) -> orch_store::Result<Task> {
    if t.status != Status::Pending {
        return Ok(t.clone());
    }
    for id in &t.depends_on {
        if tx.task_get(id)?.is_some_and(|d| failed_for_good(&d)) {
            let cmd = Command::Block { auth: Auth::Force, reason: format!("blocked_by:{id}") };
            let change =
                transition(t, &cmd, t.updated_at, &RetryPolicy::default()).map_err(orch_store::StoreError::abort)?;
            return persist(tx, t, change, None);
        }
    }
    Ok(t.clone())
}

/// Applies a follow-on command inside the same transaction.
fn step(tx: &mut dyn Tx, task: &Task, cmd: &Command, now: jiff::Timestamp) -> orch_store::Result<()> {
    let change = transition(task, cmd, now, &RetryPolicy::default()).map_err(orch_store::StoreError::abort)?;
    persist(tx, task, change, None).map(|_| ())
}

pub(crate) fn failed_for_good(t: &Task) -> bool {
    t.status == Status::Blocked || (t.status == Status::Failed && t.retry_at.is_none())
}

/// Whether the latest reason a task was stopped, in its notes, is a dependency (and not
/// an operator's cancel or the gate).
fn blocked_by_dependency(t: &Task) -> bool {
    const STOPS: [&str; 6] =
        ["blocked_by:", "cancelled_by_operator", "budget_hard_exceeded", "review_block", "review:", "cost_limit"];
    t.notes
        .as_deref()
        .unwrap_or("")
        .rsplit(" / ")
        .find(|n| STOPS.iter().any(|s| n.starts_with(s)))
        .is_some_and(|n| n.starts_with("blocked_by:"))
}
