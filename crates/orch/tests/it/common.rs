//! Helpers shared by the integration tests: a temporary project folder with `.orch/`,
//! and a way to run the real binary in it.

#![allow(dead_code)] // each test module uses its own subset

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// The binary under test.
pub const ORCH_BIN: &str = env!("CARGO_BIN_EXE_orch");

pub const SEED: &str = include_str!("../../../../tests/fixtures/seed_queue.md");

/// A QUEUE.md of `n` PENDING tasks ORCH-001.. .
pub fn queue_of(n: usize) -> String {
    let mut s = String::from(
        "# Queue\n\n| id | status | priority | task | success_criteria | owner_session | started_at_kst | due_at_kst | notes |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for i in 1..=n {
        s.push_str(&format!("| ORCH-{i:03} | PENDING | P1 | task {i} | - | - | - | - | - |\n"));
    }
    s
}

/// A temporary project folder (the parent of `.orch/`).
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    /// An empty folder, no `.orch/` yet.
    pub fn empty() -> Project {
        Project { dir: tempfile::tempdir().expect("temp dir") }
    }

    /// A folder with `.orch/` created by `orch init` (and QUEUE.md, if `queue` is given,
    /// imported by it).
    pub fn init(queue: Option<&str>) -> Project {
        let p = Project::empty();
        if let Some(q) = queue {
            p.write("QUEUE.md", q);
        }
        p.orch(&["init"]).assert().success();
        p
    }

    /// Like [`Project::init`], for a plain command queue: the report rules are off
    /// (`gate.compact_report = false`), so a worker's `done` without a report passes the
    /// gate.
    pub fn init_plain(queue: Option<&str>) -> Project {
        let p = Project::init(queue);
        p.set_config("compact_report", "false");
        p
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) {
        std::fs::write(self.file(name), text).expect("write file");
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.file(name)).expect("read file")
    }

    pub fn queue_md(&self) -> String {
        self.read("QUEUE.md")
    }

    /// The real binary, run in the project folder with a clean environment.
    pub fn orch(&self, args: &[&str]) -> Command {
        Command::from_std(self.command(args))
    }

    /// Runs and returns stdout; panics with stderr on a non-zero exit.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.orch(args).output().expect("run orch");
        assert!(
            out.status.success(),
            "orch {args:?} failed ({:?}):\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Runs with `--json` appended and parses stdout.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut a = args.to_vec();
        a.push("--json");
        serde_json::from_str(&self.ok(&a)).expect("JSON output")
    }

    /// Runs and returns (exit code, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.orch(args).output().expect("run orch");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

impl Project {
    /// Sets `key = value` in `.orch/orch.toml` (every key appears once in the file `init`
    /// writes, so the line is found by its key).
    pub fn set_config(&self, key: &str, value: &str) {
        let path = self.file(".orch/orch.toml");
        let text = std::fs::read_to_string(&path).expect("read orch.toml");
        let prefix = format!("{key} =");
        let mut found = false;
        let out: Vec<String> = text
            .lines()
            .map(|l| {
                if l.starts_with(&prefix) {
                    found = true;
                    format!("{key} = {value}")
                } else {
                    l.to_string()
                }
            })
            .collect();
        assert!(found, "no key {key} in orch.toml");
        std::fs::write(&path, out.join("\n") + "\n").expect("write orch.toml");
    }
}

/// Polls `cond` every 20 ms until it holds or `limit` passes; whether it held.
pub fn wait_until(limit: std::time::Duration, mut cond: impl FnMut() -> bool) -> bool {
    let until = std::time::Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if std::time::Instant::now() >= until {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Whether process `pid` is alive (a zombie is not).
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rfind(')').map(|i| s[i + 2..].starts_with('Z')))
        .is_some_and(|zombie| !zombie)
}

/// The real binary running in the background, its stdout and stderr going to files;
/// killed when dropped if still running.
pub struct Background {
    pub child: std::process::Child,
    out: PathBuf,
    err: PathBuf,
}

impl Project {
    /// The real binary as a std command, run in the project folder with a clean
    /// environment.
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut c = std::process::Command::new(ORCH_BIN);
        c.current_dir(self.path())
            .env_remove("ORCH_HOME")
            .env_remove("ORCH_DB")
            .env_remove("ORCH_QUEUE_MD")
            .env_remove("ORCH_QUEUE_MD_READ_ONLY")
            .env_remove("ORCH_LEASE_TOKEN")
            .env_remove("ORCH_RUN_ID")
            .env("RUST_BACKTRACE", "0")
            .args(args);
        c
    }

    /// Starts the binary in the background; `name` names its output files in the
    /// project (`NAME.out`, `NAME.err`).
    pub fn spawn(&self, name: &str, args: &[&str]) -> Background {
        let out = self.file(&format!("{name}.out"));
        let err = self.file(&format!("{name}.err"));
        let child = self
            .command(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&out).expect("stdout file"))
            .stderr(std::fs::File::create(&err).expect("stderr file"))
            .spawn()
            .expect("start orch");
        Background { child, out, err }
    }

    /// The lines of a file in the project (none when it is missing).
    pub fn lines(&self, name: &str) -> Vec<String> {
        std::fs::read_to_string(self.file(name)).unwrap_or_default().lines().map(str::to_string).collect()
    }
}

impl Background {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid()), sig).expect("signal orch");
    }

    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// Waits for the process to end (panics after `limit`); its exit code (`None`:
    /// killed by a signal).
    pub fn wait(&mut self, limit: std::time::Duration) -> Option<i32> {
        let mut status = None;
        let ended = wait_until(limit, || {
            status = self.child.try_wait().expect("wait for orch");
            status.is_some()
        });
        assert!(ended, "orch did not end within {limit:?}:\n{}\n{}", self.stdout(), self.stderr());
        status.and_then(|s| s.code())
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A small xorshift generator for seeded random tests: the same seed, the same run.
pub struct Rng(pub u64);

impl Rng {
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    /// One of `items`, which must not be empty.
    pub fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }

    /// One of `items`, none when there are none.
    pub fn pick_some<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        (!items.is_empty()).then(|| &items[self.below(items.len())])
    }
}
