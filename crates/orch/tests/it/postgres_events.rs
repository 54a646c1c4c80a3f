//! PostgreSQL: the event log read by number while writers commit out of order. A reader
//! never returns an event past one whose writer is still in flight (it waits for that
//! writer), yet it holds no writer back; a number drawn by a transaction that rolled back
//! is passed over without waiting; a transaction that changes a task notifies idle
//! dispatchers only when one could act on it; and a read's COMMIT, sent without waiting
//! for its reply, still ends its transaction at once.

use crate::postgres::{TestDb, add_tasks, open_orch};
use jiff::SignedDuration;
use orch::ops::{ClaimRequest, Finish, NewTask};
use orch_core::event::Event;
use orch_core::state::{Auth, Command};
use orch_store::Backend;
use std::time::{Duration, Instant};

/// A plain connection that writes one `history.pruned` event and leaves its transaction
/// open: a writer in flight.
fn writer_in_flight(url: &str) -> (postgres::Client, i64) {
    let mut c = postgres::Client::connect(url, postgres::NoTls).expect("connect");
    c.batch_execute("BEGIN").unwrap();
    let seq: i64 = c
        .query_one("INSERT INTO events (ts, level, event) VALUES (0, 'info', 'history.pruned') RETURNING seq", &[])
        .unwrap()
        .get(0);
    (c, seq)
}

fn seqs_after(db: &dyn Backend, after: i64) -> Vec<i64> {
    orch_store::read(db, |tx| tx.events_after(after, 100)).unwrap().iter().map(|e| e.seq).collect()
}

/// Commits one event through the store (no events file to catch up, unlike an operation).
fn commit_event(db: &dyn Backend) -> i64 {
    orch_store::write(db, |tx| tx.event_insert(&Event::new(jiff::Timestamp::now(), "task.noted"))).unwrap()
}

#[test]
fn a_reader_waits_for_a_writer_in_flight_below_it_and_holds_no_writer_back() {
    let Some(db) = TestDb::create("events_in_flight") else { return };
    add_tasks(&db.url, 1);
    let writer = orch_store::open(&db.url).unwrap();
    let reader = orch_store::open(&db.url).unwrap();
    let start = *seqs_after(reader.as_ref(), 0).last().unwrap();
    let (mut slow, held) = writer_in_flight(&db.url);
    // A later number commits while the earlier one is still in flight.
    let later = commit_event(writer.as_ref());
    assert!(later > held);
    let seen = std::thread::scope(|s| {
        let r = s.spawn(|| seqs_after(reader.as_ref(), start));
        std::thread::sleep(Duration::from_millis(300));
        assert!(!r.is_finished(), "the reader returned past an event whose writer is in flight");
        // The waiting reader holds no writer back: a new change commits while it still
        // waits (a writer behind it would wait for the slow writer too, which commits
        // only below).
        commit_event(writer.as_ref());
        assert!(!r.is_finished(), "the reader returned past an event whose writer is in flight");
        slow.batch_execute("COMMIT").unwrap();
        r.join().unwrap()
    });
    assert_eq!(seen[..2], [held, later], "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0] + 1 == w[1]), "no number skipped: {seen:?}");
    let all = seqs_after(reader.as_ref(), start);
    assert_eq!(all.len(), 3, "the slow event and two more: {all:?}");
    assert!(all.starts_with(&seen));
}

#[test]
fn a_number_drawn_by_a_writer_that_rolled_back_is_passed_over_at_once() {
    let Some(db) = TestDb::create("events_rolled_back") else { return };
    add_tasks(&db.url, 1);
    let dir = tempfile::tempdir().unwrap();
    let orch = open_orch(dir.path(), &db.url);
    let start = seqs_after(orch.db(), 0).last().copied().unwrap();
    let (mut gone, lost) = writer_in_flight(&db.url);
    gone.batch_execute("ROLLBACK").unwrap();
    orch.add(&NewTask { task: "after the gap".into(), ..NewTask::default() }).unwrap();
    let t0 = Instant::now();
    let seen = seqs_after(orch.db(), start);
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0] > lost, "{seen:?} after the lost {lost}");
    // The events file of this home is complete, gap and all.
    let file = std::fs::read_to_string(orch.home().events_path()).unwrap();
    assert!(file.lines().last().unwrap().contains(&format!("\"seq\":{}", seen[0])), "{file}");
}

#[test]
fn only_changes_a_dispatcher_could_act_on_wake_it() {
    let Some(db) = TestDb::create("notify_what_matters") else { return };
    let dir = tempfile::tempdir().unwrap();
    let orch = open_orch(dir.path(), &db.url);
    let waiter = orch_store::open(&db.url).unwrap();
    waiter.wait_for_change(Duration::ZERO).unwrap();
    let woke = |what: &str| {
        let got = waiter.wait_for_change(Duration::from_millis(150)).unwrap();
        // Drain what is left, so each step is judged alone.
        while waiter.wait_for_change(Duration::from_millis(20)).unwrap() {}
        eprintln!("{what}: woke {got}");
        got
    };
    assert!(!woke("nothing"));
    let id = orch.add(&NewTask { task: "a".into(), ..NewTask::default() }).unwrap().0.id;
    assert!(woke("add"), "a new task is claimable");
    let req = ClaimRequest::new("w", SignedDuration::from_mins(15));
    let c = orch.claim(&req).unwrap().0.unwrap();
    assert!(!woke("claim"), "a claim makes nothing claimable");
    orch.heartbeat(&id, Auth::Token(c.run.lease_token.clone()), SignedDuration::from_mins(15)).unwrap();
    assert!(!woke("heartbeat"));
    orch.apply(&id, &Command::Note { text: "n".into() }).unwrap();
    assert!(!woke("note on a running task"));
    orch.finish(&id, Auth::Token(c.run.lease_token.clone()), Finish::Done { notes: None }, Some("- ok\nRisks: none"))
        .unwrap();
    assert!(!woke("done of a task nothing waits for"));
    // A task with a dependent: its DONE may release it.
    let first = orch.add(&NewTask { task: "b".into(), ..NewTask::default() }).unwrap().0.id;
    orch.add(&NewTask { task: "c".into(), depends_on: vec![first.clone()], ..NewTask::default() }).unwrap();
    assert!(woke("two adds"));
    let c = orch.claim(&req).unwrap().0.unwrap();
    assert_eq!(c.task.id, first);
    orch.finish(
        &first,
        Auth::Token(c.run.lease_token.clone()),
        Finish::Done { notes: None },
        Some("- ok\nRisks: none"),
    )
    .unwrap();
    assert!(woke("done of a task another depends on"));
    // A running task cancelled: its dispatcher lost the lease.
    let c = orch.claim(&req).unwrap().0.unwrap();
    assert!(!woke("claim"));
    orch.apply(&c.task.id, &Command::Cancel { reason: None }).unwrap();
    assert!(woke("cancel of a running task"));
}

#[test]
fn a_read_leaves_no_transaction_open_though_its_commit_is_not_waited_for() {
    let Some(db) = TestDb::create("read_commit") else { return };
    add_tasks(&db.url, 1);
    let reader = orch_store::open(&db.url).unwrap();
    let mut watch = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    let open_reads = |watch: &mut postgres::Client| -> i64 {
        let sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                   AND state LIKE 'idle in transaction%'";
        watch.query_one(sql, &[]).unwrap().get(0)
    };
    for _ in 0..3 {
        let n = orch_store::read(reader.as_ref(), |tx| Ok(tx.task_list(&Default::default())?.len())).unwrap();
        assert_eq!(n, 1);
        let t0 = Instant::now();
        while open_reads(&mut watch) > 0 {
            assert!(t0.elapsed() < Duration::from_secs(1), "a read left its transaction open");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    // The connection goes on serving after the unanswered COMMITs.
    let again = orch_store::read(reader.as_ref(), |tx| tx.task_get("ORCH-001")).unwrap();
    assert!(again.is_some());
}
