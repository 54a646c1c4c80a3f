//! Observability through the real binary: `kpi` and its alerts, trace ids, the event
//! log in the database and in `events.jsonl` (also under SIGKILL), `events --follow`,
//! `events --task`, `workers`, masking (retention is in `retention`); and, in-process,
//! that the operations outside the ordinary transitions (gate, budget, sweep, an
//! abandoned run) log their events too.

use crate::common::{Project, queue_of};
use jiff::{SignedDuration, Timestamp};
use orch::clock::ManualClock;
use orch::config::Config;
use orch::home::Home;
use orch::ops::{ClaimRequest, Options, Orch};
use orch_store::sqlite::Sqlite;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::Arc;

/// `pick --json`: (id, lease token).
pub(crate) fn pick(p: &Project, owner: &str) -> (String, String) {
    let v = p.json(&["pick", "--owner", owner]);
    (v["id"].as_str().unwrap().to_string(), v["lease"]["token"].as_str().unwrap().to_string())
}

pub(crate) fn file_events(p: &Project) -> Vec<Value> {
    p.read(".orch/events.jsonl").lines().map(|l| serde_json::from_str(l).expect("an event line is JSON")).collect()
}

pub(crate) fn json_lines(text: &str) -> Vec<Value> {
    text.lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect()
}

#[test]
fn kpi_of_seven_done_three_failed_and_one_running_fires_the_failure_rate_alert() {
    let p = Project::init_plain(Some(&queue_of(11)));
    for i in 0..10 {
        let (id, token) = pick(&p, &format!("w{i}"));
        if i < 7 {
            p.ok(&["done", &id, "--lease", &token]);
        } else {
            p.ok(&["fail", &id, "--lease", &token, "--reason", "broken", "--permanent"]);
        }
    }
    pick(&p, "still-going");
    let k = p.json(&["kpi"]);
    assert_eq!((k["runs"].as_u64(), k["done"].as_u64(), k["failed"].as_u64()), (Some(10), Some(7), Some(3)), "{k}");
    assert_eq!(k["running"], 1);
    assert_eq!(k["success_rate"], 0.7);
    assert_eq!(k["failure_rate"], 0.3);
    assert_eq!(k["retries"], 0);
    assert_eq!(k["stale"], 0);
    for key in ["latency_p50_s", "latency_p95_s", "wait_p50_s", "wait_p95_s", "throughput_per_h", "cost_usd"] {
        assert!(k[key].is_number(), "{key}: {k}");
    }
    let alerts = k["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{k}");
    assert_eq!(
        (&alerts[0]["name"], &alerts[0]["value"], &alerts[0]["threshold"]),
        (&"failure_rate".into(), &0.3.into(), &0.2.into())
    );
    let (code, out, err) = p.run(&["kpi", "--fail-on-alert"]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(out.contains("ALERT failure_rate") && out.contains("10 finished (7 done, 3 failed), 1 running"), "{out}");
    assert!(err.contains("failure_rate"), "{err}");
    assert!(out.contains("started     11   ended 10 (7 done, 3 failed)"), "{out}");
    assert_eq!((k["runs_started"].as_u64(), k["runs_finished"]["failed"].as_u64()), (Some(11), Some(3)));
    // A window that holds none of it: no runs, no rates, no alert.
    let (code, _, _) = p.run(&["kpi", "--since", "0s", "--fail-on-alert"]);
    assert_eq!(code, 0);
}

#[test]
fn every_claim_has_its_own_trace_id_and_every_event_line_is_json() {
    let p = Project::init(Some(&queue_of(3)));
    let mut picks = 0;
    for owner in ["a", "b", "c"] {
        let (id, token) = pick(&p, owner);
        p.ok(&["fail", &id, "--lease", &token, "--reason", "again", "--permanent"]);
        p.ok(&["retry", &id]);
        picks += 1;
    }
    for owner in ["d", "e", "f"] {
        pick(&p, owner);
        picks += 1;
    }
    let events = file_events(&p);
    for e in &events {
        for key in ["ts", "event", "task_id", "level", "seq"] {
            assert!(e.get(key).is_some(), "{key} missing: {e}");
        }
        assert!(e["ts"].as_str().is_some_and(|t| t.parse::<Timestamp>().is_ok()), "{e}");
    }
    let claims: Vec<&Value> = events.iter().filter(|e| e["event"] == "task.claimed").collect();
    assert_eq!(claims.len(), picks);
    let traces: BTreeSet<&str> = claims.iter().map(|e| e["trace_id"].as_str().unwrap()).collect();
    assert_eq!(traces.len(), picks, "one trace id per claim");
    for t in &traces {
        assert!(t.len() == 32 && t.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)), "{t}");
    }
    // The runs carry the same ids, and every event of a run carries its trace.
    let mut run_traces = BTreeSet::new();
    for id in ["ORCH-001", "ORCH-002", "ORCH-003"] {
        for r in p.json(&["log", id]).as_array().unwrap() {
            run_traces.insert(r["trace_id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(run_traces, traces.iter().map(|t| t.to_string()).collect());
    for e in events.iter().filter(|e| e["run_id"].is_string()) {
        assert!(traces.contains(e["trace_id"].as_str().unwrap()), "{e}");
    }
    // `events --json` prints what the file holds; --task narrows it.
    assert_eq!(json_lines(&p.ok(&["events", "--json"])), events);
    let one = json_lines(&p.ok(&["events", "--json", "--task", "ORCH-002"]));
    assert!(!one.is_empty() && one.iter().all(|e| e["task_id"] == "ORCH-002"));
    let human = p.ok(&["events", "--task", "ORCH-002", "--since", "1h"]);
    assert_eq!(human.lines().count(), one.len(), "{human}");
    assert!(human.contains("task.claimed") && human.contains("trace="), "{human}");
    // `log` is the retry log: every attempt with its trace, class, reason and outcome.
    // (A retried task is first in line again: ORCH-001 had four runs.)
    let log = p.ok(&["log", "ORCH-001"]);
    let lines: Vec<&str> = log.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(lines.len(), 4, "{log}");
    assert!(log.lines().last().unwrap().starts_with("total: 4 attempts tokens=0/0 cost=$0.0000"), "{log}");
    assert!(lines[0].contains("outcome=failed class=permanent reason=again") && lines[0].contains("tokens=0/0"));
    assert!(lines[3].contains("took=running") && lines[3].contains(" trace="), "{log}");
}

#[test]
fn workers_shows_an_owner_that_holds_a_lease() {
    let p = Project::init(Some(&queue_of(2)));
    assert!(p.ok(&["workers"]).contains("no lease is held"));
    let (id, token) = pick(&p, "alice");
    let w = p.json(&["workers"]);
    assert_eq!(w["workers"][0]["last_heartbeat"], Value::Null, "not renewed yet");
    p.ok(&["heartbeat", &id, "--lease", &token]);
    let w = p.json(&["workers"]);
    let held = w["workers"].as_array().unwrap();
    assert_eq!(held.len(), 1, "{w}");
    let h = &held[0];
    assert_eq!((h["owner"].as_str(), h["task_id"].as_str()), (Some("alice"), Some(id.as_str())));
    assert!(h["lease_left_s"].as_f64().unwrap() > 0.0 && h["elapsed_s"].as_f64().unwrap() >= 0.0, "{h}");
    assert!(h["last_heartbeat"].is_string() && h["trace_id"].as_str().unwrap().len() == 32, "{h}");
    assert_eq!(w["queue"]["P1"]["IN_PROGRESS"], 1);
    assert_eq!(w["queue"]["P1"]["PENDING"], 1);
    assert_eq!(w["queue"]["P0"]["PENDING"], 0);
    let text = p.ok(&["workers"]);
    assert!(text.contains("alice") && text.contains(&id) && text.contains(" ago"), "{text}");
}

/// A tiny deterministic generator for the chaos test (no dependency for it).
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn killed_processes_never_leave_a_change_without_its_event_or_an_event_without_its_change() {
    const ROUNDS: usize = 15;
    const AT_ONCE: usize = 4;
    let p = Project::init(Some(&queue_of(8)));
    let bin = env!("CARGO_BIN_EXE_orch");
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for round in 0..ROUNDS {
        let mut children = Vec::new();
        for k in 0..AT_ONCE {
            let target = format!("ORCH-{:03}", 1 + rng.below(12));
            let args: Vec<String> = match rng.below(5) {
                0 => vec!["add".into(), format!("chaos {round}.{k}")],
                1 | 2 => vec!["pick".into(), "--owner".into(), format!("k{k}")],
                3 => vec!["done".into(), target, "--force".into()],
                _ => vec!["fail".into(), target, "--force".into(), "--reason".into(), "chaos".into()],
            };
            let child = std::process::Command::new(bin)
                .args(&args)
                .current_dir(p.path())
                .env_remove("ORCH_HOME")
                .env_remove("ORCH_DB")
                .env_remove("ORCH_LEASE_TOKEN")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn orch");
            // A command takes 60-300 ms here (more when four run at once): kill before,
            // during or after it.
            children.push((child, std::time::Duration::from_millis(rng.below(400))));
        }
        let start = std::time::Instant::now();
        children.sort_by_key(|(_, at)| *at);
        for (mut child, at) in children {
            std::thread::sleep(at.saturating_sub(start.elapsed()));
            let _ = child.kill(); // SIGKILL, wherever it is.
            let _ = child.wait();
        }
    }
    p.ok(&["add", "the flush after the chaos"]);

    let db = rusqlite::Connection::open(p.file(".orch/orch.db")).unwrap();
    let tasks: HashMap<String, String> = db
        .prepare("SELECT id, status FROM tasks")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let runs: HashMap<String, bool> = db
        .prepare("SELECT id, ended_at IS NOT NULL FROM runs")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let events = json_lines(&p.ok(&["events", "--json"]));
    assert!(runs.len() > 3 && tasks.len() > 9, "the chaos did something: {} runs, {} tasks", runs.len(), tasks.len());

    // Every task was created by an event, and every creation event has its task.
    let created: BTreeMap<String, usize> = events
        .iter()
        .filter(|e| e["event"] == "task.added" || e["event"] == "task.imported")
        .fold(BTreeMap::new(), |mut m, e| {
            *m.entry(e["task_id"].as_str().unwrap().to_string()).or_default() += 1;
            m
        });
    assert_eq!(created.keys().cloned().collect::<BTreeSet<_>>(), tasks.keys().cloned().collect::<BTreeSet<_>>());
    assert!(created.values().all(|n| *n == 1), "{created:?}");
    // Every run has exactly one claim event, and every claim event has its run.
    let mut claims: HashMap<String, usize> = HashMap::new();
    for e in events.iter().filter(|e| e["event"] == "task.claimed") {
        *claims.entry(e["run_id"].as_str().unwrap().to_string()).or_default() += 1;
    }
    assert_eq!(claims.keys().collect::<BTreeSet<_>>(), runs.keys().collect::<BTreeSet<_>>());
    assert!(claims.values().all(|n| *n == 1));
    // A run ended exactly when events of it leave IN_PROGRESS.
    let ended: BTreeSet<&str> = events
        .iter()
        .filter(|e| e["from"] == "IN_PROGRESS" && e["to"] != "IN_PROGRESS")
        .map(|e| e["run_id"].as_str().expect("an event that ends a run names it"))
        .collect();
    let ended_in_db: BTreeSet<&str> = runs.iter().filter(|(_, ended)| **ended).map(|(id, _)| id.as_str()).collect();
    assert_eq!(ended, ended_in_db);
    // Each task's status is where its last event left it.
    let mut last_to: HashMap<String, String> = HashMap::new();
    for e in events.iter().filter(|e| e["to"].is_string()) {
        last_to.insert(e["task_id"].as_str().unwrap().to_string(), e["to"].as_str().unwrap().to_string());
    }
    for (id, status) in &tasks {
        assert_eq!(last_to.get(id), Some(status), "task {id}");
    }
    // The file caught up with the database: the same events, line for line.
    assert_eq!(file_events(&p), events);
}

#[test]
fn events_of_a_task_that_does_not_exist_exit_4() {
    let p = Project::init(Some(&queue_of(1)));
    for args in [
        &["events", "--task", "NOPE"][..],
        &["events", "--task", "ORCH-404", "--json"],
        &["events", "-f", "--task", "NOPE"],
    ] {
        let (code, out, err) = p.run(args);
        // Under --json the error is on stdout too (cli_json.rs).
        let json = args.contains(&"--json");
        assert_eq!((code, out.contains("\"task_not_found\"")), (4, json), "{args:?}: {out} {err}");
        assert_eq!(out.is_empty(), !json, "{args:?}: {out}");
        assert!(err.contains("no task"), "{err}");
    }
    assert!(p.ok(&["events", "--task", "ORCH-001"]).contains("task.imported"));
}

/// Replaces the `[events]` section of the project's orch.toml (the last one `init` writes).
fn set_mask(p: &Project, patterns: &str) {
    let text = p.read(".orch/orch.toml");
    let head = &text[..text.find("[events]").expect("an [events] section")];
    p.write(".orch/orch.toml", &format!("{head}[events]\nmask = [{patterns}]\n"));
}

#[test]
fn masking_hides_a_configured_secret_in_events_output_log_and_events_jsonl() {
    let p = Project::init(None);
    p.ok(&["add", "stored before the pattern: hunter9"]);
    set_mask(&p, "'hunter[0-9]+'");
    p.ok(&["add", "deploy with hunter42"]);
    p.ok(&["note", "ORCH-002", "the pass is hunter43"]);
    let (id, token) = pick(&p, "w");
    p.ok(&["fail", &id, "--lease", &token, "--reason", "rejected hunter44", "--permanent"]);
    let file = p.read(".orch/events.jsonl");
    for secret in ["hunter42", "hunter43", "hunter44"] {
        assert!(!file.contains(secret), "{secret} in events.jsonl:\n{file}");
    }
    assert!(file.contains("deploy with [masked]"), "{file}");
    // What `events` and `log` print is masked, even an event stored before the pattern.
    for out in [p.ok(&["events"]), p.ok(&["events", "--json"]), p.ok(&["log", &id]), p.ok(&["log", &id, "--json"])] {
        assert!(!out.contains("hunter"), "{out}");
    }
    assert!(p.ok(&["events"]).contains("[masked]"));
    // A run's reason and report are history too: masked in the database as written.
    let (id2, token2) = pick(&p, "w");
    p.write("report.md", "- deployed with hunter45\nRisks: none");
    p.ok(&["done", &id2, "--lease", &token2, "--report", "report.md"]);
    let db = rusqlite::Connection::open(p.file(".orch/orch.db")).unwrap();
    let stored: Vec<(Option<String>, Option<String>)> = db
        .prepare("SELECT reason, report FROM runs ORDER BY started_at")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        stored,
        [
            (Some("rejected [masked]".to_string()), None),
            (None, Some("- deployed with [masked]\nRisks: none".to_string()))
        ]
    );
    // The task itself is the user's: it keeps its text.
    assert_eq!(p.json(&["show", "ORCH-002"])["task"], "deploy with hunter42");
    // A bad pattern is refused with the key named.
    set_mask(&p, "'('");
    let (code, _, err) = p.run(&["list"]);
    assert_eq!(code, 2);
    assert!(err.contains("events.mask"), "{err}");
}

#[test]
fn events_follow_prints_new_events_and_stops_quietly_on_sigint_and_on_a_closed_pipe() {
    let p = Project::init(None);
    p.ok(&["add", "before"]);
    for stop_by_signal in [true, false] {
        let mut child = spawn_piped(&p, &["events", "--follow", "--json"]);
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert!(line.contains("\"before\""), "the backlog comes first: {line}");
        let title = format!("while following {stop_by_signal}");
        p.ok(&["add", &title]);
        let seen = loop {
            line.clear();
            assert!(out.read_line(&mut line).unwrap() > 0, "the follower ended early");
            let e: Value = serde_json::from_str(&line).unwrap();
            if e["msg"] == title.as_str() {
                break e;
            }
        };
        assert_eq!(seen["event"], "task.added");
        if stop_by_signal {
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::SIGINT).unwrap();
        } else {
            drop(out);
            // Wakes the follower even if it did not see the pipe close while idle.
            p.ok(&["add", "after the reader left"]);
        }
        let status = child.wait().unwrap();
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        assert_eq!((status.code(), err.as_str()), (Some(0), ""), "stopped by signal: {stop_by_signal}");
    }
}

/// The real binary in the project, stdout and stderr piped.
fn spawn_piped(p: &Project, args: &[&str]) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_orch"))
        .args(args)
        .current_dir(p.path())
        .env_remove("ORCH_HOME")
        .env_remove("ORCH_DB")
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn orch")
}

#[test]
fn gate_budget_sweep_and_abandoned_runs_log_their_events_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home { dir: dir.path().join(".orch") };
    std::fs::create_dir_all(&home.dir).unwrap();
    let mut config = Config::default();
    config.queue.file = String::new();
    let db = Sqlite::create(&home.db_path()).unwrap();
    let clock = Arc::new(ManualClock::new("2026-03-01T00:00:00Z".parse().unwrap()));
    let orch = Orch::with_parts(home.clone(), config, Box::new(db), &Options::default(), clock.clone());
    let names = || -> Vec<String> {
        std::fs::read_to_string(home.events_path())
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["event"].as_str().unwrap().to_string())
            .collect()
    };
    let new = |t: &str| orch::ops::NewTask { task: t.into(), ..Default::default() };
    orch.add(&new("one")).unwrap();
    orch.add(&new("two")).unwrap();
    let req = |owner: &str| ClaimRequest::new(owner, SignedDuration::from_mins(1));
    let (c, _) = orch.claim(&req("a")).unwrap();
    let run = c.unwrap().run;
    orch.set_verdict(&run.id, "RETRY", "no Risks section").unwrap();
    assert_eq!(names().last().unwrap(), "gate.verdict");
    orch.budget_exceeded(Some(&run.task_id), "cost_limit: $1 spent").unwrap();
    assert_eq!(names().last().unwrap(), "budget.exceeded");
    clock.advance(SignedDuration::from_mins(2));
    orch.sweep().unwrap();
    let tail = ["lease.expired", "run.finished", "retry.scheduled"].map(String::from);
    assert!(names().ends_with(&tail), "{:?}", names());
    let (c, _) = orch.claim(&req("b")).unwrap();
    let second = c.unwrap().run;
    orch.end_orphan_run(&second.id).unwrap();
    assert_eq!(names().last().unwrap(), "run.finished");
    let log = orch.runs(&second.task_id).unwrap();
    assert_eq!(log.last().unwrap().outcome.as_deref(), Some("abandoned"));
}

#[test]
fn the_events_doc_names_every_event_and_every_field() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let doc = std::fs::read_to_string(root.join("docs/EVENTS.md")).expect("docs/EVENTS.md");
    let src = std::fs::read_to_string(root.join("crates/orch-core/src/event.rs")).unwrap();
    let names: Vec<&str> =
        src.lines().filter_map(|l| l.trim().strip_prefix("pub const ")).filter_map(|l| l.split('"').nth(1)).collect();
    assert!(names.len() > 15, "{names:?}");
    for n in names {
        assert!(doc.contains(&format!("`{n}`")), "docs/EVENTS.md does not describe `{n}`");
    }
    for field in
        ["seq", "ts", "level", "event", "task_id", "run_id", "trace_id", "owner", "attempt", "from", "to", "msg"]
    {
        assert!(doc.contains(&format!("| `{field}`")), "docs/EVENTS.md does not describe the field `{field}`");
    }
    let kpi = std::fs::read_to_string(root.join("docs/KPI.md")).expect("docs/KPI.md");
    for key in ["success_rate", "failure_rate", "latency_p95_s", "wait_p50_s", "throughput_per_h", "stale", "min_runs"]
    {
        assert!(kpi.contains(&format!("`{key}`")), "docs/KPI.md does not define `{key}`");
    }
}

/// The store primitives behind `events`, `kpi`, `workers` and `prune`, on every backend
/// (`observe::store::sqlite::*`, `observe::store::postgres::*`, and both behind the mask:
/// the conformance suite's `conformance!`; the PostgreSQL half needs `ORCH_TEST_PG`).
mod store {
    use crate::conformance::{Env, Kind};
    use jiff::SignedDuration;
    use orch::ops::{ClaimRequest, Claimed, Finish, NewTask};
    use orch_core::event::kind;
    use orch_core::policy::FailureClass;
    use orch_core::state::Auth;
    use orch_store::EventQuery;

    fn claim(env: &Env, owner: &str) -> Claimed {
        let req = ClaimRequest::new(owner, SignedDuration::from_mins(15));
        env.orch.claim(&req).unwrap().0.expect("a task to claim")
    }

    fn finish(env: &Env, c: &Claimed, f: Finish) {
        let report = matches!(f, Finish::Done { .. }).then_some("- ok\nRisks: none");
        env.orch.finish(&c.task.id, Auth::Token(c.run.lease_token.clone()), f, report).unwrap();
    }

    fn fail(class: FailureClass) -> Finish {
        Finish::Fail { reason: "boom".into(), class }
    }

    fn advance(env: &Env, secs: i64) {
        env.clock.advance(SignedDuration::from_secs(secs));
    }

    fn observability_reads_and_prune(env: &Env) {
        let t0 = env.orch.now();
        for t in ["a", "b", "c"] {
            env.orch.add(&NewTask { task: t.into(), ..NewTask::default() }).unwrap();
        }
        advance(env, 10);
        let a1 = claim(env, "x"); // ORCH-001 waited 10 s
        advance(env, 5);
        finish(env, &a1, fail(FailureClass::Transient)); // retry at +60 s
        let b = claim(env, "y"); // ORCH-002 waited 15 s
        finish(env, &b, fail(FailureClass::Permanent));
        advance(env, 61);
        let a2 = claim(env, "x"); // ORCH-001 again: ready for 1 s
        let hb = env.orch.now() + SignedDuration::from_mins(15);
        env.orch
            .heartbeat(&a2.task.id, Auth::Token(a2.run.lease_token.clone()), SignedDuration::from_mins(15))
            .unwrap();
        assert!(hb <= env.orch.get(&a2.task.id).unwrap().lease.unwrap().expires_at);
        advance(env, 3);
        finish(env, &a2, Finish::Done { notes: None });
        advance(env, 1);
        let c = claim(env, "z"); // ORCH-003, still running
        let db = env.orch.db();

        // runs_since: started or ended in the window, or still going.
        let all = orch_store::read(db, |tx| tx.runs_since(t0)).unwrap();
        let ids: Vec<&str> = all.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, [&a1.run.id, &b.run.id, &a2.run.id, &c.run.id]);
        let late = orch_store::read(db, |tx| tx.runs_since(env.orch.now() + SignedDuration::from_secs(1))).unwrap();
        assert_eq!(late.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [&c.run.id]);

        // events_query: each filter, newest first, limits, a cursor.
        let q = |f: &dyn Fn(&mut EventQuery)| {
            let mut q = EventQuery::default();
            f(&mut q);
            orch_store::read(db, |tx| tx.events_query(&q)).unwrap()
        };
        let of_a = q(&|q| q.task_id = Some("ORCH-001".into()));
        assert!(of_a.len() > 4 && of_a.iter().all(|e| e.task_id.as_deref() == Some("ORCH-001")));
        assert!(of_a.windows(2).all(|w| w[0].seq < w[1].seq));
        let claims = q(&|q| q.kinds = vec![kind::TASK_CLAIMED.into()]);
        assert_eq!(claims.len(), 4);
        let beat = q(&|q| {
            q.run_id = Some(a2.run.id.clone());
            q.kinds = vec![kind::LEASE_RENEWED.into(), kind::TASK_DONE.into()];
            q.newest_first = true;
            q.limit = 1;
        });
        assert_eq!(beat.iter().map(|e| e.event.as_str()).collect::<Vec<_>>(), [kind::TASK_DONE]);
        let recent = q(&|q| q.since = Some(env.orch.now()));
        assert_eq!(recent.iter().map(|e| e.event.as_str()).collect::<Vec<_>>(), [kind::TASK_CLAIMED]);
        let rest = q(&|q| q.after = claims[2].seq);
        assert_eq!(rest.first().map(|e| e.seq), Some(claims[2].seq + 1));

        // events_of_tasks_run_since: by task, then in order.
        let ev = orch_store::read(db, |tx| tx.events_of_tasks_run_since(t0, &[kind::TASK_ADDED, kind::TASK_CLAIMED]))
            .unwrap();
        let got: Vec<(String, String)> =
            ev.iter().map(|e| (e.task_id.clone().unwrap(), e.event.clone())).collect::<Vec<_>>();
        let want = [
            ("ORCH-001", kind::TASK_ADDED),
            ("ORCH-001", kind::TASK_CLAIMED),
            ("ORCH-001", kind::TASK_CLAIMED),
            ("ORCH-002", kind::TASK_ADDED),
            ("ORCH-002", kind::TASK_CLAIMED),
            ("ORCH-003", kind::TASK_ADDED),
            ("ORCH-003", kind::TASK_CLAIMED),
        ];
        assert_eq!(got, want.map(|(a, b)| (a.to_string(), b.to_string())));

        // The indicators over all of it.
        let k = env.orch.kpi(SignedDuration::from_hours(1)).unwrap();
        assert_eq!((k.runs, k.done, k.failed, k.running, k.retries), (3, 1, 2, 1, 1));
        // Waits 10 s (a), 15 s (b), 1 s (a after its backoff), 80 s (c): p50 is 10 s.
        assert_eq!((k.wait_p50_s, k.wait_p95_s), (Some(10.0), Some(80.0)));
        assert_eq!(k.latency_p50_s, Some(3.0));
        // The window's counts and histograms: runs of 5 s, 0 s and 3 s; waits of 10, 15, 1, 80 s.
        let finished = (k.counts.runs_finished["failed"], k.counts.runs_finished["done"]);
        assert_eq!((k.counts.runs_started, finished, k.counts.lease_expiries), (4, (2, 1), 0));
        let counts = |h: &orch_core::histogram::Histogram| h.buckets.iter().map(|b| b.count).collect::<Vec<_>>();
        assert_eq!(
            (k.run_duration.count, k.run_duration.sum_s, &counts(&k.run_duration)[..3]),
            (3, 8.0, &[1, 3, 3][..])
        );
        assert_eq!(
            (k.queue_wait.count, k.queue_wait.sum_s, &counts(&k.queue_wait)[2..8]),
            (4, 106.0, &[1, 1, 3, 3, 3, 4][..])
        );

        // prune_before: ORCH-001 (DONE) keeps its last run and loses its events; the
        // FAILED and the running task keep everything.
        let cutoff = env.orch.now() + SignedDuration::from_secs(1);
        let before: usize = orch_store::read(db, |tx| tx.events_after(0, 100_000)).unwrap().len();
        let pruned = orch_store::write(db, |tx| tx.prune_before(cutoff)).unwrap();
        assert_eq!(
            (pruned.run_ids.clone(), pruned.tasks, pruned.events as usize),
            (vec![a1.run.id.clone()], 1, of_a.len())
        );
        let left = orch_store::read(db, |tx| tx.runs_since(t0)).unwrap();
        assert_eq!(left.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [&b.run.id, &a2.run.id, &c.run.id]);
        let events = orch_store::read(db, |tx| tx.events_after(0, 100_000)).unwrap();
        assert_eq!(events.len(), before - of_a.len());
        assert!(events.iter().all(|e| e.task_id.as_deref() != Some("ORCH-001")));
        let again = orch_store::write(db, |tx| tx.prune_before(cutoff)).unwrap();
        assert_eq!((again.run_ids.len(), again.events, again.tasks), (0, 0, 0));
    }

    conformance! {
        observability_reads_and_prune,
    }
}
