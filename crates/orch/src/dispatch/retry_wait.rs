//! How `run --until-idle` ends: once nothing runs and nothing is eligible, it still waits
//! for the retries due within `--max-wait` (default 5 minutes), and when it leaves it
//! names the retries it left behind, with their times, in the summary.

use super::state::{Dispatcher, LeftRetry};
use crate::error::Result;
use orch_core::task::Status;
use orch_store::ListFilter;

impl Dispatcher<'_> {
    /// Whether an idle `--until-idle` run ends now: no retry is due after now and within
    /// the bound. When it ends, the retries still to come (and any due but not
    /// eligible: a dependency, a spent budget) are kept in the summary.
    pub(super) fn idle_ends(&mut self) -> Result<bool> {
        let now = self.orch.now();
        let bound = orch_core::time::later(now, self.opts.max_wait);
        let mut retries: Vec<LeftRetry> = Vec::new();
        let filter = ListFilter { statuses: vec![Status::Failed], priorities: Vec::new() };
        self.orch.list_each(&filter, None, 0, &mut |t| {
            if let Some(at) = t.retry_at {
                retries.push(LeftRetry { id: t.id.clone(), retry_at: at });
            }
            Ok(())
        })?;
        // Due since the last claim was tried: the next turn tries it.
        if retries.iter().any(|r| r.retry_at <= now && r.retry_at > self.claim_tried) {
            return Ok(false);
        }
        let next = retries.iter().filter(|r| r.retry_at > now && r.retry_at <= bound).min_by_key(|r| r.retry_at);
        if let Some(next) = next {
            if self.awaited.as_ref() != Some(next) {
                let when = orch_core::time::format_from_now(next.retry_at, now, self.orch.tz());
                self.progress.line(&format!("idle; waiting for the retry of {} {when}", next.id));
                self.awaited = Some(next.clone());
            }
            return Ok(false);
        }
        retries.sort_by(|a, b| a.retry_at.cmp(&b.retry_at).then_with(|| a.id.cmp(&b.id)));
        self.summary.left_retries = retries;
        Ok(true)
    }
}
