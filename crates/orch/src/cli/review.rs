//! `orch review ID [--apply]`.

use super::output::{print, print_json};
use super::warn_all;
use crate::error::Result;
use crate::ops::Orch;

#[derive(clap::Args, Debug)]
pub struct ReviewArgs {
    #[arg(value_parser = super::task_id)]
    id: String,
    /// Move a FAILED or BLOCKED task as the verdict says.
    #[arg(long)]
    apply: bool,
    #[arg(long)]
    json: bool,
}

pub fn review(orch: &Orch, a: &ReviewArgs) -> Result<i32> {
    let r = orch.review(&a.id)?;
    let applied = if a.apply {
        let (t, w) = orch.apply_review(&a.id, &r)?;
        warn_all(&w);
        Some(t.status)
    } else {
        None
    };
    if a.json {
        print_json(&serde_json::json!({
            "id": a.id,
            "run_id": r.run_id,
            "verdict": r.verdict().as_str(),
            "reason": r.reason(),
            "tokens": r.decision.tokens,
            "note": r.decision.note,
            "status": applied,
        }));
    } else {
        print(&format!("{} {}: {}", a.id, r.verdict().as_str(), r.reason()));
        if let Some(st) = applied {
            print(&format!("{} now {st}", a.id));
        }
    }
    Ok(0)
}
