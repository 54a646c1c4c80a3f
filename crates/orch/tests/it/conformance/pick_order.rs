//! Conformance: the claim hands out tasks in `orch_core::policy::pick_order`, the order
//! docs/LEASES.md gives (priority, due time with none last, id number, then insertion
//! order), passing over PENDING tasks whose not-before time is ahead, over random queues (fixed seeds, so a failure replays) on every store.

use super::Env;
use crate::common::Rng;
use jiff::{SignedDuration, Timestamp};
use orch_core::id::parse_id;
use orch_core::policy::pick_order;
use orch_core::task::{Lease, Priority, Status, Task};
use orch_store::{ClaimSpec, ListFilter, NextClaim, Run};
use std::collections::{HashMap, HashSet};

/// The tasks claimable at `now`, by the rules of docs/LEASES.md, in pick order: `all`
/// comes in queue order, and the sort is stable, so ties keep insertion order.
fn eligible(all: &[Task], now: Timestamp) -> Vec<String> {
    let by_id: HashMap<&str, &Task> = all.iter().map(|t| (t.id.as_str(), t)).collect();
    let busy: HashSet<&str> =
        all.iter().filter(|t| t.status == Status::InProgress).filter_map(|t| t.resource.as_deref()).collect();
    let mut ready: Vec<&Task> = all
        .iter()
        .filter(|t| t.status == Status::Pending || (t.status == Status::Failed && t.retry_at.is_some_and(|r| r <= now)))
        .filter(|t| t.status != Status::Pending || t.not_before.is_none_or(|at| at <= now))
        .filter(|t| t.depends_on.iter().all(|d| by_id.get(d.as_str()).is_some_and(|p| p.status == Status::Done)))
        .filter(|t| t.resource.as_deref().is_none_or(|r| !busy.contains(r)))
        .collect();
    ready.sort_by(|a, b| pick_order(a, b));
    ready.into_iter().map(|t| t.id.clone()).collect()
}

/// A random queue of `case`'s own: two prefixes sharing numbers, padded or not,
/// inserted in random order; every status; priorities, due times and retry times drawn
/// from small sets so that ties are common; dependencies done, not done or missing;
/// resources free or held.
pub(super) fn random_queue(case: usize, rng: &mut Rng, now: Timestamp) -> Vec<Task> {
    let at = |secs: i64, ms: i64| Some(now + SignedDuration::from_secs(secs) + SignedDuration::from_millis(ms));
    let dues = [None, None, at(3600, 0), at(3600, 0), at(3600, 1), at(-3600, 0), at(60, 500)];
    let retries = [None, at(-60, 0), at(0, 0), at(60, 0)];
    let not_before = [None, None, None, at(-60, 0), at(0, 0), at(0, 1), at(3600, 0)];
    use Status::{Blocked, Done, Failed, InProgress, Pending};
    let statuses = [Pending, Pending, Pending, Pending, Failed, Failed, InProgress, Done, Done, Blocked];
    let resources = [None, None, Some(format!("r{case}a")), Some(format!("r{case}b"))];
    let prefixes = [format!("A{case}"), format!("B{case}")];
    let n = 4 + rng.below(11);
    let mut taken = HashSet::new();
    let mut tasks: Vec<Task> = Vec::new();
    while tasks.len() < n {
        // Now and then a twin: another prefix, the same number, priority and due time,
        // which only insertion order tells apart.
        let twin = (!tasks.is_empty() && rng.below(4) == 0).then(|| tasks[rng.below(tasks.len())].clone());
        let (prefix, num) = match &twin {
            Some(t) => {
                let (p, num) = parse_id(&t.id).unwrap();
                (prefixes.iter().find(|q| q.as_str() != p).unwrap().clone(), num as usize)
            }
            None => (rng.pick(&prefixes), 1 + rng.below(7)),
        };
        if !taken.insert((prefix.clone(), num)) {
            continue;
        }
        let id = if rng.below(2) == 0 { format!("{prefix}-{num:03}") } else { format!("{prefix}-{num}") };
        let mut t = Task::new(id, format!("case {case}"), rng.pick(&Priority::ALL), 4, now);
        t.due_at = rng.pick(&dues);
        if let Some(twin) = &twin {
            (t.priority, t.due_at) = (twin.priority, twin.due_at);
        }
        t.status = rng.pick(&statuses);
        t.not_before = rng.pick(&not_before);
        t.resource = rng.pick(&resources);
        match t.status {
            Status::Failed => {
                t.attempts = 1;
                t.retry_at = rng.pick(&retries);
            }
            Status::InProgress => {
                t.attempts = 1;
                t.owner = Some("other".into());
                t.started_at = Some(now);
                t.lease = Some(Lease {
                    token: format!("t{case}-{}", tasks.len()),
                    expires_at: now + SignedDuration::from_hours(24),
                });
            }
            _ => {}
        }
        tasks.push(t);
    }
    for i in 0..n {
        for _ in 0..[0, 0, 0, 1, 2][rng.below(5)] {
            let dep = if rng.below(6) == 0 { format!("Z{case}-999") } else { tasks[rng.below(n)].id.clone() };
            if dep != tasks[i].id && !tasks[i].depends_on.contains(&dep) {
                tasks[i].depends_on.push(dep);
            }
        }
    }
    tasks
}

pub(super) fn claims_hand_out_tasks_in_pick_order_over_random_queues(env: &Env) {
    let now = env.now();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // One store for all the queues: each case claims until nothing is left, so what an
    // earlier case left (held back, or running) is never claimable in a later one.
    for case in 0..40 {
        let tasks = random_queue(case, &mut rng, now);
        claims_follow_pick_order(env, case, &tasks);
    }
}

/// Queues with more FAILED tasks than a claim reads in pick order before it looks for
/// due retries by time: most wait for a retry a year away, and the due ones are few
/// (found by their retry time, wherever they are in pick order) or many (found among
/// the first), beside PENDING tasks; the claims still go in pick order.
pub(super) fn claims_keep_pick_order_past_many_retries_not_yet_due(env: &Env) {
    let now = env.now();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for (case, due_share) in [(100, 0), (101, 30), (102, 2), (103, 3)] {
        let year = now + SignedDuration::from_hours(24 * 365);
        let dues = [None, Some(now + SignedDuration::from_hours(1)), Some(now - SignedDuration::from_hours(1))];
        let mut tasks = Vec::new();
        for i in 1..=200 {
            let mut t = Task::new(format!("F{case}-{i:03}"), format!("case {case}"), rng.pick(&Priority::ALL), 4, now);
            t.due_at = rng.pick(&dues);
            if rng.below(10) < 8 {
                t.status = Status::Failed;
                t.attempts = 1;
                // A few due retries, the rest a year away; in case 101 most are due.
                let due = rng.below(100) < due_share || (due_share > 0 && rng.below(40) == 0);
                t.retry_at = Some(if due { now - SignedDuration::from_secs(1) } else { year });
            }
            tasks.push(t);
        }
        claims_follow_pick_order(env, case, &tasks);
    }
}

/// Inserts `tasks`, then checks that the candidates and every claim until none is left
/// are the ones `pick_order` gives.
fn claims_follow_pick_order(env: &Env, case: usize, tasks: &[Task]) {
    let now = env.now();
    orch_store::write(env.db(), |tx| tasks.iter().try_for_each(|t| tx.task_insert(t))).unwrap();
    let all = |env: &Env| orch_store::read(env.db(), |tx| tx.task_list(&ListFilter::default())).unwrap();
    let want = eligible(&all(env), now);
    let waiting =
        all(env).iter().filter(|t| t.status == Status::Pending && t.not_before.is_some_and(|at| at > now)).count();
    assert_eq!(orch_store::read(env.db(), |tx| tx.tasks_waiting(now)).unwrap(), waiting as u64, "case {case}: waiting");
    let candidates = orch_store::read(env.db(), |tx| tx.claim_candidates(now, 1000)).unwrap();
    let got: Vec<String> = candidates.into_iter().map(|t| t.id).collect();
    assert_eq!(got, want, "case {case}: claim_candidates against pick_order over {tasks:#?}");
    let first = orch_store::read(env.db(), |tx| tx.claim_candidates(now, 3)).unwrap();
    let first: Vec<String> = first.into_iter().map(|t| t.id).collect();
    assert_eq!(first, want[..want.len().min(3)], "case {case}: the first three candidates");
    let mut order = Vec::new();
    loop {
        let want = eligible(&all(env), now).into_iter().next();
        let run = Run {
            id: uuid::Uuid::now_v7().to_string(),
            owner: "w".into(),
            trace_id: "ab".repeat(16),
            lease_token: uuid::Uuid::new_v4().simple().to_string(),
            started_at: now,
            ..Run::default()
        };
        let spec = ClaimSpec { now, owner: "w", lease_until: now + SignedDuration::from_mins(5), run: &run };
        let got = match orch_store::write(env.db(), |tx| tx.claim_next(&spec)).unwrap() {
            NextClaim::Claimed { before, .. } => Some(before.id),
            NextClaim::Nothing => None,
            // PostgreSQL locks a resource first: the operation's general path.
            NextClaim::Undecided => env.claim("w").map(|c| c.task.id),
        };
        assert_eq!(got, want, "case {case}: claim after {order:?} over {tasks:#?}");
        match got {
            Some(id) => order.push(id),
            None => break,
        }
    }
}
