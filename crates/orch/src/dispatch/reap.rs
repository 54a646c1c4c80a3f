//! A process of a slot ended: from its exit to the task's next state, which the next
//! turn writes (`take_turn`). The worker's stdout gives the report and control lines (usage
//! and the agent's session id recorded on the run; unreadable control lines appended to
//! its `stderr.log`); its
//! exit, or why the dispatcher stopped it, decides; an exit 0 goes through the gate
//! (`gate::first_step`), whose reviewer, when configured, runs as a second process of
//! the same slot under the same lease, heartbeats and deadline (`gate::after_review` on
//! its exit). A run its worker finished itself (`orch done`) is only reported.

use super::state::{Dispatcher, Ended, Phase, Slot, Stop, to_std};
use crate::error::Result;
use crate::gate::{self, Decision, Step};
use crate::home::Home;
use crate::ops::{Orch, Outcome, Settled};
use orch_core::outcome::{Declared, DeferScope, Exit, Output, Usage, verdict};
use orch_core::policy::FailureClass;
use orch_core::task::{Status, Task};
use orch_core::usage_limit::{self, Reset};
use std::time::{Duration, Instant};

/// The name of a run's own review in its folder (`review.log`, …).
const REVIEW: &str = "review";

impl Dispatcher<'_> {
    /// Decides the end of a slot's process; what becomes of the task waits for the next
    /// turn (a run its worker finished itself is found there, and only reported). When
    /// the store fails meanwhile (busy, or away), the slot and its exit are kept and the
    /// exit is decided again on the next try (`retry_reaps`).
    pub(super) fn reap(&mut self, run_id: &str, exit: Exit) -> Result<()> {
        let Some(s) = self.slots.remove(run_id) else { return Ok(()) };
        if let (Some(ws), Phase::Work) = (&self.workspaces, &s.phase)
            && let Err(e) = ws.after_exit(self.orch, &s.task_id, run_id)
        {
            self.progress.line(&format!("{}: what its worker left was not committed: {e}", s.task_id));
        }
        match self.decide(&s, &exit) {
            Ok(next) => {
                self.follow(s, exit, next);
                Ok(())
            }
            Err(e) => {
                self.slots.insert(run_id.to_string(), s);
                self.unreaped.push((run_id.to_string(), exit));
                Err(e)
            }
        }
    }

    /// Reaps again the exits whose decision the store interrupted.
    pub(super) fn retry_reaps(&mut self) -> Result<()> {
        while let Some((run_id, exit)) = self.unreaped.pop() {
            self.reap(&run_id, exit)?;
        }
        Ok(())
    }

    /// What the end of `s`'s process comes to, with everything read from (or written to)
    /// the store that it needs; nothing about the slot changes here.
    fn decide(&self, s: &Slot, exit: &Exit) -> Result<Next> {
        let run_id = s.run_id.as_str();
        Ok(match &s.phase {
            Phase::Work => {
                let out = worker_output(self.orch, run_id);
                if let Some(session) = &out.session {
                    self.orch.set_session(run_id, session)?;
                }
                match after_work(self.orch, s, exit, &out)? {
                    Ok((outcome, report, judged)) => {
                        // A worker whose own `orch done` landed its branch: not landed twice.
                        let finished = if self.lands(s, &outcome) { self.orch.ended_by_holder(run_id)? } else { None };
                        match finished {
                            Some(ended) => {
                                self.orch.add_usage(run_id, &out.usage)?;
                                Next::Finished(ended)
                            }
                            None => Next::End { outcome, report, judged, usage: out.usage },
                        }
                    }
                    Err(d) => {
                        if let Some(ended) = self.orch.ended_by_holder(run_id)? {
                            self.orch.add_usage(run_id, &out.usage)?;
                            Next::Finished(ended)
                        } else {
                            let task = self.orch.get(&s.task_id)?;
                            self.orch.add_usage(run_id, &out.usage)?;
                            Next::Review(d, Box::new(task))
                        }
                    }
                }
            }
            Phase::Review(d) => {
                let (outcome, report, judged) = after_review(self.orch.home(), s, exit, d.clone());
                Next::End { outcome, report, judged, usage: Usage::default() }
            }
            Phase::Land(l) => {
                let outcome = self.after_land(s, exit, l)?;
                Next::End { outcome, report: l.report.clone(), judged: l.judged.clone(), usage: l.usage }
            }
        })
    }

    /// Acts on the decision about a slot's end.
    fn follow(&mut self, s: Slot, exit: Exit, next: Next) {
        match next {
            Next::End { outcome, report, judged, usage } if self.lands(&s, &outcome) => {
                self.start_land(s, super::state::Landing { outcome, report, judged, usage });
            }
            Next::End { outcome, report, judged, usage } => self.ended.push(Ended {
                task_id: s.task_id,
                run_id: s.run_id,
                token: s.token,
                exit,
                took: s.started.elapsed(),
                outcome,
                report,
                judged,
                usage,
            }),
            Next::Finished(settled) => {
                let took = s.started.elapsed();
                self.report(&s.task_id, &exit, settled, took);
            }
            Next::Review(d, task) => self.start_review(s, d, &task),
        }
    }

    /// The worker's report passed the rules: its reviewer runs in the same slot.
    fn start_review(&mut self, mut s: Slot, d: Decision, task: &Task) {
        match self.orch.reviewer_job(task, &s.run_id, s.attempt, &d, REVIEW).start() {
            Ok(spawned) => {
                s.group = self.watch(spawned.child, &s.run_id);
                s.deadline = Instant::now() + to_std(self.orch.config().gate.reviewer_timeout);
                s.phase = Phase::Review(d);
                self.slots.insert(s.run_id.clone(), s);
            }
            Err(e) => {
                let d = gate::after_review(d, Err(format!("could not start: {e}")));
                self.ended.push(Ended {
                    took: s.started.elapsed(),
                    task_id: s.task_id,
                    run_id: s.run_id,
                    token: s.token,
                    exit: Exit::Code(0),
                    outcome: Outcome::of(&d),
                    report: d.report.clone(),
                    judged: Some(d),
                    usage: Usage::default(),
                });
            }
        }
    }

    /// One progress line for a task that ended, with the reason that was recorded.
    pub(super) fn report(&mut self, task_id: &str, exit: &Exit, settled: Settled, took: Duration) {
        if let Some(w) = self.workspaces.as_ref().and_then(|ws| ws.settled(self.orch, task_id, &settled)) {
            self.progress.line(&w);
        }
        let took =
            orch_core::time::format_elapsed(jiff::SignedDuration::try_from(took).unwrap_or(jiff::SignedDuration::MAX));
        let (tz, now) = (self.orch.tz().clone(), self.orch.now());
        let c = &mut self.progress.counts;
        let mut count = |status: Status| match status {
            Status::Done => c.done += 1,
            Status::Failed => c.failed += 1,
            Status::Blocked => c.blocked += 1,
            Status::Pending => c.interrupted += 1,
            Status::InProgress => {}
        };
        let (line, status) = match &settled {
            Settled::LeaseLost => {
                c.lease_lost += 1;
                (format!("{task_id} stopped: its lease was lost ({took})"), None)
            }
            Settled::Ended { task, outcome } => {
                count(task.status);
                let line = format!("{task_id} finished by its worker (run {outcome}): now {} ({took})", task.status);
                (line, Some(task.status))
            }
            Settled::Task { task, reason, .. } => {
                count(task.status);
                let why = reason.as_deref().unwrap_or("-");
                let line = match task.status {
                    Status::Done => format!("{task_id} done ({took})"),
                    Status::Failed => {
                        let next = task.retry_at.map_or_else(
                            || "no retry".to_string(),
                            |r| format!("retry {}", orch_core::time::format_next(r, now, &tz)),
                        );
                        format!("{task_id} failed ({why}): {next} ({took})")
                    }
                    Status::Blocked => format!("{task_id} blocked ({why}) ({took})"),
                    Status::Pending => match task.waiting_until(now) {
                        Some(at) => format!(
                            "{task_id} deferred ({why}): waits, starts {} (not counted as an attempt)",
                            orch_core::time::format_from_now(at, now, &tz)
                        ),
                        None => format!("{task_id} put back (not counted as an attempt)"),
                    },
                    Status::InProgress => format!("{task_id} still in progress"),
                };
                (line, Some(task.status))
            }
        };
        self.progress.line(&line);
        self.summary.last_task = Some(task_id.to_string());
        self.summary.last_status = status;
        self.summary.last_exit = Some(exit.clone());
        self.show_status();
    }
}

/// The worker's output (its usage is recorded with the run's end). Control lines that
/// could not be read are appended to the run's `stderr.log`, so they do not vanish.
fn worker_output(orch: &Orch, run_id: &str) -> Output {
    let out = gate::output::worker_output(orch.home(), run_id);
    if !out.bad_control_lines.is_empty() {
        let text: String =
            out.bad_control_lines.iter().map(|l| format!("orch: control line not understood: {l}\n")).collect();
        let _ = crate::home::append_private(&orch.home().run_dir(run_id).join("stderr.log"), &text);
    }
    out
}

/// What the end of a slot's process comes to.
enum Next {
    /// The run ends so; the next turn writes it.
    End { outcome: Outcome, report: String, judged: Option<Decision>, usage: Usage },
    /// Its worker had finished the task itself: only reported.
    Finished(Settled),
    /// The report passed the rules: the reviewer of the task runs next.
    Review(Decision, Box<Task>),
}

/// The outcome of a worker that ended, the report to keep and the gate's decision when
/// it judged; or `Err` with the rules' decision when the reviewer must be asked.
type AfterWork = Result<(Outcome, String, Option<Decision>), Decision>;

fn after_work(orch: &Orch, s: &Slot, exit: &Exit, out: &Output) -> Result<AfterWork> {
    let report = out.report.clone();
    let outcome = match s.stop {
        Some(Stop::Shutdown) => Outcome::Interrupt,
        Some(Stop::LeaseLost | Stop::Finished) => Outcome::LeaseLost,
        Some(Stop::Timeout) => Outcome::Fail { class: FailureClass::Transient, reason: "timeout".into() },
        None if matches!(exit, Exit::Code(_))
            && let Some(d) = deferral(orch, &s.run_id, out) =>
        {
            d
        }
        None => match verdict(exit, out.declared.as_ref(), &orch.config().worker.permanent_exit_codes) {
            Err((class, reason)) => Outcome::Fail { class, reason },
            Ok(()) if out.oversized.is_some() => {
                let d = gate::output::oversized(out.oversized.unwrap_or(0));
                return Ok(Ok((Outcome::of(&d), d.report.clone(), Some(d))));
            }
            Ok(()) => match gate::first_step(&orch.gate_for_run(&s.run_id)?, &out.report) {
                Step::Review(d) => return Ok(Err(d)),
                Step::Decided(d) => return Ok(Ok((Outcome::of(&d), d.report.clone(), Some(d)))),
            },
        },
    };
    Ok(Ok((outcome, report, None)))
}

/// A worker that exited saying "not now": its `defer` control line, else a usage limit
/// its agent reported (its whole profile waits, until the reset when the agent says it,
/// else `worker.defer_after`).
fn deferral(orch: &Orch, run_id: &str, out: &Output) -> Option<Outcome> {
    let (now, wait) = (orch.now(), orch.config().worker.defer_after);
    if let Some(Declared::Defer(d)) = &out.declared {
        return Some(Outcome::Defer { until: d.at.resolve(now, wait), scope: d.scope, reason: d.reason.clone() });
    }
    let limit = gate::output::usage_limit(orch.home(), run_id)?;
    let zone = match &limit.reset {
        Reset::Clock { zone: Some(name), .. } => jiff::tz::TimeZone::get(name).unwrap_or_else(|_| orch.tz().clone()),
        _ => orch.tz().clone(),
    };
    let until = usage_limit::reset_at(&limit.reset, now, &zone)
        .filter(|at| *at > now)
        .map_or_else(|| orch_core::time::later(now, wait), |at| at.min(orch_core::time::MAX_DUE));
    let reason = format!("usage_limit:{}: {}", limit.agent.as_str(), one_line(&limit.message));
    Some(Outcome::Defer { until, scope: DeferScope::Profile, reason })
}

/// The agent's words on one line, at most 200 characters, for the task's event.
fn one_line(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &flat[..i]),
        None => flat,
    }
}

/// The reviewer of a run ended: its verdict decides (a failed review is a RETRY).
fn after_review(home: &Home, s: &Slot, exit: &Exit, d: Decision) -> (Outcome, String, Option<Decision>) {
    let review = match s.stop {
        Some(Stop::Shutdown) => return (Outcome::Interrupt, d.report, None),
        Some(Stop::LeaseLost | Stop::Finished) => return (Outcome::LeaseLost, d.report, None),
        Some(Stop::Timeout) => gate::parse_reviewer("", &Exit::TimedOut),
        None => gate::reviewer::verdict(home, &s.run_id, REVIEW, exit),
    };
    let d = gate::after_review(d, review);
    (Outcome::of(&d), d.report.clone(), Some(d))
}
