//! The fast path of `settle`: one run's end written in one step of the store, when
//! nothing follows it (`settle.rs` is the general way, any end; `dispatch_turn.rs`
//! writes a dispatcher's many ends and claims in one transaction; `dispatch/take_turn.rs`
//! is the dispatcher deciding what goes into that turn). The transition is computed from the task as
//! read before — by `done`, before the gate, or at the start of the settle's own
//! transaction — and the store writes it — the task, the verdict and the end on its run,
//! the events — with a compare-and-set on the version read
//! ([`orch_store::Tx::task_settle`]). A task that changed meanwhile (a heartbeat, a
//! cancel, a hand edit) is left to the general way (`persist`) in the same transaction,
//! and so is a change after which something follows for other tasks (dependencies): the
//! store writes only when no task depends on this one, when that matters. What is written
//! is exactly what `persist` would write: the same transition, the same run end, the same
//! events with the run's ids.

use super::verdict::verdict_event;
use jiff::Timestamp;
use orch_core::policy::RetryPolicy;
use orch_core::state::{Change, Command, RunEffect, transition};
use orch_core::task::{Status, Task};
use orch_store::{RunEnd, Settle, Tx};

/// What a settle knows before it writes: the task as read, and its live run.
pub(crate) struct Known<'a> {
    pub task: &'a Task,
    pub run: &'a orch_store::Run,
}

/// Writes `cmd` on `k.task` in one step when the store still holds it as read; the task
/// as saved, or `None` when the caller must go the general way (nothing was written).
/// `verdict` (the gate's, on `k.run`) is recorded first, with its event, as
/// `verdict::verdict_in` does.
pub(super) fn settle(
    tx: &mut dyn Tx,
    k: &Known<'_>,
    cmd: &Command,
    report: Option<&str>,
    verdict: Option<(&str, &str)>,
    now: Timestamp,
    policy: &RetryPolicy,
) -> orch_store::Result<Option<Task>> {
    let before = k.task;
    if before.status != Status::InProgress || before.run_id.as_deref() != Some(k.run.id.as_str()) {
        return Ok(None);
    }
    let Ok(Change { task, events, run }) = transition(before, cmd, now, policy) else { return Ok(None) };
    // What `propagate` would do after this change: nothing, or look at the tasks that
    // depend on this one (the store checks there are none), or more (the general way).
    let alone = match task.status {
        s if s == before.status => false,
        Status::Pending if !task.depends_on.is_empty() => return Ok(None),
        Status::Pending => false,
        _ => task.status == Status::Done || crate::persist::failed_for_good(&task),
    };
    let end = match &run {
        RunEffect::End { outcome, class, reason } => Some(RunEnd {
            outcome: outcome.as_str(),
            class: *class,
            reason: reason.as_deref(),
            report,
            at: task.updated_at,
        }),
        _ => None,
    };
    let mut all = Vec::with_capacity(events.len() + 1);
    if let Some((v, why)) = verdict {
        all.push(verdict_event(k.run, v, why, now));
    }
    all.extend(events.into_iter().map(|mut e| {
        e.run_id = Some(k.run.id.clone());
        e.trace_id = Some(k.run.trace_id.clone());
        e
    }));
    let s = Settle { task: &task, run_id: Some(&k.run.id), end, verdict, events: &all, alone };
    if !tx.task_settle(&s)? {
        return Ok(None);
    }
    let mut saved = task;
    saved.version += 1;
    crate::hooks::record(before.status, &saved, &all);
    Ok(Some(saved))
}
