//! Observability reads. `workers`: the fleet as the database sees it — every lease held
//! now, with its owner, task, run, how long it has run, how long the lease has left and
//! when it was last renewed (its newest `lease.renewed` event) — and the queue by
//! priority and status, and the dispatchers with whether each is alive (`dispatchers`).
//! `events`: pages of the event log, and waiting for more.

use super::Orch;
use crate::error::Result;
use jiff::Timestamp;
use orch_core::event::{Event, kind};
use orch_core::task::{Priority, Status};
use orch_store::{EventQuery, ListFilter, StoreError};
use serde::Serialize;
use std::collections::BTreeMap;

/// One lease held now.
#[derive(Clone, Debug, Serialize)]
pub struct Holder {
    pub owner: String,
    pub task_id: String,
    pub task: String,
    pub priority: Priority,
    pub run_id: Option<String>,
    pub trace_id: Option<String>,
    pub attempt: u32,
    pub host: Option<String>,
    pub pid: Option<i64>,
    pub started_at: Option<Timestamp>,
    pub elapsed_s: Option<f64>,
    pub lease_expires_at: Option<Timestamp>,
    /// Negative once the lease expired (the watchdog has not swept it yet).
    pub lease_left_s: Option<f64>,
    /// The last renewal; `None` when the lease was never renewed since the claim.
    pub last_heartbeat: Option<Timestamp>,
    pub heartbeat_age_s: Option<f64>,
    /// The task's worker profile, when not `default`, with its labels from orch.toml.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
}

/// The fleet and the queue.
#[derive(Clone, Debug, Serialize)]
pub struct Fleet {
    pub now: Timestamp,
    pub workers: Vec<Holder>,
    /// Priority, then status: how many tasks (every priority and status listed).
    pub queue: BTreeMap<String, BTreeMap<String, usize>>,
    /// The pauses in force (`orch pause`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub paused: Vec<super::Pause>,
    /// Every dispatcher recorded (`orch run`), by host, then start.
    pub dispatchers: Vec<super::DispatcherLive>,
}

impl Orch {
    pub fn fleet(&self) -> Result<Fleet> {
        let now = self.now();
        let secs = |a: Timestamp, b: Timestamp| a.duration_since(b).as_secs_f64();
        let (counts, mut workers, dispatchers) = orch_store::read(self.db.as_ref(), |tx| {
            let in_progress = ListFilter { statuses: vec![Status::InProgress], ..ListFilter::default() };
            let mut workers = Vec::new();
            for t in &tx.task_list(&in_progress)? {
                let run = match &t.run_id {
                    Some(id) => tx.run_get(id)?,
                    None => None,
                };
                let beat = match &t.run_id {
                    Some(run_id) => tx
                        .events_query(&EventQuery {
                            task_id: Some(t.id.clone()),
                            run_id: Some(run_id.clone()),
                            kinds: vec![kind::LEASE_RENEWED.to_string()],
                            limit: 1,
                            newest_first: true,
                            ..EventQuery::default()
                        })?
                        .first()
                        .map(|e| e.ts),
                    None => None,
                };
                let expires = t.lease.as_ref().map(|l| l.expires_at);
                let profile = Some(t.profile()).filter(|p| *p != orch_core::task::DEFAULT_PROFILE);
                let labels = profile.and_then(|p| self.config.profiles.get(p));
                workers.push(Holder {
                    owner: t.owner.clone().unwrap_or_else(|| "-".into()),
                    task_id: t.id.clone(),
                    task: t.task.clone(),
                    priority: t.priority,
                    run_id: t.run_id.clone(),
                    trace_id: run.as_ref().map(|r| r.trace_id.clone()),
                    attempt: t.attempts,
                    host: run.as_ref().and_then(|r| r.host.clone()),
                    pid: run.as_ref().and_then(|r| r.pid),
                    started_at: t.started_at,
                    elapsed_s: t.started_at.map(|s| secs(now, s)),
                    lease_expires_at: expires,
                    lease_left_s: expires.map(|e| secs(e, now)),
                    last_heartbeat: beat,
                    heartbeat_age_s: beat.map(|b| secs(now, b)),
                    profile: profile.map(str::to_string),
                    model: labels.and_then(|p| p.model.clone()),
                    agent: labels.and_then(|p| p.agent.clone()),
                });
            }
            Ok((tx.task_counts()?, workers, tx.dispatchers()?))
        })?;
        workers.sort_by(|a, b| a.owner.cmp(&b.owner).then_with(|| a.task_id.cmp(&b.task_id)));
        let mut queue: BTreeMap<String, BTreeMap<String, usize>> = Priority::ALL
            .iter()
            .map(|p| (p.to_string(), Status::ALL.iter().map(|s| (s.to_string(), 0)).collect()))
            .collect();
        for (status, priority, n) in counts {
            *queue.entry(priority.to_string()).or_default().entry(status.to_string()).or_default() +=
                usize::try_from(n).unwrap_or(usize::MAX);
        }
        let dispatchers = dispatchers.into_iter().map(|d| super::DispatcherLive::of(d, now)).collect();
        Ok(Fleet { now, workers, queue, paused: self.pauses()?, dispatchers })
    }
}

impl Orch {
    /// Events matching `q` (a page of `events`). Events of a task that does not exist
    /// are not an empty answer but `NotFound` (a typo in an id would otherwise look like
    /// a task with no history).
    pub fn events(&self, q: &EventQuery) -> Result<Vec<Event>> {
        Ok(orch_store::read(self.db.as_ref(), |tx| {
            if let Some(id) = &q.task_id
                && tx.task_get(id)?.is_none()
            {
                return Err(StoreError::NotFound(id.clone()));
            }
            tx.events_query(q)
        })?)
    }

    /// Up to `limit` events after `seq`, in order. A cursor that follows the log: on
    /// PostgreSQL it never steps past an event whose writer has not committed yet.
    pub fn events_after(&self, seq: i64, limit: usize) -> Result<Vec<Event>> {
        Ok(orch_store::read(self.db.as_ref(), |tx| tx.events_after(seq, limit))?)
    }

    /// Blocks until the database may have changed, or `timeout` passes.
    pub fn wait_for_change(&self, timeout: std::time::Duration) -> Result<bool> {
        Ok(self.db.wait_for_change(timeout)?)
    }
}
