//! Reading tasks: list, show, status (the queue's counts; a task, or a team as a tree),
//! log (every attempt of a task, secrets masked).

use super::input::task_id;
use crate::error::Result;
use crate::ops::json::{RunView, TaskView};
use crate::ops::{Orch, StatusSummary, TreeNode};
use orch_core::task::{Priority, Status};
use orch_store::ListFilter;
use serde::{Deserialize, Serialize};

/// `list`: the tasks of these statuses and priorities (none: all), in pick order
/// (`orch_core::policy::pick_order`: priority, then due time, those without one last,
/// then id number), skipping `offset` of them and at most `limit` (`None`, the default:
/// every match; `offset` defaults to 0). Any `u64` is taken; a deep offset costs a walk
/// over the rows it skips.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListRequest {
    pub statuses: Vec<Status>,
    pub priorities: Vec<Priority>,
    pub limit: Option<u64>,
    pub offset: u64,
}

/// Hands each listed task to `f` as the store reads it, so a listing of any length
/// takes constant memory; an error of `f` (a closed output) stops it.
pub fn list(orch: &Orch, req: ListRequest, f: &mut dyn FnMut(TaskView) -> Result<()>) -> Result<()> {
    let filter = ListFilter { statuses: req.statuses, priorities: req.priorities };
    orch.list_each(&filter, req.limit, req.offset, &mut |t| f(TaskView::from(t)))
}

/// `show`: one task.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShowRequest {
    pub id: String,
}

/// A task with what its runs used in all.
#[derive(Clone, Debug, Serialize)]
pub struct Shown {
    #[serde(flatten)]
    pub task: TaskView,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
    /// The task's branch, worktree and landing state, when a run of it had a worktree.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace: Option<crate::workspace::WorkspaceView>,
}

pub fn show(orch: &Orch, req: ShowRequest) -> Result<Shown> {
    let t = orch.get(&task_id(orch, &req.id)?)?;
    let usage = orch.task_usage(&t.id)?;
    Ok(Shown {
        task: TaskView::from(&t),
        input_tokens: usage.input_tokens,
        output_tokens: usage.output_tokens,
        cost_usd: usage.cost_usd,
        workspace: crate::workspace::view_of(orch, &t.id)?,
    })
}

/// `status`: the queue; with an id, that task (a team, or any task with dependencies,
/// as a tree).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatusRequest {
    pub id: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum StatusResult {
    Queue(StatusSummary),
    Tree(TreeNode),
    Task(Box<Shown>),
}

pub fn status(orch: &Orch, req: StatusRequest) -> Result<StatusResult> {
    let Some(id) = req.id else { return Ok(StatusResult::Queue(orch.status_summary()?)) };
    let id = task_id(orch, &id)?;
    if let Some(tree) = orch.team_tree(&id)? {
        return Ok(StatusResult::Tree(tree));
    }
    show(orch, ShowRequest { id }).map(|s| StatusResult::Task(Box::new(s)))
}

/// `log`: every attempt of a task.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogRequest {
    pub id: String,
}

/// The runs of a task, oldest first, every text in them masked.
#[derive(Clone, Debug, Serialize)]
#[serde(transparent)]
pub struct RunLog {
    pub runs: Vec<RunView>,
}

pub fn log(orch: &Orch, req: LogRequest) -> Result<RunLog> {
    let id = task_id(orch, &req.id)?;
    let runs = orch.runs(&id)?;
    let mask = |s: &mut String| {
        if let std::borrow::Cow::Owned(m) = orch.mask().text(s) {
            *s = m;
        }
    };
    let mut views: Vec<RunView> = runs.iter().map(RunView::from).collect();
    for r in &mut views {
        for s in [&mut r.id, &mut r.task_id, &mut r.owner, &mut r.trace_id] {
            mask(s);
        }
        let optional = [
            &mut r.host,
            &mut r.outcome,
            &mut r.reason,
            &mut r.report,
            &mut r.late_report,
            &mut r.verdict,
            &mut r.verdict_reason,
            &mut r.spawned_by,
        ];
        optional.into_iter().flatten().for_each(mask);
    }
    crate::workspace::fill_runs(orch, &id, &mut views)?;
    Ok(RunLog { runs: views })
}
