//! The merge queue (`orch land`, `workspace.land = "auto"`): branches land on the base
//! one at a time, rebased and checked first, in real git repositories; a conflict or a
//! failing check sends the task back as a transient failure, and the base is never
//! half-merged.

use crate::common::{Project, wait_until};
use crate::workspaces::{LONG, git, repo};

fn set_script(p: &Project, key: &str, script: &str) {
    p.set_config(key, &format!("[\"sh\", \"-c\", {}]", serde_json::to_string(script).unwrap()));
}

/// A check that counts its runs in `marks/checks` and passes.
fn counting_check(p: &Project) {
    let marks = p.file("marks").display().to_string();
    set_script(p, "check", &format!("echo \"$ORCH_TASK_ID\" >> {marks}/checks"));
}

#[test]
fn two_branches_touching_different_files_both_land() {
    let p = repo();
    p.set_config("land", r#""auto""#);
    counting_check(&p);
    set_script(&p, "command", "echo \"$ORCH_TASK_ID\" > \"$ORCH_TASK_ID.txt\"");
    p.ok(&["add", "one"]);
    p.ok(&["add", "two"]);
    let before = git(p.path(), &["rev-parse", "main"]);
    let (code, _, err) = p.run(&["run", "--until-idle", "--workers", "2"]);
    assert_eq!(code, 0, "{err}");
    for id in ["ORCH-001", "ORCH-002"] {
        let t = p.json(&["show", id]);
        assert_eq!((t["status"].as_str(), t["workspace"]["landing"].as_str()), (Some("DONE"), Some("landed")), "{t}");
        assert_eq!(p.read(&format!("{id}.txt")), format!("{id}\n"), "the main checkout followed the base");
    }
    let landed = git(p.path(), &["log", "--format=%s", &format!("{before}..main")]);
    assert_eq!(landed.lines().count(), 2, "fast-forwarded twice, one commit each: {landed}");
    assert_eq!(git(p.path(), &["rev-list", "--merges", "--count", "main"]), "0", "no merge commit");
    assert_eq!(p.lines("marks/checks").len(), 2, "the check ran once per landing");
    let events = p.ok(&["events", "--task", "ORCH-001"]);
    assert!(events.contains("land.started") && events.contains("land.landed"), "{events}");
    let log = p.ok(&["log", "ORCH-002"]);
    assert!(log.contains("landing=landed"), "{log}");
}

#[test]
fn a_conflicting_branch_comes_back_as_land_conflict_and_lands_on_the_new_base() {
    let p = repo();
    p.set_config("land", r#""auto""#);
    p.set_config("backoff", r#"["0s"]"#);
    counting_check(&p);
    let marks = p.file("marks").display().to_string();
    set_script(
        &p,
        "command",
        &format!(
            "echo \"$ORCH_TASK_ID\" > shared.txt && touch {marks}/started-$ORCH_TASK_ID \
             && while [ ! -e {marks}/go ]; do sleep 0.05; done"
        ),
    );
    p.ok(&["add", "one"]);
    p.ok(&["add", "two"]);
    let mut run = p.spawn("run", &["run", "--until-idle", "--workers", "2"]);
    let started = |id: &str| p.file(&format!("marks/started-{id}")).exists();
    assert!(wait_until(LONG, || started("ORCH-001") && started("ORCH-002")), "{}", run.stderr());
    std::fs::write(p.file("marks/go"), "").unwrap();
    assert_eq!(run.wait(LONG), Some(0), "{}", run.stderr());
    let log = |id: &str| p.json(&["log", id]);
    let (one, two) = (log("ORCH-001"), log("ORCH-002"));
    let (first, second) = if one.as_array().unwrap().len() == 1 { (one, two) } else { (two, one) };
    let runs = second.as_array().unwrap();
    assert_eq!(runs.len(), 2, "{second}");
    assert_eq!(runs[0]["landing"], "land_conflict", "{second}");
    assert!(runs[0]["reason"].as_str().unwrap().starts_with("land_conflict: "), "{second}");
    assert_eq!(runs[1]["landing"], "landed", "{second}");
    assert_eq!(first[0]["landing"], "landed", "{first}");
    let winner = second[0]["task_id"].as_str().unwrap();
    assert_eq!(p.read("shared.txt"), format!("{winner}\n"), "the retry landed last, on the new base");
    assert_eq!(git(p.path(), &["status", "--porcelain"]), "");
    for id in ["ORCH-001", "ORCH-002"] {
        assert_eq!(p.json(&["show", id])["status"], "DONE");
    }
    let saved = git(p.path(), &["for-each-ref", "--format=%(refname)", "refs/orch/saved/"]);
    assert!(saved.starts_with(&format!("refs/orch/saved/{winner}/")), "the conflicting work is kept: {saved}");
}

#[test]
fn a_failing_check_leaves_the_base_where_it_was() {
    let p = repo();
    p.set_config("land", r#""auto""#);
    p.set_config("backoff", r#"["1h"]"#);
    set_script(&p, "check", "echo 'the check says broken' >&2; exit 1");
    set_script(&p, "command", "echo changed > shared.txt");
    p.ok(&["add", "one"]);
    let before = git(p.path(), &["rev-parse", "main"]);
    let (code, _, err) = p.run(&["run", "--until-idle", "--max-wait", "0s"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(git(p.path(), &["rev-parse", "main"]), before, "the base did not move");
    assert_eq!(p.read("shared.txt"), "base\n");
    let t = p.json(&["show", "ORCH-001"]);
    assert_eq!((t["status"].as_str(), t["workspace"]["landing"].as_str()), (Some("FAILED"), Some("land_check_failed")));
    let run = &p.json(&["log", "ORCH-001"])[0];
    let reason = run["reason"].as_str().unwrap();
    assert!(reason.starts_with("land_check_failed: the check exited 1") && reason.contains("broken"), "{reason}");
    let dir = p.file(&format!(".orch/runs/{}", run["id"].as_str().unwrap()));
    assert!(std::fs::read_to_string(dir.join("land-check.err.log")).unwrap().contains("the check says broken"));
    assert_eq!(git(p.path(), &["show", "orch/ORCH-001:shared.txt"]), "changed", "the work stays on its branch");
}

#[test]
fn orch_land_lands_a_done_tasks_branch_by_hand() {
    let p = repo();
    counting_check(&p);
    set_script(&p, "command", "echo by-hand > hand.txt");
    p.ok(&["add", "one"]);
    let (code, _, err) = p.run(&["run", "--until-idle"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(p.json(&["show", "ORCH-001"])["workspace"]["landing"], "not_landed");
    assert!(!p.file("hand.txt").exists(), "manual: nothing lands by itself");
    let out = p.json(&["land", "ORCH-001"]);
    assert_eq!(out["landing"], "landed", "{out}");
    assert_eq!(out["commit"].as_str().unwrap(), git(p.path(), &["rev-parse", "main"]));
    assert_eq!(p.read("hand.txt"), "by-hand\n");
    assert_eq!(p.json(&["show", "ORCH-001"])["workspace"]["landing"], "landed");
    let (code, _, err) = p.run(&["land", "ORCH-009"]);
    assert_eq!(code, 4, "{err}");
}

/// The worker finishes its task itself: with `land = "auto"`, `orch done` lands the
/// branch before the task is DONE; a branch that does not land is a transient failure,
/// retried on the new base.
#[test]
fn orch_done_from_the_worker_lands_the_branch_first() {
    let p = repo();
    p.set_config("land", r#""auto""#);
    p.set_config("backoff", r#"["0s"]"#);
    counting_check(&p);
    let (orch, main) = (crate::common::ORCH_BIN, p.path().display().to_string());
    // The first run moves the base while it works: its landing conflicts, the retry lands.
    set_script(
        &p,
        "command",
        &format!(
            "if [ ! -e {main}/marks/moved ]; then touch {main}/marks/moved; echo moved > {main}/shared.txt; \
             git -C {main} commit -qam moved; fi; echo \"$ORCH_TASK_ID\" > shared.txt && git commit -qam work \
             && {orch} done \"$ORCH_TASK_ID\""
        ),
    );
    p.ok(&["add", "one"]);
    let (code, _, err) = p.run(&["run", "--until-idle"]);
    assert_eq!(code, 0, "{err}");
    let runs = p.json(&["log", "ORCH-001"]);
    assert_eq!(runs[0]["landing"], "land_conflict", "{runs}");
    assert!(runs[0]["reason"].as_str().unwrap().starts_with("land_conflict: "), "{runs}");
    assert_eq!(runs[1]["landing"], "landed", "{runs}");
    let t = p.json(&["show", "ORCH-001"]);
    assert_eq!((t["status"].as_str(), t["workspace"]["landing"].as_str()), (Some("DONE"), Some("landed")), "{t}");
    assert_eq!(p.read("shared.txt"), "ORCH-001\n", "the branch landed on the base");
    let checks = p.lines("marks/checks");
    assert_eq!(checks.len(), 1, "the check ran for the landing that rebased: {checks:?} {runs}");
}
