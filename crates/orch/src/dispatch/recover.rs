//! What a dead dispatcher (or `orch exec`) left behind on this host: its workers'
//! process groups, maybe still running, and their tasks, still IN_PROGRESS under leases
//! nobody renews. A dispatcher that starts looks at every unfinished run claimed on this
//! host by another process, and touches it only when that process is provably gone (its
//! pid is free or belongs to a process with another start time): a live dispatcher
//! beside it (PostgreSQL, several homes) keeps its runs. For each orphan it stops the
//! run's processes — the recorded group when its leader is still the worker we started
//! (same start time, or it carries the run's id in its environment) or the leader is
//! gone while members remain; and every process whose environment carries the run's id,
//! which finds a worker whose group was never recorded (a crash between the claim and
//! recording it) — all groups at once (SIGTERM, one grace period, SIGKILL), then puts
//! the tasks back (`dispatcher_lost`) instead of waiting for the leases to expire.

use crate::error::{Error, Result};
use crate::ops::Orch;
use crate::runner;
use orch_core::state::{Auth, Command};
use orch_store::Run;
use std::collections::BTreeSet;
use std::time::Duration;

/// Returns the ids of the tasks put back.
pub fn recover(orch: &Orch, host: &str, grace: Duration) -> Result<Vec<String>> {
    let orphans: Vec<Run> = orch
        .live_runs_on(host)?
        .into_iter()
        .filter(|r| r.dispatcher.as_deref().is_some_and(|d| runner::identity_is_dead(d, host)))
        .collect();
    if orphans.is_empty() {
        return Ok(Vec::new());
    }
    let ids: BTreeSet<String> = orphans.iter().map(|r| r.id.clone()).collect();
    let by_env = runner::groups_of_runs(&ids);
    let mut groups = BTreeSet::new();
    for run in &orphans {
        groups.extend(recorded_group(run));
        groups.extend(by_env.get(&run.id).into_iter().flatten().copied());
    }
    runner::stop_groups(&groups, grace);
    let mut back = Vec::new();
    for run in &orphans {
        let cmd = Command::Interrupt { auth: Auth::Token(run.lease_token.clone()), reason: "dispatcher_lost".into() };
        match orch.apply(&run.task_id, &cmd) {
            Ok(_) => back.push(run.task_id.clone()),
            // The task moved on (its lease expired and someone else took it): the run is
            // over all the same.
            Err(Error::Transition(_)) => orch.end_orphan_run(&run.id)?,
            Err(e) => return Err(e),
        }
    }
    Ok(back)
}

/// The run's recorded process group, when it is still the worker we started: its leader
/// has the recorded start time (or, with none recorded, carries the run's id in its
/// environment), or the leader is gone while members remain (a live group id is never
/// handed to a new process).
fn recorded_group(run: &Run) -> Option<i32> {
    let pgid = i32::try_from(run.pgid?).ok()?;
    let ours = match (runner::proc_start(pgid), run.proc_start) {
        (None, _) => true,
        (Some(now), Some(then)) => now == then,
        (Some(_), None) => runner::run_id_of(pgid).as_deref() == Some(run.id.as_str()),
    };
    (ours && runner::group_alive(pgid)).then_some(pgid)
}
