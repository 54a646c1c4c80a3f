//! `run --until-idle` and retries: it waits for the ones due within `--max-wait`
//! (default 5m), and names those it leaves behind, with their times.

use crate::common::Project;

fn failing(backoff: &str) -> Project {
    let p = Project::init_plain(None);
    p.set_config("command", r#"["sh", "-c", "exit 1"]"#);
    p.set_config("backoff", backoff);
    p
}

#[test]
fn until_idle_waits_for_a_retry_due_within_the_bound() {
    let p = failing(r#"["1s"]"#);
    p.ok(&["add", "flaky"]);
    let (code, out, err) = p.run(&["run", "--until-idle"]);
    assert_eq!(code, 0, "{err}");
    let t = p.json(&["show", "ORCH-001"]);
    assert_eq!((t["status"].as_str(), t["attempts"].as_u64()), (Some("FAILED"), Some(2)), "{out}{err}");
    assert!(out.contains("waiting for the retry of ORCH-001 in "), "{out}");
    assert!(!err.contains("left"), "nothing left behind: {err}");
}

#[test]
fn until_idle_names_the_retries_it_leaves_behind_with_their_times() {
    let p = failing(r#"["1h"]"#);
    p.ok(&["add", "one"]);
    p.ok(&["add", "two"]);
    let (code, _, err) = p.run(&["run", "--until-idle"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("orch: left 2 retries for later (beyond --max-wait 5m): ORCH-00"), "{err}");
    assert!(err.contains("ORCH-001 retry in 59m") && err.contains("ORCH-002 retry in 59m"), "{err}");
    let summary = p.json(&["run", "--until-idle", "--max-wait", "0s"]);
    let left = summary["left_retries"].as_array().unwrap();
    let mut ids: Vec<&str> = left.iter().map(|r| r["id"].as_str().unwrap()).collect();
    ids.sort();
    assert_eq!(ids, ["ORCH-001", "ORCH-002"], "earliest first, each once");
    assert!(left[0]["retry_at"].as_str().unwrap().ends_with('Z'), "{summary}");

    // A bound of 0s waits for none, even a retry one second away.
    let q = failing(r#"["1s"]"#);
    q.ok(&["add", "flaky"]);
    let (_, _, err) = q.run(&["run", "--until-idle", "--max-wait", "0s"]);
    assert!(err.contains("left 1 retry for later (beyond --max-wait 0s): ORCH-001 retry "), "{err}");
    assert_eq!(q.json(&["show", "ORCH-001"])["attempts"], 1);
    let (code, _, err) = q.run(&["run", "--max-wait", "1m"]);
    assert_eq!(code, 2, "--max-wait goes with --until-idle: {err}");
}
