//! From a finished process to an outcome: the worker's exit and report go through the
//! gate's rules; when a reviewer is configured, a passing report is handed to it as a
//! second process of the same slot (under the same lease, heartbeats and deadline), and
//! its verdict decides.

use super::launch::run_dir;
use super::settle::{Outcome, Stop, read_run_file, worker_output};
use crate::error::Result;
use crate::gate::{self, Decision, Verdict};
use crate::ops::Orch;
use crate::ops::json::task_json;
use crate::runner::{self, Spawned, Spec};
use orch_core::outcome::{Exit, verdict};
use orch_core::policy::FailureClass;

/// What to do after the worker process ended.
pub enum AfterWork {
    /// Settle now with this outcome and report.
    Settle(Outcome, String),
    /// Start the reviewer on this decision.
    Review(Decision),
}

/// The worker process of `run_id` ended with `exit`.
pub fn after_work(orch: &Orch, run_id: &str, exit: &Exit, stop: Option<Stop>) -> Result<AfterWork> {
    let out = worker_output(orch, run_id)?;
    let report = out.report.clone();
    let outcome = match stop {
        Some(Stop::Shutdown) => Outcome::Interrupt,
        Some(Stop::LeaseLost) => Outcome::LeaseLost,
        Some(Stop::Timeout) => Outcome::Fail { class: FailureClass::Transient, reason: "timeout".into() },
        None => match verdict(exit, out.declared.as_ref(), &orch.config.worker.permanent_exit_codes) {
            Err((class, reason)) => Outcome::Fail { class, reason },
            Ok(()) => {
                let d = gate::rules(&orch.gate_for_run(run_id)?, &out.report);
                if d.verdict == Verdict::Pass && !orch.config.gate.reviewer.is_empty() {
                    return Ok(AfterWork::Review(d));
                }
                orch.set_verdict(run_id, d.verdict.as_str(), &d.reason)?;
                return Ok(AfterWork::Settle(outcome_of(d.verdict, &d), d.report));
            }
        },
    };
    Ok(AfterWork::Settle(outcome, report))
}

/// The outcome of a gate verdict.
fn outcome_of(v: Verdict, d: &Decision) -> Outcome {
    match v {
        Verdict::Pass => Outcome::Done { note: d.note.clone() },
        Verdict::Retry => Outcome::Fail { class: FailureClass::Transient, reason: d.reason.clone() },
        Verdict::Block => Outcome::Block { reason: d.reason.clone() },
    }
}

/// Starts the reviewer for a run whose report passed the rules.
pub fn start_review(orch: &Orch, task_id: &str, run_id: &str, attempt: u32, d: &Decision) -> Result<Spawned, String> {
    let task = orch.get(task_id).map_err(|e| e.to_string())?;
    let dir = run_dir(orch, run_id);
    let input = dir.join("review_input.json");
    let text = gate::reviewer_input(&task_json(&task), &d.report, attempt);
    super::launch::write_private(&input, &text)?;
    let spec = Spec {
        argv: orch.config.gate.reviewer.clone(),
        env: vec![
            ("ORCH_TASK_ID".into(), task_id.to_string()),
            ("ORCH_RUN_ID".into(), run_id.to_string()),
            ("ORCH_HOME".into(), orch.home.dir.display().to_string()),
        ],
        cwd: orch.home.root().to_path_buf(),
        stdout: dir.join("review.log"),
        stderr: dir.join("review.err.log"),
        stdin: Some(input),
    };
    runner::spawn(&spec)
}

/// The reviewer process of `run_id` ended: its verdict decides.
pub fn after_review(orch: &Orch, run_id: &str, exit: &Exit, stop: Option<Stop>, d: &Decision) -> Result<Outcome> {
    let parsed = match stop {
        Some(Stop::Shutdown) => return Ok(Outcome::Interrupt),
        Some(Stop::LeaseLost) => return Ok(Outcome::LeaseLost),
        Some(Stop::Timeout) => gate::parse_reviewer("", &Exit::TimedOut),
        None => gate::parse_reviewer(&read_run_file(orch, run_id, "review.log"), exit),
    };
    let (v, reason) = match parsed {
        Ok(p) => p,
        // A review that failed is a transient failure of the review, never a PASS.
        Err(e) => (Verdict::Retry, format!("reviewer_failed: {e}")),
    };
    orch.set_verdict(run_id, v.as_str(), &reason)?;
    Ok(match v {
        Verdict::Pass => Outcome::Done { note: d.note.clone() },
        Verdict::Retry => Outcome::Fail { class: FailureClass::Transient, reason: format!("review_retry: {reason}") },
        Verdict::Block => Outcome::Block { reason: format!("review_block: {reason}") },
    })
}
