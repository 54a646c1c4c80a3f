//! Operator commands: add, note, cancel, replan, retry.

use super::limits::parse_due;
use super::output::{print, print_json};
use super::warn_all;
use crate::error::{Error, Result};
use crate::ops::json::task_json;
use crate::ops::{NewTask, Orch};
use orch_core::state::{Command, Replan};
use orch_core::task::{Priority, Task};

#[derive(clap::Args, Debug)]
pub struct AddArgs {
    /// What to do.
    title: String,
    #[arg(long, short = 'p', value_parser = parse_priority)]
    priority: Option<Priority>,
    /// Checkable conditions for done.
    #[arg(long)]
    criteria: Option<String>,
    /// `YYYY-MM-DD HH:MM` (display time zone), RFC 3339, or `+3h`; years 1 to 9999.
    #[arg(long)]
    due: Option<String>,
    /// Ids this task waits for (repeat, or separate with commas).
    #[arg(long, value_delimiter = ',', value_parser = super::task_id)]
    depends_on: Vec<String>,
    /// Tasks sharing a resource key never run at once.
    #[arg(long)]
    resource: Option<String>,
    /// Adding the same key again returns the existing task.
    #[arg(long)]
    idempotency_key: Option<String>,
    #[arg(long)]
    max_attempts: Option<u32>,
    #[arg(long)]
    json: bool,
}

pub fn parse_priority(s: &str) -> Result<Priority, String> {
    s.parse::<Priority>().map_err(|e| e.to_string())
}

pub fn add(orch: &Orch, a: &AddArgs) -> Result<i32> {
    let new = NewTask {
        task: a.title.clone(),
        priority: a.priority,
        success_criteria: a.criteria.clone(),
        due_at: a.due.as_deref().map(|d| parse_due(orch, d)).transpose()?.flatten(),
        depends_on: a.depends_on.iter().map(|d| d.trim().to_string()).filter(|d| !d.is_empty()).collect(),
        resource: a.resource.clone(),
        idempotency_key: a.idempotency_key.clone(),
        max_attempts: a.max_attempts,
    };
    let (task, created, warnings) = orch.add(&new)?;
    warn_all(&warnings);
    if a.json {
        let mut v = task_json(&task);
        v["created"] = serde_json::json!(created);
        print_json(&v);
    } else if created {
        print(&format!("{} added ({})", task.id, task.priority));
    } else {
        print(&format!("{} exists with that idempotency key; nothing added", task.id));
    }
    Ok(0)
}

fn changed(task: &Task, what: &str, warnings: &[String], json: bool) -> Result<i32> {
    warn_all(warnings);
    if json {
        print_json(&task_json(task));
    } else {
        print(&format!("{} {what}: now {}", task.id, task.status));
    }
    Ok(0)
}

#[derive(clap::Args, Debug)]
pub struct NoteArgs {
    #[arg(value_parser = super::task_id)]
    id: String,
    text: String,
    #[arg(long)]
    json: bool,
}

pub fn note(orch: &Orch, a: &NoteArgs) -> Result<i32> {
    let text = orch_core::task_text::field_text("the note", &a.text).map_err(Error::Usage)?;
    let text = text.ok_or_else(|| Error::Usage("the note is empty".into()))?;
    let (t, w) = orch.apply(&a.id, &Command::Note { text })?;
    changed(&t, "noted", &w, a.json)
}

#[derive(clap::Args, Debug)]
pub struct CancelArgs {
    #[arg(value_parser = super::task_id)]
    id: String,
    #[arg(long)]
    reason: Option<String>,
    #[arg(long)]
    json: bool,
}

pub fn cancel(orch: &Orch, a: &CancelArgs) -> Result<i32> {
    let (t, w) = orch.apply(&a.id, &Command::Cancel { reason: a.reason.clone() })?;
    changed(&t, "cancelled", &w, a.json)
}

#[derive(clap::Args, Debug)]
pub struct ReplanArgs {
    #[arg(value_parser = super::task_id)]
    id: String,
    /// Why (kept in the notes as `replan:REASON`).
    #[arg(long)]
    reason: String,
    /// New task text (not empty).
    #[arg(long)]
    task: Option<String>,
    /// New success criteria (`''` clears them).
    #[arg(long)]
    criteria: Option<String>,
    #[arg(long, short = 'p', value_parser = parse_priority)]
    priority: Option<Priority>,
    /// New due time (`-` or `none` clears it).
    #[arg(long)]
    due: Option<String>,
    #[arg(long)]
    json: bool,
}

pub fn replan(orch: &Orch, a: &ReplanArgs) -> Result<i32> {
    if a.reason.trim().is_empty() {
        return Err(Error::Usage("--reason must say why".into()));
    }
    if a.task.as_deref().is_some_and(|t| t.trim().is_empty()) {
        return Err(Error::Usage("--task is empty: give the new text of the task".into()));
    }
    let r = Replan {
        reason: a.reason.clone(),
        task: a.task.clone(),
        // An empty criteria clears them.
        success_criteria: a
            .criteria
            .as_deref()
            .map(|c| if c.trim().is_empty() { String::new() } else { c.to_string() }),
        priority: a.priority,
        due_at: a.due.as_deref().map(|d| parse_due(orch, d)).transpose()?,
    };
    let (t, w) = orch.apply(&a.id, &Command::Replan(r))?;
    changed(&t, "replanned", &w, a.json)
}

#[derive(clap::Args, Debug)]
pub struct RetryArgs {
    #[arg(value_parser = super::task_id)]
    id: String,
    #[arg(long)]
    json: bool,
}

pub fn retry(orch: &Orch, a: &RetryArgs) -> Result<i32> {
    let (t, w) = orch.apply(&a.id, &Command::Retry)?;
    changed(&t, "retried", &w, a.json)
}
