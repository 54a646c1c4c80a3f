//! Between QUEUE.md rows and tasks: reading a parsed table into row tasks (with every
//! problem reported by line), writing a task's cells for a table's columns, and choosing
//! which tasks the view shows.

use crate::id::parse_id;
use crate::queue_md::{Diagnostic, Document};
use crate::task::{Priority, Status, Task};
use crate::time::{format_display_time, parse_display_time};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::collections::HashSet;

/// The canonical columns, in the seed's order.
pub const CANONICAL_COLUMNS: [&str; 9] =
    ["id", "status", "priority", "task", "success_criteria", "owner_session", "started_at_kst", "due_at_kst", "notes"];

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
    pub extra: Vec<(String, String)>,
    /// The line exactly as read, and its ending.
    pub raw: String,
    pub eol: String,
}

impl RowTask {
    /// Whether `task` already says what this row says (so the row is no edit).
    pub fn matches(&self, task: &Task) -> bool {
        self.id == task.id
            && self.status == task.status
            && self.priority == task.priority
            && self.task == task.task
            && self.success_criteria == task.success_criteria
            && self.owner == task.owner
            && same_minute(self.started_at, task.started_at)
            && same_minute(self.due_at, task.due_at)
            && self.notes == task.notes
            && self.extra.iter().all(|(k, v)| task.extra.iter().any(|(k2, v2)| k == k2 && v == v2))
    }
}

/// The file shows minutes; instants that agree to the minute are the same to it.
fn same_minute(a: Option<Timestamp>, b: Option<Timestamp>) -> bool {
    let m = |t: Option<Timestamp>| t.map(|t| t.as_second().div_euclid(60));
    m(a) == m(b)
}

fn none_if_dash(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty() && v != "-").then(|| v.to_string())
}

/// Reads every row of `doc` as a task; all problems are returned, each with its line.
pub fn read_rows(doc: &Document, tz: &TimeZone) -> Result<Vec<RowTask>, Vec<Diagnostic>> {
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
    let mut seen: HashSet<&str> = HashSet::new();
    let mut out = Vec::with_capacity(doc.rows.len());
    for row in &doc.rows {
        let line = row.line;
        let mut bad = |message: String| diags.push(Diagnostic { line, message });
        let cell = |i: Option<usize>| i.map_or("", |i| row.cells[i].as_str());
        let id = cell(Some(c_id)).trim();
        if parse_id(id).is_none() {
            bad(format!("bad id `{id}` (expected PREFIX-NNN, like ORCH-001)"));
        } else if !seen.insert(id) {
            bad(format!("duplicate id `{id}`"));
        }
        let status = cell(Some(c_status)).trim().parse::<Status>().map_err(|e| bad(e.to_string())).ok();
        let priority = cell(Some(c_prio)).trim().parse::<Priority>().map_err(|e| bad(e.to_string())).ok();
        let task = none_if_dash(cell(Some(c_task)));
        if task.is_none() {
            bad("the task is empty".to_string());
        }
        let mut time = |name: &str| {
            let v = none_if_dash(cell(col(name)))?;
            parse_display_time(&v, tz).map_err(|e| bad(format!("{name}: {e}"))).ok()
        };
        let started_at = time("started_at_kst");
        let due_at = time("due_at_kst");
        let (Some(status), Some(priority), Some(task)) = (status, priority, task) else { continue };
        out.push(RowTask {
            line,
            id: id.to_string(),
            status,
            priority,
            task,
            success_criteria: none_if_dash(cell(col("success_criteria"))),
            owner: none_if_dash(cell(col("owner_session"))),
            started_at,
            due_at,
            notes: none_if_dash(cell(col("notes"))),
            extra: extra_cols.iter().map(|(i, name)| ((*name).clone(), row.cells[*i].clone())).collect(),
            raw: row.raw.clone(),
            eol: row.eol.clone(),
        });
    }
    if diags.is_empty() { Ok(out) } else { Err(diags) }
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
mod tests {
    use super::*;
    use crate::queue_md::parse;

    const SEED: &str = include_str!("../../../tests/fixtures/seed_queue.md");

    fn seoul() -> TimeZone {
        TimeZone::get("Asia/Seoul").unwrap()
    }

    #[test]
    fn the_seed_reads_as_26_tasks() {
        let doc = parse(SEED).unwrap();
        let rows = read_rows(&doc, &seoul()).unwrap();
        assert_eq!(rows.len(), 26);
        let done = rows.iter().filter(|r| r.status == Status::Done).count();
        let blocked = rows.iter().filter(|r| r.status == Status::Blocked).count();
        assert_eq!((done, blocked), (23, 3));
        let r19 = rows.iter().find(|r| r.id == "ORCH-019").unwrap();
        assert!(r19.task.starts_with("[쿠팡구매/safe] 생수 2L"));
        assert_eq!(rows[0].started_at.unwrap().to_string(), "2026-02-07T11:08:00Z");
        let r25 = rows.iter().find(|r| r.id == "ORCH-025").unwrap();
        assert_eq!((r25.owner.as_deref(), r25.started_at), (None, None));
    }

    #[test]
    fn cells_of_an_unchanged_seed_task_are_its_row() {
        let doc = parse(SEED).unwrap();
        let rows = read_rows(&doc, &seoul()).unwrap();
        for r in &rows {
            let mut t = Task::new(r.id.clone(), r.task.clone(), r.priority, 4, Timestamp::UNIX_EPOCH);
            t.status = r.status;
            t.success_criteria = r.success_criteria.clone();
            t.owner = r.owner.clone();
            t.started_at = r.started_at;
            t.due_at = r.due_at;
            t.notes = r.notes.clone();
            assert!(r.matches(&t));
            let cells = task_cells(&t, &doc.columns, &seoul());
            assert_eq!(crate::queue_md::render_row(&cells), r.raw, "line {}", r.line);
        }
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let text = "| id | status | priority | task | started_at_kst |\n|---|---|---|---|---|\n\
                    | ORCH-001 | DOING | P1 | a | - |\n\
                    | ORCH-002 | DONE | P9 | b | - |\n\
                    | ORCH-002 | DONE | P1 | c | - |\n\
                    | ORCH-004 | DONE | P1 | d | 2026-02-30 10:00 |\n\
                    | X | DONE | P1 | - | - |\n";
        let doc = parse(text).unwrap();
        let diags = read_rows(&doc, &seoul()).unwrap_err();
        let lines: Vec<usize> = diags.iter().map(|d| d.line).collect();
        assert_eq!(lines, [3, 4, 5, 6, 7, 7]);
        assert!(diags[0].message.contains("unknown status `DOING`"));
        assert!(diags[1].message.contains("unknown priority `P9`"));
        assert!(diags[2].message.contains("duplicate id `ORCH-002`"));
        assert!(diags[3].message.contains("impossible time"));
    }

    #[test]
    fn the_view_keeps_open_tasks_and_the_newest_done() {
        let at = |s: i64| Timestamp::from_second(s).unwrap();
        let mk = |id: &str, st: Status, upd: i64| {
            let mut t = Task::new(id.into(), "x".into(), Priority::P1, 4, at(0));
            t.status = st;
            t.updated_at = at(upd);
            t
        };
        let tasks = vec![
            mk("A-001", Status::Done, 5),
            mk("A-002", Status::Pending, 1),
            mk("A-003", Status::Done, 9),
            mk("A-004", Status::Done, 7),
            mk("A-005", Status::Blocked, 1),
        ];
        assert_eq!(view_selection(&tasks, 2, false), [false, true, true, true, true]);
        assert_eq!(view_selection(&tasks, 0, false), [false, true, false, false, true]);
        assert_eq!(view_selection(&tasks, 0, true), [true; 5]);
    }
}
