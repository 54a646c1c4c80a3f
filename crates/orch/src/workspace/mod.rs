//! Workspaces: with `[workspace] mode = "worktree"`, each task works in a git worktree
//! of its own, on the branch `PREFIX+ID` (`orch/ORCH-1`), under `workspace.root`.
//! This module owns that life: checking at the dispatcher's start that git and the
//! repository are there (and cleaning what a dead dispatcher left, `recover`), making
//! or reusing a task's worktree before its worker starts (`prepare`), committing what a
//! worker left uncommitted when it ends (`after_exit`), and removing the worktree per
//! `workspace.keep` once the run is settled (`settled`). The branch always stays.
//! Landing a branch on the base (the merge queue) is `land`. docs/WORKSPACES.md.
//!
//! Where a run worked is recorded as an event on the run (`workspace.created`, its
//! message a JSON object: worktree, branch, base), not a column: the store is not
//! migrated, and `orch show`/`orch log` read the newest such event of a task.

mod git;
pub mod land;
mod lock;
mod view;

pub use git::GitError;
pub use land::land_before_done;
pub use view::{WorkspaceView, fill_runs, view_of};

use crate::config::{Keep, Land, Mode};
use crate::error::{Error, Result};
use crate::ops::{Orch, Settled};
use git::{commit_all, git, git_ok, rev};
use orch_core::event::Event;
use orch_core::task::Status;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Event: a run's worktree was made or reused (`msg`: JSON worktree, branch, base,
/// reused, and `saved` when the earlier work could not go onto the new base).
pub const CREATED: &str = "workspace.created";
/// Event: orch committed what a worker left uncommitted (`msg`: the commit).
pub const COMMITTED: &str = "workspace.committed";
/// Event: a task's worktree was removed (`msg`: its path); the branch stays.
pub const REMOVED: &str = "workspace.removed";

/// The workspaces of one repository, as the dispatcher uses them.
#[derive(Debug)]
pub struct Workspaces {
    /// The main checkout (the folder that holds `.orch/`, or the top of its repository).
    repo: PathBuf,
    /// The repository's common git folder, where the locks go.
    common: PathBuf,
    /// Where the worktrees go (absolute, resolved).
    root: PathBuf,
    /// The branch tasks start from and land on.
    pub base: String,
    prefix: String,
    keep: Keep,
    pub land: Land,
    check: Vec<String>,
    check_timeout: std::time::Duration,
}

/// A task's worktree, ready for its worker.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub path: PathBuf,
    pub branch: String,
    pub base: String,
}

impl Prepared {
    /// The variables a worker gets: `ORCH_WORKTREE`, `ORCH_BRANCH`, `ORCH_BASE`.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("ORCH_WORKTREE".into(), self.path.display().to_string()),
            ("ORCH_BRANCH".into(), self.branch.clone()),
            ("ORCH_BASE".into(), self.base.clone()),
        ]
    }
}

fn usage(e: impl std::fmt::Display) -> Error {
    Error::Usage(e.to_string())
}

impl Workspaces {
    /// The workspaces of `orch`'s folder; `None` in shared mode. Refused (exit 2) when
    /// git is missing, the folder is in no git repository, or the base branch is not
    /// there; `git worktree prune` forgets worktrees whose folder is gone.
    pub fn open(orch: &Orch) -> Result<Option<Arc<Workspaces>>> {
        let w = &orch.config().workspace;
        if w.mode == Mode::Shared {
            return Ok(None);
        }
        let here = orch.home().root();
        let not_git = |e: GitError| match e {
            GitError::Failed { .. } => usage(format!(
                "workspace.mode = \"worktree\" needs a git repository, and {} is in none (git init, or mode = \"shared\")",
                here.display()
            )),
            e => usage(format!("workspace.mode = \"worktree\": {e}")),
        };
        let top = git(here, &["rev-parse", "--show-toplevel"]).map_err(not_git)?;
        let repo = PathBuf::from(top);
        let common = git(&repo, &["rev-parse", "--path-format=absolute", "--git-common-dir"]).map_err(usage)?;
        let base = if w.base.is_empty() {
            match git(&repo, &["symbolic-ref", "--short", "-q", "HEAD"]) {
                Ok(b) if !b.is_empty() => b,
                _ => {
                    return Err(usage(format!(
                        "workspace.base is not set and {} has no branch checked out (detached HEAD): set it",
                        repo.display()
                    )));
                }
            }
        } else {
            w.base.clone()
        };
        if rev(&repo, &format!("refs/heads/{base}")).map_err(usage)?.is_none() {
            return Err(usage(format!("workspace.base: the branch `{base}` is not in {}", repo.display())));
        }
        let root = orch.home().root().join(&w.root);
        std::fs::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
        let root = root.canonicalize().map_err(|e| Error::io(&root, e))?;
        git(&repo, &["worktree", "prune"]).map_err(usage)?;
        Ok(Some(Arc::new(Workspaces {
            repo,
            common: PathBuf::from(common),
            root,
            base,
            prefix: w.branch_prefix.clone(),
            keep: w.keep,
            land: w.land,
            check: w.check.clone(),
            check_timeout: w.check_timeout.unsigned_abs(),
        })))
    }

    pub fn branch(&self, task_id: &str) -> String {
        format!("{}{task_id}", self.prefix)
    }

    pub fn path(&self, task_id: &str) -> PathBuf {
        self.root.join(task_id)
    }

    /// The worktrees git knows of, by path.
    fn registered(&self) -> std::result::Result<Vec<PathBuf>, GitError> {
        let list = git(&self.repo, &["worktree", "list", "--porcelain"])?;
        Ok(list.lines().filter_map(|l| l.strip_prefix("worktree ")).map(PathBuf::from).collect())
    }

    /// Makes (or, for a retry, reuses) the worktree of `task_id` on its branch, brought
    /// onto the base branch as it is now. Work an earlier run left uncommitted is
    /// committed first; work that cannot be rebased onto the new base is kept at
    /// `refs/orch/saved/ID/RUN` and the branch starts again from the base. Idempotent:
    /// a half-made worktree (a dispatcher died while making it) is made again.
    pub fn prepare(&self, orch: &Orch, task_id: &str, run_id: &str) -> std::result::Result<Prepared, String> {
        let branch = self.branch(task_id);
        if !crate::config::is_branch_safe(&branch) {
            return Err(format!("`{branch}` is not a branch name orch makes"));
        }
        let _lock = lock::hold(&self.common, lock::WORKTREES)?;
        let path = self.path(task_id);
        let s = |e: GitError| e.to_string();
        let reused = path.is_dir() && self.registered().map_err(s)?.contains(&path);
        if reused {
            let msg = format!("orch: {task_id}: work an earlier run left uncommitted (found by run {run_id})");
            self.committed(orch, task_id, run_id, &path, &msg)?;
            if git(&path, &["symbolic-ref", "--short", "-q", "HEAD"]).ok().as_deref() != Some(branch.as_str()) {
                git(&path, &["checkout", "--quiet", &branch]).map_err(s)?;
            }
        } else {
            if path.exists() {
                std::fs::remove_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            }
            git(&self.repo, &["worktree", "prune"]).map_err(s)?;
            let p = path.display().to_string();
            if rev(&self.repo, &format!("refs/heads/{branch}")).map_err(s)?.is_some() {
                git(&self.repo, &["worktree", "add", "--quiet", &p, &branch]).map_err(s)?;
            } else {
                git(&self.repo, &["worktree", "add", "--quiet", "-b", &branch, &p, &self.base]).map_err(s)?;
            }
        }
        let saved = self.onto_base(task_id, run_id, &path).map_err(s)?;
        let mut e = Event::new(orch.now(), CREATED);
        e.task_id = Some(task_id.to_string());
        e.run_id = Some(run_id.to_string());
        let msg = serde_json::json!({
            "worktree": path.display().to_string(), "branch": branch, "base": self.base,
            "reused": reused, "saved": saved,
        });
        e.msg = Some(msg.to_string());
        orch.log_change(|tx| tx.event_insert(&e).map(|_| ())).map_err(|e| e.to_string())?;
        Ok(Prepared { path, branch, base: self.base.clone() })
    }

    /// Brings the worktree's branch onto the base when the base moved on: a rebase, or
    /// (when that conflicts) the old work saved under `refs/orch/saved/` and the branch
    /// reset to the base. The saved ref, if any.
    fn onto_base(&self, task_id: &str, run_id: &str, path: &Path) -> std::result::Result<Option<String>, GitError> {
        let base = format!("refs/heads/{}", self.base);
        if git_ok(path, &["merge-base", "--is-ancestor", &base, "HEAD"])? {
            return Ok(None);
        }
        if git_ok(path, &with_identity(path, &["rebase", "--quiet", &base]))? {
            return Ok(None);
        }
        let _ = git(path, &["rebase", "--abort"]);
        let saved = format!("refs/orch/saved/{task_id}/{run_id}");
        git(path, &["update-ref", &saved, "HEAD"])?;
        git(path, &["reset", "--quiet", "--hard", &base])?;
        Ok(Some(saved))
    }

    /// Commits what the worker of `run_id` left uncommitted in its worktree (message
    /// names the task and the run), so nothing is lost whatever becomes of the folder.
    pub fn after_exit(&self, orch: &Orch, task_id: &str, run_id: &str) -> std::result::Result<(), String> {
        let path = self.path(task_id);
        if !path.is_dir() {
            return Ok(());
        }
        let msg = format!("orch: {task_id}: work run {run_id} left uncommitted");
        self.committed(orch, task_id, run_id, &path, &msg)
    }

    fn committed(
        &self,
        orch: &Orch,
        task_id: &str,
        run_id: &str,
        path: &Path,
        msg: &str,
    ) -> std::result::Result<(), String> {
        if !commit_all(path, msg).map_err(|e| e.to_string())? {
            return Ok(());
        }
        let sha = git(path, &["rev-parse", "HEAD"]).map_err(|e| e.to_string())?;
        let mut e = Event::new(orch.now(), COMMITTED);
        e.task_id = Some(task_id.to_string());
        e.run_id = Some(run_id.to_string());
        e.msg = Some(format!("{sha} {msg}"));
        orch.log_change(|tx| tx.event_insert(&e).map(|_| ())).map_err(|e| e.to_string())
    }

    /// A run of `task_id` was settled: its worktree is removed as `workspace.keep`
    /// says (never one whose lease was lost — it is someone else's now, or cancelled).
    /// A warning when removing failed.
    pub fn settled(&self, orch: &Orch, task_id: &str, settled: &Settled) -> Option<String> {
        let status = match settled {
            Settled::Task { task, .. } | Settled::Ended { task, .. } => task.status,
            Settled::LeaseLost => return None,
        };
        let remove = match self.keep {
            Keep::Always => false,
            Keep::OnFailure => status == Status::Done,
            Keep::Never => status != Status::InProgress,
        };
        if !remove {
            return None;
        }
        self.remove(orch, task_id).err().map(|e| format!("{task_id}: its worktree was not removed: {e}"))
    }

    /// Removes the worktree of `task_id` (what is left uncommitted is committed first);
    /// its branch stays.
    pub fn remove(&self, orch: &Orch, task_id: &str) -> std::result::Result<(), String> {
        let path = self.path(task_id);
        if !path.exists() {
            return Ok(());
        }
        let msg = format!("orch: {task_id}: work left uncommitted when its worktree was removed");
        if path.join(".git").exists() {
            self.committed(orch, task_id, "-", &path, &msg)?;
        }
        let _lock = lock::hold(&self.common, lock::WORKTREES)?;
        let p = path.display().to_string();
        if git(&self.repo, &["worktree", "remove", "--force", &p]).is_err() {
            std::fs::remove_dir_all(&path).map_err(|e| format!("{p}: {e}"))?;
            git(&self.repo, &["worktree", "prune"]).map_err(|e| e.to_string())?;
        }
        let mut e = Event::new(orch.now(), REMOVED);
        e.task_id = Some(task_id.to_string());
        e.msg = Some(p);
        orch.log_change(|tx| tx.event_insert(&e).map(|_| ())).map_err(|e| e.to_string())
    }

    /// What dead dispatchers left under `workspace.root`: a folder git does not know
    /// (a worktree half made) is deleted; the worktree of a task that is DONE is removed
    /// as `keep` says; any other is left for the task's next run to reuse. Lines saying
    /// what was done.
    pub fn recover(&self, orch: &Orch) -> Result<Vec<String>> {
        let registered = self.registered().map_err(usage)?;
        let mut lines = Vec::new();
        let entries = std::fs::read_dir(&self.root).map_err(|e| Error::io(&self.root, e))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(id) = path.file_name().and_then(|n| n.to_str()).map(str::to_string) else { continue };
            if !path.is_dir() {
                continue;
            }
            if !registered.contains(&path) {
                let _lock = lock::hold(&self.common, lock::WORKTREES).map_err(Error::Usage)?;
                if path.exists() && !self.registered().map_err(usage)?.contains(&path) {
                    std::fs::remove_dir_all(&path).map_err(|e| Error::io(&path, e))?;
                    lines.push(format!("{id}: a half-made worktree was deleted"));
                }
                continue;
            }
            let done = matches!(orch.get(&id), Ok(t) if t.status == Status::Done);
            if done && self.keep != Keep::Always {
                self.remove(orch, &id).map_err(Error::Usage)?;
                lines.push(format!("{id}: the worktree of a DONE task was removed"));
            }
        }
        Ok(lines)
    }
}

/// `args` with a committer identity put before them when the repository has none.
fn with_identity<'a>(dir: &Path, args: &[&'a str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    if git(dir, &["config", "--get", "user.email"]).is_err() {
        out.extend(["-c", "user.name=orch", "-c", "user.email=orch@localhost"]);
    }
    out.extend_from_slice(args);
    out
}
