//! `kpi`: the data behind the indicators — the runs active in a window, the events that
//! give each claim its queue wait, the leases expired now — handed to the pure
//! computation in `orch_core::kpi`. Definitions are in `docs/KPI.md`.

use super::Orch;
use crate::error::Result;
use jiff::SignedDuration;
use orch_core::kpi::{self, Input, Kpi, RunSample, Thresholds, WAIT_EVENTS};

impl Orch {
    /// The indicators over the last `window`, with their alerts.
    pub fn kpi(&self, window: SignedDuration) -> Result<Kpi> {
        let until = self.now();
        let since = orch_core::time::earlier(until, window.abs());
        let (runs, events, stale) = orch_store::read(self.db.as_ref(), |tx| {
            Ok((
                tx.runs_since(since)?,
                tx.events_of_tasks_run_since(since, WAIT_EVENTS)?,
                tx.expired_leases(until)?.len(),
            ))
        })?;
        let samples: Vec<RunSample> = runs
            .iter()
            .map(|r| RunSample {
                started_at: r.started_at,
                ended_at: r.ended_at,
                outcome: r.outcome.clone(),
                attempt: r.attempt,
                usage: r.usage,
                verdict: r.verdict.clone(),
            })
            .collect();
        // The store returns them by task: one task's events at a time.
        let waits: Vec<SignedDuration> = events
            .chunk_by(|a, b| a.task_id == b.task_id)
            .flat_map(kpi::queue_waits)
            .filter(|(at, _)| *at >= since && *at <= until)
            .map(|(_, w)| w)
            .collect();
        let a = &self.config.alerts;
        let limits = Thresholds {
            failure_rate: a.failure_rate,
            latency_p95: a.latency_p95,
            stale: a.stale,
            min_runs: a.min_runs,
            daily_cost_usd: self.config.budget.daily_cost_usd,
        };
        let (cost_today_usd, _) = self.spent_today()?;
        Ok(kpi::compute(&Input { since, until, runs: &samples, waits: &waits, stale, cost_today_usd }, &limits))
    }
}
