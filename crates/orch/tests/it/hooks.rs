//! Hooks (`[hooks]` of orch.toml): run once per change after it is committed, by the
//! dispatcher and by a command line alike; a hook reading the task sees the new
//! status; one past `hooks.timeout` is killed with its group and logged; a failing one
//! changes nothing and stops nothing; task text reaches a hook as one argument.

use crate::common::{Project, alive, wait_until};
use crate::dispatch::{REPORT, task, worker};
use std::time::Duration;

/// Appends `[hooks]` to orch.toml.
fn hooks(p: &Project, table: &str) {
    let path = p.file(".orch/orch.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("[hooks]\n", &format!("[hooks]\n{table}\n"), 1)).unwrap();
}

/// A hook that logs its event, task, `ORCH_STATUS`, the status `orch show` reads at
/// that moment, and its first argument (the task text) to `hooks.log`.
fn logging_hook(p: &Project) {
    let orch = env!("CARGO_BIN_EXE_orch");
    p.write(
        "hook.sh",
        &format!(
            "seen=$('{orch}' show \"$ORCH_TASK_ID\" --json 2>/dev/null | tr -d ' \\n' | grep -o '\"status\":\"[A-Z_]*\"' | head -n1 | cut -d'\"' -f4)\n\
             echo \"$ORCH_EVENT ${{ORCH_TASK_ID:--}} ${{ORCH_STATUS:--}} ${{seen:--}} [$1] ${{ORCH_LEASE_TOKEN:-no-token}}\" >> hooks.log\n"
        ),
    );
    let argv = r#"["sh", "hook.sh", "{task}"]"#;
    hooks(
        p,
        &format!(
            "on_done = {argv}\non_failed = {argv}\non_blocked = {argv}\non_retry_exhausted = {argv}\non_idle = {argv}"
        ),
    );
}

/// `orch events --json ARGS…`, one object per line.
fn events(p: &Project, args: &[&str]) -> Vec<serde_json::Value> {
    let mut a = vec!["events", "--json"];
    a.extend(args);
    p.ok(&a).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn sorted_lines(p: &Project, name: &str) -> Vec<String> {
    let mut lines = p.lines(name);
    lines.sort();
    lines
}

#[test]
fn the_dispatcher_fires_one_hook_per_change_after_it_is_committed() {
    let p = Project::init(None);
    worker(&p, &format!("case \"$1\" in\nperm*) exit 64 ;;\nflaky*) exit 1 ;;\nesac\n{REPORT}"), &["{task}"]);
    logging_hook(&p);
    p.ok(&["add", "ok $(touch pwned) `id` ; echo"]);
    p.ok(&["add", "perm"]);
    p.ok(&["add", "flaky", "--max-attempts", "1"]);
    p.ok(&["add", "after flaky", "--depends-on", "ORCH-003"]);
    p.ok(&["run", "--workers", "1", "--until-idle", "--max-wait", "0s", "--quiet"]);
    assert_eq!(
        sorted_lines(&p, "hooks.log"),
        [
            "blocked ORCH-004 BLOCKED BLOCKED [after flaky] no-token",
            "done ORCH-001 DONE DONE [ok $(touch pwned) `id` ; echo] no-token",
            "failed ORCH-002 FAILED FAILED [perm] no-token",
            "idle - - - [] no-token",
            "retry_exhausted ORCH-003 FAILED FAILED [flaky] no-token",
        ]
    );
    assert!(!p.file("pwned").exists(), "task text never reached a shell");
    let events = p.ok(&["events", "--json"]);
    assert!(!events.contains("\"hook."), "no hook failed: {events}");
}

#[test]
fn a_command_line_change_fires_its_hook_before_the_command_returns() {
    let p = Project::init_plain(None);
    logging_hook(&p);
    p.ok(&["add", "by an agent"]);
    p.ok(&["add", "to cancel"]);
    p.ok(&["add", "to fail"]);
    let v = p.json(&["pick", "--owner", "w"]);
    let token = v["lease"]["token"].as_str().unwrap().to_string();
    p.ok(&["done", "ORCH-001", "--lease", &token]);
    assert_eq!(p.lines("hooks.log"), ["done ORCH-001 DONE DONE [by an agent] no-token"]);
    p.ok(&["cancel", "ORCH-002"]);
    let v = p.json(&["pick", "--owner", "w"]);
    let token = v["lease"]["token"].as_str().unwrap().to_string();
    // A worker's `fail` with its token in the environment: the hook gets none of it.
    p.orch(&["fail", "ORCH-003", "--reason", "no disk", "--permanent"])
        .env("ORCH_LEASE_TOKEN", &token)
        .assert()
        .success();
    assert_eq!(
        p.lines("hooks.log"),
        [
            "done ORCH-001 DONE DONE [by an agent] no-token",
            "blocked ORCH-002 BLOCKED BLOCKED [to cancel] no-token",
            "failed ORCH-003 FAILED FAILED [to fail] no-token",
        ]
    );
    // A change that moves no status (a note) fires nothing.
    p.ok(&["note", "ORCH-001", "later"]);
    assert_eq!(p.lines("hooks.log").len(), 3);
}

#[test]
fn a_hook_past_its_timeout_is_killed_with_its_group_and_logged() {
    let p = Project::init_plain(None);
    p.write("slow.sh", "echo $$ > hook.pid\nsleep 60 &\necho $! >> hook.pid\nwait\n");
    hooks(&p, "on_done = [\"sh\", \"slow.sh\"]\ntimeout = \"1s\"");
    p.ok(&["add", "x"]);
    let v = p.json(&["pick", "--owner", "w"]);
    let token = v["lease"]["token"].as_str().unwrap().to_string();
    let (code, _, err) = p.run(&["done", "ORCH-001", "--lease", &token]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("hook on_done (sh): still running after 1s (hooks.timeout): killed for ORCH-001"), "{err}");
    let pids: Vec<i32> = p.lines("hook.pid").iter().filter_map(|l| l.trim().parse().ok()).collect();
    assert_eq!(pids.len(), 2, "the hook and its child started");
    assert!(wait_until(Duration::from_secs(10), || pids.iter().all(|pid| !alive(*pid))), "{pids:?} still alive");
    assert_eq!(task(&p, "ORCH-001")["status"], "DONE");
    let events = events(&p, &["--task", "ORCH-001"]);
    let timeouts: Vec<&serde_json::Value> = events.iter().filter(|e| e["event"] == "hook.timeout").collect();
    assert_eq!(timeouts.len(), 1, "{events:?}");
    assert_eq!(timeouts[0]["level"], "warn");
    assert_eq!(timeouts[0]["msg"], "on_done (sh): still running after 1s (hooks.timeout): killed");
}

#[test]
fn a_failing_hook_changes_nothing_and_the_dispatcher_goes_on() {
    let p = Project::init(None);
    worker(&p, REPORT, &[]);
    hooks(&p, "on_done = [\"sh\", \"-c\", \"exit 3\"]\non_idle = [\"no-such-program-for-orch-hooks\"]");
    for i in 0..3 {
        p.ok(&["add", &format!("task {i}")]);
    }
    let (code, _, err) = p.run(&["run", "--workers", "2", "--until-idle", "--max-wait", "0s", "--quiet"]);
    assert_eq!(code, 0, "{err}");
    for id in ["ORCH-001", "ORCH-002", "ORCH-003"] {
        assert_eq!(task(&p, id)["status"], "DONE", "{id}");
    }
    let failed: Vec<String> = events(&p, &[])
        .iter()
        .filter(|e| e["event"] == "hook.failed")
        .map(|e| format!("{} {}", e["task_id"].as_str().unwrap_or("-"), e["msg"].as_str().unwrap_or("")))
        .collect();
    let mut failed = failed;
    failed.sort();
    assert_eq!(failed.len(), 4, "{failed:?}");
    assert!(failed[0].starts_with("- on_idle (no-such-program-for-orch-hooks): could not start"), "{failed:?}");
    assert_eq!(
        failed[1..],
        [
            "ORCH-001 on_done (sh): exit code 3",
            "ORCH-002 on_done (sh): exit code 3",
            "ORCH-003 on_done (sh): exit code 3"
        ]
    );
}
