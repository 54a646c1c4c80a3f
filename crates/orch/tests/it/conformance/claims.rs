//! Conformance: the one-step claim (`Tx::claim_next`) and the general path it leaves
//! to the operation, on every store.

use super::Env;
use jiff::{SignedDuration, Timestamp};
use orch::ops::NewTask;
use orch_core::event::Event;
use orch_core::task::{Priority, Status, Task};
use orch_store::{ClaimSpec, NextClaim, Run};

fn claim_spec_run(owner: &str, now: Timestamp) -> Run {
    Run {
        id: uuid::Uuid::now_v7().to_string(),
        owner: owner.into(),
        trace_id: "ab".repeat(16),
        lease_token: "cd".repeat(16),
        host: Some("host-a".into()),
        pid: Some(7),
        pgid: Some(7),
        started_at: now,
        ..Run::default()
    }
}

pub(super) fn tx_claim_next_takes_the_common_case_in_one_step(env: &Env) {
    let next = |run: &Run| {
        let spec =
            ClaimSpec { now: env.now(), owner: &run.owner, lease_until: env.now() + SignedDuration::from_mins(5), run };
        orch_store::write(env.db(), |tx| tx.claim_next(&spec)).unwrap()
    };
    let run = claim_spec_run("w", env.now());
    assert_eq!(next(&run), NextClaim::Nothing);
    env.add_with(NewTask { task: "later".into(), priority: Some(Priority::P2), ..NewTask::default() });
    let id = env.add("first");
    let NextClaim::Claimed { before, after } = next(&run) else { panic!("the plain task is claimed in one step") };
    assert_eq!((before.id.as_str(), before.status, before.attempts), (id.as_str(), Status::Pending, 0));
    assert_eq!((after.status, after.attempts, after.version), (Status::InProgress, 1, before.version + 1));
    assert_eq!(after.owner.as_deref(), Some("w"));
    assert_eq!(after.run_id.as_deref(), Some(run.id.as_str()));
    assert_eq!(after.lease.as_ref().map(|l| l.token.as_str()), Some(run.lease_token.as_str()));
    assert_eq!(after, env.get(&id), "what it returned is what it stored");
    let stored = env.orch.runs(&id).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!((stored[0].attempt, stored[0].task_id.as_str(), &stored[0].trace_id), (1, id.as_str(), &run.trace_id));
    assert_eq!((stored[0].host.as_deref(), stored[0].pid), (Some("host-a"), Some(7)));
    let e = env.events().into_iter().last().unwrap();
    assert_eq!(
        (e.event.as_str(), e.task_id.as_deref(), e.run_id.as_deref(), e.trace_id.as_deref(), e.owner.as_deref()),
        ("task.claimed", Some(id.as_str()), Some(run.id.as_str()), Some(run.trace_id.as_str()), Some("w"))
    );
    assert_eq!(
        (e.attempt, e.from, e.to, e.msg.as_deref()),
        (Some(1), Some(Status::Pending), Some(Status::InProgress), None)
    );
    // An expired lease: the sweep comes first, so one step does not decide.
    env.advance(600);
    let run2 = claim_spec_run("w2", env.now());
    assert_eq!(next(&run2), NextClaim::Undecided);
    assert_eq!(env.orch.runs("ORCH-001").unwrap().len(), 0, "nothing written");
    env.orch.sweep().unwrap();
    // A key nobody owns yet (as an import leaves it) must be taken first.
    let mut keyed = Task::new("ORCH-003".into(), "keyed".into(), Priority::P0, 4, env.now());
    keyed.idempotency_key = Some("k-new".into());
    keyed.version = 1;
    orch_store::write(env.db(), |tx| tx.task_insert(&keyed)).unwrap();
    assert_eq!(next(&run2), NextClaim::Undecided);
    assert_eq!(env.get("ORCH-003").status, Status::Pending);
}

pub(super) fn claims_take_the_general_path_when_one_step_cannot_decide(env: &Env) {
    // Keys (owned by nobody, by a DONE task, by a running one), resources and an
    // expired lease, claimed through the operation: the same order on every store.
    let keyed = |id: &str, key: &str| {
        let mut t = Task::new(id.into(), format!("keyed {id}"), Priority::P1, 4, env.now());
        t.idempotency_key = Some(key.into());
        t.version = 1;
        t
    };
    let gpu = NewTask { task: "gpu job".into(), resource: Some("gpu".into()), ..NewTask::default() };
    let a = env.add_with(gpu.clone());
    let b = env.add_with(gpu);
    orch_store::write(env.db(), |tx| {
        tx.task_insert(&keyed("ORCH-003", "k1"))?;
        tx.task_insert(&keyed("ORCH-004", "k1"))
    })
    .unwrap();
    let plain = env.add("plain");
    let first = env.claim("w").unwrap();
    assert_eq!(first.task.id, a, "a resource task is claimed (general path on PostgreSQL)");
    let second = env.claim("w").unwrap();
    assert_eq!(second.task.id, "ORCH-003", "gpu is busy; ORCH-003 takes key k1");
    let third = env.claim("w").unwrap();
    assert_eq!(third.task.id, plain, "ORCH-004 waits for k1's owner; the plain task is next");
    assert!(env.claim("w").is_none());
    env.done(&second, "- ok\nRisks: none");
    // ORCH-004's key is DONE now: skipped, not run; gpu still busy: nothing to claim.
    assert!(env.claim("w").is_none());
    assert_eq!(env.get("ORCH-004").status, Status::Done);
    // The gpu task's lease expires: the claim sweeps it first, then b may run.
    env.advance(16 * 60);
    let next = env.claim("w").unwrap();
    assert_eq!(next.task.id, b, "the sweep freed gpu");
    assert_eq!(env.get(&a).status, Status::Failed);
    assert_eq!((next.run.attempt, next.task.attempts), (1, 1));
    let claimed: Vec<Event> = env.events().into_iter().filter(|e| e.event == "task.claimed").collect();
    assert_eq!(claimed.len(), 4);
    assert!(claimed.iter().all(|e| e.run_id.is_some() && e.trace_id.as_ref().is_some_and(|t| t.len() == 32)));
}
