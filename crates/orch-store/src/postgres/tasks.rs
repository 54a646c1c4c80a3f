//! Tasks on PostgreSQL: insert, compare-and-set update, the one-step write of a
//! transition decided before the transaction (`settle`), reads by id, number and
//! dependency, and idempotency keys.
//!
//! What wakes idle dispatchers (`NOTIFY` with the COMMIT, see `txn`) is decided here: a
//! change a dispatcher could act on — a task added; a task written PENDING, FAILED or
//! BLOCKED (claimable now or later, or a running task stopped, its lease lost); a DONE
//! that may release another task (tasks depend on it, or it held a resource or an
//! idempotency key). A claim, a heartbeat and a note on a running task (it stays
//! IN_PROGRESS) wake nobody, nor does any other DONE.

use super::events::EventCols;
use super::locks;
use super::rows::{TASK_COLS, ms};
use super::txn::{Mode, PgTx};
use crate::columns::{NewTaskVals, TASK_INSERT_COLS, TASK_INSERT_VALUES, TASK_UPDATE, TaskVals};
use crate::{ListFilter, Result, Settle, StoreError};
use orch_core::id::{MAX_ID_NUM, parse_id};
use orch_core::task::{Status, Task};
use postgres::types::ToSql;
use std::sync::OnceLock;

/// [`crate::Tx::task_settle`] in one statement: the task's compare-and-set (and,
/// with `$20`, no dependent), then — only when it was written — the verdict and the end
/// on run `$21` (the end only while the run has not ended, as `run_end`) and the events.
fn settle_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        let ended = "$24::bigint IS NULL OR r.ended_at IS NOT NULL";
        format!(
            "WITH upd AS ({TASK_UPDATE} AND NOT ($20::bool AND EXISTS (SELECT 1 FROM deps WHERE depends_on = $1)) \
                 RETURNING id), \
             run AS (UPDATE runs r SET \
                 verdict = CASE WHEN $22::text IS NULL THEN r.verdict ELSE $22 END, \
                 verdict_reason = CASE WHEN $22::text IS NULL THEN r.verdict_reason ELSE $23::text END, \
                 ended_at = CASE WHEN {ended} THEN r.ended_at ELSE $24 END, \
                 outcome = CASE WHEN {ended} THEN r.outcome ELSE $25::text END, \
                 class = CASE WHEN {ended} THEN r.class ELSE $26::text END, \
                 reason = CASE WHEN {ended} THEN r.reason ELSE $27::text END, \
                 report = CASE WHEN {ended} THEN r.report ELSE COALESCE($28::text, r.report) END \
                 FROM upd WHERE r.id = $21::text), \
             ev AS ({events} CROSS JOIN upd ORDER BY e.n) \
             SELECT count(*) FROM upd",
            events = EventCols::insert_sql(29),
        )
    })
}

/// Whether writing `t` is a change a dispatcher could act on (see the module's
/// documentation); `dependents` when tasks may depend on it and nobody looked (a DONE
/// releases them). A DONE does not stop a dispatcher's worker at once either way: its run
/// counts as finished, and the worker gets its grace period.
fn wakes(t: &Task, dependents: bool) -> bool {
    match t.status {
        Status::InProgress => false,
        Status::Done => dependents || t.resource.is_some() || t.idempotency_key.is_some(),
        Status::Pending | Status::Failed | Status::Blocked => true,
    }
}

impl PgTx<'_> {
    pub(super) fn insert_task(&mut self, t: &Task) -> Result<()> {
        let (prefix, num) = parse_id(&t.id).ok_or_else(|| StoreError::Db(format!("bad id {}", t.id)))?;
        // One statement: nothing is inserted when the prefix and number are taken (by this
        // id, or by another spelling of it); which of the two is asked only then.
        static SQL: OnceLock<String> = OnceLock::new();
        let sql = SQL.get_or_init(|| {
            format!(
                "INSERT INTO tasks ({TASK_INSERT_COLS}) SELECT {TASK_INSERT_VALUES} \
                 WHERE NOT EXISTS (SELECT 1 FROM tasks WHERE prefix = $2 AND num = $3) ON CONFLICT (id) DO NOTHING"
            )
        });
        let vals = NewTaskVals::of(t, prefix, num);
        let n = self.execute(sql, &task_insert_params!(vals, dyn ToSql + Sync))?;
        if n == 0 {
            return Err(match self.number_taken_by(prefix, vals.num)? {
                Some(other) if other != t.id => {
                    StoreError::Conflict(format!("task {} exists already, as {other}", t.id))
                }
                _ => StoreError::Conflict(format!("task {} exists already", t.id)),
            });
        }
        if !t.depends_on.is_empty() {
            self.execute(
                "INSERT INTO deps (task_id, depends_on) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING",
                &[&t.id, &t.depends_on],
            )?;
        }
        self.notify = true;
        Ok(())
    }

    pub(super) fn update_task(&mut self, t: &Task) -> Result<Task> {
        let v = TaskVals::of(t);
        if self.execute(TASK_UPDATE, &task_update_params!(v, dyn ToSql + Sync))? == 0 {
            return Err(StoreError::Conflict(format!("{} changed under us (version {})", t.id, t.version)));
        }
        self.notify |= wakes(t, false);
        let mut out = t.clone();
        out.version += 1;
        Ok(out)
    }

    pub(super) fn settle_task(&mut self, s: &Settle<'_>) -> Result<bool> {
        let t = s.task;
        let v = TaskVals::of(t);
        let end = s.end.as_ref();
        let (ended_at, outcome) = (end.map(|e| ms(e.at)), end.map(|e| e.outcome));
        let (class, reason, report) =
            (end.and_then(|e| e.class.map(|c| c.as_str())), end.and_then(|e| e.reason), end.and_then(|e| e.report));
        let (verdict, why) = (s.verdict.map(|v| v.0), s.verdict.map(|v| v.1));
        let events = EventCols::of(s.events);
        let mut params = task_update_params!(v, dyn ToSql + Sync).to_vec();
        params.extend_from_slice(&[&s.alone, &s.run_id, &verdict, &why, &ended_at, &outcome, &class, &reason, &report]);
        params.extend(events.params());
        let written: i64 = self.query(settle_sql(), &params)?[0].get(0);
        if written == 0 {
            return Ok(false);
        }
        self.notify |= wakes(t, !s.alone);
        Ok(true)
    }

    pub(super) fn number_taken_by(&mut self, prefix: &str, num: i64) -> Result<Option<String>> {
        let sql = "SELECT id FROM tasks WHERE prefix = $1 AND num = $2 ORDER BY seq LIMIT 1";
        Ok(self.query_opt(sql, &[&prefix, &num])?.map(|r| r.get(0)))
    }

    /// A write transaction asks when a task's change may release or block the tasks that
    /// depend on it: when there are any, idle dispatchers hear of it.
    pub(super) fn dependents(&mut self, id: &str) -> Result<Vec<Task>> {
        let sql = format!(
            "SELECT {TASK_COLS} FROM tasks WHERE id IN (SELECT task_id FROM deps WHERE depends_on = $1) ORDER BY seq{}",
            self.lock_suffix(" FOR UPDATE")
        );
        let found = self.tasks(&sql, &[&id])?;
        self.notify |= self.mode() == Mode::Write && !found.is_empty();
        Ok(found)
    }

    pub(super) fn nums_from(&mut self, prefix: &str, from: u64, limit: usize) -> Result<Vec<u64>> {
        let (from, limit) = (from.min(i64::MAX as u64) as i64, limit as i64);
        let rows = self.query(
            "SELECT num FROM tasks WHERE prefix = $1 AND num >= $2 ORDER BY num LIMIT $3",
            &[&prefix, &from, &limit],
        )?;
        Ok(rows.iter().map(|r| r.get::<_, i64>(0).max(0) as u64).collect())
    }

    pub(super) fn max_num(&mut self, prefix: &str) -> Result<u64> {
        if self.mode() == Mode::Write {
            // Held to COMMIT: the next `add` with this prefix reads MAX after our insert.
            self.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", &[&locks::NS_IDS, &prefix])?;
        }
        let max = MAX_ID_NUM as i64;
        let n: Option<i64> =
            self.query("SELECT MAX(num) FROM tasks WHERE prefix = $1 AND num <= $2", &[&prefix, &max])?[0].get(0);
        Ok(n.unwrap_or(0).max(0) as u64)
    }

    pub(super) fn list_tasks(&mut self, filter: &ListFilter) -> Result<Vec<Task>> {
        let sql = crate::task_list_sql(TASK_COLS, filter);
        self.tasks(&sql, &[])
    }

    pub(super) fn expired(&mut self, now: i64) -> Result<Vec<Task>> {
        let sql = format!(
            "SELECT {TASK_COLS} FROM tasks WHERE status = 'IN_PROGRESS' AND lease_expires_at <= $1 \
             ORDER BY lease_expires_at{}",
            self.lock_suffix(" FOR UPDATE SKIP LOCKED")
        );
        self.tasks(&sql, &[&now])
    }

    pub(super) fn key_owner(&mut self, key: &str) -> Result<Option<String>> {
        Ok(self.query_opt("SELECT task_id FROM idempotency WHERE key = $1", &[&key])?.map(|r| r.get(0)))
    }

    pub(super) fn take_key(&mut self, key: &str, task_id: &str) -> Result<bool> {
        let n = self.execute(
            "INSERT INTO idempotency (key, task_id) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            &[&key, &task_id],
        )?;
        Ok(n == 1)
    }
}
