//! A task's branch, worktree and landing state where the operator looks: the terminal
//! dashboard (in tmux: the task pane, and `[wt]` before a running task in the fleet
//! panel) and the task of `orch serve` (`workspace`, the same object as
//! `orch show --json`'s), in a real git repository in a temporary folder.

use crate::common::{Project, wait_until};
use crate::serve_util::Server;
use crate::tmux::Tmux;
use std::path::Path;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(60);

fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git").arg("-C").arg(dir).args(args).output().expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A repository on `main` in worktree mode whose worker writes `work.txt`, once
/// `marks/go` is there.
fn repo() -> Project {
    let p = Project::init_plain(None);
    let d = p.path();
    git(d, &["init", "--quiet", "--initial-branch", "main"]);
    git(d, &["config", "user.name", "test"]);
    git(d, &["config", "user.email", "test@example.com"]);
    p.write(".gitignore", ".orch/\nQUEUE.md\nmarks/\n");
    git(d, &["add", "."]);
    git(d, &["commit", "--quiet", "-m", "start"]);
    std::fs::create_dir(p.file("marks")).unwrap();
    p.set_config("mode", r#""worktree""#);
    let marks = p.file("marks").display().to_string();
    let script = format!("touch {marks}/started; while [ ! -e {marks}/go ]; do sleep 0.05; done; echo x > work.txt");
    p.set_config("command", &format!("[\"sh\", \"-c\", {}]", serde_json::to_string(&script).unwrap()));
    p
}

#[test]
fn the_dashboard_shows_a_tasks_branch_worktree_and_landing() {
    let p = repo();
    p.ok(&["add", "in a worktree"]);
    let mut d = p.spawn("run", &["run", "--until-idle"]);
    assert!(wait_until(LONG, || p.file("marks/started").exists()), "{}", d.stderr());
    let Some(t) = Tmux::start(&p, 140, 45, "\"$ORCH\" dashboard") else { return };
    let worktree = p.file(".orch/worktrees/ORCH-001").canonicalize().unwrap().display().to_string();
    let screen = t.wait_for("the task's workspace", LONG, |s| {
        s.contains("[wt] in a worktree") && s.contains("branch: orch/ORCH-001 (base main)") && s.contains(&worktree)
    });
    assert!(screen.contains("landing: not_landed"), "{screen}");
    std::fs::write(p.file("marks/go"), "").unwrap();
    assert_eq!(d.wait(LONG), Some(0), "{}", d.stderr());
    t.wait_for("the worktree removed once DONE", LONG, |s| s.contains("(removed)") && !s.contains("[wt]"));
}

#[test]
fn the_task_of_orch_serve_has_the_workspace_of_orch_show() {
    let p = repo();
    std::fs::write(p.file("marks/go"), "").unwrap();
    p.ok(&["add", "in a worktree"]);
    let (code, _, err) = p.run(&["run", "--until-idle"]);
    assert_eq!(code, 0, "{err}");
    let shown = p.json(&["show", "ORCH-001"])["workspace"].clone();
    assert_eq!(shown["branch"], "orch/ORCH-001", "{shown}");
    let s = Server::start(&p);
    let served = s.get("/api/v1/tasks/ORCH-001").json();
    assert_eq!(served["workspace"], shown, "{served}");
    assert_eq!(served["workspace"]["landing"], "not_landed");
    let js = s.get("/app.js");
    assert!(js.text.contains("t.workspace"), "the task page shows it");
}
