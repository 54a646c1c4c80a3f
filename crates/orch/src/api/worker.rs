//! The worker's side: pick (claim the next eligible task under a lease), heartbeat,
//! done (through the gate), fail; and the watchdog sweep of expired leases. A worker
//! acts on a running task with its lease token; an operator with `force`.

use super::input::{auth, lease, required_text, task_id};
use super::tasks::Changed;
use crate::error::{Error, Result};
use crate::ops::json::TaskView;
use crate::ops::{ClaimRequest, Finish, Orch};
use jiff::SignedDuration;
use orch_core::policy::FailureClass;
use serde::{Deserialize, Serialize};

/// `pick`: claim the next eligible task.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PickRequest {
    /// Who takes the task (shown as owner_session).
    pub owner: String,
    /// The lease length (default: `dispatcher.lease`).
    #[serde(default)]
    pub lease: Option<SignedDuration>,
}

/// The claimed task (its `run_id` the new run's) and the run's trace id; the lease token
/// the worker must present is the task's `lease.token`.
#[derive(Clone, Debug, Serialize)]
pub struct Picked {
    #[serde(flatten)]
    pub task: TaskView,
    pub trace_id: String,
    #[serde(skip)]
    pub lease_token: String,
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// Refused with `not_found` (exit 4) when no task is eligible now.
pub fn pick(orch: &Orch, req: PickRequest) -> Result<Picked> {
    let owner = required_text("--owner", &req.owner, "--owner must name the worker")?;
    let req = ClaimRequest {
        owner,
        lease: lease(orch, "--lease", req.lease)?,
        host: Some(crate::runner::hostname()),
        pid: Some(i64::from(std::process::id())),
        pgid: None,
        spawned_by: None,
        dispatcher: None,
    };
    let (claimed, warnings) = orch.claim(&req)?;
    // Nothing claimed is nothing changed: the view's warnings wait for the next change.
    let Some(c) = claimed else {
        return Err(Error::NotFound("nothing to pick: no task is eligible now".into()));
    };
    let mut task = TaskView::from(&c.task);
    task.run_id = Some(c.run.id);
    Ok(Picked { task, trace_id: c.run.trace_id, lease_token: c.run.lease_token, warnings })
}

/// `heartbeat`: renew the lease of a running task.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatRequest {
    pub id: String,
    /// The lease token; or `force`.
    #[serde(default)]
    pub lease: Option<String>,
    #[serde(default)]
    pub force: bool,
    /// Extend the lease to this long from now (default: `dispatcher.lease`).
    #[serde(default)]
    pub extend: Option<SignedDuration>,
}

pub fn heartbeat(orch: &Orch, req: HeartbeatRequest) -> Result<Changed> {
    let id = task_id(orch, &req.id)?;
    let auth = auth(req.lease.as_deref(), req.force)?;
    let extend = lease(orch, "--for", req.extend)?;
    Ok(Changed::of(orch.heartbeat(&id, auth, extend)?))
}

/// `done`: finish a running task; the gate judges the report. A run with a worktree
/// under `workspace.land = "auto"` lands its branch before the task is DONE.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoneRequest {
    pub id: String,
    #[serde(default)]
    pub lease: Option<String>,
    #[serde(default)]
    pub force: bool,
    /// A note to append.
    #[serde(default)]
    pub notes: Option<String>,
    /// The report's text; none is the empty report.
    #[serde(default)]
    pub report: Option<String>,
}

/// The task after `done`: DONE, or — when the gate said RETRY or BLOCK — FAILED or
/// BLOCKED, with the gate's verdict and the reason beside it (not in the JSON, which is
/// the task alone).
#[derive(Clone, Debug, Serialize)]
#[serde(transparent)]
pub struct Finished {
    pub task: TaskView,
    /// The gate's verdict (`PASS`, `RETRY`, `BLOCK`); `None` when forced.
    #[serde(skip)]
    pub verdict: Option<String>,
    /// Why the task did not become DONE.
    #[serde(skip)]
    pub reason: Option<String>,
    #[serde(skip)]
    pub warnings: Vec<String>,
}

pub fn done(orch: &Orch, req: DoneRequest) -> Result<Finished> {
    let id = task_id(orch, &req.id)?;
    let auth = auth(req.lease.as_deref(), req.force)?;
    let land = |run_id: &str| crate::workspace::land_before_done(orch, &id, run_id);
    let r = orch.done_then(&id, auth, req.notes, req.report.as_deref(), &land)?;
    Ok(Finished {
        task: TaskView::from(&r.task),
        verdict: r.decision.as_ref().map(|d| d.verdict.as_str().to_string()),
        reason: r.reason,
        warnings: r.warnings,
    })
}

/// `fail`: fail a running task, transient (retried with backoff) unless `permanent`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailRequest {
    pub id: String,
    #[serde(default)]
    pub lease: Option<String>,
    #[serde(default)]
    pub force: bool,
    /// What went wrong.
    pub reason: String,
    /// No retry until an operator's `retry`.
    #[serde(default)]
    pub permanent: bool,
    #[serde(default)]
    pub report: Option<String>,
}

pub fn fail(orch: &Orch, req: FailRequest) -> Result<Changed> {
    let id = task_id(orch, &req.id)?;
    let auth = auth(req.lease.as_deref(), req.force)?;
    let class = if req.permanent { FailureClass::Permanent } else { FailureClass::Transient };
    let fin = Finish::Fail { reason: req.reason, class };
    Ok(Changed::of(orch.finish(&id, auth, fin, req.report.as_deref())?))
}

/// `watchdog`: turn every expired lease into a transient failure.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchdogRequest {}

/// The tasks whose lease had expired, after the sweep.
#[derive(Clone, Debug, Serialize)]
#[serde(transparent)]
pub struct Swept {
    pub tasks: Vec<TaskView>,
    #[serde(skip)]
    pub warnings: Vec<String>,
}

pub fn watchdog(orch: &Orch, _req: WatchdogRequest) -> Result<Swept> {
    let (tasks, warnings) = orch.sweep()?;
    Ok(Swept { tasks: tasks.iter().map(TaskView::from).collect(), warnings })
}

/// `give_back`: end a run the caller holds without finishing it — the task back to
/// PENDING, the attempt not counted (what a dispatcher does to its runs on shutdown).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GiveBackRequest {
    pub id: String,
    pub run_id: String,
    pub lease: String,
}

pub fn give_back(orch: &Orch, req: GiveBackRequest) -> Result<()> {
    let run = crate::ops::RunRef { task_id: &req.id, run_id: &req.run_id, token: &req.lease };
    orch.settle(&run, crate::ops::Outcome::Interrupt, "", None).map(|_| ())
}

/// The tasks `id` depends on, each with the report of its last finished run.
pub fn dependency_reports(orch: &Orch, id: &str) -> Result<Vec<crate::ops::DepReport>> {
    let t = orch.get(&task_id(orch, id)?)?;
    orch.dep_reports(&t)
}
