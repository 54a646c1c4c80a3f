//! The dispatcher through the real binary, with real worker processes and real signals:
//! task text reaching a worker literally, timeouts and cancels that leave no process of
//! the worker's group behind, SIGTERM/SIGINT/SIGHUP giving tasks back uncounted, a worker
//! finishing its own task, an error inside the loop, and the wake-up on a new task.
//! Crashes, recovery and the one-dispatcher lock are in `dispatch_recovery.rs`.

use crate::common::{ORCH_BIN, Project, alive, wait_until};
use nix::sys::signal::Signal;
use serde_json::Value;
use std::time::{Duration, Instant};

/// Writes `worker.sh` and makes it the worker command, with `args` after it.
pub fn worker(p: &Project, script: &str, args: &[&str]) {
    p.write("worker.sh", script);
    let mut argv = vec!["sh".to_string(), "worker.sh".to_string()];
    argv.extend(args.iter().map(|a| a.to_string()));
    p.set_config("command", &serde_json::to_string(&argv).unwrap());
}

/// A worker that records its pid in `pids` and sleeps, ignoring SIGTERM, with a child
/// and a grandchild that do the same (each records its pid too).
pub const STUBBORN: &str = "trap '' TERM\necho $$ >> pids\n\
    sh -c 'echo $$ >> pids; sh -c \"echo \\$\\$ >> pids; exec sleep 60\" & exec sleep 60' &\n\
    sleep 60 &\necho $! >> pids\nwait\n";

/// Prints a valid compact report.
pub const REPORT: &str = "printf -- '- did it\\nRisks: none\\n'\n";

pub fn task(p: &Project, id: &str) -> Value {
    p.json(&["show", id])
}

pub fn pids(p: &Project) -> Vec<i32> {
    p.lines("pids").iter().filter_map(|l| l.trim().parse().ok()).collect()
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn task_text_with_shell_syntax_reaches_the_worker_literally_and_runs_nothing() {
    let p = Project::init(None);
    let script = "printf '%s' \"$1\" > got_task\nprintf '%s' \"$2\" > got_criteria\nprintf '%s' \"$3\" > got_prompt\n\
                  cp \"$ORCH_TASK_JSON\" got_task.json\necho '{\"orch\": nope}'\n"
        .to_string()
        + REPORT;
    worker(&p, &script, &["{task}", "{criteria}", "{prompt}"]);
    let text = r#"$(touch pwned_dollar) `touch pwned_tick` "; touch pwned_quote; ""#;
    let criteria = r#"'; touch pwned_single; echo '$(id) && touch pwned_and"#;
    p.ok(&["add", text, "--criteria", criteria]);
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
    assert_eq!(p.read("got_task"), text);
    assert_eq!(p.read("got_criteria"), criteria);
    let prompt = p.read("got_prompt");
    assert!(prompt.contains(text) && prompt.contains(criteria), "{prompt}");
    let pwned: Vec<String> = std::fs::read_dir(p.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("pwned"))
        .collect();
    assert!(pwned.is_empty(), "a shell ran task text: {pwned:?}");
    let shown = task(&p, "ORCH-001");
    assert_eq!(shown["status"], "DONE");
    // The task file is the task as `show --json` prints it: the same text, the same
    // times (one formatting path, millisecond precision).
    let file: Value = serde_json::from_str(&p.read("got_task.json")).unwrap();
    assert_eq!(file["task"], text);
    for k in ["created_at", "started_at", "due_at"] {
        assert_eq!(file[k], shown[k], "{k}");
    }
    // An unreadable control line is kept in the run's stderr.log, not dropped.
    let run = p.json(&["log", "ORCH-001"])[0]["id"].as_str().unwrap().to_string();
    let stderr = p.read(&format!(".orch/runs/{run}/stderr.log"));
    assert!(stderr.contains("control line not understood: {\"orch\": nope}"), "{stderr}");
}

#[test]
fn without_a_prompt_file_the_fallback_prompt_still_shows_the_notes() {
    let p = Project::init(None);
    std::fs::remove_file(p.file(".orch/prompt.md")).unwrap();
    worker(&p, &("printf '%s' \"$1\" > got_prompt\n".to_string() + REPORT), &["{prompt}"]);
    p.ok(&["add", "mind the notes", "--criteria", "1) it works"]);
    p.ok(&["note", "ORCH-001", "the last attempt ran out of disk"]);
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
    assert_eq!(
        p.read("got_prompt"),
        "Task ORCH-001: mind the notes\nSuccess criteria: 1) it works\nNotes: the last attempt ran out of disk\n"
    );
}

#[test]
fn a_timeout_leaves_no_process_of_the_group_alive() {
    let p = Project::init(None);
    worker(&p, STUBBORN, &[]);
    p.set_config("timeout", "\"2s\"");
    p.set_config("grace", "\"300ms\"");
    p.set_config("backoff", r#"["1h"]"#);
    p.ok(&["add", "hangs and ignores SIGTERM"]);
    let began = Instant::now();
    let out = p.ok(&["run", "--until-idle", "--max-wait", "0s"]);
    assert!(out.contains("ORCH-001 failed (timeout): retry in"), "the recorded reason is shown: {out}");
    assert!(began.elapsed() < secs(30));
    let pids = pids(&p);
    assert_eq!(pids.len(), 4, "worker, child, grandchild, second child: {pids:?}");
    assert!(wait_until(secs(5), || pids.iter().all(|&pid| !alive(pid))), "survivors: {pids:?}");
    let t = task(&p, "ORCH-001");
    assert_eq!(t["status"], "FAILED");
    assert_eq!(p.json(&["log", "ORCH-001"])[0]["reason"], "timeout");
}

#[test]
fn a_cancel_stops_the_whole_group_at_once() {
    let p = Project::init(None);
    worker(&p, STUBBORN, &[]);
    p.ok(&["add", "to be cancelled"]);
    let mut d = p.spawn("run", &["run"]);
    assert!(wait_until(secs(20), || pids(&p).len() == 4), "the worker started: {}", d.stderr());
    let pids = pids(&p);
    p.ok(&["cancel", "ORCH-001", "--reason", "changed my mind"]);
    assert!(wait_until(secs(5), || pids.iter().all(|&pid| !alive(pid))), "survivors: {pids:?}");
    let t = task(&p, "ORCH-001");
    assert_eq!(t["status"], "BLOCKED");
    assert!(t["notes"].as_str().unwrap().contains("cancelled_by_operator"));
    d.signal(Signal::SIGTERM);
    assert_eq!(d.wait(secs(20)), Some(0));
}

#[test]
fn where_a_long_worker_runs_and_its_claim_event_are_written_soon_after_it_starts() {
    let p = Project::init(None);
    worker(&p, "echo $$ >> pids\nexec sleep 60\n", &[]);
    p.ok(&["add", "long"]);
    let mut d = p.spawn("run", &["run"]);
    assert!(wait_until(secs(20), || pids(&p).len() == 1), "the worker started: {}", d.stderr());
    // No other change comes: the record is not left for the next turn.
    let pid = i64::from(pids(&p)[0]);
    let recorded = || p.json(&["log", "ORCH-001"])[0]["pid"].as_i64() == Some(pid);
    assert!(wait_until(secs(2), recorded), "{}", p.json(&["log", "ORCH-001"]));
    // events.jsonl follows while the dispatcher runs, not only when it ends.
    let mirrored = || std::fs::read_to_string(p.file(".orch/events.jsonl")).is_ok_and(|t| t.contains("task.claimed"));
    assert!(wait_until(secs(2), mirrored), "events.jsonl lags");
    d.signal(Signal::SIGTERM);
    assert_eq!(d.wait(secs(20)), Some(0));
}

#[test]
fn a_worker_that_cannot_start_is_a_transient_failure_and_its_slot_goes_on() {
    let p = Project::init(None);
    // A program named by a placeholder passes the check at start and fails to spawn.
    p.set_config("command", r#"["no-such-program-{id}"]"#);
    for t in ["a", "b", "c"] {
        p.ok(&["add", t]);
    }
    let out = p.ok(&["run", "--until-idle", "--max-wait", "0s", "--workers", "2"]);
    for id in ["ORCH-001", "ORCH-002", "ORCH-003"] {
        let t = task(&p, id);
        assert_eq!((t["status"].as_str(), t["attempts"].as_u64()), (Some("FAILED"), Some(1)), "{id}: {out}");
        assert!(t["retry_at"].is_string(), "a transient failure is retried: {t}");
        let reason = p.json(&["log", id])[0]["reason"].as_str().unwrap().to_string();
        assert!(reason.starts_with(&format!("spawn_failed:no-such-program-{id}")), "{reason}");
    }
    assert_eq!(out.matches("failed (spawn_failed:").count(), 3, "{out}");
}

/// Starts a dispatcher over two sleeping workers, sends `sig`, and checks that both
/// tasks are PENDING again with their attempts as before the claim.
fn a_signal_gives_the_running_tasks_back(sig: Signal) {
    let p = Project::init(None);
    worker(&p, "echo $$ >> pids\nexec sleep 60\n", &[]);
    p.ok(&["add", "one"]);
    p.ok(&["add", "two"]);
    let mut d = p.spawn("run", &["run", "--workers", "2"]);
    assert!(wait_until(secs(20), || pids(&p).len() == 2), "both started: {}", d.stderr());
    let running = |p: &Project| p.json(&["list", "--status", "IN_PROGRESS"]).as_array().unwrap().len();
    assert_eq!(running(&p), 2);
    d.signal(sig);
    assert_eq!(d.wait(secs(30)), Some(0), "a signal is a clean stop: {}", d.stderr());
    let name = format!("{sig:?}");
    assert!(d.stdout().contains(&format!("stopped by {name}: started 2,")), "{}", d.stdout());
    for id in ["ORCH-001", "ORCH-002"] {
        let t = task(&p, id);
        assert_eq!((t["status"].as_str(), t["attempts"].as_u64()), (Some("PENDING"), Some(0)), "{id} {name}");
        assert_eq!(p.json(&["log", id])[0]["reason"], "dispatcher_shutdown");
    }
    let pids = pids(&p);
    assert!(wait_until(secs(5), || pids.iter().all(|&pid| !alive(pid))), "workers survived {name}");
}

#[test]
fn sigterm_gives_the_running_tasks_back_uncounted() {
    a_signal_gives_the_running_tasks_back(Signal::SIGTERM);
}

#[test]
fn sigint_gives_the_running_tasks_back_uncounted() {
    a_signal_gives_the_running_tasks_back(Signal::SIGINT);
}

#[test]
fn sighup_gives_the_running_tasks_back_uncounted() {
    a_signal_gives_the_running_tasks_back(Signal::SIGHUP);
}

#[test]
fn a_worker_that_finishes_its_own_task_is_reported_as_such() {
    let p = Project::init(None);
    // ORCH-001 hands in a valid report; ORCH-002 none, which the gate sends back.
    worker(
        &p,
        "if [ \"$ORCH_TASK_ID\" = ORCH-001 ]; then printf -- '- did it myself\\nRisks: none\\n' > r.md; \
         \"$1\" done \"$ORCH_TASK_ID\" --report r.md; else \"$1\" done \"$ORCH_TASK_ID\"; fi\n\
         echo \"done exited $?\"\necho 'words after the fact'\n",
        &[ORCH_BIN],
    );
    p.ok(&["add", "reports itself"]);
    p.ok(&["add", "reports nothing"]);
    let out = p.ok(&["run", "--until-idle", "--max-wait", "0s", "--sequential"]);
    assert!(out.contains("ORCH-001 finished by its worker (run done): now DONE"), "{out}");
    assert!(out.contains("ORCH-002 finished by its worker (run failed): now FAILED"), "{out}");
    assert!(!out.contains("lease was lost"), "{out}");
    let runs = p.json(&["log", "ORCH-001"]);
    let r = &runs[0];
    assert_eq!((r["report"].as_str(), r["verdict"].as_str()), (Some("- did it myself\nRisks: none\n"), Some("PASS")));
    assert_eq!(r["late_report"], Value::Null, "nothing stored after the worker's own done");
    let t2 = task(&p, "ORCH-002");
    assert!(t2["notes"].as_str().unwrap().contains("report_invalid: no Risks section"), "{t2}");
    let run2 = p.json(&["log", "ORCH-002"])[0]["id"].as_str().unwrap().to_string();
    let said = p.read(&format!(".orch/runs/{run2}/stdout.log")) + &p.read(&format!(".orch/runs/{run2}/stderr.log"));
    assert!(said.contains("not done: the gate said RETRY") && said.contains("done exited 5"), "{said}");
}

#[test]
fn an_error_inside_the_loop_stops_the_workers_before_it_is_reported() {
    let p = Project::init(None);
    worker(
        &p,
        "echo $$ >> pids\nif [ \"$ORCH_TASK_ID\" = ORCH-001 ]; then while [ ! -e go ]; do sleep 0.05; done; \
         echo '{\"orch\":{\"usage\":{\"cost_usd\":0.01}}}'; exit 0; fi\nexec sleep 60\n",
        &[],
    );
    p.ok(&["add", "ends first"]);
    p.ok(&["add", "runs on"]);
    let mut d = p.spawn("run", &["run", "--workers", "2"]);
    assert!(wait_until(secs(20), || pids(&p).len() == 2), "both started: {}", d.stderr());
    let pids = pids(&p);
    // Pull a table out from under the dispatcher: recording the first worker's usage fails.
    let db = rusqlite::Connection::open(p.file(".orch/orch.db")).unwrap();
    db.execute_batch("ALTER TABLE runs RENAME TO runs_away").unwrap();
    p.write("go", "");
    assert_eq!(d.wait(secs(30)), Some(1), "the error is reported: {}", d.stderr());
    assert!(d.stderr().contains("runs"), "{}", d.stderr());
    assert!(d.stdout().contains("stopping after an error"), "{}", d.stdout());
    assert!(wait_until(secs(5), || pids.iter().all(|&pid| !alive(pid))), "a worker outlived its dispatcher");
    db.execute_batch("ALTER TABLE runs_away RENAME TO runs").unwrap();
}

#[test]
fn on_a_terminal_the_status_line_counts_the_tasks_eligible_now() {
    // `script` (util-linux) gives the dispatcher a terminal.
    if std::process::Command::new("script").arg("--version").output().is_err() {
        eprintln!("!!! SKIPPED: no `script` command here to run orch on a terminal");
        return;
    }
    let p = Project::init(None);
    worker(&p, &("sleep 0.2\n".to_string() + REPORT), &[]);
    for t in ["a", "b", "c"] {
        p.ok(&["add", t]);
    }
    p.ok(&["add", "waits for c", "--depends-on", "ORCH-003"]);
    let out = std::process::Command::new("script")
        .args(["-q", "-e", "-c", &format!("{ORCH_BIN} run --until-idle --max-wait 0s --sequential"), "/dev/null"])
        .current_dir(p.path())
        .env_remove("ORCH_HOME")
        .env_remove("ORCH_DB")
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    // On the first start: one running, two more eligible (the fourth waits for the third).
    assert!(text.contains("running 1 · done 0 · failed 0 · blocked 0 · queued 2"), "{text}");
    assert!(text.contains("running 1 · done 1 · failed 0 · blocked 0 · queued 1"), "{text}");
}

/// Each task added to an idle dispatcher starts, one after another, and it stops cleanly.
/// How soon (at once, not at the 1 s tick) is a figure, not a test: `benches/dispatch.sh`
/// reports the add-to-start latency; the change notification itself is
/// `wait_for_change_sees_another_connections_commit` in the conformance suite.
#[test]
fn a_task_added_to_an_idle_dispatcher_starts() {
    let p = Project::init(None);
    std::fs::create_dir(p.file("started")).unwrap();
    worker(&p, &("touch \"started/$ORCH_TASK_ID\"\n".to_string() + REPORT), &[]);
    let mut d = p.spawn("run", &["run"]);
    let lock = p.file(".orch/orch.db.dispatcher.lock");
    assert!(wait_until(secs(20), || std::fs::read_to_string(&lock).is_ok_and(|s| !s.is_empty())), "running");
    for i in 1..=5 {
        let id = format!("ORCH-{i:03}");
        p.ok(&["add", "wake up"]);
        assert!(wait_until(secs(30), || task(&p, &id)["status"] == "DONE"), "{id} never ran: {}", d.stderr());
        assert!(p.file(&format!("started/{id}")).exists(), "{id}'s worker did not run");
    }
    d.signal(Signal::SIGTERM);
    assert_eq!(d.wait(secs(20)), Some(0));
}
