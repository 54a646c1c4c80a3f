//! Reading a queue file's rows as tasks, every problem with its line: straight from
//! the text ([`read_file`], which decodes a cell only to keep it or check it), or from
//! a parsed document ([`read_rows`]). Both give the same rows and the same problems.

use super::{CANONICAL_COLUMNS, RowTask, Shown};
use crate::id::IdError;
use crate::queue_md::{Diagnostic, Document, RawCell, Table, one_line};
use crate::task::{COLUMN_NOT_BEFORE, Priority, Status};
use crate::time::parse_display_time;
use jiff::tz::TimeZone;
use rustc_hash::FxHashMap;
use std::borrow::Cow;

/// Reads a whole queue file: its document (with no rows) and every row as a task.
/// Every problem of the file is returned, each with its line and in line order:
/// structural ones (a duplicate column, a row with the wrong number of cells) and those
/// of the values in every other row alike, so one pass shows a person all of them.
///
/// The rows are read straight from the text: a cell is decoded only to be kept (an
/// id, a text) or checked in place (a status, a priority, a time).
pub fn read_file<'t>(text: &'t str, tz: &TimeZone) -> Result<(Document, Vec<RowTask<'t>>), Vec<Diagnostic>> {
    let mut table = Table::find(text)?;
    let Some(cols) = Columns::of(table.columns()) else {
        let (doc, _) = table.finish();
        return Err(vec![missing_column(&doc)]);
    };
    let mut seen = SeenIds::default();
    let mut diags = Vec::new();
    let mut out = Vec::new();
    while let Some(row) = table.next_row() {
        let cells = RowCells::Raw(row.cells);
        out.extend(cols.row_task(row.line, row.raw, row.eol, &cells, tz, &mut seen, &mut diags));
    }
    let (doc, structural) = table.finish();
    if diags.is_empty() && structural.is_empty() {
        return Ok((doc, out));
    }
    diags.extend(structural);
    Err(finish_diagnostics(diags))
}

/// Reads every row of `doc` as a task; all problems are returned, each with its line.
pub fn read_rows<'d>(doc: &'d Document, tz: &TimeZone) -> Result<Vec<RowTask<'d>>, Vec<Diagnostic>> {
    // parse() only returns documents that have the required columns.
    let cols = Columns::of(&doc.columns).ok_or_else(|| vec![missing_column(doc)])?;
    let mut seen = SeenIds::default();
    let mut diags = Vec::new();
    let mut out = Vec::with_capacity(doc.rows.len());
    for row in &doc.rows {
        let cells = RowCells::Decoded(&row.cells);
        out.extend(cols.row_task(row.line, &row.raw, &row.eol, &cells, tz, &mut seen, &mut diags));
    }
    if diags.is_empty() { Ok(out) } else { Err(finish_diagnostics(diags)) }
}

/// Problems in line order, each message on one line (a value quoted in one may hold a
/// decoded break).
fn finish_diagnostics(mut diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    diags.sort_by_key(|d| d.line);
    for d in &mut diags {
        if let Cow::Owned(m) = one_line(&d.message) {
            d.message = m;
        }
    }
    diags
}

fn missing_column(doc: &Document) -> Diagnostic {
    Diagnostic { line: doc.header_line, message: "queue table lacks a required column".into() }
}

/// The ids read so far, by prefix and number, with their lines.
type SeenIds<'a> = FxHashMap<(Cow<'a, str>, u64), (Cow<'a, str>, usize)>;

/// Notes a bad id, or one that another row has already (a prefix and number name one
/// task, so `ORCH-7` and `ORCH-007` are the same id written twice).
fn check_id<'a>(seen: &mut SeenIds<'a>, id: Cow<'a, str>, line: usize, diags: &mut Vec<Diagnostic>) {
    let (prefix, num) = match crate::id::check_id(&id) {
        Ok(parsed) => parsed,
        Err(e @ IdError::Shape) => {
            diags.push(Diagnostic { line, message: format!("bad id `{id}` ({e})") });
            return;
        }
        Err(e) => {
            diags.push(Diagnostic { line, message: format!("bad id `{id}`: {e}") });
            return;
        }
    };
    match seen.get(&(Cow::Borrowed(prefix), num)) {
        Some((first, _)) if *first == id => {
            diags.push(Diagnostic { line, message: format!("duplicate id `{id}`") });
        }
        Some((first, at)) => diags.push(Diagnostic {
            line,
            message: format!("duplicate id `{id}`: the same prefix and number as `{first}` (line {at})"),
        }),
        None => {
            let len = prefix.len();
            let prefix = match &id {
                Cow::Borrowed(id) => Cow::Borrowed(&id[..len]),
                Cow::Owned(id) => Cow::Owned(id[..len].to_string()),
            };
            seen.insert((prefix, num), (id, line));
        }
    }
}

/// Where a file's columns are.
struct Columns {
    id: usize,
    status: usize,
    priority: usize,
    task: usize,
    criteria: Option<usize>,
    owner: Option<usize>,
    started: Option<usize>,
    due: Option<usize>,
    notes: Option<usize>,
    not_before: Option<usize>,
    /// The extra columns: their places and names.
    extra: Vec<(usize, String)>,
    shown: Shown,
}

impl Columns {
    /// `None` when a required column is missing.
    fn of(columns: &[String]) -> Option<Columns> {
        let col = |name: &str| columns.iter().position(|c| c == name);
        let extra = columns
            .iter()
            .enumerate()
            .filter(|(_, c)| !CANONICAL_COLUMNS.contains(&c.as_str()) && c.as_str() != COLUMN_NOT_BEFORE)
            .map(|(i, c)| (i, c.clone()))
            .collect();
        let (criteria, owner, started, due, notes) =
            (col("success_criteria"), col("owner_session"), col("started_at_kst"), col("due_at_kst"), col("notes"));
        let shown = Shown {
            success_criteria: criteria.is_some(),
            owner: owner.is_some(),
            started_at: started.is_some(),
            due_at: due.is_some(),
            notes: notes.is_some(),
            not_before: col(COLUMN_NOT_BEFORE).is_some(),
        };
        Some(Columns {
            id: col("id")?,
            status: col("status")?,
            priority: col("priority")?,
            task: col("task")?,
            criteria,
            owner,
            started,
            due,
            notes,
            not_before: col(COLUMN_NOT_BEFORE),
            extra,
            shown,
        })
    }

    /// One row as a task; its problems go to `diags` (and then there is no task). Its id
    /// is checked against the ids read before (`seen`) first.
    #[allow(clippy::too_many_arguments)]
    fn row_task<'t>(
        &self,
        line: usize,
        raw: &'t str,
        eol: &'t str,
        cells: &RowCells<'_, 't>,
        tz: &TimeZone,
        seen: &mut SeenIds<'t>,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<RowTask<'t>> {
        check_id(seen, cells.value(self.id), line, diags);
        let mut bad = |message: String| diags.push(Diagnostic { line, message });
        let status = cells.value(self.status).parse::<Status>().map_err(|e| bad(e.to_string())).ok();
        let priority = cells.value(self.priority).parse::<Priority>().map_err(|e| bad(e.to_string())).ok();
        let task = cells.take(Some(self.task));
        if task.is_none() {
            bad("the task is empty".to_string());
        }
        let time = |i: Option<usize>, name: &str, bad: &mut dyn FnMut(String)| {
            let v = cells.value(i?);
            parse_display_time(none_if_mark(&v)?, tz).map_err(|e| bad(format!("{name}: {e}"))).ok()
        };
        let started_at = time(self.started, "started_at_kst", &mut bad);
        let due_at = time(self.due, "due_at_kst", &mut bad);
        let not_before = time(self.not_before, COLUMN_NOT_BEFORE, &mut bad);
        let (Some(status), Some(priority), Some(task)) = (status, priority, task) else { return None };
        Some(RowTask {
            line,
            id: cells.value(self.id),
            status,
            priority,
            task,
            success_criteria: cells.take(self.criteria),
            owner: cells.take(self.owner),
            started_at,
            due_at,
            notes: cells.take(self.notes),
            not_before,
            extra: self.extra.iter().map(|(i, name)| (name.clone(), cells.whole(*i))).collect(),
            shown: self.shown,
            raw: Cow::Borrowed(raw),
            eol: Cow::Borrowed(eol),
        })
    }
}

/// The cells of one row: as written in the file (decoded when asked for), or decoded
/// already (a [`crate::queue_md::RowLine`]'s).
enum RowCells<'r, 't> {
    Raw(&'r [RawCell<'t>]),
    Decoded(&'t [String]),
}

impl<'t> RowCells<'_, 't> {
    /// Cell `i`, decoded and trimmed; borrowed unless decoding changed it.
    fn value(&self, i: usize) -> Cow<'t, str> {
        match self {
            RowCells::Raw(cells) => cells[i].value_trimmed(),
            RowCells::Decoded(cells) => Cow::Borrowed(cells[i].trim()),
        }
    }

    /// Cell `i`'s whole value (decoded, untrimmed).
    fn whole(&self, i: usize) -> String {
        match self {
            RowCells::Raw(cells) => cells[i].decode(),
            RowCells::Decoded(cells) => cells[i].clone(),
        }
    }

    /// Cell `i`'s value; none for `-` or blank (and for no column).
    fn take(&self, i: Option<usize>) -> Option<Cow<'t, str>> {
        let v = self.value(i?);
        none_if_mark(&v).is_some().then_some(v)
    }
}

/// A trimmed value, or none for `-` and blank.
fn none_if_mark(v: &str) -> Option<&str> {
    (!v.is_empty() && v != "-").then_some(v)
}
