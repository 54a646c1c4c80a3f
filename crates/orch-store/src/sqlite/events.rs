//! Reading the event log on SQLite in pages ([`events_after`]), as `events.jsonl` is
//! caught up after every change: the query text carries its limit, so the statement is
//! compiled once and taken from the statement cache every time after.

use super::rows::{EVENT_COLS, event_from_row};
use crate::Result;
use orch_core::event::Event;
use rusqlite::Transaction;

/// [`crate::Tx::events_after`] on SQLite.
pub(super) fn events_after(tx: &Transaction<'_>, seq: i64, limit: usize) -> Result<Vec<Event>> {
    let mut stmt = tx.prepare_cached(&events_after_sql(limit))?;
    let rows = stmt.query_map([seq], event_from_row)?;
    Ok(rows.take(limit).collect::<rusqlite::Result<_>>()?)
}

/// Up to `limit` events after `?1`, oldest first. The limit is written into the text,
/// rounded up to a power of two (the caller stops reading at `limit`), never bound:
/// SQLite plans with a bound `LIMIT ?`'s value, so such a statement is compiled again
/// each time it comes back from the cache (as `claim::claim_sql` explains).
fn events_after_sql(limit: usize) -> String {
    format!("SELECT {EVENT_COLS} FROM events WHERE seq > ?1 ORDER BY seq LIMIT {}", limit.max(1).next_power_of_two())
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    #[test]
    fn reading_events_after_a_number_compiles_its_statement_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap().unwrap();
        for i in 1..=5 {
            conn.execute("INSERT INTO events (ts, level, event) VALUES (?1, 'info', 'x')", [i]).unwrap();
        }
        let tx = conn.transaction().unwrap();
        for after in 0..5i64 {
            let got = super::events_after(&tx, after, 1000).unwrap();
            assert_eq!(got.len(), (5 - after) as usize);
            assert_eq!(got.first().map(|e| e.seq), Some(after + 1));
        }
        assert_eq!(super::events_after(&tx, 0, 3).unwrap().len(), 3, "no more than the limit");
        let stmt = tx.prepare_cached(&super::events_after_sql(1000)).unwrap();
        assert_eq!(stmt.get_status(rusqlite::StatementStatus::RePrepare), 0);
    }
}
