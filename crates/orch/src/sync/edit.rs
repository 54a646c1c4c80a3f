//! One row of an import against its task: a new task, no change, a stale row (a line
//! the view showed, see `shown`), an edit (merged with what the database did since the
//! view showed the line it was edited from), or a conflict. Every change is a transition persisted like any other (see `import`).

use super::shown::{Shown, classify};
use crate::persist::{added, persist};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use orch_core::event::{Event, kind};
use orch_core::policy::RetryPolicy;
use orch_core::queue_md::Document;
use orch_core::state::{Command, transition};
use orch_core::task::Task;
use orch_core::task_row::RowTask;
use orch_store::{StoreError, Tx, ViewMark};
use std::path::Path;

/// What every row of one import shares.
pub(super) struct Context<'a> {
    pub doc: &'a Document,
    pub force: bool,
    pub now: Timestamp,
    pub shown: &'a str,
    /// The display time zone the file's cells are read in.
    pub tz: &'a TimeZone,
    /// The retry policy: a new task's attempts, and the transition of an edit.
    pub policy: &'a RetryPolicy,
    /// The file's lines may become the view's marks: it is the view's file, or has the
    /// columns the view is written with. (A line under other columns would be written
    /// under the view's header.)
    pub marks: bool,
}

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
) -> orch_store::Result<RowDone> {
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
    let (edited, clash) = match classify(tx, view, cx.doc, cx.tz, row, mark.as_ref(), Some(&task))? {
        Shown::Stale => return Ok(RowDone { task, mark, what: What::Stale }),
        Shown::EditOf(base) => {
            let m = row.merge(&base, &task);
            let clash = (!m.conflicts.is_empty()).then(|| {
                format!(
                    "QUEUE.md and the database both changed {} since the view showed the line it was edited from",
                    m.conflicts.join(", ")
                )
            });
            (m.task, clash)
        }
        Shown::Unknown(why) => {
            let mut t = task.clone();
            row.apply_to(&mut t);
            (t, Some(why.to_string()))
        }
    };
    if let Some(clash) = clash.filter(|_| !cx.force) {
        let why = format!(
            "{}:{}: {}: {clash} (the task is {} now); the edit is refused (import --force applies it)",
            cx.shown, row.line, row.id, task.status
        );
        return Ok(RowDone { task, mark, what: What::Refused(why) });
    }
    let (saved, new_mark) = edit_row(tx, cx, view, &task, edited, row)?;
    Ok(RowDone { task: saved, mark: new_mark.or(mark), what: What::Edited })
}

/// A new task from a row, and its mark.
pub(super) fn add_row(
    tx: &mut dyn Tx,
    cx: &Context<'_>,
    view: &str,
    row: &RowTask<'_>,
) -> orch_store::Result<(Task, Option<ViewMark>)> {
    let max_attempts = cx.policy.default_max_attempts();
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
    Ok((added(tx, &t)?, mark))
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
) -> orch_store::Result<(Task, Option<ViewMark>)> {
    let file = Path::new(cx.shown).file_name().map_or_else(|| cx.shown.into(), |f| f.to_string_lossy());
    let cmd = Command::Edit { to: Box::new(edited), source: format!("edited in {file} line {}", row.line) };
    let change = transition(task, &cmd, cx.now, cx.policy)
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
