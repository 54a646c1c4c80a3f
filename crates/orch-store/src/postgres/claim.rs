//! Claims on PostgreSQL.
//!
//! The common claim is one statement ([`claim_next`]): a CTE that checks that no lease
//! has expired, selects the first eligible task `FOR UPDATE SKIP LOCKED`, updates it,
//! inserts its run and its `task.claimed` event, and returns the task as it was and as
//! it is now — one round trip, where the general path takes six or more.
//!
//! It walks the partial index `tasks_claim` (waiting tasks in pick order) and stops at
//! the first eligible row. The statement runs with sorting ruled out (`PgTx::ordered_next`,
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

/// The eligibility test and pick order shared by both paths (`t` is the task): ready
/// at `$1`, every dependency DONE, no running task holding its resource.
/// A task without dependencies (`depends_on` NULL: its `deps` rows are written from that
/// column when it is inserted, and neither ever changes) skips their probe.
const ELIGIBLE: &str = "t.status IN ('PENDING', 'FAILED') \
       AND (t.status = 'PENDING' OR (t.retry_at IS NOT NULL AND t.retry_at <= $1)) \
       AND (t.depends_on IS NULL OR NOT EXISTS (SELECT 1 FROM deps d LEFT JOIN tasks p ON p.id = d.depends_on \
                       WHERE d.task_id = t.id AND (p.status IS NULL OR p.status <> 'DONE'))) \
       AND (t.resource IS NULL OR NOT EXISTS (SELECT 1 FROM tasks r \
                       WHERE r.resource = t.resource AND r.status = 'IN_PROGRESS'))";
const ORDER: &str = "ORDER BY t.priority, t.due_at NULLS LAST, t.num, t.seq";

fn prefixed(alias: &str) -> String {
    TASK_COLS.split(", ").map(|c| format!("{alias}.{c}")).collect::<Vec<_>>().join(", ")
}

/// Up to `$2` candidates in pick order, with `lock` appended.
fn candidates_sql(lock: &str) -> String {
    format!("SELECT {} FROM tasks t WHERE {ELIGIBLE} {ORDER} LIMIT $2{lock}", prefixed("t"))
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
             cand AS MATERIALIZED ( \
                 SELECT {cand_cols} FROM tasks t WHERE {ELIGIBLE} {ORDER} LIMIT 1 FOR UPDATE OF t SKIP LOCKED), \
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
            cand_cols = prefixed("t"),
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
