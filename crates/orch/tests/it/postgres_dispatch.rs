//! PostgreSQL under the real dispatcher: `orch run` processes in two homes (as two
//! hosts) draining one queue, `orch run` going on while the server restarts, and an
//! idle `orch run` woken by LISTEN/NOTIFY. Workers are `sh` one-liners whose own side
//! effect — a line with `$ORCH_TASK_ID` appended to a file — is what is counted.
//! Skipped like the rest of the PostgreSQL tests without `ORCH_TEST_PG`.

use crate::common::Project;
use crate::postgres::{PrivateServer, TestDb, add_tasks, open_orch, with_db};
use orch::ops::NewTask;
use orch_core::task::Status;
use orch_store::ListFilter;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A home whose worker runs `first` (shell), then appends `$ORCH_TASK_ID` and `more`
/// (shell words) as one line to `marks`; no report rules, no QUEUE.md view.
fn worker_home(marks: &Path, first: &str, more: &str) -> Project {
    let p = Project::init(None);
    let script = format!(r#"{first}echo \"$ORCH_TASK_ID{more}\" >> '{}'"#, marks.display());
    p.set_config("command", &format!(r#"["sh", "-c", "{script}"]"#));
    p.set_config("compact_report", "false");
    p.set_config("file", r#""""#);
    p
}

/// How many times each task id appears first on a line of `marks`.
fn marked(marks: &Path) -> BTreeMap<String, usize> {
    let text = std::fs::read_to_string(marks).unwrap_or_default();
    let mut n = BTreeMap::new();
    for line in text.lines() {
        let id = line.split_whitespace().next().unwrap_or_default();
        *n.entry(id.to_string()).or_default() += 1;
    }
    n
}

/// `orch --db URL ARGS…` in the home, as a child process.
fn spawn(p: &Project, url: &str, args: &[&str]) -> Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_orch"))
        .arg("--db")
        .arg(url)
        .args(args)
        .current_dir(p.path())
        .env_remove("ORCH_HOME")
        .env_remove("ORCH_DB")
        .env_remove("ORCH_LEASE_TOKEN")
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn orch")
}

/// Waits for a child, killing it after `limit`; its exit code and stderr.
fn finish(mut child: Child, limit: Duration) -> (Option<i32>, String) {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if child.try_wait().unwrap().is_none() {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Asserts that every task is DONE; the number of runs of each, by id.
fn runs_of_done_tasks(url: &str) -> BTreeMap<String, usize> {
    let backend = orch_store::open(url).unwrap();
    orch_store::read(backend.as_ref(), |tx| {
        let mut runs = BTreeMap::new();
        for t in tx.task_list(&ListFilter::default())? {
            assert_eq!(t.status, Status::Done, "{} is {}", t.id, t.status);
            runs.insert(t.id.clone(), tx.runs_of(&t.id)?.len());
        }
        Ok(runs)
    })
    .unwrap()
}

#[test]
fn two_orch_run_dispatchers_on_one_database_run_every_task_exactly_once() {
    let Some(db) = TestDb::create("two_orch_run") else { return };
    let dir = tempfile::tempdir().unwrap();
    let marks = dir.path().join("marks");
    let homes = [worker_home(&marks, "", ""), worker_home(&marks, "", "")];
    let ids = add_tasks(&db.url, 60);
    let runs: Vec<Child> = homes
        .iter()
        .map(|p| spawn(p, &db.url, &["run", "--until-idle", "--max-wait", "0s", "--workers", "4", "--json"]))
        .collect();
    let mut started = Vec::new();
    for child in runs {
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "orch run: {err}");
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("run --json");
        started.push(summary["counts"]["started"].as_u64().unwrap());
    }
    let seen = marked(&marks);
    let twice: Vec<String> = seen.iter().filter(|(_, n)| **n != 1).map(|(id, _)| runs_told(&db.url, id)).collect();
    assert!(twice.is_empty(), "workers that ran more than once: {twice:?}");
    assert_eq!(seen.len(), ids.len(), "every task's worker ran");
    assert!(runs_of_done_tasks(&db.url).values().all(|n| *n == 1));
    assert_eq!(started.iter().sum::<u64>(), ids.len() as u64, "{started:?}");
    assert!(started.iter().all(|n| *n > 0), "both dispatchers worked: {started:?}");
}

#[test]
fn orch_run_goes_on_while_the_server_restarts_and_loses_no_task() {
    let Some(server) = PrivateServer::start("orch_run_restart") else { return };
    let url = with_db(server.var("ORCH_TEST_PG"), "postgres");
    let dir = tempfile::tempdir().unwrap();
    let marks = dir.path().join("marks");
    // Workers that take a moment, so the restart lands while some run.
    let p = worker_home(&marks, "sleep 0.2; ", "");
    p.set_config("lease", r#""6s""#);
    let ids = add_tasks(&url, 24);
    let child = spawn(&p, &url, &["run", "--until-idle", "--max-wait", "0s", "--workers", "4", "--quiet"]);
    let until = Instant::now() + Duration::from_secs(60);
    while marked(&marks).len() < 4 {
        assert!(Instant::now() < until, "the dispatcher never started work");
        std::thread::sleep(Duration::from_millis(10));
    }
    let before = marked(&marks).len();
    server.ctl("restart");
    let (code, err) = finish(child, Duration::from_secs(120));
    assert_eq!(code, Some(0), "the dispatcher went on through the restart: {err}");
    let seen = marked(&marks);
    assert!(seen.len() > before, "work went on after the restart");
    assert_eq!(seen.keys().cloned().collect::<Vec<_>>(), ids, "every task's worker ran");
    // Every task DONE; a run the restart cut off may have been run again.
    assert_eq!(runs_of_done_tasks(&url).len(), ids.len(), "no task lost");
}

#[test]
fn orch_run_goes_on_while_its_connections_are_cut_at_any_moment() {
    let Some(db) = TestDb::create("orch_run_cut") else { return };
    let dir = tempfile::tempdir().unwrap();
    let marks = dir.path().join("marks");
    // Quick workers: many commits, so cuts land in some of them.
    let p = worker_home(&marks, "", "");
    p.set_config("lease", r#""6s""#);
    let ids = add_tasks(&db.url, 300);
    let mut child = spawn(&p, &db.url, &["run", "--until-idle", "--max-wait", "0s", "--workers", "4", "--quiet"]);
    let until = Instant::now() + Duration::from_secs(60);
    while marked(&marks).is_empty() && Instant::now() < until && child.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(5));
    }
    // Every connection of the running dispatcher cut, again and again, wherever it is: in
    // a claim, a heartbeat, a COMMIT; for two seconds, then it is left to finish.
    let mut admin = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    let mut cuts = 0;
    let cut_until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < cut_until && child.try_wait().unwrap().is_none() {
        let rows = admin
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .unwrap();
        cuts += rows.len();
        std::thread::sleep(Duration::from_millis(5 + (cuts as u64 * 7) % 20));
    }
    let (code, err) = finish(child, Duration::from_secs(120));
    assert_eq!(code, Some(0), "the dispatcher went on: {err}");
    assert!(cuts >= 5, "connections were cut ({cuts})");
    assert_eq!(marked(&marks).keys().cloned().collect::<Vec<_>>(), ids, "every task's worker ran");
    assert_eq!(runs_of_done_tasks(&db.url).len(), ids.len(), "no task lost");
}

/// A task's runs as `ID: outcome (reason) on OWNER, …`, for a failure message.
fn runs_told(url: &str, id: &str) -> String {
    let backend = orch_store::open(url).unwrap();
    let runs = orch_store::read(backend.as_ref(), |tx| tx.runs_of(id)).unwrap();
    let told: Vec<String> = runs
        .iter()
        .map(|r| {
            format!("{} ({}) by {}", r.outcome.as_deref().unwrap_or("-"), r.reason.as_deref().unwrap_or("-"), r.owner)
        })
        .collect();
    format!("{id}: {}", told.join(", "))
}

/// What the dispatcher recorded of each task's runs: (status, runs, each run's outcome
/// and whether a dispatcher claimed it).
fn runs_recorded(url: &str, id: &str) -> (Status, Vec<(Option<String>, bool)>) {
    let backend = orch_store::open(url).unwrap();
    let (t, runs) = orch_store::read(backend.as_ref(), |tx| Ok((tx.task_get(id)?.unwrap(), tx.runs_of(id)?))).unwrap();
    (t.status, runs.into_iter().map(|r| (r.outcome, r.dispatcher.is_some())).collect())
}

/// An idle `orch run` starts what another host adds, one task after another: each task's
/// worker runs once, under a run the dispatcher claimed, and the task ends DONE. How soon
/// (LISTEN/NOTIFY wakes it at once, not at its 1 s tick) is a figure, not a test: the
/// notification itself is `wait_for_change_sees_another_connections_commit` in the
/// conformance suite, and `benches/dispatch.sh` with `LAT_DB` reports the add-to-start
/// latency on PostgreSQL.
#[test]
fn an_idle_orch_run_starts_each_task_another_host_adds() {
    let Some(db) = TestDb::create("notify_wakeup") else { return };
    let dir = tempfile::tempdir().unwrap();
    let marks = dir.path().join("marks");
    let p = worker_home(&marks, "", "");
    let child = spawn(&p, &db.url, &["run", "--workers", "2", "--quiet"]);
    let lock = p.file(".orch/dispatcher.lock");
    let until = Instant::now() + Duration::from_secs(30);
    while std::fs::read_to_string(&lock).map_or(true, |s| !s.contains("pid")) {
        assert!(Instant::now() < until, "the dispatcher did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let adder_home = tempfile::tempdir().unwrap();
    let adder = open_orch(adder_home.path(), &db.url);
    let mut ids = Vec::new();
    for i in 0..8u64 {
        // Added while the dispatcher is idle, at moments that are not its ticks.
        std::thread::sleep(Duration::from_millis(150 + (i * 137) % 400));
        let (t, _, _) = adder.add(&NewTask { task: format!("wake {i}"), ..NewTask::default() }).unwrap();
        let done =
            crate::common::wait_until(Duration::from_secs(60), || runs_recorded(&db.url, &t.id).0 == Status::Done);
        assert!(done, "{} never ran to its end: {}", t.id, runs_told(&db.url, &t.id));
        ids.push(t.id);
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::SIGTERM).unwrap();
    let (code, err) = finish(child, Duration::from_secs(30));
    assert_eq!(code, Some(0), "{err}");
    let once: BTreeMap<String, usize> = ids.iter().map(|id| (id.clone(), 1)).collect();
    assert_eq!(marked(&marks), once, "each worker ran once");
    for id in &ids {
        let want = (Status::Done, vec![(Some("done".to_string()), true)]);
        assert_eq!(runs_recorded(&db.url, id), want, "{}", runs_told(&db.url, id));
    }
}
