//! Whether a view file whose bytes are not the text orch last wrote or imported there
//! differs from that text only in formatting (an editor or a Markdown formatter
//! respaced, padded or aligned the table, changed its separator or line endings, or
//! added blank lines around it): then it holds no edit, and a refresh or an `export`
//! may write the view over it. orch keeps only the hash of that text, so it is told
//! from the view's marks, the lines it last showed of each task: every row of the file
//! must say what its task's mark says, no row orch showed may be gone, and the frame
//! must say what the view's does (the core's `RowTask::same_values` and
//! `Document::same_frame`). Anything else, or a file that does not read, is an edit.

use super::file::{read_bytes, utf8};
use super::hidden;
use super::shown::row_of_line;
use crate::error::Result;
use jiff::tz::TimeZone;
use orch_core::queue_md::parse;
use orch_core::task_row::read_file;
use orch_store::Backend;
use std::collections::HashSet;
use std::path::Path;

/// Whether the file at `path` says what view `view` last showed, formatting aside;
/// `rendered` is the view about to be written (for its frame and the rows it shows).
pub(super) fn only_formatting(
    db: &dyn Backend,
    view: &str,
    path: &Path,
    rendered: &str,
    tz: &TimeZone,
) -> Result<bool> {
    let Some(bytes) = read_bytes(path)? else { return Ok(false) };
    let Ok(text) = utf8(path, &bytes) else { return Ok(false) };
    let Ok((mut file, rows)) = read_file(text, tz) else { return Ok(false) };
    let Ok(mut want) = parse(rendered) else { return Ok(false) };
    // The line a bounded view writes after its table counts tasks, and changes with them.
    hidden::strip(&mut file);
    hidden::strip(&mut want);
    if !file.same_frame(&want) {
        return Ok(false);
    }
    let in_file: HashSet<&str> = rows.iter().map(|r| &*r.id).collect();
    let Some(id_at) = want.column("id") else { return Ok(false) };
    // Each task's mark is looked up by key, and the first row that says something else
    // ends the search (a person's edit is usually one row among many).
    Ok(orch_store::read(db, |tx| {
        for r in &rows {
            let said = tx.view_mark(view, &r.id)?.is_some_and(|m| {
                m.line == *r.raw || row_of_line(&file, &m.line, tz).is_some_and(|l| r.same_values(&l))
            });
            if !said {
                return Ok(false);
            }
        }
        // A row the view showed that the file no longer has was taken out by hand.
        for id in want.rows.iter().map(|w| w.cells[id_at].as_str()).filter(|id| !in_file.contains(id)) {
            if tx.view_mark(view, id)?.is_some_and(|m| !m.line.is_empty()) {
                return Ok(false);
            }
        }
        Ok(true)
    })?)
}
