//! The only module that deals with processes. A worker runs in its own process group,
//! with no shell, its stdout and stderr going straight to files, and nothing on stdin;
//! it is stopped as a group (SIGTERM, then SIGKILL), so no child of it is left behind.
//! Here too: who a process is (its start time, so a reused pid is never mistaken for
//! it; the run it belongs to, from its environment) and a dispatcher's identity.
//! Linux-specific: start times and environments come from `/proc`.

use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{Id, WaitPidFlag, waitid};
use nix::unistd::Pid;
use orch_core::outcome::Exit;
use std::collections::{BTreeSet, HashMap};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// The environment variable that names a worker's run; every process of the run
/// inherits it, which is how a run's processes are found when no group was recorded.
pub const RUN_ID_VAR: &str = "ORCH_RUN_ID";

/// What to run.
#[derive(Clone, Debug)]
pub struct Spec {
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
    /// A file for stdin (the reviewer gets JSON); `None` for no stdin.
    pub stdin: Option<PathBuf>,
}

/// A started process; its pid is also its process group id.
pub struct Spawned {
    pub pid: i32,
    pub proc_start: Option<i64>,
    pub child: Child,
}

/// Starts `spec` in a new process group.
pub fn spawn(spec: &Spec) -> Result<Spawned, String> {
    let (program, args) = spec.argv.split_first().ok_or("empty command")?;
    let private = |p: &PathBuf| crate::home::create_private(p).map_err(|e| format!("{}: {e}", p.display()));
    let out = private(&spec.stdout)?;
    let err = private(&spec.stderr)?;
    let stdin = match &spec.stdin {
        Some(p) => Stdio::from(std::fs::File::open(p).map_err(|e| format!("{}: {e}", p.display()))?),
        None => Stdio::null(),
    };
    let child = Command::new(program)
        .args(args)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&spec.cwd)
        .stdin(stdin)
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
        .map_err(|e| format!("{program}: {e}"))?;
    let pid = i32::try_from(child.id()).map_err(|_| "pid out of range".to_string())?;
    Ok(Spawned { pid, proc_start: proc_start(pid), child })
}

/// How a finished process ended.
pub fn exit_of(status: std::process::ExitStatus) -> Exit {
    match (status.code(), status.signal()) {
        (Some(c), _) => Exit::Code(c),
        (None, Some(s)) => Exit::Signal(s),
        (None, None) => Exit::Code(-1),
    }
}

/// The process group of a started process, safe to signal until its leader is reaped:
/// signals and the reaping take one lock, so a group id the kernel has handed to another
/// process is never signalled.
#[derive(Clone, Debug)]
pub struct Group {
    pgid: i32,
    reaped: Arc<Mutex<bool>>,
}

impl Group {
    pub fn pgid(&self) -> i32 {
        self.pgid
    }

    fn signal(&self, sig: Signal) -> bool {
        let reaped = self.reaped.lock().unwrap_or_else(|p| p.into_inner());
        !*reaped && killpg(Pid::from_raw(self.pgid), sig).is_ok()
    }

    /// Asks the whole group to stop (SIGTERM).
    pub fn terminate(&self) -> bool {
        self.signal(Signal::SIGTERM)
    }

    /// Kills the whole group (SIGKILL).
    pub fn kill(&self) -> bool {
        self.signal(Signal::SIGKILL)
    }
}

/// Waits for `child` on a thread of its own. When the leader exits, whatever is left of
/// its group is killed first (while the dead leader still holds the group id, so the id
/// cannot have been reused), then the leader is reaped and `done` gets its exit.
pub fn watch(mut child: Child, done: impl FnOnce(Exit) + Send + 'static) -> Group {
    let pgid = i32::try_from(child.id()).unwrap_or(i32::MAX);
    let group = Group { pgid, reaped: Arc::new(Mutex::new(false)) };
    let g = group.clone();
    std::thread::spawn(move || {
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT;
        while let Err(nix::errno::Errno::EINTR) = waitid(Id::Pid(Pid::from_raw(pgid)), flags) {}
        let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        let exit = {
            let mut reaped = g.reaped.lock().unwrap_or_else(|p| p.into_inner());
            let exit = match child.wait() {
                Ok(status) => exit_of(status),
                Err(e) => Exit::SpawnFailed(format!("wait: {e}")),
            };
            *reaped = true;
            exit
        };
        done(exit);
    });
    group
}

/// Runs `spec` to its end, or kills its group after `timeout` (`Exit::TimedOut`).
pub fn run_to_end(spec: &Spec, timeout: Duration) -> Exit {
    let s = match spawn(spec) {
        Ok(s) => s,
        Err(e) => return Exit::SpawnFailed(e),
    };
    let (tx, rx) = mpsc::channel();
    let group = watch(s.child, move |exit| {
        let _ = tx.send(exit);
    });
    match rx.recv_timeout(timeout) {
        Ok(exit) => exit,
        Err(_) => {
            group.kill();
            let _ = rx.recv();
            Exit::TimedOut
        }
    }
}

/// Asks the whole group to stop (SIGTERM). False when no process of it is left. For a
/// group this process did not start (recovery); a started one is signalled through its
/// [`Group`].
pub fn terminate_group(pgid: i32) -> bool {
    killpg(Pid::from_raw(pgid), Signal::SIGTERM).is_ok()
}

/// Kills the whole group (SIGKILL). False when no process of it is left.
pub fn kill_group(pgid: i32) -> bool {
    killpg(Pid::from_raw(pgid), Signal::SIGKILL).is_ok()
}

/// Stops several groups at once: SIGTERM to all, one wait of up to `grace` for them to
/// go, SIGKILL to what is left.
pub fn stop_groups(pgids: &BTreeSet<i32>, grace: Duration) {
    let live: Vec<i32> = pgids.iter().copied().filter(|g| terminate_group(*g)).collect();
    let until = Instant::now() + grace;
    while Instant::now() < until && live.iter().any(|g| group_alive(*g)) {
        std::thread::sleep(Duration::from_millis(20));
    }
    for g in live {
        kill_group(g);
    }
}

/// Every process on this machine, as `(pid, fields of /proc/PID/stat)`.
fn processes() -> impl Iterator<Item = (i32, Vec<String>)> {
    let entries = std::fs::read_dir("/proc").into_iter().flatten().flatten();
    entries.filter_map(|e| {
        let pid = e.file_name().to_str()?.parse::<i32>().ok()?;
        Some((pid, stat_fields(pid)?))
    })
}

/// Whether any process of the group is alive. Zombies (dead, not yet reaped — in a
/// container, pid 1 may never reap them) do not count.
pub fn group_alive(pgid: i32) -> bool {
    if killpg(Pid::from_raw(pgid), None).is_err() {
        return false;
    }
    processes().any(|(_, f)| f.get(2).is_some_and(|pg| pg.parse() == Ok(pgid)) && f[0] != "Z")
}

/// Fields 3.. of `/proc/PID/stat` (state, ppid, pgrp, …): the command name (field 2) may
/// hold spaces and parentheses, so fields resume after the last ')'.
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// The start time of a process in clock ticks since boot (`/proc/PID/stat` field 22), so
/// a pid reused by another program is never mistaken for our worker.
pub fn proc_start(pid: i32) -> Option<i64> {
    stat_fields(pid)?.get(19)?.parse().ok()
}

/// Whether the process `pid` that started at `start` is still alive (not a zombie).
pub fn process_is(pid: i32, start: i64) -> bool {
    stat_fields(pid).is_some_and(|f| f[0] != "Z" && f.get(19).and_then(|s| s.parse().ok()) == Some(start))
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
    let me = i32::try_from(std::process::id()).unwrap_or(0);
    let my_group = nix::unistd::getpgrp().as_raw();
    let mut out: HashMap<String, BTreeSet<i32>> = HashMap::new();
    if run_ids.is_empty() {
        return out;
    }
    for (pid, f) in processes() {
        let Some(pgid) = f.get(2).and_then(|g| g.parse::<i32>().ok()) else { continue };
        if pid == me || pgid == my_group || f[0] == "Z" {
            continue;
        }
        if let Some(run) = run_id_of(pid).filter(|r| run_ids.contains(r)) {
            out.entry(run).or_default().insert(pgid);
        }
    }
    out
}

/// The machine's name, for run records.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// Who spawns a run's worker: `HOST:PID:START` of this process (START its start time in
/// clock ticks since boot), recorded on every run a dispatcher or `exec` claims.
pub fn identity() -> String {
    let pid = std::process::id();
    let start = i32::try_from(pid).ok().and_then(proc_start).unwrap_or(0);
    format!("{}:{pid}:{start}", hostname())
}

/// Whether the process named by an [`identity`] is provably gone: it was on `host`, and
/// its pid is free, a zombie or another process (another start time). An identity that
/// cannot be read, or one from another host, proves nothing.
pub fn identity_is_dead(identity: &str, host: &str) -> bool {
    let mut parts = identity.rsplitn(3, ':');
    let (Some(start), Some(pid), Some(on)) = (parts.next(), parts.next(), parts.next()) else { return false };
    let (Ok(start), Ok(pid)) = (start.parse::<i64>(), pid.parse::<i32>()) else { return false };
    if on != host {
        return false;
    }
    if start == 0 {
        // The start time could not be read when it was recorded: only a free pid proves
        // anything.
        return nix::sys::signal::kill(Pid::from_raw(pid), None) == Err(nix::errno::Errno::ESRCH);
    }
    !process_is(pid, start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(dir: &std::path::Path, script: &str) -> Spec {
        Spec {
            argv: vec!["sh".into(), "-c".into(), script.into()],
            // Unique per test and per test process: tests run at once, and the scan sees
            // every process on the machine.
            env: vec![(RUN_ID_VAR.into(), run_of(script))],
            cwd: dir.into(),
            stdout: dir.join("out"),
            stderr: dir.join("err"),
            stdin: None,
        }
    }

    fn run_of(script: &str) -> String {
        format!("run-{}-{script}", std::process::id())
    }

    fn gone_soon(pgid: i32) -> bool {
        (0..500).any(|_| {
            std::thread::sleep(Duration::from_millis(10));
            !group_alive(pgid)
        })
    }

    #[test]
    fn start_time_and_identity_of_this_process_are_read() {
        let me = std::process::id() as i32;
        assert!(proc_start(me).is_some());
        assert_eq!(proc_start(me), proc_start(me));
        assert_eq!(proc_start(i32::MAX), None);
        let host = hostname();
        assert!(!identity_is_dead(&identity(), &host), "this process is alive");
        assert!(!identity_is_dead(&identity(), "another-host"), "another host proves nothing");
        let start = proc_start(me).unwrap();
        assert!(identity_is_dead(&format!("{host}:{me}:{}", start + 1), &host), "another start time");
        assert!(identity_is_dead(&format!("{host}:{}:1", i32::MAX), &host), "no such pid");
        assert!(!identity_is_dead(&format!("{host}:{me}:0"), &host), "no start time: a live pid is alive");
        assert!(identity_is_dead(&format!("{host}:{}:0", i32::MAX), &host));
        assert!(!identity_is_dead("garbage", &host));
    }

    #[test]
    fn a_group_is_killed_with_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let s = spawn(&spec(dir.path(), "sleep 30 & sleep 30 & wait")).unwrap();
        assert!(group_alive(s.pid));
        let (tx, rx) = mpsc::channel();
        let g = watch(s.child, move |e| tx.send(e).unwrap());
        assert!(g.kill());
        assert_eq!(rx.recv().unwrap(), Exit::Signal(9));
        assert!(!g.kill(), "a reaped group is never signalled again");
        assert!(gone_soon(s.pid), "children of the group survived");
    }

    #[test]
    fn when_the_leader_exits_the_rest_of_its_group_is_killed_before_it_is_reaped() {
        let dir = tempfile::tempdir().unwrap();
        let s = spawn(&spec(dir.path(), "sleep 30 & echo $! > child; exit 3")).unwrap();
        let (tx, rx) = mpsc::channel();
        watch(s.child, move |e| tx.send(e).unwrap());
        assert_eq!(rx.recv().unwrap(), Exit::Code(3));
        assert!(gone_soon(s.pid), "the leader's child outlived it");
    }

    #[test]
    fn the_processes_of_a_run_are_found_by_their_environment() {
        let dir = tempfile::tempdir().unwrap();
        let s = spawn(&spec(dir.path(), "sleep 30 & wait")).unwrap();
        let (tx, rx) = mpsc::channel();
        let g = watch(s.child, move |e| tx.send(e).unwrap());
        let run = run_of("sleep 30 & wait");
        // Until the child has exec'd, its environment is still this process's.
        let seen = (0..500).any(|_| {
            std::thread::sleep(Duration::from_millis(10));
            run_id_of(s.pid).as_ref() == Some(&run)
        });
        assert!(seen, "{:?}", run_id_of(s.pid));
        let runs: BTreeSet<String> = [run.clone(), "another".to_string()].into();
        let found = groups_of_runs(&runs);
        assert_eq!(found.get(&run), Some(&BTreeSet::from([s.pid])));
        assert!(!found.contains_key("another"));
        stop_groups(&BTreeSet::from([g.pgid()]), Duration::from_secs(5));
        assert_eq!(rx.recv().unwrap(), Exit::Signal(15));
    }

    #[test]
    fn run_to_end_kills_a_process_past_its_timeout() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(run_to_end(&spec(dir.path(), "exit 4"), Duration::from_secs(30)), Exit::Code(4));
        let began = Instant::now();
        assert_eq!(run_to_end(&spec(dir.path(), "sleep 30"), Duration::from_millis(100)), Exit::TimedOut);
        assert!(began.elapsed() < Duration::from_secs(20));
        assert!(matches!(
            run_to_end(&Spec { argv: vec![], ..spec(dir.path(), "") }, Duration::ZERO),
            Exit::SpawnFailed(_)
        ));
    }
}
