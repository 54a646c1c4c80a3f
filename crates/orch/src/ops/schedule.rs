//! Schedules (recurring work): add, list, remove, pause and resume them, and tick them
//! — each occurrence that is due becomes an ordinary task, exactly once. A tick is one
//! write transaction per due schedule: it reads the schedule (locked on PostgreSQL, the
//! writer's lock on SQLite), lets `orch_core::schedule::plan` decide, adds each task
//! under the occurrence's idempotency key and records how far the schedule has been
//! handled with compare-and-set. So two dispatchers, or a dispatcher and `orch schedule
//! tick` from cron, never make one occurrence twice.

use super::Orch;
use super::tasks::NewTask;
use crate::error::{Error, Result};
use jiff::Timestamp;
use orch_core::cron::{self, CronPattern};
use orch_core::event::{Event, Level, kind};
use orch_core::schedule::{self as sched, CatchUp, Schedule, ScheduleSpec, SkipReason, Skipped};
use orch_core::task::{Priority, Status};
use orch_store::{StoreError, Tx};
use serde::Serialize;

/// What `schedule add` takes.
#[derive(Clone, Debug, Default)]
pub struct NewSchedule {
    /// None: made from the task's first words.
    pub name: Option<String>,
    pub cron: String,
    pub task: String,
    pub priority: Option<Priority>,
    pub success_criteria: Option<String>,
    pub profile: Option<String>,
    pub resource: Option<String>,
    pub max_attempts: Option<u32>,
    pub overlap: bool,
    pub catch_up: CatchUp,
}

/// A task one tick made.
#[derive(Clone, Debug, Serialize)]
pub struct FiredTask {
    pub schedule: String,
    pub task: String,
    pub occurrence: Timestamp,
    /// Missed occurrences this task stands for besides its own.
    pub stands_for: usize,
}

/// Occurrences of one schedule that made no task in a tick.
#[derive(Clone, Debug, Serialize)]
pub struct SkippedOf {
    pub schedule: String,
    #[serde(flatten)]
    pub skipped: Skipped,
}

/// What one tick of every schedule did, and when the next occurrence is due.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TickReport {
    pub fired: Vec<FiredTask>,
    pub skipped: Vec<SkippedOf>,
    /// The next occurrence of any schedule that is not paused.
    pub next_due: Option<Timestamp>,
}

/// The schedules as `status` shows them: how many, how many paused, which is due next.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScheduleCount {
    pub count: usize,
    pub paused: usize,
    /// The schedule due next and when.
    pub next: Option<NextDue>,
}

/// A schedule's next occurrence.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NextDue {
    pub schedule: String,
    pub at: Timestamp,
}

/// A task that still counts as the schedule's previous occurrence running: not yet
/// DONE or BLOCKED (a BLOCKED task waits for a person; the schedule goes on).
fn open(status: Status) -> bool {
    matches!(status, Status::Pending | Status::InProgress | Status::Failed)
}

fn pattern(s: &Schedule) -> orch_store::Result<CronPattern> {
    cron::parse(&s.spec.cron).map_err(|e| StoreError::Db(format!("schedule {}: stored {e}", s.name)))
}

fn not_found(name: &str) -> Error {
    Error::NotFound(format!("no schedule {name}"))
}

fn event(now: Timestamp, name: &str, msg: serde_json::Value) -> Event {
    let mut e = Event::new(now, name);
    e.msg = Some(msg.to_string());
    e
}

impl Orch {
    /// Adds a schedule; its first occurrence is the first after now.
    pub fn schedule_add(&self, new: &NewSchedule) -> Result<Schedule> {
        let pattern = cron::parse(&new.cron).map_err(Error::Usage)?;
        let name = new.name.clone().unwrap_or_else(|| sched::default_name(&new.task));
        sched::check_name(&name).map_err(Error::Usage)?;
        let checked = self.prepare(&NewTask {
            task: new.task.clone(),
            success_criteria: new.success_criteria.clone(),
            profile: new.profile.clone(),
            max_attempts: new.max_attempts,
            ..NewTask::default()
        })?;
        if pattern.next_after(self.now(), self.tz()).is_none() {
            return Err(Error::Usage(format!("cron pattern `{}` never comes again", pattern.as_str())));
        }
        let now = self.now();
        let s = Schedule {
            name: name.clone(),
            spec: ScheduleSpec {
                cron: pattern.as_str().to_string(),
                task: checked.text,
                priority: new.priority.unwrap_or(Priority::P1),
                success_criteria: checked.criteria,
                profile: checked.profile,
                resource: new.resource.clone().filter(|r| !r.trim().is_empty()),
                max_attempts: new.max_attempts,
                overlap: new.overlap,
                catch_up: new.catch_up,
                created_at: now,
            },
            paused: false,
            last_tick: now,
            last_task: None,
            version: 1,
        };
        let added = self.log_change(|tx| {
            if tx.schedule_get(&name)?.is_some() {
                return Ok(false);
            }
            tx.schedule_insert(&s)?;
            let spec = serde_json::to_value(&s.spec).expect("a schedule serialises");
            tx.event_insert(&event(now, kind::SCHEDULE_ADDED, serde_json::json!({ "schedule": name, "spec": spec })))?;
            Ok(true)
        })?;
        if !added {
            return Err(Error::Conflict(format!("schedule {name} exists already (give another --name)")));
        }
        Ok(s)
    }

    /// Every schedule, by name.
    pub fn schedules(&self) -> Result<Vec<Schedule>> {
        Ok(orch_store::read(self.db(), |tx| tx.schedules())?)
    }

    pub fn schedule(&self, name: &str) -> Result<Schedule> {
        orch_store::read(self.db(), |tx| tx.schedule_get(name))?.ok_or_else(|| not_found(name))
    }

    /// The next `count` occurrences of a schedule after now (paused or not).
    pub fn schedule_next(&self, name: &str, count: usize) -> Result<Vec<Timestamp>> {
        let s = self.schedule(name)?;
        Ok(pattern(&s)?.next_n(self.now().max(s.last_tick), self.tz(), count))
    }

    /// The next occurrence of a schedule that is not paused.
    pub fn schedule_next_due(&self, s: &Schedule) -> Option<Timestamp> {
        if s.paused {
            return None;
        }
        pattern(s).ok()?.next_after(self.now().max(s.last_tick), self.tz())
    }

    /// How many schedules, paused, and the next due; `None` when there are none.
    pub fn schedule_count(&self) -> Result<Option<ScheduleCount>> {
        let all = self.schedules()?;
        if all.is_empty() {
            return Ok(None);
        }
        let paused = all.iter().filter(|s| s.paused).count();
        let next = all
            .iter()
            .filter_map(|s| Some(NextDue { schedule: s.name.clone(), at: self.schedule_next_due(s)? }))
            .min_by_key(|n| n.at);
        Ok(Some(ScheduleCount { count: all.len(), paused, next }))
    }

    /// Removes a schedule; the tasks it made stay.
    pub fn schedule_remove(&self, name: &str) -> Result<()> {
        let now = self.now();
        let removed = self.log_change(|tx| {
            let gone = tx.schedule_delete(name)?;
            if gone {
                tx.event_insert(&event(now, kind::SCHEDULE_REMOVED, serde_json::json!({ "schedule": name })))?;
            }
            Ok(gone)
        })?;
        if removed { Ok(()) } else { Err(not_found(name)) }
    }

    /// Pauses (`true`) or resumes a schedule; false when it already was so. Occurrences
    /// while paused make no task: a resumed schedule starts from now.
    pub fn schedule_set_paused(&self, name: &str, paused: bool) -> Result<bool> {
        let now = self.now();
        self.log_change(|tx| {
            let s = tx.schedule_get(name)?.ok_or_else(|| StoreError::NotFound(format!("schedule {name}")))?;
            if s.paused == paused {
                return Ok(false);
            }
            let last_tick = if paused { s.last_tick } else { now.max(s.last_tick) };
            tx.schedule_update(&Schedule { paused, last_tick, ..s })?;
            let which = if paused { kind::SCHEDULE_PAUSED } else { kind::SCHEDULE_RESUMED };
            tx.event_insert(&event(now, which, serde_json::json!({ "schedule": name })))?;
            Ok(true)
        })
        .map_err(|e| match e {
            Error::Store(StoreError::NotFound(_)) => not_found(name),
            e => e,
        })
    }

    /// Ticks every schedule at now: each due occurrence becomes a task (or is skipped,
    /// said in an event).
    pub fn tick_schedules(&self) -> Result<TickReport> {
        let now = self.now();
        let all = self.schedules()?;
        let mut report = TickReport::default();
        for s in &all {
            let Ok(p) = pattern(s) else { continue };
            if sched::plan(s, &p, self.tz(), now, false).handled_to.is_some() {
                self.tick_one(&s.name, &p, now, &mut report)?;
            }
        }
        // A tick moves a schedule's last tick to at most now: its next occurrence is
        // the first after now either way.
        for s in &all {
            let next = self.schedule_next_due(s);
            report.next_due = match (report.next_due, next) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        Ok(report)
    }

    fn tick_one(&self, name: &str, p: &CronPattern, now: Timestamp, report: &mut TickReport) -> Result<()> {
        let (done, _) = self.change(|tx| tick_in(self, tx, name, p, now))?;
        report.fired.extend(done.0);
        report.skipped.extend(done.1.into_iter().map(|skipped| SkippedOf { schedule: name.to_string(), skipped }));
        Ok(())
    }
}

type Ticked = (Vec<FiredTask>, Vec<Skipped>);

/// One schedule's tick inside a write transaction.
fn tick_in(orch: &Orch, tx: &mut dyn Tx, name: &str, p: &CronPattern, now: Timestamp) -> orch_store::Result<Ticked> {
    let mut out: Ticked = (Vec::new(), Vec::new());
    let Some(mut s) = tx.schedule_get(name)? else { return Ok(out) };
    let previous_open = match &s.last_task {
        Some(id) => tx.task_get(id)?.is_some_and(|t| open(t.status)),
        None => false,
    };
    let plan = sched::plan(&s, p, orch.tz(), now, previous_open);
    let Some(handled_to) = plan.handled_to else { return Ok(out) };
    let spec = &s.spec;
    let prepared = super::tasks::Prepared {
        text: spec.task.clone(),
        criteria: spec.success_criteria.clone(),
        profile: spec.profile.clone(),
        max_attempts: spec.max_attempts.unwrap_or_else(|| orch.policy().default_max_attempts()),
    };
    for f in &plan.fire {
        let new = NewTask {
            task: spec.task.clone(),
            priority: Some(spec.priority),
            resource: spec.resource.clone(),
            idempotency_key: Some(sched::occurrence_key(name, f.at)),
            ..NewTask::default()
        };
        let (task, created) = orch.insert_new(tx, &new, &prepared, now)?;
        s.last_task = Some(task.id.clone());
        if created {
            let msg = serde_json::json!({ "schedule": name, "occurrence": f.at, "stands_for": f.stands_for });
            let mut e = event(now, kind::SCHEDULE_FIRED, msg);
            e.task_id = Some(task.id.clone());
            tx.event_insert(&e)?;
            out.0.push(FiredTask { schedule: name.into(), task: task.id, occurrence: f.at, stands_for: f.stands_for });
        }
    }
    for sk in &plan.skipped {
        let why = match sk.reason {
            SkipReason::Missed if plan.fire.is_empty() => "missed while nothing ticked".to_string(),
            SkipReason::Missed => format!("missed while nothing ticked; catch-up {}", spec.catch_up.as_str()),
            SkipReason::Overlap => {
                format!("the previous occurrence's task {} is still open", s.last_task.as_deref().unwrap_or("?"))
            }
        };
        let mut msg = serde_json::to_value(sk).expect("a skip serialises");
        msg["schedule"] = name.into();
        msg["why"] = why.into();
        let mut e = event(now, kind::SCHEDULE_SKIPPED, msg);
        e.level = Level::Warn;
        tx.event_insert(&e)?;
        out.1.push(sk.clone());
    }
    s.last_tick = handled_to;
    tx.schedule_update(&s)?;
    Ok(out)
}
