//! The schedules a dispatcher ticks: every second with its other timers, and at the
//! instant the next occurrence is due, so an occurrence becomes a task at its time and
//! is claimed in the same pass. `orch exec` ticks none. A tick that fails (the store
//! busy or away) is said and tried again at the next second; it never stops the loop.

use super::SPAWNED_BY_DISPATCHER;
use super::state::Dispatcher;
use std::time::{Duration, Instant};

impl Dispatcher<'_> {
    /// Ticks the schedules; true when tasks were made (a claim is wanted).
    pub(super) fn tick_schedules(&mut self) -> bool {
        self.schedule_at = None;
        if self.opts.spawned_by != SPAWNED_BY_DISPATCHER || self.draining {
            return false;
        }
        let report = match self.orch.tick_schedules() {
            Ok(r) => r,
            Err(e) => {
                self.progress.warn(&format!("schedules not ticked: {e}"));
                return false;
            }
        };
        let tz = self.orch.tz().clone();
        for f in &report.fired {
            let when = orch_core::time::format_display_time(f.occurrence, &tz);
            let also = if f.stands_for > 0 { format!(", standing for {} missed", f.stands_for) } else { String::new() };
            self.progress.line(&format!("{} added by schedule {} ({when}{also})", f.task, f.schedule));
        }
        for s in &report.skipped {
            let (name, count, reason) = (&s.schedule, s.skipped.count, s.skipped.reason);
            self.progress.warn(&format!("schedule {name}: {count} occurrence(s) skipped ({})", reason.as_str()));
        }
        if let Some(next) = report.next_due {
            let wait = next.duration_since(self.orch.now()).unsigned_abs();
            let wait = if next <= self.orch.now() { Duration::ZERO } else { wait };
            // A millisecond past it: the occurrence is due when the loop wakes.
            self.schedule_at = Some(Instant::now() + wait + Duration::from_millis(1));
        }
        self.view_dirty |= !report.fired.is_empty();
        !report.fired.is_empty()
    }
}
