//! The store conformance suite, continued (`conformance_contract::sqlite::*` and the
//! other stores): the contract of `Backend` itself — what a store says it can do, and
//! what a write closure may count on. The frame (`Env`, the `conformance!` macro) is in
//! `conformance.rs`.

use crate::conformance::{Env, Kind};
use orch_core::task::{Priority, Task};
use orch_store::{Capabilities, ListFilter, LockScope, StoreError, Tx};

conformance! {
    capabilities_say_what_the_store_can_do,
    a_write_that_loses_a_race_runs_again_in_a_fresh_transaction_or_not_at_all,
    a_write_whose_connection_breaks_runs_again_on_a_new_one,
    an_aborted_write_rolls_back_once_and_hands_back_its_reason,
    a_write_in_a_read_transaction_stores_no_secret,
}

fn capabilities_say_what_the_store_can_do(env: &Env) {
    let want = match env.kind {
        Kind::Sqlite => Capabilities {
            shared_across_hosts: false,
            lock_scope: LockScope::DatabaseFile(env.dir.path().join("orch.db")),
            notify: false,
        },
        Kind::Postgres => Capabilities { shared_across_hosts: true, lock_scope: LockScope::Home, notify: true },
    };
    // The queue's own handle (behind the mask in the masked runs) and a second one.
    assert_eq!(env.db().capabilities(), want);
    assert_eq!(env.backend().capabilities(), want);
}

/// What one run of a write closure saw when it began: whether the task and the meta
/// entry an earlier run wrote were there.
type Seen = (bool, Option<String>);

/// One run of the closures below: notes what it sees, then writes task `ORCH-00n` and
/// the meta entry `attempt = n` (the run's number).
fn write_run(tx: &mut dyn Tx, n: usize, seen: &mut Vec<Seen>, now: jiff::Timestamp) -> orch_store::Result<()> {
    seen.push((tx.task_get("ORCH-001")?.is_some(), tx.meta_get("attempt")?));
    let mut t = Task::new(format!("ORCH-00{n}"), format!("run {n}"), Priority::P1, 3, now);
    t.version = 1;
    tx.task_insert(&t)?;
    tx.meta_set("attempt", &n.to_string())
}

/// The ids of the queue's tasks and its `attempt` meta entry.
fn written(env: &Env) -> (Vec<String>, Option<String>) {
    let tasks = env.orch.list(&ListFilter::default()).unwrap().into_iter().map(|t| t.id).collect();
    (tasks, orch_store::read(env.db(), |tx| tx.meta_get("attempt")).unwrap())
}

fn a_write_that_loses_a_race_runs_again_in_a_fresh_transaction_or_not_at_all(env: &Env) {
    let (mut runs, mut seen) = (0, Vec::new());
    let now = env.now();
    let result = orch_store::write(env.db(), |tx| {
        runs += 1;
        write_run(tx, runs, &mut seen, now)?;
        if runs == 1 {
            // As a compare-and-set that lost to another writer reports it.
            return Err(StoreError::Conflict("ORCH-001 changed under us (version 1)".into()));
        }
        Ok(runs)
    });
    match env.kind {
        Kind::Postgres => {
            assert_eq!(result.unwrap(), 2, "PostgreSQL runs the closure again after a Conflict");
            assert_eq!(seen, [(false, None), (false, None)], "the second run saw what the first wrote");
            assert_eq!(written(env), (vec!["ORCH-002".to_string()], Some("2".into())));
        }
        Kind::Sqlite => {
            assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
            assert_eq!(runs, 1, "SQLite runs a write closure once");
            assert_eq!(written(env), (Vec::new(), None), "the failed run was not rolled back");
        }
    }
}

fn a_write_whose_connection_breaks_runs_again_on_a_new_one(env: &Env) {
    if env.kind == Kind::Sqlite {
        // An embedded database has no connection to lose.
        return;
    }
    let (mut runs, mut seen) = (0, Vec::new());
    let now = env.now();
    let result = orch_store::write(env.db(), |tx| {
        runs += 1;
        write_run(tx, runs, &mut seen, now)?;
        if runs == 1 {
            // The server ends this transaction's connection (as a restart would)...
            let mut admin = ::postgres::Client::connect(&env.url, ::postgres::NoTls).expect("connect");
            let ended: Vec<bool> = admin
                .query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = current_database() AND pid <> pg_backend_pid()",
                    &[],
                )
                .expect("terminate")
                .iter()
                .map(|r| r.get(0))
                .collect();
            assert!(ended.contains(&true), "no connection was ended");
            // ...and the next statement finds it gone.
            tx.meta_set("after", "the connection broke")?;
            unreachable!("a statement on an ended connection succeeded");
        }
        Ok(runs)
    });
    assert_eq!(result.unwrap(), 2);
    assert_eq!(seen, [(false, None), (false, None)], "the second run saw what the first wrote");
    assert_eq!(written(env), (vec!["ORCH-002".to_string()], Some("2".into())));
    assert_eq!(orch_store::read(env.db(), |tx| tx.meta_get("after")).unwrap(), None);
}

/// A reason of a closure's own to roll back.
#[derive(Debug, PartialEq, thiserror::Error)]
#[error("refused: {0}")]
struct Refused(u32);

fn an_aborted_write_rolls_back_once_and_hands_back_its_reason(env: &Env) {
    let (mut runs, mut seen) = (0, Vec::new());
    let now = env.now();
    let err = orch_store::write(env.db(), |tx| {
        runs += 1;
        write_run(tx, runs, &mut seen, now)?;
        Err::<(), _>(StoreError::abort(Refused(7)))
    })
    .unwrap_err();
    assert_eq!(runs, 1, "an abort is never run again, on any store");
    assert_eq!(err.aborted::<Refused>(), Some(&Refused(7)), "{err:?}");
    assert_eq!(err.to_string(), "refused: 7");
    assert!(err.aborted::<std::fmt::Error>().is_none() && !err.is_transient());
    assert_eq!(written(env), (Vec::new(), None), "the aborted run was not rolled back");
}

fn a_write_in_a_read_transaction_stores_no_secret(env: &Env) {
    let mut t = Task::new("ORCH-001".into(), "x".into(), Priority::P1, 3, env.now());
    t.version = 1;
    t.notes = Some("password=hunter2".into());
    let mut e = orch_core::event::Event::new(env.now(), "task.note");
    e.msg = Some("token ghp_ABCDEFGHIJKLMNOPQRSTuvwx".into());
    let wrote = orch_store::read(env.db(), |tx| {
        tx.task_insert(&t)?;
        tx.event_insert(&e)
    });
    let (task, events) = orch_store::read(env.db(), |tx| Ok((tx.task_get(&t.id)?, tx.events_after(0, 10)?))).unwrap();
    match env.kind {
        // A read transaction there is READ ONLY.
        Kind::Postgres => assert!(wrote.is_err() && task.is_none() && events.is_empty(), "{wrote:?}"),
        // SQLite lets it write: what it wrote is masked as any write is.
        Kind::Sqlite => {
            wrote.unwrap();
            let (notes, msg) = (task.unwrap().notes.unwrap(), events[0].msg.clone().unwrap());
            if env.masks() {
                assert_eq!((notes.as_str(), msg.as_str()), ("[masked]", "token [masked]"));
            } else {
                assert_eq!((notes, msg), (t.notes.clone().unwrap(), e.msg.clone().unwrap()));
            }
        }
    }
}
