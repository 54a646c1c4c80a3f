//! A turn whose COMMIT was cut off may have been saved: once the store answers again,
//! the dispatcher gives back every task it holds on a run it does not run.

use super::{Dispatcher, RunOptions, SPAWNED_BY_DISPATCHER};
use crate::clock::SystemClock;
use crate::config::Config;
use crate::home::Home;
use crate::ops::{ClaimRequest, NewTask, Options, Orch};
use orch_core::task::Status;
use std::sync::{Arc, mpsc};
use std::time::Instant;

fn queue(dir: &std::path::Path) -> Orch {
    let home = Home { dir: dir.join(".orch") };
    std::fs::create_dir_all(&home.dir).unwrap();
    let db = orch_store::create(&home.db_path().display().to_string()).unwrap();
    let mut config = Config::default();
    config.queue.file = String::new();
    Orch::with_parts(home, config, db, &Options::default(), Arc::new(SystemClock))
}

#[test]
fn after_an_outage_a_saved_claim_without_a_worker_goes_back_uncounted() {
    let dir = tempfile::tempdir().unwrap();
    let orch = queue(dir.path());
    for task in ["held by the lost turn", "running", "another dispatcher's"] {
        orch.add(&NewTask { task: task.into(), ..NewTask::default() }).unwrap();
    }
    let (launches, _jobs) = mpsc::channel();
    let (tx, _rx) = mpsc::channel();
    let opts = RunOptions {
        workers: 2,
        until_idle: false,
        command: None,
        owner: None,
        max_claims: None,
        spawned_by: SPAWNED_BY_DISPATCHER,
        quiet: true,
        max_wait: jiff::SignedDuration::ZERO,
    };
    let mut d = Dispatcher::new(&orch, opts, "host-a".into(), launches, tx);
    let claim = |dispatcher: &str| {
        let req = ClaimRequest {
            host: Some("host-a".into()),
            dispatcher: Some(dispatcher.into()),
            ..ClaimRequest::new("w", jiff::SignedDuration::from_mins(15))
        };
        orch.claim(&req).unwrap().0.unwrap()
    };
    let me = d.me.clone();
    let lost = claim(&me);
    let running = claim(&me);
    let other = claim("host-a:1:1");
    let slot = d.slot_for(&running, 1);
    d.slots.insert(running.run.id.clone(), slot);

    // The store answers: nothing was down, nothing is given back.
    d.store_back().unwrap();
    assert_eq!(orch.get(&lost.task.id).unwrap().status, Status::InProgress);

    d.store_down = Some(Instant::now());
    d.store_back().unwrap();
    assert!(d.store_down.is_none());
    let back = orch.get(&lost.task.id).unwrap();
    assert_eq!((back.status, back.attempts), (Status::Pending, lost.task.attempts - 1), "{back:?}");
    let run = orch_store::read(orch.db(), |tx| tx.run_get(&lost.run.id)).unwrap().unwrap();
    assert_eq!((run.outcome.as_deref(), run.reason.as_deref()), (Some("interrupted"), Some("claim_not_started")));
    assert_eq!(orch.get(&running.task.id).unwrap().status, Status::InProgress, "a run with a slot stays");
    assert_eq!(orch.get(&other.task.id).unwrap().status, Status::InProgress, "another dispatcher's run stays");
}
