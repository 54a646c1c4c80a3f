//! `orch quick "TEXT"`: add a task from one line of free text (`p0`, `due:내일 18:00`,
//! `due:+3h`, `criteria:"…"`, `#resource`, `@profile`; the rest is the task), showing what was
//! understood; `--dry-run` only shows it. The parsing is `orch_core::quick`; chat's
//! `!add` comes through here too.

use super::output::warn_all;
use super::output::{print, print_value};
use crate::api::{self, Orch, QuickAdded};
use crate::error::Result;

#[derive(clap::Args, Debug)]
pub struct QuickArgs {
    /// The line, e.g. `p0 릴리즈 노트 작성 due:내일 18:00 criteria:"한 페이지" #docs` (quote it).
    #[arg(required = true, num_args = 1..)]
    text: Vec<String>,
    /// Only show what was understood; add nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print what was understood and the task added as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(orch: &Orch, a: &QuickArgs) -> Result<i32> {
    let q = api::quick(orch, api::QuickRequest { text: a.text.join(" "), dry_run: a.dry_run, idempotency_key: None })?;
    print_added(&q, a.json)
}

/// Shows what a line was understood to say and what was added.
pub(super) fn print_added(q: &QuickAdded, json: bool) -> Result<i32> {
    warn_all(&q.understood.warnings);
    warn_all(&q.warnings);
    if json {
        print_value(q)?;
        return Ok(0);
    }
    let u = &q.understood;
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    print("understood:");
    print(&format!("  task:     {}", u.task));
    print(&format!("  priority: {}", u.priority.map_or_else(|| "P1 (default)".to_string(), |p| p.to_string())));
    match &u.due_at_display {
        Some(d) => print(&format!("  due:      {d} ({})", u.zone)),
        None => print("  due:      -"),
    }
    print(&format!("  criteria: {}", or_dash(&u.success_criteria)));
    print(&format!("  resource: {}", or_dash(&u.resource)));
    if let Some(s) = &u.not_before_display {
        print(&format!("  start:    not before {s} ({})", u.zone));
    }
    if let Some(p) = &u.profile {
        print(&format!("  profile:  {p}"));
    }
    match &q.added {
        Some(t) => print(&format!("{} added ({})", t.id, t.priority)),
        None => print("dry run: nothing added"),
    }
    Ok(0)
}
