//! `[workspace] mode = "worktree"`: each task works in a git worktree of its own, made
//! in a real git repository in a temporary folder; the main checkout is never touched,
//! each task's work ends up committed on its branch, and a dispatcher killed mid-task
//! loses nothing and leaves no stray worktree.

use crate::common::{Project, wait_until};
use std::path::Path;
use std::time::Duration;

pub(crate) const LONG: Duration = Duration::from_secs(60);

pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git").arg("-C").arg(dir).args(args).output().expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim_end().to_string()
}

/// An orch project that is a git repository on `main`, one commit holding
/// `shared.txt`; `.orch/` and the tests' marker files are ignored.
pub(crate) fn repo() -> Project {
    let p = Project::init_plain(None);
    let d = p.path();
    git(d, &["init", "--quiet", "--initial-branch", "main"]);
    git(d, &["config", "user.name", "test"]);
    git(d, &["config", "user.email", "test@example.com"]);
    p.write(".gitignore", ".orch/\nQUEUE.md\n*.out\n*.err\nmarks/\n");
    p.write("shared.txt", "base\n");
    git(d, &["add", "."]);
    git(d, &["commit", "--quiet", "-m", "start"]);
    std::fs::create_dir(p.file("marks")).unwrap();
    p.set_config("mode", r#""worktree""#);
    p
}

/// A worker (`sh -c`) that appends its task id to shared.txt in its working directory,
/// says it started, and waits for `marks/go`.
fn waiting_worker(p: &Project) {
    let marks = p.file("marks").display().to_string();
    let script = format!(
        "echo \"$ORCH_TASK_ID $ORCH_ATTEMPT\" >> shared.txt && touch {marks}/started-$ORCH_TASK_ID-$ORCH_ATTEMPT \
         && while [ ! -e {marks}/go ]; do sleep 0.05; done"
    );
    p.set_config("command", &format!("[\"sh\", \"-c\", {}]", serde_json::to_string(&script).unwrap()));
}

fn registered_worktrees(p: &Project) -> usize {
    git(p.path(), &["worktree", "list", "--porcelain"]).lines().filter(|l| l.starts_with("worktree ")).count()
}

#[test]
fn three_workers_edit_the_same_file_each_in_its_own_worktree() {
    let p = repo();
    waiting_worker(&p);
    p.ok(&["add", "one"]);
    p.ok(&["add", "two"]);
    p.ok(&["add", "$(touch pwned) ../../x ~^: `touch pwned2` \"quoted\""]);
    let mut run = p.spawn("run", &["run", "--until-idle", "--workers", "3"]);
    let started = |id: &str| p.file(&format!("marks/started-{id}-1")).exists();
    assert!(wait_until(LONG, || ["ORCH-001", "ORCH-002", "ORCH-003"].iter().all(|id| started(id))), "{}", run.stderr());
    // While they run: the main checkout is as it was.
    assert_eq!(p.read("shared.txt"), "base\n");
    assert_eq!(git(p.path(), &["status", "--porcelain"]), "");
    assert_eq!(registered_worktrees(&p), 4);
    let wt = p.file(".orch/worktrees/ORCH-001/shared.txt");
    assert_eq!(std::fs::read_to_string(wt).unwrap(), "base\nORCH-001 1\n");
    std::fs::write(p.file("marks/go"), "").unwrap();
    assert_eq!(run.wait(LONG), Some(0), "{}", run.stderr());

    assert_eq!(p.read("shared.txt"), "base\n", "the main checkout is untouched");
    assert_eq!(git(p.path(), &["status", "--porcelain"]), "");
    assert_eq!(git(p.path(), &["rev-parse", "--abbrev-ref", "HEAD"]), "main");
    for id in ["ORCH-001", "ORCH-002", "ORCH-003"] {
        let branch = format!("orch/{id}");
        let file = git(p.path(), &["show", &format!("{branch}:shared.txt")]);
        assert_eq!(file, format!("base\n{id} 1"), "{branch}");
        let subject = git(p.path(), &["log", "-1", "--format=%s", &branch]);
        assert!(subject.contains(id) && subject.contains("left uncommitted"), "{subject}");
        assert_eq!(git(p.path(), &["rev-list", "--count", &format!("main..{branch}")]), "1");
        let t = p.json(&["show", id]);
        assert_eq!(t["status"], "DONE", "{t}");
        assert_eq!(t["workspace"]["branch"], branch.as_str(), "{t}");
        assert_eq!(t["workspace"]["landing"], "not_landed", "{t}");
        assert_eq!(t["workspace"]["worktree_exists"], false, "removed once DONE (keep = on_failure): {t}");
    }
    assert_eq!(registered_worktrees(&p), 1, "only the main checkout is left");
    assert!(!p.file("pwned").exists() && !p.file("pwned2").exists(), "task text ran nothing");
    let log = p.json(&["log", "ORCH-002"]);
    assert_eq!(log[0]["branch"], "orch/ORCH-002", "{log}");
    assert!(log[0]["worktree"].as_str().unwrap().ends_with(".orch/worktrees/ORCH-002"), "{log}");
    let text = p.ok(&["show", "ORCH-002"]);
    assert!(text.contains("branch:           orch/ORCH-002 (base main)"), "{text}");
    assert!(text.contains("landing:          not_landed"), "{text}");
}

#[test]
fn a_worker_sees_its_worktree_branch_and_base_and_a_failed_tasks_worktree_is_kept() {
    let p = repo();
    p.set_config(
        "command",
        r#"["sh", "-c", "pwd > where.txt; echo \"$ORCH_WORKTREE|$ORCH_BRANCH|$ORCH_BASE\" >> where.txt; exit 1"]"#,
    );
    p.set_config("backoff", r#"["1h"]"#);
    p.ok(&["add", "fails"]);
    let (code, _, err) = p.run(&["run", "--until-idle", "--max-wait", "0s"]);
    assert_eq!(code, 0, "{err}");
    let wt = p.file(".orch/worktrees/ORCH-001").canonicalize().unwrap();
    let text = git(p.path(), &["show", "orch/ORCH-001:where.txt"]);
    let w = wt.display().to_string();
    assert_eq!(text, format!("{w}\n{w}|orch/ORCH-001|main"));
    assert!(wt.is_dir(), "a failed task's worktree is kept (keep = on_failure)");
    let t = p.json(&["show", "ORCH-001"]);
    assert_eq!((t["status"].as_str(), t["workspace"]["worktree_exists"].as_bool()), (Some("FAILED"), Some(true)));
}

#[test]
fn worktree_mode_outside_a_git_repository_is_refused_at_start() {
    let p = Project::init_plain(None);
    p.set_config("mode", r#""worktree""#);
    p.set_config("command", r#"["/bin/sh", "-c", "exit 0"]"#);
    p.ok(&["add", "anything"]);
    let (code, _, err) = p.run(&["run", "--until-idle"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("needs a git repository") && err.contains("mode = \"shared\""), "{err}");
    let empty = tempfile::tempdir().unwrap();
    let out = p.command(&["run", "--until-idle"]).env("PATH", empty.path()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("git is not installed"), "{err}");
    assert_eq!(p.json(&["show", "ORCH-001"])["status"], "PENDING");
}

#[test]
fn a_dispatcher_killed_mid_task_loses_no_work_and_leaves_no_stray_worktree() {
    let p = repo();
    waiting_worker(&p);
    p.set_config("lease", r#""1h""#);
    p.ok(&["add", "one"]);
    p.ok(&["add", "two"]);
    let mut first = p.spawn("first", &["run", "--workers", "2"]);
    let started = |id: &str, n: u32| p.file(&format!("marks/started-{id}-{n}")).exists();
    assert!(wait_until(LONG, || started("ORCH-001", 1) && started("ORCH-002", 1)), "{}", first.stderr());
    first.signal(nix::sys::signal::Signal::SIGKILL);
    first.wait(LONG);
    // A half-made worktree a dead dispatcher might leave: a folder git does not know.
    std::fs::create_dir_all(p.file(".orch/worktrees/ORCH-009/stuff")).unwrap();
    std::fs::write(p.file("marks/go"), "").unwrap();
    let mut second = p.spawn("second", &["run", "--until-idle", "--workers", "2"]);
    assert_eq!(second.wait(LONG), Some(0), "{}", second.stderr());
    for id in ["ORCH-001", "ORCH-002"] {
        assert_eq!(p.json(&["show", id])["status"], "DONE");
        let file = git(p.path(), &["show", &format!("orch/{id}:shared.txt")]);
        let lines: Vec<&str> = file.lines().collect();
        assert_eq!(lines[0], "base");
        // A run the dead dispatcher left is put back without counting its attempt: both
        // runs were attempt 1, and both lines are on the branch.
        assert_eq!(lines[1..], [format!("{id} 1"), format!("{id} 1")], "the first run's work is kept: {file}");
        let subjects = git(p.path(), &["log", "--format=%s", &format!("main..orch/{id}")]);
        assert!(subjects.contains("an earlier run left uncommitted"), "{subjects}");
    }
    assert_eq!(registered_worktrees(&p), 1, "no stray worktree is registered");
    assert!(!p.file(".orch/worktrees/ORCH-009").exists(), "the half-made folder is gone");
    assert_eq!(p.read("shared.txt"), "base\n");
}

#[test]
fn a_cancelled_tasks_worktree_is_kept_and_keep_never_removes_a_failed_ones() {
    let p = repo();
    waiting_worker(&p);
    p.set_config("keep", r#""never""#);
    p.ok(&["add", "to cancel"]);
    let mut run = p.spawn("run", &["run", "--until-idle"]);
    assert!(wait_until(LONG, || p.file("marks/started-ORCH-001-1").exists()), "{}", run.stderr());
    p.ok(&["cancel", "ORCH-001"]);
    assert_eq!(run.wait(LONG), Some(0), "{}", run.stderr());
    assert!(p.file(".orch/worktrees/ORCH-001").is_dir(), "a cancelled task's worktree is kept, even with keep = never");
    let file = git(p.path(), &["show", "orch/ORCH-001:shared.txt"]);
    assert_eq!(file, "base\nORCH-001 1", "what the stopped worker left is committed");

    p.set_config("command", r#"["sh", "-c", "echo x > failed.txt; exit 1"]"#);
    p.set_config("backoff", r#"["1h"]"#);
    p.ok(&["add", "fails"]);
    let (code, _, err) = p.run(&["run", "--until-idle", "--max-wait", "0s"]);
    assert_eq!(code, 0, "{err}");
    assert!(!p.file(".orch/worktrees/ORCH-002").exists(), "keep = never removes a failed task's worktree");
    assert_eq!(git(p.path(), &["show", "orch/ORCH-002:failed.txt"]), "x", "its branch stays with its work");
}
