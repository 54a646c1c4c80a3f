//! The SQLite implementation of the store's transaction primitives.

use super::claim::expired_sql;
use super::rows::{EVENT_COLS, RUN_COLS, TASK_COLS, event_from_row, ms, run_from_row, task_from_row};
use super::txn::SqliteTx;
use crate::columns::{NewTaskVals, TASK_INSERT_COLS, TASK_INSERT_VALUES, TASK_UPDATE, TaskVals, sqlite_params};
use crate::{
    ClaimSpec, EventQuery, ListFilter, NextClaim, ProcessInfo, Pruned, Result, Run, RunEnd, Settle, StoreError, Tx,
    ViewHistory, ViewInfo, ViewKept, ViewMark, ViewRow,
};
use jiff::Timestamp;
use orch_core::event::Event;
use orch_core::id::{MAX_ID_NUM, parse_id};
use orch_core::outcome::Usage;
use orch_core::schedule::Schedule;
use orch_core::task::{Priority, Status, Task};
use rusqlite::{OptionalExtension, ToSql, params};
use std::collections::HashMap;
use std::sync::OnceLock;

impl Tx for SqliteTx<'_> {
    fn task_get(&mut self, id: &str) -> Result<Option<Task>> {
        let sql = format!("SELECT {TASK_COLS} FROM tasks WHERE id = ?1");
        Ok(self.tx.prepare_cached(&sql)?.query_row([id], task_from_row).optional()?)
    }

    fn task_insert(&mut self, t: &Task) -> Result<()> {
        let (prefix, num) = parse_id(&t.id).ok_or_else(|| StoreError::Db(format!("bad id {}", t.id)))?;
        // Nothing is inserted when the prefix and number are taken (by this id, or by
        // another spelling of it). A write transaction here is `BEGIN IMMEDIATE`, so no
        // other writer comes between the look and the insert; a plain `INSERT … VALUES`
        // costs a third less than one `INSERT … SELECT … WHERE NOT EXISTS`, which SQLite
        // runs through a temporary table and a statement journal.
        if let Some(other) = self.task_by_number(prefix, num)? {
            let also = if other == t.id { String::new() } else { format!(", as {other}") };
            return Err(StoreError::Conflict(format!("task {} exists already{also}", t.id)));
        }
        static SQL: OnceLock<String> = OnceLock::new();
        let sql = SQL.get_or_init(|| {
            sqlite_params(&format!("INSERT INTO tasks ({TASK_INSERT_COLS}) VALUES ({TASK_INSERT_VALUES})"))
        });
        let vals = NewTaskVals::of(t, prefix, num);
        self.tx.prepare_cached(sql)?.execute(&task_insert_params!(vals, dyn ToSql)[..]).map_err(|e| {
            match super::error::db_err(e) {
                StoreError::Conflict(_) => StoreError::Conflict(format!("task {} exists already", t.id)),
                other => other,
            }
        })?;
        let mut dep = self.tx.prepare_cached("INSERT OR IGNORE INTO deps (task_id, depends_on) VALUES (?1, ?2)")?;
        for d in &t.depends_on {
            dep.execute([&t.id, d])?;
        }
        Ok(())
    }

    fn task_update(&mut self, t: &Task) -> Result<Task> {
        static SQL: OnceLock<String> = OnceLock::new();
        let sql = SQL.get_or_init(|| sqlite_params(TASK_UPDATE));
        let v = TaskVals::of(t);
        let n = self.tx.prepare_cached(sql)?.execute(&task_update_params!(v, dyn ToSql)[..])?;
        if n == 0 {
            return Err(StoreError::Conflict(format!("{} changed under us (version {})", t.id, t.version)));
        }
        let mut out = t.clone();
        out.version += 1;
        Ok(out)
    }

    fn task_by_number(&mut self, prefix: &str, num: u64) -> Result<Option<String>> {
        let num = i64::try_from(num).unwrap_or(i64::MAX);
        Ok(self
            .tx
            .prepare_cached("SELECT id FROM tasks WHERE prefix = ?1 AND num = ?2 ORDER BY seq LIMIT 1")?
            .query_row(params![prefix, num], |r| r.get(0))
            .optional()?)
    }

    fn dependents_of(&mut self, id: &str) -> Result<Vec<Task>> {
        let sql = format!(
            "SELECT {TASK_COLS} FROM tasks WHERE id IN (SELECT task_id FROM deps WHERE depends_on = ?1) ORDER BY seq"
        );
        let mut stmt = self.tx.prepare_cached(&sql)?;
        let rows = stmt.query_map([id], task_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn task_max_num(&mut self, prefix: &str) -> Result<u64> {
        let n: Option<i64> = self
            .tx
            .prepare_cached("SELECT MAX(num) FROM tasks WHERE prefix = ?1 AND num <= ?2")?
            .query_row(params![prefix, MAX_ID_NUM as i64], |r| r.get(0))?;
        Ok(n.unwrap_or(0).max(0) as u64)
    }

    fn task_nums_from(&mut self, prefix: &str, from: u64, limit: usize) -> Result<Vec<u64>> {
        let mut stmt =
            self.tx.prepare_cached("SELECT num FROM tasks WHERE prefix = ?1 AND num >= ?2 ORDER BY num LIMIT ?3")?;
        let rows =
            stmt.query_map(params![prefix, from.min(i64::MAX as u64) as i64, limit as i64], |r| r.get::<_, i64>(0))?;
        Ok(rows.map(|n| n.map(|n| n.max(0) as u64)).collect::<rusqlite::Result<_>>()?)
    }

    fn task_list(&mut self, filter: &ListFilter) -> Result<Vec<Task>> {
        let sql = crate::task_list_sql(TASK_COLS, filter);
        let mut stmt = self.tx.prepare_cached(&sql)?;
        let rows = stmt.query_map([], task_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn tasks_each(
        &mut self,
        filter: &ListFilter,
        limit: Option<u64>,
        offset: u64,
        f: &mut dyn FnMut(Task) -> Result<()>,
    ) -> Result<()> {
        let sql = crate::tasks_each_sql(TASK_COLS, filter, crate::Dialect::Sqlite);
        let limit = limit.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        // A walk over the whole table would map all of it into memory (the connection's
        // `mmap_size`): read through the page cache instead, and restore it after.
        let mmap: i64 = self.tx.query_row("PRAGMA mmap_size", [], |r| r.get(0))?;
        self.tx.execute_batch("PRAGMA mmap_size = 0")?;
        let walked = (|| {
            let mut stmt = self.tx.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![limit, offset])?;
            while let Some(row) = rows.next()? {
                f(task_from_row(row)?)?;
            }
            Ok(())
        })();
        self.tx.execute_batch(&format!("PRAGMA mmap_size = {mmap}"))?;
        walked
    }

    fn tasks_waiting(&mut self, now: Timestamp) -> Result<u64> {
        let sql = sqlite_params(crate::TASKS_WAITING_SQL);
        let n: i64 = self.tx.prepare_cached(&sql)?.query_row([ms(now)], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    fn task_counts(&mut self) -> Result<Vec<(Status, Priority, u64)>> {
        let mut stmt = self.tx.prepare_cached(crate::TASK_COUNTS_SQL)?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (status, rank, n) = row?;
            out.push(crate::task_count(&status, rank, n)?);
        }
        Ok(out)
    }

    fn claim_candidates(&mut self, now: Timestamp, limit: usize) -> Result<Vec<Task>> {
        Ok(super::claim::candidates(self.tx, ms(now), limit)?)
    }

    fn claim_next(&mut self, spec: &ClaimSpec<'_>) -> Result<NextClaim> {
        super::claim::claim_next(self, spec)
    }

    fn task_settle(&mut self, s: &Settle<'_>) -> Result<bool> {
        crate::settle_in_steps(self, s)
    }

    fn lock_counted_claims(&mut self) -> Result<()> {
        // Write transactions begin IMMEDIATE: one at a time, each seeing all before it.
        Ok(())
    }

    fn expired_leases(&mut self, now: Timestamp) -> Result<Vec<Task>> {
        let mut stmt = self.tx.prepare_cached(&expired_sql())?;
        let rows = stmt.query_map([ms(now)], task_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn idempotency_owner(&mut self, key: &str) -> Result<Option<String>> {
        Ok(self
            .tx
            .prepare_cached("SELECT task_id FROM idempotency WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    }

    fn idempotency_claim(&mut self, key: &str, task_id: &str) -> Result<bool> {
        let n = self
            .tx
            .prepare_cached("INSERT OR IGNORE INTO idempotency (key, task_id) VALUES (?1, ?2)")?
            .execute([key, task_id])?;
        Ok(n == 1)
    }

    fn run_insert(&mut self, r: &Run) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO runs (id, task_id, attempt, owner, trace_id, lease_token, host, pid, pgid, started_at, \
                 spawned_by, dispatcher) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?
            .execute(params![
                r.id,
                r.task_id,
                r.attempt,
                r.owner,
                r.trace_id,
                r.lease_token,
                r.host,
                r.pid,
                r.pgid,
                ms(r.started_at),
                r.spawned_by,
                r.dispatcher
            ])?;
        Ok(())
    }

    fn run_end(&mut self, run_id: &str, e: &RunEnd<'_>) -> Result<()> {
        self.tx
            .prepare_cached(
                "UPDATE runs SET ended_at = ?2, outcome = ?3, class = ?4, reason = ?5, \
                 report = COALESCE(?6, report) WHERE id = ?1 AND ended_at IS NULL",
            )?
            .execute(params![run_id, ms(e.at), e.outcome, e.class.map(|c| c.as_str()), e.reason, e.report])?;
        Ok(())
    }

    fn run_get(&mut self, run_id: &str) -> Result<Option<Run>> {
        let sql = format!("SELECT {RUN_COLS} FROM runs WHERE id = ?1");
        Ok(self.tx.prepare_cached(&sql)?.query_row([run_id], run_from_row).optional()?)
    }

    fn run_by_token(&mut self, token: &str) -> Result<Option<Run>> {
        let sql = format!("SELECT {RUN_COLS} FROM runs WHERE lease_token = ?1");
        Ok(self.tx.prepare_cached(&sql)?.query_row([token], run_from_row).optional()?)
    }

    fn task_and_holder(&mut self, id: &str, token: &str) -> Result<Option<(Task, Option<Run>)>> {
        crate::task_and_holder_in_steps(self, id, token)
    }

    fn run_late_report(&mut self, run_id: &str, report: &str) -> Result<()> {
        self.tx.prepare_cached("UPDATE runs SET late_report = ?2 WHERE id = ?1")?.execute([run_id, report])?;
        Ok(())
    }

    fn run_set_process(&mut self, run_id: &str, p: &ProcessInfo) -> Result<()> {
        self.tx
            .prepare_cached(
                "UPDATE runs SET host = ?2, pid = ?3, pgid = ?4, proc_start = ?5, spawned_by = ?6 WHERE id = ?1",
            )?
            .execute(params![run_id, p.host, p.pid, p.pgid, p.proc_start, p.spawned_by])?;
        Ok(())
    }

    fn runs_live_on(&mut self, host: &str) -> Result<Vec<Run>> {
        let sql = format!(
            "SELECT {RUN_COLS} FROM runs WHERE host = ?1 AND ended_at IS NULL AND dispatcher IS NOT NULL \
             ORDER BY started_at"
        );
        let mut stmt = self.tx.prepare_cached(&sql)?;
        let rows = stmt.query_map([host], run_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn run_add_usage(&mut self, run_id: &str, u: &Usage) -> Result<()> {
        self.tx
            .prepare_cached(
                "UPDATE runs SET input_tokens = input_tokens + ?2, output_tokens = output_tokens + ?3, \
                 cost_usd = cost_usd + ?4 WHERE id = ?1",
            )?
            .execute(params![run_id, u.input_tokens as i64, u.output_tokens as i64, u.cost_usd])?;
        Ok(())
    }

    fn run_set_session(&mut self, run_id: &str, session: &str) -> Result<()> {
        self.tx.prepare_cached("UPDATE runs SET session = ?2 WHERE id = ?1")?.execute([run_id, session])?;
        Ok(())
    }

    fn cost_since(&mut self, since: Timestamp) -> Result<f64> {
        Ok(self
            .tx
            .prepare_cached("SELECT COALESCE(SUM(cost_usd), 0) FROM runs WHERE started_at >= ?1")?
            .query_row([ms(since)], |r| r.get(0))?)
    }

    fn run_set_verdict(&mut self, run_id: &str, verdict: &str, reason: &str) -> Result<()> {
        self.tx
            .prepare_cached("UPDATE runs SET verdict = ?2, verdict_reason = ?3 WHERE id = ?1")?
            .execute([run_id, verdict, reason])?;
        Ok(())
    }

    fn runs_of(&mut self, task_id: &str) -> Result<Vec<Run>> {
        let sql = format!("SELECT {RUN_COLS} FROM runs WHERE task_id = ?1 ORDER BY started_at, rowid");
        let mut stmt = self.tx.prepare_cached(&sql)?;
        let rows = stmt.query_map([task_id], run_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn event_insert(&mut self, e: &Event) -> Result<i64> {
        self.tx
            .prepare_cached(
                "INSERT INTO events (ts, level, event, task_id, run_id, trace_id, owner, attempt, \
                 from_status, to_status, msg, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, NULLIF(?12, 0))",
            )?
            .execute(params![
                ms(e.ts),
                e.level.as_str(),
                e.event,
                e.task_id,
                e.run_id,
                e.trace_id,
                e.owner,
                e.attempt,
                e.from.map(|s| s.as_str()),
                e.to.map(|s| s.as_str()),
                e.msg,
                e.seq
            ])?;
        Ok(self.tx.last_insert_rowid())
    }

    fn events_insert(&mut self, events: &[Event]) -> Result<()> {
        for e in events {
            self.event_insert(e)?;
        }
        Ok(())
    }

    fn events_after(&mut self, seq: i64, limit: usize) -> Result<Vec<Event>> {
        super::events::events_after(self.tx, seq, limit)
    }

    fn events_query(&mut self, q: &EventQuery) -> Result<Vec<Event>> {
        use rusqlite::types::Value;
        let mut args: Vec<Value> = vec![Value::Integer(q.after)];
        let mut conds = vec!["seq > ?1".to_string()];
        let bind = |args: &mut Vec<Value>, v: Value| {
            args.push(v);
            format!("?{}", args.len())
        };
        if let Some(since) = q.since {
            conds.push(format!("ts >= {}", bind(&mut args, Value::Integer(ms(since)))));
        }
        if let Some(t) = &q.task_id {
            conds.push(format!("task_id = {}", bind(&mut args, Value::Text(t.clone()))));
        }
        if let Some(r) = &q.run_id {
            conds.push(format!("run_id = {}", bind(&mut args, Value::Text(r.clone()))));
        }
        if !q.kinds.is_empty() {
            let names: Vec<String> = q.kinds.iter().map(|k| bind(&mut args, Value::Text(k.clone()))).collect();
            conds.push(format!("event IN ({})", names.join(", ")));
        }
        let order = if q.newest_first { "DESC" } else { "ASC" };
        // LIMIT -1 is no limit in SQLite.
        let limit = bind(&mut args, Value::Integer(if q.limit == 0 { -1 } else { q.limit as i64 }));
        let sql =
            format!("SELECT {EVENT_COLS} FROM events WHERE {} ORDER BY seq {order} LIMIT {limit}", conds.join(" AND "));
        let mut stmt = self.tx.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), event_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn events_of_tasks_run_since(&mut self, since: Timestamp, kinds: &[&str]) -> Result<Vec<Event>> {
        use rusqlite::types::Value;
        let mut args = vec![Value::Integer(ms(since))];
        args.extend(kinds.iter().map(|k| Value::Text(k.to_string())));
        let names: Vec<String> = (2..=args.len()).map(|i| format!("?{i}")).collect();
        let kinds_cond = if kinds.is_empty() { String::new() } else { format!(" AND event IN ({})", names.join(", ")) };
        let sql = format!(
            "SELECT {EVENT_COLS} FROM events WHERE task_id IN (SELECT task_id FROM runs WHERE started_at >= ?1){kinds_cond} \
             ORDER BY task_id, seq"
        );
        let mut stmt = self.tx.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), event_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn runs_since(&mut self, since: Timestamp) -> Result<Vec<Run>> {
        let sql = format!(
            "SELECT {RUN_COLS} FROM runs WHERE started_at >= ?1 OR ended_at >= ?1 OR ended_at IS NULL \
             ORDER BY started_at, rowid"
        );
        let mut stmt = self.tx.prepare_cached(&sql)?;
        let rows = stmt.query_map([ms(since)], run_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn prune_before(&mut self, cutoff: Timestamp) -> Result<Pruned> {
        const OLD_DONE: &str = "SELECT id FROM tasks WHERE status = 'DONE' AND updated_at < ?1";
        let mut tasks = std::collections::HashSet::new();
        let mut run_ids = Vec::new();
        {
            let sql = format!(
                "DELETE FROM runs AS r WHERE r.task_id IN ({OLD_DONE}) AND r.ended_at IS NOT NULL \
                 AND EXISTS (SELECT 1 FROM runs l WHERE l.task_id = r.task_id \
                     AND (l.started_at > r.started_at OR (l.started_at = r.started_at AND l.rowid > r.rowid))) \
                 RETURNING id, task_id"
            );
            let mut stmt = self.tx.prepare(&sql)?;
            let mut rows = stmt.query([ms(cutoff)])?;
            while let Some(row) = rows.next()? {
                run_ids.push(row.get::<_, String>(0)?);
                tasks.insert(row.get::<_, String>(1)?);
            }
        }
        let mut events = 0;
        let sql = format!(
            "DELETE FROM events WHERE ts < ?1 AND (task_id IS NULL OR task_id IN ({OLD_DONE})) \
                 AND seq < (SELECT MAX(seq) FROM events) RETURNING task_id"
        );
        let mut stmt = self.tx.prepare(&sql)?;
        let mut rows = stmt.query([ms(cutoff)])?;
        while let Some(row) = rows.next()? {
            events += 1;
            if let Some(t) = row.get::<_, Option<String>>(0)? {
                tasks.insert(t);
            }
        }
        Ok(Pruned { run_ids, events, tasks: tasks.len() as u64 })
    }

    fn schedules(&mut self) -> Result<Vec<Schedule>> {
        self.schedule_list()
    }

    fn schedule_get(&mut self, name: &str) -> Result<Option<Schedule>> {
        self.schedule_read(name)
    }

    fn schedule_insert(&mut self, s: &Schedule) -> Result<()> {
        self.schedule_add(s)
    }

    fn schedule_update(&mut self, s: &Schedule) -> Result<Schedule> {
        self.schedule_write(s)
    }

    fn schedule_delete(&mut self, name: &str) -> Result<bool> {
        self.schedule_remove(name)
    }

    fn dispatcher_put(&mut self, d: &crate::DispatcherRecord) -> Result<()> {
        self.dispatcher_write(d)
    }

    fn dispatchers(&mut self) -> Result<Vec<crate::DispatcherRecord>> {
        self.dispatcher_list()
    }

    fn dispatchers_prune(&mut self, unseen_before: Timestamp) -> Result<u64> {
        self.dispatcher_prune(unseen_before)
    }

    fn meta_get(&mut self, key: &str) -> Result<Option<String>> {
        Ok(self
            .tx
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    }

    fn meta_set(&mut self, key: &str, value: &str) -> Result<()> {
        self.tx
            .prepare_cached("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2")?
            .execute([key, value])?;
        Ok(())
    }

    fn meta_all(&mut self) -> Result<Vec<(String, String)>> {
        let mut stmt = self.tx.prepare_cached("SELECT key, value FROM meta ORDER BY key")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn view_rows(&mut self, view: &str, kept: ViewKept) -> Result<Vec<(Task, Option<ViewMark>)>> {
        super::views::rows(self.tx, view, kept)
    }

    fn view_lines(&mut self, view: &str, kept: ViewKept) -> Result<Vec<ViewRow>> {
        super::views::lines(self.tx, view, kept)
    }

    fn view_versions(&mut self, kept: ViewKept) -> Result<Vec<(String, i64)>> {
        super::views::versions(self.tx, kept)
    }

    fn view_mark(&mut self, view: &str, task_id: &str) -> Result<Option<ViewMark>> {
        super::views::mark(self.tx, view, task_id)
    }

    fn view_marks(&mut self, view: &str) -> Result<HashMap<String, ViewMark>> {
        super::views::marks(self.tx, view)
    }

    fn view_mark_set(&mut self, view: &str, task_id: &str, m: &ViewMark) -> Result<()> {
        super::history::before_mark(self.tx, view, task_id, &m.line)?;
        super::views::mark_set(self.tx, view, task_id, m)
    }

    fn view_history(&mut self, view: &str, task_id: &str) -> Result<ViewHistory> {
        super::history::history(self.tx, view, task_id)
    }

    fn view_get(&mut self, view: &str) -> Result<Option<ViewInfo>> {
        super::views::get(self.tx, view)
    }

    fn view_set_hash(&mut self, view: &str, hash: &str) -> Result<()> {
        super::views::set_hash(self.tx, view, hash)
    }

    fn view_set_frame(&mut self, view: &str, frame: &str) -> Result<()> {
        super::views::set_frame(self.tx, view, frame)
    }

    fn views(&mut self) -> Result<Vec<(String, ViewInfo)>> {
        super::views::all(self.tx)
    }

    fn view_rename(&mut self, from: &str, to: &str) -> Result<()> {
        super::views::rename(self.tx, from, to)
    }
}
