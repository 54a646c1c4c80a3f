//! Worker profiles: `[profiles.NAME]` in orch.toml, `add --profile`, and a real
//! `orch run` that keeps each profile within its own `workers` while the dispatcher's
//! slots are shared.

use crate::common::Project;
use crate::dispatch::{REPORT, task, worker};

/// Appends `[profiles.NAME]` tables to orch.toml.
fn profiles(p: &Project, tables: &str) {
    let path = p.file(".orch/orch.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}\n{tables}")).unwrap();
}

/// The most `PROFILE` lines between a `start` and its `end` at once in `log`.
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
fn each_profile_runs_at_most_its_workers_at_once_within_the_dispatchers_slots() {
    let p = Project::init(None);
    // A `one` worker stays a moment, so a second one started beside it would show; a
    // `three` worker waits (a bounded while) until three of its kind have started.
    let one = format!("echo \"start one $1\" >> log\nsleep 0.3\necho \"end one $1\" >> log\n{REPORT}");
    let three = format!(
        "echo \"start three $1\" >> log\ni=0\n\
         while [ \"$(grep -c '^start three' log)\" -lt 3 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done\n\
         echo \"end three $1\" >> log\n{REPORT}"
    );
    worker(&p, REPORT, &[]);
    p.write("one.sh", &one);
    p.write("three.sh", &three);
    profiles(
        &p,
        "[profiles.one]\ncommand = [\"sh\", \"one.sh\", \"{id}\"]\nworkers = 1\n\n\
         [profiles.three]\ncommand = [\"sh\", \"three.sh\", \"{id}\"]\nworkers = 3\nmodel = \"small\"\n",
    );
    for i in 0..3 {
        p.ok(&["add", &format!("one {i}"), "--profile", "one"]);
        p.ok(&["add", &format!("three {i}"), "--profile", "three"]);
    }
    p.ok(&["run", "--workers", "4", "--until-idle", "--max-wait", "0s", "--quiet"]);
    for n in 1..=6 {
        let id = format!("ORCH-{n:03}");
        assert_eq!(task(&p, &id)["status"], "DONE", "{id}");
    }
    let log = p.read("log");
    assert_eq!(log.lines().count(), 12, "{log}");
    assert_eq!(most_at_once(&log, "one"), 1, "{log}");
    assert_eq!(most_at_once(&log, "three"), 3, "{log}");
}

#[test]
fn add_with_a_profile_orch_toml_does_not_name_is_refused_with_the_list() {
    let p = Project::init(None);
    profiles(&p, "[profiles.fast]\ncommand = [\"sh\"]\n");
    let (code, _, err) = p.run(&["add", "x", "--profile", "slow"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("profile `slow` is not in orch.toml (profiles: default, fast)"), "{err}");
    assert_eq!(p.json(&["list"]).as_array().map(Vec::len), Some(0), "nothing added");
    p.ok(&["add", "y", "--profile", "fast"]);
    p.ok(&["add", "z", "--profile", "default"]);
    assert_eq!(task(&p, "ORCH-001")["extra"]["profile"], "fast");
    assert!(task(&p, "ORCH-002").get("extra").is_none(), "default is no profile");
}

#[test]
fn a_profile_column_of_queue_md_names_the_profile_and_an_unknown_one_fails_for_good() {
    let queue = "| id | status | priority | task | profile |\n|---|---|---|---|---|\n\
                 | ORCH-001 | PENDING | P1 | by the fast one | fast |\n\
                 | ORCH-002 | PENDING | P1 | by nobody | gone |\n\
                 | ORCH-003 | PENDING | P1 | by the default | - |\n";
    let p = Project::init(Some(queue));
    worker(&p, &format!("echo \"default $1\" >> log\n{REPORT}"), &["{id}"]);
    p.write("fast.sh", &format!("echo \"fast $1\" >> log\n{REPORT}"));
    profiles(&p, "[profiles.fast]\ncommand = [\"sh\", \"fast.sh\", \"{id}\"]\n");
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
    assert_eq!(task(&p, "ORCH-001")["status"], "DONE");
    assert_eq!(task(&p, "ORCH-003")["status"], "DONE");
    let mut ran = p.lines("log");
    ran.sort();
    assert_eq!(ran, ["default ORCH-003", "fast ORCH-001"]);
    let gone = task(&p, "ORCH-002");
    assert_eq!(gone["status"], "FAILED", "{gone}");
    let why = p.json(&["log", "ORCH-002"])[0]["reason"].as_str().unwrap_or_default().to_string();
    assert!(why.contains("profile `gone` is not in orch.toml (profiles: default, fast)"), "{why}");
}

#[test]
fn quick_takes_an_at_word_as_the_profile() {
    let p = Project::init(None);
    profiles(&p, "[profiles.fast]\ncommand = [\"sh\"]\n");
    p.ok(&["quick", "p0 @fast write the notes"]);
    let t = task(&p, "ORCH-001");
    assert_eq!((t["extra"]["profile"].as_str(), t["task"].as_str()), (Some("fast"), Some("write the notes")));
    let (code, _, err) = p.run(&["quick", "@slow x"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("profile `slow` is not in orch.toml"), "{err}");
}

#[test]
fn a_team_template_gives_each_member_its_profile() {
    let p = Project::init(None);
    profiles(&p, "[profiles.fast]\ncommand = [\"sh\"]\n");
    let team = |profile: &str| {
        format!(
            r#"{{"title": "t", "goal": "g", "lead": {{"task": "merge", "success_criteria": "merged"}},
                "workers": [{{"role": "a", "task": "do a", "success_criteria": "done", "profile": "{profile}"}},
                            {{"role": "b", "task": "do b", "success_criteria": "done"}}]}}"#
        )
    };
    p.write("bad.json", &team("slow"));
    let (code, _, err) = p.run(&["team", "add", "bad.json"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("workers[0].profile: profile `slow` is not in orch.toml (profiles: default, fast)"), "{err}");
    p.write("team.json", &team("fast"));
    let v = p.json(&["team", "add", "team.json"]);
    let (a, b) = (v["workers"][0].as_str().unwrap(), v["workers"][1].as_str().unwrap());
    assert_eq!(task(&p, a)["extra"]["profile"], "fast");
    assert!(task(&p, b)["extra"].get("profile").is_none());
    assert!(task(&p, v["lead"].as_str().unwrap())["extra"].get("profile").is_none());
}

#[test]
fn run_refuses_to_start_when_a_profiles_program_is_missing() {
    let p = Project::init(None);
    worker(&p, REPORT, &[]);
    profiles(&p, "[profiles.fast]\ncommand = [\"no-such-worker-program\"]\n");
    let (code, _, err) = p.run(&["run", "--until-idle", "--max-wait", "0s"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`no-such-worker-program` is not found on PATH; fix profiles.fast.command"), "{err}");
}

#[test]
fn workers_shows_the_profile_and_its_labels_of_a_running_task() {
    let p = Project::init(None);
    worker(&p, REPORT, &[]);
    // Runs until the test lets it go (bounded).
    p.write("held.sh", &format!("i=0\nwhile [ ! -e go ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done\n{REPORT}"));
    profiles(&p, "[profiles.fast]\ncommand = [\"sh\", \"held.sh\"]\nmodel = \"small\"\nagent = \"claude\"\n");
    p.ok(&["add", "held", "--profile", "fast"]);
    let mut d = p.spawn("run", &["run"]);
    let long = std::time::Duration::from_secs(30);
    assert!(crate::common::wait_until(long, || task(&p, "ORCH-001")["status"] == "IN_PROGRESS"), "{}", d.stderr());
    let text = p.ok(&["workers"]);
    assert!(text.contains("[fast, small, claude] held"), "{text}");
    let w = &p.json(&["workers"])["workers"][0];
    assert_eq!(
        (w["profile"].as_str(), w["model"].as_str(), w["agent"].as_str()),
        (Some("fast"), Some("small"), Some("claude"))
    );
    p.write("go", "");
    assert!(crate::common::wait_until(long, || task(&p, "ORCH-001")["status"] == "DONE"), "{}", d.stderr());
    d.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(d.wait(long), Some(0), "{}", d.stderr());
}

/// Every file under `dir` whose bytes hold `needle` (the database, its WAL, the event
/// log, run folders), as paths.
fn files_holding(dir: &std::path::Path, needle: &str) -> Vec<String> {
    let mut hits = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            hits.extend(files_holding(&path, needle));
        } else if std::fs::read(&path).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes())) {
            hits.push(path.display().to_string());
        }
    }
    hits
}

#[test]
fn a_profile_that_lists_env_gives_its_worker_only_those_the_basics_and_orchs_own() {
    let p = Project::init(None);
    worker(&p, &format!("echo \"default ${{UNLISTED_VAR:-unset}}\" >> log\n{REPORT}"), &[]);
    // The worker writes what it sees as a verdict, never the secret itself.
    p.write(
        "keyed.sh",
        &format!(
            "[ \"$API_SECRET\" = 'sk-live-not-for-logs-4242' ] && echo \"secret ok\" >> log\n\
             echo \"unlisted ${{UNLISTED_VAR:-unset}}\" >> log\n\
             [ -n \"$PATH\" ] && [ -n \"$ORCH_TASK_ID\" ] && [ -n \"$ORCH_LEASE_TOKEN\" ] && echo \"basics ok\" >> log\n\
             {REPORT}"
        ),
    );
    profiles(&p, "[profiles.keyed]\ncommand = [\"sh\", \"keyed.sh\"]\nenv = [\"API_SECRET\"]\n");
    p.ok(&["add", "with a key", "--profile", "keyed"]);
    p.ok(&["add", "plain"]);
    p.orch(&["run", "--workers", "1", "--until-idle", "--max-wait", "0s", "--quiet"])
        .env("API_SECRET", "sk-live-not-for-logs-4242")
        .env("UNLISTED_VAR", "here")
        .assert()
        .success();
    assert_eq!(task(&p, "ORCH-001")["status"], "DONE");
    assert_eq!(task(&p, "ORCH-002")["status"], "DONE");
    let mut seen = p.lines("log");
    seen.sort();
    assert_eq!(seen, ["basics ok", "default here", "secret ok", "unlisted unset"]);
    // The value is nowhere orch writes: database, events, run folders, the view.
    for args in [&["events", "--json"][..], &["log", "ORCH-001", "--json"], &["show", "ORCH-001", "--json"]] {
        assert!(!p.ok(args).contains("not-for-logs"), "{args:?}");
    }
    let mut hits = files_holding(&p.file(".orch"), "not-for-logs");
    hits.extend(files_holding(p.path(), "not-for-logs").into_iter().filter(|f| f.ends_with("QUEUE.md")));
    assert_eq!(hits, Vec::<String>::new());
}
