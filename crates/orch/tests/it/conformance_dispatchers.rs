//! The store conformance suite, dispatchers' liveness (`conformance_dispatchers::sqlite::*`,
//! `postgres::*`, and both behind the mask): the `Tx` primitives (a record written whole,
//! listed by host and start, pruned by when it was last seen) and what `workers` makes of
//! them under a fixed clock (alive while seen within 15 s and not stopped).

use crate::conformance::{Env, Kind};
use jiff::SignedDuration;
use orch_store::DispatcherRecord;

conformance! {
    tx_dispatchers_are_written_whole_listed_and_pruned,
    a_dispatcher_is_alive_while_seen_and_not_after_it_stops_or_goes_unseen,
}

fn record(env: &Env, id: &str, host: &str, started: i64) -> DispatcherRecord {
    let at = env.now() + SignedDuration::from_secs(started);
    DispatcherRecord { id: id.into(), host: host.into(), pid: 40, started_at: at, seen_at: at, stopped_at: None }
}

fn tx_dispatchers_are_written_whole_listed_and_pruned(env: &Env) {
    let list = || orch_store::read(env.db(), |tx| tx.dispatchers()).unwrap();
    assert!(list().is_empty());
    let b = record(env, "host-b:40:1", "host-b", 0);
    let a2 = record(env, "host-a:41:2", "host-a", 10);
    let a1 = record(env, "host-a:40:1", "host-a", 5);
    orch_store::write(env.db(), |tx| {
        for d in [&b, &a2, &a1] {
            tx.dispatcher_put(d)?;
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(list(), [a1.clone(), a2.clone(), b.clone()], "by host, then start");
    let stopped = DispatcherRecord {
        seen_at: a1.seen_at + SignedDuration::from_secs(100),
        stopped_at: Some(a1.seen_at + SignedDuration::from_secs(100)),
        ..a1.clone()
    };
    orch_store::write(env.db(), |tx| tx.dispatcher_put(&stopped)).unwrap();
    assert_eq!(list(), [stopped.clone(), a2.clone(), b.clone()], "written in place of the one with its id");
    // Unseen before the cutoff: gone, whether stopped or not.
    let n = orch_store::write(env.db(), |tx| tx.dispatchers_prune(a2.seen_at + SignedDuration::from_secs(1))).unwrap();
    assert_eq!((n, list()), (2, vec![stopped]));
}

fn a_dispatcher_is_alive_while_seen_and_not_after_it_stops_or_goes_unseen(env: &Env) {
    let alive = |env: &Env| -> Vec<(String, bool)> {
        env.orch.fleet().unwrap().dispatchers.into_iter().map(|d| (d.id, d.alive)).collect()
    };
    let mut old = env.orch.dispatcher_started("h:1:1", "h", 1).unwrap();
    env.orch.dispatcher_seen(&mut old, true).unwrap();
    env.clock.advance(SignedDuration::from_hours(23));
    env.orch.dispatcher_started("h:2:2", "h", 2).unwrap();
    env.clock.advance(SignedDuration::from_hours(1) + SignedDuration::from_secs(1));
    // A new start prunes what was unseen for a day: the first, not the second.
    let mut me = env.orch.dispatcher_started("h:3:3", "h", 3).unwrap();
    assert_eq!(alive(env), [("h:2:2".to_string(), false), ("h:3:3".to_string(), true)]);
    let f = env.orch.fleet().unwrap();
    assert_eq!((f.dispatchers[1].pid, f.dispatchers[1].seen_age_s, f.dispatchers[1].stopped_at), (3, 0.0, None));
    env.clock.advance(SignedDuration::from_secs(15));
    assert!(alive(env)[1].1, "seen 15 s ago: alive");
    env.orch.dispatcher_seen(&mut me, false).unwrap();
    env.clock.advance(SignedDuration::from_secs(16));
    assert!(!alive(env)[1].1, "unseen for 16 s: not alive");
    env.orch.dispatcher_seen(&mut me, false).unwrap();
    assert!(alive(env)[1].1, "seen again");
    env.orch.dispatcher_seen(&mut me, true).unwrap();
    let f = env.orch.fleet().unwrap();
    assert_eq!((f.dispatchers[1].alive, f.dispatchers[1].stopped_at), (false, Some(env.now())), "stopped");
}
