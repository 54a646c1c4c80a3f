//! `orch review ID [--apply]`.

use super::output::warn_all;
use super::output::{print, print_value};
use crate::api::{self, Orch};
use crate::error::Result;

#[derive(clap::Args, Debug)]
pub struct ReviewArgs {
    /// The task: its id (ORCH-005, orch-005) or its number alone (5).
    #[arg(value_parser = super::limits::task_id)]
    id: String,
    /// Move a FAILED or BLOCKED task as the verdict says.
    #[arg(long)]
    apply: bool,
    /// Print the verdict as JSON.
    #[arg(long)]
    json: bool,
}

pub fn review(orch: &Orch, a: &ReviewArgs) -> Result<i32> {
    let r = api::review(orch, api::ReviewRequest { id: a.id.clone(), apply: a.apply })?;
    warn_all(&r.warnings);
    if a.json {
        print_value(&r)?;
    } else {
        print(&format!("{} {}: {}", r.id, r.verdict, r.reason));
        if let Some(st) = r.status {
            print(&format!("{} now {st}", r.id));
        }
    }
    Ok(0)
}
