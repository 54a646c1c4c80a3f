//! Dispatchers' liveness: each `orch run` records itself when it starts (pruning the
//! records unseen for a day), says it is still running every [`SEEN_EVERY`] and marks
//! itself stopped on its way out; `workers` reads them back with whether each is alive
//! (seen within [`ALIVE_WITHIN`] and not stopped). A dispatcher killed outright stops
//! being seen: it turns not alive by itself.

use super::Orch;
use crate::error::Result;
use jiff::{SignedDuration, Timestamp};
use orch_store::DispatcherRecord;
use serde::Serialize;

/// How often a running dispatcher refreshes its `seen_at` (one small write each time).
pub const SEEN_EVERY: SignedDuration = SignedDuration::from_secs(5);
/// A dispatcher seen within this long (three refreshes) and not stopped is alive.
pub const ALIVE_WITHIN: SignedDuration = SignedDuration::from_secs(15);
/// Records of dispatchers unseen for this long (stopped or dead) are pruned.
pub const KEPT_FOR: SignedDuration = SignedDuration::from_hours(24);

/// One dispatcher as `workers --json` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct DispatcherLive {
    /// `HOST:PID:START`, as its runs' `dispatcher` field names it.
    pub id: String,
    pub host: String,
    pub pid: i64,
    pub started_at: Timestamp,
    pub seen_at: Timestamp,
    /// Seconds since it was last seen.
    pub seen_age_s: f64,
    pub stopped_at: Option<Timestamp>,
    pub alive: bool,
}

impl DispatcherLive {
    /// The liveness of a record at `now`.
    pub fn of(d: DispatcherRecord, now: Timestamp) -> DispatcherLive {
        let age = now.duration_since(d.seen_at);
        DispatcherLive {
            alive: d.stopped_at.is_none() && age <= ALIVE_WITHIN,
            seen_age_s: age.as_secs_f64().max(0.0),
            id: d.id,
            host: d.host,
            pid: d.pid,
            started_at: d.started_at,
            seen_at: d.seen_at,
            stopped_at: d.stopped_at,
        }
    }
}

impl Orch {
    /// Records a dispatcher that starts now (`id` its `HOST:PID:START`), after pruning
    /// the records unseen for [`KEPT_FOR`]; one transaction.
    pub fn dispatcher_started(&self, id: &str, host: &str, pid: u32) -> Result<DispatcherRecord> {
        let now = self.now();
        let d = DispatcherRecord {
            id: id.to_string(),
            host: host.to_string(),
            pid: i64::from(pid),
            started_at: now,
            seen_at: now,
            stopped_at: None,
        };
        let cutoff = orch_core::time::earlier(now, KEPT_FOR);
        orch_store::write(self.db.as_ref(), |tx| {
            tx.dispatchers_prune(cutoff)?;
            tx.dispatcher_put(&d)
        })?;
        Ok(d)
    }

    /// Says the dispatcher of `d` is running now (`stopped`: it stops now).
    pub fn dispatcher_seen(&self, d: &mut DispatcherRecord, stopped: bool) -> Result<()> {
        d.seen_at = self.now();
        if stopped {
            d.stopped_at = Some(d.seen_at);
        }
        Ok(orch_store::write(self.db.as_ref(), |tx| tx.dispatcher_put(d))?)
    }
}
