//! The SQLite side of a view's history (table `view_history`): the lines a view showed
//! of a task before the one its mark holds, kept when a mark moves on to another line,
//! at most [`VIEW_HISTORY_KEPT`] per task and view; a row with version -1 says older
//! ones were dropped.

use crate::{Result, VIEW_HISTORY_KEPT, ViewHistory, line_key};
use rusqlite::{OptionalExtension, Transaction, params};

/// What a mark's change leaves in the history, before the mark is written: a line the
/// mark held and no longer will is kept; a mark emptied (forgotten) forgets the lines
/// before it too. Costs nothing more while the mark's line stays as it was.
pub(super) fn before_mark(tx: &Transaction<'_>, view: &str, task_id: &str, line: &str) -> Result<()> {
    if line.is_empty() {
        tx.prepare_cached("DELETE FROM view_history WHERE view = ?1 AND task_id = ?2")?.execute([view, task_id])?;
        return Ok(());
    }
    let old: Option<(i64, String)> = tx
        .prepare_cached("SELECT md_version, md_line FROM view_rows WHERE view = ?1 AND task_id = ?2")?
        .query_row([view, task_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((version, old)) = old.filter(|(_, old)| !old.is_empty() && old != line) else { return Ok(()) };
    tx.prepare_cached(
        "INSERT INTO view_history (view, task_id, line_key, version, line) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (view, task_id, line_key) DO UPDATE SET version = max(version, excluded.version)",
    )?
    .execute(params![view, task_id, line_key(&old), version, old])?;
    let dropped = tx
        .prepare_cached(&format!(
            "DELETE FROM view_history WHERE view = ?1 AND task_id = ?2 AND version >= 0 AND version < \
             (SELECT version FROM view_history WHERE view = ?1 AND task_id = ?2 AND version >= 0 \
              ORDER BY version DESC LIMIT 1 OFFSET {})",
            VIEW_HISTORY_KEPT - 1
        ))?
        .execute([view, task_id])?;
    if dropped > 0 {
        tx.prepare_cached(
            "INSERT INTO view_history (view, task_id, line_key, version, line) VALUES (?1, ?2, 0, -1, '') \
             ON CONFLICT DO NOTHING",
        )?
        .execute([view, task_id])?;
    }
    Ok(())
}

pub(super) fn history(tx: &Transaction<'_>, view: &str, task_id: &str) -> Result<ViewHistory> {
    let mut stmt = tx.prepare_cached(
        "SELECT version, line FROM view_history WHERE view = ?1 AND task_id = ?2 ORDER BY version DESC",
    )?;
    let mut rows = stmt.query([view, task_id])?;
    let mut out = ViewHistory::default();
    while let Some(r) = rows.next()? {
        let version: i64 = r.get(0)?;
        if version < 0 {
            out.forgotten = true;
        } else {
            out.lines.push((version, r.get(1)?));
        }
    }
    Ok(out)
}
