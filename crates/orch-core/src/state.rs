//! The one transition function. Every change of a task's status goes through
//! [`transition`]: it checks that the move is allowed (and that the caller holds the
//! lease where one is needed), and returns the new task, its events and what happens to
//! the current run. Stores persist the result with compare-and-set; they never change a
//! status on their own.

use crate::event::{Event, Level, kind};
use crate::policy::{FailureClass, RetryPolicy};
use crate::task::{Lease, Priority, Status, Task, append_note};
use jiff::Timestamp;

/// Who is acting on a leased task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// The lease token of the run.
    Token(String),
    /// An operator overriding the lease (`--force`).
    Force,
}

/// A request to change one task.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Claim {
        owner: String,
        token: String,
        lease_until: Timestamp,
        run_id: String,
    },
    Heartbeat {
        auth: Auth,
        lease_until: Timestamp,
    },
    Complete {
        auth: Auth,
        notes: Option<String>,
    },
    /// `unit` in [0, 1) is the caller's random draw for backoff jitter.
    Fail {
        auth: Auth,
        reason: String,
        class: FailureClass,
        unit: f64,
    },
    /// The watchdog found the lease expired.
    Expire {
        unit: f64,
    },
    /// The dispatcher is shutting down: the task goes back, the attempt is not counted.
    Interrupt {
        auth: Auth,
        reason: String,
    },
    /// The worker said "not now, not my fault" (a usage limit, a control line): the task
    /// goes back to PENDING, not claimed before `until`, the attempt not counted.
    Defer {
        auth: Auth,
        until: Timestamp,
        reason: String,
    },
    Cancel {
        reason: Option<String>,
    },
    /// The gate or a budget stops the task for a person to look at.
    Block {
        auth: Auth,
        reason: String,
    },
    Retry,
    Replan(Replan),
    Note {
        text: String,
    },
    /// The task's idempotency key belongs to a DONE task: it is done already.
    Skip {
        done_task: String,
    },
    /// An operator's review accepts the last report of a task that stopped (`review
    /// --apply` after the rules changed): DONE.
    Accept {
        reason: String,
    },
    /// Every task this one waited on is DONE again: a task BLOCKED by a dependency that
    /// failed for good goes back to PENDING (its attempts unchanged).
    Unblock {
        by: String,
    },
    /// A person's edit of the task's row in QUEUE.md, imported: the columns a row shows
    /// (status, priority, text, criteria, owner, start and due times, not-before, notes,
    /// extra columns) take their values from `to`; nothing else of it is read. A person may
    /// set any status. Leaving IN_PROGRESS ends the live run (`edited_by_hand`), so its
    /// worker finds its lease gone. `source` says where the edit came from (its event's
    /// message).
    Edit {
        to: Box<Task>,
        source: String,
    },
}

/// What `replan` may change; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Replan {
    pub reason: String,
    pub task: Option<String>,
    pub success_criteria: Option<String>,
    pub priority: Option<Priority>,
    /// `Some(None)` clears the due time.
    pub due_at: Option<Option<Timestamp>>,
}

impl Command {
    /// The verb people use for this command, for messages.
    pub fn verb(&self) -> &'static str {
        match self {
            Command::Claim { .. } => "claim",
            Command::Heartbeat { .. } => "heartbeat",
            Command::Complete { .. } => "done",
            Command::Fail { .. } => "fail",
            Command::Expire { .. } => "expire",
            Command::Interrupt { .. } => "interrupt",
            Command::Defer { .. } => "defer",
            Command::Cancel { .. } => "cancel",
            Command::Block { .. } => "block",
            Command::Retry => "retry",
            Command::Replan(_) => "replan",
            Command::Note { .. } => "note",
            Command::Skip { .. } => "skip",
            Command::Accept { .. } => "accept",
            Command::Unblock { .. } => "unblock",
            Command::Edit { .. } => "edit",
        }
    }
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunOutcome {
    Done,
    Failed,
    Expired,
    Interrupted,
    Deferred,
    Cancelled,
    Blocked,
}

impl RunOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Done => "done",
            RunOutcome::Failed => "failed",
            RunOutcome::Expired => "expired",
            RunOutcome::Interrupted => "interrupted",
            RunOutcome::Deferred => "deferred",
            RunOutcome::Cancelled => "cancelled",
            RunOutcome::Blocked => "blocked",
        }
    }
}

/// What a change does to the task's current run.
#[derive(Clone, Debug, PartialEq)]
pub enum RunEffect {
    None,
    /// A claim starts a new run (id, token and owner are in the new task).
    Start,
    End {
        outcome: RunOutcome,
        class: Option<FailureClass>,
        reason: Option<String>,
    },
}

/// The result of an allowed transition.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub task: Task,
    pub events: Vec<Event>,
    pub run: RunEffect,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// `to` is the status the command moves tasks to; `None` for a command that changes
    /// a task but not its status (heartbeat, replan).
    #[error("cannot {verb} {id}: it is {from}, and {verb} {}", effect(.allowed, .to))]
    Refused { id: String, verb: &'static str, from: Status, to: Option<Status>, allowed: &'static str },
    #[error("lease lost: {id} {detail}")]
    LeaseLost { id: String, detail: String },
}

fn effect(allowed: &str, to: &Option<Status>) -> String {
    match to {
        Some(to) => format!("moves only {allowed} tasks to {to}"),
        None => format!("changes only {allowed} tasks"),
    }
}

/// Applies `cmd` to `task` at `now`. Pure: the same inputs give the same change.
pub fn transition(task: &Task, cmd: &Command, now: Timestamp, policy: &RetryPolicy) -> Result<Change, TransitionError> {
    let mut t = task.clone();
    t.updated_at = now;
    let from = task.status;
    let mut run = RunEffect::None;
    let mut events = Vec::new();
    let ev = |name: &str, to: Status, msg: Option<String>| {
        let mut e = Event::new(now, name);
        e.task_id = Some(task.id.clone());
        e.from = Some(from);
        e.to = Some(to);
        e.msg = msg;
        e
    };
    match cmd {
        Command::Claim { owner, token, lease_until, run_id } => {
            let ready = task.is_ready(now);
            if !ready {
                let allowed = "PENDING (once its start time, if any, has come) or FAILED (with a due retry)";
                return Err(refused(task, cmd, Some(Status::InProgress), allowed));
            }
            t.status = Status::InProgress;
            t.attempts += 1;
            t.owner = Some(owner.clone());
            t.started_at = Some(now);
            t.retry_at = None;
            t.lease = Some(Lease { token: token.clone(), expires_at: *lease_until });
            t.run_id = Some(run_id.clone());
            events.push(ev(kind::TASK_CLAIMED, Status::InProgress, None));
            run = RunEffect::Start;
        }
        Command::Heartbeat { auth, lease_until } => {
            hold(task, auth, cmd, None)?;
            if let Some(lease) = &mut t.lease {
                lease.expires_at = (*lease_until).max(lease.expires_at);
            }
            events.push(ev(kind::LEASE_RENEWED, Status::InProgress, None));
        }
        Command::Complete { auth, notes } => {
            hold(task, auth, cmd, Some(Status::Done))?;
            t.status = Status::Done;
            t.lease = None;
            if let Some(n) = notes {
                append_note(&mut t.notes, n);
            }
            events.push(ev(kind::TASK_DONE, Status::Done, None));
            run = RunEffect::End { outcome: RunOutcome::Done, class: None, reason: None };
            events.extend(finished(&ev, &run, Status::Done));
        }
        Command::Fail { auth, reason, class, unit } => {
            hold(task, auth, cmd, Some(Status::Failed))?;
            run = RunEffect::End { outcome: RunOutcome::Failed, class: Some(*class), reason: Some(reason.clone()) };
            events.extend(finished(&ev, &run, Status::Failed));
            fail(&mut t, &mut events, &ev, reason, *class, *unit, now, policy);
        }
        Command::Expire { unit } => {
            let expired = task.status == Status::InProgress && task.lease.as_ref().is_some_and(|l| l.expires_at <= now);
            if !expired {
                return Err(refused(task, cmd, Some(Status::Failed), "IN_PROGRESS (with an expired lease)"));
            }
            let reason = "lease_expired";
            let class = FailureClass::Transient;
            let mut e = ev(kind::LEASE_EXPIRED, Status::Failed, Some(format!("{}: {reason}", class.as_str())));
            e.level = Level::Warn;
            events.push(e);
            run = RunEffect::End { outcome: RunOutcome::Expired, class: Some(class), reason: Some(reason.into()) };
            events.extend(finished(&ev, &run, Status::Failed));
            fail(&mut t, &mut events, &ev, reason, class, *unit, now, policy);
        }
        Command::Interrupt { auth, reason } => {
            hold(task, auth, cmd, Some(Status::Pending))?;
            t.status = Status::Pending;
            t.attempts = t.attempts.saturating_sub(1);
            t.lease = None;
            t.owner = None;
            t.started_at = None;
            events.push(ev(kind::TASK_INTERRUPTED, Status::Pending, Some(reason.clone())));
            run = RunEffect::End { outcome: RunOutcome::Interrupted, class: None, reason: Some(reason.clone()) };
            events.extend(finished(&ev, &run, Status::Pending));
        }
        Command::Defer { auth, until, reason } => {
            hold(task, auth, cmd, Some(Status::Pending))?;
            t.status = Status::Pending;
            t.attempts = t.attempts.saturating_sub(1);
            t.lease = None;
            t.owner = None;
            t.started_at = None;
            t.not_before = Some(*until);
            let msg = format!("until {until}: {reason}");
            events.push(ev(kind::TASK_DEFERRED, Status::Pending, Some(msg)));
            run = RunEffect::End { outcome: RunOutcome::Deferred, class: None, reason: Some(reason.clone()) };
            events.extend(finished(&ev, &run, Status::Pending));
        }
        Command::Cancel { reason } => {
            if !matches!(from, Status::Pending | Status::InProgress | Status::Failed) {
                return Err(refused(task, cmd, Some(Status::Blocked), "PENDING, IN_PROGRESS or FAILED"));
            }
            let note = match reason.as_deref().map(str::trim) {
                Some(r) if !r.is_empty() => format!("cancelled_by_operator:{r}"),
                _ => "cancelled_by_operator".to_string(),
            };
            block(&mut t, &mut run, &note, RunOutcome::Cancelled);
            events.push(ev(kind::TASK_CANCELLED, Status::Blocked, Some(note)));
            events.extend(finished(&ev, &run, Status::Blocked));
        }
        Command::Block { auth, reason } => {
            if !matches!(from, Status::Pending | Status::InProgress | Status::Failed) {
                return Err(refused(task, cmd, Some(Status::Blocked), "PENDING, IN_PROGRESS or FAILED"));
            }
            if from == Status::InProgress {
                hold(task, auth, cmd, Some(Status::Blocked))?;
            }
            block(&mut t, &mut run, reason, RunOutcome::Blocked);
            let mut e = ev(kind::TASK_BLOCKED, Status::Blocked, Some(reason.clone()));
            e.level = Level::Warn;
            events.push(e);
            events.extend(finished(&ev, &run, Status::Blocked));
        }
        Command::Retry => {
            if !matches!(from, Status::Failed | Status::Blocked) {
                return Err(refused(task, cmd, Some(Status::Pending), "FAILED or BLOCKED"));
            }
            t.status = Status::Pending;
            t.attempts = 0;
            t.retry_at = None;
            t.owner = None;
            t.started_at = None;
            append_note(&mut t.notes, "retry_by_operator");
            events.push(ev(kind::TASK_RETRIED, Status::Pending, None));
        }
        Command::Replan(r) => {
            if from == Status::Done {
                return Err(refused(task, cmd, None, "PENDING, IN_PROGRESS, FAILED or BLOCKED"));
            }
            if let Some(text) = &r.task {
                t.task = text.clone();
            }
            if let Some(c) = &r.success_criteria {
                t.success_criteria = Some(c.clone()).filter(|c| !c.is_empty());
            }
            if let Some(p) = r.priority {
                t.priority = p;
            }
            if let Some(due) = r.due_at {
                t.due_at = due;
            }
            let note = format!("replan:{}", r.reason.trim());
            append_note(&mut t.notes, &note);
            events.push(ev(kind::TASK_REPLANNED, from, Some(note)));
        }
        Command::Note { text } => {
            append_note(&mut t.notes, text);
            events.push(ev(kind::TASK_NOTED, from, Some(text.clone())));
        }
        Command::Skip { done_task } => {
            if !matches!(from, Status::Pending | Status::Failed) {
                return Err(refused(task, cmd, Some(Status::Done), "PENDING or FAILED"));
            }
            t.status = Status::Done;
            t.retry_at = None;
            let note = format!("idempotent_skip:{done_task}");
            append_note(&mut t.notes, &note);
            events.push(ev(kind::TASK_SKIPPED, Status::Done, Some(note)));
        }
        Command::Unblock { by } => {
            if from != Status::Blocked {
                return Err(refused(task, cmd, Some(Status::Pending), "BLOCKED"));
            }
            t.status = Status::Pending;
            t.owner = None;
            t.started_at = None;
            let note = format!("unblocked_by:{by}");
            append_note(&mut t.notes, &note);
            events.push(ev(kind::TASK_RETRIED, Status::Pending, Some(note)));
        }
        Command::Accept { reason } => {
            if !matches!(from, Status::Failed | Status::Blocked) {
                return Err(refused(task, cmd, Some(Status::Done), "FAILED or BLOCKED"));
            }
            t.status = Status::Done;
            t.retry_at = None;
            let note = format!("accepted:{}", reason.trim());
            append_note(&mut t.notes, &note);
            events.push(ev(kind::TASK_DONE, Status::Done, Some(note)));
        }
        Command::Edit { to, source } => {
            t.status = to.status;
            t.priority = to.priority;
            t.task = to.task.clone();
            t.success_criteria = to.success_criteria.clone();
            t.owner = to.owner.clone();
            t.started_at = to.started_at;
            t.due_at = to.due_at;
            t.not_before = to.not_before;
            t.notes = to.notes.clone();
            t.extra = to.extra.clone();
            if t.status != Status::InProgress {
                t.lease = None;
                if from == Status::InProgress && task.lease.is_some() {
                    let reason = Some("edited_by_hand".to_string());
                    run = RunEffect::End { outcome: RunOutcome::Cancelled, class: None, reason };
                }
            }
            if t.status != Status::Failed {
                t.retry_at = None;
            }
            events.push(ev(kind::TASK_EDITED, t.status, Some(source.clone())));
            events.extend(finished(&ev, &run, t.status));
        }
    }
    for e in &mut events {
        e.owner = t.owner.clone().or_else(|| task.owner.clone());
        e.attempt = Some(t.attempts.max(task.attempts));
    }
    Ok(Change { task: t, events, run })
}

fn refused(task: &Task, cmd: &Command, to: Option<Status>, allowed: &'static str) -> TransitionError {
    TransitionError::Refused { id: task.id.clone(), verb: cmd.verb(), from: task.status, to, allowed }
}

/// Checks that the caller may act on the running task (`to`: where the command moves
/// it, as for [`refused`]).
fn hold(task: &Task, auth: &Auth, cmd: &Command, to: Option<Status>) -> Result<(), TransitionError> {
    match auth {
        Auth::Force if task.status == Status::InProgress => Ok(()),
        Auth::Force => Err(refused(task, cmd, to, "IN_PROGRESS")),
        Auth::Token(token) => {
            let detail = match (&task.lease, task.status) {
                (Some(l), _) if &l.token == token => return Ok(()),
                (Some(_), _) => "is held by another run now".to_string(),
                (None, Status::InProgress) => "is held outside orch (no lease)".to_string(),
                (None, status) => format!("is {status} now"),
            };
            Err(TransitionError::LeaseLost { id: task.id.clone(), detail })
        }
    }
}

/// `run.finished` for a change that ends the run: `OUTCOME[: CLASS][: reason]`
/// (`done`, `failed: transient: timeout`, `interrupted: dispatcher_shutdown`), at level
/// warn when the attempt did not deliver. Every run's end writes exactly one.
fn finished(ev: &dyn Fn(&str, Status, Option<String>) -> Event, run: &RunEffect, to: Status) -> Option<Event> {
    let RunEffect::End { outcome, class, reason } = run else { return None };
    let mut msg = outcome.as_str().to_string();
    for part in [class.map(FailureClass::as_str), reason.as_deref()].into_iter().flatten() {
        msg.push_str(": ");
        msg.push_str(part);
    }
    let mut e = ev(kind::RUN_FINISHED, to, Some(msg));
    if matches!(outcome, RunOutcome::Failed | RunOutcome::Expired | RunOutcome::Blocked) {
        e.level = Level::Warn;
    }
    Some(e)
}

/// A failed attempt (by `fail`, a worker, or the watchdog): FAILED, and a retry
/// scheduled by the policy unless the failure is permanent or the attempts are spent.
#[allow(clippy::too_many_arguments)] // one private helper shared by fail and expire
fn fail(
    t: &mut Task,
    events: &mut Vec<Event>,
    ev: &dyn Fn(&str, Status, Option<String>) -> Event,
    reason: &str,
    class: FailureClass,
    unit: f64,
    now: Timestamp,
    policy: &RetryPolicy,
) {
    t.status = Status::Failed;
    t.lease = None;
    append_note(&mut t.notes, reason);
    if class == FailureClass::Permanent {
        // Said in the notes, as `retry_exhausted` is, so QUEUE.md tells the kinds apart.
        append_note(&mut t.notes, crate::task::PERMANENT_NOTE);
        t.retry_at = None;
        return;
    }
    t.retry_at = policy.next_retry(t.attempts, t.max_attempts, now, unit);
    match t.retry_at {
        Some(at) => events.push(ev(kind::RETRY_SCHEDULED, Status::Failed, Some(format!("retry_at {at}")))),
        None => {
            append_note(&mut t.notes, "retry_exhausted");
            let mut e = ev(kind::RETRY_EXHAUSTED, Status::Failed, Some(format!("after {} attempts", t.attempts)));
            e.level = Level::Error;
            events.push(e);
        }
    }
}

fn block(t: &mut Task, run: &mut RunEffect, note: &str, outcome: RunOutcome) {
    if t.status == Status::InProgress {
        *run = RunEffect::End { outcome, class: None, reason: Some(note.to_string()) };
    }
    t.status = Status::Blocked;
    t.lease = None;
    t.retry_at = None;
    append_note(&mut t.notes, note);
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
