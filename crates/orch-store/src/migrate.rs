//! Moving a whole queue from one store to another (`orch migrate --from … --to …`):
//! tasks in queue order with their versions, dependencies, idempotency keys and who owns
//! them, every run with its end, reports, process and usage, every event under its own
//! number, the meta entries, every schedule, every dispatcher's record, and every view with its marks, hash and frame.
//!
//! Written once against [`Tx`], so it works between any two backends. The target must
//! be empty (no task, no event); everything is written in one transaction, so a failure
//! leaves it empty again. Stop the queue's workers first: the source is read as it is.

use super::{Backend, ListFilter, ProcessInfo, Result, Run, RunEnd, StoreError, Tx, ViewInfo, ViewMark};
use orch_core::event::Event;
use orch_core::task::Task;
use std::collections::{BTreeMap, HashMap};

/// What was copied.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub from: String,
    pub to: String,
    pub tasks: usize,
    pub runs: usize,
    pub events: usize,
    pub idempotency_keys: usize,
    pub meta: usize,
    pub schedules: usize,
    pub dispatchers: usize,
}

/// Everything a queue holds, as read from its store.
struct Snapshot {
    tasks: Vec<Task>,
    views: Vec<(String, ViewInfo, HashMap<String, ViewMark>)>,
    runs: Vec<Run>,
    keys: BTreeMap<String, String>,
    events: Vec<Event>,
    meta: Vec<(String, String)>,
    schedules: Vec<orch_core::schedule::Schedule>,
    dispatchers: Vec<super::DispatcherRecord>,
}

/// Events are read in pages of this many.
const PAGE: usize = 1000;

/// Copies everything in `from` into `to`, which must be empty.
pub fn migrate(from: &dyn Backend, to: &dyn Backend) -> Result<Summary> {
    let snap = read_all(from)?;
    super::read(to, |tx| {
        let tasks = tx.task_list(&ListFilter::default())?.len();
        let events = tx.events_after(0, 1)?.len();
        if tasks > 0 || events > 0 {
            return Err(StoreError::Conflict(format!(
                "{} is not empty (it holds tasks or events); migrate only into a new database",
                to.describe()
            )));
        }
        Ok(())
    })?;
    super::write(to, |tx| write_all(tx, &snap))?;
    Ok(Summary {
        from: from.describe(),
        to: to.describe(),
        tasks: snap.tasks.len(),
        runs: snap.runs.len(),
        events: snap.events.len(),
        idempotency_keys: snap.keys.len(),
        meta: snap.meta.len(),
        schedules: snap.schedules.len(),
        dispatchers: snap.dispatchers.len(),
    })
}

fn read_all(from: &dyn Backend) -> Result<Snapshot> {
    let mut snap = super::read(from, |tx| {
        let tasks = tx.task_list(&ListFilter::default())?;
        let mut views = Vec::new();
        for (name, info) in tx.views()? {
            let marks = tx.view_marks(&name)?;
            views.push((name, info, marks));
        }
        let mut runs = Vec::new();
        let mut keys = BTreeMap::new();
        for t in &tasks {
            runs.extend(tx.runs_of(&t.id)?);
            if let Some(key) = &t.idempotency_key
                && !keys.contains_key(key)
                && let Some(owner) = tx.idempotency_owner(key)?
            {
                keys.insert(key.clone(), owner);
            }
        }
        let meta = tx.meta_all()?;
        let schedules = tx.schedules()?;
        let dispatchers = tx.dispatchers()?;
        Ok(Snapshot { tasks, views, runs, keys, events: Vec::new(), meta, schedules, dispatchers })
    })?;
    // Events page by page, each page after the last number seen.
    let mut last = 0;
    loop {
        let page = super::read(from, |tx| tx.events_after(last, PAGE))?;
        let Some(end) = page.last().map(|e| e.seq) else { break };
        last = end;
        snap.events.extend(page);
    }
    Ok(snap)
}

fn write_all(tx: &mut dyn Tx, s: &Snapshot) -> Result<()> {
    for t in &s.tasks {
        tx.task_insert(t)?;
    }
    for (name, info, marks) in &s.views {
        if let Some(h) = &info.hash {
            tx.view_set_hash(name, h)?;
        }
        if let Some(f) = &info.frame {
            tx.view_set_frame(name, f)?;
        }
        for t in &s.tasks {
            if let Some(m) = marks.get(&t.id) {
                tx.view_mark_set(name, &t.id, m)?;
            }
        }
    }
    for (key, owner) in &s.keys {
        tx.idempotency_claim(key, owner)?;
    }
    for r in &s.runs {
        copy_run(tx, r)?;
    }
    for e in &s.events {
        let seq = tx.event_insert(e)?;
        if seq != e.seq {
            return Err(StoreError::Db(format!("event {} was stored as {seq}", e.seq)));
        }
    }
    for (k, v) in &s.meta {
        tx.meta_set(k, v)?;
    }
    for sc in &s.schedules {
        tx.schedule_insert(sc)?;
    }
    for d in &s.dispatchers {
        tx.dispatcher_put(d)?;
    }
    Ok(())
}

/// A run, rebuilt with the primitives that made it: start, process, usage, session,
/// verdict, end.
fn copy_run(tx: &mut dyn Tx, r: &Run) -> Result<()> {
    tx.run_insert(r)?;
    if let (Some(spawned_by), Some(host), Some(pid), Some(pgid)) = (&r.spawned_by, &r.host, r.pid, r.pgid) {
        let p = ProcessInfo { host: host.clone(), pid, pgid, proc_start: r.proc_start, spawned_by: spawned_by.clone() };
        tx.run_set_process(&r.id, &p)?;
    }
    if !r.usage.is_zero() {
        tx.run_add_usage(&r.id, &r.usage)?;
    }
    if let Some(s) = &r.session {
        tx.run_set_session(&r.id, s)?;
    }
    if let Some(v) = &r.verdict {
        tx.run_set_verdict(&r.id, v, r.verdict_reason.as_deref().unwrap_or(""))?;
    }
    if let Some(at) = r.ended_at {
        let end = RunEnd {
            outcome: r.outcome.as_deref().unwrap_or(""),
            class: r.class,
            reason: r.reason.as_deref(),
            report: r.report.as_deref(),
            at,
        };
        tx.run_end(&r.id, &end)?;
    }
    if let Some(late) = &r.late_report {
        tx.run_late_report(&r.id, late)?;
    }
    Ok(())
}
