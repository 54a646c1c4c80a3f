//! The SQLite side of the views: the rows a QUEUE.md view shows, read without the DONE
//! history, and each view's marks, hash and frame (tables `view_rows` and `views`).

use super::rows::{TASK_COLS, task_from_row};
use crate::{Result, ViewInfo, ViewKept, ViewMark, ViewRow};
use orch_core::task::Task;
use rusqlite::types::ValueRef;
use rusqlite::{OptionalExtension, Transaction, params};
use rustc_hash::FxHashMap;
use std::collections::HashMap;

/// The row numbers of the view's tasks: the open ones ([`open_seqs_sql`]) and the
/// newest `kept.done` DONE ones (the partial index `tasks_done`, read from its end).
/// The DONE history is never scanned. The limits are part of the text, not
/// parameters: a bound limit has SQLite prepare the statement again at every use.
fn seqs_sql(kept: ViewKept) -> String {
    let done = i64::try_from(kept.done).unwrap_or(i64::MAX);
    format!(
        "{} \
         UNION ALL \
         SELECT seq FROM (SELECT seq FROM tasks INDEXED BY tasks_done WHERE status = 'DONE' \
                          ORDER BY updated_at DESC, seq DESC LIMIT {done})",
        open_seqs_sql(kept.open)
    )
}

/// The row numbers of the open tasks the view shows: all of them (index `tasks_status`),
/// or, bounded by `open`, every IN_PROGRESS one (the partial index `tasks_lease`) and the
/// first of the others in pick order until `open` rows are shown. Those come from the
/// head of the partial index `tasks_claim` (PENDING and FAILED, already in pick order)
/// and of the BLOCKED ones (index `tasks_status`, ordered within a priority), at most
/// `open` of each, merged: the rows read follow the bound, not the queue.
fn open_seqs_sql(open: Option<usize>) -> String {
    let Some(open) = open else {
        return "SELECT seq FROM tasks WHERE status IN ('PENDING', 'IN_PROGRESS', 'FAILED', 'BLOCKED')".to_string();
    };
    let k = i64::try_from(open).unwrap_or(i64::MAX);
    let head = |from: &str, status: &str| {
        format!(
            "SELECT seq, priority, nd, due_at, num FROM \
             (SELECT seq, priority, due_at IS NULL AS nd, due_at, num FROM tasks {from} WHERE {status} \
              ORDER BY priority, due_at IS NULL, due_at, num, seq LIMIT {k})"
        )
    };
    format!(
        "SELECT seq FROM tasks INDEXED BY tasks_lease WHERE status = 'IN_PROGRESS' \
         UNION ALL \
         SELECT seq FROM ({} UNION ALL {} ORDER BY priority, nd, due_at, num, seq \
           LIMIT max(0, {k} - (SELECT count(*) FROM tasks INDEXED BY tasks_lease WHERE status = 'IN_PROGRESS')))",
        head("INDEXED BY tasks_claim", "status IN ('PENDING', 'FAILED')"),
        head("INDEXED BY tasks_status", "status = 'BLOCKED'"),
    )
}

/// The view's rows joined with their marks, in queue order. The row numbers are
/// gathered first ([`seqs_sql`], a sorted list) and the rows read in that order by key,
/// so no wide row is ever sorted.
pub(super) fn rows_sql(kept: ViewKept) -> String {
    static COLS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let cols = COLS.get_or_init(|| TASK_COLS.split(", ").map(|c| format!("t.{c}")).collect::<Vec<_>>().join(", "));
    format!(
        "SELECT {cols}, m.md_version, m.md_line, m.md_eol FROM tasks t \
         LEFT JOIN view_rows m ON m.view = ?1 AND m.task_id = t.id \
         WHERE t.seq IN ({}) ORDER BY t.seq",
        seqs_sql(kept)
    )
}

/// How the view's tasks are read: by key ([`seqs_sql`]), or, in a queue with at most
/// twice as many tasks as the view shows, by a plain scan in key order ([`scan`]) of
/// every task, or of those not DONE and the DONE ones at or after `edge`.
enum Reading {
    ByKey,
    Scan { edge: Option<(i64, i64)>, shown: usize },
}

/// Hands `f` the columns `cols` of the tasks of a scan, in key order: every task, or
/// those not DONE and the DONE ones at or after `edge` (by `updated_at`, then `seq`).
fn scan(
    tx: &Transaction<'_>,
    cols: &str,
    edge: Option<(i64, i64)>,
    mut f: impl FnMut(&rusqlite::Row<'_>) -> Result<()>,
) -> Result<()> {
    let mut stmt;
    let mut rows = match edge {
        None => {
            stmt = tx.prepare_cached(&format!("SELECT {cols} FROM tasks NOT INDEXED ORDER BY seq"))?;
            stmt.query([])?
        }
        Some((at, seq)) => {
            stmt = tx.prepare_cached(&format!(
                "SELECT {cols} FROM tasks NOT INDEXED \
                 WHERE status <> 'DONE' OR updated_at > ?1 OR (updated_at = ?1 AND seq >= ?2) ORDER BY seq"
            ))?;
            stmt.query(params![at, seq])?
        }
    };
    while let Some(r) = rows.next()? {
        f(r)?;
    }
    Ok(())
}

fn reading(tx: &Transaction<'_>, kept: ViewKept) -> Result<Reading> {
    let count = |sql: &str| -> Result<i64> { Ok(tx.prepare_cached(sql)?.query_row([], |r| r.get(0))?) };
    let done_kept = i64::try_from(kept.done).unwrap_or(i64::MAX);
    if let Some(open) = kept.open {
        // Bounded: a queue longer than twice the most the view shows is read by key,
        // known without counting every task.
        let cap = i64::try_from(open).unwrap_or(i64::MAX).saturating_add(done_kept).saturating_mul(2);
        let within = count(&format!("SELECT count(*) FROM (SELECT 1 FROM tasks LIMIT {})", cap.saturating_add(1)))?;
        if within > cap {
            return Ok(Reading::ByKey);
        }
    }
    let (total, done): (i64, i64) = tx
        .prepare_cached(
            "SELECT (SELECT count(*) FROM tasks), \
                    (SELECT count(*) FROM tasks INDEXED BY tasks_done WHERE status = 'DONE')",
        )?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    if let Some(open) = kept.open {
        // A scan cannot choose by pick order: only a view that hides no open task scans.
        let running = count("SELECT count(*) FROM tasks INDEXED BY tasks_lease WHERE status = 'IN_PROGRESS'")?;
        let open = i64::try_from(open).unwrap_or(i64::MAX);
        if total - done > open.max(running) {
            return Ok(Reading::ByKey);
        }
    }
    let shown = total - done + done.min(done_kept);
    if total > shown.saturating_mul(2) {
        return Ok(Reading::ByKey);
    }
    // The oldest DONE task the view keeps, when it does not keep them all: the DONE
    // ones at or after it are the newest `done_kept`.
    let edge = if done <= done_kept {
        None
    } else if done_kept == 0 {
        Some((i64::MAX, i64::MAX))
    } else {
        let sql = format!(
            "SELECT updated_at, seq FROM tasks INDEXED BY tasks_done WHERE status = 'DONE' \
             ORDER BY updated_at DESC, seq DESC LIMIT 1 OFFSET {}",
            done_kept - 1
        );
        Some(tx.prepare_cached(&sql)?.query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?)
    };
    Ok(Reading::Scan { edge, shown: usize::try_from(shown).unwrap_or(0) })
}

/// The ids and versions of the view's tasks, in queue order.
pub(super) fn versions(tx: &Transaction<'_>, kept: ViewKept) -> Result<Vec<(String, i64)>> {
    let mut out = Vec::new();
    let pair = |r: &rusqlite::Row<'_>| -> rusqlite::Result<(String, i64)> { Ok((r.get(0)?, r.get(1)?)) };
    match reading(tx, kept)? {
        Reading::ByKey => {
            let sql = format!("SELECT id, version FROM tasks WHERE seq IN ({}) ORDER BY seq", seqs_sql(kept));
            for r in tx.prepare_cached(&sql)?.query_map([], pair)? {
                out.push(r?);
            }
        }
        Reading::Scan { edge, shown } => {
            out.reserve(shown);
            scan(tx, "id, version", edge, |r| {
                out.push(pair(r)?);
                Ok(())
            })?;
        }
    }
    Ok(out)
}

/// The columns of a row of [`rows_sql`] after the task's.
const MD_VERSION: usize = 23;
const MD_LINE: usize = 24;
const MD_EOL: usize = 25;
/// The task's `version` in [`TASK_COLS`], and `seq` after them.
const VERSION: usize = 21;
const SEQ: usize = 23;

fn mark_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<ViewMark>> {
    Ok(match r.get_ref(MD_LINE)? {
        ValueRef::Null => None,
        _ => Some(ViewMark { version: r.get(MD_VERSION)?, line: text(r, MD_LINE)?, eol: r.get(MD_EOL)? }),
    })
}

pub(super) fn rows(tx: &Transaction<'_>, view: &str, kept: ViewKept) -> Result<Vec<(Task, Option<ViewMark>)>> {
    let mut stmt = tx.prepare_cached(&rows_sql(kept))?;
    let rows = stmt.query_map([view], |r| Ok((task_from_row(r)?, mark_of(r)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The view's rows as the view writes them (see [`crate::Tx::view_lines`]): a
/// task's columns are read only when its mark does not show its current version.
///
/// Two ways to the same rows. A queue with at most twice as many tasks as the view
/// shows is read with two plain scans in key order — its tasks, and the view's marks —
/// joined by id in memory: no look-up per row. A queue with a longer DONE history takes
/// [`rows_sql`], whose cost follows the size of the view.
pub(super) fn lines(tx: &Transaction<'_>, view: &str, kept: ViewKept) -> Result<Vec<ViewRow>> {
    let Reading::Scan { edge, shown } = reading(tx, kept)? else {
        return joined(tx, view, kept);
    };
    let mut marks: FxHashMap<String, ViewMark> = FxHashMap::default();
    marks.reserve(shown);
    each_mark(tx, view, |id, mark| {
        marks.insert(id, mark);
    })?;
    // First each row's id and version: most are their marks again. The tasks that
    // changed since are read whole afterwards (by place: `seq`, and their marks); their
    // places hold an empty row until then.
    let mut out: Vec<ViewRow> = Vec::with_capacity(shown);
    let mut changed: Vec<(usize, i64, Option<ViewMark>)> = Vec::new();
    scan(tx, "seq, id, version", edge, |r| {
        let version: i64 = r.get(2)?;
        match marks.remove_entry(r.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?) {
            Some((id, mark)) if mark.version == version => out.push(ViewRow::Kept { id, mark }),
            entry => {
                changed.push((out.len(), r.get(0)?, entry.map(|(_, mark)| mark)));
                out.push(ViewRow::Kept { id: String::new(), mark: ViewMark::default() });
            }
        }
        Ok(())
    })?;
    if changed.len() * 8 > out.len() {
        // Many: one more scan, every column.
        let mut next = changed.into_iter().peekable();
        scan(tx, &format!("{TASK_COLS}, seq"), edge, |r| {
            let seq: i64 = r.get(SEQ)?;
            if let Some((i, _, mark)) = next.next_if(|(_, s, _)| *s == seq) {
                out[i] = ViewRow::Changed { task: Box::new(task_from_row(r)?), mark };
            }
            Ok(())
        })?;
    } else {
        let mut stmt = tx.prepare_cached(&format!("SELECT {TASK_COLS} FROM tasks WHERE seq = ?1"))?;
        for (i, seq, mark) in changed {
            out[i] = ViewRow::Changed { task: Box::new(stmt.query_row([seq], task_from_row)?), mark };
        }
    }
    // Both reads are in one transaction: every place held is filled.
    Ok(out)
}

/// [`lines`] through [`rows_sql`]: the view's rows looked up by key, each with its mark.
fn joined(tx: &Transaction<'_>, view: &str, kept: ViewKept) -> Result<Vec<ViewRow>> {
    let mut stmt = tx.prepare_cached(&rows_sql(kept))?;
    let rows = stmt.query_map([view], |r| {
        let version: i64 = r.get(VERSION)?;
        let shown: Option<i64> = r.get(MD_VERSION)?;
        if shown == Some(version) {
            let mark = ViewMark { version, line: text(r, MD_LINE)?, eol: r.get(MD_EOL)? };
            return Ok(ViewRow::Kept { id: r.get(0)?, mark });
        }
        Ok(ViewRow::Changed { task: Box::new(task_from_row(r)?), mark: mark_of(r)? })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A text column, checked as UTF-8 with vector instructions: a view's lines are most
/// of what it reads (10,000 rows of Korean text are megabytes).
fn text(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<String> {
    let bytes = r.get_ref(i)?.as_bytes()?;
    match simdutf8::basic::from_utf8(bytes) {
        Ok(s) => Ok(s.to_owned()),
        Err(_) => std::str::from_utf8(bytes).map(str::to_owned).map_err(|e| rusqlite::Error::Utf8Error(i, e)),
    }
}

pub(super) fn marks(tx: &Transaction<'_>, view: &str) -> Result<HashMap<String, ViewMark>> {
    let mut marks = HashMap::new();
    each_mark(tx, view, |id, mark| {
        marks.insert(id, mark);
    })?;
    Ok(marks)
}

/// Hands every mark of `view` to `f`, with its task's id.
fn each_mark(tx: &Transaction<'_>, view: &str, mut f: impl FnMut(String, ViewMark)) -> Result<()> {
    let mut stmt = tx.prepare_cached("SELECT task_id, md_version, md_line, md_eol FROM view_rows WHERE view = ?1")?;
    let mut rows = stmt.query([view])?;
    while let Some(r) = rows.next()? {
        f(r.get(0)?, ViewMark { version: r.get(1)?, line: text(r, 2)?, eol: r.get(3)? });
    }
    Ok(())
}

pub(super) fn mark(tx: &Transaction<'_>, view: &str, task_id: &str) -> Result<Option<ViewMark>> {
    Ok(tx
        .prepare_cached("SELECT md_version, md_line, md_eol FROM view_rows WHERE view = ?1 AND task_id = ?2")?
        .query_row([view, task_id], |r| Ok(ViewMark { version: r.get(0)?, line: r.get(1)?, eol: r.get(2)? }))
        .optional()?)
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
    tx.prepare_cached("UPDATE view_history SET view = ?2 WHERE view = ?1")?.execute([from, to])?;
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
        let mut stmt =
            conn.prepare(&format!("EXPLAIN QUERY PLAN {}", super::rows_sql(crate::ViewKept::all_open(50)))).unwrap();
        let plan: Vec<String> = stmt.query_map(["v"], |r| r.get::<_, String>(3)).unwrap().map(Result::unwrap).collect();
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

    #[test]
    fn a_bounded_view_reads_the_head_of_the_pick_order_never_every_open_task() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap().unwrap();
        let kept = crate::ViewKept { open: Some(300), done: 50 };
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {}", super::rows_sql(kept))).unwrap();
        let plan: Vec<String> = stmt.query_map(["v"], |r| r.get::<_, String>(3)).unwrap().map(Result::unwrap).collect();
        let plan = plan.join("\n");
        assert!(plan.contains("INDEX tasks_claim"), "{plan}");
        assert!(plan.contains("INDEX tasks_lease"), "{plan}");
        assert!(plan.contains("INDEX tasks_done"), "{plan}");
        assert!(plan.contains("SEARCH t USING INTEGER PRIMARY KEY"), "{plan}");
        let walks = |l: &&str| (l.starts_with("SCAN tasks") || l.starts_with("SCAN t")) && !l.contains("INDEX");
        assert!(!plan.lines().any(|l| walks(&l)), "{plan}");
    }
}
