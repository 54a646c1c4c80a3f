//! The only module that starts processes. A worker runs in its own process group, with
//! no shell, its stdout and stderr going straight to files, and nothing on stdin; it is
//! stopped as a group (SIGTERM, then SIGKILL), so no child of it is left behind.
//! Linux-specific: process start times come from `/proc`.

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use orch_core::outcome::Exit;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// What to run.
#[derive(Clone, Debug)]
pub struct Spec {
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
    /// Bytes for stdin (the reviewer gets JSON); `None` for no stdin.
    pub stdin: Option<PathBuf>,
}

/// A started process; its pid is also its process group id.
pub struct Spawned {
    pub pid: i32,
    pub proc_start: Option<i64>,
    pub child: Child,
}

fn private_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)
}

/// Starts `spec` in a new process group.
pub fn spawn(spec: &Spec) -> Result<Spawned, String> {
    let (program, args) = spec.argv.split_first().ok_or("empty command")?;
    let out = private_file(&spec.stdout).map_err(|e| format!("{}: {e}", spec.stdout.display()))?;
    let err = private_file(&spec.stderr).map_err(|e| format!("{}: {e}", spec.stderr.display()))?;
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

/// Waits for `child` on a thread of its own and hands the result to `done`.
pub fn wait_in_background(mut child: Child, done: impl FnOnce(Exit) + Send + 'static) {
    std::thread::spawn(move || {
        let exit = match child.wait() {
            Ok(status) => exit_of(status),
            Err(e) => Exit::SpawnFailed(format!("wait: {e}")),
        };
        done(exit);
    });
}

/// Asks the whole group to stop (SIGTERM). False when no process of it is left.
pub fn terminate_group(pgid: i32) -> bool {
    killpg(Pid::from_raw(pgid), Signal::SIGTERM).is_ok()
}

/// Kills the whole group (SIGKILL). False when no process of it is left.
pub fn kill_group(pgid: i32) -> bool {
    killpg(Pid::from_raw(pgid), Signal::SIGKILL).is_ok()
}

/// Whether any process of the group is alive. Zombies (dead, not yet reaped — in a
/// container, pid 1 may never reap them) do not count.
pub fn group_alive(pgid: i32) -> bool {
    if killpg(Pid::from_raw(pgid), None).is_err() {
        return false;
    }
    let Ok(entries) = std::fs::read_dir("/proc") else { return true };
    entries.flatten().any(|e| {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<i32>().ok()) else { return false };
        stat_fields(pid).is_some_and(|f| f.get(2).is_some_and(|pg| pg.parse() == Ok(pgid)) && f[0] != "Z")
    })
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

/// The machine's name, for run records.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_of_this_process_is_read() {
        let me = std::process::id() as i32;
        assert!(proc_start(me).is_some());
        assert_eq!(proc_start(me), proc_start(me));
        assert_eq!(proc_start(i32::MAX), None);
    }

    #[test]
    fn a_group_is_killed_with_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let spec = Spec {
            argv: vec!["sh".into(), "-c".into(), "sleep 30 & sleep 30 & wait".into()],
            env: vec![],
            cwd: dir.path().into(),
            stdout: dir.path().join("out"),
            stderr: dir.path().join("err"),
            stdin: None,
        };
        let mut s = spawn(&spec).unwrap();
        assert!(group_alive(s.pid));
        assert!(kill_group(s.pid));
        let exit = exit_of(s.child.wait().unwrap());
        assert_eq!(exit, Exit::Signal(9));
        // The sleeps were in the group too: reaped by init, gone within a moment.
        for _ in 0..200 {
            if !group_alive(s.pid) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("children of the group survived");
    }
}
