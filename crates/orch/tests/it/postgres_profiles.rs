//! A worker profile's `workers` holds across dispatchers: two `orch run` processes on
//! one PostgreSQL queue never run more tasks of a profile at once than it allows, while
//! the default profile keeps every slot of both. Workers append `start`/`end` lines
//! with their profile to one shared file; the most open at once is what is counted.
//! Skipped like the rest of the PostgreSQL tests without `ORCH_TEST_PG`.

use crate::common::Project;
use crate::postgres::TestDb;
use std::path::Path;
use std::process::Stdio;

/// A home on `url` whose workers (default and profile `two`) log to `log`.
fn home(log: &Path) -> Project {
    let p = Project::init(None);
    let script = format!(
        "echo \"start $1 $ORCH_TASK_ID\" >> '{log}'\nsleep 0.3\necho \"end $1 $ORCH_TASK_ID\" >> '{log}'\n",
        log = log.display()
    );
    p.write("w.sh", &script);
    p.set_config("command", r#"["sh", "w.sh", "default"]"#);
    p.set_config("compact_report", "false");
    p.set_config("file", r#""""#);
    let path = p.file(".orch/orch.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}\n[profiles.two]\ncommand = [\"sh\", \"w.sh\", \"two\"]\nworkers = 2\n"))
        .unwrap();
    p
}

/// The most lines of `profile` between a `start` and its `end` at once in `log`.
fn most_at_once(log: &str, profile: &str) -> usize {
    let (mut now, mut most) = (0usize, 0usize);
    for line in log.lines() {
        match line.split_whitespace().collect::<Vec<_>>()[..] {
            ["start", p, _] if p == profile => {
                now += 1;
                most = most.max(now);
            }
            ["end", p, _] if p == profile => now -= 1,
            _ => {}
        }
    }
    most
}

#[test]
fn a_profiles_workers_hold_across_two_orch_run_on_one_database() {
    let Some(db) = TestDb::create("profile_across") else { return };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let homes = [home(&log), home(&log)];
    for i in 0..8 {
        homes[0].ok(&["--db", &db.url, "add", &format!("two {i}"), "--profile", "two"]);
    }
    for i in 0..4 {
        homes[0].ok(&["--db", &db.url, "add", &format!("plain {i}")]);
    }
    let runs: Vec<_> = homes
        .iter()
        .map(|p| {
            p.command(&["--db", &db.url, "run", "--until-idle", "--max-wait", "0s", "--workers", "3", "--quiet"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in runs {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "orch run: {}", String::from_utf8_lossy(&out.stderr));
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().filter(|l| l.starts_with("start two")).count(), 8, "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("start default")).count(), 4, "{text}");
    assert_eq!(most_at_once(&text, "two"), 2, "never more than `workers = 2` across both:\n{text}");
}
