//! The store conformance suite: the same test functions run against every backend
//! (`conformance::sqlite::*` and `conformance::postgres::*`), through the operations
//! (`Orch` in-process, a manual clock) and through the `Tx` primitives directly. Each
//! test gets a fresh store: a temporary SQLite file, or a new PostgreSQL database
//! (`CREATE DATABASE orch_test_…`, dropped afterwards) on the server named by
//! `ORCH_TEST_PG`. Without that variable the PostgreSQL half skips loudly (and fails
//! under `CI=true`).

use crate::common::SEED;
use crate::postgres::TestDb;
use jiff::{SignedDuration, Timestamp};
use orch::clock::ManualClock;
use orch::config::Config;
use orch::home::Home;
use orch::ops::{ClaimRequest, Claimed, Finish, NewTask, Options, Orch};
use orch::store::{self, Backend, ListFilter, ProcessInfo, Run, RunEnd, StoreError, ViewMark};
use orch_core::event::Event;
use orch_core::outcome::Usage;
use orch_core::policy::FailureClass;
use orch_core::state::{Auth, Command, Replan};
use orch_core::task::{Priority, Status, Task};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

const T0: &str = "2026-03-01T00:00:00Z";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// One fresh store and a queue home beside it.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub clock: Arc<ManualClock>,
    pub orch: Orch,
    url: String,
    // Dropped last: the database outlives the connections above.
    _pg: Option<TestDb>,
}

impl Env {
    /// `None` when the backend is not available here (PostgreSQL without a server).
    pub fn new(kind: Kind, test: &str) -> Option<Env> {
        let dir = tempfile::tempdir().expect("temp dir");
        let (url, pg) = match kind {
            Kind::Sqlite => (dir.path().join("orch.db").display().to_string(), None),
            Kind::Postgres => {
                let db = TestDb::create(test)?;
                (db.url.clone(), Some(db))
            }
        };
        let clock = Arc::new(ManualClock::new(T0.parse().unwrap()));
        let orch = open_orch(dir.path(), &url, clock.clone());
        Some(Env { dir, clock, orch, url, _pg: pg })
    }

    /// Another connection to the same store, as another process has.
    pub fn backend(&self) -> Box<dyn Backend> {
        store::open(&self.url).expect("open store")
    }

    /// Another queue handle on the same store and clock.
    pub fn handle(&self) -> Orch {
        open_orch(self.dir.path(), &self.url, self.clock.clone())
    }

    fn db(&self) -> &dyn Backend {
        self.orch.db.as_ref()
    }

    fn now(&self) -> Timestamp {
        self.orch.now()
    }

    fn advance(&self, secs: i64) {
        self.clock.advance(SignedDuration::from_secs(secs));
    }

    fn add(&self, title: &str) -> String {
        self.add_with(NewTask { task: title.into(), ..NewTask::default() })
    }

    fn add_with(&self, new: NewTask) -> String {
        let (t, created, _) = self.orch.add(&new).expect("add");
        assert!(created);
        t.id
    }

    fn claim(&self, owner: &str) -> Option<Claimed> {
        claim(&self.orch, owner)
    }

    fn get(&self, id: &str) -> Task {
        self.orch.get(id).expect("task")
    }

    fn done(&self, c: &Claimed, report: &str) -> Task {
        let auth = Auth::Token(c.run.lease_token.clone());
        self.orch.finish(&c.task.id, auth, Finish::Done { notes: None }, Some(report)).expect("done").0
    }

    fn fail(&self, c: &Claimed, class: FailureClass) -> Task {
        let auth = Auth::Token(c.run.lease_token.clone());
        self.orch.finish(&c.task.id, auth, Finish::Fail { reason: "boom".into(), class }, None).expect("fail").0
    }

    fn events(&self) -> Vec<Event> {
        store::read(self.db(), |tx| tx.events_after(0, 100_000)).expect("events")
    }
}

fn open_orch(root: &std::path::Path, url: &str, clock: Arc<ManualClock>) -> Orch {
    let home = Home { dir: root.join(".orch") };
    std::fs::create_dir_all(&home.dir).unwrap();
    let db = store::create(url).expect("open store");
    Orch::with_parts(home, Config::default(), db, &Options::default(), clock)
}

fn claim(orch: &Orch, owner: &str) -> Option<Claimed> {
    let req = ClaimRequest {
        owner: owner.into(),
        lease: SignedDuration::from_mins(15),
        host: Some("host-a".into()),
        pid: Some(42),
        pgid: Some(42),
    };
    orch.claim(&req).expect("claim").0
}

fn ids(claims: &[Option<Claimed>]) -> Vec<String> {
    claims.iter().map(|c| c.as_ref().map_or("-".into(), |c| c.task.id.clone())).collect()
}

/// Generates `sqlite::NAME` and `postgres::NAME` tests for each function `NAME(&Env)`.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(&super::Env::new(super::Kind::Sqlite, "").unwrap()); } )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    if let Some(env) = super::Env::new(super::Kind::Postgres, stringify!($name)) {
                        super::$name(&env);
                    }
                }
            )*
        }
    };
}

conformance! {
    add_numbers_ids_in_queue_order,
    an_idempotency_key_returns_the_existing_task,
    claims_go_by_priority_then_due_then_id,
    claims_wait_for_dependencies,
    one_task_per_resource_runs_at_a_time,
    a_task_whose_key_is_done_is_skipped,
    heartbeats_extend_the_lease_and_a_stale_token_is_refused,
    done_ends_the_run_with_its_report,
    transient_failures_back_off_then_run_again,
    a_permanent_failure_waits_for_an_operator_retry,
    the_sweep_expires_leases,
    cancel_replan_and_retry,
    the_seed_imports_and_exports_byte_for_byte,
    events_are_numbered_in_commit_order_and_paged,
    racing_claimers_never_share_a_task,
    racing_adds_never_share_an_id_or_a_key,
    wait_for_change_sees_another_connections_commit,
    tx_task_update_is_compare_and_set,
    tx_a_refused_insert_leaves_the_transaction_usable,
    tx_a_failed_closure_rolls_back,
    tx_idempotency_keys_are_unique,
    tx_runs_round_trip,
    tx_meta_and_view_marks,
    tx_view_rows_are_the_open_tasks_and_the_newest_done,
    tx_a_task_number_is_one_task,
    tx_an_explicit_event_number_is_kept,
    tx_list_filters_max_num_and_expired_leases,
    migrate_copies_a_queue_with_its_history,
}

fn add_numbers_ids_in_queue_order(env: &Env) {
    let a = env.add("first");
    let b = env.add_with(NewTask { task: "second".into(), priority: Some(Priority::P0), ..NewTask::default() });
    assert_eq!((a.as_str(), b.as_str()), ("ORCH-001", "ORCH-002"));
    let all: Vec<String> = env.orch.list(&ListFilter::default()).unwrap().into_iter().map(|t| t.id).collect();
    assert_eq!(all, [a, b], "queue order is insertion order, not priority");
    let t = env.get("ORCH-002");
    assert_eq!((t.status, t.priority, t.version, t.created_at), (Status::Pending, Priority::P0, 1, env.now()));
}

fn an_idempotency_key_returns_the_existing_task(env: &Env) {
    let new = NewTask { task: "once".into(), idempotency_key: Some("k1".into()), ..NewTask::default() };
    let (t1, created1, _) = env.orch.add(&new).unwrap();
    let (t2, created2, _) = env.orch.add(&NewTask { task: "again".into(), ..new.clone() }).unwrap();
    assert!(created1 && !created2);
    assert_eq!((t2.id, t2.task), (t1.id, "once".to_string()));
    assert_eq!(env.orch.list(&ListFilter::default()).unwrap().len(), 1);
}

fn claims_go_by_priority_then_due_then_id(env: &Env) {
    let t = |h: i64| Some(env.now() + SignedDuration::from_hours(h));
    let add = |p: Priority, due: Option<Timestamp>| {
        env.add_with(NewTask { task: "x".into(), priority: Some(p), due_at: due, ..NewTask::default() })
    };
    let a = add(Priority::P2, t(1));
    let b = add(Priority::P1, None);
    let c = add(Priority::P1, t(5));
    let d = add(Priority::P0, None);
    let e = add(Priority::P1, t(2));
    let f = add(Priority::P1, None);
    let order: Vec<Option<Claimed>> = (0..7).map(|_| env.claim("w")).collect();
    assert_eq!(ids(&order), [d, e, c, b, f, a, "-".into()]);
}

fn claims_wait_for_dependencies(env: &Env) {
    let a = env.add("build");
    let b = env.add_with(NewTask { task: "ship".into(), depends_on: vec![a.clone()], ..NewTask::default() });
    let ca = env.claim("w").unwrap();
    assert_eq!(ca.task.id, a);
    assert!(env.claim("w").is_none(), "{b} waits for {a}");
    env.done(&ca, "- built\nRisks: none");
    assert_eq!(env.claim("w").unwrap().task.id, b);
    assert_eq!(env.get(&b).depends_on, [a]);
}

fn one_task_per_resource_runs_at_a_time(env: &Env) {
    let with = |r: &str| NewTask { task: "x".into(), resource: Some(r.into()), ..NewTask::default() };
    let a = env.add_with(with("gpu"));
    let b = env.add_with(with("gpu"));
    let c = env.add_with(with("disk"));
    let first = env.claim("w").unwrap();
    assert_eq!(first.task.id, a);
    assert_eq!(env.claim("w").unwrap().task.id, c, "gpu is busy, disk is not");
    assert!(env.claim("w").is_none());
    env.done(&first, "- ok\nRisks: none");
    assert_eq!(env.claim("w").unwrap().task.id, b);
}

fn a_task_whose_key_is_done_is_skipped(env: &Env) {
    let a = env.add_with(NewTask { task: "pay".into(), idempotency_key: Some("inv-7".into()), ..NewTask::default() });
    let c = env.claim("w").unwrap();
    env.done(&c, "- paid\nRisks: none");
    // As an import may leave it: a second task with the same key.
    let mut dup = Task::new("ORCH-002".into(), "pay again".into(), Priority::P1, 4, env.now());
    dup.idempotency_key = Some("inv-7".into());
    dup.version = 1;
    store::write(env.db(), |tx| tx.task_insert(&dup)).unwrap();
    assert!(env.claim("w").is_none(), "nothing to run");
    let t = env.get("ORCH-002");
    assert_eq!(t.status, Status::Done);
    assert!(t.notes.unwrap().contains(&format!("idempotent_skip:{a}")));
}

fn heartbeats_extend_the_lease_and_a_stale_token_is_refused(env: &Env) {
    let id = env.add("long job");
    let c = env.claim("w").unwrap();
    env.advance(600);
    let auth = Auth::Token(c.run.lease_token.clone());
    let (t, _) = env.orch.heartbeat(&id, auth.clone(), SignedDuration::from_mins(15)).unwrap();
    assert_eq!(t.lease.unwrap().expires_at, env.now() + SignedDuration::from_mins(15));
    let wrong = Auth::Token("0".repeat(32));
    assert!(env.orch.heartbeat(&id, wrong.clone(), SignedDuration::from_mins(15)).is_err());
    let report = "- late but here\nRisks: none";
    let err = env.orch.finish(&id, wrong, Finish::Done { notes: None }, Some(report));
    assert!(err.is_err(), "a stale token cannot finish");
    // The lease expires, someone else claims; the first worker's report is still kept.
    env.advance(16 * 60);
    env.orch.sweep().unwrap();
    env.advance(3600);
    let c2 = env.claim("w2").unwrap();
    assert_eq!(c2.task.id, id);
    assert!(env.orch.finish(&id, auth, Finish::Done { notes: None }, Some(report)).is_err());
    let run = env.orch.runs(&id).unwrap().into_iter().next().unwrap();
    assert_eq!(run.late_report.as_deref(), Some(report));
    assert_eq!(env.events().iter().filter(|e| e.event == "report.late").count(), 1);
}

fn done_ends_the_run_with_its_report(env: &Env) {
    let id = env.add("write docs");
    let c = env.claim("w").unwrap();
    assert_eq!((c.task.attempts, c.run.attempt, c.run.host.as_deref()), (1, 1, Some("host-a")));
    env.advance(90);
    let t = env.done(&c, "- wrote\nRisks: none");
    assert_eq!((t.status, t.lease.as_ref()), (Status::Done, None));
    let runs = env.orch.runs(&id).unwrap();
    assert_eq!(runs.len(), 1);
    let r = &runs[0];
    assert_eq!((r.outcome.as_deref(), r.report.as_deref()), (Some("done"), Some("- wrote\nRisks: none")));
    assert_eq!(r.ended_at, Some(env.now()));
    assert_eq!(r.started_at, env.now() - SignedDuration::from_secs(90));
}

fn transient_failures_back_off_then_run_again(env: &Env) {
    let id = env.add("flaky");
    let mut waits = Vec::new();
    for attempt in 1..=4u32 {
        let c = env.claim("w").unwrap_or_else(|| panic!("attempt {attempt} claimable"));
        let t = env.fail(&c, FailureClass::Transient);
        assert_eq!(t.status, Status::Failed);
        match t.retry_at {
            Some(at) => {
                let wait = at.duration_since(env.now()).as_secs();
                waits.push(wait);
                env.advance(wait - 1);
                assert!(env.claim("w").is_none(), "not before retry_at");
                env.advance(1);
            }
            None => assert_eq!(attempt, 4),
        }
    }
    assert_eq!(waits, [60, 180, 600]);
    let t = env.get(&id);
    assert_eq!((t.status, t.retry_at, t.attempts), (Status::Failed, None, 4));
    assert_eq!(env.orch.runs(&id).unwrap().len(), 4);
}

fn a_permanent_failure_waits_for_an_operator_retry(env: &Env) {
    let id = env.add("bad input");
    let c = env.claim("w").unwrap();
    let t = env.fail(&c, FailureClass::Permanent);
    assert_eq!((t.status, t.retry_at), (Status::Failed, None));
    env.advance(86_400);
    assert!(env.claim("w").is_none());
    env.orch.apply(&id, &Command::Retry).unwrap();
    assert_eq!(env.claim("w").unwrap().task.id, id);
}

fn the_sweep_expires_leases(env: &Env) {
    let id = env.add("stuck");
    env.claim("w").unwrap();
    env.advance(15 * 60 - 1);
    assert!(env.orch.sweep().unwrap().0.is_empty());
    env.advance(1);
    let (swept, _) = env.orch.sweep().unwrap();
    assert_eq!(swept.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), [id.as_str()]);
    let t = env.get(&id);
    assert_eq!((t.status, t.lease.as_ref()), (Status::Failed, None));
    assert!(t.notes.unwrap().contains("lease_expired"));
    assert_eq!(env.orch.runs(&id).unwrap()[0].reason.as_deref(), Some("lease_expired"));
}

fn cancel_replan_and_retry(env: &Env) {
    let id = env.add("draft");
    let replan = Replan {
        reason: "scope".into(),
        task: Some("draft v2".into()),
        priority: Some(Priority::P0),
        ..Replan::default()
    };
    let (t, _) = env.orch.apply(&id, &Command::Replan(replan)).unwrap();
    assert_eq!((t.task.as_str(), t.priority), ("draft v2", Priority::P0));
    let (t, _) = env.orch.apply(&id, &Command::Cancel { reason: None }).unwrap();
    assert_eq!(t.status, Status::Blocked);
    assert!(t.notes.as_deref().unwrap().ends_with("cancelled_by_operator"), "{:?}", t.notes);
    assert!(env.claim("w").is_none());
    let (t, _) = env.orch.apply(&id, &Command::Retry).unwrap();
    assert_eq!(t.status, Status::Pending);
    // A running task can be cancelled; its worker then finds its lease gone.
    let c = env.claim("w").unwrap();
    env.orch.apply(&id, &Command::Cancel { reason: Some("no longer needed".into()) }).unwrap();
    let auth = Auth::Token(c.run.lease_token.clone());
    assert!(env.orch.heartbeat(&id, auth, SignedDuration::from_mins(15)).is_err());
}

fn the_seed_imports_and_exports_byte_for_byte(env: &Env) {
    let queue = env.dir.path().join("QUEUE.md");
    std::fs::write(&queue, SEED).unwrap();
    let (summary, _) = orch::sync::import(&env.orch, Some(&queue), false).expect("import");
    assert_eq!(summary.added.len(), 26);
    let out = env.dir.path().join("OUT.md");
    orch::sync::export(&env.orch, Some(&out), false, false).expect("export");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), SEED);
    assert_eq!(std::fs::read_to_string(&queue).unwrap(), SEED);
    assert_eq!(env.orch.list(&ListFilter::default()).unwrap().len(), 26);
    // A change rewrites its row only.
    let (t, _) = env.orch.apply("ORCH-026", &Command::Note { text: "checked".into() }).unwrap();
    orch::sync::export(&env.orch, Some(&out), false, false).expect("export");
    let text = std::fs::read_to_string(&out).unwrap();
    let changed: Vec<_> = text.lines().zip(SEED.lines()).filter(|(a, b)| a != b).collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(changed[0].0.contains(&t.id) && changed[0].0.contains("checked"));
}

fn events_are_numbered_in_commit_order_and_paged(env: &Env) {
    let id = env.add("a");
    let c = env.claim("w").unwrap();
    env.done(&c, "- ok\nRisks: none");
    let all = env.events();
    let names: Vec<&str> = all.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names[0], "task.added");
    assert!(names.contains(&"task.claimed") && names.contains(&"task.done"), "{names:?}");
    let seqs: Vec<i64> = all.iter().map(|e| e.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert!(all.iter().all(|e| e.task_id.as_deref() == Some(id.as_str())));
    let claimed = all.iter().find(|e| e.event == "task.claimed").unwrap();
    assert_eq!(claimed.run_id.as_deref(), Some(c.run.id.as_str()));
    assert_eq!(claimed.trace_id.as_deref(), Some(c.run.trace_id.as_str()));
    let page = store::read(env.db(), |tx| tx.events_after(seqs[0], 1)).unwrap();
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [seqs[1]]);
    // Writers from many connections: a reader that follows the cursor sees every event
    // exactly once, whatever order the writers commit in.
    let writers: Vec<_> = (0..3).map(|_| env.handle()).collect();
    let mut seen: Vec<i64> = seqs.clone();
    std::thread::scope(|s| {
        for (i, w) in writers.iter().enumerate() {
            s.spawn(move || {
                for n in 0..10 {
                    w.add(&NewTask { task: format!("w{i}-{n}"), ..NewTask::default() }).unwrap();
                }
            });
        }
        let reader = env.backend();
        let mut last = *seqs.last().unwrap();
        for _ in 0..2000 {
            let page = store::read(reader.as_ref(), |tx| tx.events_after(last, 7)).unwrap();
            if let Some(e) = page.last() {
                last = e.seq;
            }
            seen.extend(page.iter().map(|e| e.seq));
            if seen.len() == all.len() + 30 {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    });
    let final_all: Vec<i64> = env.events().iter().map(|e| e.seq).collect();
    let more = store::read(env.db(), |tx| tx.events_after(*seen.last().unwrap(), 1000)).unwrap();
    seen.extend(more.iter().map(|e| e.seq));
    assert_eq!(seen, final_all, "the cursor reader missed or repeated events");
}

fn racing_claimers_never_share_a_task(env: &Env) {
    for i in 0..24 {
        env.add(&format!("t{i}"));
    }
    let handles: Vec<Orch> = (0..4).map(|_| env.handle()).collect();
    let got: Vec<Vec<String>> = std::thread::scope(|s| {
        let joins: Vec<_> = handles
            .iter()
            .enumerate()
            .map(|(i, h)| {
                s.spawn(move || {
                    let mut mine = Vec::new();
                    while let Some(c) = claim(h, &format!("w{i}")) {
                        mine.push(c.task.id);
                    }
                    mine
                })
            })
            .collect();
        joins.into_iter().map(|j| j.join().unwrap()).collect()
    });
    let all: Vec<&String> = got.iter().flatten().collect();
    let unique: HashSet<&String> = all.iter().copied().collect();
    assert_eq!((all.len(), unique.len()), (24, 24), "{got:?}");
}

fn racing_adds_never_share_an_id_or_a_key(env: &Env) {
    let handles: Vec<Orch> = (0..3).map(|_| env.handle()).collect();
    let results: Vec<Vec<(String, bool)>> = std::thread::scope(|s| {
        let joins: Vec<_> = handles
            .iter()
            .map(|h| {
                s.spawn(move || {
                    (0..8)
                        .map(|n| {
                            let key = (n % 2 == 0).then(|| format!("k{n}"));
                            let new = NewTask { task: format!("n{n}"), idempotency_key: key, ..NewTask::default() };
                            let (t, created, _) = h.add(&new).expect("add");
                            (t.id, created)
                        })
                        .collect()
                })
            })
            .collect();
        joins.into_iter().map(|j| j.join().unwrap()).collect()
    });
    let tasks = env.orch.list(&ListFilter::default()).unwrap();
    // Four keyed tasks once each, four unkeyed tasks from each of three adders.
    assert_eq!(tasks.len(), 4 + 3 * 4);
    let ids: HashSet<&str> = tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids.len(), tasks.len());
    let created = results.iter().flatten().filter(|(_, c)| *c).count();
    assert_eq!(created, tasks.len());
}

fn wait_for_change_sees_another_connections_commit(env: &Env) {
    let waiter = env.backend();
    // The first call may return at once (a new listener cannot know what it missed).
    waiter.wait_for_change(Duration::ZERO).unwrap();
    assert!(!waiter.wait_for_change(Duration::from_millis(20)).unwrap(), "nothing changed yet");
    let writer = env.handle();
    let seen = std::thread::scope(|s| {
        let w = s.spawn(|| waiter.wait_for_change(Duration::from_secs(30)).unwrap());
        std::thread::sleep(Duration::from_millis(50));
        writer.add(&NewTask { task: "wake up".into(), ..NewTask::default() }).unwrap();
        w.join().unwrap()
    });
    assert!(seen, "the waiter saw the commit before its timeout");
}

fn tx_task_update_is_compare_and_set(env: &Env) {
    let id = env.add("x");
    let t = env.get(&id);
    let mut a = t.clone();
    a.task = "from a".into();
    let saved = store::write(env.db(), |tx| tx.task_update(&a)).unwrap();
    assert_eq!(saved.version, t.version + 1);
    let mut stale = t.clone();
    stale.task = "from a stale copy".into();
    let err = store::write(env.db(), |tx| tx.task_update(&stale)).unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(env.get(&id).task, "from a");
}

fn tx_a_refused_insert_leaves_the_transaction_usable(env: &Env) {
    let mut t = Task::new("ORCH-001".into(), "a".into(), Priority::P1, 4, env.now());
    t.version = 1;
    let mut refused = None;
    store::write(env.db(), |tx| {
        tx.task_insert(&t)?;
        refused = Some(tx.task_insert(&t));
        let mut b = t.clone();
        b.id = "ORCH-002".into();
        tx.task_insert(&b)
    })
    .unwrap();
    assert!(matches!(refused, Some(Err(StoreError::Conflict(_)))), "{refused:?}");
    assert_eq!(env.orch.list(&ListFilter::default()).unwrap().len(), 2);
}

fn tx_a_failed_closure_rolls_back(env: &Env) {
    let mut t = Task::new("ORCH-001".into(), "a".into(), Priority::P1, 4, env.now());
    t.version = 1;
    let err = store::write(env.db(), |tx| {
        tx.task_insert(&t)?;
        tx.meta_set("k", "v")?;
        Err::<(), _>(StoreError::Db("changed my mind".into()))
    })
    .unwrap_err();
    assert!(matches!(err, StoreError::Db(_)));
    assert!(env.orch.list(&ListFilter::default()).unwrap().is_empty());
    assert_eq!(store::read(env.db(), |tx| tx.meta_get("k")).unwrap(), None);
}

fn tx_idempotency_keys_are_unique(env: &Env) {
    let (first, second, owner) = store::write(env.db(), |tx| {
        Ok((tx.idempotency_claim("k", "ORCH-001")?, tx.idempotency_claim("k", "ORCH-002")?, tx.idempotency_owner("k")?))
    })
    .unwrap();
    assert!(first && !second);
    assert_eq!(owner.as_deref(), Some("ORCH-001"));
    assert_eq!(store::read(env.db(), |tx| tx.idempotency_owner("nope")).unwrap(), None);
}

fn sample_run(id: &str, task: &str, at: Timestamp) -> Run {
    Run {
        id: id.into(),
        task_id: task.into(),
        attempt: 1,
        owner: "w".into(),
        trace_id: format!("{id:0>32}"),
        lease_token: format!("tok-{id}"),
        host: Some("h1".into()),
        pid: Some(7),
        pgid: Some(7),
        started_at: at,
        ..Run::default()
    }
}

fn tx_runs_round_trip(env: &Env) {
    let t0 = env.now();
    let a = sample_run("r1", "ORCH-001", t0);
    let b = sample_run("r2", "ORCH-001", t0 + SignedDuration::from_secs(5));
    let c = sample_run("r3", "ORCH-002", t0);
    let usage = Usage { input_tokens: 1200, output_tokens: 340, cost_usd: 0.25 };
    store::write(env.db(), |tx| {
        for r in [&b, &a, &c] {
            tx.run_insert(r)?;
        }
        let p = ProcessInfo {
            host: "h1".into(),
            pid: 99,
            pgid: 98,
            proc_start: Some(12345),
            spawned_by: "dispatcher".into(),
        };
        tx.run_set_process("r2", &p)?;
        tx.run_add_usage("r2", &usage)?;
        tx.run_add_usage("r2", &usage)?;
        tx.run_set_verdict("r2", "PASS", "fine")?;
        let end = RunEnd { outcome: "done", class: None, reason: None, report: Some("- ok"), at: t0 };
        tx.run_end("r1", &end)?;
        let again =
            RunEnd { outcome: "failed", class: Some(FailureClass::Transient), reason: Some("x"), report: None, at: t0 };
        tx.run_end("r1", &again)?; // an ended run stays as it ended
        tx.run_late_report("r1", "- late")
    })
    .unwrap();
    let (runs, by_token, live, cost, none) = store::read(env.db(), |tx| {
        Ok((
            tx.runs_of("ORCH-001")?,
            tx.run_by_token("tok-r2")?,
            tx.runs_live_on("h1")?,
            tx.cost_since(t0)?,
            tx.run_get("nope")?,
        ))
    })
    .unwrap();
    assert_eq!(runs.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["r1", "r2"], "oldest first");
    let r1 = &runs[0];
    assert_eq!(
        (r1.outcome.as_deref(), r1.report.as_deref(), r1.late_report.as_deref()),
        (Some("done"), Some("- ok"), Some("- late"))
    );
    assert_eq!(r1.ended_at, Some(t0));
    let r2 = by_token.unwrap();
    assert_eq!(
        (r2.pid, r2.pgid, r2.proc_start, r2.spawned_by.as_deref()),
        (Some(99), Some(98), Some(12345), Some("dispatcher"))
    );
    assert_eq!((r2.usage.input_tokens, r2.usage.output_tokens), (2400, 680));
    assert!((r2.usage.cost_usd - 0.5).abs() < 1e-9);
    assert_eq!((r2.verdict.as_deref(), r2.verdict_reason.as_deref()), (Some("PASS"), Some("fine")));
    assert_eq!(live.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["r2"], "spawned and unfinished");
    assert!((cost - 0.5).abs() < 1e-9);
    assert!(none.is_none());
}

fn tx_meta_and_view_marks(env: &Env) {
    let id = env.add("x");
    let mark = ViewMark { version: 1, line: "| ORCH-001 | PENDING |".into(), eol: "\r\n".into() };
    let other = ViewMark { version: 1, line: "|ORCH-001|PENDING|".into(), eol: "\n".into() };
    store::write(env.db(), |tx| {
        tx.meta_set("b", "2")?;
        tx.meta_set("a", "1")?;
        tx.meta_set("b", "3")?;
        tx.view_mark_set("host-a:/p/QUEUE.md", &id, &mark)?;
        tx.view_mark_set("host-b:/p/QUEUE.md", &id, &other)?;
        tx.view_set_hash("host-a:/p/QUEUE.md", "h1")?;
        tx.view_set_frame("host-a:/p/QUEUE.md", "{}")?;
        tx.view_set_hash("host-a:/p/QUEUE.md", "h2")
    })
    .unwrap();
    let (a, all, marks, b_marks, none) = store::read(env.db(), |tx| {
        Ok((
            tx.meta_get("a")?,
            tx.meta_all()?,
            tx.view_marks("host-a:/p/QUEUE.md")?,
            tx.view_marks("host-b:/p/QUEUE.md")?,
            tx.view_marks("nobody")?,
        ))
    })
    .unwrap();
    assert_eq!(a.as_deref(), Some("1"));
    let ours: Vec<_> = all.into_iter().filter(|(k, _)| k.len() == 1).collect();
    assert_eq!(ours, [("a".to_string(), "1".to_string()), ("b".to_string(), "3".to_string())]);
    assert_eq!((marks.get(&id), marks.len()), (Some(&mark), 1), "each view has its own marks");
    assert_eq!((b_marks.get(&id), b_marks.len()), (Some(&other), 1));
    assert!(none.is_empty());
    // Hash and frame per view; a view with marks only is listed too.
    let (a_info, b_info, views) = store::read(env.db(), |tx| {
        Ok((tx.view_get("host-a:/p/QUEUE.md")?, tx.view_get("host-b:/p/QUEUE.md")?, tx.views()?))
    })
    .unwrap();
    let a_info = a_info.expect("view a");
    assert_eq!((a_info.hash.as_deref(), a_info.frame.as_deref()), (Some("h2"), Some("{}")));
    assert_eq!(b_info, None);
    // (The queue's own QUEUE.md, written by `add`, is a view too.)
    let names: Vec<&str> = views.iter().map(|(n, _)| n.as_str()).filter(|n| n.starts_with("host-")).collect();
    assert_eq!(names, ["host-a:/p/QUEUE.md", "host-b:/p/QUEUE.md"]);
    // A view renamed takes its marks, hash and frame along.
    store::write(env.db(), |tx| tx.view_rename("host-a:/p/QUEUE.md", "host-c:/q/QUEUE.md")).unwrap();
    let (gone, moved, moved_marks) = store::read(env.db(), |tx| {
        Ok((
            tx.view_get("host-a:/p/QUEUE.md")?,
            tx.view_get("host-c:/q/QUEUE.md")?,
            tx.view_marks("host-c:/q/QUEUE.md")?,
        ))
    })
    .unwrap();
    assert_eq!((gone, moved.and_then(|v| v.hash)), (None, Some("h2".to_string())));
    assert_eq!(moved_marks.get(&id), Some(&mark));
}

/// The view's rows: every task that is not DONE, plus the `done_kept` DONE ones changed
/// last (ties: the later in queue order), in queue order, each with its mark in that view
/// only — the same rows the core's `view_selection` picks from every task.
fn tx_view_rows_are_the_open_tasks_and_the_newest_done(env: &Env) {
    use Status::*;
    let t0 = env.now();
    // (status, finished seconds after t0): DONE ones out of order, two at one instant.
    let plan = [(Done, 10), (Pending, 0), (Done, 30), (Done, 20), (Blocked, 0), (Done, 40), (Done, 40), (Failed, 0)];
    let tasks: Vec<Task> = plan
        .iter()
        .enumerate()
        .map(|(i, (status, at))| {
            let mut t = Task::new(format!("ORCH-{:03}", i + 1), format!("t{i}"), Priority::P1, 4, t0);
            t.status = *status;
            t.updated_at = t0 + SignedDuration::from_secs(*at);
            t.version = 1;
            t
        })
        .collect();
    let mark = ViewMark { version: 1, line: "| x |".into(), eol: "\n".into() };
    store::write(env.db(), |tx| {
        for t in &tasks {
            tx.task_insert(t)?;
        }
        tx.view_mark_set("v", "ORCH-002", &mark)?;
        tx.view_mark_set("v", "ORCH-006", &mark)?;
        tx.view_mark_set("w", "ORCH-003", &mark)
    })
    .unwrap();
    let all = env.orch.list(&ListFilter::default()).unwrap();
    for kept in 0..=6 {
        let got: Vec<(String, bool)> = store::read(env.db(), |tx| tx.view_rows("v", kept))
            .unwrap()
            .into_iter()
            .map(|(t, m)| {
                assert!(m.is_none() || m.as_ref() == Some(&mark));
                (t.id, m.is_some())
            })
            .collect();
        let keep = orch_core::task_row::view_selection(&all, kept, false);
        let want: Vec<(String, bool)> = all
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(t, _)| (t.id.clone(), t.id == "ORCH-002" || t.id == "ORCH-006"))
            .collect();
        assert_eq!(got, want, "done_kept {kept}");
    }
    let two: Vec<String> =
        store::read(env.db(), |tx| tx.view_rows("v", 2)).unwrap().into_iter().map(|(t, _)| t.id).collect();
    assert_eq!(two, ["ORCH-002", "ORCH-005", "ORCH-006", "ORCH-007", "ORCH-008"], "the two finished last");
}

fn tx_an_explicit_event_number_is_kept(env: &Env) {
    let mut e = Event::new(env.now(), "task.added");
    e.seq = 40;
    let (kept, next) = store::write(env.db(), |tx| {
        let kept = tx.event_insert(&e)?;
        let next = tx.event_insert(&Event::new(env.now(), "task.noted"))?;
        Ok((kept, next))
    })
    .unwrap();
    assert_eq!((kept, next), (40, 41));
    let got = store::read(env.db(), |tx| tx.events_after(0, 10)).unwrap();
    assert_eq!(got.iter().map(|e| e.seq).collect::<Vec<_>>(), [40, 41]);
    assert_eq!(got[0], e);
}

fn tx_list_filters_max_num_and_expired_leases(env: &Env) {
    let a = env.add("a");
    env.add_with(NewTask { task: "b".into(), priority: Some(Priority::P0), ..NewTask::default() });
    env.claim("w").unwrap();
    let pick = |statuses: Vec<Status>, priorities: Vec<Priority>| -> Vec<String> {
        let f = ListFilter { statuses, priorities };
        env.orch.list(&f).unwrap().into_iter().map(|t| t.id).collect()
    };
    assert_eq!(pick(vec![Status::Pending], vec![]), std::slice::from_ref(&a));
    assert_eq!(pick(vec![], vec![Priority::P0]), ["ORCH-002"]);
    assert_eq!(pick(vec![Status::Pending, Status::InProgress], vec![Priority::P1]), [a]);
    let (max, other, expired_now, expired_later, next) = store::read(env.db(), |tx| {
        Ok((
            tx.task_max_num("ORCH")?,
            tx.task_max_num("OTHER")?,
            tx.expired_leases(env.now())?.len(),
            tx.expired_leases(env.now() + SignedDuration::from_mins(15))?.len(),
            tx.claim_candidates(env.now(), 5)?.len(),
        ))
    })
    .unwrap();
    assert_eq!((max, other, expired_now, expired_later, next), (2, 0, 0, 1, 1));
}

fn migrate_copies_a_queue_with_its_history(env: &Env) {
    // A source queue with some life in it: the seed, claims, a failure, keys, notes.
    let src = Env::new(Kind::Sqlite, "").unwrap();
    let queue = src.dir.path().join("QUEUE.md");
    std::fs::write(&queue, SEED).unwrap();
    orch::sync::import(&src.orch, Some(&queue), false).unwrap();
    let p0 = |t: &str, key: Option<&str>| NewTask {
        task: t.into(),
        priority: Some(Priority::P0),
        idempotency_key: key.map(Into::into),
        ..NewTask::default()
    };
    src.add_with(p0("keyed", Some("k")));
    src.add_with(p0("second", None));
    src.add_with(p0("third", None));
    let c = src.claim("w").unwrap();
    src.orch.add_usage(&c.run.id, &Usage { input_tokens: 5, output_tokens: 6, cost_usd: 0.5 }).unwrap();
    src.done(&c, "- ok\nRisks: none");
    let c = src.claim("w").unwrap();
    src.fail(&c, FailureClass::Transient);
    src.claim("w").unwrap();
    src.orch.apply("ORCH-020", &Command::Note { text: "moved".into() }).unwrap();
    let summary = store::migrate::migrate(src.db(), env.db()).expect("migrate");
    assert_eq!(summary.tasks, 29);
    let dump = |db: &dyn Backend| {
        store::read(db, |tx| {
            let tasks = tx.task_list(&ListFilter::default())?;
            let mut runs = Vec::new();
            for t in &tasks {
                runs.extend(tx.runs_of(&t.id)?);
            }
            let mut views = Vec::new();
            for (name, info) in tx.views()? {
                let mut marks: Vec<_> = tx.view_marks(&name)?.into_iter().collect();
                marks.sort_by(|a, b| a.0.cmp(&b.0));
                views.push((name, info, marks));
            }
            Ok((tasks, runs, views, tx.meta_all()?, tx.idempotency_owner("k")?))
        })
        .unwrap()
    };
    let events = |db: &dyn Backend| store::read(db, |tx| tx.events_after(0, 100_000)).unwrap();
    assert_eq!(dump(env.db()), dump(src.db()));
    assert_eq!(events(env.db()), events(src.db()));
    // The copy is a working queue: its view is the source's, and new work continues.
    let out = |e: &Env| {
        let p = e.dir.path().join("OUT.md");
        orch::sync::export(&e.orch, Some(&p), true, false).unwrap();
        std::fs::read_to_string(p).unwrap()
    };
    assert_eq!(out(env), out(&src));
    let n = env.add("after the move");
    assert_eq!(n, "ORCH-030");
    let last = events(env.db()).last().unwrap().seq;
    assert_eq!(last, events(src.db()).last().unwrap().seq + 1);
    // Never into a queue that holds anything.
    let err = store::migrate::migrate(src.db(), env.db()).unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
}

/// `ORCH-7` and `ORCH-007` are one task: the store refuses the second, and finds either
/// by its prefix and number.
fn tx_a_task_number_is_one_task(env: &Env) {
    let mut t = Task::new("ORCH-7".into(), "unpadded".into(), Priority::P1, 4, env.now());
    t.version = 1;
    store::write(env.db(), |tx| tx.task_insert(&t)).unwrap();
    let mut twin = t.clone();
    twin.id = "ORCH-007".into();
    let err = store::write(env.db(), |tx| tx.task_insert(&twin)).unwrap_err();
    assert!(matches!(&err, StoreError::Conflict(m) if m.contains("ORCH-7")), "{err:?}");
    let (seven, other) =
        store::read(env.db(), |tx| Ok((tx.task_by_number("ORCH", 7)?, tx.task_by_number("ORCH", 8)?))).unwrap();
    assert_eq!((seven.as_deref(), other), (Some("ORCH-7"), None));
    // The next id goes past it, zero-padded.
    assert_eq!(env.add("next"), "ORCH-008");
}
