//! Watching the queue: KPIs and their alerts, the fleet (leases held, the queue by
//! priority and status), retention (`prune`), and `review` (the gate again on a task's
//! last report). What could hold a secret is masked.

use super::input::task_id;
use crate::error::Result;
use crate::ops::{Fleet, Orch, PruneReport};
use jiff::SignedDuration;
use orch_core::kpi::Kpi;
use orch_core::task::Status;
use serde::{Deserialize, Serialize};

/// `kpi`: the indicators over the window ending now.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KpiRequest {
    /// Runs that finished (and claims made) in the last `since`.
    pub since: SignedDuration,
}

pub fn kpi(orch: &Orch, req: KpiRequest) -> Result<Kpi> {
    orch.kpi(req.since)
}

/// `workers`: every lease held, the queue by priority and status, and the dispatchers;
/// the task text, owners, hosts and ids masked.
pub fn workers(orch: &Orch) -> Result<Fleet> {
    let mut f = orch.fleet()?;
    let mask = |s: &mut String| {
        if let std::borrow::Cow::Owned(m) = orch.mask().text(s) {
            *s = m;
        }
    };
    for w in &mut f.workers {
        [&mut w.owner, &mut w.task_id, &mut w.task].into_iter().for_each(mask);
        [&mut w.run_id, &mut w.trace_id, &mut w.host].into_iter().flatten().for_each(mask);
    }
    for d in &mut f.dispatchers {
        [&mut d.id, &mut d.host].into_iter().for_each(mask);
    }
    Ok(f)
}

/// `prune`: remove the history of tasks DONE longer ago than `older_than`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PruneRequest {
    pub older_than: SignedDuration,
}

pub fn prune(orch: &Orch, req: PruneRequest) -> Result<PruneReport> {
    orch.prune(req.older_than)
}

/// `review`: the gate again on a task's last report; with `apply`, a FAILED or BLOCKED
/// task moved as the verdict says.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    pub id: String,
    #[serde(default)]
    pub apply: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Reviewed {
    pub id: String,
    pub run_id: String,
    pub verdict: &'static str,
    pub reason: String,
    pub tokens: Option<usize>,
    pub note: Option<String>,
    /// The task's status after `apply`; none without it.
    pub status: Option<Status>,
    #[serde(skip)]
    pub warnings: Vec<String>,
}

pub fn review(orch: &Orch, req: ReviewRequest) -> Result<Reviewed> {
    let id = task_id(orch, &req.id)?;
    let r = orch.review(&id)?;
    let (status, warnings) = if req.apply {
        let (t, w) = orch.apply_review(&id, &r)?;
        (Some(t.status), w)
    } else {
        (None, Vec::new())
    };
    Ok(Reviewed {
        run_id: r.run_id.clone(),
        verdict: r.verdict().as_str(),
        reason: r.reason().to_string(),
        tokens: r.decision.tokens,
        note: r.decision.note.clone(),
        status,
        warnings,
        id,
    })
}
