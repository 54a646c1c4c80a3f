//! Claims on SQLite: the candidate query, the expired-lease query, and the common claim
//! ([`claim_next`]). A write transaction here is `BEGIN IMMEDIATE`, so nobody else
//! writes between the statements: the candidate query decides resources exactly, and
//! only an expired lease (the sweep comes first) or an idempotency key this task does
//! not own yet sends a claim down the general path in `ops::claim`.

use super::rows::{TASK_COLS, ms, task_from_row};
use super::txn::SqliteTx;
use crate::{ClaimSpec, NextClaim, Result, Run, Tx};
use orch_core::event::{Event, kind};
use orch_core::task::Status;
use rusqlite::{OptionalExtension, params};

/// [`crate::Tx::claim_next`] on SQLite.
pub(super) fn claim_next(t: &mut SqliteTx<'_>, spec: &ClaimSpec<'_>) -> Result<NextClaim> {
    let now = ms(spec.now);
    let expired: bool = t.tx.prepare_cached(EXPIRED_ANY)?.query_row([now], |r| r.get(0))?;
    if expired {
        return Ok(NextClaim::Undecided);
    }
    let before = t.tx.prepare_cached(&claim_sql(1))?.query_row(params![now], task_from_row).optional()?;
    let Some(before) = before else { return Ok(NextClaim::Nothing) };
    if let Some(key) = &before.idempotency_key
        && t.idempotency_owner(key)?.as_deref() != Some(before.id.as_str())
    {
        return Ok(NextClaim::Undecided);
    }
    let r = spec.run;
    let sql = format!(
        "UPDATE tasks SET status = 'IN_PROGRESS', attempts = attempts + 1, owner = ?2, started_at = ?3, \
         retry_at = NULL, lease_token = ?4, lease_expires_at = ?5, run_id = ?6, updated_at = ?3, \
         version = version + 1 WHERE id = ?1 AND version = ?7 RETURNING {TASK_COLS}"
    );
    let after =
        t.tx.prepare_cached(&sql)?
            .query_row(
                params![before.id, spec.owner, now, r.lease_token, ms(spec.lease_until), r.id, before.version],
                task_from_row,
            )
            .optional()?;
    let Some(after) = after else { return Ok(NextClaim::Undecided) };
    let run = Run { task_id: after.id.clone(), attempt: after.attempts, owner: spec.owner.to_string(), ..r.clone() };
    t.run_insert(&run)?;
    let mut e = Event::new(spec.now, kind::TASK_CLAIMED);
    e.task_id = Some(after.id.clone());
    e.run_id = Some(run.id.clone());
    e.trace_id = Some(run.trace_id.clone());
    e.owner = Some(spec.owner.to_string());
    e.attempt = Some(after.attempts);
    e.from = Some(before.status);
    e.to = Some(Status::InProgress);
    t.event_insert(&e)?;
    Ok(NextClaim::Claimed { before, after })
}

/// Whether any lease has expired at `?1`: one probe of the partial index `tasks_lease`.
const EXPIRED_ANY: &str = "SELECT EXISTS (SELECT 1 FROM tasks INDEXED BY tasks_lease \
     WHERE status = 'IN_PROGRESS' AND lease_expires_at <= ?1)";

/// The claim query for up to `limit` rows. It walks the partial index `tasks_claim`
/// (only PENDING and FAILED rows, already in pick order: priority, due time with none
/// last, id number), so the first eligible task is found without sorting, however many
/// tasks the table holds. `INDEXED BY` pins the plan: without statistics SQLite prefers
/// `tasks_status` and sorts every waiting task in a temporary b-tree, which grows with
/// the queue. Per row, two index probes check dependencies (`deps` primary key) and
/// resources (`tasks_resource`).
///
/// The limit is written into the text, rounded up to a power of two (the caller stops
/// reading at `limit`), never bound: SQLite plans with a bound `LIMIT ?`'s value, so the
/// statement would be compiled again every time it comes back from the statement cache
/// (a fifth of a claim's CPU time). Rounding keeps the distinct texts few.
pub(super) fn claim_sql(limit: usize) -> String {
    static BASE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let base = BASE.get_or_init(|| {
        let cols = TASK_COLS.split(", ").map(|c| format!("t.{c}")).collect::<Vec<_>>().join(", ");
        format!(
            "SELECT {cols} FROM tasks t INDEXED BY tasks_claim \
             WHERE t.status IN ('PENDING', 'FAILED') \
               AND (t.status = 'PENDING' OR (t.retry_at IS NOT NULL AND t.retry_at <= ?1)) \
               AND NOT EXISTS (SELECT 1 FROM deps d LEFT JOIN tasks p ON p.id = d.depends_on \
                               WHERE d.task_id = t.id AND (p.status IS NULL OR p.status <> 'DONE')) \
               AND (t.resource IS NULL OR NOT EXISTS (SELECT 1 FROM tasks r \
                               WHERE r.resource = t.resource AND r.status = 'IN_PROGRESS')) \
             ORDER BY t.priority, t.due_at IS NULL, t.due_at, t.num, t.seq"
        )
    });
    format!("{base} LIMIT {}", limit.max(1).next_power_of_two())
}

/// Expired leases, through the partial index `tasks_lease`: a range of the expired ones
/// only, cheap enough for every claim to sweep first.
pub(super) fn expired_sql() -> String {
    format!(
        "SELECT {TASK_COLS} FROM tasks INDEXED BY tasks_lease \
         WHERE status = 'IN_PROGRESS' AND lease_expires_at <= ?1 ORDER BY lease_expires_at"
    )
}

#[cfg(test)]
mod plan_tests {
    //! The claim and sweep queries must use their partial indexes (no full sort), or pick
    //! latency grows with the queue.

    use rusqlite::Connection;

    fn plan(conn: &Connection, sql: &str, params: &[i64]) -> String {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = stmt.query_map(rusqlite::params_from_iter(params), |r| r.get::<_, String>(3)).unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn claim_and_sweep_walk_their_partial_indexes_without_sorting() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap().unwrap();
        let p = plan(&conn, &super::claim_sql(1), &[0]);
        assert!(p.contains("USING INDEX tasks_claim"), "{p}");
        assert!(!p.contains("TEMP B-TREE"), "{p}");
        let p = plan(&conn, &super::expired_sql(), &[0]);
        assert!(p.contains("USING INDEX tasks_lease"), "{p}");
        assert!(!p.contains("TEMP B-TREE"), "{p}");
    }

    #[test]
    fn claim_and_sweep_statements_are_compiled_once_not_per_use() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap().unwrap();
        conn.execute_batch(
            "INSERT INTO tasks (id, prefix, num, status, priority, task, attempts, max_attempts, created_at, \
             updated_at, version) VALUES ('ORCH-001', 'ORCH', 1, 'PENDING', 1, 'x', 0, 4, 0, 0, 1)",
        )
        .unwrap();
        for now in 0..5i64 {
            for sql in [super::claim_sql(1), super::expired_sql()] {
                let mut stmt = conn.prepare_cached(&sql).unwrap();
                let _ = stmt.query_map([now], |_| Ok(())).unwrap().count();
            }
        }
        for sql in [super::claim_sql(1), super::expired_sql()] {
            let stmt = conn.prepare_cached(&sql).unwrap();
            assert_eq!(stmt.get_status(rusqlite::StatementStatus::RePrepare), 0, "{sql}");
        }
    }
}
