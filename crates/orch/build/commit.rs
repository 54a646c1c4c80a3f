//! The commit a build of orch comes from, for `orch --version`, and the files whose change
//! means another commit. Shared by the build script (`build.rs`) and its tests.
//!
//! In order: `ORCH_BUILD_COMMIT` when set (a builder that knows it); the `sha1` of
//! `.cargo_vcs_info.json`, which `cargo package` writes into a packaged crate (installs
//! from crates.io); `git rev-parse --short HEAD` when the repository around the crate
//! tracks the crate's own `Cargo.toml` (so an unrelated repository around an unpacked
//! crate is never asked); else `unknown`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The commit found and the files to watch for the next one.
pub struct Commit {
    /// A short commit id, or `unknown`.
    pub id: String,
    /// Existing files (or folders) whose change means HEAD may have moved: HEAD itself and
    /// the branch's ref. Only existing ones: cargo reruns a build script on every build
    /// while a watched path is missing.
    pub watch: Vec<PathBuf>,
}

/// The length of an id taken from `.cargo_vcs_info.json` (git's default abbreviation).
const SHORT: usize = 7;

/// The commit of the crate whose manifest folder is `dir`; `given` is `ORCH_BUILD_COMMIT`.
pub fn find(dir: &Path, given: Option<&str>) -> Commit {
    let none = || Commit { id: "unknown".to_string(), watch: Vec::new() };
    if let Some(id) = given.map(str::trim).filter(|s| !s.is_empty()) {
        return Commit { id: id.to_string(), watch: Vec::new() };
    }
    if let Ok(info) = std::fs::read_to_string(dir.join(".cargo_vcs_info.json")) {
        return match packaged_sha(&info) {
            Some(sha) => Commit { id: sha[..SHORT].to_string(), watch: Vec::new() },
            None => none(),
        };
    }
    if git(dir, &["ls-files", "--error-unmatch", "Cargo.toml"]).is_none() {
        return none();
    }
    let Some(id) = git(dir, &["rev-parse", "--short", "HEAD"]) else { return none() };
    Commit { id, watch: head_files(dir) }
}

/// The `"sha1": "<hex>"` of a `.cargo_vcs_info.json`, when it is a full commit id.
fn packaged_sha(info: &str) -> Option<&str> {
    let rest = &info[info.find("\"sha1\"")? + "\"sha1\"".len()..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start().strip_prefix('"')?;
    let sha = &rest[..rest.find('"')?];
    (sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit())).then_some(sha)
}

/// HEAD and where the branch it names keeps its commit: the loose ref when there is one,
/// else the packed refs and the folder a new loose ref would appear in.
fn head_files(dir: &Path) -> Vec<PathBuf> {
    // Relative to `dir` (older git prints no absolute paths); None when it does not exist.
    let path = |p: &str| git(dir, &["rev-parse", "--git-path", p]).and_then(|g| dir.join(g).canonicalize().ok());
    let mut out = vec![path("HEAD")];
    if let Some(branch) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        match path(&branch) {
            Some(loose) => out.push(Some(loose)),
            None => out.extend([path("packed-refs"), path("refs/heads"), path("reftable")]),
        }
    }
    out.into_iter().flatten().collect()
}

/// One git command's trimmed output, or None when git is missing or fails. Git's
/// environment is cleared so that a GIT_DIR set around the build does not point
/// elsewhere.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_COMMON_DIR")
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && !text.is_empty()).then(|| text.to_string())
}
