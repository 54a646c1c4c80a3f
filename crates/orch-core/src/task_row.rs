//! Between QUEUE.md rows and tasks: reading a parsed table into row tasks (with every
//! problem reported by line), comparing a row with its task, applying or merging a
//! person's edit of a row, writing a task's cells for a table's columns, and choosing
//! which tasks the view shows. Pure: no I/O, no clock.
//!
//! A row speaks only for the columns its file has: a task's value for a column the file
//! lacks (say `notes`) is neither compared with the row nor changed by it. Values are
//! compared as the file can show them: a value the codec cannot write exactly (a leading
//! blank, a `\r`, the text `<br>`) equals what reading its cell gives back, so a row
//! written by orch always matches the task it was written from.

use crate::id::parse_id;
use crate::queue_md::{Diagnostic, Document, RowLine, decode_cell, encode_cell, parse_partial};
use crate::task::{Priority, Status, Task};
use crate::time::{format_display_time, parse_display_time};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::collections::HashMap;

/// The canonical columns, in the seed's order.
pub const CANONICAL_COLUMNS: [&str; 9] =
    ["id", "status", "priority", "task", "success_criteria", "owner_session", "started_at_kst", "due_at_kst", "notes"];

/// Which of the optional canonical columns the file has (`id`, `status`, `priority` and
/// `task` are always there).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shown {
    pub success_criteria: bool,
    pub owner: bool,
    pub started_at: bool,
    pub due_at: bool,
    pub notes: bool,
}

impl Shown {
    /// Every canonical column.
    pub const ALL: Shown = Shown { success_criteria: true, owner: true, started_at: true, due_at: true, notes: true };

    fn of(doc: &Document) -> Shown {
        let has = |c: &str| doc.column(c).is_some();
        Shown {
            success_criteria: has("success_criteria"),
            owner: has("owner_session"),
            started_at: has("started_at_kst"),
            due_at: has("due_at_kst"),
            notes: has("notes"),
        }
    }
}

/// A task as one row of the file describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowTask {
    pub line: usize,
    pub id: String,
    pub status: Status,
    pub priority: Priority,
    pub task: String,
    pub success_criteria: Option<String>,
    pub owner: Option<String>,
    pub started_at: Option<Timestamp>,
    pub due_at: Option<Timestamp>,
    pub notes: Option<String>,
    /// Values of the file's extra columns, by column name, in file order.
    pub extra: Vec<(String, String)>,
    /// The optional columns the file has.
    pub shown: Shown,
    /// The line exactly as read, and its ending.
    pub raw: String,
    pub eol: String,
}

/// One column's values in a row (or its task), for comparing and merging field by field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Value<'a> {
    Status(Status),
    Priority(Priority),
    Text(Option<&'a str>),
    Time(Option<Timestamp>),
}

impl RowTask {
    /// Whether `task` already says what this row says (so the row is no edit).
    pub fn matches(&self, task: &Task) -> bool {
        self.id == task.id && self.fields().all(|(name, v)| same(&v, &task_value(task, name)))
    }

    /// Writes this row's values into `task`: every column the file has, nothing else.
    pub fn apply_to(&self, task: &mut Task) {
        for (name, v) in self.fields() {
            set_value(task, name, v);
        }
    }

    /// A person's edit of this row, merged with what happened to the task since the view
    /// showed `base` (the row as the view last wrote it). A column the person changed
    /// takes the row's value; any other keeps the task's. Columns that both the person
    /// and the database changed, to different values, are named in `conflicts` (the
    /// merged task holds the person's value there: `import --force`).
    pub fn merge(&self, base: &RowTask, task: &Task) -> Merged {
        let mut merged = task.clone();
        let mut conflicts = Vec::new();
        let base_fields: Vec<_> = base.fields().collect();
        for (name, mine) in self.fields() {
            let old = base_fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v);
            if old == Some(&mine) {
                continue;
            }
            let theirs = task_value(task, name);
            let db_unchanged = old.is_some_and(|o| same(o, &theirs));
            if !db_unchanged && !same(&mine, &theirs) {
                conflicts.push(name.to_string());
            }
            set_value(&mut merged, name, mine);
        }
        Merged { task: merged, conflicts }
    }

    /// (column name, value) for every column the file has, `id` aside.
    fn fields(&self) -> impl Iterator<Item = (&str, Value<'_>)> {
        let s = self.shown;
        let canonical = [
            (true, "status", Value::Status(self.status)),
            (true, "priority", Value::Priority(self.priority)),
            (true, "task", Value::Text(Some(&self.task))),
            (s.success_criteria, "success_criteria", Value::Text(self.success_criteria.as_deref())),
            (s.owner, "owner_session", Value::Text(self.owner.as_deref())),
            (s.started_at, "started_at_kst", Value::Time(self.started_at)),
            (s.due_at, "due_at_kst", Value::Time(self.due_at)),
            (s.notes, "notes", Value::Text(self.notes.as_deref())),
        ];
        let extra = self.extra.iter().map(|(k, v)| (k.as_str(), Value::Text(dash_none(v))));
        canonical.into_iter().filter(|(shown, _, _)| *shown).map(|(_, n, v)| (n, v)).chain(extra)
    }
}

/// The result of [`RowTask::merge`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merged {
    pub task: Task,
    /// Columns changed both in the file and in the database, to different values.
    pub conflicts: Vec<String>,
}

/// A task's value for one column (an extra column's `-` or empty value is none).
fn task_value<'a>(task: &'a Task, column: &str) -> Value<'a> {
    match column {
        "status" => Value::Status(task.status),
        "priority" => Value::Priority(task.priority),
        "task" => Value::Text(Some(&task.task)),
        "success_criteria" => Value::Text(task.success_criteria.as_deref()),
        "owner_session" => Value::Text(task.owner.as_deref()),
        "started_at_kst" => Value::Time(task.started_at),
        "due_at_kst" => Value::Time(task.due_at),
        "notes" => Value::Text(task.notes.as_deref()),
        other => Value::Text(task.extra.iter().find(|(k, _)| k == other).and_then(|(_, v)| dash_none(v))),
    }
}

fn set_value(task: &mut Task, column: &str, v: Value<'_>) {
    let owned = |t: Option<&str>| t.map(str::to_string);
    match (column, v) {
        ("status", Value::Status(s)) => task.status = s,
        ("priority", Value::Priority(p)) => task.priority = p,
        ("task", Value::Text(Some(t))) => task.task = t.to_string(),
        ("success_criteria", Value::Text(t)) => task.success_criteria = owned(t),
        ("owner_session", Value::Text(t)) => task.owner = owned(t),
        ("started_at_kst", Value::Time(t)) => task.started_at = t,
        ("due_at_kst", Value::Time(t)) => task.due_at = t,
        ("notes", Value::Text(t)) => task.notes = owned(t),
        (other, Value::Text(t)) => {
            let v = t.unwrap_or("-").to_string();
            match task.extra.iter_mut().find(|(k, _)| k == other) {
                Some(slot) => slot.1 = v,
                None => task.extra.push((other.to_string(), v)),
            }
        }
        (column, v) => unreachable!("fields() pairs {column} with {v:?}"),
    }
}

/// `row` (read from the file) and `task` (from the database) agree, as the file shows.
fn same(row: &Value<'_>, task: &Value<'_>) -> bool {
    match (row, task) {
        (Value::Text(a), Value::Text(b)) => match (a, b) {
            (Some(a), Some(b)) => same_text(a, b),
            (None, Some(b)) => shown_as_none(b),
            (a, b) => a == b,
        },
        (Value::Time(a), Value::Time(b)) => same_minute(*a, *b),
        (a, b) => a == b,
    }
}

/// A stored text equals the value read back: exactly, or once written and read again.
fn same_text(read: &str, stored: &str) -> bool {
    read == stored || as_read(stored).as_deref() == Some(read)
}

/// A stored value the file shows as none (`-`, blank).
fn shown_as_none(stored: &str) -> bool {
    as_read(stored).is_none()
}

/// What reading a cell written from `stored` gives.
fn as_read(stored: &str) -> Option<String> {
    none_if_dash(&decode_cell(&encode_cell(stored)))
}

/// The file shows minutes; instants that agree to the minute are the same to it.
fn same_minute(a: Option<Timestamp>, b: Option<Timestamp>) -> bool {
    let m = |t: Option<Timestamp>| t.map(|t| t.as_second().div_euclid(60));
    m(a) == m(b)
}

fn none_if_dash(v: &str) -> Option<String> {
    dash_none(v).map(str::to_string)
}

/// A cell's value, or none for `-` and blank.
fn dash_none(v: &str) -> Option<&str> {
    let v = v.trim();
    (!v.is_empty() && v != "-").then_some(v)
}

/// Reads a whole queue file: its document (rows moved out) and every row as a task.
/// Every problem of the file is returned, each with its line and in line order:
/// structural ones (a duplicate column, a row with the wrong number of cells) and those
/// of the values in every other row alike, so one pass shows a person all of them.
pub fn read_file(text: &str, tz: &TimeZone) -> Result<(Document, Vec<RowTask>), Vec<Diagnostic>> {
    let (mut doc, mut diags) = parse_partial(text)?;
    match take_rows(&mut doc, tz) {
        Ok(rows) if diags.is_empty() => return Ok((doc, rows)),
        Ok(_) => {}
        Err(more) => diags.extend(more),
    }
    diags.sort_by_key(|d| d.line);
    Err(diags)
}

/// Reads every row of `doc` as a task; all problems are returned, each with its line.
pub fn read_rows(doc: &Document, tz: &TimeZone) -> Result<Vec<RowTask>, Vec<Diagnostic>> {
    rows_from(doc, doc.rows.clone(), tz)
}

/// [`read_rows`] that moves the rows out of `doc` (left with none) instead of copying
/// their text: the import of a large file allocates half as much.
pub fn take_rows(doc: &mut Document, tz: &TimeZone) -> Result<Vec<RowTask>, Vec<Diagnostic>> {
    let rows = std::mem::take(&mut doc.rows);
    rows_from(doc, rows, tz)
}

fn rows_from(doc: &Document, rows: Vec<RowLine>, tz: &TimeZone) -> Result<Vec<RowTask>, Vec<Diagnostic>> {
    let col = |name: &str| doc.column(name);
    let mut diags = Vec::new();
    let extra_cols: Vec<(usize, &String)> =
        doc.columns.iter().enumerate().filter(|(_, c)| !CANONICAL_COLUMNS.contains(&c.as_str())).collect();
    let (Some(c_id), Some(c_status), Some(c_prio), Some(c_task)) =
        (col("id"), col("status"), col("priority"), col("task"))
    else {
        // parse() only returns documents that have these columns.
        return Err(vec![Diagnostic { line: doc.header_line, message: "queue table lacks a required column".into() }]);
    };
    let (c_criteria, c_owner, c_started, c_due, c_notes) =
        (col("success_criteria"), col("owner_session"), col("started_at_kst"), col("due_at_kst"), col("notes"));
    let shown = Shown::of(doc);
    // Ids first, while the rows are still whole. A prefix and number name one task, so
    // `ORCH-7` and `ORCH-007` are the same id written twice.
    let mut seen: HashMap<(&str, u64), (&str, usize)> = HashMap::with_capacity(rows.len());
    for row in &rows {
        let id = row.cells[c_id].trim();
        let Some(key) = parse_id(id) else {
            diags.push(Diagnostic {
                line: row.line,
                message: format!("bad id `{id}` (expected PREFIX-NNN, like ORCH-001)"),
            });
            continue;
        };
        match seen.get(&key) {
            Some((first, _)) if *first == id => {
                diags.push(Diagnostic { line: row.line, message: format!("duplicate id `{id}`") });
            }
            Some((first, at)) => diags.push(Diagnostic {
                line: row.line,
                message: format!("duplicate id `{id}`: the same prefix and number as `{first}` (line {at})"),
            }),
            None => {
                seen.insert(key, (id, row.line));
            }
        }
    }
    drop(seen);
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let RowLine { line, raw, eol, mut cells } = row;
        let mut bad = |message: String| diags.push(Diagnostic { line, message });
        let status = cells[c_status].trim().parse::<Status>().map_err(|e| bad(e.to_string())).ok();
        let priority = cells[c_prio].trim().parse::<Priority>().map_err(|e| bad(e.to_string())).ok();
        let task = take_value(&mut cells, Some(c_task));
        if task.is_none() {
            bad("the task is empty".to_string());
        }
        let mut time = |i: Option<usize>, name: &str| {
            let v = dash_none(i.map_or("", |i| cells[i].as_str()))?;
            parse_display_time(v, tz).map_err(|e| bad(format!("{name}: {e}"))).ok()
        };
        let started_at = time(c_started, "started_at_kst");
        let due_at = time(c_due, "due_at_kst");
        let (Some(status), Some(priority), Some(task)) = (status, priority, task) else { continue };
        out.push(RowTask {
            line,
            id: take_value(&mut cells, Some(c_id)).unwrap_or_default(),
            status,
            priority,
            task,
            success_criteria: take_value(&mut cells, c_criteria),
            owner: take_value(&mut cells, c_owner),
            started_at,
            due_at,
            notes: take_value(&mut cells, c_notes),
            extra: extra_cols.iter().map(|(i, name)| ((*name).clone(), std::mem::take(&mut cells[*i]))).collect(),
            shown,
            raw,
            eol,
        });
    }
    diags.sort_by_key(|d| d.line);
    if diags.is_empty() { Ok(out) } else { Err(diags) }
}

/// Moves a cell's value out (none for `-` or blank), reusing its text when it is trimmed.
fn take_value(cells: &mut [String], i: Option<usize>) -> Option<String> {
    let cell = std::mem::take(&mut cells[i?]);
    match dash_none(&cell) {
        Some(v) if v.len() == cell.len() => Some(cell),
        v => v.map(str::to_string),
    }
}

/// The task's values for `columns`, `-` where there is none.
pub fn task_cells(task: &Task, columns: &[String], tz: &TimeZone) -> Vec<String> {
    let opt = |v: &Option<String>| v.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| "-".into());
    let time = |v: Option<Timestamp>| v.map_or_else(|| "-".into(), |t| format_display_time(t, tz));
    columns
        .iter()
        .map(|c| match c.as_str() {
            "id" => task.id.clone(),
            "status" => task.status.to_string(),
            "priority" => task.priority.to_string(),
            "task" => task.task.clone(),
            "success_criteria" => opt(&task.success_criteria),
            "owner_session" => opt(&task.owner),
            "started_at_kst" => time(task.started_at),
            "due_at_kst" => time(task.due_at),
            "notes" => opt(&task.notes),
            other => task
                .extra
                .iter()
                .find(|(k, _)| k == other)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "-".into()),
        })
        .collect()
}

/// Which tasks the view shows: every task that is not DONE, plus the `done_kept` DONE
/// tasks finished last. `tasks` come in file order and the result keeps it.
pub fn view_selection(tasks: &[Task], done_kept: usize, all: bool) -> Vec<bool> {
    if all {
        return vec![true; tasks.len()];
    }
    let mut done: Vec<usize> = (0..tasks.len()).filter(|&i| tasks[i].status == Status::Done).collect();
    done.sort_by_key(|&i| std::cmp::Reverse((tasks[i].updated_at, i)));
    let mut keep: Vec<bool> = tasks.iter().map(|t| t.status != Status::Done).collect();
    for &i in done.iter().take(done_kept) {
        keep[i] = true;
    }
    keep
}

#[cfg(test)]
#[path = "task_row_tests.rs"]
mod tests;
