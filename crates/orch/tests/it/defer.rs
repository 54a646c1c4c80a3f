//! Deferrals and not-before times through the real dispatcher: a worker that says "not
//! now" (its `defer` control line, or an agent's usage limit read from the kept
//! fixtures of Claude Code's and Codex's output) puts its task back without counting
//! the attempt and, with `scope: profile`, holds every task of its profile until the
//! time given while other profiles run; `add --not-before` holds a task until its time.
//! Times are asserted from what the workers and the store recorded, never by how long
//! something took.

use crate::common::{Project, wait_until};
use crate::dispatch::{REPORT, task, worker};
use jiff::Timestamp;
use serde_json::Value;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(30);

/// A project whose default worker reports at once and whose profile `agent` runs
/// `agent.sh` (`script`), one task at a time.
fn project(script: &str) -> Project {
    let p = Project::init(None);
    worker(&p, REPORT, &[]);
    p.write("agent.sh", script);
    let path = p.file(".orch/orch.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}\n[profiles.agent]\ncommand = [\"sh\", \"agent.sh\"]\nworkers = 1\n"))
        .unwrap();
    p
}

fn ts(v: &Value) -> Timestamp {
    v.as_str().unwrap_or_else(|| panic!("not a time: {v}")).parse().unwrap()
}

fn runs(p: &Project, id: &str) -> Vec<Value> {
    p.json(&["log", id]).as_array().expect("runs").clone()
}

/// The milliseconds a worker wrote in `file` (one number a line).
fn recorded(p: &Project, file: &str) -> Vec<i64> {
    p.lines(file).iter().filter_map(|l| l.trim().parse().ok()).collect()
}

/// Adds two tasks of profile `agent` and two of the default profile; one run of the
/// dispatcher until idle (nothing waits for a deferral's time).
fn add_and_run(p: &Project) {
    p.ok(&["add", "agent one", "--profile", "agent", "-p", "P0"]);
    p.ok(&["add", "agent two", "--profile", "agent", "-p", "P0"]);
    p.ok(&["add", "plain one"]);
    p.ok(&["add", "plain two"]);
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
}

/// What a deferral of the profile `agent` left, `until` its time: the deferred task back
/// to PENDING with no attempt counted and its run `deferred`, the other task of the
/// profile never claimed, the profile paused until then (in `status` and the events),
/// the default profile's tasks done.
fn held_until(p: &Project, until: Timestamp, reason: &str) {
    let first = task(p, "ORCH-001");
    assert_eq!((first["status"].as_str(), first["attempts"].as_u64()), (Some("PENDING"), Some(0)), "{first}");
    assert_eq!(ts(&first["not_before"]), until, "{first}");
    let r = runs(p, "ORCH-001");
    assert_eq!((r.len(), r[0]["outcome"].as_str()), (1, Some("deferred")), "{r:?}");
    assert!(r[0]["reason"].as_str().unwrap().starts_with(reason), "{r:?}");
    let second = task(p, "ORCH-002");
    assert_eq!((second["status"].as_str(), second["attempts"].as_u64()), (Some("PENDING"), Some(0)), "{second}");
    assert!(runs(p, "ORCH-002").is_empty(), "the profile claimed nothing more");
    for id in ["ORCH-003", "ORCH-004"] {
        assert_eq!(task(p, id)["status"], "DONE", "another profile keeps running");
    }
    let paused = p.json(&["status"])["paused"].clone();
    assert_eq!((paused[0]["profile"].as_str(), ts(&paused[0]["until"])), (Some("agent"), until), "{paused}");
    assert!(paused[0]["reason"].as_str().unwrap().starts_with("deferred by ORCH-001: "), "{paused}");
    assert!(p.ok(&["status"]).contains("paused: profile agent until "));
    assert!(p.ok(&["show", "ORCH-001"]).contains("status:           PENDING: waiting, starts "));
    let events = p.ok(&["events"]);
    assert!(events.contains("task.deferred") && events.contains("queue.paused"), "{events}");
    // A dispatcher started again holds them too.
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
    assert_eq!((runs(p, "ORCH-001").len(), runs(p, "ORCH-002").len()), (1, 0));
}

#[test]
fn a_deferral_of_the_profile_holds_its_tasks_until_the_time_given_while_another_profile_runs() {
    let until = "2099-01-02T03:04:05Z";
    let line = format!(r#"{{"orch":{{"outcome":"defer","until":"{until}","scope":"profile","reason":"quota"}}}}"#);
    let p = project(&format!("echo '{line}'\nexit 75\n"));
    add_and_run(&p);
    held_until(&p, until.parse().unwrap(), "quota");
    let events = p.ok(&["events"]);
    assert!(events.contains("until 2099-01-02T03:04:05Z: quota"), "{events}");
}

#[test]
fn tasks_of_a_deferred_profile_start_once_its_time_came_and_the_attempt_was_never_counted() {
    // The first run defers the profile for 2 seconds; every later run records when it
    // started, in milliseconds.
    let script = "if [ ! -f deferred ]; then touch deferred\n\
                  echo '{\"orch\":{\"outcome\":\"defer\",\"after\":\"2s\",\"scope\":\"profile\"}}'; exit 0; fi\n\
                  date +%s%3N >> started\nprintf -- '- did it\\nRisks: none\\n'\n";
    let p = project(script);
    p.ok(&["add", "agent one", "--profile", "agent"]);
    p.ok(&["add", "agent two", "--profile", "agent"]);
    let mut d = p.spawn("run", &["run"]);
    assert!(
        wait_until(LONG, || ["ORCH-001", "ORCH-002"].iter().all(|id| task(&p, id)["status"] == "DONE")),
        "{}",
        d.stderr()
    );
    d.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(d.wait(LONG), Some(0), "{}", d.stderr());
    let deferred = runs(&p, "ORCH-001");
    assert_eq!(deferred[0]["outcome"], "deferred");
    let until = ts(&task(&p, "ORCH-001")["not_before"]).as_millisecond();
    let started = recorded(&p, "started");
    assert_eq!(started.len(), 2, "{started:?}");
    assert!(started.iter().all(|s| *s >= until), "a start before {until}: {started:?}");
    for id in ["ORCH-001", "ORCH-002"] {
        assert_eq!(task(&p, id)["attempts"], 1, "{id}: the deferral was not an attempt");
    }
}

/// A worker of profile `agent` that prints a kept fixture, as the agent would, and
/// exits 1.
fn fixture_project(name: &str) -> Project {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    project(&format!("cat '{}'\nexit 1\n", fixture.display()))
}

#[test]
fn claude_codes_usage_limit_defers_the_profile_until_its_reset() {
    let p = fixture_project("claude_limit_resets.json");
    let before = Timestamp::now();
    add_and_run(&p);
    let after = Timestamp::now();
    // `resets 3pm`, in the queue's zone: the next 3pm after the run.
    let tz = jiff::tz::TimeZone::get("Asia/Seoul").unwrap();
    let at = |t: Timestamp| {
        let day = tz.to_datetime(t).date();
        let three = |d: jiff::civil::Date| tz.to_timestamp(d.at(15, 0, 0, 0)).unwrap();
        if three(day) > t { three(day) } else { three(day.tomorrow().unwrap()) }
    };
    let until = ts(&task(&p, "ORCH-001")["not_before"]);
    assert!(until == at(before) || until == at(after), "{until}");
    held_until(&p, until, "usage_limit:claude: 5-hour limit reached");
}

#[test]
fn codexs_usage_limit_defers_the_profile_for_the_wait_it_gives() {
    let p = fixture_project("codex_usage_limit.jsonl");
    let before = Timestamp::now();
    add_and_run(&p);
    let after = Timestamp::now();
    let until = ts(&task(&p, "ORCH-001")["not_before"]);
    let wait = jiff::SignedDuration::from_secs(2 * 3600 + 5 * 60);
    assert!(until >= before + wait && until <= after + wait, "{until} not {wait} after the run");
    held_until(&p, until, "usage_limit:codex: You've hit your usage limit.");
}

#[test]
fn a_limit_whose_reset_is_past_or_unread_waits_worker_defer_after() {
    // The kept Claude result names a reset in 2025: the configured wait instead.
    let p = fixture_project("claude_usage_limit.json");
    p.set_config("defer_after", "\"40m\"");
    let before = Timestamp::now();
    add_and_run(&p);
    let after = Timestamp::now();
    let until = ts(&task(&p, "ORCH-001")["not_before"]);
    let wait = jiff::SignedDuration::from_mins(40);
    assert!(until >= before + wait && until <= after + wait, "{until}");
    held_until(&p, until, "usage_limit:claude: Claude AI usage limit reached|1750000000");
}

#[test]
fn a_task_deferred_alone_waits_and_its_profile_keeps_running() {
    let p = project(
        "if [ \"$ORCH_TASK_ID\" = ORCH-001 ]; then echo '{\"orch\":{\"outcome\":\"defer\",\"after\":\"1h\"}}'; \
                     exit 0; fi\nprintf -- '- did it\\nRisks: none\\n'\n",
    );
    add_and_run(&p);
    let t = task(&p, "ORCH-001");
    assert_eq!((t["status"].as_str(), t["attempts"].as_u64()), (Some("PENDING"), Some(0)), "{t}");
    assert_eq!(task(&p, "ORCH-002")["status"], "DONE");
    assert!(p.json(&["status"])["paused"].as_array().is_none_or(|a| a.is_empty()), "nothing paused");
}

#[test]
fn a_defer_line_that_does_not_read_is_logged_and_the_exit_decides() {
    let p = project("echo '{\"orch\":{\"outcome\":\"defer\",\"until\":\"soon\"}}'\nexit 75\n");
    p.ok(&["add", "agent", "--profile", "agent"]);
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
    let t = task(&p, "ORCH-001");
    assert_eq!((t["status"].as_str(), t["attempts"].as_u64()), (Some("FAILED"), Some(1)), "{t}");
    let run = &runs(&p, "ORCH-001")[0];
    let stderr = p.read(&format!(".orch/runs/{}/stderr.log", run["id"].as_str().unwrap()));
    assert!(stderr.contains("`until` `soon` is not an RFC 3339 time"), "{stderr}");
}

#[test]
fn a_task_added_not_before_a_near_time_is_claimed_only_once_it_came() {
    let p = Project::init(None);
    worker(&p, "echo \"$ORCH_TASK_ID $(date +%s%3N)\" >> started\nprintf -- '- did it\\nRisks: none\\n'\n", &[]);
    p.set_config("workers", "1");
    let later = p.json(&["add", "later", "-p", "P0", "--not-before", "+2s"]);
    p.ok(&["add", "now", "-p", "P2"]);
    assert_eq!(p.json(&["status"])["waiting"], 1);
    assert!(p.ok(&["status"]).contains("waiting: 1 PENDING not before their start time"));
    let listed = p.ok(&["list"]);
    assert!(listed.contains("PENDING: waiting, starts in "), "{listed}");
    assert!(p.ok(&["show", "ORCH-001"]).contains("not_before:       "));
    let mut d = p.spawn("run", &["run"]);
    assert!(wait_until(LONG, || task(&p, "ORCH-001")["status"] == "DONE"), "{}", d.stderr());
    d.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(d.wait(LONG), Some(0), "{}", d.stderr());
    let lines = p.lines("started");
    let order: Vec<&str> = lines.iter().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(order, ["ORCH-002", "ORCH-001"], "the P0 task waited for its time");
    let started: i64 = lines[1].split(' ').nth(1).unwrap().parse().unwrap();
    assert!(started >= ts(&later["not_before"]).as_millisecond(), "{lines:?} before {later}");
}

#[test]
fn a_not_before_time_holds_across_a_restart_and_quick_and_teams_give_one() {
    let p = Project::init(None);
    worker(&p, REPORT, &[]);
    p.ok(&["add", "tomorrow", "--not-before", "tomorrow 9am"]);
    p.ok(&["quick", "in an hour start:+1h @default"]);
    p.write(
        "team.json",
        r#"{"title":"t","goal":"g","not_before":"+2h","lead":{"task":"sum up","success_criteria":"one page"},
            "workers":[{"role":"a","task":"x","success_criteria":"y","not_before":"+3h"},{"role":"b","task":"x","success_criteria":"y"}]}"#,
    );
    p.ok(&["team", "add", "team.json"]);
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
    let now = Timestamp::now();
    for id in ["ORCH-001", "ORCH-002", "ORCH-003", "ORCH-004", "ORCH-005"] {
        let t = task(&p, id);
        assert_eq!(t["status"], "PENDING", "{t}");
        assert!(ts(&t["not_before"]) > now, "{t}");
    }
    let nb = |id: &str| ts(&task(&p, id)["not_before"]);
    assert!(nb("ORCH-003") > nb("ORCH-004"), "a member's own time wins over the team's");
    assert_eq!(nb("ORCH-004"), nb("ORCH-005"), "the team's time for the others");
}

#[test]
fn bad_not_before_values_are_refused_with_exit_2_and_nothing_is_added() {
    let p = Project::init(None);
    let (code, _, err) = p.run(&["add", "x", "--not-before", "someday"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--not-before `someday`:"), "{err}");
    let (code, _, err) = p.run(&["quick", "x start:someday"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("start:someday:"), "{err}");
    p.write(
        "team.json",
        r#"{"title":"t","goal":"g","lead":{"task":"l","success_criteria":"c"},
            "workers":[{"role":"a","task":"x","success_criteria":"y","not_before":"later"}]}"#,
    );
    let (code, _, err) = p.run(&["team", "add", "team.json"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("workers[0].not_before: `later`:"), "{err}");
    assert_eq!(p.json(&["status"])["total"], 0);
    p.set_config("defer_after", "\"0s\"");
    let (code, _, err) = p.run(&["status"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("worker.defer_after"), "{err}");
}

#[test]
fn a_not_before_column_of_queue_md_sets_the_time_and_the_view_writes_it_back() {
    let queue = "| id | status | priority | task | not_before |\n|---|---|---|---|---|\n\
                 | ORCH-001 | PENDING | P1 | later | 2099-01-01 09:00 |\n| ORCH-002 | PENDING | P1 | now | - |\n";
    let p = Project::init(Some(queue));
    worker(&p, REPORT, &[]);
    assert_eq!(ts(&task(&p, "ORCH-001")["not_before"]), "2099-01-01T00:00:00Z".parse::<Timestamp>().unwrap());
    assert!(task(&p, "ORCH-002").get("not_before").is_none());
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
    assert_eq!(
        (task(&p, "ORCH-001")["status"].as_str(), task(&p, "ORCH-002")["status"].as_str()),
        (Some("PENDING"), Some("DONE"))
    );
    let view = p.queue_md();
    assert!(view.lines().any(|l| l.contains("ORCH-001") && l.contains("| 2099-01-01 09:00 |")), "{view}");
    // A person clears it: the task may run.
    p.write("QUEUE.md", &view.replace("| 2099-01-01 09:00 |", "| - |"));
    p.ok(&["import"]);
    assert!(task(&p, "ORCH-001").get("not_before").is_none());
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
    assert_eq!(task(&p, "ORCH-001")["status"], "DONE");
}
