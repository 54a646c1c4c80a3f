//! `check`: does QUEUE.md say what the database says? Drift is listed row by row, a
//! stale row (a line the view showed earlier: see `shown`) told from an edit; a file
//! that does not read as a queue is refused with every problem and its line, as
//! `import` refuses it. Rows and the frame are compared by what they say, not by their
//! bytes (the core's `RowTask::same_values` and `Document::same_frame`): a table an
//! editor or a formatter respaced, padded or aligned is no drift.

use super::shown::{Shown, classify};
use super::{Snapshot, View, read_bytes, utf8};
use crate::error::{Error, Result};
use orch_core::queue_md::parse;
use orch_core::task_row::{RowTask, read_file, read_rows};
use orch_store::Backend;
use orch_store::ViewMark;
use std::collections::{HashMap, HashSet};

/// One difference between the file and the database.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Drift {
    pub line: Option<usize>,
    pub id: Option<String>,
    pub what: String,
    /// The row is a line the view showed earlier: the database moved on since.
    pub stale: bool,
}

impl Drift {
    fn of(line: Option<usize>, id: Option<String>, what: impl Into<String>) -> Drift {
        Drift { line, id, what: what.into(), stale: false }
    }
}

const STALE: &str = "stale: a line the view showed earlier; the database has changed since (import keeps the database's values, the next refresh rewrites it)";

/// The differences; empty when the file says what an export would write, whatever its
/// formatting.
pub fn check(v: &View, db: &dyn Backend) -> Result<Vec<Drift>> {
    let Some(path) = v.file.clone() else {
        return Err(Error::Usage("no view file is configured (queue.file is empty)".into()));
    };
    let tz = &v.tz;
    let view = v.name(db)?;
    let snapshot = Snapshot::read(v, db, &view, false)?;
    let expected = snapshot.render(tz).text;
    let Some(actual) = read_bytes(&path)? else {
        return Ok(vec![Drift::of(None, None, format!("{} does not exist", path.display()))]);
    };
    if actual == expected.as_bytes() {
        return Ok(Vec::new());
    }
    let actual = utf8(&path, &actual)?;
    let shown = path.display().to_string();
    let (file, rows) = read_file(actual, tz).map_err(|diags| Error::Input { file: shown, diags })?;
    let want = parse(&expected).expect("a rendered view parses");
    let want_id = want.column("id").expect("a rendered view has an id column");
    let want_rows: HashMap<&str, &orch_core::queue_md::RowLine> =
        want.rows.iter().map(|r| (r.cells[want_id].as_str(), r)).collect();
    // The view's rows by value: a file row that says what the view would write, however
    // spaced, padded or aligned, is no drift. (A view that does not read back is
    // compared line by line.)
    let want_read = read_rows(&want, tz).unwrap_or_default();
    let want_values: HashMap<&str, &RowTask<'_>> = want_read.iter().map(|r| (&*r.id, r)).collect();
    let marks: HashMap<&str, &ViewMark> = snapshot.rows.iter().filter_map(|r| Some((r.id(), r.mark()?))).collect();
    // The rows that do not say what the view would write, and whether each is stale.
    let differing: Vec<_> = rows
        .iter()
        .filter(|r| {
            want_rows.get(&*r.id).is_none_or(|w| w.raw != r.raw)
                && want_values.get(&*r.id).is_none_or(|w| !r.same_values(w))
        })
        .collect();
    let stale: Vec<bool> = orch_store::read(db, |tx| {
        differing
            .iter()
            .map(|r| {
                let mark = match marks.get(&*r.id) {
                    Some(m) => Some((*m).clone()),
                    None => tx.view_mark(&view, &r.id)?,
                };
                Ok(matches!(classify(tx, &view, &file, tz, r, mark.as_ref(), None)?, Shown::Stale))
            })
            .collect()
    })?;
    let mut drift = Vec::new();
    for (row, stale) in differing.iter().zip(stale) {
        let (line, id) = (Some(row.line), Some(row.id.to_string()));
        drift.push(match want_rows.get(&*row.id) {
            _ if stale => Drift { stale: true, ..Drift::of(line, id, STALE) },
            None => Drift::of(line, id, "not in the database's view (new, or an old DONE task)"),
            Some(w) => Drift::of(line, id, format!("differs from the database: {}", w.raw)),
        });
    }
    let seen: HashSet<&str> = rows.iter().map(|r| &*r.id).collect();
    for w in &want.rows {
        if !seen.contains(w.cells[want_id].as_str()) {
            drift.push(Drift::of(None, Some(w.cells[want_id].clone()), "missing from the file"));
        }
    }
    if file.columns != want.columns {
        drift.push(Drift::of(None, None, "the table's columns differ from the view's"));
    } else if !file.same_frame(&want) {
        drift.push(Drift::of(None, None, "text around the table differs"));
    }
    // The same rows, each saying the same, in another order; any other difference is
    // formatting (spacing, padding, alignment, separators, line endings, blank lines).
    let want_order = want.rows.iter().map(|w| w.cells[want_id].as_str());
    if drift.is_empty() && !rows.iter().map(|r| &*r.id).eq(want_order) {
        drift.push(Drift::of(None, None, "row order differs from the view's"));
    }
    Ok(drift)
}
