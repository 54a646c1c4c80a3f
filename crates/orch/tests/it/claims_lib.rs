//! Claims, leases and retries through the library (`Orch` in-process) with a manual
//! clock: time moves by `advance`, never by sleeping. The same rules through the real
//! binary are in `claims.rs`; the pieces that need time travel (backoff, exhaustion,
//! heartbeats against the watchdog) live here.

use jiff::{SignedDuration, Timestamp};
use orch::clock::ManualClock;
use orch::config::Config;
use orch::error::Error;
use orch::home::Home;
use orch::ops::{ClaimRequest, Claimed, Finish, NewTask, Options, Orch};
use orch::store::{self, sqlite::Sqlite};
use orch_core::event::Event;
use orch_core::policy::FailureClass;
use orch_core::state::{Auth, Command};
use orch_core::task::{Priority, Status, Task};
use std::sync::Arc;

const T0: &str = "2026-03-01T00:00:00Z";

/// A queue in a temporary folder whose time is a [`ManualClock`].
struct Lab {
    dir: tempfile::TempDir,
    clock: Arc<ManualClock>,
    orch: Orch,
}

impl Lab {
    fn new() -> Lab {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock = Arc::new(ManualClock::new(T0.parse().unwrap()));
        let orch = open(dir.path(), clock.clone());
        Lab { dir, clock, orch }
    }

    /// Another handle on the same database: its own connection, as another process has.
    fn handle(&self) -> Orch {
        open(self.dir.path(), self.clock.clone())
    }

    fn advance(&self, secs: i64) {
        self.clock.advance(SignedDuration::from_secs(secs));
    }

    fn now(&self) -> Timestamp {
        self.orch.now()
    }

    fn add(&self, title: &str) -> String {
        self.add_with(NewTask { task: title.into(), ..NewTask::default() })
    }

    fn add_with(&self, new: NewTask) -> String {
        let (t, created, w) = self.orch.add(&new).expect("add");
        assert!(created && w.is_empty(), "{w:?}");
        t.id
    }

    fn claim(&self, owner: &str) -> Option<Claimed> {
        claim(&self.orch, owner, 15)
    }

    fn get(&self, id: &str) -> Task {
        self.orch.get(id).expect("task")
    }

    fn done(&self, c: &Claimed) -> Task {
        let auth = Auth::Token(c.run.lease_token.clone());
        self.orch.finish(&c.task.id, auth, Finish::Done { notes: None }, Some("- ok\nRisks: none")).expect("done").0
    }

    fn fail(&self, c: &Claimed, class: FailureClass) -> Task {
        let auth = Auth::Token(c.run.lease_token.clone());
        let fin = Finish::Fail { reason: "boom".into(), class };
        self.orch.finish(&c.task.id, auth, fin, None).expect("fail").0
    }

    fn events(&self) -> Vec<Event> {
        store::read(self.orch.db.as_ref(), |tx| tx.events_after(0, 100_000)).expect("events")
    }

    fn events_of(&self, id: &str, name: &str) -> usize {
        self.events().iter().filter(|e| e.task_id.as_deref() == Some(id) && e.event == name).count()
    }

    /// Inserts a task as an import or another tool might have left it, through the
    /// store's own primitives; `own_key` also registers its idempotency key to it.
    fn insert(&self, t: &Task, own_key: bool) {
        store::write(self.orch.db.as_ref(), |tx| {
            tx.task_insert(t)?;
            if let (true, Some(k)) = (own_key, &t.idempotency_key) {
                assert!(tx.idempotency_claim(k, &t.id)?);
            }
            Ok(())
        })
        .expect("insert");
    }
}

fn open(root: &std::path::Path, clock: Arc<ManualClock>) -> Orch {
    let home = Home { dir: root.join(".orch") };
    std::fs::create_dir_all(&home.dir).unwrap();
    let mut config = Config::default();
    config.queue.file = String::new();
    let db = Sqlite::create(&home.db_path()).expect("open db");
    Orch::with_parts(home, config, Box::new(db), &Options::default(), clock)
}

fn claim(orch: &Orch, owner: &str, lease_min: i64) -> Option<Claimed> {
    let req = ClaimRequest::new(owner, SignedDuration::from_mins(lease_min));
    let (c, w) = orch.claim(&req).expect("claim");
    assert!(w.is_empty(), "{w:?}");
    c
}

fn ids(claims: &[Option<Claimed>]) -> Vec<String> {
    claims.iter().map(|c| c.as_ref().map_or("-".into(), |c| c.task.id.clone())).collect()
}

#[test]
fn a_claim_starts_a_run_under_a_lease() {
    let lab = Lab::new();
    let id = lab.add("write the docs");
    let c = lab.claim("w1").expect("claimable");
    assert_eq!(c.task.id, id);
    assert_eq!(c.task.status, Status::InProgress);
    assert_eq!((c.task.attempts, c.run.attempt), (1, 1));
    assert_eq!(c.task.owner.as_deref(), Some("w1"));
    assert_eq!(c.task.started_at, Some(lab.now()));
    let lease = c.task.lease.as_ref().expect("lease");
    assert_eq!(lease.token, c.run.lease_token);
    assert_eq!(lease.expires_at, lab.now() + SignedDuration::from_mins(15));
    assert_eq!(c.run.trace_id.len(), 32);
    let claimed: Vec<Event> = lab.events().into_iter().filter(|e| e.event == "task.claimed").collect();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].run_id.as_deref(), Some(c.run.id.as_str()));
    assert_eq!(claimed[0].trace_id.as_deref(), Some(c.run.trace_id.as_str()));
    assert!(lab.claim("w2").is_none(), "one task, one claim");
    let done = lab.done(&c);
    assert_eq!((done.status, done.lease.as_ref()), (Status::Done, None));
    let runs = lab.orch.runs(&id).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outcome.as_deref(), Some("done"));
    assert_eq!(runs[0].report.as_deref(), Some("- ok\nRisks: none"));
}

#[test]
fn pick_order_is_priority_then_due_then_id() {
    let lab = Lab::new();
    let t = |h: i64| Some(lab.now() + SignedDuration::from_hours(h));
    let add = |p: Priority, due: Option<Timestamp>| {
        lab.add_with(NewTask { task: "x".into(), priority: Some(p), due_at: due, ..NewTask::default() })
    };
    let a = add(Priority::P2, t(1));
    let b = add(Priority::P1, None);
    let c = add(Priority::P1, t(5));
    let d = add(Priority::P0, None);
    let e = add(Priority::P1, t(2));
    let f = add(Priority::P1, None);
    let order: Vec<Option<Claimed>> = (0..7).map(|_| lab.claim("w")).collect();
    assert_eq!(ids(&order), [d, e, c, b, f, a, "-".into()]);
}

#[test]
fn lease_expiry_backs_off_one_three_ten_minutes_then_retries_are_exhausted() {
    let lab = Lab::new();
    let id = lab.add("flaky");
    let mut waits = Vec::new();
    for attempt in 1..=4u32 {
        let c = lab.claim("w").unwrap_or_else(|| panic!("attempt {attempt} claimable"));
        assert_eq!(c.task.attempts, attempt);
        lab.advance(15 * 60 - 1);
        assert!(lab.orch.sweep().unwrap().0.is_empty(), "a live lease is left alone");
        lab.advance(1);
        let (swept, _) = lab.orch.sweep().unwrap();
        assert_eq!(swept.len(), 1);
        let t = &swept[0];
        assert_eq!((t.status, t.lease.as_ref()), (Status::Failed, None));
        match t.retry_at {
            Some(at) => {
                let wait = at.duration_since(lab.now()).as_secs();
                waits.push(wait);
                lab.advance(wait - 1);
                assert!(lab.claim("w").is_none(), "not claimable before retry_at");
                lab.advance(1);
            }
            None => assert_eq!(attempt, 4, "retries end after four attempts"),
        }
    }
    assert_eq!(waits, [60, 180, 600]);
    let t = lab.get(&id);
    assert_eq!((t.status, t.retry_at, t.attempts), (Status::Failed, None, 4));
    assert!(t.notes.as_deref().unwrap().ends_with("lease_expired / retry_exhausted"), "{:?}", t.notes);
    lab.advance(86_400);
    assert!(lab.claim("w").is_none(), "an exhausted task waits for an operator");
    let runs = lab.orch.runs(&id).unwrap();
    assert_eq!(runs.len(), 4);
    for (i, r) in runs.iter().enumerate() {
        assert_eq!(r.attempt, i as u32 + 1);
        assert_eq!(r.outcome.as_deref(), Some("expired"));
        assert_eq!(r.class, Some(FailureClass::Transient));
        assert_eq!(r.reason.as_deref(), Some("lease_expired"));
    }
    assert_eq!(lab.events_of(&id, "lease.expired"), 4);
    assert_eq!(lab.events_of(&id, "retry.scheduled"), 3);
    assert_eq!(lab.events_of(&id, "retry.exhausted"), 1);
}

#[test]
fn a_failed_task_is_claimable_only_once_its_retry_at_passes() {
    let lab = Lab::new();
    let id = lab.add("retry me");
    let c = lab.claim("w").unwrap();
    let t = lab.fail(&c, FailureClass::Transient);
    assert_eq!(t.status, Status::Failed);
    assert_eq!(t.retry_at, Some(lab.now() + SignedDuration::from_secs(60)));
    lab.advance(59);
    assert!(lab.claim("w").is_none());
    lab.advance(1);
    let again = lab.claim("w").expect("due now");
    assert_eq!((again.task.id.as_str(), again.task.attempts, again.task.retry_at), (id.as_str(), 2, None));
}

#[test]
fn a_permanent_failure_waits_for_an_operators_retry_which_resets_attempts() {
    let lab = Lab::new();
    let id = lab.add("broken input");
    let c = lab.claim("w").unwrap();
    let t = lab.fail(&c, FailureClass::Permanent);
    assert_eq!((t.status, t.retry_at), (Status::Failed, None));
    lab.advance(7 * 86_400);
    assert!(lab.claim("w").is_none());
    let (t, _) = lab.orch.apply(&id, &Command::Retry).unwrap();
    assert_eq!((t.status, t.attempts), (Status::Pending, 0));
    assert!(t.notes.as_deref().unwrap().ends_with("boom / retry_by_operator"));
    let again = lab.claim("w").expect("claimable after retry");
    assert_eq!(again.task.attempts, 1);
    let runs = lab.orch.runs(&id).unwrap();
    assert_eq!(runs[0].class, Some(FailureClass::Permanent));
    assert_eq!((runs[1].attempt, runs[1].outcome.as_deref()), (1, None));
}

#[test]
fn heartbeats_extend_the_lease_so_the_watchdog_spares_live_work() {
    let lab = Lab::new();
    let id = lab.add("long job");
    let c = lab.claim("w").unwrap();
    let token = Auth::Token(c.run.lease_token.clone());
    for _ in 0..5 {
        lab.advance(5 * 60);
        let (t, _) = lab.orch.heartbeat(&id, token.clone(), SignedDuration::from_mins(15)).unwrap();
        assert_eq!(t.lease.unwrap().expires_at, lab.now() + SignedDuration::from_mins(15));
        assert!(lab.orch.sweep().unwrap().0.is_empty());
    }
    assert_eq!(lab.events_of(&id, "lease.renewed"), 5);
    lab.advance(15 * 60);
    let (swept, _) = lab.orch.sweep().unwrap();
    assert_eq!(swept.len(), 1, "silence for a whole lease expires it");
    // A heartbeat with the old token now finds the lease lost.
    let err = lab.orch.heartbeat(&id, token, SignedDuration::from_mins(15)).unwrap_err();
    assert_eq!(err.exit_code(), 5);
    assert!(err.to_string().contains("lease lost"), "{err}");
}

#[test]
fn a_claim_sweeps_expired_leases_before_it_picks() {
    let lab = Lab::new();
    let a = lab.add("a");
    let b = lab.add("b");
    let ca = lab.claim("w1").unwrap();
    assert_eq!(ca.task.id, a);
    lab.advance(16 * 60);
    let cb = lab.claim("w2").unwrap();
    assert_eq!(cb.task.id, b, "a's retry is not due yet");
    let t = lab.get(&a);
    assert_eq!(t.status, Status::Failed);
    assert_eq!(t.retry_at, Some(lab.now() + SignedDuration::from_secs(60)));
    assert_eq!(lab.events_of(&a, "lease.expired"), 1);
}

#[test]
fn an_expired_lease_still_holds_until_the_watchdog_takes_it() {
    // Nobody else can claim the task before a sweep, so its late holder may still finish.
    let lab = Lab::new();
    let id = lab.add("slow");
    let c = lab.claim("w").unwrap();
    lab.advance(20 * 60);
    assert_eq!(lab.done(&c).status, Status::Done);
    assert!(lab.orch.sweep().unwrap().0.is_empty());
    assert_eq!(lab.orch.runs(&id).unwrap()[0].outcome.as_deref(), Some("done"));
}

#[test]
fn a_stale_token_is_refused_as_lease_lost_and_its_report_is_kept() {
    let lab = Lab::new();
    let id = lab.add("contested");
    let first = lab.claim("w1").unwrap();
    lab.advance(16 * 60);
    lab.orch.sweep().unwrap();
    lab.advance(60);
    let second = lab.claim("w2").unwrap();
    assert_eq!(second.task.attempts, 2);
    let stale = Auth::Token(first.run.lease_token.clone());
    let err = lab.orch.finish(&id, stale, Finish::Done { notes: None }, Some("late words")).unwrap_err();
    assert!(matches!(err, Error::Transition(_)), "{err:?}");
    assert_eq!(err.exit_code(), 5);
    assert!(err.to_string().contains("lease lost") && err.to_string().contains("another run"), "{err}");
    let runs = lab.orch.runs(&id).unwrap();
    assert_eq!(runs[0].late_report.as_deref(), Some("late words"));
    assert_eq!(runs[0].outcome.as_deref(), Some("expired"));
    assert_eq!(runs[1].late_report, None);
    assert_eq!(lab.get(&id).status, Status::InProgress, "the live run is untouched");
    assert_eq!(lab.events_of(&id, "report.late"), 1);
    // The operator overrides.
    let (t, _) = lab.orch.finish(&id, Auth::Force, Finish::Done { notes: None }, None).unwrap();
    assert_eq!(t.status, Status::Done);
    assert_eq!(lab.orch.runs(&id).unwrap()[1].outcome.as_deref(), Some("done"));
}

#[test]
fn a_task_whose_key_a_done_task_holds_is_skipped_as_done() {
    let lab = Lab::new();
    let now = lab.now();
    let mut done = Task::new("ORCH-001".into(), "send the mail".into(), Priority::P1, 4, now);
    done.status = Status::Done;
    done.idempotency_key = Some("mail-42".into());
    done.version = 1;
    lab.insert(&done, true);
    let mut dup = Task::new("ORCH-002".into(), "send the mail".into(), Priority::P0, 4, now);
    dup.idempotency_key = Some("mail-42".into());
    dup.version = 1;
    lab.insert(&dup, false);
    let other = lab.add("something else");
    let c = lab.claim("w").expect("the other task");
    assert_eq!(c.task.id, other);
    let t = lab.get("ORCH-002");
    assert_eq!(t.status, Status::Done);
    assert_eq!(t.notes.as_deref(), Some("idempotent_skip:ORCH-001"));
    assert_eq!(t.attempts, 0);
    assert!(lab.orch.runs("ORCH-002").unwrap().is_empty(), "it never ran");
    assert_eq!(lab.events_of("ORCH-002", "task.skipped"), 1);
}

#[test]
fn a_task_whose_key_an_unfinished_task_holds_waits_for_it() {
    let lab = Lab::new();
    let now = lab.now();
    let mk = |n: u32| {
        let mut t = Task::new(format!("ORCH-{n:03}"), "deploy".into(), Priority::P1, 4, now);
        t.idempotency_key = Some("deploy-7".into());
        t.version = 1;
        t
    };
    lab.insert(&mk(1), true);
    lab.insert(&mk(2), false);
    let c = lab.claim("w1").unwrap();
    assert_eq!(c.task.id, "ORCH-001");
    assert!(lab.claim("w2").is_none(), "the duplicate waits while the key's task runs");
    assert_eq!(lab.get("ORCH-002").status, Status::Pending);
    lab.fail(&c, FailureClass::Transient);
    lab.advance(60);
    let c = lab.claim("w1").unwrap();
    assert_eq!(c.task.id, "ORCH-001", "a retrying owner keeps its key");
    lab.done(&c);
    assert!(lab.claim("w2").is_none());
    assert_eq!(lab.get("ORCH-002").notes.as_deref(), Some("idempotent_skip:ORCH-001"));
}

#[test]
fn waiting_duplicates_never_hide_an_eligible_task_behind_them() {
    let lab = Lab::new();
    let now = lab.now();
    for n in 1..=40u32 {
        let mut t = Task::new(format!("ORCH-{n:03}"), "dup".into(), Priority::P0, 4, now);
        t.idempotency_key = Some("k".into());
        t.version = 1;
        lab.insert(&t, n == 1);
    }
    let first = lab.claim("w").unwrap();
    assert_eq!(first.task.id, "ORCH-001");
    let free = lab.add_with(NewTask { task: "free".into(), priority: Some(Priority::P2), ..NewTask::default() });
    let c = lab.claim("w").expect("39 waiting duplicates come first, then the free task");
    assert_eq!(c.task.id, free);
    assert!(lab.claim("w").is_none());
    lab.done(&first);
    assert!(lab.claim("w").is_none(), "every duplicate is skipped at once");
    let skipped = lab.orch.list(&Default::default()).unwrap();
    let notes: Vec<_> = skipped.iter().filter(|t| t.notes.as_deref() == Some("idempotent_skip:ORCH-001")).collect();
    assert_eq!(notes.len(), 39);
}

#[test]
fn dependencies_and_resources_gate_the_claim() {
    let lab = Lab::new();
    let base = lab.add("base");
    let on_base = lab.add_with(NewTask { task: "after".into(), depends_on: vec![base.clone()], ..NewTask::default() });
    let gpu = |t: &str| lab.add_with(NewTask { task: t.into(), resource: Some("gpu".into()), ..NewTask::default() });
    let g1 = gpu("g1");
    let g2 = gpu("g2");
    let c1 = lab.claim("w1").unwrap();
    let c2 = lab.claim("w2").unwrap();
    assert_eq!([&c1.task.id, &c2.task.id], [&base, &g1]);
    assert!(lab.claim("w3").is_none(), "after waits for base; g2 waits for the gpu");
    lab.done(&c2);
    let c3 = lab.claim("w3").unwrap();
    assert_eq!(c3.task.id, g2);
    lab.done(&c1);
    assert_eq!(lab.claim("w4").unwrap().task.id, on_base);
}

#[test]
fn an_idempotency_key_added_twice_makes_one_task() {
    let lab = Lab::new();
    let new = NewTask { task: "once".into(), idempotency_key: Some("once-1".into()), ..NewTask::default() };
    let (a, created_a, _) = lab.orch.add(&new).unwrap();
    let (b, created_b, _) = lab.orch.add(&new).unwrap();
    assert!(created_a && !created_b);
    assert_eq!(a.id, b.id);
    assert_eq!(lab.orch.list(&Default::default()).unwrap().len(), 1);
}

#[test]
fn threads_with_their_own_connections_never_claim_one_task_twice() {
    let lab = Lab::new();
    let n = 120;
    store::write(lab.orch.db.as_ref(), |tx| {
        for i in 1..=n {
            let mut t = Task::new(format!("ORCH-{i:03}"), format!("t{i}"), Priority::P1, 4, lab.now());
            t.version = 1;
            tx.task_insert(&t)?;
        }
        Ok(())
    })
    .unwrap();
    let claimed: Vec<Vec<String>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|w| {
                let orch = lab.handle();
                s.spawn(move || {
                    let mut mine = Vec::new();
                    while let Some(c) = claim(&orch, &format!("w{w}"), 15) {
                        let auth = Auth::Token(c.run.lease_token.clone());
                        orch.finish(&c.task.id, auth, Finish::Done { notes: None }, Some("- ok\nRisks: none"))
                            .expect("done");
                        mine.push(c.task.id);
                    }
                    mine
                })
            })
            .collect();
        workers.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all: Vec<String> = claimed.concat();
    all.sort();
    let total = all.len();
    all.dedup();
    assert_eq!((total, all.len()), (n, n), "every task exactly once");
    for t in lab.orch.list(&Default::default()).unwrap() {
        assert_eq!((t.status, t.attempts), (Status::Done, 1), "{}", t.id);
    }
    assert_eq!(lab.events().iter().filter(|e| e.event == "task.claimed").count(), n);
}
