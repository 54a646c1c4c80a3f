//! What the gate's verdict on a run writes — the verdict on the run and its
//! `gate.verdict` event — and the events about a run, with its ids: for settling, for
//! `settle_fast`, and for the dispatcher's bookkeeping of runs.

use orch_core::event::{Event, Level, kind};
use orch_store::Run;

/// Records the gate's verdict on a run, with its `gate.verdict` event, inside `tx`.
pub(super) fn verdict_in(
    tx: &mut dyn orch_store::Tx,
    run_id: &str,
    verdict: &str,
    reason: &str,
    now: jiff::Timestamp,
) -> orch_store::Result<()> {
    let Some(run) = tx.run_get(run_id)? else { return tx.run_set_verdict(run_id, verdict, reason) };
    verdict_on(tx, &run, verdict, reason, now)
}

/// [`verdict_in`] for a run already read.
pub(super) fn verdict_on(
    tx: &mut dyn orch_store::Tx,
    run: &Run,
    verdict: &str,
    reason: &str,
    now: jiff::Timestamp,
) -> orch_store::Result<()> {
    tx.run_set_verdict(&run.id, verdict, reason)?;
    tx.event_insert(&verdict_event(run, verdict, reason, now))?;
    Ok(())
}

/// The `gate.verdict` event of a run.
pub(super) fn verdict_event(run: &Run, verdict: &str, reason: &str, now: jiff::Timestamp) -> Event {
    let mut e = run_event(run, now, kind::GATE_VERDICT);
    e.level = if verdict == "PASS" { Level::Info } else { Level::Warn };
    e.msg = Some(format!("{verdict}: {reason}"));
    e
}

/// An event about a run, carrying its ids.
pub(super) fn run_event(run: &Run, now: jiff::Timestamp, name: &str) -> Event {
    let mut e = Event::new(now, name);
    e.task_id = Some(run.task_id.clone());
    e.run_id = Some(run.id.clone());
    e.trace_id = Some(run.trace_id.clone());
    e.owner = Some(run.owner.clone());
    e.attempt = Some(run.attempt);
    e
}
