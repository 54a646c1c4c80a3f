//! The store conformance suite: the same test functions run against every backend
//! (`conformance::sqlite::*` and `conformance::postgres::*`), and again with each behind
//! the masking wrapper with the built-in patterns (`sqlite_masked`, `postgres_masked`:
//! `[events] mask` on, as by default), through the operations
//! (`Orch` in-process, a manual clock) and through the `Tx` primitives directly. Each
//! test gets a fresh store: a temporary SQLite file, or a new PostgreSQL database
//! (`CREATE DATABASE orch_test_…`, dropped afterwards) on the server named by
//! `ORCH_TEST_PG`. Without that variable the PostgreSQL half skips loudly (and fails
//! under `CI=true`). This file holds the suite's frame and the task lifecycle; races,
//! change notification, the `Tx` primitives and `migrate` are in `conformance_tx.rs`; what
//! a store says it can do and what a write closure may count on in `conformance_contract.rs`;
//! leases and retries, idempotency keys at claim time, the pick order over random
//! queues, masking and the one-step claim and settle in `conformance/`.

use crate::common::SEED;
use crate::postgres::TestDb;
use jiff::{SignedDuration, Timestamp};
use orch::clock::ManualClock;
use orch::config::Config;
use orch::home::Home;
use orch::ops::{ClaimRequest, Claimed, Finish, NewTask, Options, Orch};
use orch_core::event::Event;
use orch_core::outcome::Usage;
use orch_core::policy::FailureClass;
use orch_core::state::{Auth, Command, Replan};
use orch_core::task::{Priority, Status, Task};
use orch_store::{Backend, ListFilter};
use std::sync::Arc;

mod claims;
mod event_log;
mod keys;
mod leases;
mod listing;
mod masking;
mod pick_order;
mod settle;
mod turns;

use claims::*;
use event_log::*;
use keys::*;
use leases::*;
use listing::*;
use masking::*;
use pick_order::*;
use settle::*;
use turns::*;

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
    pub kind: Kind,
    pub(crate) url: String,
    /// What every handle and connection of this store masks: nothing, or the built-in
    /// patterns.
    mask: Vec<String>,
    // Dropped last: the database outlives the connections above.
    _pg: Option<TestDb>,
}

impl Env {
    /// `None` when the backend is not available here (PostgreSQL without a server). The
    /// store is used as it is: `[events] mask` off.
    pub fn new(kind: Kind, test: &str) -> Option<Env> {
        Env::with_mask(kind, test, Vec::new())
    }

    /// [`Env::new`] with every handle and connection behind the masking wrapper with the
    /// built-in patterns.
    pub fn masked(kind: Kind, test: &str) -> Option<Env> {
        Env::with_mask(kind, test, Config::default().events.mask)
    }

    fn with_mask(kind: Kind, test: &str, mask: Vec<String>) -> Option<Env> {
        let dir = tempfile::tempdir().expect("temp dir");
        let (url, pg) = match kind {
            Kind::Sqlite => (dir.path().join("orch.db").display().to_string(), None),
            Kind::Postgres => {
                let db = TestDb::create(test)?;
                (db.url.clone(), Some(db))
            }
        };
        let clock = Arc::new(ManualClock::new(T0.parse().unwrap()));
        let orch = open_orch(dir.path(), &url, clock.clone(), &mask);
        Some(Env { dir, clock, orch, kind, url, mask, _pg: pg })
    }

    /// Another connection to the same store, as another process has (behind the mask
    /// when this store's handles are).
    pub fn backend(&self) -> Box<dyn Backend> {
        let mask = orch_store::mask::Mask::new(&self.mask).expect("mask");
        orch_store::mask::wrap(orch_store::open(&self.url).expect("open store"), Arc::new(mask))
    }

    /// Another queue handle on the same store and clock.
    pub fn handle(&self) -> Orch {
        open_orch(self.dir.path(), &self.url, self.clock.clone(), &self.mask)
    }

    /// Another queue handle on the same store and clock, with its own configuration
    /// (but this store's mask).
    pub fn handle_with(&self, mut config: Config) -> Orch {
        config.events.mask = self.mask.clone();
        let home = Home { dir: self.dir.path().join(".orch") };
        let db = orch_store::open(&self.url).expect("open store");
        Orch::with_parts(home, config, db, &Options::default(), self.clock.clone())
    }

    /// Whether this store's handles mask history (`*_masked`).
    pub(crate) fn masks(&self) -> bool {
        !self.mask.is_empty()
    }

    pub(crate) fn db(&self) -> &dyn Backend {
        self.orch.db()
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.orch.now()
    }

    pub(crate) fn advance(&self, secs: i64) {
        self.clock.advance(SignedDuration::from_secs(secs));
    }

    pub(crate) fn add(&self, title: &str) -> String {
        self.add_with(NewTask { task: title.into(), ..NewTask::default() })
    }

    pub(crate) fn add_with(&self, new: NewTask) -> String {
        let (t, created, _) = self.orch.add(&new).expect("add");
        assert!(created);
        t.id
    }

    pub(crate) fn claim(&self, owner: &str) -> Option<Claimed> {
        claim(&self.orch, owner)
    }

    pub(crate) fn get(&self, id: &str) -> Task {
        self.orch.get(id).expect("task")
    }

    pub(crate) fn done(&self, c: &Claimed, report: &str) -> Task {
        let auth = Auth::Token(c.run.lease_token.clone());
        self.orch.finish(&c.task.id, auth, Finish::Done { notes: None }, Some(report)).expect("done").0
    }

    pub(crate) fn fail(&self, c: &Claimed, class: FailureClass) -> Task {
        let auth = Auth::Token(c.run.lease_token.clone());
        self.orch.finish(&c.task.id, auth, Finish::Fail { reason: "boom".into(), class }, None).expect("fail").0
    }

    pub(crate) fn events(&self) -> Vec<Event> {
        orch_store::read(self.db(), |tx| tx.events_after(0, 100_000)).expect("events")
    }

    /// How many `name` events task `id` has.
    pub(crate) fn events_of(&self, id: &str, name: &str) -> usize {
        self.events().iter().filter(|e| e.task_id.as_deref() == Some(id) && e.event == name).count()
    }

    /// Inserts a task as an import or another tool might have left it, through the
    /// store's own primitives; `own_key` also gives it its idempotency key.
    pub(crate) fn insert(&self, t: &Task, own_key: bool) {
        orch_store::write(self.db(), |tx| {
            tx.task_insert(t)?;
            if let (true, Some(k)) = (own_key, &t.idempotency_key) {
                assert!(tx.idempotency_claim(k, &t.id)?);
            }
            Ok(())
        })
        .expect("insert");
    }
}

fn open_orch(root: &std::path::Path, url: &str, clock: Arc<ManualClock>, mask: &[String]) -> Orch {
    let home = Home { dir: root.join(".orch") };
    std::fs::create_dir_all(&home.dir).unwrap();
    let db = orch_store::create(url).expect("open store");
    let mut config = Config::default();
    config.events.mask = mask.to_vec();
    Orch::with_parts(home, config, db, &Options::default(), clock)
}

pub(crate) fn claim(orch: &Orch, owner: &str) -> Option<Claimed> {
    let req = ClaimRequest {
        owner: owner.into(),
        lease: SignedDuration::from_mins(15),
        host: Some("host-a".into()),
        pid: Some(42),
        pgid: Some(42),
        spawned_by: None,
        dispatcher: None,
    };
    orch.claim(&req).expect("claim").0
}

fn ids(claims: &[Option<Claimed>]) -> Vec<String> {
    claims.iter().map(|c| c.as_ref().map_or("-".into(), |c| c.task.id.clone())).collect()
}

/// Generates `sqlite::NAME`, `postgres::NAME`, `sqlite_masked::NAME` and
/// `postgres_masked::NAME` tests for each function `NAME(&Env)` (in this module and,
/// through `#[macro_use]`, in `conformance_tx`, `conformance_view`, `conformance_schedule`, `conformance_dispatchers`
/// and `observe`).
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        conformance!(@store sqlite, Sqlite, new; $($name),*);
        conformance!(@store postgres, Postgres, new; $($name),*);
        conformance!(@store sqlite_masked, Sqlite, masked; $($name),*);
        conformance!(@store postgres_masked, Postgres, masked; $($name),*);
    };
    (@store $module:ident, $kind:ident, $open:ident; $($name:ident),*) => {
        mod $module {
            $(
                #[test]
                fn $name() {
                    // `None` only for PostgreSQL without a server (which skips loudly).
                    if let Some(env) = super::Env::$open(super::Kind::$kind, stringify!($name)) {
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
    done_goes_through_the_gate,
    a_task_that_spent_its_cost_budget_is_blocked_instead_of_claimed,
    tx_events_are_appended_together_in_order,
    prune_never_lets_an_event_number_be_used_again,
    tx_claim_next_takes_the_common_case_in_one_step,
    claims_take_the_general_path_when_one_step_cannot_decide,
    claim_many_takes_one_task_per_request_in_pick_order,
    a_turn_settles_before_it_claims_and_records_processes,
    a_turn_leaves_a_run_its_worker_finished_and_keeps_a_lost_runs_report,
    tx_task_settle_writes_all_of_a_change_or_nothing,
    done_and_settle_write_what_the_general_way_writes,
    tx_task_and_holder_reads_the_task_and_the_run_its_token_holds,
    tx_task_counts_count_what_task_list_lists,
    tasks_each_lists_in_pick_order_with_a_limit_and_an_offset,
    task_counts_equal_a_full_count_after_random_changes,
    tx_one_task_per_id_number_whatever_its_padding,
    history_text_is_masked_by_every_writer_when_the_mask_is_on,
    claims_hand_out_tasks_in_pick_order_over_random_queues,
    claims_keep_pick_order_past_many_retries_not_yet_due,
    a_claim_starts_a_run_under_a_lease,
    lease_expiry_backs_off_one_three_ten_minutes_then_retries_are_exhausted,
    heartbeats_extend_the_lease_so_the_watchdog_spares_live_work,
    a_claim_sweeps_expired_leases_before_it_picks,
    an_expired_lease_still_holds_until_the_watchdog_takes_it,
    a_stale_token_is_refused_as_lease_lost_and_its_report_is_kept,
    a_task_whose_key_an_unfinished_task_holds_waits_for_it,
    waiting_duplicates_never_hide_an_eligible_task_behind_them,
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

fn tx_task_counts_count_what_task_list_lists(env: &Env) {
    assert!(orch_store::read(env.db(), |tx| tx.task_counts()).unwrap().is_empty(), "an empty queue counts nothing");
    for (i, p) in [Priority::P0, Priority::P1, Priority::P1, Priority::P2, Priority::P1].into_iter().enumerate() {
        env.add_with(NewTask { task: format!("t{i}"), priority: Some(p), ..NewTask::default() });
    }
    let c = claim(&env.orch, "w").expect("a claim");
    env.done(&c, "- did it\nRisks: none");
    claim(&env.orch, "w").expect("a second claim");
    let (mut counts, tasks) =
        orch_store::read(env.db(), |tx| Ok((tx.task_counts()?, tx.task_list(&ListFilter::default())?))).unwrap();
    counts.sort_by_key(|(s, p, _)| (p.rank(), s.as_str()));
    let mut want: Vec<(Status, Priority, u64)> = Vec::new();
    for t in &tasks {
        match want.iter_mut().find(|(s, p, _)| *s == t.status && *p == t.priority) {
            Some(w) => w.2 += 1,
            None => want.push((t.status, t.priority, 1)),
        }
    }
    want.sort_by_key(|(s, p, _)| (p.rank(), s.as_str()));
    assert_eq!(counts, want);
    assert_eq!(counts.iter().map(|c| c.2).sum::<u64>(), 5);
    assert!(
        counts.contains(&(Status::Done, Priority::P0, 1)) && counts.contains(&(Status::InProgress, Priority::P1, 1))
    );
}

fn tx_one_task_per_id_number_whatever_its_padding(env: &Env) {
    let first = env.get(&env.add("seven"));
    let same_number = Task { id: first.id.replace("-00", "-"), ..first.clone() };
    assert_ne!(same_number.id, first.id);
    let err = orch_store::write(env.db(), |tx| tx.task_insert(&same_number)).unwrap_err();
    assert!(matches!(err, orch_store::StoreError::Conflict(_)), "{err:?}");
    assert_eq!(env.orch.list(&ListFilter::default()).unwrap().len(), 1);
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
    let (summary, _) = env.orch.import(Some(&queue), false).expect("import");
    assert_eq!(summary.added.len(), 26);
    let out = env.dir.path().join("OUT.md");
    env.orch.export(Some(&out), false, false).expect("export");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), SEED);
    assert_eq!(std::fs::read_to_string(&queue).unwrap(), SEED);
    assert_eq!(env.orch.list(&ListFilter::default()).unwrap().len(), 26);
    // A change rewrites its row only.
    let (t, _) = env.orch.apply("ORCH-026", &Command::Note { text: "checked".into() }).unwrap();
    env.orch.export(Some(&out), false, false).expect("export");
    let text = std::fs::read_to_string(&out).unwrap();
    let changed: Vec<_> = text.lines().zip(SEED.lines()).filter(|(a, b)| a != b).collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(changed[0].0.contains(&t.id) && changed[0].0.contains("checked"));
}

fn done_goes_through_the_gate(env: &Env) {
    for t in ["no report", "a good one", "forced"] {
        env.add(t);
    }
    let bad = env.claim("w").unwrap();
    let auth = Auth::Token(bad.run.lease_token.clone());
    let r = env.orch.done(&bad.task.id, auth, None, None).unwrap();
    assert_eq!(r.task.status, Status::Failed, "the empty report breaks the rules");
    assert!(r.reason.as_deref().unwrap().starts_with("report_invalid"), "{r:?}");
    let run = &env.orch.runs(&bad.task.id).unwrap()[0];
    assert_eq!((run.verdict.as_deref(), run.outcome.as_deref()), (Some("RETRY"), Some("failed")));
    let good = env.claim("w").unwrap();
    let t = env.done(&good, "- ok\nRisks: none");
    assert_eq!(t.status, Status::Done);
    let forced = env.claim("w").unwrap();
    let r = env.orch.done(&forced.task.id, Auth::Force, None, None).unwrap();
    assert_eq!((r.task.status, r.decision.is_none()), (Status::Done, true), "--force skips the gate");
}

fn a_task_that_spent_its_cost_budget_is_blocked_instead_of_claimed(env: &Env) {
    let mut config = Config::default();
    config.budget.task_cost_usd = 1.0;
    let orch = env.handle_with(config);
    let id = env.add("expensive");
    let c = claim(&orch, "w").unwrap();
    orch.add_usage(&c.run.id, &Usage { input_tokens: 1, output_tokens: 1, cost_usd: 1.5 }).unwrap();
    // Back to PENDING, as a shutdown does: the attempt not counted, the cost spent.
    let back =
        Command::Interrupt { auth: Auth::Token(c.run.lease_token.clone()), reason: "dispatcher_shutdown".into() };
    orch.apply(&id, &back).unwrap();
    assert!(claim(&orch, "w").is_none(), "a task over its budget is not claimed");
    let t = env.get(&id);
    assert_eq!(t.status, Status::Blocked);
    assert!(t.notes.as_deref().unwrap().contains("cost_limit: $1.50 spent (limit $1.00)"), "{:?}", t.notes);
    let names: Vec<String> = env.events().into_iter().map(|e| e.event).collect();
    assert!(names.iter().any(|n| n == "budget.exceeded"), "{names:?}");
}
