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
//! - claims that count a profile's running tasks first: one advisory lock
//!   (`lock_counted_claims`), so two dispatchers never both count the same free place;
//! - events: see `events`.
//!
//! Read transactions are REPEATABLE READ READ ONLY: one snapshot, no locks.
//! Transactions begin lazily: BEGIN goes out with their first statement, one round trip
//! for both. A task change a dispatcher could
//! act on (see `tasks`) queues a NOTIFY, sent with the COMMIT in one round trip; others
//! commit without one, since every NOTIFY takes a database-wide lock at commit.
//!
//! The primitives live by area — `tasks`, `claim`, `runs`, `events`, `views` — as
//! methods of [`PgTx`] (the transaction and its statements are `txn`'s); the [`Tx`]
//! implementation here forwards to them.

use super::rows::{TASK_COLS, ms, task_from_row};
use super::txn::PgTx;
use super::{claim, events, locks};
use crate::{
    ClaimSpec, EventQuery, ListFilter, NextClaim, ProcessInfo, Pruned, Result, Run, RunEnd, Settle, StoreError, Tx,
    ViewHistory, ViewInfo, ViewKept, ViewMark, ViewRow,
};
use jiff::Timestamp;
use orch_core::event::Event;
use orch_core::outcome::Usage;
use orch_core::schedule::Schedule;
use orch_core::task::{Priority, Status, Task};
use std::collections::HashMap;

impl Tx for PgTx<'_> {
    fn task_get(&mut self, id: &str) -> Result<Option<Task>> {
        let sql = format!("SELECT {TASK_COLS} FROM tasks WHERE id = $1{}", self.lock_suffix(" FOR UPDATE"));
        self.query_opt(&sql, &[&id])?.as_ref().map(task_from_row).transpose()
    }

    fn task_insert(&mut self, t: &Task) -> Result<()> {
        self.insert_task(t)
    }

    fn task_update(&mut self, t: &Task) -> Result<Task> {
        self.update_task(t)
    }

    fn task_settle(&mut self, s: &Settle<'_>) -> Result<bool> {
        self.settle_task(s)
    }

    fn task_by_number(&mut self, prefix: &str, num: u64) -> Result<Option<String>> {
        self.number_taken_by(prefix, i64::try_from(num).unwrap_or(i64::MAX))
    }

    fn dependents_of(&mut self, id: &str) -> Result<Vec<Task>> {
        self.dependents(id)
    }

    fn task_max_num(&mut self, prefix: &str) -> Result<u64> {
        self.max_num(prefix)
    }

    fn task_nums_from(&mut self, prefix: &str, from: u64, limit: usize) -> Result<Vec<u64>> {
        self.nums_from(prefix, from, limit)
    }

    fn task_list(&mut self, filter: &ListFilter) -> Result<Vec<Task>> {
        self.list_tasks(filter)
    }

    fn tasks_each(
        &mut self,
        filter: &ListFilter,
        limit: Option<u64>,
        offset: u64,
        f: &mut dyn FnMut(Task) -> Result<()>,
    ) -> Result<()> {
        let sql = crate::tasks_each_sql(TASK_COLS, filter, crate::Dialect::Postgres);
        let limit = limit.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        self.query_each(&sql, &[&limit, &offset], &mut |row| f(task_from_row(row)?))
    }

    fn tasks_waiting(&mut self, now: Timestamp) -> Result<u64> {
        let n: i64 = self.query(crate::TASKS_WAITING_SQL, &[&ms(now)])?[0].get(0);
        Ok(n.max(0) as u64)
    }

    fn task_counts(&mut self) -> Result<Vec<(Status, Priority, u64)>> {
        let rows = self.query(crate::TASK_COUNTS_SQL, &[])?;
        rows.iter()
            .map(|r| {
                let cell = |e: postgres::Error| StoreError::Db(format!("reading a task count: {e}"));
                let status: String = r.try_get(0).map_err(cell)?;
                crate::task_count(&status, r.try_get(1).map_err(cell)?, r.try_get(2).map_err(cell)?)
            })
            .collect()
    }

    fn claim_candidates(&mut self, now: Timestamp, limit: usize) -> Result<Vec<Task>> {
        claim::candidates(self, now, limit)
    }

    fn claim_next(&mut self, spec: &ClaimSpec<'_>) -> Result<NextClaim> {
        claim::claim_next(self, spec)
    }

    fn lock_counted_claims(&mut self) -> Result<()> {
        // READ COMMITTED: each statement after the lock sees what committed before it.
        self.execute("SELECT pg_advisory_xact_lock($1, $2)", &[&locks::NS, &locks::COUNTED_CLAIMS]).map(|_| ())
    }

    fn expired_leases(&mut self, now: Timestamp) -> Result<Vec<Task>> {
        self.expired(ms(now))
    }

    fn idempotency_owner(&mut self, key: &str) -> Result<Option<String>> {
        self.key_owner(key)
    }

    fn idempotency_claim(&mut self, key: &str, task_id: &str) -> Result<bool> {
        self.take_key(key, task_id)
    }

    fn run_insert(&mut self, r: &Run) -> Result<()> {
        self.insert_run(r)
    }

    fn run_end(&mut self, run_id: &str, e: &RunEnd<'_>) -> Result<()> {
        self.end_run(run_id, e)
    }

    fn run_get(&mut self, run_id: &str) -> Result<Option<Run>> {
        Ok(self.runs_where("id = $1", "", &run_id)?.into_iter().next())
    }

    fn run_by_token(&mut self, token: &str) -> Result<Option<Run>> {
        Ok(self.runs_where("lease_token = $1", "", &token)?.into_iter().next())
    }

    fn task_and_holder(&mut self, id: &str, token: &str) -> Result<Option<(Task, Option<Run>)>> {
        self.task_with_holder(id, token)
    }

    fn run_late_report(&mut self, run_id: &str, report: &str) -> Result<()> {
        self.set_late_report(run_id, report)
    }

    fn run_set_process(&mut self, run_id: &str, p: &ProcessInfo) -> Result<()> {
        self.set_process(run_id, p)
    }

    fn runs_live_on(&mut self, host: &str) -> Result<Vec<Run>> {
        let live = "host = $1 AND ended_at IS NULL AND dispatcher IS NOT NULL";
        self.runs_where(live, " ORDER BY started_at, n", &host)
    }

    fn run_add_usage(&mut self, run_id: &str, u: &Usage) -> Result<()> {
        self.add_usage(run_id, u)
    }

    fn run_set_session(&mut self, run_id: &str, session: &str) -> Result<()> {
        self.set_session(run_id, session)
    }

    fn cost_since(&mut self, since: Timestamp) -> Result<f64> {
        self.cost_from(ms(since))
    }

    fn run_set_verdict(&mut self, run_id: &str, verdict: &str, reason: &str) -> Result<()> {
        self.set_verdict(run_id, verdict, reason)
    }

    fn runs_of(&mut self, task_id: &str) -> Result<Vec<Run>> {
        self.runs_where("task_id = $1", " ORDER BY started_at, n", &task_id)
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
        let cond = "started_at >= $1 OR ended_at >= $1 OR ended_at IS NULL";
        self.runs_where(cond, " ORDER BY started_at, n", &ms(since))
    }

    fn prune_before(&mut self, cutoff: Timestamp) -> Result<Pruned> {
        self.prune(ms(cutoff))
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

    fn view_rows(&mut self, view: &str, kept: ViewKept) -> Result<Vec<(Task, Option<ViewMark>)>> {
        self.rows_of_view(view, kept)
    }

    fn view_lines(&mut self, view: &str, kept: ViewKept) -> Result<Vec<ViewRow>> {
        self.lines_of_view(view, kept)
    }

    fn view_versions(&mut self, kept: ViewKept) -> Result<Vec<(String, i64)>> {
        self.versions_of_view(kept)
    }

    fn view_mark(&mut self, view: &str, task_id: &str) -> Result<Option<ViewMark>> {
        self.mark_of_view(view, task_id)
    }

    fn view_marks(&mut self, view: &str) -> Result<HashMap<String, ViewMark>> {
        self.marks_of_view(view)
    }

    fn view_mark_set(&mut self, view: &str, task_id: &str, m: &ViewMark) -> Result<()> {
        self.history_before_mark(view, task_id, &m.line)?;
        self.set_mark(view, task_id, m)
    }

    fn view_history(&mut self, view: &str, task_id: &str) -> Result<ViewHistory> {
        self.history_of_view(view, task_id)
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
