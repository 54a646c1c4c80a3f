//! What a new run of a task is told of the runs before it: the agent session to resume
//! (`{resume_session}`, `ORCH_RESUME_SESSION`) and the last attempt's end, its reason
//! and its report (`{last_attempt}`), each bounded so a long report never swells the
//! prompt (WORKER_PROTOCOL.md).

use orch_store::Run;

/// The most bytes of the last attempt's reason the prompt carries (its head).
pub const MAX_REASON_BYTES: usize = 1024;
/// The most bytes of the last attempt's report the prompt carries (its tail, where a
/// failing command's error usually is).
pub const MAX_REPORT_BYTES: usize = 4096;

/// What `{last_attempt}` holds on a first attempt.
pub const NONE: &str = "-";

/// What a run is told of the earlier runs of its task.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Before {
    /// The session of the newest earlier run that reported one; empty when none did.
    pub session: String,
    /// The last earlier run that ended, as text ([`NONE`] when there is none).
    pub last_attempt: String,
}

/// `runs` are the task's runs, oldest first; `this` is the new run's id.
pub fn before(runs: &[Run], this: &str) -> Before {
    let earlier: Vec<&Run> = runs.iter().filter(|r| r.id != this).collect();
    let session = earlier.iter().rev().find_map(|r| r.session.clone()).unwrap_or_default();
    let last_attempt =
        earlier.iter().rev().find(|r| r.ended_at.is_some()).map_or_else(|| NONE.to_string(), |r| text(r));
    Before { session, last_attempt }
}

/// The text of one ended run: `Attempt 2 ended failed: exit_code:1`, then its report.
fn text(r: &Run) -> String {
    let outcome = r.outcome.as_deref().unwrap_or("unknown");
    let reason = r.reason.as_deref().or(r.verdict_reason.as_deref()).map(|s| s.trim()).filter(|s| !s.is_empty());
    let mut out = format!("Attempt {} ended {outcome}", r.attempt);
    if let Some(reason) = reason {
        out.push_str(": ");
        out.push_str(head(reason, MAX_REASON_BYTES));
    }
    out.push('\n');
    match r.report.as_deref().or(r.late_report.as_deref()).map(str::trim).filter(|s| !s.is_empty()) {
        None => out.push_str("Its report: (none)"),
        Some(report) if report.len() <= MAX_REPORT_BYTES => {
            out.push_str("Its report:\n");
            out.push_str(report);
        }
        Some(report) => {
            let tail = tail(report, MAX_REPORT_BYTES);
            let left = report.len() - tail.len();
            out.push_str(&format!(
                "Its report (its last {} bytes; the {left} bytes before them are left out):\n",
                tail.len()
            ));
            out.push_str(tail);
        }
    }
    out
}

fn head(s: &str, max: usize) -> &str {
    &s[..s.floor_char_boundary(max)]
}

fn tail(s: &str, max: usize) -> &str {
    &s[s.ceil_char_boundary(s.len().saturating_sub(max))..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str, attempt: u32, ended: bool) -> Run {
        Run {
            id: id.into(),
            attempt,
            ended_at: ended.then_some(jiff::Timestamp::UNIX_EPOCH),
            outcome: ended.then(|| "failed".into()),
            ..Run::default()
        }
    }

    #[test]
    fn a_first_run_is_told_nothing() {
        assert_eq!(before(&[run("r1", 1, false)], "r1"), Before { session: String::new(), last_attempt: "-".into() });
    }

    #[test]
    fn a_retry_gets_the_newest_session_and_the_last_end() {
        let mut a = run("r1", 1, true);
        a.session = Some("s-1".into());
        a.reason = Some("exit_code:1".into());
        a.report = Some("- tried\nRisks: none\n".into());
        let mut b = run("r2", 2, true);
        b.reason = Some("review_retry: no tests".into());
        let c = run("r3", 3, false);
        let got = before(&[a.clone(), b, c.clone()], "r3");
        assert_eq!(got.session, "s-1", "the newest run that reported one");
        assert_eq!(got.last_attempt, "Attempt 2 ended failed: review_retry: no tests\nIts report: (none)");
        let got = before(&[a, c], "r3");
        assert_eq!(got.last_attempt, "Attempt 1 ended failed: exit_code:1\nIts report:\n- tried\nRisks: none");
    }

    #[test]
    fn a_long_reason_and_report_are_bounded() {
        let mut a = run("r1", 1, true);
        a.reason = Some("é".repeat(2000));
        a.report = Some(format!("{}THE END", "한".repeat(3000)));
        let text = before(&[a, run("r2", 2, false)], "r2").last_attempt;
        assert!(text.len() < MAX_REASON_BYTES + MAX_REPORT_BYTES + 200, "{}", text.len());
        assert!(text.ends_with("THE END"), "the tail is kept");
        assert!(text.contains("bytes before them are left out"), "{}", &text[..200]);
    }
}
