//! Turning a finished process into the task's next state: read the worker's stdout (the
//! report and control lines) and record its usage; then DONE, FAILED by the retry rule,
//! BLOCKED, back to PENDING (shutdown), or nothing but a kept late report (the lease was
//! lost). A task whose runs spent `budget.task_cost_usd` is not retried: BLOCKED
//! `cost_limit`.

use super::launch::run_dir;
use crate::error::{Error, Result};
use crate::ops::{Finish, Orch};
use orch_core::outcome::{Output, read_output};
use orch_core::policy::FailureClass;
use orch_core::state::{Auth, Command};
use orch_core::task::Task;

/// Why the dispatcher stopped a process itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    Timeout,
    LeaseLost,
    Shutdown,
}

/// What becomes of the task.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Done {
        note: Option<String>,
    },
    Fail {
        class: FailureClass,
        reason: String,
    },
    Block {
        reason: String,
    },
    /// Back to PENDING, the attempt not counted.
    Interrupt,
    /// The lease is gone: only keep the report.
    LeaseLost,
}

/// A worker's stdout is read up to this size; a longer one is cut (the file keeps all).
const MAX_REPORT_BYTES: u64 = 4 * 1024 * 1024;

/// What happened to the task, for the progress display.
#[derive(Clone, Debug)]
pub enum Settled {
    Task(Box<Task>),
    /// The lease was gone: the task belongs to someone else now.
    LeaseLost,
}

/// Reads a file of the run (`stdout.log`, `review.log`), cut at [`MAX_REPORT_BYTES`].
pub fn read_run_file(orch: &Orch, run_id: &str, name: &str) -> String {
    use std::io::Read;
    let path = run_dir(orch, run_id).join(name);
    let mut buf = Vec::new();
    if let Ok(f) = std::fs::File::open(&path) {
        let _ = f.take(MAX_REPORT_BYTES).read_to_end(&mut buf);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// The worker's output, with its usage recorded on the run.
pub fn worker_output(orch: &Orch, run_id: &str) -> Result<Output> {
    let out = read_output(&read_run_file(orch, run_id, "stdout.log"));
    orch.add_usage(run_id, &out.usage)?;
    Ok(out)
}

/// Applies `outcome` to the task; `report` goes on the run.
pub fn finish(orch: &Orch, task_id: &str, token: &str, outcome: Outcome, report: &str) -> Result<Settled> {
    let outcome = cost_limited(orch, task_id, outcome)?;
    let auth = Auth::Token(token.to_string());
    let report = Some(report).filter(|r| !r.trim().is_empty());
    let result = match outcome {
        Outcome::Interrupt => orch.apply(task_id, &Command::Interrupt { auth, reason: "dispatcher_shutdown".into() }),
        Outcome::LeaseLost => {
            let fin = Finish::Fail { reason: "lease_lost".into(), class: FailureClass::Transient };
            orch.finish(task_id, auth, fin, report)
        }
        Outcome::Done { note } => orch.finish(task_id, auth, Finish::Done { notes: note }, report),
        Outcome::Fail { class, reason } => orch.finish(task_id, auth, Finish::Fail { reason, class }, report),
        Outcome::Block { reason } => orch.apply_with_report(task_id, &Command::Block { auth, reason }, report),
    };
    match result {
        Ok((task, _warnings)) => Ok(Settled::Task(Box::new(task))),
        Err(Error::Transition(_)) => Ok(Settled::LeaseLost),
        Err(e) => Err(e),
    }
}

/// A failure of a task that spent its cost budget blocks it instead of retrying.
fn cost_limited(orch: &Orch, task_id: &str, outcome: Outcome) -> Result<Outcome> {
    let limit = orch.config.budget.task_cost_usd;
    if limit <= 0.0 || !matches!(outcome, Outcome::Fail { .. }) {
        return Ok(outcome);
    }
    let spent = orch.task_cost(task_id)?;
    if spent < limit {
        return Ok(outcome);
    }
    let reason = format!("cost_limit: ${spent:.2} spent (limit ${limit:.2})");
    orch.budget_exceeded(Some(task_id), &reason)?;
    Ok(Outcome::Block { reason })
}
