//! The only module that deals with processes. A worker runs in its own process group,
//! with no shell, its stdout and stderr going to files (straight, or within a cap
//! through a pipe: `log`), and nothing on stdin; it is stopped as a group (SIGTERM, then
//! SIGKILL) together with every process of its run that left the group (`tree`: this
//! process is their subreaper, and they carry the run's id), so no child of it is left
//! behind. One thread, woken by SIGCHLD, reaps every process started here, and the
//! orphans reparented here.
//! Here too: who a process is (its start time, so a reused pid is never mistaken for
//! it; the run it belongs to, from its environment) and a dispatcher's identity; and
//! running the helper programs a front end drives (tmux), on its terminal or captured.
//! Linux-specific: start times and environments come from `/proc`.

use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{Id, WaitPidFlag, waitid};
use nix::unistd::Pid;
use orch_core::outcome::Exit;
use std::collections::BTreeSet;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

#[path = "runner_log.rs"]
mod log;
#[path = "runner_tree.rs"]
mod tree;

pub use log::MIN_CAP as MIN_LOG_BYTES;
pub use tree::{end_descendants, end_run, groups_of_runs, run_id_of};

/// The environment variable that names a worker's run; every process of the run
/// inherits it, which is how a run's processes are found when no group was recorded.
pub const RUN_ID_VAR: &str = "ORCH_RUN_ID";

/// What to run.
#[derive(Clone, Debug)]
pub struct Spec {
    pub argv: Vec<String>,
    /// Set on top of what the process inherits (see `inherit`).
    pub env: Vec<(String, String)>,
    /// What the process inherits of this process's environment: all of it (`None`), or
    /// only the variables named (those that are set), before `env` is added.
    pub inherit: Option<Vec<String>>,
    pub cwd: PathBuf,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
    /// A file for stdin (the reviewer gets JSON); `None` for no stdin.
    pub stdin: Option<PathBuf>,
    /// Each of stdout and stderr is kept within this many bytes (its head and its tail);
    /// `None`: written straight to its file, whole.
    pub max_log_bytes: Option<u64>,
}

/// Why a process could not be started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpawnError {
    pub message: String,
    /// Trying again cannot help (the argument list is too long for the system).
    pub permanent: bool,
}

impl std::fmt::Display for SpawnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<String> for SpawnError {
    fn from(message: String) -> SpawnError {
        SpawnError { message, permanent: false }
    }
}

impl From<&str> for SpawnError {
    fn from(message: &str) -> SpawnError {
        SpawnError::from(message.to_string())
    }
}

/// A started process; its pid is also its process group id.
pub struct Spawned {
    pub pid: i32,
    pub proc_start: Option<i64>,
    pub child: Child,
}

/// What [`watch`] takes over from [`spawn`] for a process: its run and the threads that
/// keep its logs.
struct Extra {
    run: Option<Arc<str>>,
    logs: Vec<log::Kept>,
}

/// Processes [`spawn`] started and [`watch`] has not taken yet, by pid. Its lock is held
/// while a process is being started: the orphan reaper (`tree`) takes it too, so it
/// never reaps a process of ours whose pid it could not know yet.
static PENDING: Mutex<Vec<(i32, Extra)>> = Mutex::new(Vec::new());

/// Starts `spec` in a new process group.
pub fn spawn(spec: &Spec) -> Result<Spawned, SpawnError> {
    ensure_reaper();
    let (program, args) = spec.argv.split_first().ok_or("empty command")?;
    let private = |p: &PathBuf| crate::home::create_private(p).map_err(|e| format!("{}: {e}", p.display()));
    let stdin = || match &spec.stdin {
        Some(p) => std::fs::File::open(p).map(Stdio::from).map_err(|e| format!("{}: {e}", p.display())),
        None => Ok(Stdio::null()),
    };
    // A log file, created (empty) for each try: the file itself, or a pipe copied into
    // it within the cap.
    let output = |p: &PathBuf, logs: &mut Vec<log::Kept>| -> Result<Stdio, String> {
        let file = private(p)?;
        let Some(cap) = spec.max_log_bytes else { return Ok(Stdio::from(file)) };
        let (read, write) = std::io::pipe().map_err(|e| format!("pipe: {e}"))?;
        logs.push(log::keep(read, file, p.clone(), cap).map_err(|e| format!("log thread: {e}"))?);
        Ok(Stdio::from(write))
    };
    let start = |exe: &std::ffi::OsStr| -> Result<(Child, Vec<log::Kept>), SpawnError> {
        let mut logs = Vec::new();
        let mut cmd = Command::new(exe);
        if let Some(names) = &spec.inherit {
            cmd.env_clear();
            for name in names {
                if let Some(value) = std::env::var_os(name) {
                    cmd.env(name, value);
                }
            }
        }
        cmd.arg0(program)
            .args(args)
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&spec.cwd)
            .stdin(stdin()?)
            .stdout(output(&spec.stdout, &mut logs)?)
            .stderr(output(&spec.stderr, &mut logs)?)
            .process_group(0)
            .spawn()
            .map(|child| (child, logs))
            .map_err(|e| spawn_error(program, &spec.argv, &e))
    };
    let mut pending = PENDING.lock().unwrap_or_else(|p| p.into_inner());
    let (child, logs) = match std::env::var_os("PATH").and_then(|path| find_in_path(program, &path)) {
        // Should the program found not start (a mount without exec rights), the child's
        // own search decides, as it would have; an argument list too long stays so.
        Some(exe) => match start(exe.as_os_str()) {
            Err(e) if !e.permanent => start(program.as_ref())?,
            other => other?,
        },
        None => start(program.as_ref())?,
    };
    let pid = i32::try_from(child.id()).map_err(|_| "pid out of range".to_string())?;
    let run = spec.env.iter().find(|(k, _)| k == RUN_ID_VAR).map(|(_, v)| Arc::from(v.as_str()));
    pending.push((pid, Extra { run, logs }));
    drop(pending);
    Ok(Spawned { pid, proc_start: proc_start(pid), child })
}

/// Why `program` could not start: an argument list too long for the system (E2BIG) is
/// permanent, whatever else is worth another try.
fn spawn_error(program: &str, argv: &[String], e: &std::io::Error) -> SpawnError {
    if e.raw_os_error() == Some(nix::libc::E2BIG) {
        let bytes: usize = argv.iter().map(|a| a.len() + 1).sum();
        let longest = argv.iter().map(String::len).max().unwrap_or(0);
        let message = format!(
            "{program}: argument list too long: {bytes} bytes of arguments, the longest {longest} \
             (the system takes about 128 KiB in one argument)"
        );
        return SpawnError { message, permanent: true };
    }
    SpawnError::from(format!("{program}: {e}"))
}

/// The file a program name without a slash names in `PATH`, found as `execvp` finds it
/// (the first regular file with an execute bit, in order), so the child makes one
/// `execve` instead of one per `PATH` entry before it — and the parent waits for the
/// child's `execve` (`posix_spawn`). `None` (the child searches itself) for a name with
/// a slash, or a relative entry in `path` before the match (the child resolves those
/// from its own working directory).
fn find_in_path(program: &str, path: &std::ffi::OsStr) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    if program.is_empty() || program.contains('/') {
        return None;
    }
    for dir in std::env::split_paths(path) {
        if !dir.is_absolute() {
            return None;
        }
        let exe = dir.join(program);
        if std::fs::metadata(&exe).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0) {
            return Some(exe);
        }
    }
    None
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
    /// The run its processes carry (`ORCH_RUN_ID`): those that left the group are
    /// signalled with it.
    run: Option<Arc<str>>,
}

impl Group {
    pub fn pgid(&self) -> i32 {
        self.pgid
    }

    /// Signals the group, and the processes of its run that left it (none once its
    /// leader is reaped: its end killed them all).
    fn signal(&self, sig: Signal) -> bool {
        let group = {
            let reaped = self.reaped.lock().unwrap_or_else(|p| p.into_inner());
            if *reaped {
                return false;
            }
            killpg(Pid::from_raw(self.pgid), sig).is_ok()
        };
        let left = self.run.as_deref().map_or(0, |run| tree::signal_run(run, sig));
        group || left > 0
    }

    /// Asks the whole group (and what left it of its run) to stop (SIGTERM).
    pub fn terminate(&self) -> bool {
        self.signal(Signal::SIGTERM)
    }

    /// Kills the whole group (and what left it of its run) (SIGKILL).
    pub fn kill(&self) -> bool {
        self.signal(Signal::SIGKILL)
    }
}

/// A process being watched: its end goes to `done`.
struct Watched {
    child: Child,
    group: Group,
    logs: Vec<log::Kept>,
    done: Box<dyn FnOnce(Exit) + Send>,
}

/// Every process [`watch`]ed in this process and not yet reaped. One thread, woken by
/// SIGCHLD, looks at them all (not a thread per process: a thread costs more to start
/// and stop than a short worker takes to run).
static WATCHED: Mutex<Vec<Watched>> = Mutex::new(Vec::new());

/// Watches `child` (started by [`spawn`]): when it exits, whatever is left of its group
/// is killed first (while the dead leader still holds the group id, so the id cannot
/// have been reused), and every process of its run that left the group; then the leader
/// is reaped, its logs are final, and `done` gets its exit — on the reaper thread, or on
/// the caller's when it had exited already.
pub fn watch(child: Child, done: impl FnOnce(Exit) + Send + 'static) -> Group {
    ensure_reaper();
    let pgid = i32::try_from(child.id()).unwrap_or(i32::MAX);
    let group = {
        // Off the pending list and onto the watched one at once: the orphan reaper sees
        // it on one of them.
        let mut pending = PENDING.lock().unwrap_or_else(|p| p.into_inner());
        let extra = pending.iter().position(|(p, _)| *p == pgid).map(|i| pending.swap_remove(i).1);
        let (run, logs) = extra.map_or((None, Vec::new()), |e| (e.run, e.logs));
        let group = Group { pgid, reaped: Arc::new(Mutex::new(false)), run };
        watched().push(Watched { child, group: group.clone(), logs, done: Box::new(done) });
        group
    };
    // Its SIGCHLD may have come before it was on the list.
    if has_exited(pgid) {
        let found = take_where(|w| w.group.pgid == pgid);
        found.into_iter().for_each(finish);
    }
    group
}

/// Watched processes taken off the list and not reaped yet (their pids).
static FINISHING: Mutex<Vec<i32>> = Mutex::new(Vec::new());

fn watched() -> std::sync::MutexGuard<'static, Vec<Watched>> {
    WATCHED.lock().unwrap_or_else(|p| p.into_inner())
}

fn finishing() -> std::sync::MutexGuard<'static, Vec<i32>> {
    FINISHING.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether `pid` is a watched process (on the list, or taken off it and not reaped).
fn is_watched(pid: i32) -> bool {
    let list = watched();
    list.iter().any(|w| w.group.pgid == pid) || finishing().contains(&pid)
}

/// Starts the reaper thread once, before the first process starts.
fn ensure_reaper() {
    static REAPER: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    REAPER.get_or_init(start_reaper);
}

/// The thread that reaps on SIGCHLD. Signals that come while it works are not lost: the
/// next wait returns at once. This process becomes the subreaper of what it starts, so a
/// run's processes that leave their group stay below it; those orphans are reaped here.
fn start_reaper() {
    tree::become_subreaper();
    let mut signals = signal_hook::iterator::Signals::new([nix::libc::SIGCHLD]).expect("a SIGCHLD handler");
    std::thread::Builder::new()
        .name("orch-reaper".into())
        .spawn(move || {
            for _ in signals.forever() {
                // Whatever goes wrong in one pass, the thread goes on: without it no later
                // exit would be heard of.
                let pass = std::panic::catch_unwind(|| {
                    take_where(|w| has_exited(w.group.pgid)).into_iter().for_each(finish);
                    tree::reap_orphans();
                });
                if pass.is_err() {
                    eprintln!("orch: warning: reaping processes failed once; going on");
                }
            }
        })
        .expect("the reaper thread");
}

/// Removes the watched processes that match (under the list's lock, so each is finished
/// exactly once, by whoever removed it); each is [`is_watched`] until it is reaped.
fn take_where(mut pred: impl FnMut(&Watched) -> bool) -> Vec<Watched> {
    let mut list = watched();
    let mut out = Vec::new();
    let mut i = 0;
    while i < list.len() {
        if pred(&list[i]) {
            finishing().push(list[i].group.pgid);
            out.push(list.swap_remove(i));
        } else {
            i += 1;
        }
    }
    out
}

/// Whether the process has exited (it stays a zombie: the group id stays reserved).
fn has_exited(pid: i32) -> bool {
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT | WaitPidFlag::WNOHANG;
    loop {
        match waitid(Id::Pid(Pid::from_raw(pid)), flags) {
            Err(nix::errno::Errno::EINTR) => {}
            Ok(nix::sys::wait::WaitStatus::StillAlive) => return false,
            // Exited, or gone already: either way it is to be reaped now.
            _ => return true,
        }
    }
}

fn finish(mut w: Watched) {
    let _ = killpg(Pid::from_raw(w.group.pgid), Signal::SIGKILL);
    if let Some(run) = &w.group.run {
        tree::end_run(run);
    }
    let exit = {
        let mut reaped = w.group.reaped.lock().unwrap_or_else(|p| p.into_inner());
        let exit = match w.child.wait() {
            Ok(status) => exit_of(status),
            Err(e) => Exit::SpawnFailed(format!("wait: {e}")),
        };
        *reaped = true;
        exit
    };
    finishing().retain(|p| *p != w.group.pgid);
    let (pgid, mut logs) = (w.group.pgid, std::mem::take(&mut w.logs));
    let end = Ended { pgid, logs: Vec::new(), done: w.done, exit };
    // Mostly the streams ended with the process. When one is still open (held by a
    // process that left the run), waiting for it here would hold up every other exit:
    // the wait and the handler go to a thread of their own (or stay here if no thread
    // can be had, so the exit is never lost).
    if log::all_final(&mut logs) {
        return end.tell();
    }
    let end = Arc::new(Mutex::new(Some(Ended { logs, ..end })));
    let take = move |end: &Mutex<Option<Ended>>| end.lock().unwrap_or_else(|p| p.into_inner()).take();
    let theirs = end.clone();
    let spawned = std::thread::Builder::new().name("orch-exit".into()).spawn(move || take(&theirs).map(Ended::tell));
    if spawned.is_err()
        && let Some(end) = take(&end)
    {
        end.tell();
    }
}

/// A reaped process whose exit is still to be told: once its logs are final.
struct Ended {
    pgid: i32,
    logs: Vec<log::Kept>,
    done: Box<dyn FnOnce(Exit) + Send>,
    exit: Exit,
}

impl Ended {
    fn tell(self) {
        log::wait(self.logs);
        let (done, exit) = (self.done, self.exit);
        // The reaper thread calls this for every process: a handler that panics must
        // not end it, or no later exit would be heard of.
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || done(exit))).is_err() {
            eprintln!("orch: warning: the handler of process {}'s exit failed", self.pgid);
        }
    }
}

/// Runs `spec` to its end, or kills its group after `timeout` (`Exit::TimedOut`).
pub fn run_to_end(spec: &Spec, timeout: Duration) -> Exit {
    let s = match spawn(spec) {
        Ok(s) => s,
        Err(e) => return Exit::SpawnFailed(e.message),
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

/// Runs a helper program (tmux for a front end, git for the workspaces) with no shell,
/// in this process's group, and gives its exit status and what it printed. `Err` of
/// kind `NotFound` when the program is not installed. Safe beside the reaper thread:
/// the process is on the pending list until it is waited for, so the orphan reaper
/// leaves it alone.
pub fn program_output(argv: &[String]) -> std::io::Result<std::process::Output> {
    let (program, args) = argv.split_first().ok_or_else(|| std::io::Error::other("empty command"))?;
    let mut pending = PENDING.lock().unwrap_or_else(|p| p.into_inner());
    let child =
        Command::new(program).args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let pid = i32::try_from(child.id()).unwrap_or(i32::MAX);
    pending.push((pid, Extra { run: None, logs: Vec::new() }));
    drop(pending);
    let out = child.wait_with_output();
    let mut pending = PENDING.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(i) = pending.iter().position(|(p, _)| *p == pid) {
        pending.swap_remove(i);
    }
    out
}

/// Runs a helper program on this terminal (stdin, stdout and stderr inherited, in the
/// foreground group, so `tmux attach` can take the terminal) to its end.
pub fn program_on_terminal(argv: &[String]) -> std::io::Result<std::process::ExitStatus> {
    let (program, args) = argv.split_first().ok_or_else(|| std::io::Error::other("empty command"))?;
    Command::new(program).args(args).status()
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
    with_stat(pid, |rest| rest.split_whitespace().map(str::to_string).collect())
}

/// Calls `f` with fields 3.. of `/proc/PID/stat`, as one string.
fn with_stat<T>(pid: i32, f: impl FnOnce(&str) -> T) -> Option<T> {
    use std::io::Read;
    // One read of a buffer that holds the whole line (a few hundred bytes), not the
    // growing reads of `read_to_string` on a file whose size is unknown.
    let mut buf = [0u8; 4096];
    let mut file = std::fs::File::open(format!("/proc/{pid}/stat")).ok()?;
    let mut len = 0;
    while len < buf.len() {
        match file.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    let stat = std::str::from_utf8(&buf[..len]).ok()?;
    Some(f(stat.get(stat.rfind(')')? + 2..)?))
}

/// The start time of a process in clock ticks since boot (`/proc/PID/stat` field 22), so
/// a pid reused by another program is never mistaken for our worker.
pub fn proc_start(pid: i32) -> Option<i64> {
    with_stat(pid, |rest| rest.split_whitespace().nth(19)?.parse().ok())?
}

/// Whether the process `pid` that started at `start` is still alive (not a zombie).
pub fn process_is(pid: i32, start: i64) -> bool {
    stat_fields(pid).is_some_and(|f| f[0] != "Z" && f.get(19).and_then(|s| s.parse().ok()) == Some(start))
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
#[path = "runner_tests.rs"]
mod tests;
