//! Hooks (`[hooks]` of orch.toml): which committed change fires which hook, and running
//! one (`run`). A change is recorded as it is written (`persist`, `ops::settle_fast`), on
//! the thread whose transaction writes it and only while an operation asked for it
//! (`begin`); the operation takes the list once its transaction committed (`take`)
//! and runs the hooks then, never inside the transaction. A write closure that runs
//! again begins the list again, and a transaction rolled back fires nothing.
//!
//! Which change fires which hook: a task's status that changed to DONE fires `on_done`;
//! to BLOCKED, `on_blocked`; to FAILED, `on_failed`, or `on_retry_exhausted` when the
//! failure left no attempt (`retry.exhausted`; `on_failed` when that hook is not set).
//! One change of one task fires at most one hook; each task a change moves (a dependent
//! blocked by a failure) fires its own. `on_idle` is the dispatcher's.

mod run;

pub use run::{Ran, run};

use crate::config::Hooks;
use orch_core::event::{Event, kind};
use orch_core::task::{Status, Task};
use std::cell::RefCell;

/// The kinds of hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Done,
    Failed,
    Blocked,
    RetryExhausted,
    Idle,
}

impl Kind {
    /// The name hooks are given (`ORCH_EVENT`, `{event}`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Done => "done",
            Kind::Failed => "failed",
            Kind::Blocked => "blocked",
            Kind::RetryExhausted => "retry_exhausted",
            Kind::Idle => "idle",
        }
    }

    /// The key in `[hooks]` whose argv runs, and that argv (empty: no hook).
    pub fn argv(self, hooks: &Hooks) -> (&'static str, &[String]) {
        match self {
            Kind::Done => ("on_done", &hooks.on_done),
            Kind::Failed => ("on_failed", &hooks.on_failed),
            Kind::Blocked => ("on_blocked", &hooks.on_blocked),
            Kind::RetryExhausted if hooks.on_retry_exhausted.is_empty() => ("on_failed", &hooks.on_failed),
            Kind::RetryExhausted => ("on_retry_exhausted", &hooks.on_retry_exhausted),
            Kind::Idle => ("on_idle", &hooks.on_idle),
        }
    }
}

/// A hook to run: its kind, the task as the change left it (none for `on_idle`) and the
/// reason of the change.
#[derive(Clone, Debug)]
pub struct Fired {
    pub kind: Kind,
    pub task: Option<Task>,
    pub reason: String,
}

impl Fired {
    /// `on_idle`.
    pub fn idle() -> Fired {
        Fired { kind: Kind::Idle, task: None, reason: String::new() }
    }
}

thread_local! {
    /// The changes this thread's current transaction wrote, while an operation records.
    static RECORDED: RefCell<Option<Vec<Fired>>> = const { RefCell::new(None) };
}

/// Starts (again) recording the changes this thread writes: called at the start of
/// each run of a write closure.
pub(crate) fn begin() {
    RECORDED.with(|r| *r.borrow_mut() = Some(Vec::new()));
}

/// Stops recording and gives what was recorded.
pub(crate) fn take() -> Vec<Fired> {
    RECORDED.with(|r| r.borrow_mut().take()).unwrap_or_default()
}

/// Records a change written in this thread's transaction: `after` as saved, the status
/// it had before and the events the change wrote. Nothing when nobody records.
pub(crate) fn record(before: Status, after: &Task, events: &[Event]) {
    RECORDED.with(|r| {
        if let Some(list) = r.borrow_mut().as_mut()
            && let Some(kind) = kind_of(before, after.status, events)
        {
            list.push(Fired { kind, task: Some(after.clone()), reason: reason_of(events) });
        }
    });
}

/// The hook a change fires, if any.
fn kind_of(before: Status, after: Status, events: &[Event]) -> Option<Kind> {
    if before == after {
        return None;
    }
    match after {
        Status::Done => Some(Kind::Done),
        Status::Blocked => Some(Kind::Blocked),
        Status::Failed if events.iter().any(|e| e.event == kind::RETRY_EXHAUSTED) => Some(Kind::RetryExhausted),
        Status::Failed => Some(Kind::Failed),
        Status::Pending | Status::InProgress => None,
    }
}

/// The reason of a change: the message of its own event (a block's reason, a lease's
/// expiry, an edit), else that of the run's end (a failure's class and reason).
fn reason_of(events: &[Event]) -> String {
    let own = events.iter().find(|e| {
        ![kind::RUN_FINISHED, kind::RETRY_SCHEDULED, kind::RETRY_EXHAUSTED, kind::GATE_VERDICT]
            .contains(&e.event.as_str())
            && e.msg.is_some()
    });
    let run_end = || events.iter().find(|e| e.event == kind::RUN_FINISHED && e.to == Some(Status::Failed));
    own.or_else(run_end).and_then(|e| e.msg.clone()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: &str, to: Status, msg: Option<&str>) -> Event {
        let mut e = Event::new(jiff::Timestamp::UNIX_EPOCH, kind);
        e.to = Some(to);
        e.msg = msg.map(str::to_string);
        e
    }

    #[test]
    fn a_change_of_status_fires_the_hook_of_where_it_went() {
        use Status::*;
        let fail = [ev(kind::RUN_FINISHED, Failed, Some("failed: transient: timeout"))];
        assert_eq!(kind_of(InProgress, Done, &[]), Some(Kind::Done));
        assert_eq!(kind_of(Pending, Blocked, &[]), Some(Kind::Blocked));
        assert_eq!(kind_of(InProgress, Failed, &fail), Some(Kind::Failed));
        let exhausted = [fail[0].clone(), ev(kind::RETRY_EXHAUSTED, Failed, Some("after 4 attempts"))];
        assert_eq!(kind_of(InProgress, Failed, &exhausted), Some(Kind::RetryExhausted));
        assert_eq!(kind_of(Done, Done, &[]), None, "a note fires nothing");
        assert_eq!(kind_of(Pending, InProgress, &[]), None, "a claim fires nothing");
        assert_eq!(kind_of(Failed, Pending, &[]), None);
        assert_eq!(reason_of(&exhausted), "failed: transient: timeout");
        let block = [
            ev(kind::TASK_BLOCKED, Blocked, Some("budget_hard_exceeded")),
            ev(kind::RUN_FINISHED, Blocked, Some("blocked")),
        ];
        assert_eq!(reason_of(&block), "budget_hard_exceeded");
        assert_eq!(reason_of(&[ev(kind::TASK_DONE, Done, None), ev(kind::RUN_FINISHED, Done, Some("done"))]), "");
    }

    #[test]
    fn retry_exhausted_runs_on_failed_when_it_has_no_hook_of_its_own() {
        let mut h = Hooks { on_failed: vec!["f".into()], ..Hooks::default() };
        assert_eq!(Kind::RetryExhausted.argv(&h), ("on_failed", &["f".to_string()][..]));
        h.on_retry_exhausted = vec!["r".into()];
        assert_eq!(Kind::RetryExhausted.argv(&h), ("on_retry_exhausted", &["r".to_string()][..]));
    }

    #[test]
    fn only_a_recording_thread_records_and_a_new_begin_forgets_a_rolled_back_try() {
        let t = Task::new("ORCH-001".into(), "x".into(), orch_core::task::Priority::P1, 3, jiff::Timestamp::UNIX_EPOCH);
        let mut done = t.clone();
        done.status = Status::Done;
        record(Status::InProgress, &done, &[]);
        assert!(take().is_empty(), "not recording");
        begin();
        record(Status::InProgress, &done, &[]);
        begin();
        record(Status::InProgress, &done, &[]);
        let got = take();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].kind, Kind::Done);
        assert!(take().is_empty());
    }
}
