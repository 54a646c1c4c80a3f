//! Dispatchers in PostgreSQL (the columns are `crate::dispatchers`').

use super::txn::PgTx;
use crate::Result;
use crate::dispatchers::{DISPATCHER_COLS, DISPATCHER_UPSERT, DISPATCHERS_SQL, DispatcherRecord, binds, dispatcher};
use jiff::Timestamp;

impl PgTx<'_> {
    pub(super) fn dispatcher_write(&mut self, d: &DispatcherRecord) -> Result<()> {
        let (started, seen, stopped) = binds(d);
        let sql =
            format!("INSERT INTO dispatchers ({DISPATCHER_COLS}) VALUES ($1, $2, $3, $4, $5, $6) {DISPATCHER_UPSERT}");
        self.execute(&sql, &[&d.id, &d.host, &d.pid, &started, &seen, &stopped])?;
        Ok(())
    }

    pub(super) fn dispatcher_list(&mut self) -> Result<Vec<DispatcherRecord>> {
        let rows = self.query(DISPATCHERS_SQL, &[])?;
        rows.iter().map(dispatcher).collect()
    }

    pub(super) fn dispatcher_prune(&mut self, unseen_before: Timestamp) -> Result<u64> {
        self.execute("DELETE FROM dispatchers WHERE seen_at < $1", &[&unseen_before.as_millisecond()])
    }
}
