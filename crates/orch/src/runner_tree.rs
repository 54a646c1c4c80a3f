//! A run's processes wherever they went. A worker's child may leave its process group
//! (`setsid`, a double-forked daemon); it still carries the run's `ORCH_RUN_ID`, and as
//! long as this process is a child subreaper it stays below it: an orphan is reparented
//! here, not to init. So the processes of a run are this process's descendants that
//! carry its id ([`signal_run`], [`end_run`]); at a dispatcher's end every descendant is
//! left over from a run ([`end_descendants`]). The orphans reparented here are reaped
//! ([`reap_orphans`]) without touching the exit status of a process started here.
//!
//! The processes below this one are found through the kernel's lists of each process's
//! children (a read per process below it; a scan of every process where the kernel has
//! no such list). Each pass reads them once: a process found may exit and its pid be
//! reused before it is signalled; the window is the time between reading its
//! environment and the signal, and its pid is free only once its parent — most often
//! this process, which reaps on its own thread — has reaped it.

use super::{PENDING, RUN_ID_VAR, is_watched, processes};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{Id, WaitPidFlag, waitid};
use nix::unistd::Pid;
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

/// How many passes [`end_run`] and [`end_descendants`] make at most: each kills what it
/// finds, and a process killed cannot fork again, so a second pass normally finds none.
const PASSES: usize = 50;

/// Makes this process the subreaper of everything it starts (Linux 3.4 and later).
pub(super) fn become_subreaper() -> bool {
    nix::sys::prctl::set_child_subreaper(true).is_ok()
}

/// A live process on this machine: pid, process group, parent.
struct Proc {
    pid: i32,
    pgid: i32,
    ppid: i32,
}

/// Every live (not zombie) process, with its group and parent.
fn live() -> Vec<Proc> {
    processes()
        .filter(|(_, f)| f.first().is_some_and(|s| s != "Z"))
        .filter_map(|(pid, f)| Some(Proc { pid, ppid: f.get(1)?.parse().ok()?, pgid: f.get(2)?.parse().ok()? }))
        .collect()
}

/// The live processes below this one, from the kernel's lists of each thread's children
/// (`/proc/PID/task/TID/children`): a read per process below, not of every process on
/// the machine, so ending a run costs what the run holds. Where the kernel keeps no such
/// list, every process is read ([`below_me`]).
fn descendants() -> Vec<Proc> {
    let me = i32::try_from(std::process::id()).unwrap_or(0);
    let Some(mine) = children_of(me) else { return below_me(live()) };
    let mut out = Vec::new();
    let mut next = mine;
    while let Some(pid) = next.pop() {
        let Some(f) = super::stat_fields(pid) else { continue };
        let (Some(ppid), Some(pgid)) = (f.get(1).and_then(|v| v.parse().ok()), f.get(2).and_then(|v| v.parse().ok()))
        else {
            continue;
        };
        if f.first().is_some_and(|s| s == "Z") {
            continue;
        }
        next.extend(children_of(pid).unwrap_or_default());
        out.push(Proc { pid, pgid, ppid });
    }
    out
}

/// The children of `pid` (of each of its threads), zombies included; `None` when no
/// list could be read (the process is gone, or the kernel keeps none).
fn children_of(pid: i32) -> Option<Vec<i32>> {
    let mut out = Vec::new();
    let mut read_one = false;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()?.flatten() {
        if let Ok(list) = std::fs::read_to_string(task.path().join("children")) {
            read_one = true;
            out.extend(list.split_ascii_whitespace().filter_map(|p| p.parse::<i32>().ok()));
        }
    }
    read_one.then_some(out)
}

/// The live processes below this one: its children, their children, and so on.
fn below_me(all: Vec<Proc>) -> Vec<Proc> {
    let me = i32::try_from(std::process::id()).unwrap_or(0);
    let mut by_parent: HashMap<i32, Vec<Proc>> = HashMap::new();
    for p in all {
        by_parent.entry(p.ppid).or_default().push(p);
    }
    let mut out = Vec::new();
    let mut next = vec![me];
    while let Some(parent) = next.pop() {
        for p in by_parent.remove(&parent).unwrap_or_default() {
            next.push(p.pid);
            out.push(p);
        }
    }
    out
}

/// The live processes that carry one of `run_ids` in their environment, as
/// `(pid, process group, run id)`: below this process only (`below`), or anywhere on the
/// machine but this process and its group (recovery, for a dead dispatcher's workers).
pub(super) fn of_runs(run_ids: &BTreeSet<String>, below: bool) -> Vec<(i32, i32, String)> {
    if run_ids.is_empty() {
        return Vec::new();
    }
    let me = i32::try_from(std::process::id()).unwrap_or(0);
    let my_group = nix::unistd::getpgrp().as_raw();
    let candidates =
        if below { descendants() } else { live().into_iter().filter(|p| p.pid != me && p.pgid != my_group).collect() };
    candidates
        .into_iter()
        .filter_map(|p| Some((p.pid, p.pgid, run_id_of(p.pid).filter(|r| run_ids.contains(r))?)))
        .collect()
}

/// The run a process belongs to: `ORCH_RUN_ID` in the environment it started with.
pub fn run_id_of(pid: i32) -> Option<String> {
    let env = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    let prefix = format!("{RUN_ID_VAR}=");
    env.split(|b| *b == 0)
        .find_map(|kv| kv.strip_prefix(prefix.as_bytes()))
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// The process groups of every live process that carries one of `run_ids` in its
/// environment, by run: how the processes of a run are found when its group was never
/// recorded (the dispatcher died between the claim and recording it). This process and
/// its own group are never among them.
pub fn groups_of_runs(run_ids: &BTreeSet<String>) -> HashMap<String, BTreeSet<i32>> {
    let mut out: HashMap<String, BTreeSet<i32>> = HashMap::new();
    for (_, pgid, run) in of_runs(run_ids, false) {
        out.entry(run).or_default().insert(pgid);
    }
    out
}

/// Sends `sig` to every process below this one that carries `run_id`; how many.
pub fn signal_run(run_id: &str, sig: Signal) -> usize {
    let ids = BTreeSet::from([run_id.to_string()]);
    of_runs(&ids, true).into_iter().filter(|(pid, _, _)| kill(Pid::from_raw(*pid), sig).is_ok()).count()
}

/// Kills (SIGKILL) every process below this one that carries `run_id`, pass after pass
/// until none is left (a process may fork while it is being killed).
pub fn end_run(run_id: &str) {
    until_none(|| signal_run(run_id, Signal::SIGKILL));
}

/// Kills (SIGKILL) every process below this one, whatever it carries: what a dispatcher
/// does as it ends, when every run it started is over.
pub fn end_descendants() {
    until_none(|| descendants().into_iter().filter(|p| kill(Pid::from_raw(p.pid), Signal::SIGKILL).is_ok()).count());
}

fn until_none(mut pass: impl FnMut() -> usize) {
    for _ in 0..PASSES {
        if pass() == 0 {
            return;
        }
        // A process killed is a zombie (not counted) a moment later.
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Reaps every exited child of this process that it did not start itself: an orphan
/// reparented here. A process [`super::spawn`] started — being started, started and not
/// yet watched, or watched — is never reaped here: its exit status is its watcher's.
pub(super) fn reap_orphans() {
    // No process is being started while this looks (its pid is not known yet).
    let pending = PENDING.lock().unwrap_or_else(|p| p.into_inner());
    let ours = |pid: i32| pending.iter().any(|(p, _)| *p == pid) || is_watched(pid);
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    loop {
        match waitid(Id::All, flags) {
            Err(nix::errno::Errno::EINTR) => {}
            Ok(status) => match status.pid() {
                Some(pid) if !ours(pid.as_raw()) => reap(pid.as_raw()),
                // One of ours came first and hides the rest: look at each zombie child.
                Some(_) => break,
                None => return,
            },
            Err(_) => return,
        }
    }
    let me = i32::try_from(std::process::id()).unwrap_or(0);
    let is_zombie = |pid: &i32| super::stat_fields(*pid).is_some_and(|f| f.first().is_some_and(|s| s == "Z"));
    let zombies: Vec<i32> = match children_of(me) {
        Some(children) => children.into_iter().filter(is_zombie).collect(),
        None => {
            let me = me.to_string();
            processes()
                .filter(|(_, f)| f.first().is_some_and(|s| s == "Z") && f.get(1) == Some(&me))
                .map(|(pid, _)| pid)
                .collect()
        }
    };
    for pid in zombies.into_iter().filter(|p| !ours(*p)) {
        reap(pid);
    }
}

fn reap(pid: i32) {
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG;
    while waitid(Id::Pid(Pid::from_raw(pid)), flags) == Err(nix::errno::Errno::EINTR) {}
}
