//! The dispatcher's own record of liveness (`ops::dispatchers`): written when `orch run`
//! starts, refreshed with the loop's one-second tick at most every
//! `ops::dispatchers::SEEN_EVERY` (so no turn writes more), and marked stopped when the
//! loop is over, however it ended. `orch exec` records none. A refresh that fails (the
//! store busy or away) is tried again at the next tick; it never stops the loop.

use super::SPAWNED_BY_DISPATCHER;
use super::state::{Dispatcher, to_std};
use crate::error::Result;
use crate::ops::dispatchers::SEEN_EVERY;
use std::time::Instant;

impl Dispatcher<'_> {
    /// Records this dispatcher as started (`orch run` only).
    pub(super) fn record_start(&mut self) -> Result<()> {
        if self.opts.spawned_by != SPAWNED_BY_DISPATCHER {
            return Ok(());
        }
        self.record = Some(self.orch.dispatcher_started(&self.me, &self.host, std::process::id())?);
        self.seen_next = Instant::now() + to_std(SEEN_EVERY);
        Ok(())
    }

    /// Says this dispatcher still runs, when a refresh is due.
    pub(super) fn refresh_seen(&mut self, now: Instant) {
        if now < self.seen_next {
            return;
        }
        if let Some(mut d) = self.record.take() {
            if self.orch.dispatcher_seen(&mut d, false).is_ok() {
                self.seen_next = now + to_std(SEEN_EVERY);
            }
            self.record = Some(d);
        }
    }

    /// Marks this dispatcher stopped (as far as the store can be written now).
    pub(super) fn record_stop(&mut self) {
        if let Some(mut d) = self.record.take() {
            let _ = self.orch.dispatcher_seen(&mut d, true);
        }
    }
}
