//! `orch review ID`: the gate again on the last report of a task, for an operator who
//! changed the rules; with `apply`, a stopped task follows the new verdict (PASS → DONE,
//! RETRY → PENDING, BLOCK → BLOCKED). A DONE task is only reported on, never reopened.

use super::Orch;
use crate::error::{Error, Result};
use crate::gate::{self, Decision, Verdict};
use crate::ops::json::task_json;
use crate::runner::{self, Spec};
use orch_core::outcome::Exit;
use orch_core::state::{Auth, Command};
use orch_core::task::{Status, Task};
use std::time::{Duration, Instant};

/// The gate's answer on a task's last report.
#[derive(Clone, Debug)]
pub struct Review {
    pub run_id: String,
    pub decision: Decision,
    /// The reviewer's verdict and reason, when one is configured and the rules passed.
    pub reviewer: Option<(Verdict, String)>,
}

impl Review {
    pub fn verdict(&self) -> Verdict {
        self.reviewer.as_ref().map_or(self.decision.verdict, |(v, _)| *v)
    }

    pub fn reason(&self) -> &str {
        self.reviewer.as_ref().map_or(&self.decision.reason, |(_, r)| r)
    }
}

impl Orch {
    pub fn review(&self, id: &str) -> Result<Review> {
        let runs = self.runs(id)?;
        let run = runs
            .iter()
            .rev()
            .find(|r| r.report.is_some() || r.late_report.is_some())
            .ok_or_else(|| Error::NotFound(format!("{id} has no report to review")))?;
        // The run folder keeps the full text; the stored report may be trimmed.
        let full = crate::dispatch::run_dir(self, &run.id).join("stdout.log");
        let text = match std::fs::read_to_string(&full) {
            Ok(t) => orch_core::outcome::read_output(&t).report,
            Err(_) => run.report.clone().or_else(|| run.late_report.clone()).unwrap_or_default(),
        };
        let decision = gate::rules(&self.gate_for_task(&self.get(id)?), &text);
        let reviewer = if decision.verdict == Verdict::Pass && !self.config.gate.reviewer.is_empty() {
            let task = self.get(id)?;
            Some(self.run_reviewer(&task, &run.id, run.attempt, &decision))
        } else {
            None
        };
        Ok(Review { run_id: run.id.clone(), decision, reviewer })
    }

    /// Runs the reviewer to its end (or its timeout) and reads its verdict; a failed
    /// review is a RETRY.
    fn run_reviewer(&self, task: &Task, run_id: &str, attempt: u32, d: &Decision) -> (Verdict, String) {
        let dir = crate::dispatch::run_dir(self, run_id);
        let input = dir.join("review_input.json");
        let spec = Spec {
            argv: self.config.gate.reviewer.clone(),
            env: vec![("ORCH_TASK_ID".into(), task.id.clone()), ("ORCH_RUN_ID".into(), run_id.to_string())],
            cwd: self.home.root().to_path_buf(),
            stdout: dir.join("review.log"),
            stderr: dir.join("review.err.log"),
            stdin: Some(input.clone()),
        };
        let text = gate::reviewer_input(&task_json(task), &d.report, attempt);
        let exit = match crate::home::create_private_dir(&dir)
            .and_then(|_| crate::home::write_atomic(&input, text.as_bytes()))
            .map_err(|e| e.to_string())
            .and_then(|_| runner::spawn(&spec))
        {
            Err(e) => Exit::SpawnFailed(e),
            Ok(mut s) => {
                let until = Instant::now() + self.config.gate.reviewer_timeout.unsigned_abs();
                loop {
                    if let Ok(Some(status)) = s.child.try_wait() {
                        runner::kill_group(s.pid);
                        break runner::exit_of(status);
                    }
                    if Instant::now() >= until {
                        runner::kill_group(s.pid);
                        let _ = s.child.wait();
                        break Exit::TimedOut;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        };
        let out = std::fs::read_to_string(dir.join("review.log")).unwrap_or_default();
        gate::parse_reviewer(&out, &exit).unwrap_or_else(|e| (Verdict::Retry, format!("reviewer_failed: {e}")))
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
