//! `import [FILE]`: a person's edits to QUEUE.md go into the database.
//!
//! The file is checked whole first (every problem with its line; exit 2 and nothing
//! changed). Then, in one transaction, each row is compared with its task:
//! - a new id is a new task;
//! - a row that says what the task says is no change;
//! - a row that still shows what the view last showed, while the task moved on since, is
//!   merely stale: the database wins, and the next render updates the row;
//! - any other row is an edit. It is applied when the task did not change since the view
//!   last showed it; otherwise it is a conflict (exit 5, nothing applied) unless `force`.
//!
//! Tasks absent from the file are left as they are: the view omits old DONE tasks, so
//! absence never means deletion.

use super::{META_HASH, frame, hash, lock_view, read_optional, same_file};
use crate::error::{Error, Result};
use crate::ops::Orch;
use crate::store::{self, RunEnd, StoreError, Tx, ViewMark};
use jiff::Timestamp;
use orch_core::event::{Event, kind};
use orch_core::queue_md::{Diagnostic, parse};
use orch_core::task::{Status, Task};
use orch_core::task_row::{RowTask, read_rows};
use std::path::Path;

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ImportSummary {
    pub file: String,
    pub added: Vec<String>,
    pub edited: Vec<String>,
    pub unchanged: usize,
    pub stale: Vec<String>,
}

/// Imports `file` (QUEUE.md when `None`).
pub fn import(orch: &Orch, file: Option<&Path>, force: bool) -> Result<(ImportSummary, Vec<String>)> {
    let view = orch.queue_file.clone();
    let path = match (file, &view) {
        (Some(f), _) => f.to_path_buf(),
        (None, Some(v)) => v.clone(),
        (None, None) => {
            return Err(Error::Usage("no view file is configured (queue.file is empty); name a FILE".into()));
        }
    };
    let is_view = view.as_deref().is_some_and(|v| same_file(v, &path));
    if is_view && orch.queue_read_only {
        return Err(Error::Usage(format!(
            "{} is read-only output (ORCH_QUEUE_MD_READ_ONLY=1): the database is the source of truth; change tasks with orch commands",
            path.display()
        )));
    }
    let summary = {
        let _lock = lock_view(orch)?;
        let text = read_optional(&path)?.ok_or_else(|| Error::NotFound(format!("{}: no such file", path.display())))?;
        let shown = path.display().to_string();
        let input_err = |diags: Vec<Diagnostic>| Error::Input { file: shown.clone(), diags };
        let doc = parse(&text).map_err(input_err)?;
        let rows = read_rows(&doc, &orch.tz).map_err(input_err)?;
        let now = orch.now();
        let max_attempts = orch.policy.default_max_attempts();
        let mut conflicts: Vec<String> = Vec::new();
        let mut summary = ImportSummary { file: shown.clone(), ..ImportSummary::default() };
        let result = store::write(orch.db.as_ref(), |tx| {
            conflicts.clear();
            summary = ImportSummary { file: shown.clone(), ..ImportSummary::default() };
            let marks = tx.view_marks()?;
            for row in &rows {
                let Some(task) = tx.task_get(&row.id)? else {
                    add_row(tx, row, max_attempts, now)?;
                    summary.added.push(row.id.clone());
                    continue;
                };
                let mark = marks.get(&row.id);
                if row.matches(&task) {
                    summary.unchanged += 1;
                    if mark.is_none_or(|m| m.line != row.raw || m.version != task.version) {
                        tx.view_mark_set(
                            &row.id,
                            &ViewMark { version: task.version, line: row.raw.clone(), eol: row.eol.clone() },
                        )?;
                    }
                } else if mark.is_some_and(|m| m.line == row.raw) {
                    summary.stale.push(row.id.clone());
                } else if !force && mark.is_none_or(|m| m.version != task.version) {
                    conflicts.push(format!(
                        "{shown}:{}: {} changed in the database since QUEUE.md last showed it (now {}); the edit is refused (import --force applies it)",
                        row.line, row.id, task.status
                    ));
                } else {
                    edit_row(tx, &task, row, now)?;
                    summary.edited.push(row.id.clone());
                }
            }
            if !conflicts.is_empty() {
                return Err(StoreError::Conflict(String::new()));
            }
            if is_view || !frame::exists(tx)? {
                frame::save(tx, &doc)?;
            }
            if is_view {
                tx.meta_set(META_HASH, &hash(text.as_bytes()))?;
            }
            Ok(())
        });
        match result {
            Err(StoreError::Conflict(_)) if !conflicts.is_empty() => return Err(Error::Conflict(conflicts.join("\n"))),
            other => other?,
        }
        summary
    };
    Ok((summary, orch.after_change()))
}

fn add_row(tx: &mut dyn Tx, row: &RowTask, max_attempts: u32, now: Timestamp) -> store::Result<()> {
    let mut t = Task::new(row.id.clone(), row.task.clone(), row.priority, max_attempts, now);
    fill(&mut t, row);
    t.version = 1;
    tx.task_insert(&t)?;
    tx.view_mark_set(&t.id, &ViewMark { version: 1, line: row.raw.clone(), eol: row.eol.clone() })?;
    let mut e = Event::new(now, kind::TASK_IMPORTED);
    e.task_id = Some(t.id.clone());
    e.to = Some(t.status);
    e.owner = t.owner.clone();
    e.msg = Some(format!("line {}", row.line));
    tx.event_insert(&e)?;
    Ok(())
}

fn fill(t: &mut Task, row: &RowTask) {
    t.status = row.status;
    t.priority = row.priority;
    t.task = row.task.clone();
    t.success_criteria = row.success_criteria.clone();
    t.owner = row.owner.clone();
    t.started_at = row.started_at;
    t.due_at = row.due_at;
    t.notes = row.notes.clone();
    for (k, v) in &row.extra {
        match t.extra.iter_mut().find(|(k2, _)| k2 == k) {
            Some(slot) => slot.1 = v.clone(),
            None => t.extra.push((k.clone(), v.clone())),
        }
    }
}

/// A person's edit of a row: the row's values win. Leaving IN_PROGRESS by hand ends the
/// live run (its worker finds its lease gone).
fn edit_row(tx: &mut dyn Tx, task: &Task, row: &RowTask, now: Timestamp) -> store::Result<()> {
    let mut t = task.clone();
    fill(&mut t, row);
    t.updated_at = now;
    if t.status != Status::InProgress {
        t.lease = None;
    }
    if t.status != Status::Failed {
        t.retry_at = None;
    }
    if task.status == Status::InProgress
        && t.status != Status::InProgress
        && task.lease.is_some()
        && let Some(run_id) = &task.run_id
    {
        let end = RunEnd { outcome: "cancelled", class: None, reason: Some("edited_by_hand"), report: None, at: now };
        tx.run_end(run_id, &end)?;
    }
    let saved = tx.task_update(&t)?;
    tx.view_mark_set(&t.id, &ViewMark { version: saved.version, line: row.raw.clone(), eol: row.eol.clone() })?;
    let mut e = Event::new(now, kind::TASK_EDITED);
    e.task_id = Some(t.id.clone());
    e.from = Some(task.status);
    e.to = Some(t.status);
    e.owner = t.owner.clone();
    e.msg = Some(format!("edited in QUEUE.md line {}", row.line));
    tx.event_insert(&e)?;
    Ok(())
}
