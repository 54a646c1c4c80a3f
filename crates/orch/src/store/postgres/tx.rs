//! The PostgreSQL implementation of the store's transaction primitives.
//!
//! Write transactions run at READ COMMITTED, so each statement sees what committed
//! before it; the races SQLite avoids by having one writer at a time are closed here
//! with locks:
//! - a claim locks its candidates `FOR UPDATE SKIP LOCKED`: a row another claimer holds
//!   is passed over, never waited for, and never handed out twice; the common claim is
//!   one statement, and a candidate with a `resource` is kept only once this
//!   transaction holds the resource's advisory lock (see `claim`);
//! - `task_get` in a write transaction locks its row `FOR UPDATE`, so a read-then-CAS
//!   sequence does not lose its race under ordinary contention; the CAS in
//!   `task_update` stays the guard (`Conflict`), e.g. for a stale copy;
//! - new ids: an advisory lock per prefix, taken before `MAX(num)` is read;
//! - events: see `events`.
//!
//! Read transactions are REPEATABLE READ READ ONLY: one snapshot, no locks.
//! Transactions begin lazily, at their first statement, and a task change queues a
//! NOTIFY sent with the COMMIT.

use super::locks;
use super::pool::{Conn, Failure, classify, one_line, store_err};
use super::rows::{RUN_COLS, TASK_COLS, count, json_or_null, ms, opt_ms, run_from_row, task_from_row};
use super::{claim, events};
use crate::store::{
    ClaimSpec, EventQuery, ListFilter, NextClaim, ProcessInfo, Pruned, Result, Run, RunEnd, StoreError, Tx, ViewInfo,
    ViewMark, ViewRow,
};
use jiff::Timestamp;
use orch_core::event::Event;
use orch_core::id::parse_id;
use orch_core::outcome::Usage;
use orch_core::task::Task;
use postgres::Row;
use postgres::types::ToSql;
use std::collections::HashMap;

/// The channel `wait_for_change` listens on.
pub const CHANNEL: &str = "orch_tasks";
/// COMMIT, after telling the listeners of [`CHANNEL`]: one round trip for both.
const NOTIFY_COMMIT: &str = "NOTIFY orch_tasks; COMMIT";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Write,
    Read,
}

impl Mode {
    fn begin_sql(self) -> &'static str {
        match self {
            Mode::Write => "BEGIN ISOLATION LEVEL READ COMMITTED",
            Mode::Read => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        }
    }
}

pub struct PgTx<'a> {
    conn: &'a mut Conn,
    mode: Mode,
    begun: bool,
    /// A task changed: listeners are told at COMMIT.
    pub(super) notify: bool,
    /// What the first driver error in this transaction means; the backend decides
    /// from it whether to retry, reconnect or report.
    pub failure: Option<Failure>,
}

type Params<'p> = [&'p (dyn ToSql + Sync)];

impl<'a> PgTx<'a> {
    pub fn new(conn: &'a mut Conn, mode: Mode) -> PgTx<'a> {
        PgTx { conn, mode, begun: false, notify: false, failure: None }
    }

    fn err(&mut self, e: &postgres::Error) -> StoreError {
        let failure = classify(e);
        self.failure.get_or_insert(failure);
        match failure {
            Failure::Connection => StoreError::Db(format!("lost the connection to PostgreSQL: {}", one_line(e))),
            _ => store_err(e),
        }
    }

    fn begin(&mut self) -> Result<()> {
        if !self.begun {
            let sql = self.mode.begin_sql();
            self.conn.client.batch_execute(sql).map_err(|e| self.err(&e))?;
            self.begun = true;
        }
        Ok(())
    }

    pub(super) fn mode(&self) -> Mode {
        self.mode
    }

    pub(super) fn query(&mut self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>> {
        self.begin()?;
        let stmt = self.conn.stmt(sql).map_err(|e| self.err(&e))?;
        self.conn.client.query(&stmt, params).map_err(|e| self.err(&e))
    }

    pub(super) fn query_opt(&mut self, sql: &str, params: &Params<'_>) -> Result<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    pub(super) fn execute(&mut self, sql: &str, params: &Params<'_>) -> Result<u64> {
        self.begin()?;
        let stmt = self.conn.stmt(sql).map_err(|e| self.err(&e))?;
        self.conn.client.execute(&stmt, params).map_err(|e| self.err(&e))
    }

    pub(super) fn tasks(&mut self, sql: &str, params: &Params<'_>) -> Result<Vec<Task>> {
        self.query(sql, params)?.iter().map(task_from_row).collect()
    }

    fn runs(&mut self, sql: &str, params: &Params<'_>) -> Result<Vec<Run>> {
        self.query(sql, params)?.iter().map(run_from_row).collect()
    }

    fn lock_suffix(&self, clause: &'static str) -> &'static str {
        if self.mode == Mode::Write { clause } else { "" }
    }

    /// Commits (with the queued NOTIFY). A transaction that ran no statement has
    /// nothing to commit.
    pub fn commit(&mut self) -> std::result::Result<(), postgres::Error> {
        if !self.begun {
            return Ok(());
        }
        let sql = if self.notify { NOTIFY_COMMIT } else { "COMMIT" };
        self.begun = false;
        self.conn.client.batch_execute(sql)
    }

    /// Rolls back; false when even that failed (the connection is unusable).
    pub fn rollback(&mut self) -> bool {
        if !self.begun {
            return true;
        }
        self.begun = false;
        self.conn.client.batch_execute("ROLLBACK").is_ok()
    }

    /// A read transaction that holds a snapshot ends it, so the next statement runs
    /// after what happens now (see [`PgTx::events_horizon`]).
    fn end_read_snapshot(&mut self) -> Result<()> {
        if self.mode == Mode::Read && self.begun {
            self.begun = false;
            self.conn.client.batch_execute("COMMIT").map_err(|e| self.err(&e))?;
        }
        Ok(())
    }

    /// Runs one statement after whatever this transaction has seen: a read transaction
    /// that holds a snapshot ends it first, and the statement begins no transaction of
    /// its own (see `events`).
    pub(super) fn query_fresh(&mut self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>> {
        self.end_read_snapshot()?;
        let stmt = self.conn.stmt(sql).map_err(|e| self.err(&e))?;
        self.conn.client.query(&stmt, params).map_err(|e| self.err(&e))
    }
}

impl Tx for PgTx<'_> {
    fn task_get(&mut self, id: &str) -> Result<Option<Task>> {
        let sql = format!("SELECT {TASK_COLS} FROM tasks WHERE id = $1{}", self.lock_suffix(" FOR UPDATE"));
        self.query_opt(&sql, &[&id])?.as_ref().map(task_from_row).transpose()
    }

    fn task_insert(&mut self, t: &Task) -> Result<()> {
        let (prefix, num) = parse_id(&t.id).ok_or_else(|| StoreError::Db(format!("bad id {}", t.id)))?;
        let extra = (!t.extra.is_empty()).then(|| serde_json::to_string(&t.extra).expect("pairs serialise"));
        // One statement: nothing is inserted when the prefix and number are taken (by this
        // id, or by another spelling of it); which of the two is asked only then.
        let n = self.execute(
            "INSERT INTO tasks (id, prefix, num, status, priority, task, success_criteria, owner, \
             started_at, due_at, notes, extra, attempts, max_attempts, retry_at, idempotency_key, \
             resource, depends_on, lease_token, lease_expires_at, run_id, created_at, updated_at, version) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
             $19, $20, $21, $22, $23, $24 \
             WHERE NOT EXISTS (SELECT 1 FROM tasks WHERE prefix = $2 AND num = $3) ON CONFLICT (id) DO NOTHING",
            &[
                &t.id,
                &prefix,
                &i64::try_from(num).unwrap_or(i64::MAX),
                &t.status.as_str(),
                &t.priority.rank(),
                &t.task,
                &t.success_criteria,
                &t.owner,
                &opt_ms(t.started_at),
                &opt_ms(t.due_at),
                &t.notes,
                &extra,
                &count(t.attempts),
                &count(t.max_attempts),
                &opt_ms(t.retry_at),
                &t.idempotency_key,
                &t.resource,
                &json_or_null(&t.depends_on),
                &t.lease.as_ref().map(|l| l.token.as_str()),
                &t.lease.as_ref().map(|l| ms(l.expires_at)),
                &t.run_id,
                &ms(t.created_at),
                &ms(t.updated_at),
                &t.version,
            ],
        )?;
        if n == 0 {
            return Err(match self.task_by_number(prefix, num)? {
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

    fn task_update(&mut self, t: &Task) -> Result<Task> {
        let extra = (!t.extra.is_empty()).then(|| serde_json::to_string(&t.extra).expect("pairs serialise"));
        let n = self.execute(
            "UPDATE tasks SET status = $2, priority = $3, task = $4, success_criteria = $5, owner = $6, \
             started_at = $7, due_at = $8, notes = $9, extra = $10, attempts = $11, max_attempts = $12, \
             retry_at = $13, lease_token = $14, lease_expires_at = $15, run_id = $16, updated_at = $17, \
             version = version + 1 WHERE id = $1 AND version = $18",
            &[
                &t.id,
                &t.status.as_str(),
                &t.priority.rank(),
                &t.task,
                &t.success_criteria,
                &t.owner,
                &opt_ms(t.started_at),
                &opt_ms(t.due_at),
                &t.notes,
                &extra,
                &count(t.attempts),
                &count(t.max_attempts),
                &opt_ms(t.retry_at),
                &t.lease.as_ref().map(|l| l.token.as_str()),
                &t.lease.as_ref().map(|l| ms(l.expires_at)),
                &t.run_id,
                &ms(t.updated_at),
                &t.version,
            ],
        )?;
        if n == 0 {
            return Err(StoreError::Conflict(format!("{} changed under us (version {})", t.id, t.version)));
        }
        self.notify = true;
        let mut out = t.clone();
        out.version += 1;
        Ok(out)
    }

    fn task_by_number(&mut self, prefix: &str, num: u64) -> Result<Option<String>> {
        let num = i64::try_from(num).unwrap_or(i64::MAX);
        let sql = "SELECT id FROM tasks WHERE prefix = $1 AND num = $2 ORDER BY seq LIMIT 1";
        Ok(self.query_opt(sql, &[&prefix, &num])?.map(|r| r.get(0)))
    }

    fn dependents_of(&mut self, id: &str) -> Result<Vec<Task>> {
        let sql = format!(
            "SELECT {TASK_COLS} FROM tasks WHERE id IN (SELECT task_id FROM deps WHERE depends_on = $1) ORDER BY seq{}",
            self.lock_suffix(" FOR UPDATE")
        );
        self.tasks(&sql, &[&id])
    }

    fn task_max_num(&mut self, prefix: &str) -> Result<u64> {
        if self.mode == Mode::Write {
            // Held to COMMIT: the next `add` with this prefix reads MAX after our insert.
            self.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", &[&locks::NS_IDS, &prefix])?;
        }
        let n: Option<i64> = self.query("SELECT MAX(num) FROM tasks WHERE prefix = $1", &[&prefix])?[0].get(0);
        Ok(n.unwrap_or(0).max(0) as u64)
    }

    fn task_list(&mut self, filter: &ListFilter) -> Result<Vec<Task>> {
        let mut sql = format!("SELECT {TASK_COLS} FROM tasks");
        let mut conds = Vec::new();
        if !filter.statuses.is_empty() {
            let list: Vec<String> = filter.statuses.iter().map(|s| format!("'{}'", s.as_str())).collect();
            conds.push(format!("status IN ({})", list.join(",")));
        }
        if !filter.priorities.is_empty() {
            let list: Vec<String> = filter.priorities.iter().map(|p| p.rank().to_string()).collect();
            conds.push(format!("priority IN ({})", list.join(",")));
        }
        if !conds.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conds.join(" AND "));
        }
        sql.push_str(" ORDER BY seq");
        self.tasks(&sql, &[])
    }

    fn claim_candidates(&mut self, now: Timestamp, limit: usize) -> Result<Vec<Task>> {
        claim::candidates(self, now, limit)
    }

    fn claim_next(&mut self, spec: &ClaimSpec<'_>) -> Result<NextClaim> {
        claim::claim_next(self, spec)
    }

    fn expired_leases(&mut self, now: Timestamp) -> Result<Vec<Task>> {
        let sql = format!(
            "SELECT {TASK_COLS} FROM tasks WHERE status = 'IN_PROGRESS' AND lease_expires_at <= $1 \
             ORDER BY lease_expires_at{}",
            self.lock_suffix(" FOR UPDATE SKIP LOCKED")
        );
        self.tasks(&sql, &[&ms(now)])
    }

    fn idempotency_owner(&mut self, key: &str) -> Result<Option<String>> {
        Ok(self.query_opt("SELECT task_id FROM idempotency WHERE key = $1", &[&key])?.map(|r| r.get(0)))
    }

    fn idempotency_claim(&mut self, key: &str, task_id: &str) -> Result<bool> {
        let n = self.execute(
            "INSERT INTO idempotency (key, task_id) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            &[&key, &task_id],
        )?;
        Ok(n == 1)
    }

    fn run_insert(&mut self, r: &Run) -> Result<()> {
        self.execute(
            "INSERT INTO runs (id, task_id, attempt, owner, trace_id, lease_token, host, pid, pgid, started_at, \
             spawned_by, dispatcher) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            &[
                &r.id,
                &r.task_id,
                &count(r.attempt),
                &r.owner,
                &r.trace_id,
                &r.lease_token,
                &r.host,
                &r.pid,
                &r.pgid,
                &ms(r.started_at),
                &r.spawned_by,
                &r.dispatcher,
            ],
        )?;
        Ok(())
    }

    fn run_end(&mut self, run_id: &str, e: &RunEnd<'_>) -> Result<()> {
        self.execute(
            "UPDATE runs SET ended_at = $2, outcome = $3, class = $4, reason = $5, \
             report = COALESCE($6, report) WHERE id = $1 AND ended_at IS NULL",
            &[&run_id, &ms(e.at), &e.outcome, &e.class.map(|c| c.as_str()), &e.reason, &e.report],
        )?;
        Ok(())
    }

    fn run_get(&mut self, run_id: &str) -> Result<Option<Run>> {
        let sql = format!("SELECT {RUN_COLS} FROM runs WHERE id = $1");
        Ok(self.runs(&sql, &[&run_id])?.into_iter().next())
    }

    fn run_by_token(&mut self, token: &str) -> Result<Option<Run>> {
        let sql = format!("SELECT {RUN_COLS} FROM runs WHERE lease_token = $1");
        Ok(self.runs(&sql, &[&token])?.into_iter().next())
    }

    fn run_late_report(&mut self, run_id: &str, report: &str) -> Result<()> {
        self.execute("UPDATE runs SET late_report = $2 WHERE id = $1", &[&run_id, &report])?;
        Ok(())
    }

    fn run_set_process(&mut self, run_id: &str, p: &ProcessInfo) -> Result<()> {
        self.execute(
            "UPDATE runs SET host = $2, pid = $3, pgid = $4, proc_start = $5, spawned_by = $6 WHERE id = $1",
            &[&run_id, &p.host, &p.pid, &p.pgid, &p.proc_start, &p.spawned_by],
        )?;
        Ok(())
    }

    fn runs_live_on(&mut self, host: &str) -> Result<Vec<Run>> {
        let sql = format!(
            "SELECT {RUN_COLS} FROM runs WHERE host = $1 AND ended_at IS NULL AND dispatcher IS NOT NULL \
             ORDER BY started_at, n"
        );
        self.runs(&sql, &[&host])
    }

    fn run_add_usage(&mut self, run_id: &str, u: &Usage) -> Result<()> {
        self.execute(
            "UPDATE runs SET input_tokens = input_tokens + $2, output_tokens = output_tokens + $3, \
             cost_usd = cost_usd + $4 WHERE id = $1",
            &[&run_id, &(u.input_tokens as i64), &(u.output_tokens as i64), &u.cost_usd],
        )?;
        Ok(())
    }

    fn cost_since(&mut self, since: Timestamp) -> Result<f64> {
        let rows =
            self.query("SELECT COALESCE(SUM(cost_usd), 0)::float8 FROM runs WHERE started_at >= $1", &[&ms(since)])?;
        Ok(rows[0].get(0))
    }

    fn run_set_verdict(&mut self, run_id: &str, verdict: &str, reason: &str) -> Result<()> {
        self.execute("UPDATE runs SET verdict = $2, verdict_reason = $3 WHERE id = $1", &[&run_id, &verdict, &reason])?;
        Ok(())
    }

    fn runs_of(&mut self, task_id: &str) -> Result<Vec<Run>> {
        let sql = format!("SELECT {RUN_COLS} FROM runs WHERE task_id = $1 ORDER BY started_at, n");
        self.runs(&sql, &[&task_id])
    }

    fn event_insert(&mut self, e: &Event) -> Result<i64> {
        events::insert(self, e)
    }

    fn events_insert(&mut self, events: &[Event]) -> Result<()> {
        events::insert_all(self, events)
    }

    fn events_after(&mut self, seq: i64, limit: usize) -> Result<Vec<Event>> {
        events::after(self, seq, limit)
    }

    fn events_query(&mut self, q: &EventQuery) -> Result<Vec<Event>> {
        events::query(self, q)
    }

    fn events_of_tasks_run_since(&mut self, since: Timestamp, kinds: &[&str]) -> Result<Vec<Event>> {
        events::of_tasks_run_since(self, since, kinds)
    }

    fn runs_since(&mut self, since: Timestamp) -> Result<Vec<Run>> {
        let sql = format!(
            "SELECT {RUN_COLS} FROM runs WHERE started_at >= $1 OR ended_at >= $1 OR ended_at IS NULL \
             ORDER BY started_at, n"
        );
        self.runs(&sql, &[&ms(since)])
    }

    fn prune_before(&mut self, cutoff: Timestamp) -> Result<Pruned> {
        const OLD_DONE: &str = "SELECT id FROM tasks WHERE status = 'DONE' AND updated_at < $1";
        let cut = ms(cutoff);
        let runs = self.query(
            &format!(
                "DELETE FROM runs r WHERE r.task_id IN ({OLD_DONE}) AND r.ended_at IS NOT NULL \
                 AND EXISTS (SELECT 1 FROM runs l WHERE l.task_id = r.task_id \
                     AND (l.started_at > r.started_at OR (l.started_at = r.started_at AND l.n > r.n))) \
                 RETURNING r.id, r.task_id"
            ),
            &[&cut],
        )?;
        let mut tasks: std::collections::HashSet<String> = runs.iter().map(|r| r.get(1)).collect();
        let run_ids: Vec<String> = runs.iter().map(|r| r.get(0)).collect();
        let events = self.query(
            &format!(
                "DELETE FROM events WHERE ts < $1 AND (task_id IS NULL OR task_id IN ({OLD_DONE})) \
                 AND seq < (SELECT MAX(seq) FROM events) RETURNING task_id"
            ),
            &[&cut],
        )?;
        tasks.extend(events.iter().filter_map(|r| r.get::<_, Option<String>>(0)));
        Ok(Pruned { run_ids, events: events.len() as u64, tasks: tasks.len() as u64 })
    }

    fn meta_get(&mut self, key: &str) -> Result<Option<String>> {
        Ok(self.query_opt("SELECT value FROM meta WHERE key = $1", &[&key])?.map(|r| r.get(0)))
    }

    fn meta_set(&mut self, key: &str, value: &str) -> Result<()> {
        self.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            &[&key, &value],
        )?;
        Ok(())
    }

    fn meta_all(&mut self) -> Result<Vec<(String, String)>> {
        let rows = self.query("SELECT key, value FROM meta ORDER BY key", &[])?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn view_rows(&mut self, view: &str, done_kept: usize) -> Result<Vec<(Task, Option<ViewMark>)>> {
        self.rows_of_view(view, done_kept)
    }

    fn view_lines(&mut self, view: &str, done_kept: usize) -> Result<Vec<ViewRow>> {
        self.lines_of_view(view, done_kept)
    }

    fn view_versions(&mut self, done_kept: usize) -> Result<Vec<(String, i64)>> {
        self.versions_of_view(done_kept)
    }

    fn view_mark(&mut self, view: &str, task_id: &str) -> Result<Option<ViewMark>> {
        self.mark_of_view(view, task_id)
    }

    fn view_marks(&mut self, view: &str) -> Result<HashMap<String, ViewMark>> {
        self.marks_of_view(view)
    }

    fn view_mark_set(&mut self, view: &str, task_id: &str, m: &ViewMark) -> Result<()> {
        self.set_mark(view, task_id, m)
    }

    fn view_get(&mut self, view: &str) -> Result<Option<ViewInfo>> {
        self.view_info(view)
    }

    fn view_set_hash(&mut self, view: &str, hash: &str) -> Result<()> {
        self.set_view_field(view, "hash", hash)
    }

    fn view_set_frame(&mut self, view: &str, frame: &str) -> Result<()> {
        self.set_view_field(view, "frame", frame)
    }

    fn views(&mut self) -> Result<Vec<(String, ViewInfo)>> {
        self.all_views()
    }

    fn view_rename(&mut self, from: &str, to: &str) -> Result<()> {
        self.rename_view(from, to)
    }
}
