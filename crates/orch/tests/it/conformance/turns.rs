//! Conformance: a dispatcher's turn in one transaction (`Orch::turn`) — several claims,
//! each with its own owner, in pick order; endings settled before the claims, so a task
//! they make eligible is among them; the processes of started workers recorded; a run
//! its worker finished itself left as it was — on every store.

use super::Env;
use jiff::SignedDuration;
use orch::ops::{ClaimRequest, Claimed, Ending, NewTask, Outcome, RunRef, Settled, Turn};
use orch_core::outcome::Usage;
use orch_core::task::{Priority, Status};
use orch_store::ProcessInfo;

fn req(owner: &str) -> ClaimRequest {
    ClaimRequest {
        owner: owner.into(),
        lease: SignedDuration::from_mins(15),
        host: Some("host-a".into()),
        pid: None,
        pgid: None,
        spawned_by: Some("dispatcher".into()),
        dispatcher: Some("host-a:1:1".into()),
    }
}

fn ending<'a>(c: &'a Claimed, outcome: Outcome, report: &'a str, usage: Option<&'a Usage>) -> Ending<'a> {
    Ending {
        run: RunRef { task_id: &c.task.id, run_id: &c.run.id, token: &c.run.lease_token },
        outcome,
        report,
        judged: None,
        usage,
    }
}

const DONE: Outcome = Outcome::Done { note: None };

pub(super) fn claim_many_takes_one_task_per_request_in_pick_order(env: &Env) {
    let low = env.add_with(NewTask { task: "low".into(), priority: Some(Priority::P2), ..NewTask::default() });
    let gpu = |t: &str| NewTask { task: t.into(), resource: Some("gpu".into()), ..NewTask::default() };
    let g1 = env.add_with(gpu("gpu one"));
    let g2 = env.add_with(gpu("gpu two"));
    let top = env.add_with(NewTask { task: "top".into(), priority: Some(Priority::P0), ..NewTask::default() });
    let (claimed, _) = env.orch.claim_many(&[req("w1"), req("w2"), req("w3"), req("w4")]).unwrap();
    let got: Vec<(&str, &str)> = claimed.iter().map(|c| (c.task.id.as_str(), c.run.owner.as_str())).collect();
    // The second gpu task waits for the first, claimed in the same transaction.
    assert_eq!(got, [(top.as_str(), "w1"), (g1.as_str(), "w2"), (low.as_str(), "w3")]);
    let runs: std::collections::BTreeSet<&str> = claimed.iter().map(|c| c.run.id.as_str()).collect();
    assert_eq!(runs.len(), 3, "a run of its own each");
    for c in &claimed {
        let t = env.get(&c.task.id);
        assert_eq!(
            (t.status, t.owner.as_deref(), t.run_id.as_deref()),
            (Status::InProgress, Some(c.run.owner.as_str()), Some(c.run.id.as_str()))
        );
        assert_eq!(t, c.task, "what it returned is what it stored");
        let stored = env.orch.runs(&c.task.id).unwrap();
        assert_eq!((stored.len(), stored[0].dispatcher.as_deref()), (1, Some("host-a:1:1")));
    }
    let claimed_events = env.events().into_iter().filter(|e| e.event == "task.claimed").count();
    assert_eq!(claimed_events, 3);
    assert_eq!(env.get(&g2).status, Status::Pending);
    let (none, _) = env.orch.claim_many(&[req("w5"), req("w6")]).unwrap();
    assert!(none.is_empty(), "nothing is eligible: {none:?}");
}

pub(super) fn a_turn_settles_before_it_claims_and_records_processes(env: &Env) {
    let base = env.add("base");
    let next = env.add_with(NewTask { task: "next".into(), depends_on: vec![base.clone()], ..NewTask::default() });
    let (first, _) = env.orch.claim_many(&[req("w1"), req("w2")]).unwrap();
    assert_eq!(first.len(), 1, "{next} waits for {base}");
    let c = &first[0];
    let p = ProcessInfo {
        host: "host-a".into(),
        pid: 4242,
        pgid: 4242,
        proc_start: Some(99),
        spawned_by: "dispatcher".into(),
    };
    let usage = Usage { input_tokens: 7, output_tokens: 3, cost_usd: 0.25 };
    env.advance(5);
    let endings = [ending(c, DONE, "- built\nRisks: none", Some(&usage))];
    let processes = [(c.run.id.clone(), p)];
    let claims = [req("w1"), req("w2")];
    let done = env.orch.turn(&Turn { processes: &processes, endings: &endings, claims: &claims, room: &[] }).unwrap();
    match &done.settled[..] {
        [Settled::Task { task, .. }] => assert_eq!((task.id.as_str(), task.status), (base.as_str(), Status::Done)),
        other => panic!("{other:?}"),
    }
    let got: Vec<&str> = done.claimed.iter().map(|c| c.task.id.as_str()).collect();
    assert_eq!(got, [next.as_str()], "the dependency was DONE before the claims");
    assert!(!done.all_claimed, "the second request found nothing");
    let run = env.orch.runs(&base).unwrap().remove(0);
    assert_eq!(
        (run.pid, run.pgid, run.proc_start, run.host.as_deref()),
        (Some(4242), Some(4242), Some(99), Some("host-a"))
    );
    assert_eq!((run.outcome.as_deref(), run.report.as_deref()), (Some("done"), Some("- built\nRisks: none")));
    assert_eq!((run.usage.input_tokens, run.usage.cost_usd), (7, 0.25));
    // The events of the turn, in its order: the end of one run, then the next claim.
    let names: Vec<String> = env.events().into_iter().rev().take(3).map(|e| e.event).collect();
    assert_eq!(names, ["task.claimed", "run.finished", "task.done"]);
}

pub(super) fn a_turn_leaves_a_run_its_worker_finished_and_keeps_a_lost_runs_report(env: &Env) {
    let a = env.add("finished by its worker");
    let b = env.add("lost");
    let (claimed, _) = env.orch.claim_many(&[req("w1"), req("w2")]).unwrap();
    let (ca, cb) = (&claimed[0], &claimed[1]);
    assert_eq!((ca.task.id.as_str(), cb.task.id.as_str()), (a.as_str(), b.as_str()));
    // The worker of `a` calls `orch done` itself; `b` is cancelled under its worker.
    env.done(ca, "- did it myself\nRisks: none");
    let verdict = env.orch.runs(&a).unwrap()[0].verdict.clone();
    env.orch.apply(&b, &orch_core::state::Command::Cancel { reason: None }).unwrap();
    let fail = Outcome::Fail { class: orch_core::policy::FailureClass::Transient, reason: "exit 1".into() };
    let endings =
        [ending(ca, fail, "- what stdout said\nRisks: none", None), ending(cb, DONE, "- late\nRisks: none", None)];
    let done = env.orch.turn(&Turn { endings: &endings, ..Turn::default() }).unwrap();
    match &done.settled[..] {
        [Settled::Ended { task, outcome }, Settled::LeaseLost] => {
            assert_eq!((task.status, outcome.as_str()), (Status::Done, "done"));
        }
        other => panic!("{other:?}"),
    }
    let ra = env.orch.runs(&a).unwrap().remove(0);
    assert_eq!((ra.outcome.as_deref(), ra.report.as_deref()), (Some("done"), Some("- did it myself\nRisks: none")));
    assert_eq!(ra.verdict, verdict, "the holder's verdict stands");
    assert_eq!(env.get(&a).status, Status::Done);
    let rb = env.orch.runs(&b).unwrap().remove(0);
    assert_eq!(rb.late_report.as_deref(), Some("- late\nRisks: none"));
    assert_eq!(env.get(&b).status, Status::Blocked);
}
