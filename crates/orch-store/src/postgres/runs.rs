//! Runs on PostgreSQL: their start, end, process, usage and verdict, the reads of them,
//! and retention (`prune`), which removes runs and events together.

use super::rows::{RUN_COLS, TASK_COLS, count, ms, run_from_row_at, task_from_row};
use super::txn::{Mode, PgTx};
use crate::{ProcessInfo, Pruned, Result, Run, RunEnd};
use orch_core::outcome::Usage;
use orch_core::task::Task;

impl PgTx<'_> {
    pub(super) fn insert_run(&mut self, r: &Run) -> Result<()> {
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

    pub(super) fn end_run(&mut self, run_id: &str, e: &RunEnd<'_>) -> Result<()> {
        self.execute(
            "UPDATE runs SET ended_at = $2, outcome = $3, class = $4, reason = $5, \
             report = COALESCE($6, report) WHERE id = $1 AND ended_at IS NULL",
            &[&run_id, &ms(e.at), &e.outcome, &e.class.map(|c| c.as_str()), &e.reason, &e.report],
        )?;
        Ok(())
    }

    /// Runs matching `cond` (a WHERE clause on `$1`) in `order`.
    pub(super) fn runs_where(
        &mut self,
        cond: &str,
        order: &str,
        arg: &(dyn postgres::types::ToSql + Sync),
    ) -> Result<Vec<Run>> {
        let sql = format!("SELECT {RUN_COLS} FROM runs WHERE {cond}{order}");
        self.query(&sql, &[arg])?.iter().map(super::rows::run_from_row).collect()
    }

    /// A task and the run its lease token `token` holds, in one statement.
    pub(super) fn task_with_holder(&mut self, id: &str, token: &str) -> Result<Option<(Task, Option<Run>)>> {
        static SQL: std::sync::OnceLock<[String; 2]> = std::sync::OnceLock::new();
        let [read, write] = SQL.get_or_init(|| {
            let prefixed =
                |a: &str, cols: &str| cols.split(", ").map(|c| format!("{a}.{c}")).collect::<Vec<_>>().join(", ");
            let sql = format!(
                "SELECT {}, {} FROM tasks t LEFT JOIN runs r ON t.lease_token = $2 AND r.lease_token = $2 \
                 WHERE t.id = $1",
                prefixed("t", TASK_COLS),
                prefixed("r", RUN_COLS)
            );
            [sql.clone(), format!("{sql} FOR UPDATE OF t")]
        });
        let sql = if self.mode() == Mode::Write { write } else { read };
        let Some(row) = self.query_opt(sql, &[&id, &token])? else { return Ok(None) };
        let task = task_from_row(&row)?;
        let at = TASK_COLS.split(", ").count();
        let run = match row.get::<_, Option<String>>(at) {
            Some(_) => Some(run_from_row_at(&row, at)?),
            None => None,
        };
        Ok(Some((task, run)))
    }

    pub(super) fn set_late_report(&mut self, run_id: &str, report: &str) -> Result<()> {
        self.execute("UPDATE runs SET late_report = $2 WHERE id = $1", &[&run_id, &report])?;
        Ok(())
    }

    pub(super) fn set_process(&mut self, run_id: &str, p: &ProcessInfo) -> Result<()> {
        self.execute(
            "UPDATE runs SET host = $2, pid = $3, pgid = $4, proc_start = $5, spawned_by = $6 WHERE id = $1",
            &[&run_id, &p.host, &p.pid, &p.pgid, &p.proc_start, &p.spawned_by],
        )?;
        Ok(())
    }

    pub(super) fn add_usage(&mut self, run_id: &str, u: &Usage) -> Result<()> {
        self.execute(
            "UPDATE runs SET input_tokens = input_tokens + $2, output_tokens = output_tokens + $3, \
             cost_usd = cost_usd + $4 WHERE id = $1",
            &[&run_id, &(u.input_tokens as i64), &(u.output_tokens as i64), &u.cost_usd],
        )?;
        Ok(())
    }

    pub(super) fn cost_from(&mut self, since: i64) -> Result<f64> {
        let rows =
            self.query("SELECT COALESCE(SUM(cost_usd), 0)::float8 FROM runs WHERE started_at >= $1", &[&since])?;
        Ok(rows[0].get(0))
    }

    pub(super) fn set_session(&mut self, run_id: &str, session: &str) -> Result<()> {
        self.execute("UPDATE runs SET session = $2 WHERE id = $1", &[&run_id, &session])?;
        Ok(())
    }

    pub(super) fn set_verdict(&mut self, run_id: &str, verdict: &str, reason: &str) -> Result<()> {
        self.execute("UPDATE runs SET verdict = $2, verdict_reason = $3 WHERE id = $1", &[&run_id, &verdict, &reason])?;
        Ok(())
    }

    pub(super) fn prune(&mut self, cut: i64) -> Result<Pruned> {
        const OLD_DONE: &str = "SELECT id FROM tasks WHERE status = 'DONE' AND updated_at < $1";
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
}
