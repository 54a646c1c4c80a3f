//! The event log on PostgreSQL: appending events and reading them by number.
//!
//! Event numbers come from a sequence when a writer inserts, but writers commit in any
//! order: reading "everything after N" naively could return N+2 while N+1 is still
//! uncommitted, and a reader that moves its cursor past N+2 would never see N+1. So
//! every read is capped at the *horizon*, the highest number whose writer has finished:
//! a writer holds the shared event lock from its first insert to its commit (a trigger
//! takes it), and the barrier `orch_events_horizon` takes it exclusively for a moment
//! (see `schema`). The read then runs in a snapshot younger than the barrier: in a
//! write transaction each statement has its own; a read transaction that already holds
//! one ends it first (a consistent view of events is what a cursor needs; values read
//! earlier in the same closure stay as they were).

use super::rows::{EVENT_COLS, count, event_from_row, ms};
use super::tx::PgTx;
use crate::store::{EventQuery, Result};
use jiff::Timestamp;
use orch_core::event::Event;
use orch_core::task::Status;
use postgres::types::ToSql;

/// [`crate::store::Tx::event_insert`].
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

/// [`crate::store::Tx::events_insert`]: one statement for all of them, the rows
/// inserted (and so numbered) in the order given.
pub(super) fn insert_all(tx: &mut PgTx<'_>, events: &[Event]) -> Result<()> {
    if let [one] = events {
        return insert(tx, one).map(|_| ());
    }
    if events.is_empty() {
        return Ok(());
    }
    let col = |f: fn(&Event) -> Option<String>| events.iter().map(f).collect::<Vec<_>>();
    let seq: Vec<i64> = events.iter().map(|e| e.seq).collect();
    let ts: Vec<i64> = events.iter().map(|e| ms(e.ts)).collect();
    let attempt: Vec<Option<i64>> = events.iter().map(|e| e.attempt.map(count)).collect();
    let (level, event, task_id, run_id, trace_id, owner, from, to, msg) = (
        col(|e| Some(e.level.as_str().to_string())),
        col(|e| Some(e.event.clone())),
        col(|e| e.task_id.clone()),
        col(|e| e.run_id.clone()),
        col(|e| e.trace_id.clone()),
        col(|e| e.owner.clone()),
        col(|e| e.from.map(|s| s.as_str().to_string())),
        col(|e| e.to.map(|s| s.as_str().to_string())),
        col(|e| e.msg.clone()),
    );
    tx.execute(
        "INSERT INTO events (seq, ts, level, event, task_id, run_id, trace_id, owner, attempt, \
         from_status, to_status, msg) \
         SELECT NULLIF(e.seq, 0), e.ts, e.level, e.event, e.task_id, e.run_id, e.trace_id, e.owner, e.attempt, \
             e.from_status, e.to_status, e.msg \
         FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
             $8::text[], $9::bigint[], $10::text[], $11::text[], $12::text[]) WITH ORDINALITY \
             AS e(seq, ts, level, event, task_id, run_id, trace_id, owner, attempt, from_status, to_status, msg, n) \
         ORDER BY e.n",
        &[&seq, &ts, &level, &event, &task_id, &run_id, &trace_id, &owner, &attempt, &from, &to, &msg],
    )?;
    Ok(())
}

/// [`crate::store::Tx::events_after`]: `orch_events_after` does barrier and read in one
/// round trip, outside any snapshot this transaction holds.
pub(super) fn after(tx: &mut PgTx<'_>, seq: i64, limit: usize) -> Result<Vec<Event>> {
    let sql = format!("SELECT {EVENT_COLS} FROM orch_events_after($1, $2)");
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    tx.query_fresh(&sql, &[&seq, &limit])?.iter().map(event_from_row).collect()
}

/// The horizon past `after` (see the module's documentation).
fn horizon(tx: &mut PgTx<'_>, after: i64) -> Result<i64> {
    Ok(tx.query_fresh("SELECT orch_events_horizon($1)", &[&after])?[0].get(0))
}

/// [`crate::store::Tx::events_query`], capped at the horizon.
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

/// [`crate::store::Tx::events_of_tasks_run_since`].
pub(super) fn of_tasks_run_since(tx: &mut PgTx<'_>, since: Timestamp, kinds: &[&str]) -> Result<Vec<Event>> {
    let kinds: Vec<&str> = kinds.to_vec();
    let sql = format!(
        "SELECT {EVENT_COLS} FROM events WHERE task_id IN (SELECT task_id FROM runs WHERE started_at >= $1) \
         AND (cardinality($2::text[]) = 0 OR event = ANY($2)) ORDER BY task_id, seq"
    );
    tx.query(&sql, &[&ms(since), &kinds])?.iter().map(event_from_row).collect()
}
