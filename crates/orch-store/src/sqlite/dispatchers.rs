//! Dispatchers in SQLite (the columns are `crate::dispatchers`').

use super::txn::SqliteTx;
use crate::Result;
use crate::dispatchers::{DISPATCHER_COLS, DISPATCHER_UPSERT, DISPATCHERS_SQL, DispatcherRecord, binds, dispatcher};
use jiff::Timestamp;
use rusqlite::params;

impl SqliteTx<'_> {
    pub(super) fn dispatcher_write(&mut self, d: &DispatcherRecord) -> Result<()> {
        let (started, seen, stopped) = binds(d);
        let sql =
            format!("INSERT INTO dispatchers ({DISPATCHER_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6) {DISPATCHER_UPSERT}");
        self.tx.prepare_cached(&sql)?.execute(params![d.id, d.host, d.pid, started, seen, stopped])?;
        Ok(())
    }

    pub(super) fn dispatcher_list(&mut self) -> Result<Vec<DispatcherRecord>> {
        let mut stmt = self.tx.prepare_cached(DISPATCHERS_SQL)?;
        let rows = stmt.query_map([], |r| dispatcher(r))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub(super) fn dispatcher_prune(&mut self, unseen_before: Timestamp) -> Result<u64> {
        let n = self
            .tx
            .prepare_cached("DELETE FROM dispatchers WHERE seen_at < ?1")?
            .execute([unseen_before.as_millisecond()])?;
        Ok(n as u64)
    }
}
