//! Schedules as both stores keep them: the table's columns, a row read back into a
//! [`Schedule`], and the values a write binds. What a schedule makes (its
//! [`ScheduleSpec`]) is fixed when it is added and kept as JSON in `spec`; what changes
//! (paused, how far it has been ticked, the last task it made) has columns of its own.

use crate::columns::{RowGet, ms};
use jiff::Timestamp;
use orch_core::schedule::{Schedule, ScheduleSpec};

/// The columns read, in the order [`schedule`] decodes them.
pub const SCHEDULE_COLS: &str = "name, spec, paused, last_tick, last_task, version";

/// A schedule from the columns of [`SCHEDULE_COLS`].
pub fn schedule<R: RowGet>(r: &R) -> Result<Schedule, R::Error> {
    let spec = r.text(1)?;
    let last = r.int(3)?;
    Ok(Schedule {
        name: r.text(0)?,
        spec: serde_json::from_str::<ScheduleSpec>(&spec).map_err(|_| R::bad("schedule", &spec))?,
        paused: r.int(2)? != 0,
        last_tick: Timestamp::from_millisecond(last).map_err(|_| R::bad("time", &last.to_string()))?,
        last_task: r.opt_text(4)?,
        version: r.int(5)?,
    })
}

/// The values a write binds: spec as JSON, paused as 0 or 1, last tick in milliseconds.
pub fn binds(s: &Schedule) -> (String, i64, i64) {
    (serde_json::to_string(&s.spec).expect("a schedule serialises"), i64::from(s.paused), ms(s.last_tick))
}
