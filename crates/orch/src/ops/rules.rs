//! What the operations share, below them all: the rules a claim and a settle check
//! besides the transition's (the retry policy, the task cost limit), the note of a task
//! its cost limit stopped, which run outcomes only a run's holder records, and the
//! random draw of backoff jitter.

use super::Orch;
use orch_core::policy::RetryPolicy;

/// What claiming and settling check besides eligibility and the transition rules.
pub(super) struct Rules<'a> {
    pub policy: &'a RetryPolicy,
    /// `budget.task_cost_usd` (0: no limit).
    pub cost_limit: f64,
}

impl Orch {
    /// The rules of this queue's claims and settles.
    pub(super) fn rules(&self) -> Rules<'_> {
        Rules { policy: &self.policy, cost_limit: self.config.budget.task_cost_usd }
    }
}

/// The note of a task stopped by its cost budget.
pub(super) fn cost_limit_reason(spent: f64, limit: f64) -> String {
    format!("cost_limit: ${spent:.2} spent (limit ${limit:.2})")
}

/// Run outcomes that only the run's own holder (or an operator's `--force`) records:
/// the run was finished, not lost.
pub(super) fn finished_by_holder(outcome: Option<&str>) -> bool {
    matches!(outcome, Some("done" | "failed" | "blocked"))
}

/// A random draw in [0, 1) for backoff jitter.
pub(super) fn unit_draw() -> f64 {
    (uuid::Uuid::new_v4().as_u128() >> 75) as f64 / (1u64 << 53) as f64
}
