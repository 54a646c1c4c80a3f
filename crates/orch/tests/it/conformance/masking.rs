//! Conformance: history text and notes on their way into the store — masked by every
//! writer when the store is behind the mask (`*_masked`), kept as given otherwise — on
//! every store.

use super::Env;
use orch::ops::Finish;
use orch_core::event::Event;
use orch_core::policy::FailureClass;
use orch_core::state::Auth;

const SECRET: &str = "password=hunter2";

pub(super) fn history_text_is_masked_by_every_writer_when_the_mask_is_on(env: &Env) {
    let id = env.add("deploy");
    let first = env.claim("w").unwrap();
    let auth = Auth::Token(first.run.lease_token.clone());
    let fail = Finish::Fail { reason: format!("rejected {SECRET}"), class: FailureClass::Transient };
    env.orch.finish(&id, auth, fail, Some(&format!("- tried {SECRET}\nRisks: none"))).unwrap();
    env.advance(24 * 3600);
    let second = env.claim("w").expect("the transient failure runs again");
    let auth = Auth::Token(second.run.lease_token.clone());
    let done = Finish::Done { notes: Some(format!("used {SECRET}")) };
    env.orch.finish(&id, auth, done, Some(&format!("- deployed with {SECRET}\nRisks: none"))).unwrap();
    // The primitives no operation above went through.
    let mut one = Event::new(env.now(), "test.one");
    one.msg = Some(format!("one {SECRET}"));
    let mut two = Event::new(env.now(), "test.two");
    two.msg = Some(format!("two {SECRET}"));
    orch_store::write(env.db(), |tx| {
        tx.run_late_report(&second.run.id, &format!("late {SECRET}"))?;
        tx.run_set_verdict(&first.run.id, "rejected", &format!("why {SECRET}"))?;
        tx.event_insert(&one)?;
        tx.events_insert(std::slice::from_ref(&two))
    })
    .unwrap();

    let plain = env.backend();
    let (task, runs, events) = orch_store::read(plain.as_ref(), |tx| {
        Ok((tx.task_get(&id)?.unwrap(), tx.runs_of(&id)?, tx.events_after(0, 100_000)?))
    })
    .unwrap();
    let run = |r: &str| runs.iter().find(|x| x.id == r).unwrap();
    let mut texts = vec![
        ("notes", task.notes.clone()),
        ("failed run's reason", run(&first.run.id).reason.clone()),
        ("failed run's report", run(&first.run.id).report.clone()),
        ("verdict reason", run(&first.run.id).verdict_reason.clone()),
        ("done run's report", run(&second.run.id).report.clone()),
        ("late report", run(&second.run.id).late_report.clone()),
    ];
    for kind in ["test.one", "test.two"] {
        texts.push((kind, events.iter().find(|e| e.event == kind).and_then(|e| e.msg.clone())));
    }
    let failure = events.iter().filter_map(|e| e.msg.clone()).find(|m| m.contains("rejected"));
    texts.push(("the failure's event", failure));
    let want = if env.masks() { "[masked]" } else { SECRET };
    for (what, text) in &texts {
        let text = text.as_deref().unwrap_or_else(|| panic!("no {what}"));
        assert!(text.contains(want), "{what}: {text:?} lacks {want:?}");
        assert_eq!(text.contains("hunter2"), !env.masks(), "{what}: {text:?}");
    }
    let stored = events.iter().filter_map(|e| e.msg.as_deref()).filter(|m| m.contains("hunter2")).count();
    assert_eq!(stored == 0, env.masks(), "events holding the secret: {stored}");
}
