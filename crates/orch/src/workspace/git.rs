//! Plain `git`, run as a program with an argv (never through a shell) in a given folder
//! (`git -C DIR …`), through the runner; what it printed, or why it failed in words.

use std::path::Path;

/// Why a git command failed.
#[derive(Debug)]
pub enum GitError {
    /// git is not installed (not in `PATH`).
    Missing,
    /// git ran and failed: its command line and what it said.
    Failed { args: String, status: Option<i32>, stderr: String, stdout: String },
    /// git could not be started.
    Io(std::io::Error),
}

impl std::fmt::Display for GitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GitError::Missing => f.write_str("git is not installed (not found in PATH)"),
            GitError::Failed { args, status, stderr, stdout } => {
                let said = if stderr.trim().is_empty() { stdout.trim() } else { stderr.trim() };
                let code = status.map_or("a signal".to_string(), |c| format!("exit {c}"));
                write!(f, "`git {args}` failed ({code}): {said}")
            }
            GitError::Io(e) => write!(f, "git could not be started: {e}"),
        }
    }
}

/// Runs `git -C dir ARGS…` and gives its stdout (trimmed at the end).
pub fn git(dir: &Path, args: &[&str]) -> Result<String, GitError> {
    let mut argv = vec!["git".to_string(), "-C".to_string(), dir.display().to_string()];
    argv.extend(args.iter().map(|a| a.to_string()));
    let out = match crate::runner::program_output(&argv) {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(GitError::Missing),
        Err(e) => return Err(GitError::Io(e)),
    };
    let stdout = String::from_utf8_lossy(&out.stdout).trim_end().to_string();
    if out.status.success() {
        return Ok(stdout);
    }
    Err(GitError::Failed {
        args: args.join(" "),
        status: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        stdout,
    })
}

/// Whether `git -C dir ARGS…` succeeds (a question git answers with its exit status).
pub fn git_ok(dir: &Path, args: &[&str]) -> Result<bool, GitError> {
    match git(dir, args) {
        Ok(_) => Ok(true),
        Err(GitError::Failed { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The commit `rev` names, or `None` when it names none.
pub fn rev(dir: &Path, rev: &str) -> Result<Option<String>, GitError> {
    let spec = format!("{rev}^{{commit}}");
    match git(dir, &["rev-parse", "--verify", "--quiet", &spec]) {
        Ok(sha) => Ok(Some(sha)),
        Err(GitError::Failed { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Commits everything left uncommitted in the worktree `dir` (new files too) with
/// `message`; false when there was nothing. A repository without a committer identity
/// commits as `orch <orch@localhost>`.
pub fn commit_all(dir: &Path, message: &str) -> Result<bool, GitError> {
    if git(dir, &["status", "--porcelain", "--untracked-files=all"])?.is_empty() {
        return Ok(false);
    }
    git(dir, &["add", "--all"])?;
    let mut args = Vec::new();
    if git(dir, &["config", "--get", "user.email"]).is_err() {
        args.extend(["-c", "user.name=orch", "-c", "user.email=orch@localhost"]);
    }
    args.extend(["commit", "--quiet", "--no-verify", "-m", message]);
    git(dir, &args)?;
    Ok(true)
}
