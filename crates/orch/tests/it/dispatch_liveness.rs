//! A dispatcher's liveness through the real binary: `orch run` records itself at start
//! (its host, pid and `HOST:PID:START`), refreshes when it was seen while it runs, and
//! marks itself stopped on SIGTERM; `workers` shows it alive, then stopped.

use crate::common::{Project, wait_until};
use nix::sys::signal::Signal;
use serde_json::Value;
use std::time::Duration;

fn dispatchers(p: &Project) -> Vec<Value> {
    p.json(&["workers"])["dispatchers"].as_array().cloned().unwrap_or_default()
}

#[test]
fn a_running_dispatcher_is_alive_in_workers_and_stopped_after_sigterm() {
    let p = Project::init(None);
    crate::dispatch::worker(&p, "exit 0\n", &[]);
    assert!(dispatchers(&p).is_empty(), "none recorded before one runs");
    let mut d = p.spawn("run", &["run"]);
    let recorded = || dispatchers(&p).len() == 1;
    assert!(wait_until(Duration::from_secs(20), recorded), "{}", d.stderr());
    let w = &dispatchers(&p)[0];
    let host = w["host"].as_str().unwrap().to_string();
    assert_eq!(w["pid"].as_i64(), Some(i64::from(d.pid())), "{w}");
    assert!(w["id"].as_str().unwrap().starts_with(&format!("{host}:{}:", d.pid())), "{w}");
    assert_eq!((w["alive"].as_bool(), &w["stopped_at"]), (Some(true), &Value::Null), "{w}");
    // It says it still runs: seen_at moves on from its start.
    let refreshed = || dispatchers(&p)[0]["seen_at"] != dispatchers(&p)[0]["started_at"];
    assert!(wait_until(Duration::from_secs(20), refreshed), "{:?}", dispatchers(&p));
    assert_eq!(dispatchers(&p)[0]["alive"], true);
    let text = p.ok(&["workers"]);
    let line = format!("dispatcher {host} pid {} since ", d.pid());
    assert!(text.lines().any(|l| l.starts_with(&line) && l.contains(": alive, seen ")), "{text}");

    d.signal(Signal::SIGTERM);
    assert_eq!(d.wait(Duration::from_secs(20)), Some(0), "{}", d.stderr());
    let w = &dispatchers(&p)[0];
    assert_eq!(w["alive"], false, "{w}");
    assert!(w["stopped_at"].is_string() && w["stopped_at"] == w["seen_at"], "{w}");
    assert!(p.ok(&["workers"]).lines().any(|l| l.starts_with(&line) && l.ends_with(": stopped")));

    // The next start keeps the stopped record (pruned only after a day unseen).
    let mut again = p.spawn("run2", &["run"]);
    assert!(wait_until(Duration::from_secs(20), || dispatchers(&p).len() == 2), "{}", again.stderr());
    let alive: Vec<bool> = dispatchers(&p).iter().map(|w| w["alive"].as_bool().unwrap()).collect();
    assert_eq!(alive.iter().filter(|a| **a).count(), 1, "{:?}", dispatchers(&p));
    again.signal(Signal::SIGTERM);
    assert_eq!(again.wait(Duration::from_secs(20)), Some(0));
}
