//! What happened in a KPI window, counted: runs started, runs ended by outcome (every
//! outcome, a success, a failure or neither), lease expiries, gate verdicts and the tokens
//! the runs reported. `kpi` feeds it one run at a time; `docs/KPI.md` states the rules.

use crate::outcome::Usage;
use serde::Serialize;
use std::collections::BTreeMap;

/// Every outcome a run can end with (listed at zero when no run ended so): the
/// dispatcher's and the operations' (`orch_core::state::RunOutcome`) and `abandoned`
/// (its dispatcher died and the task had moved on).
pub const OUTCOMES: &[&str] =
    &["abandoned", "blocked", "cancelled", "deferred", "done", "expired", "failed", "interrupted"];

/// Every verdict the gate gives (listed at zero when it gave none).
pub const VERDICTS: &[&str] = &["BLOCK", "PASS", "RETRY"];

/// The kinds of tokens a run reports (`Usage`).
pub const TOKEN_KINDS: &[&str] = &["input", "output"];

/// The counts of a window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WindowCounts {
    /// Runs started in the window.
    pub runs_started: usize,
    /// Runs that ended in the window, by outcome (every outcome listed).
    pub runs_finished: BTreeMap<String, usize>,
    /// Runs that ended `expired` in the window: the watchdog found their lease run out.
    pub lease_expiries: usize,
    /// The gate's verdicts on runs that ended in the window, by verdict.
    pub verdicts: BTreeMap<String, usize>,
    /// Tokens reported by every run active in the window, by kind.
    pub tokens: BTreeMap<String, u64>,
}

impl Default for WindowCounts {
    fn default() -> Self {
        let zeros = |names: &[&str]| names.iter().map(|n| ((*n).to_string(), 0)).collect();
        WindowCounts {
            runs_started: 0,
            runs_finished: zeros(OUTCOMES),
            lease_expiries: 0,
            verdicts: zeros(VERDICTS),
            tokens: TOKEN_KINDS.iter().map(|n| ((*n).to_string(), 0)).collect(),
        }
    }
}

impl WindowCounts {
    /// A run started in the window.
    pub fn started(&mut self) {
        self.runs_started += 1;
    }

    /// A run ended in the window with `outcome` and the gate's `verdict` (if it judged
    /// one). An outcome or verdict not listed above is counted under its own name.
    pub fn ended(&mut self, outcome: &str, verdict: Option<&str>) {
        *self.runs_finished.entry(outcome.to_string()).or_default() += 1;
        if outcome == "expired" {
            self.lease_expiries += 1;
        }
        if let Some(v) = verdict {
            *self.verdicts.entry(v.to_string()).or_default() += 1;
        }
    }

    /// The usage a run active in the window reported.
    pub fn used(&mut self, usage: &Usage) {
        for (kind, n) in [("input", usage.input_tokens), ("output", usage.output_tokens)] {
            let total = self.tokens.entry(kind.to_string()).or_default();
            *total = total.saturating_add(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::RunOutcome;

    #[test]
    fn every_run_outcome_is_listed() {
        use RunOutcome::*;
        for o in [Done, Failed, Expired, Interrupted, Deferred, Cancelled, Blocked] {
            // A new outcome breaks this match, and so is listed here too.
            match o {
                Done | Failed | Expired | Interrupted | Deferred | Cancelled | Blocked => {}
            }
            assert!(OUTCOMES.contains(&o.as_str()), "{}", o.as_str());
        }
        let c = WindowCounts::default();
        assert_eq!(c.runs_finished.len(), OUTCOMES.len());
        assert!(c.runs_finished.values().chain(c.verdicts.values()).all(|n| *n == 0));
        assert_eq!(c.tokens.keys().collect::<Vec<_>>(), ["input", "output"]);
    }

    #[test]
    fn outcomes_verdicts_expiries_and_tokens_add_up() {
        let mut c = WindowCounts::default();
        c.started();
        c.ended("done", Some("PASS"));
        c.ended("failed", Some("RETRY"));
        c.ended("expired", None);
        c.ended("expired", None);
        c.ended("something-new", Some("MAYBE"));
        c.used(&Usage { input_tokens: 10, output_tokens: 3, cost_usd: 0.1 });
        c.used(&Usage { input_tokens: u64::MAX, output_tokens: 1, cost_usd: 0.0 });
        assert_eq!(c.runs_started, 1);
        assert_eq!((c.runs_finished["done"], c.runs_finished["expired"], c.runs_finished["something-new"]), (1, 2, 1));
        assert_eq!(c.lease_expiries, 2);
        assert_eq!((c.verdicts["PASS"], c.verdicts["RETRY"], c.verdicts["BLOCK"], c.verdicts["MAYBE"]), (1, 1, 0, 1));
        assert_eq!((c.tokens["input"], c.tokens["output"]), (u64::MAX, 4), "sums saturate");
    }
}
