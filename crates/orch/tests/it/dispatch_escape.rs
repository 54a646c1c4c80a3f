//! Processes that leave their worker's process group (a `setsid` child, a double-forked
//! daemon) end with their run, however it ends: the worker's own exit, its timeout, a
//! cancel, a lost lease, the dispatcher's shutdown on SIGTERM, and `orch exec`; and the
//! orphans reparented to the dispatcher are reaped, not left as zombies.

use crate::common::{Project, alive, wait_until};
use crate::dispatch::{REPORT, task, worker};
use nix::sys::signal::Signal;
use std::time::Duration;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A worker that starts a `setsid` child and a double-forked daemon, which each record
/// their pid in `escaped` and sleep (ignoring SIGTERM when `stubborn`); it waits until
/// both have, then does `then`.
fn escaping(p: &Project, stubborn: bool, then: &str) -> String {
    let trap = if stubborn { "trap '' TERM\n" } else { "" };
    p.write("escapee.sh", &format!("{trap}echo $$ >> escaped\nexec sleep 1000\n"));
    "setsid sh escapee.sh &\n\
     sh -c '(setsid sh escapee.sh &)'\n\
     while [ \"$(cat escaped 2>/dev/null | wc -l)\" -lt 2 ]; do sleep 0.02; done\n"
        .to_string()
        + then
}

fn escaped(p: &Project) -> Vec<i32> {
    p.lines("escaped").iter().filter_map(|l| l.trim().parse().ok()).collect()
}

/// Live processes on this machine that carry `ORCH_RUN_ID=run`.
fn carrying(run: &str) -> Vec<i32> {
    let want = format!("ORCH_RUN_ID={run}");
    let entries = std::fs::read_dir("/proc").unwrap().flatten();
    entries
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| alive(*pid))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|kv| kv == want.as_bytes()))
        })
        .collect()
}

/// Zombie children of `parent`: exited, never reaped.
fn zombies_of(parent: i32) -> Vec<i32> {
    let entries = std::fs::read_dir("/proc").unwrap().flatten();
    entries
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                let rest: Vec<&str> = s[s.rfind(')').map_or(0, |i| i + 2)..].split_whitespace().collect();
                rest.first() == Some(&"Z") && rest.get(1) == Some(&parent.to_string().as_str())
            })
        })
        .collect()
}

fn run_id(p: &Project, id: &str) -> String {
    p.json(&["log", id])[0]["id"].as_str().unwrap().to_string()
}

/// Both escapees were started, and neither they nor any process of the run is left.
fn nothing_left(p: &Project, run: &str) {
    let pids = escaped(p);
    assert_eq!(pids.len(), 2, "both escaped: {pids:?}");
    let gone = wait_until(secs(10), || pids.iter().all(|&pid| !alive(pid)) && carrying(run).is_empty());
    assert!(gone, "left of run {run}: escaped {pids:?}, carrying its id {:?}", carrying(run));
}

#[test]
fn what_left_the_group_ends_when_the_worker_exits() {
    let p = Project::init(None);
    worker(&p, &escaping(&p, false, REPORT), &[]);
    p.ok(&["add", "escapes, then reports"]);
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
    assert_eq!(task(&p, "ORCH-001")["status"], "DONE");
    nothing_left(&p, &run_id(&p, "ORCH-001"));
}

#[test]
fn what_left_the_group_ends_at_the_timeout() {
    let p = Project::init(None);
    worker(&p, &escaping(&p, false, "exec sleep 60\n"), &[]);
    p.set_config("timeout", "\"3s\"");
    p.set_config("grace", "\"300ms\"");
    p.set_config("backoff", r#"["1h"]"#);
    p.ok(&["add", "escapes, then hangs"]);
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
    assert_eq!(p.json(&["log", "ORCH-001"])[0]["reason"], "timeout");
    nothing_left(&p, &run_id(&p, "ORCH-001"));
}

/// A dispatcher over one escaping worker; `end` ends the run while the dispatcher goes
/// on, which then has nothing of the run left below it, not even a zombie.
fn ended_while_the_dispatcher_runs(end: impl FnOnce(&Project)) {
    let p = Project::init(None);
    worker(&p, &escaping(&p, false, "exec sleep 60\n"), &[]);
    p.ok(&["add", "escapes, then sleeps"]);
    let mut d = p.spawn("run", &["run"]);
    assert!(wait_until(secs(20), || escaped(&p).len() == 2), "the worker started: {}", d.stderr());
    let run = run_id(&p, "ORCH-001");
    end(&p);
    nothing_left(&p, &run);
    let pid = d.pid();
    assert!(wait_until(secs(10), || zombies_of(pid).is_empty()), "zombies: {:?}", zombies_of(pid));
    d.signal(Signal::SIGTERM);
    assert_eq!(d.wait(secs(20)), Some(0));
}

#[test]
fn what_left_the_group_ends_on_a_cancel_and_is_reaped() {
    ended_while_the_dispatcher_runs(|p| {
        p.ok(&["cancel", "ORCH-001", "--reason", "no more"]);
    });
}

#[test]
fn what_left_the_group_ends_when_the_lease_is_lost_and_is_reaped() {
    ended_while_the_dispatcher_runs(|p| {
        // A hand edit of QUEUE.md takes the task from its worker.
        let running = "| ORCH-001 | IN_PROGRESS |";
        assert!(wait_until(secs(10), || p.queue_md().contains(running)), "{}", p.queue_md());
        p.write("QUEUE.md", &p.queue_md().replace(running, "| ORCH-001 | BLOCKED |"));
        p.ok(&["import"]);
        let said = || std::fs::read_to_string(p.file("run.out")).unwrap_or_default();
        assert!(wait_until(secs(10), || said().contains("ORCH-001 stopped: its lease was lost")), "{}", said());
    });
}

#[test]
fn what_left_the_group_ends_when_the_dispatcher_stops_on_sigterm() {
    let p = Project::init(None);
    // The escapees ignore SIGTERM: they go at the SIGKILL after the grace period.
    worker(&p, &escaping(&p, true, "exec sleep 60\n"), &[]);
    p.set_config("grace", "\"300ms\"");
    p.ok(&["add", "escapes, then sleeps"]);
    let mut d = p.spawn("run", &["run"]);
    assert!(wait_until(secs(20), || escaped(&p).len() == 2), "the worker started: {}", d.stderr());
    let run = run_id(&p, "ORCH-001");
    d.signal(Signal::SIGTERM);
    assert_eq!(d.wait(secs(30)), Some(0), "{}", d.stderr());
    assert_eq!(task(&p, "ORCH-001")["status"], "PENDING");
    nothing_left(&p, &run);
}

#[test]
fn what_left_the_group_ends_with_an_exec() {
    let p = Project::init(None);
    let script = escaping(&p, false, REPORT);
    p.write("worker.sh", &script);
    p.ok(&["add", "escapes, then reports"]);
    p.ok(&["exec", "--owner", "me", "--", "sh", "worker.sh"]);
    assert_eq!(task(&p, "ORCH-001")["status"], "DONE");
    nothing_left(&p, &run_id(&p, "ORCH-001"));
}
