//! Which line orch wrote a file's row from: a row that is a line the view showed of its
//! task (its mark, or one of the earlier lines the store keeps, see
//! [`orch_store::Tx::view_history`]) is stale, never an edit; any other row is an
//! edit of the earlier line closest to it (the fewest differing cells, the newest on
//! ties), its merge base — unless the view no longer knows every line it showed of
//! the task, or never showed one. A file under other columns than the view's (another
//! FILE, or QUEUE.md with a new header) cannot be read against those lines: when the
//! task is still at the version the view last showed, that is its base, in the
//! file's columns.

use jiff::tz::TimeZone;
use orch_core::queue_md::{Document, parse, render_row};
use orch_core::task::Task;
use orch_core::task_row::{RowTask, read_rows, task_cells};
use orch_store::{Tx, ViewMark};

/// What a row is, against the lines the view showed of its task.
pub(super) enum Shown {
    /// The row is one of them (exactly, or cell for cell): orch wrote it.
    Stale,
    /// An edit of this one (read under the file's columns).
    EditOf(Box<RowTask<'static>>),
    /// An edit whose base is not known: why, as a clause.
    Unknown(&'static str),
}

/// `row` against the lines view `view` showed of its task: `mark`, the last one (when
/// the caller holds it), then the earlier ones the store keeps, newest first. `task`
/// is the task as stored, when the caller has it.
pub(super) fn classify(
    tx: &mut dyn Tx,
    view: &str,
    doc: &Document,
    tz: &TimeZone,
    row: &RowTask<'_>,
    mark: Option<&ViewMark>,
    task: Option<&Task>,
) -> orch_store::Result<Shown> {
    if mark.is_some_and(|m| m.line == row.raw) {
        return Ok(Shown::Stale);
    }
    let past = tx.view_history(view, &row.id)?;
    if past.lines.iter().any(|(_, line)| *line == row.raw) {
        return Ok(Shown::Stale);
    }
    let lines = mark.filter(|m| !m.line.is_empty()).map(|m| m.line.as_str()).into_iter();
    let mut best: Option<(usize, RowTask<'static>)> = None;
    let mut read = false;
    for line in lines.chain(past.lines.iter().map(|(_, l)| l.as_str())) {
        let Some(base) = row_of_line(doc, line, tz) else { continue };
        read = true;
        let apart = row.differing(&base);
        if apart == 0 {
            return Ok(Shown::Stale);
        }
        if best.as_ref().is_none_or(|(d, _)| apart < *d) {
            best = Some((apart, base));
        }
    }
    if past.forgotten {
        return Ok(Shown::Unknown(FORGOTTEN));
    }
    if let Some((_, base)) = best {
        return Ok(Shown::EditOf(Box::new(base)));
    }
    // Lines under other columns: the task as the view last showed it, in these.
    let shown_now = task.filter(|t| !read && mark.is_some_and(|m| m.version == t.version));
    let as_shown = shown_now.and_then(|t| row_of_line(doc, &render_row(&task_cells(t, &doc.columns, tz)), tz));
    Ok(match as_shown {
        Some(base) => Shown::EditOf(Box::new(base)),
        None => Shown::Unknown("the row differs from the database, and the view never showed this version of it"),
    })
}

const FORGOTTEN: &str = "the row differs from the database, and the view no longer keeps every line it showed of this task, so which one it was edited from is not known";

/// A line the view showed, read as a row under the file's columns; `None` when it no
/// longer fits them (the header changed since).
pub(super) fn row_of_line(doc: &Document, line: &str, tz: &TimeZone) -> Option<RowTask<'static>> {
    let text = format!("{}\n{}\n{}\n", doc.header_raw, doc.separator_raw, line);
    let one = parse(&text).ok()?;
    read_rows(&one, tz).ok()?.pop().map(RowTask::into_owned)
}
