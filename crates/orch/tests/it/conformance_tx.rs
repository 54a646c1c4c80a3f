//! The store conformance suite, continued (`conformance_tx::sqlite::*` and
//! `conformance_tx::postgres::*`): event numbering, racing claimers and adders, change
//! notification, who claimed a run, the `Tx` primitives directly, and `migrate` between
//! stores. The frame (`Env`, the `conformance!` macro) is in `conformance.rs`.

use crate::common::SEED;
use crate::conformance::{Env, Kind, claim};
use jiff::{SignedDuration, Timestamp};
use orch::ops::{ClaimRequest, NewTask, Orch};
use orch_core::event::Event;
use orch_core::outcome::Usage;
use orch_core::policy::FailureClass;
use orch_core::state::Command;
use orch_core::task::{Priority, Status, Task};
use orch_store::{Backend, ListFilter, ProcessInfo, Run, RunEnd, StoreError, ViewKept, ViewMark};
use std::collections::HashSet;
use std::time::Duration;

conformance! {
    events_are_numbered_in_commit_order_and_paged,
    racing_claimers_never_share_a_task,
    racing_adds_never_share_an_id_or_a_key,
    wait_for_change_sees_another_connections_commit,
    wait_for_change_sees_a_commit_made_between_two_waits,
    data_version_moves_with_every_commit_of_another_connection,
    a_claim_records_who_spawns_the_worker,
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
    let page = orch_store::read(env.db(), |tx| tx.events_after(seqs[0], 1)).unwrap();
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
            let page = orch_store::read(reader.as_ref(), |tx| tx.events_after(last, 7)).unwrap();
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
    let more = orch_store::read(env.db(), |tx| tx.events_after(*seen.last().unwrap(), 1000)).unwrap();
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

fn wait_for_change_sees_a_commit_made_between_two_waits(env: &Env) {
    let waiter = env.backend();
    waiter.wait_for_change(Duration::ZERO).unwrap();
    assert!(!waiter.wait_for_change(Duration::from_millis(20)).unwrap(), "nothing changed yet");
    // Nobody waits while this commits; the next wait must still see it.
    env.handle().add(&NewTask { task: "between waits".into(), ..NewTask::default() }).unwrap();
    assert!(waiter.wait_for_change(Duration::from_millis(20)).unwrap(), "the commit between the waits was missed");
    assert!(!waiter.wait_for_change(Duration::from_millis(20)).unwrap(), "seen once, not again");
}

/// SQLite's data version moves with every commit of another connection, and only then
/// (an answer kept under it is the answer); PostgreSQL has none.
fn data_version_moves_with_every_commit_of_another_connection(env: &Env) {
    let asker = env.backend();
    let first = asker.data_version().unwrap();
    if !matches!(env.kind, Kind::Sqlite) {
        assert_eq!(first, None);
        return;
    }
    let first = first.expect("SQLite has a data version");
    assert_eq!(asker.data_version().unwrap(), Some(first), "nothing committed");
    let _ = env.handle().list(&ListFilter::default()).unwrap();
    assert_eq!(asker.data_version().unwrap(), Some(first), "a read is no commit");
    env.handle().add(&NewTask { task: "moves it".into(), ..NewTask::default() }).unwrap();
    let second = asker.data_version().unwrap().unwrap();
    assert_ne!(second, first, "a commit moved it");
    env.handle().add(&NewTask { task: "and again".into(), ..NewTask::default() }).unwrap();
    assert_ne!(asker.data_version().unwrap().unwrap(), second);
}

fn a_claim_records_who_spawns_the_worker(env: &Env) {
    env.add("spawned");
    let req = ClaimRequest {
        owner: "worker:host-a-1".into(),
        lease: SignedDuration::from_mins(15),
        host: Some("host-a".into()),
        pid: None,
        pgid: None,
        spawned_by: Some("dispatcher".into()),
        dispatcher: Some("host-a:4242:99".into()),
    };
    let c = env.orch.claim(&req).unwrap().0.unwrap();
    assert!(env.claim("an agent").is_none(), "one task only");
    let live = orch_store::read(env.db(), |tx| Ok((tx.runs_live_on("host-a")?, tx.runs_live_on("host-b")?))).unwrap();
    assert_eq!(live.0.len(), 1);
    let r = &live.0[0];
    assert_eq!(
        (r.id.as_str(), r.spawned_by.as_deref(), r.dispatcher.as_deref()),
        (c.run.id.as_str(), Some("dispatcher"), Some("host-a:4242:99"))
    );
    assert!(live.1.is_empty());
}

fn tx_task_update_is_compare_and_set(env: &Env) {
    let id = env.add("x");
    let t = env.get(&id);
    let mut a = t.clone();
    a.task = "from a".into();
    let saved = orch_store::write(env.db(), |tx| tx.task_update(&a)).unwrap();
    assert_eq!(saved.version, t.version + 1);
    let mut stale = t.clone();
    stale.task = "from a stale copy".into();
    let err = orch_store::write(env.db(), |tx| tx.task_update(&stale)).unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(env.get(&id).task, "from a");
}

fn tx_a_refused_insert_leaves_the_transaction_usable(env: &Env) {
    let mut t = Task::new("ORCH-001".into(), "a".into(), Priority::P1, 4, env.now());
    t.version = 1;
    let mut refused = None;
    orch_store::write(env.db(), |tx| {
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
    let err = orch_store::write(env.db(), |tx| {
        tx.task_insert(&t)?;
        tx.meta_set("k", "v")?;
        Err::<(), _>(StoreError::Db("changed my mind".into()))
    })
    .unwrap_err();
    assert!(matches!(err, StoreError::Db(_)));
    assert!(env.orch.list(&ListFilter::default()).unwrap().is_empty());
    assert_eq!(orch_store::read(env.db(), |tx| tx.meta_get("k")).unwrap(), None);
}

fn tx_idempotency_keys_are_unique(env: &Env) {
    let (first, second, owner) = orch_store::write(env.db(), |tx| {
        Ok((tx.idempotency_claim("k", "ORCH-001")?, tx.idempotency_claim("k", "ORCH-002")?, tx.idempotency_owner("k")?))
    })
    .unwrap();
    assert!(first && !second);
    assert_eq!(owner.as_deref(), Some("ORCH-001"));
    assert_eq!(orch_store::read(env.db(), |tx| tx.idempotency_owner("nope")).unwrap(), None);
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
    let mut c = sample_run("r3", "ORCH-002", t0);
    c.spawned_by = Some("exec".into());
    c.dispatcher = Some("h1:4242:777".into());
    let mut other_host = sample_run("r4", "ORCH-003", t0);
    other_host.host = Some("h2".into());
    other_host.dispatcher = Some("h2:1:1".into());
    let usage = Usage { input_tokens: 1200, output_tokens: 340, cost_usd: 0.25 };
    orch_store::write(env.db(), |tx| {
        for r in [&b, &a, &c, &other_host] {
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
        tx.run_set_session("r2", "0199a213-81c0-7800-8aa1-bbab2a035a53")?;
        tx.run_set_session("r1", "first")?;
        tx.run_set_session("r1", "then-this")?; // the last one stands
        let end = RunEnd { outcome: "done", class: None, reason: None, report: Some("- ok"), at: t0 };
        tx.run_end("r1", &end)?;
        let again =
            RunEnd { outcome: "failed", class: Some(FailureClass::Transient), reason: Some("x"), report: None, at: t0 };
        tx.run_end("r1", &again)?; // an ended run stays as it ended
        tx.run_late_report("r1", "- late")
    })
    .unwrap();
    let (runs, by_token, live, cost, none) = orch_store::read(env.db(), |tx| {
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
    assert_eq!(r2.session.as_deref(), Some("0199a213-81c0-7800-8aa1-bbab2a035a53"));
    assert_eq!(r1.session.as_deref(), Some("then-this"));
    assert_eq!(live.iter().map(|r| r.session.clone()).collect::<Vec<_>>(), [None], "none until one is reported");
    let live: Vec<(&str, Option<&str>, Option<&str>)> =
        live.iter().map(|r| (r.id.as_str(), r.spawned_by.as_deref(), r.dispatcher.as_deref())).collect();
    assert_eq!(live, [("r3", Some("exec"), Some("h1:4242:777"))], "claimed by a dispatcher on h1, unfinished");
    assert_eq!(r2.dispatcher, None, "recording the process does not make a run a dispatcher's");
    assert!((cost - 0.5).abs() < 1e-9);
    assert!(none.is_none());
}

fn tx_meta_and_view_marks(env: &Env) {
    let id = env.add("x");
    let mark = ViewMark { version: 1, line: "| ORCH-001 | PENDING |".into(), eol: "\r\n".into() };
    let other = ViewMark { version: 1, line: "|ORCH-001|PENDING|".into(), eol: "\n".into() };
    orch_store::write(env.db(), |tx| {
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
    let (a, all, marks, b_marks, none) = orch_store::read(env.db(), |tx| {
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
    let (a_info, b_info, views) = orch_store::read(env.db(), |tx| {
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
    orch_store::write(env.db(), |tx| tx.view_rename("host-a:/p/QUEUE.md", "host-c:/q/QUEUE.md")).unwrap();
    let (gone, moved, moved_marks) = orch_store::read(env.db(), |tx| {
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

fn tx_an_explicit_event_number_is_kept(env: &Env) {
    let mut e = Event::new(env.now(), "task.added");
    e.seq = 40;
    let (kept, next) = orch_store::write(env.db(), |tx| {
        let kept = tx.event_insert(&e)?;
        let next = tx.event_insert(&Event::new(env.now(), "task.noted"))?;
        Ok((kept, next))
    })
    .unwrap();
    assert_eq!((kept, next), (40, 41));
    let got = orch_store::read(env.db(), |tx| tx.events_after(0, 10)).unwrap();
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
    let nums = orch_store::read(env.db(), |tx| {
        Ok((tx.task_nums_from("ORCH", 1, 10)?, tx.task_nums_from("ORCH", 2, 1)?, tx.task_nums_from("OTHER", 1, 10)?))
    })
    .unwrap();
    assert_eq!(nums, (vec![1, 2], vec![2], vec![]));
    let (max, other, expired_now, expired_later, next) = orch_store::read(env.db(), |tx| {
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
    src.orch.import(Some(&queue), false).unwrap();
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
    src.orch.set_session(&c.run.id, "sess-1").unwrap();
    src.done(&c, "- ok\nRisks: none");
    let c = src.claim("w").unwrap();
    src.fail(&c, FailureClass::Transient);
    src.claim("w").unwrap();
    src.orch.apply("ORCH-020", &Command::Note { text: "moved".into() }).unwrap();
    let nightly = orch::ops::NewSchedule { cron: "@daily".into(), task: "nightly".into(), ..Default::default() };
    src.orch.schedule_add(&nightly).unwrap();
    let mut d = src.orch.dispatcher_started("host-a:7:99", "host-a", 7).unwrap();
    src.orch.dispatcher_seen(&mut d, true).unwrap();
    let summary = orch_store::migrate::migrate(src.db(), env.db()).expect("migrate");
    assert_eq!((summary.tasks, summary.schedules, summary.dispatchers), (29, 1, 1));
    let dispatchers = |db: &dyn Backend| orch_store::read(db, |tx| tx.dispatchers()).unwrap();
    assert_eq!(dispatchers(env.db()), [d]);
    let schedules = |db: &dyn Backend| orch_store::read(db, |tx| tx.schedules()).unwrap();
    assert_eq!(schedules(env.db()), schedules(src.db()));
    let dump = |db: &dyn Backend| {
        orch_store::read(db, |tx| {
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
    let events = |db: &dyn Backend| orch_store::read(db, |tx| tx.events_after(0, 100_000)).unwrap();
    assert_eq!(dump(env.db()), dump(src.db()));
    assert!(dump(env.db()).1.iter().any(|r| r.session.as_deref() == Some("sess-1")), "the session moves with its run");
    assert_eq!(events(env.db()), events(src.db()));
    // The copy is a working queue: its view is the source's, and new work continues.
    let out = |e: &Env| {
        let p = e.dir.path().join("OUT.md");
        e.orch.export(Some(&p), true, false).unwrap();
        std::fs::read_to_string(p).unwrap()
    };
    assert_eq!(out(env), out(&src));
    let n = env.add("after the move");
    assert_eq!(n, "ORCH-030");
    let last = events(env.db()).last().unwrap().seq;
    assert_eq!(last, events(src.db()).last().unwrap().seq + 1);
    // Never into a queue that holds anything.
    let err = orch_store::migrate::migrate(src.db(), env.db()).unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
}

/// The view's rows: every IN_PROGRESS task, the other open ones first in pick order up to
/// the bound on open rows (all without one), plus the `done_kept` DONE ones changed last
/// (ties: the later in queue order), in queue order, each with its mark in that view
/// only — the same rows the core's `view_selection` picks from every task.
fn tx_view_rows_are_the_open_tasks_and_the_newest_done(env: &Env) {
    use Status::*;
    let t0 = env.now();
    // (status, finished seconds after t0): DONE ones out of order, two at one instant;
    // open ones of several priorities and due times (pick order is not queue order).
    let plan = [
        (Done, 10),
        (Pending, 0),
        (Done, 30),
        (Done, 20),
        (Blocked, 0),
        (Done, 40),
        (Done, 40),
        (Failed, 0),
        (InProgress, 0),
        (Pending, 0),
        (Pending, 0),
    ];
    let priorities = [Priority::P2, Priority::P0, Priority::P1, Priority::P2];
    let tasks: Vec<Task> = plan
        .iter()
        .enumerate()
        .map(|(i, (status, at))| {
            let mut t = Task::new(format!("ORCH-{:03}", i + 1), format!("t{i}"), priorities[i % 4], 4, t0);
            t.due_at = (i % 3 == 1).then(|| t0 + SignedDuration::from_secs(100 - i as i64));
            t.status = *status;
            t.updated_at = t0 + SignedDuration::from_secs(*at);
            t.version = 1;
            t
        })
        .collect();
    let mark = ViewMark { version: 1, line: "| x |".into(), eol: "\n".into() };
    orch_store::write(env.db(), |tx| {
        for t in &tasks {
            tx.task_insert(t)?;
        }
        tx.view_mark_set("v", "ORCH-002", &mark)?;
        tx.view_mark_set("v", "ORCH-006", &mark)?;
        tx.view_mark_set("w", "ORCH-003", &mark)
    })
    .unwrap();
    let all = env.orch.list(&ListFilter::default()).unwrap();
    let bounds = [None, Some(0), Some(1), Some(2), Some(3), Some(5), Some(6), Some(7)];
    for (open, kept) in bounds.into_iter().flat_map(|o| (0..=6).map(move |k| (o, k))) {
        let got: Vec<(String, bool)> =
            orch_store::read(env.db(), |tx| tx.view_rows("v", ViewKept { open, done: kept }))
                .unwrap()
                .into_iter()
                .map(|(t, m)| {
                    assert!(m.is_none() || m.as_ref() == Some(&mark));
                    (t.id, m.is_some())
                })
                .collect();
        let keep = orch_core::task_row::view_selection(&all, open, kept, false);
        let want: Vec<(String, bool)> = all
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(t, _)| (t.id.clone(), t.id == "ORCH-002" || t.id == "ORCH-006"))
            .collect();
        assert_eq!(got, want, "open_kept {open:?}, done_kept {kept}");
    }
    let two: Vec<String> = orch_store::read(env.db(), |tx| tx.view_rows("v", ViewKept::all_open(2)))
        .unwrap()
        .into_iter()
        .map(|(t, _)| t.id)
        .collect();
    let open = ["ORCH-002", "ORCH-005", "ORCH-008", "ORCH-009", "ORCH-010", "ORCH-011"];
    assert_eq!(two, [&open[..2], &["ORCH-006", "ORCH-007"], &open[2..]].concat(), "the two finished last");
    // Bounded to three open rows: the running one, then the P0 (ORCH-002, ORCH-010, the
    // earlier due time first).
    let three: Vec<String> = orch_store::read(env.db(), |tx| tx.view_rows("v", ViewKept { open: Some(3), done: 0 }))
        .unwrap()
        .into_iter()
        .map(|(t, _)| t.id)
        .collect();
    assert_eq!(three, ["ORCH-002", "ORCH-009", "ORCH-010"]);
}

/// `ORCH-7` and `ORCH-007` are one task: the store refuses the second, and finds either
/// by its prefix and number.
fn tx_a_task_number_is_one_task(env: &Env) {
    let mut t = Task::new("ORCH-7".into(), "unpadded".into(), Priority::P1, 4, env.now());
    t.version = 1;
    orch_store::write(env.db(), |tx| tx.task_insert(&t)).unwrap();
    let mut twin = t.clone();
    twin.id = "ORCH-007".into();
    let err = orch_store::write(env.db(), |tx| tx.task_insert(&twin)).unwrap_err();
    assert!(matches!(&err, StoreError::Conflict(m) if m.contains("ORCH-7")), "{err:?}");
    let (seven, other) =
        orch_store::read(env.db(), |tx| Ok((tx.task_by_number("ORCH", 7)?, tx.task_by_number("ORCH", 8)?))).unwrap();
    assert_eq!((seven.as_deref(), other), (Some("ORCH-7"), None));
    // The next id goes past it, zero-padded.
    assert_eq!(env.add("next"), "ORCH-008");
}
