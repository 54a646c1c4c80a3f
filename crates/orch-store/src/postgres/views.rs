//! The PostgreSQL side of the views: the rows a QUEUE.md view shows, read without the
//! DONE history, and each view's marks, hash and frame (tables `view_rows` and
//! `views`). Every host's QUEUE.md is its own view, so hosts sharing one database never
//! take each other's files for hand-edited ones.

use super::rows::{TASK_COLS, task_from_row};
use super::txn::PgTx;
use crate::{Result, ViewInfo, ViewKept, ViewMark, ViewRow};
use orch_core::task::Task;
use std::collections::HashMap;

/// The view's tasks: those that are not DONE and the newest `$1` DONE ones (the partial
/// index `tasks_done`).
const SHOWN: &str = "SELECT seq FROM tasks WHERE status IN ('PENDING', 'IN_PROGRESS', 'FAILED', 'BLOCKED') \
     UNION ALL \
     (SELECT seq FROM tasks WHERE status = 'DONE' ORDER BY updated_at DESC, seq DESC LIMIT $1)";

/// The tasks of a view bounded to `$3` open rows: every IN_PROGRESS one, the others
/// first in pick order until `$3` open rows are shown (the head of the partial index
/// `tasks_claim` for PENDING and FAILED, and of the BLOCKED ones, at most `$3` of each,
/// merged), and the newest `$1` DONE ones.
const SHOWN_BOUNDED: &str = "SELECT seq FROM tasks WHERE status = 'IN_PROGRESS' \
     UNION ALL \
     SELECT seq FROM ( \
       (SELECT seq, priority, due_at, num FROM tasks WHERE status IN ('PENDING', 'FAILED') \
        ORDER BY priority, due_at NULLS LAST, num, seq LIMIT $3) \
       UNION ALL \
       (SELECT seq, priority, due_at, num FROM tasks WHERE status = 'BLOCKED' \
        ORDER BY priority, due_at NULLS LAST, num, seq LIMIT $3) \
       ORDER BY priority, due_at NULLS LAST, num, seq \
       LIMIT GREATEST(0, $3 - (SELECT count(*) FROM tasks WHERE status = 'IN_PROGRESS'))) w \
     UNION ALL \
     (SELECT seq FROM tasks WHERE status = 'DONE' ORDER BY updated_at DESC, seq DESC LIMIT $1)";

/// The view's rows joined with their marks in view `$2`, in queue order.
fn rows_sql(bounded: bool) -> &'static str {
    static SQL: [std::sync::OnceLock<String>; 2] = [std::sync::OnceLock::new(), std::sync::OnceLock::new()];
    SQL[usize::from(bounded)].get_or_init(|| {
        let cols = TASK_COLS.split(", ").map(|c| format!("t.{c}")).collect::<Vec<_>>().join(", ");
        let shown = if bounded { SHOWN_BOUNDED } else { SHOWN };
        format!(
            "SELECT {cols}, m.md_version, m.md_line, m.md_eol FROM ({shown}) v JOIN tasks t ON t.seq = v.seq \
             LEFT JOIN view_rows m ON m.view = $2 AND m.task_id = t.id \
             ORDER BY t.seq"
        )
    })
}

/// The limits of a view's query: DONE rows kept, and open rows when bounded.
/// The task's `version` in [`TASK_COLS`], and the mark's columns after the task's.
const VERSION: usize = 21;
const MD_VERSION: usize = 23;
const MD_LINE: usize = 24;
const MD_EOL: usize = 25;

fn limits(kept: ViewKept) -> (i64, Option<i64>) {
    (i64::try_from(kept.done).unwrap_or(i64::MAX), kept.open.map(|n| i64::try_from(n).unwrap_or(i64::MAX)))
}

impl PgTx<'_> {
    /// The rows of the view's query, with its marks in `view`.
    fn view_query(&mut self, view: &str, kept: ViewKept) -> Result<Vec<postgres::Row>> {
        match limits(kept) {
            (done, None) => self.query(rows_sql(false), &[&done, &view]),
            (done, Some(open)) => self.query(rows_sql(true), &[&done, &view, &open]),
        }
    }

    pub(super) fn rows_of_view(&mut self, view: &str, kept: ViewKept) -> Result<Vec<(Task, Option<ViewMark>)>> {
        let rows = self.view_query(view, kept)?;
        rows.iter()
            .map(|r| {
                let line: Option<String> = r.get(MD_LINE);
                let mark = line.map(|line| ViewMark { version: r.get(MD_VERSION), line, eol: r.get(MD_EOL) });
                Ok((task_from_row(r)?, mark))
            })
            .collect()
    }

    /// [`PgTx::rows_of_view`] as the view writes them: the task's columns are decoded
    /// only for a row whose mark does not show its current version.
    pub(super) fn lines_of_view(&mut self, view: &str, kept: ViewKept) -> Result<Vec<ViewRow>> {
        let rows = self.view_query(view, kept)?;
        rows.iter()
            .map(|r| {
                let version: i64 = r.get(VERSION);
                let line: Option<String> = r.get(MD_LINE);
                let mark = line.map(|line| ViewMark { version: r.get(MD_VERSION), line, eol: r.get(MD_EOL) });
                Ok(match mark {
                    Some(mark) if mark.version == version => ViewRow::Kept { id: r.get(0), mark },
                    mark => ViewRow::Changed { task: Box::new(task_from_row(r)?), mark },
                })
            })
            .collect()
    }

    pub(super) fn versions_of_view(&mut self, kept: ViewKept) -> Result<Vec<(String, i64)>> {
        let select = |shown: &str| {
            format!("SELECT t.id, t.version FROM ({shown}) v JOIN tasks t ON t.seq = v.seq ORDER BY t.seq")
        };
        let rows = match limits(kept) {
            (done, None) => self.query(&select(SHOWN), &[&done])?,
            (done, Some(open)) => self.query(&select(&SHOWN_BOUNDED.replace("$3", "$2")), &[&done, &open])?,
        };
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    pub(super) fn mark_of_view(&mut self, view: &str, task_id: &str) -> Result<Option<ViewMark>> {
        let row = self.query_opt(
            "SELECT md_version, md_line, md_eol FROM view_rows WHERE view = $1 AND task_id = $2",
            &[&view, &task_id],
        )?;
        Ok(row.map(|r| ViewMark { version: r.get(0), line: r.get(1), eol: r.get(2) }))
    }

    pub(super) fn marks_of_view(&mut self, view: &str) -> Result<HashMap<String, ViewMark>> {
        let rows =
            self.query("SELECT task_id, md_version, md_line, md_eol FROM view_rows WHERE view = $1", &[&view])?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<_, String>(0), ViewMark { version: r.get(1), line: r.get(2), eol: r.get(3) }))
            .collect())
    }

    pub(super) fn set_mark(&mut self, view: &str, task_id: &str, m: &ViewMark) -> Result<()> {
        self.execute(
            "INSERT INTO view_rows (view, task_id, md_version, md_line, md_eol) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (view, task_id) DO UPDATE SET md_version = EXCLUDED.md_version, \
             md_line = EXCLUDED.md_line, md_eol = EXCLUDED.md_eol",
            &[&view, &task_id, &m.version, &m.line, &m.eol],
        )?;
        Ok(())
    }

    pub(super) fn view_info(&mut self, view: &str) -> Result<Option<ViewInfo>> {
        let row = self.query_opt("SELECT hash, frame FROM views WHERE view = $1", &[&view])?;
        Ok(row.map(|r| ViewInfo { hash: r.get(0), frame: r.get(1) }))
    }

    /// Sets `hash` or `frame` (the caller names one of the two) of a view.
    pub(super) fn set_view_field(&mut self, view: &str, field: &'static str, value: &str) -> Result<()> {
        let sql = format!(
            "INSERT INTO views (view, {field}) VALUES ($1, $2) ON CONFLICT (view) DO UPDATE SET {field} = EXCLUDED.{field}"
        );
        self.execute(&sql, &[&view, &value])?;
        Ok(())
    }

    pub(super) fn all_views(&mut self) -> Result<Vec<(String, ViewInfo)>> {
        let rows = self.query(
            "SELECT v.view, w.hash, w.frame FROM (SELECT view FROM views UNION SELECT view FROM view_rows) v \
             LEFT JOIN views w ON w.view = v.view ORDER BY v.view",
            &[],
        )?;
        Ok(rows.iter().map(|r| (r.get(0), ViewInfo { hash: r.get(1), frame: r.get(2) })).collect())
    }

    pub(super) fn rename_view(&mut self, from: &str, to: &str) -> Result<()> {
        self.execute("UPDATE views SET view = $2 WHERE view = $1", &[&from, &to])?;
        self.execute("UPDATE view_rows SET view = $2 WHERE view = $1", &[&from, &to])?;
        self.execute("UPDATE view_history SET view = $2 WHERE view = $1", &[&from, &to])?;
        Ok(())
    }
}
