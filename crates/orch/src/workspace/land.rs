//! The merge queue: a task's branch lands on the base branch, one landing at a time per
//! repository (`orch-land.lock` in the git common folder, the kernel's lock: a crash
//! never leaves it held). The branch is rebased onto the base in its worktree,
//! `workspace.check` runs there within `workspace.check_timeout`, and only if it passes
//! is the base fast-forwarded to the branch — a conflict aborts the rebase, so the base
//! is never half-merged.

/// Event: a landing began (`msg`: the branch and the base).
pub const STARTED: &str = "land.started";
/// Event: the branch landed (`msg`: the base's new commit, then the branch and base).
pub const LANDED: &str = "land.landed";
/// Event: the branch does not rebase onto the base (`msg`: what git said).
pub const CONFLICT: &str = "land.conflict";
/// Event: the check failed in the rebased worktree (`msg`: how, and where its output is).
pub const CHECK_FAILED: &str = "land.check_failed";

use super::git::{commit_all, git, rev};
use super::{Workspaces, lock, with_identity};
use crate::ops::Orch;
use crate::runner::{self, Spec};
use orch_core::event::{Event, Level};
use orch_core::outcome::Exit;
use serde::Serialize;
use std::path::Path;

/// How a landing went.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(tag = "landing", rename_all = "snake_case")]
pub enum Landed {
    /// The base was fast-forwarded to `commit`.
    Landed { commit: String },
    /// The branch does not rebase onto the base; the rebase was aborted.
    LandConflict { message: String },
    /// The check failed (or ran out of time) in the rebased worktree.
    LandCheckFailed { message: String },
}

impl Landed {
    /// The state's name, as `show` and `log` print it.
    pub fn state(&self) -> &'static str {
        match self {
            Landed::Landed { .. } => "landed",
            Landed::LandConflict { .. } => "land_conflict",
            Landed::LandCheckFailed { .. } => "land_check_failed",
        }
    }
}

/// The landing state an event of this module names.
pub fn state_of(kind: &str) -> Option<&'static str> {
    match kind {
        STARTED => Some("landing"),
        LANDED => Some("landed"),
        CONFLICT => Some("land_conflict"),
        CHECK_FAILED => Some("land_check_failed"),
        _ => None,
    }
}

/// The lock taken while a branch lands.
const LOCK: &str = "orch-land.lock";

/// The file, in the run's folder, that holds the check's output (stdout, then stderr in
/// `land-check.err.log`).
pub const CHECK_LOG: &str = "land-check.log";

impl Workspaces {
    /// Lands the branch of `task_id` for run `run_id` (its events and the check's output
    /// go to that run): see the module's doc. `Err` for what is no landing's fault (no
    /// branch, git failing, the store).
    pub fn land(&self, orch: &Orch, task_id: &str, run_id: &str) -> Result<Landed, String> {
        let branch = self.branch(task_id);
        let s = |e: super::GitError| e.to_string();
        if rev(&self.repo, &format!("refs/heads/{branch}")).map_err(s)?.is_none() {
            return Err(format!("{task_id} has no branch `{branch}` to land"));
        }
        let _lock = lock::hold(&self.common, LOCK)?;
        self.event(orch, task_id, run_id, STARTED, Level::Info, format!("{branch} onto {}", self.base))?;
        let path = self.path(task_id);
        let made = !path.join(".git").exists();
        if made {
            let _l = lock::hold(&self.common, lock::WORKTREES)?;
            if path.exists() {
                std::fs::remove_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            }
            git(&self.repo, &["worktree", "prune"]).map_err(s)?;
            let p = path.display().to_string();
            git(&self.repo, &["worktree", "add", "--quiet", &p, &branch]).map_err(s)?;
        } else {
            // A landing killed mid-rebase leaves one in progress: it is undone first.
            let _ = git(&path, &["rebase", "--abort"]);
            let msg = format!("orch: {task_id}: work left uncommitted when it landed (run {run_id})");
            commit_all(&path, &msg).map_err(s)?;
        }
        let result = self.land_in(orch, task_id, run_id, &path, &branch);
        if made && result.as_ref().is_ok_and(|l| matches!(l, Landed::Landed { .. })) {
            self.remove(orch, task_id)?;
        }
        let landed = result?;
        let (kind, level, msg) = match &landed {
            Landed::Landed { commit } => (LANDED, Level::Info, format!("{commit} {branch} onto {}", self.base)),
            Landed::LandConflict { message } => (CONFLICT, Level::Warn, message.clone()),
            Landed::LandCheckFailed { message } => (CHECK_FAILED, Level::Warn, message.clone()),
        };
        self.event(orch, task_id, run_id, kind, level, msg)?;
        Ok(landed)
    }

    /// Rebase, check, fast-forward, in the worktree `path` (the landing lock held).
    fn land_in(&self, orch: &Orch, task_id: &str, run_id: &str, path: &Path, branch: &str) -> Result<Landed, String> {
        let s = |e: super::GitError| e.to_string();
        let base_ref = format!("refs/heads/{}", self.base);
        let old = rev(&self.repo, &base_ref).map_err(s)?.ok_or_else(|| format!("the base `{}` is gone", self.base))?;
        if let Err(e) = git(path, &with_identity(path, &["rebase", "--quiet", &base_ref])) {
            let _ = git(path, &["rebase", "--abort"]);
            let message =
                format!("land_conflict: {branch} does not rebase onto {}: {}", self.base, first_lines(&e.to_string()));
            return Ok(Landed::LandConflict { message });
        }
        if !self.check.is_empty() {
            let dir = orch.home().run_dir(run_id);
            crate::home::create_private_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let spec = Spec {
                argv: self.check.clone(),
                env: vec![
                    ("ORCH_TASK_ID".into(), task_id.to_string()),
                    ("ORCH_WORKTREE".into(), path.display().to_string()),
                    ("ORCH_BRANCH".into(), branch.to_string()),
                    ("ORCH_BASE".into(), self.base.clone()),
                ],
                cwd: path.to_path_buf(),
                stdout: dir.join(CHECK_LOG),
                stderr: dir.join("land-check.err.log"),
                stdin: None,
                inherit: None,
                max_log_bytes: Some(orch.config().worker.max_log_bytes),
            };
            let exit = runner::run_to_end(&spec, self.check_timeout);
            if exit != Exit::Code(0) {
                let how = match &exit {
                    Exit::TimedOut => format!("ran out of time ({}s)", self.check_timeout.as_secs()),
                    Exit::Code(c) => format!("exited {c}"),
                    other => format!("{other:?}"),
                };
                let out = [CHECK_LOG, "land-check.err.log"]
                    .iter()
                    .map(|f| std::fs::read_to_string(dir.join(f)).unwrap_or_default())
                    .collect::<String>();
                let message = format!(
                    "land_check_failed: the check {how} on {branch} rebased onto {} (output in {}): {}",
                    self.base,
                    dir.join(CHECK_LOG).display(),
                    last_lines(&out)
                );
                return Ok(Landed::LandCheckFailed { message });
            }
        }
        let new = git(path, &["rev-parse", "HEAD"]).map_err(s)?;
        // Where the base is checked out, it is fast-forwarded there (its files follow);
        // elsewhere only the ref moves, and only from the commit the rebase was onto.
        let list = git(&self.repo, &["worktree", "list", "--porcelain"]).map_err(s)?;
        let mut at = None;
        let mut current = None;
        for line in list.lines() {
            if let Some(p) = line.strip_prefix("worktree ") {
                current = Some(p.to_string());
            } else if line.strip_prefix("branch ") == Some(base_ref.as_str()) {
                at = current.clone();
            }
        }
        let moved = match at {
            Some(dir) => git(Path::new(&dir), &["merge", "--ff-only", "--quiet", &new]),
            None => git(&self.repo, &["update-ref", &base_ref, &new, &old]),
        };
        if let Err(e) = moved {
            let message =
                format!("land_conflict: {} could not be fast-forwarded: {}", self.base, first_lines(&e.to_string()));
            return Ok(Landed::LandConflict { message });
        }
        Ok(Landed::Landed { commit: new })
    }

    fn event(
        &self,
        orch: &Orch,
        task_id: &str,
        run_id: &str,
        kind: &str,
        level: Level,
        msg: String,
    ) -> Result<(), String> {
        let mut e = Event::new(orch.now(), kind);
        e.level = level;
        e.task_id = Some(task_id.to_string());
        e.run_id = Some(run_id.to_string()).filter(|r| !r.is_empty());
        e.msg = Some(msg);
        orch.log_change(|tx| tx.event_insert(&e).map(|_| ())).map_err(|e| e.to_string())
    }
}

/// The first lines of a message, within a few hundred characters.
fn first_lines(text: &str) -> String {
    let joined: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).take(4).collect();
    crate::console::clip(&joined.join(" / "), 400)
}

/// The last lines of a check's output, within a few hundred characters.
fn last_lines(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(5)..].join(" / ");
    let start = tail.char_indices().rev().nth(400).map_or(0, |(i, _)| i);
    tail[start..].to_string()
}

/// The newest landing result of run `run_id` (its state and its event's message).
pub fn result_of(orch: &Orch, run_id: &str) -> crate::error::Result<Option<(&'static str, String)>> {
    let q = orch_store::EventQuery {
        run_id: Some(run_id.to_string()),
        kinds: [LANDED, CONFLICT, CHECK_FAILED].iter().map(|k| k.to_string()).collect(),
        newest_first: true,
        limit: 1,
        ..Default::default()
    };
    let events = orch.events(&q)?;
    Ok(events.first().and_then(|e| state_of(&e.event).map(|s| (s, e.msg.clone().unwrap_or_default()))))
}

/// For `orch done` by the holder of run `run_id`, the gate having passed its report:
/// with `workspace.land = "auto"` and a worktree made for that run, the branch lands
/// first (the same landing as the dispatcher's). `None` when the task may be DONE
/// (landed, or nothing to land); otherwise why the run is a transient failure.
pub fn land_before_done(orch: &Orch, task_id: &str, run_id: &str) -> Option<String> {
    let ws = &orch.config().workspace;
    if ws.mode != crate::config::Mode::Worktree || ws.land != crate::config::Land::Auto {
        return None;
    }
    match super::view_of(orch, task_id) {
        Ok(Some(v)) if v.run_id.as_deref() == Some(run_id) => {}
        Ok(_) => return None,
        Err(e) => return Some(format!("land_failed: {e}")),
    }
    let landed = match Workspaces::open(orch) {
        Ok(Some(ws)) => ws.land(orch, task_id, run_id),
        Ok(None) => return None,
        Err(e) => return Some(format!("land_failed: {e}")),
    };
    match landed {
        Ok(Landed::Landed { .. }) => None,
        Ok(Landed::LandConflict { message } | Landed::LandCheckFailed { message }) => Some(message),
        Err(e) => Some(format!("land_failed: {e}")),
    }
}
