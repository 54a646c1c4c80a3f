//! The event log on PostgreSQL: appending events and reading them by number.
//!
//! Event numbers come from a sequence when a writer inserts, but writers commit in any
//! order: reading "everything after N" naively could return N+2 while N+1 is still
//! uncommitted, and a reader that moves its cursor past N+2 would never see N+1. So a
//! writer marks its transaction at its first event (a trigger, see `schema`): a shared
//! advisory lock, held to its commit, whose key is the highest number drawn so far — every
//! number the transaction draws is above its mark. A reader (`orch_events_after`)
//! returns the numbers that run on without a gap as it finds them: nothing can be missing
//! below them. At the first gap it waits for the writers that may fill it — those marked
//! below the highest number drawn when it started, one key at a time, found in
//! `pg_locks` — and then reads the rest in a new snapshot. A gap that no writer fills (a
//! transaction that rolled back, history pruned) costs that one look, and no wait.
//!
//! Writers never wait for readers: a writer that starts while a reader waits marks at or
//! above the reader's horizon, a key the reader does not take. (Schema 1 to 5 had one
//! shared lock for all writers, which a reader took exclusively: every new writer then
//! queued behind the reader, which waited for every writer in flight.)
//!
//! `orch_events_horizon` is the same wait for readers that filter (`orch events`). Both
//! run their statements after whatever the transaction has seen: in a write transaction
//! each statement has its own snapshot; a read transaction that already holds one ends it
//! first (a consistent view of events is what a cursor needs; values read earlier in the
//! same closure stay as they were).

use super::rows::{EVENT_COLS, count, event_from_row, ms};
use super::txn::PgTx;
use crate::{EventQuery, Result};
use jiff::Timestamp;
use orch_core::event::Event;
use orch_core::task::Status;
use postgres::types::ToSql;

/// [`crate::Tx::event_insert`].
pub(super) fn insert(tx: &mut PgTx<'_>, e: &Event) -> Result<i64> {
    let attempt = e.attempt.map(count);
    let rows = tx.query(
        "INSERT INTO events (seq, ts, level, event, task_id, run_id, trace_id, owner, attempt, \
         from_status, to_status, msg) VALUES (NULLIF($1::bigint, 0), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         RETURNING seq",
        &[
            &e.seq,
            &ms(e.ts),
            &e.level.as_str(),
            &e.event,
            &e.task_id,
            &e.run_id,
            &e.trace_id,
            &e.owner,
            &attempt,
            &e.from.map(Status::as_str),
            &e.to.map(Status::as_str),
            &e.msg,
        ],
    )?;
    Ok(rows[0].get(0))
}

/// Events as columns, for one statement that inserts them all (`unnest ... WITH
/// ORDINALITY`, in the order given).
pub(super) struct EventCols {
    seq: Vec<i64>,
    ts: Vec<i64>,
    attempt: Vec<Option<i64>>,
    text: [Vec<Option<String>>; 9],
}

impl EventCols {
    pub(super) fn of(events: &[Event]) -> EventCols {
        let col = |f: fn(&Event) -> Option<String>| events.iter().map(f).collect::<Vec<_>>();
        EventCols {
            seq: events.iter().map(|e| e.seq).collect(),
            ts: events.iter().map(|e| ms(e.ts)).collect(),
            attempt: events.iter().map(|e| e.attempt.map(count)).collect(),
            text: [
                col(|e| Some(e.level.as_str().to_string())),
                col(|e| Some(e.event.clone())),
                col(|e| e.task_id.clone()),
                col(|e| e.run_id.clone()),
                col(|e| e.trace_id.clone()),
                col(|e| e.owner.clone()),
                col(|e| e.from.map(|s| s.as_str().to_string())),
                col(|e| e.to.map(|s| s.as_str().to_string())),
                col(|e| e.msg.clone()),
            ],
        }
    }

    /// The parameters of [`EventCols::insert_sql`], in its order.
    pub(super) fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        let [level, event, task_id, run_id, trace_id, owner, from, to, msg] = &self.text;
        vec![&self.seq, &self.ts, level, event, task_id, run_id, trace_id, owner, &self.attempt, from, to, msg]
    }

    /// `INSERT ... SELECT ... FROM unnest(...) AS e(...)` with the twelve columns bound
    /// from `$first` on; the caller appends joins and `ORDER BY e.n`.
    pub(super) fn insert_sql(first: usize) -> String {
        let types =
            ["bigint", "bigint", "text", "text", "text", "text", "text", "text", "bigint", "text", "text", "text"];
        let args: Vec<String> = types.iter().enumerate().map(|(i, t)| format!("${}::{t}[]", first + i)).collect();
        format!(
            "INSERT INTO events (seq, ts, level, event, task_id, run_id, trace_id, owner, attempt, \
             from_status, to_status, msg) \
             SELECT NULLIF(e.seq, 0), e.ts, e.level, e.event, e.task_id, e.run_id, e.trace_id, e.owner, e.attempt, \
                 e.from_status, e.to_status, e.msg \
             FROM unnest({}) WITH ORDINALITY \
                 AS e(seq, ts, level, event, task_id, run_id, trace_id, owner, attempt, from_status, to_status, msg, n)",
            args.join(", ")
        )
    }
}

/// [`crate::Tx::events_insert`]: one statement for all of them, the rows
/// inserted (and so numbered) in the order given.
pub(super) fn insert_all(tx: &mut PgTx<'_>, events: &[Event]) -> Result<()> {
    if let [one] = events {
        return insert(tx, one).map(|_| ());
    }
    if events.is_empty() {
        return Ok(());
    }
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let sql = SQL.get_or_init(|| format!("{} ORDER BY e.n", EventCols::insert_sql(1)));
    let cols = EventCols::of(events);
    tx.execute(sql, &cols.params())?;
    Ok(())
}

/// [`crate::Tx::events_after`]: `orch_events_after` reads, and waits when it
/// must, in one round trip, outside any snapshot this transaction holds.
pub(super) fn after(tx: &mut PgTx<'_>, seq: i64, limit: usize) -> Result<Vec<Event>> {
    let sql = format!("SELECT {EVENT_COLS} FROM orch_events_after($1, $2)");
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    tx.query_fresh(&sql, &[&seq, &limit])?.iter().map(event_from_row).collect()
}

/// The highest number drawn, once no writer that may still add one at or below it is in
/// flight (see the module's documentation).
fn horizon(tx: &mut PgTx<'_>, after: i64) -> Result<i64> {
    Ok(tx.query_fresh("SELECT orch_events_horizon($1)", &[&after])?[0].get(0))
}

/// [`crate::Tx::events_query`], capped at the horizon.
pub(super) fn query(tx: &mut PgTx<'_>, q: &EventQuery) -> Result<Vec<Event>> {
    let horizon = horizon(tx, q.after)?;
    if horizon <= q.after {
        return Ok(Vec::new());
    }
    let mut args: Vec<Box<dyn ToSql + Sync>> = vec![Box::new(q.after), Box::new(horizon)];
    let mut conds = vec!["seq > $1".to_string(), "seq <= $2".to_string()];
    let mut bind = |v: Box<dyn ToSql + Sync>| {
        args.push(v);
        format!("${}", args.len())
    };
    if let Some(since) = q.since {
        conds.push(format!("ts >= {}", bind(Box::new(ms(since)))));
    }
    if let Some(t) = &q.task_id {
        conds.push(format!("task_id = {}", bind(Box::new(t.clone()))));
    }
    if let Some(r) = &q.run_id {
        conds.push(format!("run_id = {}", bind(Box::new(r.clone()))));
    }
    if !q.kinds.is_empty() {
        conds.push(format!("event = ANY({})", bind(Box::new(q.kinds.clone()))));
    }
    let order = if q.newest_first { "DESC" } else { "ASC" };
    let limit = if q.limit == 0 { String::new() } else { format!(" LIMIT {}", q.limit) };
    let sql = format!("SELECT {EVENT_COLS} FROM events WHERE {} ORDER BY seq {order}{limit}", conds.join(" AND "));
    let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
    tx.query(&sql, &params)?.iter().map(event_from_row).collect()
}

/// [`crate::Tx::events_of_tasks_run_since`].
pub(super) fn of_tasks_run_since(tx: &mut PgTx<'_>, since: Timestamp, kinds: &[&str]) -> Result<Vec<Event>> {
    let kinds: Vec<&str> = kinds.to_vec();
    let sql = format!(
        "SELECT {EVENT_COLS} FROM events WHERE task_id IN (SELECT task_id FROM runs WHERE started_at >= $1) \
         AND (cardinality($2::text[]) = 0 OR event = ANY($2)) ORDER BY task_id, seq"
    );
    tx.query(&sql, &[&ms(since), &kinds])?.iter().map(event_from_row).collect()
}
