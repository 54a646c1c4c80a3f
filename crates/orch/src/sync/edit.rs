//! One row of an import against its task: a new task, no change, a stale row, an edit
//! (applied, or merged with what the database did since the view showed the row), or a
//! conflict. Every change is a transition persisted like any other (see `import`).

use super::import::Context;
use crate::ops::persist;
use crate::store::{self, StoreError, Tx, ViewMark};
use jiff::tz::TimeZone;
use orch_core::event::{Event, kind};
use orch_core::queue_md::{Document, parse};
use orch_core::state::{Command, transition};
use orch_core::task::Task;
use orch_core::task_row::{RowTask, read_rows};
use std::path::Path;

/// What importing one row did, with its task and its mark as they are now.
pub(super) struct RowDone {
    pub task: Task,
    pub mark: Option<ViewMark>,
    pub what: What,
}

pub(super) enum What {
    Unchanged,
    Stale,
    Edited,
    /// A conflict, as a `FILE:LINE: …` sentence.
    Refused(String),
}

pub(super) fn import_row(
    tx: &mut dyn Tx,
    cx: &Context<'_>,
    view: &str,
    row: &RowTask<'_>,
    task: Task,
    mark: Option<ViewMark>,
) -> store::Result<RowDone> {
    if row.matches(&task) {
        // Keep the person's line (its spacing) for as long as it shows the task.
        let mark = match mark {
            Some(m) if m.line == row.raw && m.version == task.version => Some(m),
            _ if cx.marks => {
                let m = ViewMark { version: task.version, line: row.raw.to_string(), eol: row.eol.to_string() };
                tx.view_mark_set(view, &row.id, &m)?;
                Some(m)
            }
            mark => mark,
        };
        return Ok(RowDone { task, mark, what: What::Unchanged });
    }
    let edited = match &mark {
        Some(m) if m.line == row.raw => return Ok(RowDone { task, mark, what: What::Stale }),
        Some(m) if m.version == task.version => {
            let mut t = task.clone();
            row.apply_to(&mut t);
            t
        }
        _ => {
            let (merged, clash) = match mark.as_ref().and_then(|m| shown_row(cx.doc, m, &cx.orch.tz)) {
                Some(base) => {
                    let m = row.merge(&base, &task);
                    let clash = (!m.conflicts.is_empty()).then(|| {
                        format!(
                            "QUEUE.md and the database both changed {} since the view last showed it",
                            m.conflicts.join(", ")
                        )
                    });
                    (m.task, clash)
                }
                None => {
                    let mut t = task.clone();
                    row.apply_to(&mut t);
                    (t, Some("the row differs from the database, and the view never showed this version of it".into()))
                }
            };
            if let Some(clash) = clash.filter(|_| !cx.force) {
                let why = format!(
                    "{}:{}: {}: {clash} (the task is {} now); the edit is refused (import --force applies it)",
                    cx.shown, row.line, row.id, task.status
                );
                return Ok(RowDone { task, mark, what: What::Refused(why) });
            }
            merged
        }
    };
    let (saved, new_mark) = edit_row(tx, cx, view, &task, edited, row)?;
    Ok(RowDone { task: saved, mark: new_mark.or(mark), what: What::Edited })
}

/// A new task from a row, and its mark.
pub(super) fn add_row(
    tx: &mut dyn Tx,
    cx: &Context<'_>,
    view: &str,
    row: &RowTask<'_>,
) -> store::Result<(Task, Option<ViewMark>)> {
    let max_attempts = cx.orch.policy.default_max_attempts();
    let mut t = Task::new(row.id.to_string(), row.task.to_string(), row.priority, max_attempts, cx.now);
    row.apply_to(&mut t);
    t.version = 1;
    tx.task_insert(&t)?;
    let mark = cx.marks.then(|| ViewMark { version: 1, line: row.raw.to_string(), eol: row.eol.to_string() });
    if let Some(m) = &mark {
        tx.view_mark_set(view, &t.id, m)?;
    }
    let mut e = Event::new(cx.now, kind::TASK_IMPORTED);
    e.task_id = Some(t.id.clone());
    e.to = Some(t.status);
    e.owner = t.owner.clone();
    e.msg = Some(format!("line {}", row.line));
    tx.event_insert(&e)?;
    Ok((t, mark))
}

/// What the view last showed of a task, read as a row with the file's columns; `None`
/// when that line no longer fits them (the header changed since).
fn shown_row(doc: &Document, mark: &ViewMark, tz: &TimeZone) -> Option<RowTask<'static>> {
    let text = format!("{}\n{}\n{}\n", doc.header_raw, doc.separator_raw, mark.line);
    let one = parse(&text).ok()?;
    read_rows(&one, tz).ok()?.pop().map(RowTask::into_owned)
}

/// A person's edit of a row, `edited` being the task with it applied, as a transition
/// (`Command::Edit`) persisted like any other: the task, the end of a live run it takes
/// elsewhere (`edited_by_hand`), its event and what follows for the tasks that depend on
/// it. Returns the task saved and, when the row shows it exactly, the row as its mark.
fn edit_row(
    tx: &mut dyn Tx,
    cx: &Context<'_>,
    view: &str,
    task: &Task,
    edited: Task,
    row: &RowTask<'_>,
) -> store::Result<(Task, Option<ViewMark>)> {
    let file = Path::new(cx.shown).file_name().map_or_else(|| cx.shown.into(), |f| f.to_string_lossy());
    let cmd = Command::Edit { to: Box::new(edited), source: format!("edited in {file} line {}", row.line) };
    let change = transition(task, &cmd, cx.now, &cx.orch.policy)
        .map_err(|e| StoreError::Db(format!("an edit is never refused, yet: {e}")))?;
    let saved = persist(tx, task, change, None)?;
    // The person's line stays as written while it says what the task says; a merge that
    // kept some of the database's values is written anew by the next render.
    let mark = (cx.marks && row.matches(&saved)).then(|| ViewMark {
        version: saved.version,
        line: row.raw.to_string(),
        eol: row.eol.to_string(),
    });
    if let Some(m) = &mark {
        tx.view_mark_set(view, &saved.id, m)?;
    }
    Ok((saved, mark))
}
