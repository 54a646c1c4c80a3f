//! A dispatcher's turn written in one transaction — many settles and claims at once
//! (`settle.rs`/`settle_fast.rs` write one run's end; `dispatch/take_turn.rs` decides
//! what goes into the turn and acts on it once committed). The turn: record where the workers it started run,
//! settle the runs that ended (each exactly as [`Orch::settle`] would), and claim tasks
//! for its free slots (each exactly as [`Orch::claim`] would, one after another, so a
//! task the endings made eligible — a dependency DONE, a resource freed — can be among
//! them). One commit for all of it (on SQLite one fsync, where each alone costs one),
//! then one catch-up of `events.jsonl`. Nothing is acted on before the commit: a claimed
//! task's worker starts, and an ending is reported, only once the turn is durable; a
//! crash before that loses nothing, since the turn is then either whole in the database
//! or not there at all.

use super::claim::claim_in;
use super::settle::settle_in;
use super::{ClaimRequest, Claimed, Ending, Orch, Outcome, Settled};
use crate::error::Result;
use orch_core::outcome::DeferScope;
use orch_store::ProcessInfo;
use std::collections::HashSet;

/// What one turn writes, in this order.
#[derive(Clone, Debug, Default)]
pub struct Turn<'a> {
    /// Workers started since the last turn: each run and where its process is.
    pub processes: &'a [(String, ProcessInfo)],
    /// Runs that ended.
    pub endings: &'a [Ending<'a>],
    /// One request per free slot; claiming stops at the first that finds nothing.
    pub claims: &'a [ClaimRequest],
    /// How many more tasks of each profile this dispatcher may start (a profile not
    /// named has no limit but the slots); each claim of the turn takes one place of its
    /// task's profile. The turn lowers it to what the profile's `workers` leaves in the
    /// whole queue (see `queue_room`).
    pub room: &'a [(String, usize)],
}

/// What a turn did: one `Settled` per ending, in order, and the claims that found a
/// task, in the order of their requests.
#[derive(Debug, Default)]
pub struct TurnDone {
    pub settled: Vec<Settled>,
    pub claimed: Vec<Claimed>,
    /// Whether every request found a task (false: nothing more is eligible now).
    pub all_claimed: bool,
    /// From catching up `events.jsonl` and the view; they never undo the turn.
    pub warnings: Vec<String>,
}

/// Lowers each profile's `room` to what its `workers` leaves in the whole queue: the
/// tasks of that profile IN_PROGRESS under a live lease count, whoever claimed them — this
/// dispatcher, another on the same database, an agent's `pick`. Read after
/// [`orch_store::Tx::lock_counted_claims`] and after the turn's own ends are settled, so
/// two dispatchers claiming at once never both take the last place.
fn queue_room(
    tx: &mut dyn orch_store::Tx,
    room: &mut [(String, usize)],
    profiles: &std::collections::BTreeMap<String, crate::config::Profile>,
    now: jiff::Timestamp,
) -> orch_store::Result<()> {
    let filter = orch_store::ListFilter { statuses: vec![orch_core::task::Status::InProgress], ..Default::default() };
    let running = tx.task_list(&filter)?;
    for (name, left) in room.iter_mut() {
        let Some(p) = profiles.get(name) else { continue };
        let live = running
            .iter()
            .filter(|t| t.profile() == name && t.lease.as_ref().is_some_and(|l| l.expires_at > now))
            .count();
        *left = (*left).min(p.workers.saturating_sub(live));
    }
    Ok(())
}

impl Orch {
    /// Writes `turn` in one transaction.
    pub fn turn(&self, turn: &Turn<'_>) -> Result<TurnDone> {
        let now = self.now();
        let rules = self.rules();
        let counted = !turn.claims.is_empty() && !turn.room.is_empty();
        let write = |tx: &mut dyn orch_store::Tx| {
            if counted {
                // First, so every transaction that takes it takes it before any row lock.
                tx.lock_counted_claims()?;
            }
            for (run_id, p) in turn.processes {
                tx.run_set_process(run_id, p)?;
            }
            let settled =
                turn.endings.iter().map(|e| settle_in(tx, e, now, &rules, None)).collect::<Result<Vec<_>, _>>()?;
            let mut claimed = Vec::with_capacity(turn.claims.len());
            let mut room: Vec<(String, usize)> = turn.room.to_vec();
            if counted {
                queue_room(tx, &mut room, &self.config().profiles, now)?;
            }
            // A profile a deferral of this turn paused claims nothing more in it.
            for (e, s) in turn.endings.iter().zip(&settled) {
                if let (Outcome::Defer { scope: DeferScope::Profile, .. }, Settled::Task { task, .. }) = (&e.outcome, s)
                    && task.status == orch_core::task::Status::Pending
                {
                    match room.iter_mut().find(|(p, _)| p == task.profile()) {
                        Some((_, n)) => *n = 0,
                        None => room.push((task.profile().to_string(), 0)),
                    }
                }
            }
            for req in turn.claims {
                let full: HashSet<String> = room.iter().filter(|(_, n)| *n == 0).map(|(p, _)| p.clone()).collect();
                match claim_in(tx, req, now, &rules, &full)? {
                    Some(c) => {
                        if let Some((_, n)) = room.iter_mut().find(|(p, _)| p == c.task.profile()) {
                            *n = n.saturating_sub(1);
                        }
                        claimed.push(c)
                    }
                    None => return Ok((settled, claimed, false)),
                }
            }
            Ok((settled, claimed, true))
        };
        // Where a process runs is not in the event log, nor in the view.
        let ((settled, claimed, all_claimed), warnings) = if turn.endings.is_empty() && turn.claims.is_empty() {
            (orch_store::write(self.db.as_ref(), write)?, Vec::new())
        } else {
            self.change(write)?
        };
        Ok(TurnDone { settled, claimed, all_claimed, warnings })
    }

    /// Claims up to one task per request in one transaction, in the order of the
    /// requests (each with its own owner); stops at the first that finds nothing.
    pub fn claim_many(&self, reqs: &[ClaimRequest]) -> Result<(Vec<Claimed>, Vec<String>)> {
        let done = self.turn(&Turn { claims: reqs, ..Turn::default() })?;
        Ok((done.claimed, done.warnings))
    }
}
