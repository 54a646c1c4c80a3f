//! Helpers shared by the integration tests: a temporary project folder with `.orch/`,
//! and a way to run the real binary in it.

#![allow(dead_code)] // each test module uses its own subset

use assert_cmd::Command;
use std::path::{Path, PathBuf};

pub const SEED: &str = include_str!("../../../../tests/fixtures/seed_queue.md");

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
        let mut c = Command::cargo_bin("orch").expect("orch binary");
        c.current_dir(self.path())
            .env_remove("ORCH_HOME")
            .env_remove("ORCH_DB")
            .env_remove("ORCH_QUEUE_MD")
            .env_remove("ORCH_QUEUE_MD_READ_ONLY")
            .env_remove("ORCH_LEASE_TOKEN")
            .env("RUST_BACKTRACE", "0")
            .args(args);
        c
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
