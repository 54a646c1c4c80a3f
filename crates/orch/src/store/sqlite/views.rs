//! The SQLite side of the views: the rows a QUEUE.md view shows, read without the DONE
//! history, and each view's marks, hash and frame (tables `view_rows` and `views`).

use super::rows::{TASK_COLS, task_from_row};
use crate::store::{Result, ViewInfo, ViewMark};
use orch_core::task::Task;
use rusqlite::{OptionalExtension, Transaction, params};
use std::collections::HashMap;

/// The view's rows: the tasks that are not DONE (index `tasks_status`) and the newest
/// `done_kept` DONE ones (the partial index `tasks_done`, read from its end), joined with
/// their marks, in queue order. The DONE history is never scanned. The row numbers are
/// gathered first (`seq IN (…)`, a sorted list) and the rows read in that order by key,
/// so no wide row is ever sorted.
pub(super) fn rows_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let cols = TASK_COLS.split(", ").map(|c| format!("t.{c}")).collect::<Vec<_>>().join(", ");
        format!(
            "SELECT {cols}, m.md_version, m.md_line, m.md_eol FROM tasks t \
             LEFT JOIN view_rows m ON m.view = ?1 AND m.task_id = t.id \
             WHERE t.seq IN ( \
               SELECT seq FROM tasks WHERE status IN ('PENDING', 'IN_PROGRESS', 'FAILED', 'BLOCKED') \
               UNION ALL \
               SELECT seq FROM (SELECT seq FROM tasks INDEXED BY tasks_done WHERE status = 'DONE' \
                                ORDER BY updated_at DESC, seq DESC LIMIT ?2)) \
             ORDER BY t.seq"
        )
    })
}

pub(super) fn rows(tx: &Transaction<'_>, view: &str, done_kept: usize) -> Result<Vec<(Task, Option<ViewMark>)>> {
    let mut stmt = tx.prepare_cached(rows_sql())?;
    let kept = i64::try_from(done_kept).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![view, kept], |r| {
        let mark = match r.get::<_, Option<String>>(23)? {
            Some(line) => Some(ViewMark { version: r.get(22)?, line, eol: r.get(24)? }),
            None => None,
        };
        Ok((task_from_row(r)?, mark))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn marks(tx: &Transaction<'_>, view: &str) -> Result<HashMap<String, ViewMark>> {
    let mut stmt = tx.prepare_cached("SELECT task_id, md_version, md_line, md_eol FROM view_rows WHERE view = ?1")?;
    let rows = stmt.query_map([view], |r| {
        Ok((r.get::<_, String>(0)?, ViewMark { version: r.get(1)?, line: r.get(2)?, eol: r.get(3)? }))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn mark_set(tx: &Transaction<'_>, view: &str, task_id: &str, m: &ViewMark) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO view_rows (view, task_id, md_version, md_line, md_eol) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (view, task_id) DO UPDATE SET md_version = ?3, md_line = ?4, md_eol = ?5",
    )?
    .execute(params![view, task_id, m.version, m.line, m.eol])?;
    Ok(())
}

pub(super) fn get(tx: &Transaction<'_>, view: &str) -> Result<Option<ViewInfo>> {
    Ok(tx
        .prepare_cached("SELECT hash, frame FROM views WHERE view = ?1")?
        .query_row([view], |r| Ok(ViewInfo { hash: r.get(0)?, frame: r.get(1)? }))
        .optional()?)
}

pub(super) fn set_hash(tx: &Transaction<'_>, view: &str, hash: &str) -> Result<()> {
    tx.prepare_cached("INSERT INTO views (view, hash) VALUES (?1, ?2) ON CONFLICT (view) DO UPDATE SET hash = ?2")?
        .execute([view, hash])?;
    Ok(())
}

pub(super) fn set_frame(tx: &Transaction<'_>, view: &str, frame: &str) -> Result<()> {
    tx.prepare_cached("INSERT INTO views (view, frame) VALUES (?1, ?2) ON CONFLICT (view) DO UPDATE SET frame = ?2")?
        .execute([view, frame])?;
    Ok(())
}

pub(super) fn all(tx: &Transaction<'_>) -> Result<Vec<(String, ViewInfo)>> {
    let mut stmt = tx.prepare_cached(
        "SELECT v.view, w.hash, w.frame FROM (SELECT view FROM views UNION SELECT view FROM view_rows) v \
         LEFT JOIN views w ON w.view = v.view ORDER BY v.view",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, ViewInfo { hash: r.get(1)?, frame: r.get(2)? })))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn rename(tx: &Transaction<'_>, from: &str, to: &str) -> Result<()> {
    tx.prepare_cached("UPDATE views SET view = ?2 WHERE view = ?1")?.execute([from, to])?;
    tx.prepare_cached("UPDATE view_rows SET view = ?2 WHERE view = ?1")?.execute([from, to])?;
    Ok(())
}

#[cfg(test)]
mod plan_tests {
    //! The view's rows must come from the indexes, not from a scan of every task.

    use rusqlite::Connection;

    #[test]
    fn the_view_reads_open_tasks_and_the_newest_done_through_indexes() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap().unwrap();
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {}", super::rows_sql())).unwrap();
        let plan: Vec<String> = stmt
            .query_map(rusqlite::params!["v", 50], |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let plan = plan.join("\n");
        assert!(plan.contains("INDEX tasks_done"), "{plan}");
        assert!(plan.contains("SEARCH tasks USING COVERING INDEX tasks_status"), "{plan}");
        assert!(plan.contains("SEARCH t USING INTEGER PRIMARY KEY"), "{plan}");
        // The tasks table is only ever looked up by key, never walked, and nothing is
        // sorted: the row numbers come in order.
        let walks = |l: &&str| (l.starts_with("SCAN tasks") || l.starts_with("SCAN t")) && !l.contains("INDEX");
        assert!(!plan.lines().any(|l| walks(&l)), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}
