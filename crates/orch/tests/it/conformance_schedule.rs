//! The store conformance suite, schedules (`conformance_schedule::sqlite::*`,
//! `postgres::*`, and both behind the mask): the `Tx` primitives, racing ticks that make
//! each occurrence once, and the catch-up after a stop, under a fixed clock.

use crate::conformance::{Env, Kind};
use orch::ops::NewSchedule;
use orch_core::schedule::{CatchUp, Schedule, ScheduleSpec};
use orch_core::task::Priority;
use orch_store::{ListFilter, StoreError};

conformance! {
    tx_schedules_round_trip_with_compare_and_set,
    racing_ticks_make_each_occurrence_once,
    a_stop_of_ten_seconds_makes_one_catch_up_task,
}

fn schedule(env: &Env, name: &str) -> Schedule {
    Schedule {
        name: name.into(),
        spec: ScheduleSpec {
            cron: "*/5 * * * *".into(),
            task: "t".into(),
            priority: Priority::P0,
            success_criteria: Some("c".into()),
            profile: None,
            resource: Some("r".into()),
            max_attempts: Some(2),
            overlap: true,
            catch_up: CatchUp::All,
            created_at: env.now(),
        },
        paused: false,
        last_tick: env.now(),
        last_task: None,
        version: 1,
    }
}

fn tx_schedules_round_trip_with_compare_and_set(env: &Env) {
    let a = schedule(env, "a");
    let b = schedule(env, "b");
    orch_store::write(env.db(), |tx| {
        tx.schedule_insert(&b)?;
        tx.schedule_insert(&a)
    })
    .unwrap();
    let dup = orch_store::write(env.db(), |tx| tx.schedule_insert(&a));
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    let all = orch_store::read(env.db(), |tx| tx.schedules()).unwrap();
    assert_eq!(all, [a.clone(), b.clone()], "by name, as written");
    let moved = Schedule {
        paused: true,
        last_task: Some("ORCH-001".into()),
        last_tick: env.now() + jiff::SignedDuration::from_secs(60),
        ..a.clone()
    };
    let stored = orch_store::write(env.db(), |tx| tx.schedule_update(&moved)).unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(orch_store::read(env.db(), |tx| tx.schedule_get("a")).unwrap(), Some(stored.clone()));
    let stale = orch_store::write(env.db(), |tx| tx.schedule_update(&moved));
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    assert!(orch_store::write(env.db(), |tx| tx.schedule_delete("a")).unwrap());
    assert!(!orch_store::write(env.db(), |tx| tx.schedule_delete("a")).unwrap());
    let gone = orch_store::write(env.db(), |tx| tx.schedule_update(&stored));
    assert!(matches!(gone, Err(StoreError::NotFound(_))), "{gone:?}");
    assert_eq!(orch_store::read(env.db(), |tx| tx.schedule_get("a")).unwrap(), None);
}

fn every_second(env: &Env, name: &str, catch_up: CatchUp) {
    let new = NewSchedule {
        name: Some(name.into()),
        cron: "* * * * * *".into(),
        task: format!("task of {name}"),
        overlap: true,
        catch_up,
        ..NewSchedule::default()
    };
    env.orch.schedule_add(&new).expect("schedule add");
}

fn racing_ticks_make_each_occurrence_once(env: &Env) {
    every_second(env, "s", CatchUp::All);
    let handles: Vec<_> = (0..4).map(|_| env.handle()).collect();
    for _ in 0..3 {
        env.advance(10);
        std::thread::scope(|scope| {
            for h in &handles {
                scope.spawn(move || h.tick_schedules().expect("tick"));
            }
        });
    }
    let tasks = env.orch.list(&ListFilter::default()).unwrap();
    assert_eq!(tasks.len(), 30, "one task per second of the thirty");
    let mut keys: Vec<String> = tasks.iter().map(|t| t.idempotency_key.clone().unwrap()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 30);
    assert_eq!(env.events().iter().filter(|e| e.event == "schedule.fired").count(), 30);
}

fn a_stop_of_ten_seconds_makes_one_catch_up_task(env: &Env) {
    let new = NewSchedule {
        name: Some("poll".into()),
        cron: "*/2 * * * * *".into(),
        task: "poll".into(),
        ..NewSchedule::default()
    };
    env.orch.schedule_add(&new).unwrap();
    env.advance(10);
    let r = env.orch.tick_schedules().unwrap();
    assert_eq!(r.fired.len(), 1);
    assert_eq!((r.fired[0].occurrence, r.fired[0].stands_for), (env.now(), 4));
    assert_eq!(r.skipped.len(), 1);
    assert_eq!(r.skipped[0].skipped.count, 4);
    assert_eq!(r.next_due, Some(env.now() + jiff::SignedDuration::from_secs(2)));
    let again = env.orch.tick_schedules().unwrap();
    assert!(again.fired.is_empty() && again.skipped.is_empty(), "nothing new is due");
    assert_eq!(env.orch.list(&ListFilter::default()).unwrap().len(), 1);
}
