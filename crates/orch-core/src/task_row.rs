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

use crate::policy::pick_order;
use crate::queue_md::{Diagnostic, decode_cell, encode_cell};
use crate::task::{COLUMN_NOT_BEFORE, Priority, Status, Task};
use crate::time::format_display_time;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::borrow::Cow;

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
    /// The extra column `not_before` ([`COLUMN_NOT_BEFORE`]), read as a time.
    pub not_before: bool,
}

impl Shown {
    /// Every canonical column.
    pub const ALL: Shown =
        Shown { success_criteria: true, owner: true, started_at: true, due_at: true, notes: true, not_before: false };
}

/// A task as one row of the file describes it. Its text borrows from what it was read
/// from where it can (a value decoding changes is its own): reading 10,000 rows copies
/// no text that nobody keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowTask<'a> {
    pub line: usize,
    pub id: Cow<'a, str>,
    pub status: Status,
    pub priority: Priority,
    pub task: Cow<'a, str>,
    pub success_criteria: Option<Cow<'a, str>>,
    pub owner: Option<Cow<'a, str>>,
    pub started_at: Option<Timestamp>,
    pub due_at: Option<Timestamp>,
    pub notes: Option<Cow<'a, str>>,
    /// The `not_before` column's time, when the file has the column.
    pub not_before: Option<Timestamp>,
    /// Values of the file's extra columns, by column name, in file order.
    pub extra: Vec<(String, String)>,
    /// The optional columns the file has.
    pub shown: Shown,
    /// The line exactly as read, and its ending.
    pub raw: Cow<'a, str>,
    pub eol: Cow<'a, str>,
}

/// One column's values in a row (or its task), for comparing and merging field by field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Value<'a> {
    Status(Status),
    Priority(Priority),
    Text(Option<&'a str>),
    Time(Option<Timestamp>),
}

impl RowTask<'_> {
    /// The row with text of its own, borrowing nothing.
    pub fn into_owned(self) -> RowTask<'static> {
        let own = |v: Option<Cow<'_, str>>| v.map(|v| Cow::Owned(v.into_owned()));
        RowTask {
            line: self.line,
            id: Cow::Owned(self.id.into_owned()),
            status: self.status,
            priority: self.priority,
            task: Cow::Owned(self.task.into_owned()),
            success_criteria: own(self.success_criteria),
            owner: own(self.owner),
            started_at: self.started_at,
            due_at: self.due_at,
            notes: own(self.notes),
            not_before: self.not_before,
            extra: self.extra,
            shown: self.shown,
            raw: Cow::Owned(self.raw.into_owned()),
            eol: Cow::Owned(self.eol.into_owned()),
        }
    }

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
    pub fn merge(&self, base: &RowTask<'_>, task: &Task) -> Merged {
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

    /// How many columns of this row hold another value than in `other`, a row of the
    /// same file (`id` aside): how far a person's row is from a line the view showed.
    pub fn differing(&self, other: &RowTask<'_>) -> usize {
        let theirs: Vec<_> = other.fields().collect();
        self.fields().filter(|(name, mine)| !theirs.iter().any(|(n, v)| n == name && v == mine)).count()
    }

    /// Whether this row says what `other` (a row of this file or of another) says: the
    /// same id, the same columns and the same value in each. How a cell is spaced and
    /// padded, and a spelling the reader takes as the same value (`p1` for `P1`, `-` or
    /// a blank cell for none), are formatting.
    pub fn same_values(&self, other: &RowTask<'_>) -> bool {
        self.id == other.id && self.differing(other) == 0 && other.differing(self) == 0
    }

    /// (column name, value) for every column the file has, `id` aside.
    fn fields(&self) -> impl Iterator<Item = (&str, Value<'_>)> {
        let s = self.shown;
        let canonical = [
            (true, "status", Value::Status(self.status)),
            (true, "priority", Value::Priority(self.priority)),
            (true, "task", Value::Text(Some(&*self.task))),
            (s.success_criteria, "success_criteria", Value::Text(self.success_criteria.as_deref())),
            (s.owner, "owner_session", Value::Text(self.owner.as_deref())),
            (s.started_at, "started_at_kst", Value::Time(self.started_at)),
            (s.due_at, "due_at_kst", Value::Time(self.due_at)),
            (s.notes, "notes", Value::Text(self.notes.as_deref())),
            (s.not_before, COLUMN_NOT_BEFORE, Value::Time(self.not_before)),
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
        COLUMN_NOT_BEFORE => Value::Time(task.not_before),
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
        (COLUMN_NOT_BEFORE, Value::Time(t)) => task.not_before = t,
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
            COLUMN_NOT_BEFORE => time(task.not_before),
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

/// Which tasks the view shows: every IN_PROGRESS task; the other open tasks (PENDING,
/// FAILED, BLOCKED) first in pick order ([`pick_order`], ties in file order) until
/// `open_kept` open rows are shown, or all of them when `None`; plus the `done_kept`
/// DONE tasks finished last. `tasks` come in file order and the result keeps it.
pub fn view_selection(tasks: &[Task], open_kept: Option<usize>, done_kept: usize, all: bool) -> Vec<bool> {
    if all {
        return vec![true; tasks.len()];
    }
    let mut keep: Vec<bool> = tasks.iter().map(|t| t.status == Status::InProgress).collect();
    let mut waiting: Vec<usize> =
        (0..tasks.len()).filter(|&i| !matches!(tasks[i].status, Status::Done | Status::InProgress)).collect();
    waiting.sort_by(|&a, &b| pick_order(&tasks[a], &tasks[b]).then(a.cmp(&b)));
    let running = keep.iter().filter(|k| **k).count();
    let room = open_kept.map_or(usize::MAX, |n| n.saturating_sub(running));
    for &i in waiting.iter().take(room) {
        keep[i] = true;
    }
    let mut done: Vec<usize> = (0..tasks.len()).filter(|&i| tasks[i].status == Status::Done).collect();
    done.sort_by_key(|&i| std::cmp::Reverse((tasks[i].updated_at, i)));
    for &i in done.iter().take(done_kept) {
        keep[i] = true;
    }
    keep
}

/// Whether two queue files say the same once formatting is set aside: the same frame
/// ([`crate::queue_md::Document::same_frame`]) and the same rows in the same order,
/// each with the same values ([`RowTask::same_values`]). `Err` holds the problems of the first file that
/// does not read as a queue.
pub fn same_content(a: &str, b: &str, tz: &TimeZone) -> Result<bool, Vec<Diagnostic>> {
    let (doc_a, rows_a) = read_file(a, tz)?;
    let (doc_b, rows_b) = read_file(b, tz)?;
    Ok(doc_a.same_frame(&doc_b)
        && rows_a.len() == rows_b.len()
        && rows_a.iter().zip(&rows_b).all(|(x, y)| x.same_values(y)))
}

#[path = "task_row_read.rs"]
mod read;
pub use read::{read_file, read_rows};

#[cfg(test)]
#[path = "task_row_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "task_row_format_tests.rs"]
mod format_tests;
