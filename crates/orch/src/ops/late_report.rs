//! A report that comes after its run lost the lease: kept on the run that held the
//! token, with an event, so nothing a worker produced is dropped. For `apply` and
//! `settle` alike.

use super::rules::finished_by_holder;
use jiff::Timestamp;
use orch_core::event::{Event, kind};
use orch_core::state::{Auth, Command};
use orch_core::task::Task;
use orch_store::Tx;

/// A worker whose lease is gone still hands in its report: it is saved on the run that
/// held the token, with an event, so nothing a worker produced is dropped. A run its own
/// holder already finished (`done`, `fail`) lost nothing: a second report for it is not
/// a late one, and is not stored.
pub(super) fn keep_late_report(
    tx: &mut dyn Tx,
    task: &Task,
    cmd: &Command,
    report: Option<&str>,
    now: Timestamp,
) -> orch_store::Result<()> {
    let (
        Some(report),
        Command::Complete { auth: Auth::Token(token), .. } | Command::Fail { auth: Auth::Token(token), .. },
    ) = (report, cmd)
    else {
        return Ok(());
    };
    // The token must be of a run of this task: a token of another task's run is no
    // report for this one, and never lands on that other task.
    let Some(run) = tx.run_by_token(token)?.filter(|r| r.task_id == task.id) else { return Ok(()) };
    if finished_by_holder(run.outcome.as_deref()) {
        return Ok(());
    }
    tx.run_late_report(&run.id, report)?;
    let mut e = Event::new(now, kind::REPORT_LATE);
    e.level = orch_core::event::Level::Warn;
    e.task_id = Some(task.id.clone());
    e.run_id = Some(run.id.clone());
    e.trace_id = Some(run.trace_id.clone());
    e.owner = Some(run.owner.clone());
    e.attempt = Some(run.attempt);
    e.msg = Some("report kept after the lease was lost".into());
    tx.event_insert(&e)?;
    Ok(())
}
