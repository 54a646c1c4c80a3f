//! `orch review ID`: the gate again on the last report of a task, for an operator who
//! changed the rules; with `apply`, a stopped task follows the new verdict (PASS → DONE,
//! RETRY → PENDING, BLOCK → BLOCKED). A DONE task is only reported on, never reopened.
//! The gate is the same one the dispatcher and `orch done` use ([`Orch::judge`]); its
//! reviewer's files get a name of their own, so the run's first review stays as it was.

use super::Orch;
use crate::error::{Error, Result};
use crate::gate::{Decision, Verdict};
use orch_core::state::{Auth, Command};
use orch_core::task::{Status, Task};

/// The gate's answer on a task's last report.
#[derive(Clone, Debug)]
pub struct Review {
    pub run_id: String,
    pub decision: Decision,
}

impl Review {
    pub fn verdict(&self) -> Verdict {
        self.decision.verdict
    }

    pub fn reason(&self) -> &str {
        &self.decision.reason
    }
}

impl Orch {
    pub fn review(&self, id: &str) -> Result<Review> {
        let task = self.get(id)?;
        let runs = self.runs(id)?;
        let run = runs
            .iter()
            .rev()
            .find(|r| r.report.is_some() || r.late_report.is_some())
            .ok_or_else(|| Error::NotFound(format!("{id} has no report to review")))?;
        // The run folder keeps the full text; the stored report may be trimmed.
        let stdout = crate::gate::output::worker_output(&self.home, &run.id);
        if let Some(bytes) = stdout.oversized {
            return Ok(Review { run_id: run.id.clone(), decision: crate::gate::output::oversized(bytes) });
        }
        let text = if stdout.report.is_empty() {
            run.report.clone().or_else(|| run.late_report.clone()).unwrap_or_default()
        } else {
            stdout.report
        };
        let name = format!("review.{}", self.now().as_millisecond());
        let decision = self.judge(&task, &run.id, run.attempt, &text, &name);
        Ok(Review { run_id: run.id.clone(), decision })
    }

    /// Moves a stopped task as the review says. Returns the task after it.
    pub fn apply_review(&self, id: &str, r: &Review) -> Result<(Task, Vec<String>)> {
        let task = self.get(id)?;
        let reason = format!("review:{}", r.reason());
        let cmd = match (task.status, r.verdict()) {
            (Status::Done, _) => return Ok((task, Vec::new())),
            (Status::InProgress | Status::Pending, _) => {
                return Err(Error::Conflict(format!(
                    "{id} is {}: review --apply moves only FAILED or BLOCKED tasks",
                    task.status
                )));
            }
            (_, Verdict::Pass) => Command::Accept { reason },
            (_, Verdict::Retry) => Command::Retry,
            (Status::Blocked, Verdict::Block) => return Ok((task, Vec::new())),
            (_, Verdict::Block) => Command::Block { auth: Auth::Force, reason },
        };
        self.set_verdict(&r.run_id, r.verdict().as_str(), r.reason())?;
        self.apply(id, &cmd)
    }
}
