//! Claims on SQLite: the candidate query, the expired-lease query, and the common claim
//! ([`claim_next`]). A write transaction here is `BEGIN IMMEDIATE`, so nobody else
//! writes between the statements: the candidate query decides resources exactly, and
//! only an expired lease (the sweep comes first) or an idempotency key this task does
//! not own yet sends a claim down the general path in `ops::claim`.

use super::rows::{TASK_COLS, ms, task_from_row};
use super::txn::SqliteTx;
use crate::{ClaimSpec, NextClaim, Result, Run, Tx};
use orch_core::event::{Event, kind};
use orch_core::task::{Status, Task};
use rusqlite::{OptionalExtension, params};

/// [`crate::Tx::claim_next`] on SQLite.
pub(super) fn claim_next(t: &mut SqliteTx<'_>, spec: &ClaimSpec<'_>) -> Result<NextClaim> {
    let now = ms(spec.now);
    let expired: bool = t.tx.prepare_cached(EXPIRED_ANY)?.query_row([now], |r| r.get(0))?;
    if expired {
        return Ok(NextClaim::Undecided);
    }
    let Some(before) = candidates(t.tx, now, 1)?.into_iter().next() else { return Ok(NextClaim::Nothing) };
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

/// Whether task `t` can run now, but for its status and retry time: every dependency
/// DONE (`deps` primary key) and no running task holding its resource
/// (`tasks_resource`). A task whose lease expired at `?1` holds nothing: the claim
/// sweeps it first, and a read (`status`) counts it as the sweep would.
const ELIGIBLE: &str = "NOT EXISTS (SELECT 1 FROM deps d LEFT JOIN tasks p ON p.id = d.depends_on \
                    WHERE d.task_id = t.id AND (p.status IS NULL OR p.status <> 'DONE')) \
     AND (t.resource IS NULL OR NOT EXISTS (SELECT 1 FROM tasks r \
                    WHERE r.resource = t.resource AND r.status = 'IN_PROGRESS' \
                      AND (r.lease_expires_at IS NULL OR r.lease_expires_at > ?1)))";

/// A PENDING task whose not-before time is still ahead at `?1` waits.
const NOT_WAITING: &str = "(t.not_before IS NULL OR t.not_before <= ?1)";

/// The pick order in SQL (`orch_core::policy::pick_order`, then insertion order), which
/// is the order of the index `tasks_pick` after its status.
const ORDER: &str = "ORDER BY t.priority, t.due_at IS NULL, t.due_at, t.num, t.seq";

/// FAILED tasks read in pick order before the claim looks for due retries by time
/// instead: after a burst of failures the due ones are found among the first, and a
/// queue of retries that are not due costs this many rows, not all of them.
const FAILED_HEAD: usize = 64;

/// The task columns, then the order key's `num` and `seq` (see [`Cand`]).
fn cols() -> &'static str {
    static COLS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    COLS.get_or_init(|| {
        let cols = TASK_COLS.split(", ").map(|c| format!("t.{c}")).collect::<Vec<_>>().join(", ");
        format!("{cols}, t.num, t.seq")
    })
}

/// Eligible PENDING tasks in pick order: the range of `tasks_pick` for PENDING, walked
/// from its head, stopping at the `limit`th eligible row. The limit is written into the
/// text, rounded up to a power of two (the caller stops reading at `limit`), never
/// bound: SQLite plans with a bound `LIMIT ?`'s value, so the statement would be
/// compiled again every time it comes back from the statement cache (a fifth of a
/// claim's CPU time). Rounding keeps the distinct texts few. `INDEXED BY` pins the plan:
/// without statistics SQLite may prefer another index and sort every waiting task.
pub(super) fn pending_sql(limit: usize) -> String {
    format!(
        "SELECT {} FROM tasks t INDEXED BY tasks_pick WHERE t.status = 'PENDING' AND {NOT_WAITING} AND {ELIGIBLE} {ORDER} LIMIT {}",
        cols(),
        limit.max(1).next_power_of_two()
    )
}

/// The first [`FAILED_HEAD`] FAILED tasks in pick order, each with whether it can be
/// claimed now (its retry due and [`ELIGIBLE`]; tested only once due).
pub(super) fn failed_head_sql() -> String {
    format!(
        "SELECT {}, CASE WHEN t.retry_at IS NOT NULL AND t.retry_at <= ?1 THEN {ELIGIBLE} ELSE 0 END \
         FROM tasks t INDEXED BY tasks_pick WHERE t.status = 'FAILED' {ORDER} LIMIT {FAILED_HEAD}",
        cols()
    )
}

/// The eligible FAILED tasks whose retry is due at `?1`: a range of the partial index
/// `tasks_retry` (FAILED by retry time), so retries that are not due are never read.
pub(super) fn failed_due_sql() -> String {
    format!(
        "SELECT {} FROM tasks t INDEXED BY tasks_retry \
         WHERE t.status = 'FAILED' AND t.retry_at <= ?1 AND {ELIGIBLE}",
        cols()
    )
}

/// A candidate with its place in pick order: priority, no due time, due time, id
/// number, insertion order (the columns of [`ORDER`]).
struct Cand {
    key: (i64, bool, Option<i64>, i64, i64),
    task: Task,
}

fn cand(r: &rusqlite::Row<'_>) -> rusqlite::Result<Cand> {
    let n = TASK_COLS.split(", ").count();
    let due: Option<i64> = r.get(7)?;
    let key = (r.get(2)?, due.is_none(), due, r.get(n)?, r.get(n + 1)?);
    Ok(Cand { key, task: task_from_row(r)? })
}

/// Up to `limit` claimable tasks in pick order (see [`crate::Tx::claim_candidates`]):
/// the eligible PENDING ones through `tasks_pick`, and the FAILED ones whose retry is
/// due — from the head of FAILED in pick order when `limit` of them are there, else by
/// their retry time through `tasks_retry` — merged by the order key. Neither statement
/// reads a task that cannot be claimed now beyond [`FAILED_HEAD`] rows, so a queue of
/// retries that are not due costs as little as an empty one.
pub(super) fn candidates(conn: &rusqlite::Connection, now: i64, limit: usize) -> rusqlite::Result<Vec<Task>> {
    let mut all: Vec<Cand> = Vec::new();
    let mut stmt = conn.prepare_cached(&pending_sql(limit))?;
    for c in stmt.query_map([now], cand)?.take(limit) {
        all.push(c?);
    }
    let mut failed = Vec::new();
    let mut stmt = conn.prepare_cached(&failed_head_sql())?;
    let mut rows = stmt.query([now])?;
    let mut read = 0;
    while let Some(r) = rows.next()? {
        read += 1;
        if r.get::<_, bool>(TASK_COLS.split(", ").count() + 2)? {
            failed.push(cand(r)?);
            if failed.len() == limit {
                break;
            }
        }
    }
    drop(rows);
    if failed.len() < limit && read == FAILED_HEAD {
        // The head holds fewer than `limit` due ones and there are more FAILED tasks:
        // the due ones are read by their retry time, and put in order here.
        // Only the first `limit` are kept as they come.
        failed.clear();
        let mut stmt = conn.prepare_cached(&failed_due_sql())?;
        for c in stmt.query_map([now], cand)? {
            failed.push(c?);
            if failed.len() >= 2 * limit {
                failed.sort_by_key(|c| c.key);
                failed.truncate(limit);
            }
        }
    }
    all.append(&mut failed);
    all.sort_by_key(|c| c.key);
    all.truncate(limit);
    Ok(all.into_iter().map(|c| c.task).collect())
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
    //! The claim and sweep queries must search their indexes (no full scan, no sort), or
    //! pick latency grows with the queue; and a queue of retries that are not due costs
    //! a claim no more rows read than a short one.

    use rusqlite::{Connection, StatementStatus};

    fn plan(conn: &Connection, sql: &str, params: &[i64]) -> String {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = stmt.query_map(rusqlite::params_from_iter(params), |r| r.get::<_, String>(3)).unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("\n")
    }

    fn assert_searches(p: &str, index: &str) {
        assert!(p.contains(&format!("USING INDEX {index}")), "{p}");
        assert!(!p.contains("TEMP B-TREE"), "{p}");
        assert!(!p.lines().any(|l| l.trim_start().starts_with("SCAN")), "{p}");
    }

    fn db() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap().unwrap();
        conn
    }

    /// `n` FAILED tasks whose retry is a year after time 0, and one PENDING task with a
    /// dependency and a resource, so every probe runs.
    fn waiting_retries(n: i64) -> Connection {
        let conn = db();
        conn.execute_batch(&format!(
            "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < {n}) \
             INSERT INTO tasks (id, prefix, num, status, priority, task, attempts, max_attempts, retry_at, \
                 created_at, updated_at, version) \
             SELECT printf('ORCH-%07d', i), 'ORCH', i, 'FAILED', i % 3, 'x', 1, 4, 31536000000, 0, 0, 1 FROM k; \
             INSERT INTO tasks (id, prefix, num, status, priority, task, attempts, max_attempts, resource, \
                 depends_on, created_at, updated_at, version) \
             VALUES ('ORCH-9999999', 'ORCH', 9999999, 'PENDING', 2, 'y', 0, 4, 'gpu', 'ORCH-0000001', 0, 0, 1); \
             INSERT INTO deps (task_id, depends_on) VALUES ('ORCH-9999999', 'ORCH-0000001'); ANALYZE;"
        ))
        .unwrap();
        conn
    }

    #[test]
    fn claim_and_sweep_search_their_indexes_without_scanning_or_sorting() {
        for conn in [db(), waiting_retries(500)] {
            assert_searches(&plan(&conn, &super::pending_sql(1), &[0]), "tasks_pick");
            assert_searches(&plan(&conn, &super::failed_head_sql(), &[0]), "tasks_pick");
            assert_searches(&plan(&conn, &super::failed_due_sql(), &[0]), "tasks_retry");
            assert_searches(&plan(&conn, &super::expired_sql(), &[0]), "tasks_lease");
        }
    }

    #[test]
    fn retries_that_are_not_due_are_not_read() {
        // The rows a claim's statements step through, with 200 and with 5,000 FAILED
        // tasks whose retries are not due: the same, since only the head is read.
        let steps = |n: i64| {
            let conn = waiting_retries(n);
            assert!(super::candidates(&conn, 1000, 8).unwrap().is_empty());
            [super::pending_sql(8), super::failed_head_sql(), super::failed_due_sql()]
                .map(|sql| conn.prepare_cached(&sql).unwrap().get_status(StatementStatus::VmStep))
        };
        assert_eq!(steps(200), steps(5000));
    }

    #[test]
    fn claim_and_sweep_statements_are_compiled_once_not_per_use() {
        let conn = db();
        conn.execute_batch(
            "INSERT INTO tasks (id, prefix, num, status, priority, task, attempts, max_attempts, created_at, \
             updated_at, version) VALUES ('ORCH-001', 'ORCH', 1, 'PENDING', 1, 'x', 0, 4, 0, 0, 1)",
        )
        .unwrap();
        let all = || [super::pending_sql(1), super::failed_head_sql(), super::failed_due_sql(), super::expired_sql()];
        for now in 0..5i64 {
            for sql in all() {
                let mut stmt = conn.prepare_cached(&sql).unwrap();
                let _ = stmt.query_map([now], |_| Ok(())).unwrap().count();
            }
        }
        for sql in all() {
            let stmt = conn.prepare_cached(&sql).unwrap();
            assert_eq!(stmt.get_status(StatementStatus::RePrepare), 0, "{sql}");
        }
    }
}
