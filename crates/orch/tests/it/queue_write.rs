//! How QUEUE.md and `export FILE` are written: a new file takes the umask (0666 less
//! it), a replaced one keeps its mode, files inside `.orch/` stay private, and temporary
//! files a killed writer left beside the file are removed by the next write there.

use crate::common::{ORCH_BIN, Project};
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime};

fn mode(p: &Project, name: &str) -> u32 {
    std::fs::metadata(p.file(name)).unwrap().permissions().mode() & 0o7777
}

/// Runs the binary under `umask` (through `sh`, which sets it); panics on a non-zero
/// exit.
fn under_umask(p: &Project, umask: &str, args: &[&str]) {
    let out = std::process::Command::new("sh")
        .current_dir(p.path())
        .env_remove("ORCH_HOME")
        .env_remove("ORCH_DB")
        .env_remove("ORCH_QUEUE_MD")
        .env_remove("ORCH_QUEUE_MD_READ_ONLY")
        .args(["-c", &format!("umask {umask}; exec \"$0\" \"$@\""), ORCH_BIN])
        .args(args)
        .output()
        .expect("run sh");
    assert!(out.status.success(), "orch {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn new_files_take_the_umask_and_replaced_ones_keep_their_mode() {
    let p = Project::empty();
    under_umask(&p, "077", &["init"]);
    under_umask(&p, "077", &["add", "first"]);
    assert_eq!(mode(&p, "QUEUE.md"), 0o600, "a new QUEUE.md under umask 077");
    under_umask(&p, "077", &["export", "out.md"]);
    assert_eq!(mode(&p, "out.md"), 0o600, "a new export under umask 077");
    under_umask(&p, "022", &["export", "other.md"]);
    assert_eq!(mode(&p, "other.md"), 0o644, "a new export under umask 022");
    assert_eq!(mode(&p, ".orch/orch.db"), 0o600);

    // A file replaced keeps the mode it had, whatever the umask.
    std::fs::set_permissions(p.file("QUEUE.md"), std::fs::Permissions::from_mode(0o640)).unwrap();
    std::fs::set_permissions(p.file("out.md"), std::fs::Permissions::from_mode(0o664)).unwrap();
    under_umask(&p, "077", &["add", "second"]);
    under_umask(&p, "077", &["export", "out.md"]);
    assert_eq!(mode(&p, "QUEUE.md"), 0o640);
    assert_eq!(mode(&p, "out.md"), 0o664);
    assert!(p.queue_md().contains("| second |"));
    assert!(p.read("out.md").contains("| second |"));
}

#[test]
fn temporary_files_a_killed_writer_left_go_at_the_next_write() {
    let p = Project::init(None);
    let old = SystemTime::now() - Duration::from_secs(3600);
    for name in [".orch-tmp-1-dead", ".orch-tmp-abc123"] {
        p.write(name, "half a view");
        std::fs::File::options().write(true).open(p.file(name)).unwrap().set_modified(old).unwrap();
    }
    // One being written now (it is new) stays, and so does a file that only looks alike.
    p.write(".orch-tmp-2-live", "being written");
    p.write("orch-tmp-1-dead", "a person's file");
    p.ok(&["add", "a task"]);
    let left: Vec<String> = std::fs::read_dir(p.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("orch-tmp"))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(left, [".orch-tmp-2-live", "orch-tmp-1-dead"]);
    // The export into another folder cleans that folder.
    std::fs::create_dir(p.file("out")).unwrap();
    p.write("out/.orch-tmp-9-dead", "x");
    std::fs::File::options().write(true).open(p.file("out/.orch-tmp-9-dead")).unwrap().set_modified(old).unwrap();
    p.ok(&["export", "out/q.md"]);
    assert!(!p.file("out/.orch-tmp-9-dead").exists());
    assert!(p.file("out/q.md").exists());
}
