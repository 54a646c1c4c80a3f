//! `land`: a task's branch onto the base branch through the merge queue (rebase, check,
//! fast-forward; docs/WORKSPACES.md). Exit 0 when it landed, 5 on a conflict or a
//! failed check (the base is left as it was).

use super::output::{print, print_value};
use crate::api::Landed;
use crate::api::{self, Orch};
use crate::error::Result;

#[derive(clap::Args, Debug)]
pub struct LandArgs {
    /// The task: its id or its number alone.
    id: String,
    /// The run the landing is recorded on (its events, its folder for the check's
    /// output); the task's newest run with a worktree when not given.
    #[arg(long, value_name = "RUN_ID")]
    run: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub fn land(orch: &Orch, a: &LandArgs) -> Result<i32> {
    let r = api::land(orch, api::LandRequest { id: a.id.clone(), run: a.run.clone() })?;
    let code = if matches!(r.landed, Landed::Landed { .. }) { 0 } else { 5 };
    if a.json {
        print_value(&r)?;
        return Ok(code);
    }
    match &r.landed {
        Landed::Landed { commit } => print(&format!("{}: {} landed on {} at {commit}", r.id, r.branch, r.base)),
        Landed::LandConflict { message } | Landed::LandCheckFailed { message } => {
            crate::console::eprint(&format!("orch: {}: {message}", r.id));
        }
    }
    Ok(code)
}
