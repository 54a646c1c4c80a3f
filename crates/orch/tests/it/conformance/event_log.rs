//! Conformance: the event log — numbers never used twice after a prune, and the events
//! of one change appended together in order — on every store.

use super::Env;
use jiff::SignedDuration;
use orch_core::event::Event;
use orch_core::task::Status;

pub(super) fn prune_never_lets_an_event_number_be_used_again(env: &Env) {
    let c = {
        env.add("old work");
        env.claim("w").unwrap()
    };
    env.done(&c, "- ok\nRisks: none");
    let newest = env.events().last().unwrap().seq;
    // Everything is DONE and old: the newest events are the prune's to remove.
    env.advance(7200);
    let report = env.orch.prune(SignedDuration::from_hours(1)).unwrap();
    assert!(report.events > 0, "{report:?}");
    let after_prune = env.events();
    let pruned_note = after_prune.last().unwrap();
    assert_eq!(pruned_note.event, "history.pruned");
    assert!(pruned_note.seq > newest, "{} after {newest}", pruned_note.seq);
    // A follower that had read up to `newest` sees what comes next.
    env.add("new work");
    let next = orch_store::read(env.db(), |tx| tx.events_after(newest, 10)).unwrap();
    let names: Vec<&str> = next.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names, ["history.pruned", "task.added"]);
    assert!(next.windows(2).all(|w| w[0].seq < w[1].seq));
}

pub(super) fn tx_events_are_appended_together_in_order(env: &Env) {
    let mut a = Event::new(env.now(), "run.finished");
    a.task_id = Some("ORCH-001".into());
    a.run_id = Some("r1".into());
    a.trace_id = Some("ab".repeat(16));
    a.owner = Some("w".into());
    a.attempt = Some(2);
    a.from = Some(Status::InProgress);
    a.to = Some(Status::Failed);
    a.msg = Some("failed: transient: 한글 reason".into());
    a.level = orch_core::event::Level::Warn;
    let b = Event { event: "retry.scheduled".into(), msg: None, level: orch_core::event::Level::Info, ..a.clone() };
    let c = Event::new(env.now(), "history.pruned");
    orch_store::write(env.db(), |tx| {
        tx.events_insert(&[])?;
        tx.events_insert(std::slice::from_ref(&c))?;
        tx.events_insert(&[a.clone(), b.clone(), c.clone()])
    })
    .unwrap();
    let got = env.events();
    let names: Vec<&str> = got.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names, ["history.pruned", "run.finished", "retry.scheduled", "history.pruned"]);
    assert!(got.windows(2).all(|w| w[0].seq + 1 == w[1].seq), "numbered in order: {got:?}");
    let unnumbered = |e: &Event| Event { seq: 0, ..e.clone() };
    assert_eq!(got[1..].iter().map(unnumbered).collect::<Vec<_>>(), [a, b, c]);
}
