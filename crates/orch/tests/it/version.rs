//! `orch --version`: the version and the commit the binary was built from, as the build
//! script finds it (`build/commit.rs`) in a git checkout, in a packaged crate (no git)
//! and in a folder that is neither.

#[path = "../../build/commit.rs"]
mod commit;

use crate::common::ORCH_BIN;
use std::path::Path;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn has_git() -> bool {
    let found = Command::new("git").arg("--version").output().is_ok();
    if !found {
        eprintln!("skipped: git is not installed");
    }
    found
}

#[test]
fn version_names_the_commit_of_the_checkout() {
    let out = Command::new(ORCH_BIN).arg("--version").output().expect("run orch");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let expected = match git(crate_dir, &["ls-files", "--error-unmatch", "Cargo.toml"]) {
        Some(_) => git(crate_dir, &["rev-parse", "--short", "HEAD"]).expect("a commit"),
        None => "unknown".to_string(),
    };
    assert_eq!(text, format!("orch {} ({expected})\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn a_packaged_crate_takes_the_commit_cargo_package_recorded() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("Cargo.toml"), "[package]\n").expect("write");
    let info = "{\n  \"git\": {\n    \"sha1\": \"0123456789abcdef0123456789abcdef01234567\"\n  },\n  \"path_in_vcs\": \"crates/orch\"\n}";
    std::fs::write(dir.path().join(".cargo_vcs_info.json"), info).expect("write");
    let found = commit::find(dir.path(), None);
    assert_eq!(found.id, "0123456");
    assert!(found.watch.is_empty(), "nothing to watch in a packaged crate");

    std::fs::write(dir.path().join(".cargo_vcs_info.json"), "{\"git\": {\"sha1\": \"not hex\"}}").expect("write");
    assert_eq!(commit::find(dir.path(), None).id, "unknown");
}

#[test]
fn a_folder_without_git_says_unknown_and_a_given_commit_wins() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("Cargo.toml"), "[package]\n").expect("write");
    let found = commit::find(dir.path(), None);
    assert_eq!(found.id, "unknown");
    assert!(found.watch.is_empty());
    assert_eq!(commit::find(dir.path(), Some("abc1234")).id, "abc1234");
    assert_eq!(commit::find(dir.path(), Some(" ")).id, "unknown");
}

#[test]
fn a_repository_that_does_not_track_the_crate_is_not_asked() {
    if !has_git() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    git(dir.path(), &["init", "-q"]).expect("git init");
    std::fs::write(dir.path().join("other.txt"), "x\n").expect("write");
    git(dir.path(), &["add", "other.txt"]).expect("git add");
    git(dir.path(), &["commit", "-q", "-m", "other"]).expect("git commit");
    let krate = dir.path().join("unpacked");
    std::fs::create_dir(&krate).expect("mkdir");
    std::fs::write(krate.join("Cargo.toml"), "[package]\n").expect("write");
    assert_eq!(commit::find(&krate, None).id, "unknown");
}

#[test]
fn a_checkout_gives_its_head_and_existing_files_to_watch() {
    if !has_git() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    git(root, &["init", "-q"]).expect("git init");
    let krate = root.join("crates/orch");
    std::fs::create_dir_all(&krate).expect("mkdir");
    std::fs::write(krate.join("Cargo.toml"), "[package]\n").expect("write");
    git(root, &["add", "."]).expect("git add");
    git(root, &["commit", "-q", "-m", "first"]).expect("git commit");

    let found = commit::find(&krate, None);
    assert_eq!(found.id, git(root, &["rev-parse", "--short", "HEAD"]).expect("head"));
    let branch = git(root, &["symbolic-ref", "HEAD"]).expect("a branch");
    let git_dir = root.canonicalize().expect("canonical").join(".git");
    assert!(found.watch.contains(&git_dir.join("HEAD")), "{:?}", found.watch);
    assert!(found.watch.contains(&git_dir.join(&branch)), "{:?}", found.watch);

    // A packed branch has no loose ref: the packed refs and the folder a new loose ref
    // appears in are watched instead, and every watched path exists.
    git(root, &["pack-refs", "--all"]).expect("git pack-refs");
    let found = commit::find(&krate, None);
    assert!(!git_dir.join(&branch).exists());
    assert!(found.watch.contains(&git_dir.join("packed-refs")), "{:?}", found.watch);
    assert!(found.watch.iter().all(|p| p.exists()), "{:?}", found.watch);
}
