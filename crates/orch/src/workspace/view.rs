//! A task's workspace as `orch show` and `orch log` print it: its branch, its worktree
//! (and whether the folder is still there) and its landing state, read from the task's
//! newest `workspace.created` and `land.*` events.

use super::{CREATED, land};
use crate::error::Result;
use crate::ops::Orch;
use orch_store::EventQuery;
use serde::Serialize;

/// A task's workspace.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct WorkspaceView {
    pub branch: String,
    pub worktree: String,
    /// Whether the worktree's folder is there now (`workspace.keep` may have removed it).
    pub worktree_exists: bool,
    pub base: String,
    /// The run whose worktree this is (the newest that had one).
    pub run_id: Option<String>,
    /// `not_landed`, `landing`, `landed`, `land_conflict` or `land_check_failed`.
    pub landing: String,
    /// The base's commit after the branch landed.
    pub landed_commit: Option<String>,
}

/// The workspace of `task_id`, or `None` when no run of it had one.
pub fn view_of(orch: &Orch, task_id: &str) -> Result<Option<WorkspaceView>> {
    let kinds = [CREATED, land::STARTED, land::LANDED, land::CONFLICT, land::CHECK_FAILED];
    let q = EventQuery {
        task_id: Some(task_id.to_string()),
        kinds: kinds.iter().map(|k| k.to_string()).collect(),
        newest_first: true,
        ..EventQuery::default()
    };
    let events = orch.events(&q)?;
    let Some(created) = events.iter().find(|e| e.event == CREATED) else { return Ok(None) };
    let v: serde_json::Value = created.msg.as_deref().and_then(|m| serde_json::from_str(m).ok()).unwrap_or_default();
    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let worktree = text("worktree");
    let (landing, landed_commit) = match events.iter().find(|e| e.event != CREATED && e.seq > created.seq) {
        Some(e) if e.event == land::LANDED => {
            ("landed".to_string(), e.msg.as_deref().and_then(|m| m.split_whitespace().next()).map(str::to_string))
        }
        Some(e) => (land::state_of(&e.event).unwrap_or("landing").to_string(), None),
        None => ("not_landed".to_string(), None),
    };
    Ok(Some(WorkspaceView {
        branch: text("branch"),
        worktree_exists: !worktree.is_empty() && std::path::Path::new(&worktree).is_dir(),
        worktree,
        base: text("base"),
        run_id: created.run_id.clone(),
        landing,
        landed_commit,
    }))
}

/// Fills each run's worktree, branch and landing state from the task's events.
pub fn fill_runs(orch: &Orch, task_id: &str, runs: &mut [crate::ops::json::RunView]) -> Result<()> {
    let kinds = [CREATED, land::LANDED, land::CONFLICT, land::CHECK_FAILED];
    let q = EventQuery {
        task_id: Some(task_id.to_string()),
        kinds: kinds.iter().map(|k| k.to_string()).collect(),
        ..EventQuery::default()
    };
    for e in orch.events(&q)? {
        let Some(r) = runs.iter_mut().find(|r| e.run_id.as_deref() == Some(r.id.as_str())) else { continue };
        if e.event == CREATED {
            let v: serde_json::Value = e.msg.as_deref().and_then(|m| serde_json::from_str(m).ok()).unwrap_or_default();
            r.worktree = v.get("worktree").and_then(|x| x.as_str()).map(str::to_string);
            r.branch = v.get("branch").and_then(|x| x.as_str()).map(str::to_string);
        } else {
            r.landing = land::state_of(&e.event).map(str::to_string);
        }
    }
    Ok(())
}
