//! The PostgreSQL side of a view's history (table `view_history`): the lines a view
//! showed of a task before the one its mark holds, kept when a mark moves on to another
//! line, at most [`VIEW_HISTORY_KEPT`] per task and view; a row with version -1 says
//! older ones were dropped.

use super::txn::PgTx;
use crate::{Result, VIEW_HISTORY_KEPT, ViewHistory, line_key};

impl PgTx<'_> {
    /// What a mark's change leaves in the history, before the mark is written: a line
    /// the mark held and no longer will is kept; a mark emptied (forgotten) forgets the
    /// lines before it too. Costs one look-up while the mark's line stays as it was.
    pub(super) fn history_before_mark(&mut self, view: &str, task_id: &str, line: &str) -> Result<()> {
        if line.is_empty() {
            self.execute("DELETE FROM view_history WHERE view = $1 AND task_id = $2", &[&view, &task_id])?;
            return Ok(());
        }
        let old = self.query_opt(
            "SELECT md_version, md_line FROM view_rows WHERE view = $1 AND task_id = $2",
            &[&view, &task_id],
        )?;
        let Some((version, old)) =
            old.map(|r| (r.get::<_, i64>(0), r.get::<_, String>(1))).filter(|(_, old)| !old.is_empty() && old != line)
        else {
            return Ok(());
        };
        self.execute(
            "INSERT INTO view_history (view, task_id, line_key, version, line) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (view, task_id, line_key) DO UPDATE \
             SET version = GREATEST(view_history.version, EXCLUDED.version)",
            &[&view, &task_id, &line_key(&old), &version, &old],
        )?;
        let keep = i64::try_from(VIEW_HISTORY_KEPT - 1).unwrap_or(i64::MAX);
        let dropped = self.execute(
            "DELETE FROM view_history WHERE view = $1 AND task_id = $2 AND version >= 0 AND version < \
             (SELECT version FROM view_history WHERE view = $1 AND task_id = $2 AND version >= 0 \
              ORDER BY version DESC LIMIT 1 OFFSET $3)",
            &[&view, &task_id, &keep],
        )?;
        if dropped > 0 {
            self.execute(
                "INSERT INTO view_history (view, task_id, line_key, version, line) VALUES ($1, $2, 0, -1, '') \
                 ON CONFLICT DO NOTHING",
                &[&view, &task_id],
            )?;
        }
        Ok(())
    }

    pub(super) fn history_of_view(&mut self, view: &str, task_id: &str) -> Result<ViewHistory> {
        let rows = self.query(
            "SELECT version, line FROM view_history WHERE view = $1 AND task_id = $2 ORDER BY version DESC",
            &[&view, &task_id],
        )?;
        let mut out = ViewHistory::default();
        for r in rows {
            let version: i64 = r.get(0);
            if version < 0 {
                out.forgotten = true;
            } else {
                out.lines.push((version, r.get(1)));
            }
        }
        Ok(out)
    }
}
