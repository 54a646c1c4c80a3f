//! `pause` and `resume`: a paused queue or profile claims nothing while running tasks
//! finish; the pause is in the database (it holds across a dispatcher's restart), ends
//! by itself at `--until`, and shows in `status`, `workers` and the events.

use crate::common::{Project, wait_until};
use crate::dispatch::{REPORT, task, worker};
use std::time::Duration;

const LONG: Duration = Duration::from_secs(30);

fn status_of(p: &Project, id: &str) -> String {
    task(p, id)["status"].as_str().unwrap().to_string()
}

/// A project whose default worker and profile `fast` both report at once.
fn project() -> Project {
    let p = Project::init(None);
    worker(&p, REPORT, &[]);
    let path = p.file(".orch/orch.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}\n[profiles.fast]\ncommand = [\"sh\", \"worker.sh\"]\nworkers = 2\n"))
        .unwrap();
    p
}

#[test]
fn a_paused_profile_claims_nothing_on_a_running_dispatcher_until_resumed() {
    let p = project();
    let mut d = p.spawn("run", &["run"]);
    p.ok(&["pause", "fast", "--reason", "rate limit"]);
    p.ok(&["add", "by fast", "--profile", "fast"]);
    p.ok(&["add", "by default"]);
    // The default task was claimed after the fast one was added: that claim passed it over.
    assert!(wait_until(LONG, || status_of(&p, "ORCH-002") == "DONE"), "{}", d.stderr());
    assert_eq!(status_of(&p, "ORCH-001"), "PENDING");
    let s = p.ok(&["status"]);
    assert!(s.contains("paused: profile fast until resumed (rate limit)"), "{s}");
    assert_eq!(p.json(&["status"])["paused"][0]["profile"], "fast");
    assert!(p.ok(&["workers"]).contains("paused: profile fast"));
    assert_eq!(p.json(&["workers"])["paused"][0]["reason"], "rate limit");
    assert!(p.ok(&["resume", "fast"]).contains("profile fast resumed"));
    assert!(wait_until(LONG, || status_of(&p, "ORCH-001") == "DONE"), "{}", d.stderr());
    assert!(p.ok(&["resume", "fast"]).contains("profile fast was not paused"));
    assert!(!p.ok(&["status"]).contains("paused:"));
    d.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(d.wait(LONG), Some(0), "{}", d.stderr());
    let events = p.ok(&["events"]);
    assert!(events.contains("queue.paused") && events.contains("queue.resumed"), "{events}");
}

#[test]
fn a_paused_queue_stays_paused_across_a_restart_of_the_dispatcher() {
    let p = project();
    let mut d = p.spawn("run", &["run"]);
    // A task run first: the dispatcher is in its loop (its signals handled) before the stop.
    p.ok(&["add", "runs first"]);
    assert!(wait_until(LONG, || status_of(&p, "ORCH-001") == "DONE"), "{}", d.stderr());
    p.ok(&["pause"]);
    d.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(d.wait(LONG), Some(0), "{}", d.stderr());
    p.ok(&["add", "waits"]);
    p.ok(&["add", "waits too", "--profile", "fast"]);
    // A new dispatcher finds the queue paused: nothing eligible, so it ends at once.
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
    assert_eq!((status_of(&p, "ORCH-002"), status_of(&p, "ORCH-003")), ("PENDING".into(), "PENDING".into()));
    assert!(p.ok(&["status"]).contains("paused: queue until resumed"));
    p.ok(&["resume"]);
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
    assert_eq!((status_of(&p, "ORCH-002"), status_of(&p, "ORCH-003")), ("DONE".into(), "DONE".into()));
}

#[test]
fn a_pause_until_a_past_time_pauses_nothing_and_one_that_expires_lets_tasks_run() {
    let p = project();
    p.ok(&["add", "runs"]);
    let out = p.ok(&["pause", "--until", "2020-01-01T00:00:00Z"]);
    assert!(out.contains("nothing paused"), "{out}");
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
    assert_eq!(status_of(&p, "ORCH-001"), "DONE");

    p.ok(&["pause", "--until", "+2s"]);
    assert!(p.ok(&["status"]).contains("paused: queue until "));
    p.ok(&["add", "runs once the pause ends"]);
    let mut d = p.spawn("run", &["run"]);
    assert!(wait_until(LONG, || status_of(&p, "ORCH-002") == "DONE"), "{}", d.stderr());
    assert!(!p.ok(&["status"]).contains("paused:"));
    d.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(d.wait(LONG), Some(0), "{}", d.stderr());
}

#[test]
fn pausing_a_profile_orch_toml_does_not_name_is_refused_with_the_list() {
    let p = project();
    let (code, _, err) = p.run(&["pause", "slow"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("profile `slow` is not in orch.toml (profiles: default, fast)"), "{err}");
    let (code, _, err) = p.run(&["pause", "--until", "someday"]);
    assert_eq!(code, 2, "{err}");
    assert!(!p.ok(&["status"]).contains("paused:"), "nothing paused");
}
