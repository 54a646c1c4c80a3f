//! Key performance indicators of a queue over a time window, and the alerts they raise.
//!
//! Pure arithmetic over records the caller fetched: how finished runs count (success,
//! failure or neither), nearest-rank percentiles, rates, queue waits read from a task's
//! events, and the alert rules with their minimum sample; the window's counts are in
//! `kpi_counts`, the duration histograms' buckets in `histogram`. `docs/KPI.md` is the
//! user-facing statement of every definition here; the two must say the same thing.

use crate::event::{Event, kind};
use crate::histogram::{Histogram, QUEUE_WAIT_BOUNDS_S, RUN_DURATION_BOUNDS_S};
use crate::kpi_counts::WindowCounts;
use crate::outcome::Usage;
use crate::task::Status;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

/// How a run's outcome counts in the rates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tally {
    /// `done`: the task was accepted.
    Success,
    /// `failed` (the worker failed, a timeout, gate RETRY), `expired` (the lease ran out)
    /// or `blocked` (gate BLOCK, hard budget): the attempt did not deliver.
    Failure,
    /// Still running, or ended for a reason that says nothing about the work:
    /// `interrupted` (dispatcher shutdown), `cancelled` (an operator), `abandoned`
    /// (its dispatcher died and the task moved on).
    Neither,
}

/// How a run with this outcome counts (`None`: still running).
pub fn tally(outcome: Option<&str>) -> Tally {
    match outcome {
        Some("done") => Tally::Success,
        Some("failed" | "expired" | "blocked") => Tally::Failure,
        _ => Tally::Neither,
    }
}

/// One run, as the indicators see it.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSample {
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    pub outcome: Option<String>,
    pub attempt: u32,
    /// Tokens and cost the run reported.
    pub usage: Usage,
    /// The gate's verdict on the run (`PASS`, `RETRY`, `BLOCK`), if it judged it.
    pub verdict: Option<String>,
}

/// The alert thresholds (`[alerts]` in orch.toml).
#[derive(Clone, Debug, PartialEq)]
pub struct Thresholds {
    pub failure_rate: f64,
    pub latency_p95: SignedDuration,
    pub stale: usize,
    /// Finished runs needed before the failure-rate and latency alerts may fire.
    pub min_runs: usize,
    /// `budget.daily_cost_usd` (0: no limit).
    pub daily_cost_usd: f64,
}

/// What the indicators are computed from.
#[derive(Clone, Debug)]
pub struct Input<'a> {
    pub since: Timestamp,
    pub until: Timestamp,
    /// Every run active in the window: started or ended in it, or still going.
    pub runs: &'a [RunSample],
    /// Queue waits of the claims made in the window (see [`queue_waits`]).
    pub waits: &'a [SignedDuration],
    /// Leases expired right now.
    pub stale: usize,
    /// Cost of the runs started today (the display time zone's day), for the daily
    /// budget.
    pub cost_today_usd: f64,
}

/// One threshold passed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alert {
    pub name: String,
    pub value: f64,
    pub threshold: f64,
}

/// The indicators (`kpi --json` prints this object).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Kpi {
    pub since: Timestamp,
    pub until: Timestamp,
    /// Finished runs that count: `done` plus `failed`.
    pub runs: usize,
    pub done: usize,
    pub failed: usize,
    /// Runs still going now (counted in neither rate).
    pub running: usize,
    /// `done / runs`; `null` when no run finished.
    pub success_rate: Option<f64>,
    /// `failed / runs`; `null` when no run finished.
    pub failure_rate: Option<f64>,
    /// Runs started in the window that were a retry (attempt 2 or later).
    pub retries: usize,
    pub latency_p50_s: Option<f64>,
    pub latency_p95_s: Option<f64>,
    pub wait_p50_s: Option<f64>,
    pub wait_p95_s: Option<f64>,
    /// `done` runs per hour of the window.
    pub throughput_per_h: f64,
    pub stale: usize,
    /// Cost reported by every run active in the window.
    pub cost_usd: f64,
    /// Cost reported by the runs started today (the display time zone's day).
    pub cost_today_usd: f64,
    /// The minimum sample for the failure-rate and latency alerts.
    pub min_runs: usize,
    pub alerts: Vec<Alert>,
    /// Runs started and ended by outcome, lease expiries, verdicts, tokens.
    #[serde(flatten)]
    pub counts: WindowCounts,
    /// Run time of the counted runs (those of the latency percentiles).
    pub run_duration: Histogram,
    /// Queue waits of the claims made in the window (those of the wait percentiles).
    pub queue_wait: Histogram,
}

impl Kpi {
    pub fn alerting(&self) -> bool {
        !self.alerts.is_empty()
    }
}

/// The `p`-th percentile (0 < p ≤ 1) by nearest rank: the smallest value with at least
/// `p` of the sample at or below it. Always a value that was observed; `None` for an
/// empty sample.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (p.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// A fraction, `None` when there is nothing to divide by.
fn rate(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn secs(d: SignedDuration) -> f64 {
    d.as_secs_f64().max(0.0)
}

/// Computes the indicators and their alerts.
pub fn compute(input: &Input<'_>, limits: &Thresholds) -> Kpi {
    let in_window = |t: Timestamp| t >= input.since && t <= input.until;
    let (mut done, mut failed, mut running, mut retries, mut cost) = (0, 0, 0, 0, 0.0);
    let mut latencies = Vec::new();
    let mut counts = WindowCounts::default();
    for r in input.runs {
        cost += r.usage.cost_usd;
        counts.used(&r.usage);
        if in_window(r.started_at) {
            counts.started();
            if r.attempt > 1 {
                retries += 1;
            }
        }
        let Some(end) = r.ended_at else {
            running += 1;
            continue;
        };
        if !in_window(end) {
            continue;
        }
        if let Some(outcome) = &r.outcome {
            counts.ended(outcome, r.verdict.as_deref());
        }
        match tally(r.outcome.as_deref()) {
            Tally::Success => done += 1,
            Tally::Failure => failed += 1,
            Tally::Neither => continue,
        }
        latencies.push(secs(end.duration_since(r.started_at)));
    }
    let runs = done + failed;
    let waits: Vec<f64> = input.waits.iter().map(|w| secs(*w)).collect();
    let hours = secs(input.until.duration_since(input.since)) / 3600.0;
    let mut kpi = Kpi {
        since: input.since,
        until: input.until,
        runs,
        done,
        failed,
        running,
        success_rate: rate(done, runs),
        failure_rate: rate(failed, runs),
        retries,
        latency_p50_s: percentile(&latencies, 0.50),
        latency_p95_s: percentile(&latencies, 0.95),
        wait_p50_s: percentile(&waits, 0.50),
        wait_p95_s: percentile(&waits, 0.95),
        throughput_per_h: if hours > 0.0 { done as f64 / hours } else { 0.0 },
        stale: input.stale,
        cost_usd: cost,
        cost_today_usd: input.cost_today_usd,
        min_runs: limits.min_runs,
        alerts: Vec::new(),
        counts,
        run_duration: Histogram::of(RUN_DURATION_BOUNDS_S, &latencies),
        queue_wait: Histogram::of(QUEUE_WAIT_BOUNDS_S, &waits),
    };
    kpi.alerts = alerts(&kpi, limits);
    kpi
}

/// The alerts: a value strictly over its threshold. The failure rate and the p95
/// latency need `min_runs` finished runs first (one failure in one run is no storm);
/// stale leases need no sample: one lease nobody renews is already news. The daily cost
/// alerts once today's cost reaches `daily_cost_usd` (when set): from then on the
/// dispatcher claims nothing more today.
pub fn alerts(k: &Kpi, limits: &Thresholds) -> Vec<Alert> {
    let mut out = Vec::new();
    let enough = k.runs >= limits.min_runs.max(1);
    let mut over = |name: &str, value: Option<f64>, threshold: f64| {
        if let Some(v) = value.filter(|v| *v > threshold) {
            out.push(Alert { name: name.to_string(), value: v, threshold });
        }
    };
    if enough {
        over("failure_rate", k.failure_rate, limits.failure_rate);
        over("latency_p95", k.latency_p95_s, secs(limits.latency_p95));
    }
    over("stale", Some(k.stale as f64), limits.stale as f64);
    if limits.daily_cost_usd > 0.0 && k.cost_today_usd >= limits.daily_cost_usd {
        out.push(Alert { name: "daily_cost".into(), value: k.cost_today_usd, threshold: limits.daily_cost_usd });
    }
    out
}

/// The event names [`queue_waits`] reads.
pub const WAIT_EVENTS: &[&str] = &[
    kind::TASK_ADDED,
    kind::TASK_IMPORTED,
    kind::TASK_EDITED,
    kind::TASK_RETRIED,
    kind::TASK_INTERRUPTED,
    kind::RETRY_SCHEDULED,
    kind::TASK_CLAIMED,
    kind::TASK_BLOCKED,
    kind::TASK_CANCELLED,
    kind::TASK_DONE,
    kind::TASK_SKIPPED,
    kind::RETRY_EXHAUSTED,
];

/// The queue wait of each claim in one task's events (oldest first): the claim's time
/// minus the moment the task last became claimable before it, which is
/// - the time it became PENDING: added, imported or edited to PENDING, retried by an
///   operator or unblocked, interrupted by a dispatcher shutdown;
/// - for a transient failure, the `retry_at` its `retry.scheduled` event names.
///
/// Dependencies and resources are not looked at: time a task spends waiting for the
/// tasks it depends on counts as queue wait. A claim with no such moment before it (its
/// events were pruned) has no wait. Returns `(claimed_at, wait)` pairs.
pub fn queue_waits(events: &[Event]) -> Vec<(Timestamp, SignedDuration)> {
    let mut ready: Option<Timestamp> = None;
    let mut out = Vec::new();
    for e in events {
        match e.event.as_str() {
            kind::TASK_CLAIMED => {
                if let Some(r) = ready.take() {
                    out.push((e.ts, e.ts.duration_since(r).max(SignedDuration::ZERO)));
                }
            }
            kind::RETRY_SCHEDULED => ready = Some(e.msg.as_deref().and_then(retry_at_of).unwrap_or(e.ts)),
            _ => match e.to {
                Some(Status::Pending) => ready = Some(e.ts),
                Some(Status::Blocked | Status::Done | Status::InProgress) => ready = None,
                Some(Status::Failed) | None => {}
            },
        }
    }
    out
}

/// The time in a `retry.scheduled` message (`retry_at 2026-03-01T00:01:00Z`).
fn retry_at_of(msg: &str) -> Option<Timestamp> {
    msg.strip_prefix("retry_at ")?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{FailureClass, RetryPolicy};
    use crate::state::{Auth, Command, transition};
    use crate::task::{Priority, Task};

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    const T0: &str = "2026-03-01T00:00:00Z";

    fn at(secs: i64) -> Timestamp {
        t(T0) + SignedDuration::from_secs(secs)
    }

    fn run(start: i64, end: Option<i64>, outcome: Option<&str>) -> RunSample {
        RunSample {
            started_at: at(start),
            ended_at: end.map(at),
            outcome: outcome.map(str::to_string),
            attempt: 1,
            usage: Usage::default(),
            verdict: None,
        }
    }

    fn limits() -> Thresholds {
        Thresholds {
            failure_rate: 0.2,
            latency_p95: SignedDuration::from_mins(30),
            stale: 0,
            min_runs: 10,
            daily_cost_usd: 0.0,
        }
    }

    fn kpi(runs: &[RunSample], waits: &[SignedDuration], stale: usize) -> Kpi {
        let input = Input { since: at(0), until: at(3600), runs, waits, stale, cost_today_usd: 0.0 };
        compute(&input, &limits())
    }

    #[test]
    fn nearest_rank_percentiles_are_observed_values() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), Some(5.0));
        assert_eq!(percentile(&v, 0.95), Some(10.0));
        assert_eq!(percentile(&v, 0.9), Some(9.0));
        assert_eq!(percentile(&[7.0], 0.5), Some(7.0));
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 0.5), Some(2.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn outcomes_count_as_success_failure_or_neither() {
        assert_eq!(tally(Some("done")), Tally::Success);
        for o in ["failed", "expired", "blocked"] {
            assert_eq!(tally(Some(o)), Tally::Failure, "{o}");
        }
        for o in [None, Some("interrupted"), Some("cancelled"), Some("abandoned")] {
            assert_eq!(tally(o), Tally::Neither, "{o:?}");
        }
    }

    #[test]
    fn seven_done_three_failed_and_one_running_rate_and_alert() {
        let mut runs: Vec<RunSample> = (0..7).map(|i| run(i * 60, Some(i * 60 + 30), Some("done"))).collect();
        runs.extend((0..3).map(|i| run(i * 60, Some(i * 60 + 10), Some("failed"))));
        runs.push(run(100, None, None));
        runs.push(run(200, Some(300), Some("interrupted")));
        let k = kpi(&runs, &[], 0);
        assert_eq!((k.runs, k.done, k.failed, k.running), (10, 7, 3, 1));
        assert_eq!(k.success_rate, Some(0.7));
        assert_eq!(k.failure_rate, Some(0.3));
        assert_eq!(k.latency_p50_s, Some(30.0));
        assert_eq!(k.throughput_per_h, 7.0);
        assert_eq!(k.alerts, vec![Alert { name: "failure_rate".into(), value: 0.3, threshold: 0.2 }]);
    }

    #[test]
    fn below_the_minimum_sample_only_stale_alerts() {
        let runs = vec![run(0, Some(4000), Some("failed"))];
        let input = Input { since: at(0), until: at(7200), runs: &runs, waits: &[], stale: 0, cost_today_usd: 0.0 };
        let k = compute(&input, &limits());
        assert_eq!(k.failure_rate, Some(1.0));
        assert!(k.alerts.is_empty(), "{:?}", k.alerts);
        let k = kpi(&[], &[], 1);
        assert_eq!(k.success_rate, None);
        assert_eq!(k.alerts, vec![Alert { name: "stale".into(), value: 1.0, threshold: 0.0 }]);
    }

    #[test]
    fn reaching_the_daily_budget_alerts() {
        let daily = Thresholds { daily_cost_usd: 1.0, ..limits() };
        let input = |spent: f64| Input {
            since: at(0),
            until: at(3600),
            runs: &[],
            waits: &[],
            stale: 0,
            cost_today_usd: spent,
        };
        assert!(compute(&input(0.99), &daily).alerts.is_empty());
        assert_eq!(
            compute(&input(1.0), &daily).alerts,
            vec![Alert { name: "daily_cost".into(), value: 1.0, threshold: 1.0 }]
        );
        assert!(compute(&input(5.0), &limits()).alerts.is_empty(), "no limit, no alert");
    }

    #[test]
    fn slow_runs_raise_the_latency_alert_and_runs_outside_the_window_do_not_count() {
        let mut runs: Vec<RunSample> = (0..10).map(|_| run(0, Some(1900), Some("done"))).collect();
        runs.push(run(-500, Some(-100), Some("failed")));
        let mut retry = run(10, Some(20), Some("done"));
        retry.attempt = 2;
        retry.usage.cost_usd = 0.5;
        runs.push(retry);
        let k = kpi(&runs, &[], 0);
        assert_eq!((k.runs, k.failed, k.retries), (11, 0, 1));
        assert_eq!(k.cost_usd, 0.5);
        assert_eq!(k.alerts.len(), 1);
        assert_eq!(k.alerts[0].name, "latency_p95");
        assert_eq!((k.alerts[0].value, k.alerts[0].threshold), (1900.0, 1800.0));
    }

    #[test]
    fn the_window_counts_every_outcome_verdict_token_and_bucket() {
        let mut passed = run(0, Some(40), Some("done"));
        passed.verdict = Some("PASS".into());
        passed.usage = Usage { input_tokens: 100, output_tokens: 20, cost_usd: 0.25 };
        let mut retried = run(50, Some(3000), Some("failed"));
        retried.verdict = Some("RETRY".into());
        let mut before = run(-100, Some(2), Some("expired"));
        before.usage.output_tokens = 5;
        let runs =
            vec![passed, retried, before, run(-500, Some(-400), Some("done")), run(60, Some(70), Some("deferred"))];
        let waits = [SignedDuration::from_millis(300), SignedDuration::from_secs(20)];
        let k = kpi(&runs, &waits, 0);
        let c = &k.counts;
        assert_eq!(c.runs_started, 3, "started in the window");
        let finished: Vec<(&str, usize)> =
            c.runs_finished.iter().filter(|(_, n)| **n > 0).map(|(o, n)| (o.as_str(), *n)).collect();
        assert_eq!(finished, [("deferred", 1), ("done", 1), ("expired", 1), ("failed", 1)]);
        assert_eq!(c.lease_expiries, 1);
        assert_eq!((c.verdicts["PASS"], c.verdicts["RETRY"], c.verdicts["BLOCK"]), (1, 1, 0));
        assert_eq!((c.tokens["input"], c.tokens["output"]), (100, 25), "every run active in the window");
        // Run durations of the counted runs: 40s, 2950s, 102s (deferred is not counted).
        assert_eq!((k.run_duration.count, k.run_duration.sum_s), (3, 3092.0));
        let at = |h: &Histogram, le: f64| h.buckets.iter().find(|b| b.le_s == le).map(|b| b.count);
        assert_eq!(
            (at(&k.run_duration, 30.0), at(&k.run_duration, 60.0), at(&k.run_duration, 120.0)),
            (Some(0), Some(1), Some(2))
        );
        assert_eq!(at(&k.run_duration, 3600.0), Some(3));
        assert_eq!(
            (at(&k.queue_wait, 0.1), at(&k.queue_wait, 0.5), at(&k.queue_wait, 15.0), at(&k.queue_wait, 30.0)),
            (Some(0), Some(1), Some(1), Some(2))
        );
        assert_eq!((k.queue_wait.count, k.queue_wait.sum_s), (2, 20.3));
        let json = serde_json::to_value(&k).unwrap();
        assert_eq!(json["runs_finished"]["expired"], 1, "the counts are top-level keys");
        assert_eq!(json["run_duration"]["buckets"][0], serde_json::json!({"le_s": 1.0, "count": 0}));
    }

    #[test]
    fn waits_run_from_creation_and_from_retry_at_to_each_claim() {
        let policy = RetryPolicy::default();
        let mut task = Task::new("ORCH-001".into(), "x".into(), Priority::P1, 4, at(0));
        let mut events = Vec::new();
        let mut added = Event::new(at(0), kind::TASK_ADDED);
        added.to = Some(Status::Pending);
        events.push(added);
        let mut step = |task: &mut Task, cmd: Command, now: i64| {
            let c = transition(task, &cmd, at(now), &policy).unwrap();
            events.extend(c.events);
            *task = c.task;
        };
        let claim = |n: &str, until: i64| Command::Claim {
            owner: "w".into(),
            token: n.into(),
            lease_until: at(until),
            run_id: n.into(),
        };
        step(&mut task, claim("a", 900), 5);
        let fail = Command::Fail {
            auth: Auth::Token("a".into()),
            reason: "x".into(),
            class: FailureClass::Transient,
            unit: 0.0,
        };
        step(&mut task, fail, 10);
        // Backoff 1m: ready at 70, claimed at 75.
        step(&mut task, claim("b", 1000), 75);
        let waits: Vec<i64> = queue_waits(&events).iter().map(|(_, w)| w.as_secs()).collect();
        assert_eq!(waits, vec![5, 5]);
    }

    #[test]
    fn a_claim_whose_readiness_was_pruned_has_no_wait() {
        let claimed = Event::new(at(50), kind::TASK_CLAIMED);
        assert!(queue_waits(&[claimed]).is_empty());
    }
}
