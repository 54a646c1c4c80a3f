//! `land`: a task's branch onto the base branch, through the merge queue
//! (`workspace::land`, docs/WORKSPACES.md). The dispatcher runs the same command for a
//! run the gate passed when `workspace.land = "auto"`.

use super::input::task_id;
use crate::error::{Error, Result};
use crate::ops::Orch;
use crate::workspace::Workspaces;
pub use crate::workspace::land::Landed;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LandRequest {
    pub id: String,
    /// The run whose events and folder the landing goes to; the task's newest run that
    /// had a worktree when not given.
    #[serde(default)]
    pub run: Option<String>,
}

/// How the landing went: `landing` is `landed` (with `commit`), `land_conflict` or
/// `land_check_failed` (with `message`).
#[derive(Clone, Debug, Serialize)]
pub struct LandResult {
    pub id: String,
    pub branch: String,
    pub base: String,
    #[serde(flatten)]
    pub landed: Landed,
}

pub fn land(orch: &Orch, req: LandRequest) -> Result<LandResult> {
    let id = task_id(orch, &req.id)?;
    let ws = Workspaces::open(orch)?
        .ok_or_else(|| Error::Usage("orch land needs [workspace] mode = \"worktree\" in orch.toml".into()))?;
    let run = match req.run {
        Some(r) => r,
        None => crate::workspace::view_of(orch, &id)?.and_then(|v| v.run_id).unwrap_or_default(),
    };
    let landed = ws.land(orch, &id, &run).map_err(Error::Io)?;
    Ok(LandResult { branch: ws.branch(&id), base: ws.base.clone(), id, landed })
}
