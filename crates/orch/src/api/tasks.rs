//! The operator's changes to tasks: add, note, cancel, replan, retry. Each checks its
//! request, builds the core's command and applies it in one transaction.

use super::input::{due_with_warning, parse_time_arg, required_text, task_id};
use crate::error::{Error, Result};
use crate::ops::json::TaskView;
use crate::ops::{NewTask, Orch};
use orch_core::state::{Command, Replan};
use orch_core::task::{Priority, Task};
use serde::{Deserialize, Serialize};

/// `add`: a new task.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AddRequest {
    /// What to do.
    pub task: String,
    pub priority: Option<Priority>,
    /// Checkable conditions for done.
    pub criteria: Option<String>,
    /// A due time in any form [`super::parse_due`] reads.
    pub due: Option<String>,
    /// Ids this task waits for (blank ones are dropped).
    pub depends_on: Vec<String>,
    pub resource: Option<String>,
    /// Adding the same key again returns the existing task.
    pub idempotency_key: Option<String>,
    pub max_attempts: Option<u32>,
    /// The worker profile (`[profiles.NAME]` of orch.toml); refused when not configured.
    pub profile: Option<String>,
    /// Not claimed before this time, in any form [`super::parse_time_arg`] reads.
    pub not_before: Option<String>,
}

/// The task added, or the one that already had the idempotency key (`created` false).
#[derive(Clone, Debug, Serialize)]
pub struct Added {
    #[serde(flatten)]
    pub task: TaskView,
    pub created: bool,
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// A task after a change.
#[derive(Clone, Debug, Serialize)]
#[serde(transparent)]
pub struct Changed {
    pub task: TaskView,
    #[serde(skip)]
    pub warnings: Vec<String>,
}

impl Changed {
    pub(super) fn of((task, warnings): (Task, Vec<String>)) -> Changed {
        Changed { task: TaskView::from(&task), warnings }
    }
}

pub fn add(orch: &Orch, req: AddRequest) -> Result<Added> {
    let (new, due_warnings) = new_task(orch, req)?;
    added(orch.add(&new), due_warnings)
}

/// `add` of several tasks at once (one commit for all, as `orch serve` groups the adds
/// that arrive together): each answered as `add` would answer it alone.
pub fn add_all(orch: &Orch, reqs: Vec<AddRequest>) -> Vec<Result<Added>> {
    let checked: Vec<Result<(NewTask, Vec<String>)>> = reqs.into_iter().map(|r| new_task(orch, r)).collect();
    let news: Vec<NewTask> = checked.iter().filter_map(|c| c.as_ref().ok().map(|(n, _)| n.clone())).collect();
    let mut made = orch.add_all(&news).into_iter();
    checked
        .into_iter()
        .map(|c| {
            let (_, due_warnings) = c?;
            let done = made.next().unwrap_or_else(|| Err(Error::Io("add: a task was not answered".into())));
            added(done, due_warnings)
        })
        .collect()
}

/// An add's request read into the task `Orch::add` takes, with the warnings its due
/// time gave.
fn new_task(orch: &Orch, req: AddRequest) -> Result<(NewTask, Vec<String>)> {
    let mut depends_on = Vec::new();
    for d in &req.depends_on {
        let d = task_id(orch, d)?;
        let d = d.trim();
        if !d.is_empty() {
            depends_on.push(d.to_string());
        }
    }
    let mut due_warnings = Vec::new();
    let due_at = req.due.as_deref().map(|d| due_with_warning(orch, d, &mut due_warnings)).transpose()?.flatten();
    let not_before = req.not_before.as_deref().map(|s| parse_time_arg(orch, "--not-before", s)).transpose()?;
    let new = NewTask {
        task: req.task,
        priority: req.priority,
        success_criteria: req.criteria,
        due_at,
        depends_on,
        resource: req.resource,
        idempotency_key: req.idempotency_key,
        max_attempts: req.max_attempts,
        profile: req.profile,
        not_before,
    };
    Ok((new, due_warnings))
}

fn added(done: Result<(Task, bool, Vec<String>)>, mut warnings: Vec<String>) -> Result<Added> {
    let (task, created, mut more) = done?;
    warnings.append(&mut more);
    Ok(Added { task: TaskView::from(&task), created, warnings })
}

/// `note`: text appended to a task's notes.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    pub id: String,
    pub text: String,
}

pub fn note(orch: &Orch, req: NoteRequest) -> Result<Changed> {
    let text = required_text("the note", &req.text, "the note is empty")?;
    Ok(Changed::of(orch.apply(&task_id(orch, &req.id)?, &Command::Note { text })?))
}

/// `cancel`: stop a task (BLOCKED with `cancelled_by_operator[:REASON]`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    pub id: String,
    #[serde(default)]
    pub reason: Option<String>,
}

pub fn cancel(orch: &Orch, req: CancelRequest) -> Result<Changed> {
    Ok(Changed::of(orch.apply(&task_id(orch, &req.id)?, &Command::Cancel { reason: req.reason })?))
}

/// `replan`: change a task's text, criteria, priority or due time, saying why.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplanRequest {
    pub id: String,
    /// Why (kept in the notes as `replan:REASON`); required.
    pub reason: String,
    /// New task text (not empty).
    pub task: Option<String>,
    /// New success criteria (blank clears them).
    pub criteria: Option<String>,
    pub priority: Option<Priority>,
    /// New due time (`-` or `none` clears it).
    pub due: Option<String>,
}

pub fn replan(orch: &Orch, req: ReplanRequest) -> Result<Changed> {
    let id = task_id(orch, &req.id)?;
    if req.reason.trim().is_empty() {
        return Err(Error::Usage("--reason must say why".into()));
    }
    if req.task.as_deref().is_some_and(|t| t.trim().is_empty()) {
        return Err(Error::Usage("--task is empty: give the new text of the task".into()));
    }
    let mut due_warnings = Vec::new();
    let due_at = req.due.as_deref().map(|d| due_with_warning(orch, d, &mut due_warnings)).transpose()?;
    let r = Replan {
        reason: req.reason,
        task: req.task,
        // An empty criteria clears them.
        success_criteria: req.criteria.map(|c| if c.trim().is_empty() { String::new() } else { c }),
        priority: req.priority,
        due_at,
    };
    let mut changed = Changed::of(orch.apply(&id, &Command::Replan(r))?);
    due_warnings.append(&mut changed.warnings);
    changed.warnings = due_warnings;
    Ok(changed)
}

/// `retry`: a FAILED or BLOCKED task back to PENDING.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryRequest {
    pub id: String,
}

pub fn retry(orch: &Orch, req: RetryRequest) -> Result<Changed> {
    Ok(Changed::of(orch.apply(&task_id(orch, &req.id)?, &Command::Retry)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_plain_json_and_unknown_fields_are_refused() {
        let add: AddRequest =
            serde_json::from_str(r#"{"task": "ship", "priority": "P0", "due": "+3h", "depends_on": ["ORCH-1"]}"#)
                .unwrap();
        assert_eq!((add.task.as_str(), add.priority, add.due.as_deref()), ("ship", Some(Priority::P0), Some("+3h")));
        assert_eq!(add.depends_on, ["ORCH-1"]);
        let replan: ReplanRequest = serde_json::from_str(r#"{"id": "ORCH-1", "reason": "scope"}"#).unwrap();
        assert_eq!((replan.id.as_str(), replan.task), ("ORCH-1", None));
        assert!(serde_json::from_str::<NoteRequest>(r#"{"id": "ORCH-1", "text": "x", "owner": "me"}"#).is_err());
        assert!(serde_json::from_str::<AddRequest>(r#"{"task": "x", "priority": "P9"}"#).is_err());
    }
}
