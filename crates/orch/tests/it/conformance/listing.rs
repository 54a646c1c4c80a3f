//! Conformance: `list` walks the tasks in pick order with a limit and an offset, and the
//! counts `status` reads (kept by triggers) always equal a full count of the tasks.

use super::Env;
use super::pick_order::random_queue;
use crate::common::{Rng, SEED};
use jiff::SignedDuration;
use orch::ops::Finish;
use orch_core::policy::{FailureClass, pick_order};
use orch_core::state::{Auth, Command, Replan};
use orch_core::task::{Priority, Status, Task};
use orch_store::{ListFilter, StoreError};

/// What `tasks_each` hands out.
fn each(env: &Env, filter: &ListFilter, limit: Option<u64>, offset: u64) -> Vec<String> {
    let mut ids = Vec::new();
    orch_store::read(env.db(), |tx| {
        ids.clear();
        tx.tasks_each(filter, limit, offset, &mut |t| {
            ids.push(t.id);
            Ok(())
        })
    })
    .unwrap();
    ids
}

/// The tasks of `filter` sorted by `pick_order`; ties keep insertion order.
fn want(all: &[Task], filter: &ListFilter) -> Vec<String> {
    let mut tasks: Vec<&Task> = all
        .iter()
        .filter(|t| filter.statuses.is_empty() || filter.statuses.contains(&t.status))
        .filter(|t| filter.priorities.is_empty() || filter.priorities.contains(&t.priority))
        .collect();
    tasks.sort_by(|a, b| pick_order(a, b));
    tasks.into_iter().map(|t| t.id.clone()).collect()
}

pub(super) fn tasks_each_lists_in_pick_order_with_a_limit_and_an_offset(env: &Env) {
    let now = env.now();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    assert!(each(env, &ListFilter::default(), None, 0).is_empty(), "an empty queue lists nothing");
    for case in 0..12 {
        let tasks = random_queue(case, &mut rng, now);
        orch_store::write(env.db(), |tx| tasks.iter().try_for_each(|t| tx.task_insert(t))).unwrap();
    }
    let all = orch_store::read(env.db(), |tx| tx.task_list(&ListFilter::default())).unwrap();
    let filters = [
        ListFilter::default(),
        ListFilter { statuses: vec![Status::Pending], ..ListFilter::default() },
        ListFilter { statuses: vec![Status::Failed, Status::Pending, Status::Failed], ..ListFilter::default() },
        ListFilter { statuses: Status::ALL.to_vec(), priorities: vec![Priority::P2, Priority::P0] },
        ListFilter { statuses: vec![], priorities: vec![Priority::P1] },
        ListFilter { statuses: vec![Status::Done, Status::Blocked, Status::InProgress], ..ListFilter::default() },
    ];
    for f in &filters {
        let full = want(&all, f);
        assert!(!full.is_empty(), "{f:?} matches some tasks");
        assert_eq!(each(env, f, None, 0), full, "{f:?}");
        for (limit, offset) in [(Some(0), 0), (Some(1), 0), (Some(3), 2), (None, 5), (Some(1000), 1), (None, 100_000)] {
            let page: Vec<String> =
                full.iter().skip(offset as usize).take(limit.map_or(usize::MAX, |l| l as usize)).cloned().collect();
            assert_eq!(each(env, f, limit, offset), page, "{f:?} limit {limit:?} offset {offset}");
        }
        assert_eq!(each(env, f, Some(u64::MAX), u64::MAX), Vec::<String>::new(), "the largest values are taken");
    }
    // An error of the callback stops the walk and comes back as it is.
    let mut seen = 0;
    let err = orch_store::read(env.db(), |tx| {
        seen = 0;
        tx.tasks_each(&ListFilter::default(), None, 0, &mut |_| {
            seen += 1;
            if seen == 3 { Err(StoreError::Conflict("enough".into())) } else { Ok(()) }
        })
    })
    .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(ref m) if m == "enough"), "{err}");
    assert_eq!(seen, 3);
}

/// The counts the store keeps, sorted, against a count of every task.
fn assert_counts(env: &Env, step: &str) {
    let (mut counts, tasks) =
        orch_store::read(env.db(), |tx| Ok((tx.task_counts()?, tx.task_list(&ListFilter::default())?))).unwrap();
    counts.sort_by_key(|(s, p, _)| (p.rank(), s.as_str()));
    let mut full: Vec<(Status, Priority, u64)> = Vec::new();
    for t in &tasks {
        match full.iter_mut().find(|(s, p, _)| *s == t.status && *p == t.priority) {
            Some(c) => c.2 += 1,
            None => full.push((t.status, t.priority, 1)),
        }
    }
    full.sort_by_key(|(s, p, _)| (p.rank(), s.as_str()));
    assert_eq!(counts, full, "after {step}");
    let summary = env.orch.status_summary().unwrap();
    assert_eq!(summary.total, tasks.len(), "after {step}");
}

pub(super) fn task_counts_equal_a_full_count_after_random_changes(env: &Env) {
    let mut rng = Rng(0x5851_f42d_4c95_7f2d);
    assert_counts(env, "nothing");
    let queue = env.dir.path().join("QUEUE.md");
    std::fs::write(&queue, SEED).unwrap();
    env.orch.import(Some(&queue), false).expect("import");
    assert_counts(env, "importing the seed");
    let mut running = Vec::new();
    let mut steps = Vec::new();
    for i in 0..120 {
        let step = rng.below(9);
        let ids: Vec<String> = env.orch.list(&ListFilter::default()).unwrap().into_iter().map(|t| t.id).collect();
        let some = rng.pick(&ids);
        let done = match step {
            0 | 1 => {
                let p = rng.pick(&Priority::ALL);
                env.add_with(orch::ops::NewTask { task: format!("t{i}"), priority: Some(p), ..Default::default() });
                "add"
            }
            2 | 3 => {
                if let Some(c) = env.claim("w") {
                    running.push(c);
                }
                "claim"
            }
            4 if !running.is_empty() => {
                let c = running.remove(rng.below(running.len()));
                // The lease may have expired meanwhile (a prune step moves the clock).
                let auth = Auth::Token(c.run.lease_token.clone());
                let finish = match rng.below(2) {
                    0 => Finish::Done { notes: None },
                    _ => Finish::Fail { reason: "boom".into(), class: FailureClass::Transient },
                };
                let _ = env.orch.finish(&c.task.id, auth, finish, Some("- did it\nRisks: none"));
                "finish"
            }
            5 => {
                let _ = env.orch.apply(&some, &Command::Cancel { reason: None });
                "cancel"
            }
            6 => {
                let replan =
                    Replan { reason: "why".into(), priority: Some(rng.pick(&Priority::ALL)), ..Default::default() };
                let _ = env.orch.apply(&some, &Command::Replan(replan));
                "replan"
            }
            7 => {
                // A hand edit imported: a PENDING row set BLOCKED and P0 in the file.
                env.orch.export(Some(&queue), false, true).expect("export");
                let text = std::fs::read_to_string(&queue).unwrap();
                let rows: Vec<&str> = text.lines().filter(|l| l.contains("| PENDING | P")).collect();
                if let Some(row) = rng.pick_some(&rows) {
                    let edited = row.replacen("| PENDING | P1 |", "| BLOCKED | P0 |", 1).replacen(
                        "| PENDING | P2 |",
                        "| BLOCKED | P0 |",
                        1,
                    );
                    std::fs::write(&queue, text.replacen(row, &edited, 1)).unwrap();
                    env.orch.import(Some(&queue), false).expect("import");
                }
                "import"
            }
            _ => {
                env.advance(3600 * 24 * 3);
                env.orch.prune(SignedDuration::from_hours(24)).expect("prune");
                "prune"
            }
        };
        steps.push(done);
        assert_counts(env, &format!("step {i} ({})", steps.join(", ")));
    }
    for kind in ["add", "claim", "finish", "cancel", "replan", "import", "prune"] {
        assert!(steps.contains(&kind), "the loop took a {kind} step: {steps:?}");
    }
}
