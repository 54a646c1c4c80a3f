//! Turning a finished worker process into the task's next state: read its stdout (the
//! report and control lines), record usage, then DONE, FAILED by the retry rule, back to
//! PENDING (shutdown), or nothing but a kept late report (the lease was lost).

use super::launch::run_dir;
use crate::error::{Error, Result};
use crate::ops::{Finish, Orch};
use orch_core::outcome::{Exit, read_output, verdict};
use orch_core::policy::FailureClass;
use orch_core::state::{Auth, Command};
use orch_core::task::Task;

/// Why the dispatcher stopped a worker itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    Timeout,
    LeaseLost,
    Shutdown,
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

pub fn settle(
    orch: &Orch,
    task_id: &str,
    run_id: &str,
    token: &str,
    exit: &Exit,
    stop: Option<Stop>,
) -> Result<Settled> {
    let out = read_output(&read_stdout(orch, run_id));
    orch.add_usage(run_id, &out.usage)?;
    let auth = Auth::Token(token.to_string());
    let report = Some(out.report.as_str()).filter(|r| !r.trim().is_empty());
    let result = match stop {
        Some(Stop::Shutdown) => {
            let cmd = Command::Interrupt { auth, reason: "dispatcher_shutdown".into() };
            orch.apply(task_id, &cmd)
        }
        Some(Stop::LeaseLost) => {
            let fin = Finish::Fail { reason: "lease_lost".into(), class: FailureClass::Transient };
            orch.finish(task_id, auth, fin, report)
        }
        Some(Stop::Timeout) => {
            let fin = Finish::Fail { reason: "timeout".into(), class: FailureClass::Transient };
            orch.finish(task_id, auth, fin, report)
        }
        None => match verdict(exit, out.declared.as_ref(), &orch.config.worker.permanent_exit_codes) {
            Ok(()) => orch.finish(task_id, auth, Finish::Done { notes: None }, report),
            Err((class, reason)) => orch.finish(task_id, auth, Finish::Fail { reason, class }, report),
        },
    };
    match result {
        Ok((task, _warnings)) => Ok(Settled::Task(Box::new(task))),
        Err(Error::Transition(_)) => Ok(Settled::LeaseLost),
        Err(e) => Err(e),
    }
}

fn read_stdout(orch: &Orch, run_id: &str) -> String {
    use std::io::Read;
    let path = run_dir(orch, run_id).join("stdout.log");
    let mut buf = Vec::new();
    if let Ok(f) = std::fs::File::open(&path) {
        let _ = f.take(MAX_REPORT_BYTES).read_to_end(&mut buf);
    }
    String::from_utf8_lossy(&buf).into_owned()
}
