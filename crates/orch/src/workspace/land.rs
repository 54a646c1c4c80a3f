//! The merge queue: a task's branch lands on the base branch, one landing at a time per
//! repository (`lock::LAND`, the kernel's lock: a crash never leaves it held). The
//! branch is rebased onto the base in its worktree, `workspace.check` runs there within
//! `workspace.check_timeout`, and only if it passes is the base fast-forwarded to the
//! branch — a conflict aborts the rebase, so the base is never half-merged.

/// Event: a landing began (`msg`: the branch and the base).
pub const STARTED: &str = "land.started";
/// Event: the branch landed (`msg`: the base's new commit, then the branch and base).
pub const LANDED: &str = "land.landed";
/// Event: the branch does not rebase onto the base (`msg`: what git said).
pub const CONFLICT: &str = "land.conflict";
/// Event: the check failed in the rebased worktree (`msg`: how, and where its output is).
pub const CHECK_FAILED: &str = "land.check_failed";
