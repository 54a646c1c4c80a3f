//! The gate: what stands between a worker's exit 0 and DONE (docs/GATE.md).
//!
//! First the rules that need nobody: the compact report (at most 8 bullets and a Risks
//! section — RETRY otherwise, the reason noted for the next attempt) and the token budget
//! counted with a real BPE tokenizer (o200k, shipped inside the crate: no download). Over
//! soft, the report passes trimmed to its bullets and Risks with the note
//! `budget_soft_exceeded`; over hard, it is BLOCKED `budget_hard_exceeded`. Then, when
//! configured, a reviewer command gets `{"task", "report", "attempt"}` as JSON on stdin
//! and prints `{"verdict":"PASS|RETRY|BLOCK","reason":"…"}`. A reviewer that crashes,
//! times out or prints garbage is a transient failure of the review, never a PASS.
//!
//! A report too large to read (`output`) is over the hard budget unread.
//!
//! This is the one place that decides: [`first_step`] (the rules, and whether the
//! reviewer must be asked) and [`after_review`] (the reviewer's answer) serve the
//! dispatcher (which runs the reviewer as a second process of its slot), `orch done` and
//! `orch review` (which run it to its end, see [`reviewer`]).

pub mod output;
pub mod reviewer;

use crate::config::Gate;
use orch_core::outcome::Exit;
use orch_core::report::{self, Budget};
use serde::Deserialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Retry,
    Block,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Retry => "RETRY",
            Verdict::Block => "BLOCK",
        }
    }
}

/// The gate's decision on one report.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub verdict: Verdict,
    pub reason: String,
    /// A note for the task on a PASS (`budget_soft_exceeded`).
    pub note: Option<String>,
    /// The report to keep on the run (trimmed when over the soft budget).
    pub report: String,
    /// The report's token count; `None` when it is so short (no more bytes than the soft
    /// budget has tokens, and a token is at least one byte) that counting was skipped.
    pub tokens: Option<usize>,
}

/// Tokens of `text` by the o200k BPE.
pub fn count_tokens(text: &str) -> usize {
    tiktoken_rs::o200k_base_singleton().encode_ordinary(text).len()
}

/// The settings for one task: a task may carry its own token budget (the extra columns
/// `budget_soft_tokens` / `budget_hard_tokens`, which `team add` sets from a template's
/// `budget`); what it leaves out comes from `[gate]`.
pub fn for_task(cfg: &Gate, task: &orch_core::task::Task) -> Gate {
    let own = orch_core::team::Budget::of_task(task);
    let mut g = cfg.clone();
    g.soft_tokens = own.soft_tokens.map_or(g.soft_tokens, |n| usize::try_from(n).unwrap_or(usize::MAX));
    g.hard_tokens = own.hard_tokens.map_or(g.hard_tokens, |n| usize::try_from(n).unwrap_or(usize::MAX));
    // A hand-edited pair the wrong way round: the hard limit wins.
    g.soft_tokens = g.soft_tokens.min(g.hard_tokens);
    g
}

/// The rules that need no reviewer.
pub fn rules(cfg: &Gate, report_text: &str) -> Decision {
    // Loading the BPE tables costs a moment: a report with no more bytes than the soft
    // budget has tokens is within it whatever its count.
    let tokens = (report_text.len() > cfg.soft_tokens).then(|| count_tokens(report_text));
    let mut d = Decision {
        verdict: Verdict::Pass,
        reason: match tokens {
            Some(t) => format!("{t} tokens"),
            // Budgets are in tokens: a report of N bytes has at most N.
            None => format!("within the {}-token budget (at most {} tokens)", cfg.soft_tokens, report_text.len()),
        },
        note: None,
        report: report_text.to_string(),
        tokens,
    };
    if cfg.compact_report
        && let Some(problem) = report::problems(report_text, report::MAX_BULLETS)
    {
        d.verdict = Verdict::Retry;
        d.reason = problem;
        return d;
    }
    let Some(tokens) = tokens else { return d };
    match report::budget(tokens, cfg.soft_tokens, cfg.hard_tokens) {
        Budget::Within => {}
        Budget::Soft => {
            d.note = Some("budget_soft_exceeded".into());
            d.reason = format!("budget_soft_exceeded: {tokens} tokens (soft {})", cfg.soft_tokens);
            if cfg.compact_report {
                d.report = report::trim(report_text);
            }
        }
        Budget::Hard => {
            d.verdict = Verdict::Block;
            d.reason = format!("budget_hard_exceeded: {tokens} tokens (hard {})", cfg.hard_tokens);
        }
    }
    d
}

/// What the gate does with a report after its rules.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// The gate has decided.
    Decided(Decision),
    /// The rules passed and a reviewer is configured: its verdict decides (see
    /// [`after_review`]).
    Review(Decision),
}

/// The first step of the gate on `report_text`: its rules; then the reviewer, when one is
/// configured and the rules passed.
pub fn first_step(cfg: &Gate, report_text: &str) -> Step {
    let d = rules(cfg, report_text);
    if d.verdict == Verdict::Pass && !cfg.reviewer.is_empty() { Step::Review(d) } else { Step::Decided(d) }
}

/// The final decision once the reviewer answered (`Err`: the review failed — it crashed,
/// timed out or printed no verdict — which is a RETRY, never a PASS). A PASS keeps the
/// rules' note and report.
pub fn after_review(rules: Decision, review: Result<(Verdict, String), String>) -> Decision {
    let (verdict, reason) = match review {
        Ok((Verdict::Pass, why)) => (Verdict::Pass, why),
        Ok((Verdict::Retry, why)) => (Verdict::Retry, format!("review_retry: {why}")),
        Ok((Verdict::Block, why)) => (Verdict::Block, format!("review_block: {why}")),
        Err(e) => (Verdict::Retry, format!("reviewer_failed: {e}")),
    };
    Decision { verdict, reason, ..rules }
}

/// What the reviewer reads on stdin.
pub fn reviewer_input(task: &serde_json::Value, report_text: &str, attempt: u32) -> String {
    serde_json::json!({"task": task, "report": report_text, "attempt": attempt}).to_string()
}

#[derive(Deserialize)]
struct ReviewerLine {
    verdict: String,
    #[serde(default)]
    reason: String,
}

/// Reads the reviewer's verdict: the last line of its stdout that is a verdict object.
/// Anything else — a non-zero exit, a signal, no verdict — is an error (a failed review).
pub fn parse_reviewer(stdout: &str, exit: &Exit) -> Result<(Verdict, String), String> {
    match exit {
        Exit::Code(0) => {}
        Exit::Code(c) => return Err(format!("reviewer exited with {c}")),
        Exit::Signal(s) => return Err(format!("reviewer killed by signal {s}")),
        Exit::TimedOut => return Err("reviewer timed out".into()),
        Exit::SpawnFailed(e) => return Err(format!("reviewer could not start: {e}")),
    }
    let line = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<ReviewerLine>(l.trim()).ok())
        .ok_or("reviewer printed no verdict")?;
    let verdict = match line.verdict.to_ascii_uppercase().as_str() {
        "PASS" => Verdict::Pass,
        "RETRY" => Verdict::Retry,
        "BLOCK" => Verdict::Block,
        other => return Err(format!("reviewer verdict `{other}` is not PASS, RETRY or BLOCK")),
    };
    Ok((verdict, line.reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Gate {
        Gate::default()
    }

    #[test]
    fn a_valid_report_passes() {
        let d = rules(&cfg(), "- did it\n- tested it\nRisks: none\n");
        assert_eq!(d.verdict, Verdict::Pass);
        assert_eq!(d.tokens, None, "a short report is not counted");
        assert!(d.reason.contains("tokens") && !d.reason.contains("bytes"), "budgets are said in tokens: {}", d.reason);
        let n = count_tokens("- did it\n- tested it\nRisks: none\n");
        assert!(n > 5 && n < 20, "{n}");
    }

    #[test]
    fn budgets_soft_then_hard() {
        let words = |n: usize| "- ".to_string() + &"token ".repeat(n) + "\nRisks: none\n";
        let soft = rules(&cfg(), &("prose line\n".to_string() + &words(2500)));
        assert_eq!((soft.verdict, soft.note.as_deref()), (Verdict::Pass, Some("budget_soft_exceeded")));
        assert!(!soft.report.contains("prose line"));
        let hard = rules(&cfg(), &words(5000));
        assert_eq!(hard.verdict, Verdict::Block);
        assert!(hard.reason.starts_with("budget_hard_exceeded"));
    }

    #[test]
    fn plain_queues_skip_the_report_rules() {
        let c = Gate { compact_report: false, ..cfg() };
        assert_eq!(rules(&c, "ok").verdict, Verdict::Pass);
        assert_eq!(rules(&cfg(), "ok").verdict, Verdict::Retry);
    }

    #[test]
    fn a_task_budget_overrides_the_config() {
        let mut t = orch_core::task::Task::new(
            "ORCH-001".into(),
            "x".into(),
            orch_core::task::Priority::P1,
            4,
            jiff::Timestamp::UNIX_EPOCH,
        );
        assert_eq!((for_task(&cfg(), &t).soft_tokens, for_task(&cfg(), &t).hard_tokens), (2000, 3500));
        t.extra = vec![("budget_hard_tokens".into(), "30".into())];
        let g = for_task(&cfg(), &t);
        assert_eq!((g.soft_tokens, g.hard_tokens), (30, 30));
        assert_eq!(rules(&g, &("- ".to_string() + &"word ".repeat(40) + "\nRisks: none\n")).verdict, Verdict::Block);
    }

    #[test]
    fn the_reviewer_is_asked_only_after_the_rules_pass() {
        let with = Gate { reviewer: vec!["judge".into()], ..cfg() };
        assert!(matches!(first_step(&with, "- ok\nRisks: none\n"), Step::Review(_)));
        assert!(matches!(first_step(&with, "- ok\n"), Step::Decided(d) if d.verdict == Verdict::Retry));
        assert!(matches!(first_step(&cfg(), "- ok\nRisks: none\n"), Step::Decided(d) if d.verdict == Verdict::Pass));
        let Step::Review(d) = first_step(&with, "- ok\nRisks: none\n") else { unreachable!() };
        let block = after_review(d.clone(), Ok((Verdict::Block, "unsafe".into())));
        assert_eq!((block.verdict, block.reason.as_str()), (Verdict::Block, "review_block: unsafe"));
        let failed = after_review(d.clone(), Err("reviewer printed no verdict".into()));
        assert_eq!(
            (failed.verdict, failed.reason.as_str()),
            (Verdict::Retry, "reviewer_failed: reviewer printed no verdict")
        );
        assert_eq!(after_review(d, Ok((Verdict::Pass, "ok".into()))).verdict, Verdict::Pass);
    }

    #[test]
    fn reviewer_output_is_read_strictly() {
        let ok = "thinking…\n{\"verdict\":\"block\",\"reason\":\"unsafe\"}\n";
        assert_eq!(parse_reviewer(ok, &Exit::Code(0)), Ok((Verdict::Block, "unsafe".into())));
        assert!(parse_reviewer("PASS", &Exit::Code(0)).is_err());
        assert!(parse_reviewer("{\"verdict\":\"MAYBE\"}", &Exit::Code(0)).is_err());
        assert!(parse_reviewer("{\"verdict\":\"PASS\"}", &Exit::Code(2)).is_err());
    }
}
