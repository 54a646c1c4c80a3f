//! `[workspace]` of orch.toml: where a worker works — the shared checkout (the default)
//! or a git worktree of its own per task — and how finished branches land (the merge
//! queue). docs/WORKSPACES.md says what each key does.

use super::{Config, MAX_TIMEOUT, argv};
use jiff::SignedDuration;
use serde::Deserialize;

/// The whole `[workspace]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Workspace {
    pub mode: Mode,
    /// The branch a task's branch starts from and lands on; empty: the branch checked
    /// out when the dispatcher starts.
    pub base: String,
    /// Where the worktrees go, relative to the folder that holds `.orch/`.
    pub root: String,
    pub keep: Keep,
    /// A task's branch is this prefix and its id (`orch/ORCH-1`).
    pub branch_prefix: String,
    pub land: Land,
    /// The argv run in a rebased worktree before its branch lands; empty: no check.
    pub check: Vec<String>,
    #[serde(deserialize_with = "super::duration")]
    pub check_timeout: SignedDuration,
}

/// `workspace.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Every worker in the folder that holds `.orch/` (as before workspaces).
    Shared,
    /// A git worktree per task, on its own branch.
    Worktree,
}

/// `workspace.keep`: when a task's worktree is removed after its run (its branch stays).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Keep {
    /// Removed once the task is DONE; kept while it failed, is blocked or waits.
    OnFailure,
    /// Never removed by orch.
    Always,
    /// Removed after every run that orch settled (a cancelled task's is kept).
    Never,
}

/// `workspace.land`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Land {
    /// Only `orch land ID` lands a branch.
    Manual,
    /// Every run the gate passed lands before its task is DONE.
    Auto,
}

impl Default for Workspace {
    fn default() -> Self {
        Workspace {
            mode: Mode::Shared,
            base: String::new(),
            root: ".orch/worktrees".into(),
            keep: Keep::OnFailure,
            branch_prefix: "orch/".into(),
            land: Land::Manual,
            check: Vec::new(),
            check_timeout: SignedDuration::from_mins(30),
        }
    }
}

/// Whether `name` may be (part of) a git branch name as orch writes one: ASCII
/// letters, digits and `_`, `-`, `.`, `/`, with no empty, dot-led or `.lock` part.
pub fn is_branch_safe(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-./".contains(&b))
        && !name.contains("..")
        && name.split('/').all(|part| !part.starts_with('.') && !part.ends_with(".lock"))
}

impl Config {
    /// Checks `[workspace]`: (dotted key, what is wrong).
    pub(super) fn validate_workspace(&self) -> Result<(), (String, String)> {
        let w = &self.workspace;
        let fail = |key: &str, msg: String| Err((key.to_string(), msg));
        if !w.base.is_empty() && !is_branch_safe(&w.base) {
            return fail("workspace.base", format!("`{}` is not a branch name orch accepts", w.base));
        }
        let prefix_ok = w.branch_prefix.is_empty()
            || (is_branch_safe(&format!("{}x", w.branch_prefix)) && !w.branch_prefix.starts_with('/'));
        if !prefix_ok {
            return fail("workspace.branch_prefix", format!("`{}` cannot start a branch name", w.branch_prefix));
        }
        if w.root.trim().is_empty() {
            return fail("workspace.root", "must name a folder".into());
        }
        if let Err(e) = argv(&w.check, false) {
            return fail("workspace.check", e);
        }
        if !w.check_timeout.is_positive() {
            return fail("workspace.check_timeout", "must be longer than 0s".into());
        }
        if w.check_timeout > MAX_TIMEOUT {
            return fail("workspace.check_timeout", "must be at most 30 days".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_names_orch_writes_are_plain() {
        for ok in ["main", "orch/ORCH-1", "release/1.2", "a_b-c"] {
            assert!(is_branch_safe(ok), "{ok}");
        }
        for bad in ["", "../../x", "a b", "x~1", "x^", "a:b", "a..b", ".hidden", "x.lock", "a//.b"] {
            assert!(!is_branch_safe(bad), "{bad}");
        }
    }

    #[test]
    fn the_table_is_read_and_checked() {
        let c = Config::parse("[workspace]\nmode = \"worktree\"\nland = \"auto\"\ncheck = [\"true\"]\n").unwrap();
        assert_eq!(
            (c.workspace.mode, c.workspace.land, c.workspace.keep),
            (Mode::Worktree, Land::Auto, Keep::OnFailure)
        );
        let e = Config::parse("[workspace]\nmode = \"copy\"\n").unwrap_err();
        assert!(e.starts_with("2: workspace.mode: unknown variant `copy`"), "{e}");
        let e = Config::parse("[workspace]\nbase = \"a b\"\n").unwrap_err();
        assert_eq!(e, "2: workspace.base: `a b` is not a branch name orch accepts");
        let e = Config::parse("[workspace]\nbranch_prefix = \"~\"\n").unwrap_err();
        assert_eq!(e, "2: workspace.branch_prefix: `~` cannot start a branch name");
    }
}
