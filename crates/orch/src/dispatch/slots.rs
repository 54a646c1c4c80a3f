//! The clocks of the dispatcher's slots (a slot per live worker or its reviewer, kept in
//! `state`): heartbeats that renew the lease three times per lease, the deadline that
//! holds even while heartbeats succeed, the SIGKILL that follows a SIGTERM after the
//! grace period, and the lease checks that stop a worker whose task is no longer its own.

use super::msg::Msg;
use super::state::{Dispatcher, Stop, to_std};
use crate::error::{Error, Result};
use crate::ops::LeaseState;
use crate::runner::{self, Group};
use orch_core::state::Auth;
use std::time::{Duration, Instant};

impl Dispatcher<'_> {
    /// The earliest moment the loop must act on its own: a SIGKILL due, and for a slot
    /// not being stopped its next heartbeat and its deadline (a stopped slot's are past
    /// and mean nothing: counting them would make the loop spin until the exit); and
    /// when started workers' processes must be recorded.
    pub(super) fn next_timer(&self, tick: Instant) -> Instant {
        let tick = self.record_by.map_or(tick, |r| r.min(tick));
        self.slots
            .values()
            .flat_map(|s| match s.stop {
                None => [Some(s.next_heartbeat), Some(s.deadline), s.kill_at],
                Some(_) => [None, None, s.kill_at],
            })
            .flatten()
            .fold(tick, Instant::min)
    }

    /// Sends the process's exit to the loop when it comes; the handle signals its group.
    pub(super) fn watch(&self, child: std::process::Child, run_id: &str) -> Option<Group> {
        let tx = self.tx.clone();
        let run_id = run_id.to_string();
        Some(runner::watch(child, move |exit| {
            let _ = tx.send(Msg::Exited { run_id, exit });
        }))
    }

    /// Heartbeats, deadlines and kills that are due. True when a heartbeat was refused:
    /// the caller checks the leases.
    pub(super) fn timers(&mut self, now: Instant) -> Result<bool> {
        let lease = self.orch.config().dispatcher.lease;
        let grace = to_std(self.orch.config().worker.grace);
        let mut refused = false;
        for s in self.slots.values_mut() {
            if s.kill_at.is_some_and(|k| now >= k) {
                s.group.as_ref().map(Group::kill);
                s.kill_at = None;
            }
            if s.stop.is_none() && now >= s.deadline {
                s.stop = Some(Stop::Timeout);
                s.group.as_ref().map(Group::terminate);
                s.kill_at = Some(now + grace);
            }
            if s.stop.is_none() && now >= s.next_heartbeat {
                match self.orch.heartbeat(&s.task_id, Auth::Token(s.token.clone()), lease) {
                    Ok(_) => s.next_heartbeat = now + to_std(lease) / 3,
                    Err(Error::Transition(_)) => {
                        refused = true;
                        s.next_heartbeat = now + to_std(lease) / 3;
                    }
                    // The database may be away for a moment: try again soon; the lease
                    // has two more heartbeats' worth of time.
                    Err(_) => s.next_heartbeat = now + Duration::from_secs(1),
                }
            }
        }
        Ok(refused)
    }

    /// Stops every worker whose task no longer holds its lease (cancelled, expired and
    /// taken, edited by hand) at once; a worker that finished its task itself gets the
    /// grace period to exit.
    pub(super) fn check_leases(&mut self) -> Result<()> {
        let ids: Vec<(String, String, String)> = self
            .slots
            .values()
            .filter(|s| s.stop.is_none())
            .map(|s| (s.run_id.clone(), s.task_id.clone(), s.token.clone()))
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let states = self.orch.lease_states(&ids)?;
        let grace = to_std(self.orch.config().worker.grace);
        for ((run_id, _, _), state) in ids.iter().zip(states) {
            let Some(s) = self.slots.get_mut(run_id) else { continue };
            match state {
                LeaseState::Held => {}
                LeaseState::Finished => {
                    s.stop = Some(Stop::Finished);
                    s.kill_at = Some(Instant::now() + grace);
                }
                LeaseState::Lost => {
                    s.stop = Some(Stop::LeaseLost);
                    s.group.as_ref().map(Group::kill);
                }
            }
        }
        Ok(())
    }
}
