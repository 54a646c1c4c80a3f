//! A refused lease token names its case: a token of none of the task's runs is a
//! "wrong lease token" (`wrong_lease_token`); the token of an earlier run of the task,
//! whose lease another run holds now, is a lease lost to that run (`lease_mismatch`).

use crate::common::Project;
use serde_json::Value;

fn pick(p: &Project) -> (String, String) {
    let v = p.json(&["pick", "--owner", "w"]);
    (v["id"].as_str().unwrap().to_string(), v["lease"]["token"].as_str().unwrap().to_string())
}

/// Runs `args` with `--json` and returns (exit code, the error's code, stderr).
fn refused(p: &Project, args: &[&str]) -> (i32, String, String) {
    let mut a = args.to_vec();
    a.push("--json");
    let (code, out, err) = p.run(&a);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}{err}"));
    (code, v["error"]["code"].as_str().unwrap_or_default().to_string(), err)
}

#[test]
fn a_token_of_no_run_of_the_task_is_a_wrong_lease_token() {
    let p = Project::init_plain(None);
    p.ok(&["add", "first"]);
    p.ok(&["add", "second"]);
    let (one, _) = pick(&p);
    let (two, other) = pick(&p);
    assert_eq!((one.as_str(), two.as_str()), ("ORCH-001", "ORCH-002"));
    for token in ["not-a-token", other.as_str()] {
        for args in [
            &["done", "ORCH-001", "--lease", token][..],
            &["fail", "ORCH-001", "--lease", token, "--reason", "x"],
            &["heartbeat", "ORCH-001", "--lease", token],
        ] {
            let (code, error, err) = refused(&p, args);
            assert_eq!((code, error.as_str()), (5, "wrong_lease_token"), "{args:?}: {err}");
            assert!(err.contains("wrong lease token for ORCH-001"), "{err}");
            assert!(!err.contains("held by another run"), "{err}");
        }
    }
    // Nothing changed: both tasks still run, and their own tokens still work.
    assert_eq!(p.json(&["show", "1"])["status"], "IN_PROGRESS");
    assert!(p.ok(&["done", "ORCH-002", "--lease", &other]).starts_with("ORCH-002 DONE"));
}

#[test]
fn the_token_of_an_earlier_run_is_a_lease_held_by_another_run() {
    let p = Project::init_plain(None);
    p.ok(&["add", "first"]);
    let (_, first) = pick(&p);
    // An operator takes the task back and it is claimed again: a second run holds it.
    p.ok(&["cancel", "ORCH-001", "--reason", "stuck"]);
    p.ok(&["retry", "ORCH-001"]);
    let (_, second) = pick(&p);
    assert_ne!(first, second);
    for args in [
        &["done", "ORCH-001", "--lease", first.as_str()][..],
        &["fail", "ORCH-001", "--lease", first.as_str(), "--reason", "x"],
        &["heartbeat", "ORCH-001", "--lease", first.as_str()],
    ] {
        let (code, error, err) = refused(&p, args);
        assert_eq!((code, error.as_str()), (5, "lease_mismatch"), "{args:?}: {err}");
        assert!(err.contains("lease lost: ORCH-001 is held by another run now"), "{err}");
        assert!(!err.contains("wrong lease token"), "{err}");
    }
    assert!(p.ok(&["done", "ORCH-001", "--lease", &second]).starts_with("ORCH-001 DONE"));
}
