//! What a dead dispatcher left behind on this host: its workers' process groups, still
//! running, and their tasks, still IN_PROGRESS under leases nobody renews. A dispatcher
//! that starts stops those groups (only when the process start time matches the one
//! recorded, never a reused pid) and puts their tasks back at once, instead of waiting
//! for the leases to expire.

use crate::error::{Error, Result};
use crate::ops::Orch;
use crate::runner;
use orch_core::state::{Auth, Command};
use std::time::{Duration, Instant};

/// Returns the ids of the tasks put back.
pub fn recover(orch: &Orch, host: &str, grace: Duration) -> Result<Vec<String>> {
    let mut back = Vec::new();
    for run in orch.live_runs_on(host)? {
        if run.spawned_by.as_deref() != Some(super::SPAWNED_BY_DISPATCHER) {
            continue;
        }
        if let Some(pgid) = run.pgid.and_then(|p| i32::try_from(p).ok()) {
            stop_if_ours(pgid, run.proc_start, grace);
        }
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

/// Stops the group when it is still the worker we started: its leader has the recorded
/// start time, or the leader is gone while members remain (a live group id is never
/// handed to a new process).
fn stop_if_ours(pgid: i32, recorded_start: Option<i64>, grace: Duration) {
    let leader_start = runner::proc_start(pgid);
    let ours = match (leader_start, recorded_start) {
        (Some(now), Some(then)) => now == then,
        (None, _) => true,
        (Some(_), None) => false,
    };
    if !ours || !runner::group_alive(pgid) {
        return;
    }
    runner::terminate_group(pgid);
    let until = Instant::now() + grace;
    while Instant::now() < until && runner::group_alive(pgid) {
        std::thread::sleep(Duration::from_millis(20));
    }
    runner::kill_group(pgid);
}
