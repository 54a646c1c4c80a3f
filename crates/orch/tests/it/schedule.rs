//! Schedules through the real binary: occurrences become tasks under a running
//! dispatcher and by `orch schedule tick`, each once however many tick at once; missed
//! occurrences after a stop; `--no-overlap`; the commands' refusals; `status`.

use crate::common::{Project, wait_until};
use std::time::{Duration, Instant};

fn plain() -> Project {
    let p = Project::init_plain(None);
    p.set_config("command", r#"["true"]"#);
    p
}

/// Moves a schedule's last tick `ms` milliseconds back, as if nothing had ticked it
/// for that long (orch was stopped).
pub(crate) fn rewind(p: &Project, name: &str, ms: i64) {
    let db = rusqlite::Connection::open(p.file(".orch/orch.db")).unwrap();
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    let n = db
        .execute("UPDATE schedules SET last_tick = last_tick - ?1, version = version + 1 WHERE name = ?2", (ms, name))
        .unwrap();
    assert_eq!(n, 1);
}

/// The tasks as `list --json` gives them.
fn tasks(p: &Project) -> Vec<serde_json::Value> {
    p.json(&["list"]).as_array().cloned().unwrap_or_default()
}

fn events(p: &Project, name: &str) -> Vec<serde_json::Value> {
    let out = p.ok(&["events", "--json"]);
    out.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()).filter(|e| e["event"] == name).collect()
}

#[test]
fn a_two_second_schedule_under_a_running_dispatcher_makes_three_or_four_tasks_and_they_run() {
    let p = plain();
    // The dispatcher is up once it has run a first task.
    p.ok(&["add", "warm-up"]);
    let mut run = p.spawn("run", &["run"]);
    let up = wait_until(Duration::from_secs(60), || p.json(&["show", "ORCH-001"])["status"] == "DONE");
    assert!(up, "{}", run.stderr());
    // Add just after an even second: the seven seconds then hold three occurrences, the
    // last a second before the stop.
    let now = jiff::Timestamp::now();
    let into = now.as_millisecond().rem_euclid(2000);
    std::thread::sleep(Duration::from_millis(u64::try_from(2100 - into).unwrap()));
    let began = Instant::now();
    p.ok(&["schedule", "add", "*/2 * * * * *", "Poll the inbox", "--name", "poll"]);
    std::thread::sleep(Duration::from_secs(7).saturating_sub(began.elapsed()));
    run.signal(nix::sys::signal::Signal::SIGTERM);
    run.wait(Duration::from_secs(30));
    let made: Vec<_> = tasks(&p).into_iter().filter(|t| t["task"] != "warm-up").collect();
    assert!((3..=4).contains(&made.len()), "{made:#?}\n{}", run.stdout());
    assert!(made.iter().all(|t| t["idempotency_key"].as_str().unwrap().starts_with("schedule:poll:")));
    let out = run.stdout();
    assert!(out.contains("ORCH-002 added by schedule poll"), "{out}");
    // Every task but one the stop may have caught ran to the end; the rest run once the
    // schedule is gone.
    let done = made.iter().filter(|t| t["status"] == "DONE").count();
    assert!(done + 1 >= made.len(), "{made:#?}\n{out}");
    p.ok(&["schedule", "rm", "poll"]);
    p.ok(&["run", "--until-idle"]);
    assert!(tasks(&p).iter().all(|t| t["status"] == "DONE"));
}

#[test]
fn four_processes_ticking_at_once_make_each_occurrence_once() {
    let p = plain();
    p.ok(&["schedule", "add", "* * * * * *", "Every second", "--name", "s", "--overlap", "--catch-up", "all"]);
    rewind(&p, "s", 20_000);
    for _ in 0..3 {
        let mut ticks: Vec<_> = (0..4).map(|i| p.spawn(&format!("tick{i}"), &["schedule", "tick", "--json"])).collect();
        for t in &mut ticks {
            assert_eq!(t.wait(Duration::from_secs(60)), Some(0), "{}", t.stderr());
        }
    }
    let made = tasks(&p);
    let mut keys: Vec<String> = made.iter().map(|t| t["idempotency_key"].as_str().unwrap().to_string()).collect();
    assert!(made.len() >= 20, "the twenty rewound seconds at least: {}", made.len());
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), made.len(), "each occurrence once");
    assert_eq!(events(&p, "schedule.fired").len(), made.len());
    // And the occurrences follow each other second by second: none was left out.
    let mut at: Vec<jiff::Timestamp> =
        keys.iter().map(|k| k.trim_start_matches("schedule:s:").parse().unwrap()).collect();
    at.sort();
    assert!(at.windows(2).all(|w| w[1].duration_since(w[0]) == jiff::SignedDuration::from_secs(1)), "{at:?}");
}

#[test]
fn after_a_ten_second_stop_the_default_makes_exactly_one_catch_up_task() {
    let p = plain();
    p.ok(&["schedule", "add", "*/2 * * * * *", "Poll", "--name", "poll"]);
    rewind(&p, "poll", 10_000);
    let out = p.ok(&["schedule", "tick"]);
    let made = tasks(&p);
    assert_eq!(made.len(), 1, "{made:#?}");
    assert!(out.contains("poll: ORCH-001 for ") && out.contains("missed)"), "{out}");
    let skipped = events(&p, "schedule.skipped");
    assert_eq!(skipped.len(), 1, "{skipped:#?}");
    let msg: serde_json::Value = serde_json::from_str(skipped[0]["msg"].as_str().unwrap()).unwrap();
    assert_eq!(msg["reason"], "missed");
    assert!((4..=5).contains(&msg["count"].as_u64().unwrap()), "{msg}");
    let fired: serde_json::Value =
        serde_json::from_str(events(&p, "schedule.fired")[0]["msg"].as_str().unwrap()).unwrap();
    assert_eq!(fired["stands_for"], msg["count"]);

    // `--catch-up all` makes one per occurrence, `none` only an occurrence on time.
    p.ok(&["schedule", "add", "*/2 * * * * *", "All", "--name", "all", "--catch-up", "all", "--overlap"]);
    rewind(&p, "all", 10_000);
    p.ok(&["schedule", "tick"]);
    let all = tasks(&p).iter().filter(|t| t["task"] == "All").count();
    assert!((5..=6).contains(&all), "{all}");
}

#[test]
fn no_overlap_refuses_an_occurrence_while_the_previous_task_is_open_and_says_so() {
    let p = plain();
    p.ok(&["schedule", "add", "* * * * * *", "Slow", "--name", "slow"]);
    rewind(&p, "slow", 1_000);
    p.ok(&["schedule", "tick"]);
    assert_eq!(tasks(&p).len(), 1);
    std::thread::sleep(Duration::from_millis(1100));
    p.ok(&["schedule", "tick"]);
    assert_eq!(tasks(&p).len(), 1, "ORCH-001 is still PENDING");
    let skipped = events(&p, "schedule.skipped");
    let msg: serde_json::Value = serde_json::from_str(skipped.last().unwrap()["msg"].as_str().unwrap()).unwrap();
    assert_eq!(msg["reason"], "overlap");
    assert!(msg["why"].as_str().unwrap().contains("ORCH-001 is still open"), "{msg}");
}

#[test]
fn the_commands_list_pause_resume_remove_and_refuse_bad_input() {
    let p = plain();
    let added = p.json(&["schedule", "add", "30 2 * * *", "Nightly backup check", "-p", "P0"]);
    assert_eq!(added["name"], "nightly-backup-check");
    assert_eq!(added["spec"]["catch_up"], "one");
    assert_eq!(added["spec"]["overlap"], false);
    let list = p.json(&["schedule", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0]["next"].as_str().unwrap().ends_with('Z'));
    let next = p.json(&["schedule", "next", "nightly-backup-check", "--count", "3"]);
    assert_eq!(next.as_array().unwrap().len(), 3);
    let human = p.ok(&["schedule", "next", "nightly-backup-check", "-n", "1"]);
    assert!(human.contains(" 02:30:00 "), "{human}");
    assert!(p.ok(&["status"]).contains("schedules: 1, next nightly-backup-check at "));
    assert_eq!(p.json(&["status"])["schedules"]["count"], 1);
    assert!(p.ok(&["schedule", "pause", "nightly-backup-check"]).contains("paused"));
    assert!(p.ok(&["schedule", "list"]).contains("paused"));
    assert!(p.ok(&["status"]).contains("schedules: 1 (1 paused)"));
    assert!(p.ok(&["schedule", "resume", "nightly-backup-check"]).contains("resumed"));
    for (args, code, says) in [
        (vec!["schedule", "add", "61 * * * *", "x"], 2, "cron pattern `61 * * * *`"),
        (vec!["schedule", "add", "* * * *", "x"], 2, "has 4 fields"),
        (vec!["schedule", "add", "@daily", "x", "--name", "a b"], 2, "schedule name `a b`"),
        (vec!["schedule", "add", "@daily", "x", "--catch-up", "some"], 2, "some"),
        (vec!["schedule", "add", "@daily", "x", "--profile", "nope"], 2, "profile `nope`"),
        (vec!["schedule", "add", "@daily", "Nightly backup check"], 5, "exists already"),
        (vec!["schedule", "rm", "nope"], 4, "no schedule nope"),
        (vec!["schedule", "pause", "nope"], 4, "no schedule nope"),
        (vec!["schedule", "next", "nope"], 4, "no schedule nope"),
        (vec!["schedule", "next", "nightly-backup-check", "--count", "0"], 2, "--count"),
    ] {
        let (c, _, err) = p.run(&args);
        assert_eq!(c, code, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    p.ok(&["schedule", "rm", "nightly-backup-check"]);
    assert_eq!(p.json(&["schedule", "list"]), serde_json::json!([]));
    assert!(!p.ok(&["status"]).contains("schedules"));
    let removed = events(&p, "schedule.removed");
    assert_eq!(removed.len(), 1);
}
