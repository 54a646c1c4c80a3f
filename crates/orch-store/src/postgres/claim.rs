//! Claims on PostgreSQL.
//!
//! The common claim is one statement ([`claim_next`]): a CTE that checks that no lease
//! has expired, selects the first eligible task `FOR UPDATE SKIP LOCKED`, updates it,
//! inserts its run and its `task.claimed` event, and returns the task as it was and as
//! it is now — one round trip, where the general path takes six or more.
//!
//! It walks the index `tasks_pick` over PENDING tasks (in pick order) and stops at the
//! first eligible row; FAILED tasks whose retry is due are found by their retry time
//! (`tasks_retry`), so retries that are not due are never read, and the best of each
//! kind are merged in pick order. The statement runs with sorting ruled out (`PgTx::ordered_next`,
//! sent with its BEGIN), the counterpart of SQLite's `INDEXED BY`: the waiting set changes
//! faster than statistics follow (a queue filled in a burst after an ANALYZE that saw
//! none), and with too low an estimate the planner reads every waiting task, checks each
//! one's dependencies and sorts them all — per claim, so draining N tasks cost O(N²).
//!
//! What one statement cannot decide is left to the general path ([`candidates`] under
//! `ops::claim`), in the same transaction (the candidate stays locked by it):
//! - a task with a `resource`: two claimers must not both find the resource free in
//!   their snapshots, so the claimer first takes the resource's advisory lock and then,
//!   in a new statement (a new snapshot), finds no running task holding it;
//! - an idempotency key this task does not own yet (another task's, or nobody's);
//! - an expired lease: the watchdog sweep comes first, as on every claim.

use super::locks;
use super::rows::{TASK_COLS, ms, task_from_row};
use super::txn::{Mode, PgTx};
use crate::{ClaimSpec, NextClaim, Result};
use jiff::Timestamp;
use orch_core::task::Task;
use std::collections::HashMap;
use std::sync::OnceLock;

/// The eligibility test shared by both paths (`t` is the task), but for its status and
/// retry time: every dependency DONE, no running task holding its resource (a task whose
/// lease expired at `$1` holds nothing: a claim sweeps it first, and a read counts it as
/// the sweep would). A task without dependencies (`depends_on` NULL: its `deps` rows
/// are written from that column when it is inserted, and neither ever changes) skips
/// their probe.
const ELIGIBLE: &str = "(t.depends_on IS NULL OR NOT EXISTS (SELECT 1 FROM deps d LEFT JOIN tasks p ON p.id = d.depends_on \
                       WHERE d.task_id = t.id AND (p.status IS NULL OR p.status <> 'DONE'))) \
       AND (t.resource IS NULL OR NOT EXISTS (SELECT 1 FROM tasks r \
                       WHERE r.resource = t.resource AND r.status = 'IN_PROGRESS' \
                         AND (r.lease_expires_at IS NULL OR r.lease_expires_at > $1)))";
/// The pick order, which the index `tasks_pick` holds after its status.
const ORDER: &str = "ORDER BY t.priority, t.due_at NULLS LAST, t.num, t.seq";
/// The same order as one value, which no index holds: the due retries are found by
/// their time (`tasks_retry`) and put in order, where walking FAILED tasks in pick
/// order would read every retry that is not due — also when sorting is ruled out
/// (`PgTx::ordered_next`), since every plan must then sort.
const FAILED_ORDER: &str = "ORDER BY (t.priority, t.due_at IS NULL, t.due_at, t.num, t.seq)";

fn prefixed(alias: &str) -> String {
    TASK_COLS.split(", ").map(|c| format!("{alias}.{c}")).collect::<Vec<_>>().join(", ")
}

/// The claimable tasks as two CTEs, `limit` of each, each row locked with `lock`:
/// `cp`, the PENDING ones in pick order through `tasks_pick`, and `cf`, the FAILED ones
/// whose retry is due, found through `tasks_retry` (PostgreSQL locks no rows of a
/// UNION, hence two CTEs; [`merged`] reads them). Columns: [`TASK_COLS`], then `k_num`
/// and `k_seq`.
fn arms(limit: &str, lock: &str) -> String {
    format!(
        "cp AS MATERIALIZED (SELECT {cols}, t.num AS k_num, t.seq AS k_seq FROM tasks t \
             WHERE t.status = 'PENDING' AND (t.not_before IS NULL OR t.not_before <= $1) AND {ELIGIBLE} {ORDER} LIMIT {limit}{lock}), \
         cf AS MATERIALIZED (SELECT {cols}, t.num AS k_num, t.seq AS k_seq FROM tasks t \
             WHERE t.status = 'FAILED' AND t.retry_at <= $1 AND {ELIGIBLE} {FAILED_ORDER} LIMIT {limit}{lock})",
        cols = prefixed("t"),
    )
}

/// The first `limit` rows of the CTEs of [`arms`] in pick order.
fn merged(limit: &str) -> String {
    format!(
        "SELECT * FROM (SELECT * FROM cp UNION ALL SELECT * FROM cf) c \
         ORDER BY c.priority, c.due_at NULLS LAST, c.k_num, c.k_seq LIMIT {limit}"
    )
}

/// Up to `$2` candidates in pick order, with `lock` on each row read.
fn candidates_sql(lock: &str) -> String {
    format!("WITH {} {}", arms("$2", lock), merged("$2"))
}

/// The one-statement claim. Parameters: `$1` now, `$2` owner, `$3` lease token, `$4`
/// lease expiry, `$5` run id, `$6` trace id, `$7` host, `$8` pid, `$9` process group,
/// `$10` who spawns the worker, `$11` the spawning process's identity.
///
/// Its rows: the candidate (columns of [`TASK_COLS`], then `0`, then whether a lease has
/// expired) — all NULL but the flag when there is none — and, when it was claimed, the
/// task as it is now (then `1`). The data-modifying parts run once, to completion,
/// whether the outer query reads them or not; the run and the event read the updated
/// row, so nothing is written unless the task was.
fn claim_next_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "WITH expired AS MATERIALIZED ( \
                 SELECT EXISTS (SELECT 1 FROM tasks WHERE status = 'IN_PROGRESS' AND lease_expires_at <= $1) AS any), \
             {arms}, cand AS MATERIALIZED ({cand}), \
             go AS MATERIALIZED ( \
                 SELECT c.id, c.version, c.status FROM cand c, expired e \
                 WHERE NOT e.any AND c.resource IS NULL \
                   AND (c.idempotency_key IS NULL OR EXISTS (SELECT 1 FROM idempotency i \
                        WHERE i.key = c.idempotency_key AND i.task_id = c.id))), \
             upd AS ( \
                 UPDATE tasks u SET status = 'IN_PROGRESS', attempts = u.attempts + 1, owner = $2, \
                     started_at = $1, retry_at = NULL, lease_token = $3, lease_expires_at = $4, run_id = $5, \
                     updated_at = $1, version = u.version + 1 \
                 FROM go WHERE u.id = go.id AND u.version = go.version \
                 RETURNING {upd_cols}, go.status AS from_status), \
             run AS ( \
                 INSERT INTO runs (id, task_id, attempt, owner, trace_id, lease_token, host, pid, pgid, started_at, \
                     spawned_by, dispatcher) \
                 SELECT $5, upd.id, upd.attempts, $2, $6, $3, $7::text, $8::bigint, $9::bigint, $1, \
                     $10::text, $11::text FROM upd), \
             ev AS ( \
                 INSERT INTO events (ts, level, event, task_id, run_id, trace_id, owner, attempt, from_status, \
                     to_status, msg) \
                 SELECT $1, 'info', 'task.claimed', upd.id, $5, $6, $2, upd.attempts, upd.from_status, \
                     'IN_PROGRESS', NULL FROM upd) \
             SELECT {c_cols}, 0, e.any FROM expired e LEFT JOIN cand c ON true \
             UNION ALL SELECT {plain_cols}, 1, false FROM upd",
            arms = arms("1", " FOR UPDATE OF t SKIP LOCKED"),
            cand = merged("1"),
            upd_cols = prefixed("u"),
            c_cols = prefixed("c"),
            plain_cols = prefixed("upd"),
        )
    })
}

/// [`crate::Tx::claim_next`] on PostgreSQL: one statement.
pub(super) fn claim_next(tx: &mut PgTx<'_>, spec: &ClaimSpec<'_>) -> Result<NextClaim> {
    let now = ms(spec.now);
    let r = spec.run;
    tx.ordered_next();
    let rows = tx.query(
        claim_next_sql(),
        &[
            &now,
            &spec.owner,
            &r.lease_token,
            &ms(spec.lease_until),
            &r.id,
            &r.trace_id,
            &r.host,
            &r.pid,
            &r.pgid,
            &r.spawned_by,
            &r.dispatcher,
        ],
    )?;
    let which = TASK_COLS.split(", ").count();
    let (mut before, mut after, mut expired) = (None, None, false);
    for row in &rows {
        match row.get::<_, i32>(which) {
            0 => {
                expired = row.get(which + 1);
                if row.get::<_, Option<String>>(0).is_some() {
                    before = Some(task_from_row(row)?);
                }
            }
            _ => after = Some(task_from_row(row)?),
        }
    }
    Ok(match (before, after) {
        // A claim makes nothing claimable: no NOTIFY (see `tasks`).
        (Some(before), Some(after)) => NextClaim::Claimed { before, after },
        (None, None) if !expired => NextClaim::Nothing,
        _ => NextClaim::Undecided,
    })
}

/// [`crate::Tx::claim_candidates`] on PostgreSQL. A write transaction locks
/// them `FOR UPDATE SKIP LOCKED` and keeps a candidate with a resource only once the
/// resource is its own (see [`resource_free`]).
pub(super) fn candidates(tx: &mut PgTx<'_>, now: Timestamp, limit: usize) -> Result<Vec<Task>> {
    let want = i64::try_from(limit).unwrap_or(i64::MAX);
    if tx.mode() == Mode::Read {
        return tx.tasks(&candidates_sql(""), &[&ms(now), &want]);
    }
    // Candidates whose resource another claimer is taking right now are dropped; read
    // further so that `limit` eligible ones come back when they exist. Rows already
    // locked by this transaction come back again (SKIP LOCKED skips only other
    // transactions' locks), so a larger limit simply reads past them.
    let sql = candidates_sql(" FOR UPDATE OF t SKIP LOCKED");
    let mut fetch = want;
    loop {
        let rows = tx.tasks(&sql, &[&ms(now), &fetch])?;
        let exhausted = (rows.len() as i64) < fetch;
        let mut kept = Vec::with_capacity(rows.len());
        let mut freed: HashMap<String, bool> = HashMap::new();
        for t in rows {
            let ok = match &t.resource {
                None => true,
                Some(r) => match freed.get(r) {
                    Some(ok) => *ok,
                    None => {
                        let ok = resource_free(tx, r)?;
                        freed.insert(r.clone(), ok);
                        ok
                    }
                },
            };
            if ok {
                kept.push(t);
            }
        }
        if kept.len() >= limit || exhausted {
            kept.truncate(limit);
            return Ok(kept);
        }
        fetch = fetch.saturating_add(want - kept.len() as i64);
    }
}

/// True when `resource` may be taken by this transaction: its advisory lock is ours
/// and, seen after taking it, no running task holds the resource.
fn resource_free(tx: &mut PgTx<'_>, resource: &str) -> Result<bool> {
    let got: bool =
        tx.query("SELECT pg_try_advisory_xact_lock($1, hashtext($2))", &[&locks::NS_RESOURCES, &resource])?[0].get(0);
    if !got {
        return Ok(false);
    }
    let busy: bool = tx
        .query("SELECT EXISTS (SELECT 1 FROM tasks WHERE resource = $1 AND status = 'IN_PROGRESS')", &[&resource])?[0]
        .get(0);
    Ok(!busy)
}
