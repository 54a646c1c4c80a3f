//! Schedules (recurring work): add, list, remove, pause, resume, the next occurrences,
//! and one tick that makes the tasks that are due (`ops/schedule.rs` keeps them).

use crate::error::{Error, Result};
use crate::ops::{NewSchedule, Orch, TickReport};
use jiff::Timestamp;
use orch_core::schedule::{CatchUp, Schedule};
use orch_core::task::Priority;
use serde::{Deserialize, Serialize};

/// The most occurrences `schedule next` lists.
pub const NEXT_MAX: usize = 1000;

/// `schedule add`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleAddRequest {
    /// None: made from the task's first words.
    pub name: Option<String>,
    /// Five fields, six with seconds first, or `@hourly`, `@daily`, `@weekly`, …
    pub cron: String,
    /// The text of the task each occurrence makes.
    pub task: String,
    pub priority: Option<Priority>,
    pub criteria: Option<String>,
    pub profile: Option<String>,
    pub resource: Option<String>,
    pub max_attempts: Option<u32>,
    /// An occurrence may start while the previous one's task is open (default: no).
    pub overlap: bool,
    /// `none`, `one` (the default) or `all`.
    pub catch_up: Option<String>,
}

/// A schedule and its next occurrence (none while paused).
#[derive(Clone, Debug, Serialize)]
pub struct ScheduleView {
    #[serde(flatten)]
    pub schedule: Schedule,
    pub next: Option<Timestamp>,
}

fn view(orch: &Orch, s: Schedule) -> ScheduleView {
    let next = orch.schedule_next_due(&s);
    ScheduleView { schedule: s, next }
}

pub fn schedule_add(orch: &Orch, req: ScheduleAddRequest) -> Result<ScheduleView> {
    let catch_up = match req.catch_up.as_deref() {
        None => CatchUp::default(),
        Some(c) => CatchUp::parse(c.trim()).map_err(Error::Usage)?,
    };
    let new = NewSchedule {
        name: req.name.map(|n| n.trim().to_string()),
        cron: req.cron,
        task: req.task,
        priority: req.priority,
        success_criteria: req.criteria,
        profile: req.profile,
        resource: req.resource,
        max_attempts: req.max_attempts,
        overlap: req.overlap,
        catch_up,
    };
    let s = orch.schedule_add(&new)?;
    Ok(view(orch, s))
}

/// Every schedule, by name.
pub fn schedule_list(orch: &Orch) -> Result<Vec<ScheduleView>> {
    Ok(orch.schedules()?.into_iter().map(|s| view(orch, s)).collect())
}

pub fn schedule_rm(orch: &Orch, name: &str) -> Result<()> {
    orch.schedule_remove(name.trim())
}

/// Pauses (`true`) or resumes a schedule; false when it already was so.
pub fn schedule_pause(orch: &Orch, name: &str, paused: bool) -> Result<bool> {
    orch.schedule_set_paused(name.trim(), paused)
}

/// The next `count` occurrences (1 to [`NEXT_MAX`]).
pub fn schedule_next(orch: &Orch, name: &str, count: usize) -> Result<Vec<Timestamp>> {
    if !(1..=NEXT_MAX).contains(&count) {
        return Err(Error::Usage(format!("--count must be 1 to {NEXT_MAX}")));
    }
    orch.schedule_next(name.trim(), count)
}

/// One tick: every due occurrence becomes a task, once.
pub fn schedule_tick(orch: &Orch) -> Result<TickReport> {
    orch.tick_schedules()
}
