//! Conformance: a run's end written in one step (`Tx::task_settle`), on every store — all
//! of it (verdict, task, run end, events) or nothing, as the task was read — the read
//! before it (`Tx::task_and_holder`), and the operations that use them: a lease holder's
//! `done` and a dispatcher's `settle`.

use super::Env;
use orch::ops::{Outcome, RunRef, Settled};
use orch_core::event::Event;
use orch_core::policy::RetryPolicy;
use orch_core::state::{Auth, Change, Command, RunEffect, transition};
use orch_core::task::{Status, Task};
use orch_store::{RunEnd, Settle};

/// The DONE of `task` (claimed, its run `run_id`) as the core makes it, with the events'
/// run ids set, and how its run ends.
fn done_of(env: &Env, task: &Task, token: &str) -> (Task, Vec<Event>) {
    let cmd = Command::Complete { auth: Auth::Token(token.into()), notes: Some("n".into()) };
    let Change { task: after, mut events, run } =
        transition(task, &cmd, env.now(), &RetryPolicy::default()).expect("allowed");
    assert!(matches!(run, RunEffect::End { .. }));
    let mut verdict = Event::new(env.now(), "gate.verdict");
    verdict.task_id = Some(task.id.clone());
    verdict.msg = Some("PASS: fine".into());
    events.insert(0, verdict);
    for e in &mut events {
        e.run_id = task.run_id.clone();
        e.trace_id = Some("ab".repeat(16));
    }
    (after, events)
}

fn end(env: &Env) -> RunEnd<'static> {
    RunEnd { outcome: "done", class: None, reason: None, report: Some("- ok\nRisks: none"), at: env.now() }
}

pub(super) fn tx_task_settle_writes_all_of_a_change_or_nothing(env: &Env) {
    let first = env.add("waited for");
    let id = env.add("alone");
    env.add_with(orch::ops::NewTask {
        task: "waits".into(),
        depends_on: vec![first.clone()],
        ..orch::ops::NewTask::default()
    });
    let c1 = env.claim("w").unwrap();
    let c2 = env.claim("w").unwrap();
    assert_eq!((c1.task.id.as_str(), c2.task.id.as_str()), (first.as_str(), id.as_str()));
    let events_before = env.events().len();
    let settle = |task: &Task, events: &[Event], run: &str, alone: bool| {
        let s = Settle { task, run_id: Some(run), end: Some(end(env)), verdict: Some(("PASS", "fine")), events, alone };
        orch_store::write(env.db(), |tx| tx.task_settle(&s)).unwrap()
    };
    // A copy older than the stored task: nothing written.
    let (mut stale, events) = done_of(env, &c2.task, &c2.run.lease_token);
    stale.version -= 1;
    assert!(!settle(&stale, &events, &c2.run.id, true));
    // A task another depends on, written only when nothing does: nothing written.
    let (after, events1) = done_of(env, &c1.task, &c1.run.lease_token);
    assert!(!settle(&after, &events1, &c1.run.id, true));
    for (id, run) in [(&first, &c1.run.id), (&id, &c2.run.id)] {
        assert_eq!(env.get(id).status, Status::InProgress);
        let r = orch_store::read(env.db(), |tx| tx.run_get(run)).unwrap().unwrap();
        assert_eq!((r.ended_at, r.verdict.as_deref()), (None, None), "{r:?}");
    }
    assert_eq!(env.events().len(), events_before, "no event of a change not written");
    // As read: all of it.
    let (after, events) = done_of(env, &c2.task, &c2.run.lease_token);
    assert!(settle(&after, &events, &c2.run.id, true));
    let saved = env.get(&id);
    assert_eq!(saved, Task { version: after.version + 1, ..after.clone() });
    let r = orch_store::read(env.db(), |tx| tx.run_get(&c2.run.id)).unwrap().unwrap();
    assert_eq!(r.outcome.as_deref(), Some("done"));
    assert_eq!(r.report.as_deref(), Some("- ok\nRisks: none"));
    assert_eq!((r.verdict.as_deref(), r.verdict_reason.as_deref()), (Some("PASS"), Some("fine")));
    assert_eq!(r.ended_at, Some(env.now()));
    let written: Vec<Event> = env.events()[events_before..].iter().map(|e| Event { seq: 0, ..e.clone() }).collect();
    assert_eq!(written, events, "the events, in order");
    // The same change again: the version moved on, nothing more.
    assert!(!settle(&after, &events, &c2.run.id, true));
    // Not `alone`: a task others depend on is written, and its run, already ended, keeps
    // its end while the verdict is recorded.
    orch_store::write(env.db(), |tx| {
        let first_end = RunEnd { outcome: "failed", report: Some("first"), ..end(env) };
        tx.run_end(&c1.run.id, &first_end)
    })
    .unwrap();
    assert!(settle(&after_of(env, &c1.task, &c1.run.lease_token), &events1, &c1.run.id, false));
    assert_eq!(env.get(&first).status, Status::Done);
    let r = orch_store::read(env.db(), |tx| tx.run_get(&c1.run.id)).unwrap().unwrap();
    assert_eq!((r.outcome.as_deref(), r.report.as_deref()), (Some("failed"), Some("first")));
    assert_eq!(r.verdict.as_deref(), Some("PASS"));
}

fn after_of(env: &Env, task: &Task, token: &str) -> Task {
    done_of(env, task, token).0
}

/// An event without its number, time and ids: name, from, to, msg.
type Seen = (String, Option<Status>, Option<Status>, Option<String>);

/// What a run's end left: the task, its run, and its events after the claim.
#[derive(Debug, PartialEq)]
struct Shape {
    status: Status,
    leased: bool,
    version: i64,
    outcome: Option<String>,
    verdict: Option<String>,
    report: Option<String>,
    events: Vec<Seen>,
}

fn shape(env: &Env, c: &orch::ops::Claimed) -> Shape {
    let task = env.get(&c.task.id);
    let run = orch_store::read(env.db(), |tx| tx.run_get(&c.run.id)).unwrap().unwrap();
    let mine: Vec<Event> = env
        .events()
        .into_iter()
        .filter(|e| e.task_id.as_deref() == Some(c.task.id.as_str()) && e.event != "task.added")
        .collect();
    assert!(
        mine.iter().all(|e| e.run_id.as_deref() == Some(c.run.id.as_str())
            && e.trace_id.as_deref() == Some(c.run.trace_id.as_str())),
        "every event carries the run's ids: {mine:?}"
    );
    Shape {
        status: task.status,
        leased: task.lease.is_some(),
        version: task.version,
        outcome: run.outcome,
        verdict: run.verdict,
        report: run.report,
        events: mine.into_iter().map(|e| (e.event, e.from, e.to, e.msg)).collect(),
    }
}

pub(super) fn done_and_settle_write_what_the_general_way_writes(env: &Env) {
    // A lease holder's done and a dispatcher's settle (each in one step), beside the done
    // of a task another depends on (the general way): the same tasks, runs and events.
    let dep = env.add("depended on");
    let waits = env.add_with(orch::ops::NewTask {
        task: "waits".into(),
        depends_on: vec![dep.clone()],
        ..orch::ops::NewTask::default()
    });
    let plain = env.add("plain");
    let by_dispatcher = env.add("by a dispatcher");
    let cd = env.claim("w").unwrap();
    let cp = env.claim("w").unwrap();
    let cs = env.claim("w").unwrap();
    assert_eq!([&cd.task.id, &cp.task.id, &cs.task.id], [&dep, &plain, &by_dispatcher]);
    env.done(&cd, "- ok\nRisks: none");
    env.done(&cp, "- ok\nRisks: none");
    let orch::gate::Step::Decided(d) = orch::gate::first_step(&env.orch.config().gate, "- ok\nRisks: none") else {
        panic!("the rules decide a compact report")
    };
    let run = RunRef { task_id: &cs.task.id, run_id: &cs.run.id, token: &cs.run.lease_token };
    let settled = env.orch.settle(&run, Outcome::of(&d), &d.report, Some(&d)).unwrap();
    assert!(matches!(&settled, Settled::Task { task, .. } if task.status == Status::Done), "{settled:?}");
    let (a, b, c) = (shape(env, &cd), shape(env, &cp), shape(env, &cs));
    let names: Vec<&str> = a.events.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(names, ["task.claimed", "gate.verdict", "task.done", "run.finished"]);
    assert_eq!((a.status, a.leased, a.version, a.outcome.as_deref()), (Status::Done, false, 3, Some("done")));
    assert_eq!((a.verdict.as_deref(), a.report.as_deref()), (Some("PASS"), Some("- ok\nRisks: none")));
    assert_eq!(a, b);
    assert_eq!(b, c);
    // The dependent was released by the general way.
    assert_eq!(env.claim("w").map(|c| c.task.id), Some(waits));
}

pub(super) fn tx_task_and_holder_reads_the_task_and_the_run_its_token_holds(env: &Env) {
    let id = env.add("held");
    let waiting = env.add("not held");
    let c = env.claim("w").unwrap();
    assert_eq!(c.task.id, id);
    let read = |id: &str, token: &str| orch_store::read(env.db(), |tx| tx.task_and_holder(id, token)).unwrap();
    let (task, run) = read(&id, &c.run.lease_token).unwrap();
    assert_eq!(task, env.get(&id));
    assert_eq!(run, orch_store::read(env.db(), |tx| tx.run_get(&c.run.id)).unwrap());
    assert!(run.is_some());
    // A token that does not hold the lease, or none: the task alone.
    let (task, run) = read(&id, &"ef".repeat(16)).unwrap();
    assert_eq!((task.id.as_str(), run), (id.as_str(), None));
    let (task, run) = read(&waiting, &c.run.lease_token).unwrap();
    assert_eq!((task.id.as_str(), run), (waiting.as_str(), None));
    assert_eq!(read("ORCH-999", &c.run.lease_token), None);
    // In a write transaction too.
    let got = orch_store::write(env.db(), |tx| tx.task_and_holder(&id, &c.run.lease_token)).unwrap();
    assert!(got.is_some_and(|(_, r)| r.is_some_and(|r| r.id == c.run.id)));
}
