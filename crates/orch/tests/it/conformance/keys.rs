//! Conformance: idempotency keys at claim time — a task whose key a DONE task holds is
//! skipped as done, one whose key an unfinished task holds waits, and waiting duplicates
//! never hide an eligible task — on every store.

use super::Env;
use orch::ops::NewTask;
use orch_core::policy::FailureClass;
use orch_core::task::{Priority, Status, Task};

const OK: &str = "- ok\nRisks: none";

pub(super) fn a_task_whose_key_is_done_is_skipped(env: &Env) {
    let a = env.add_with(NewTask { task: "pay".into(), idempotency_key: Some("inv-7".into()), ..NewTask::default() });
    let c = env.claim("w").unwrap();
    env.done(&c, "- paid\nRisks: none");
    // As an import may leave it: a second task with the same key.
    let mut dup = Task::new("ORCH-002".into(), "pay again".into(), Priority::P0, 4, env.now());
    dup.idempotency_key = Some("inv-7".into());
    dup.version = 1;
    env.insert(&dup, false);
    let other = env.add("something else");
    assert_eq!(env.claim("w").expect("the other task").task.id, other);
    let t = env.get("ORCH-002");
    assert_eq!((t.status, t.attempts), (Status::Done, 0));
    assert_eq!(t.notes, Some(format!("idempotent_skip:{a}")));
    assert!(env.orch.runs("ORCH-002").unwrap().is_empty(), "it never ran");
    assert_eq!(env.events_of("ORCH-002", "task.skipped"), 1);
}

pub(super) fn a_task_whose_key_an_unfinished_task_holds_waits_for_it(env: &Env) {
    let now = env.now();
    let mk = |n: u32| {
        let mut t = Task::new(format!("ORCH-{n:03}"), "deploy".into(), Priority::P1, 4, now);
        t.idempotency_key = Some("deploy-7".into());
        t.version = 1;
        t
    };
    env.insert(&mk(1), true);
    env.insert(&mk(2), false);
    let c = env.claim("w1").unwrap();
    assert_eq!(c.task.id, "ORCH-001");
    assert!(env.claim("w2").is_none(), "the duplicate waits while the key's task runs");
    assert_eq!(env.get("ORCH-002").status, Status::Pending);
    env.fail(&c, FailureClass::Transient);
    env.advance(60);
    let c = env.claim("w1").unwrap();
    assert_eq!(c.task.id, "ORCH-001", "a retrying owner keeps its key");
    env.done(&c, OK);
    assert!(env.claim("w2").is_none());
    assert_eq!(env.get("ORCH-002").notes.as_deref(), Some("idempotent_skip:ORCH-001"));
}

pub(super) fn waiting_duplicates_never_hide_an_eligible_task_behind_them(env: &Env) {
    let now = env.now();
    for n in 1..=40u32 {
        let mut t = Task::new(format!("ORCH-{n:03}"), "dup".into(), Priority::P0, 4, now);
        t.idempotency_key = Some("k".into());
        t.version = 1;
        env.insert(&t, n == 1);
    }
    let first = env.claim("w").unwrap();
    assert_eq!(first.task.id, "ORCH-001");
    let free = env.add_with(NewTask { task: "free".into(), priority: Some(Priority::P2), ..NewTask::default() });
    let c = env.claim("w").expect("39 waiting duplicates come first, then the free task");
    assert_eq!(c.task.id, free);
    assert!(env.claim("w").is_none());
    env.done(&first, OK);
    assert!(env.claim("w").is_none(), "every duplicate is skipped at once");
    let skipped = env.orch.list(&Default::default()).unwrap();
    let notes: Vec<_> = skipped.iter().filter(|t| t.notes.as_deref() == Some("idempotent_skip:ORCH-001")).collect();
    assert_eq!(notes.len(), 39);
}
