//! `orch quick "TEXT"`: add a task from one line of free text (`p0`, `due:내일 18:00`,
//! `due:+3h`, `criteria:"…"`, `#resource`; the rest is the task), showing what was
//! understood; `--dry-run` only shows it. The parsing is `orch_core::quick`; chat's
//! `!add` comes through here too.

use super::output::{print, print_json, time};
use super::warn_all;
use crate::error::{Error, Result};
use crate::ops::json::task_json;
use crate::ops::{NewTask, Orch};
use orch_core::quick::{self, Quick};
use orch_core::task::Task;
use serde_json::{Value, json};

#[derive(clap::Args, Debug)]
pub struct QuickArgs {
    /// The line, e.g. `p0 릴리즈 노트 작성 due:내일 18:00 criteria:"한 페이지" #docs` (quote it).
    #[arg(required = true, num_args = 1..)]
    text: Vec<String>,
    /// Only show what was understood; add nothing.
    #[arg(long)]
    dry_run: bool,
    #[arg(long)]
    json: bool,
}

pub fn run(orch: &Orch, a: &QuickArgs) -> Result<i32> {
    add_line(orch, &a.text.join(" "), a.dry_run, a.json)
}

/// Parses `line`, shows what it says and (unless `dry_run`) adds the task.
pub(super) fn add_line(orch: &Orch, line: &str, dry_run: bool, json: bool) -> Result<i32> {
    let q = quick::parse(line, orch.now(), orch.tz()).map_err(|e| Error::Usage(format!("quick: {e}")))?;
    for w in &q.warnings {
        crate::console::eprint(&format!("orch: warning: {w}"));
    }
    let added = if dry_run { None } else { Some(add(orch, &q)?) };
    if json {
        let task = added.as_ref().map_or(Value::Null, task_json);
        print_json(&json!({"understood": understood_json(orch, &q), "dry_run": dry_run, "added": task}));
        return Ok(0);
    }
    print("understood:");
    for line in understood_lines(orch, &q) {
        print(&format!("  {line}"));
    }
    match added {
        Some(t) => print(&format!("{} added ({})", t.id, t.priority)),
        None => print("dry run: nothing added"),
    }
    Ok(0)
}

fn add(orch: &Orch, q: &Quick) -> Result<Task> {
    let new = NewTask {
        task: q.task.clone(),
        priority: q.priority,
        success_criteria: q.criteria.clone(),
        due_at: q.due_at,
        resource: q.resource.clone(),
        ..NewTask::default()
    };
    let (task, _, warnings) = orch.add(&new)?;
    warn_all(&warnings);
    Ok(task)
}

fn understood_lines(orch: &Orch, q: &Quick) -> Vec<String> {
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let zone = orch.tz().iana_name().unwrap_or("display time zone");
    vec![
        format!("task:     {}", q.task),
        format!("priority: {}", q.priority.map_or_else(|| "P1 (default)".to_string(), |p| p.to_string())),
        match q.due_at {
            Some(d) => format!("due:      {} ({zone})", time(Some(d), orch.tz())),
            None => "due:      -".to_string(),
        },
        format!("criteria: {}", or_dash(&q.criteria)),
        format!("resource: {}", or_dash(&q.resource)),
    ]
}

fn understood_json(orch: &Orch, q: &Quick) -> Value {
    json!({
        "task": q.task,
        "priority": q.priority,
        "due_at": q.due_at,
        "due_at_display": q.due_at.map(|d| time(Some(d), orch.tz())),
        "success_criteria": q.criteria,
        "resource": q.resource,
        "warnings": q.warnings,
    })
}
