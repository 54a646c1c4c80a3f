//! What a short command leaves on disk (docs/DURABILITY.md): the WAL stays between
//! processes and no command checkpoints it on its way out; reading a queue takes no
//! write lock; a change with the view on costs one sync; a view whose last rename a
//! power loss undid is stale, never an edit, and one left with zeros is written anew.

use crate::common::Project;
use crate::db_state::fingerprint;
use rusqlite::Connection;

fn wal_len(p: &Project) -> u64 {
    std::fs::metadata(p.file(".orch/orch.db-wal")).map_or(0, |m| m.len())
}

/// Tasks in a copy of `orch.db` alone, without its WAL: what a checkpoint put there.
fn tasks_in_db_file(p: &Project) -> i64 {
    let copy = p.file("copy.db");
    std::fs::copy(p.file(".orch/orch.db"), &copy).unwrap();
    let conn = Connection::open(&copy).unwrap();
    let has_tasks: bool =
        conn.query_row("SELECT count(*) > 0 FROM sqlite_master WHERE name = 'tasks'", [], |r| r.get(0)).unwrap();
    let n = if has_tasks { conn.query_row("SELECT count(*) FROM tasks", [], |r| r.get(0)).unwrap() } else { 0 };
    drop(conn);
    std::fs::remove_file(copy).unwrap();
    n
}

#[test]
fn a_short_command_appends_to_the_wal_and_checkpoints_nothing() {
    let p = Project::init(None);
    p.set_config("file", "\"\"");
    p.ok(&["add", "first"]);
    let after_one = wal_len(&p);
    assert!(after_one > 0, "the WAL is kept after the command");
    p.ok(&["add", "second"]);
    assert!(wal_len(&p) > after_one, "the second command appended to the same WAL");
    assert_eq!(tasks_in_db_file(&p), 0, "no command copied the WAL into the database");
    // Every reader sees what the WAL holds; a checkpoint makes the file whole alone.
    let conn = Connection::open(p.file(".orch/orch.db")).unwrap();
    let n: i64 = conn.query_row("SELECT count(*) FROM tasks", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 2);
    let (busy, _, _): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
    assert_eq!(busy, 0);
    assert_eq!(tasks_in_db_file(&p), 2);
    drop(conn);
    p.ok(&["add", "third"]);
    assert_eq!(p.json(&["list"]).as_array().map(Vec::len), Some(3));
}

#[test]
fn the_wal_of_short_commands_stays_short() {
    let p = Project::init(None);
    p.set_config("file", "\"\"");
    // Each command is a process of its own. SQLite's own checkpoint after a commit never
    // restarted the WAL of short-lived processes: it grew by every change (15 MB after
    // 300 adds) and each process read all of it at start.
    let mut longest = 0;
    for i in 0..120 {
        p.ok(&["add", &format!("task {i}")]);
        longest = longest.max(wal_len(&p));
    }
    assert!(longest < 2 * 1024 * 1024, "the WAL grew to {longest} bytes");
    assert!(tasks_in_db_file(&p) > 0, "checkpoints put the tasks in the database file");
    assert_eq!(p.json(&["list"]).as_array().map(Vec::len), Some(120));
}

#[test]
fn reading_a_queue_takes_no_write_lock() {
    let p = Project::init(None);
    p.ok(&["add", "one"]);
    let writer = Connection::open(p.file(".orch/orch.db")).unwrap();
    writer.execute_batch("BEGIN IMMEDIATE; UPDATE meta SET value = value;").unwrap();
    let before = std::fs::read(p.file(".orch/orch.db")).unwrap();
    let out = p.ok(&["list"]);
    assert!(out.contains("one"), "{out}");
    p.ok(&["show", "ORCH-001"]);
    assert_eq!(std::fs::read(p.file(".orch/orch.db")).unwrap(), before);
    writer.execute_batch("ROLLBACK").unwrap();
}

#[test]
fn a_view_whose_rename_was_undone_is_stale_on_import() {
    let p = Project::init(None);
    p.ok(&["add", "one"]);
    p.ok(&["add", "two"]);
    let old = p.queue_md();
    p.ok(&["note", "ORCH-001", "later"]);
    p.ok(&["replan", "ORCH-002", "--priority", "P0", "--reason", "sooner"]);
    // A power loss after the view's marks were committed undid the rename: the old file.
    p.write("QUEUE.md", &old);
    let before = fingerprint(&p);
    let out = p.ok(&["import"]);
    assert!(out.contains("0 edited"), "{out}");
    let after = fingerprint(&p);
    let tasks = |f: &str| f.split("\nruns\n").next().unwrap_or_default().to_string();
    assert_eq!(tasks(&after), tasks(&before), "the import changed no task");
    assert!(p.queue_md().contains("later"), "the view is written again from the database");
}

#[test]
fn a_view_cut_short_by_a_crash_is_refused_not_imported() {
    let p = Project::init(None);
    p.ok(&["add", "one"]);
    p.ok(&["note", "ORCH-001", "a long note the crash will cut"]);
    // A power loss after the rename, before the file's data reached the disk: its end is
    // zeros. Read as text, the last row would be an edit of ORCH-001's notes.
    let mut bytes = p.queue_md().into_bytes();
    let cut = bytes.len() - 12;
    bytes[cut..].fill(0);
    std::fs::write(p.file("QUEUE.md"), &bytes).unwrap();
    let before = fingerprint(&p);
    let (code, _, err) = p.run(&["import"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("QUEUE.md:") && err.contains("a NUL byte"), "{err}");
    assert_eq!(fingerprint(&p), before, "nothing was imported");
    let (code, _, err) = p.run(&["check"]);
    assert_eq!(code, 2, "{err}");
    p.ok(&["export", "--force"]);
    assert!(p.queue_md().contains("a long note the crash will cut"));
}

/// The `fsync`/`fdatasync` calls of `orch ARGS` in `p`, counted with strace; `None`
/// when strace is missing (a failure under `CI=true`, which installs it).
fn syncs(p: &Project, args: &[&str]) -> Option<usize> {
    let log = p.file("strace.log");
    let out = std::process::Command::new("strace")
        .args(["-f", "-e", "trace=fsync,fdatasync", "-o"])
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_orch"))
        .args(args)
        .current_dir(p.path())
        .output();
    let Ok(out) = out else {
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "strace is missing");
        eprintln!("strace is missing: the sync count is not checked");
        return None;
    };
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&log).unwrap();
    Some(text.lines().filter(|l| l.contains("fsync(") || l.contains("fdatasync(")).count())
}

#[test]
fn a_change_with_the_view_on_costs_one_sync() {
    let p = Project::init(None);
    p.ok(&["add", "first"]);
    for args in [
        &["add", "second"][..],
        &["note", "ORCH-001", "a note"],
        &["replan", "ORCH-002", "--priority", "P0", "--reason", "sooner"],
    ] {
        let Some(n) = syncs(&p, args) else { return };
        assert_eq!(n, 1, "{args:?}");
    }
    let picked = p.json(&["pick", "--owner", "w"]);
    let (id, token) = (picked["id"].as_str().unwrap(), picked["lease"]["token"].as_str().unwrap());
    p.write("report.md", "- done\n\nRisks: none\n");
    assert_eq!(syncs(&p, &["done", id, "--lease", token, "--report", "report.md"]), Some(1));
    assert!(p.queue_md().contains("a note"), "the view shows the changes");
    assert!(p.ok(&["check"]).contains("in step"));
}

#[test]
fn a_view_left_with_nul_bytes_by_a_crash_is_saved_aside_and_written_anew() {
    let p = Project::init(None);
    p.ok(&["add", "one"]);
    // The view is written without a sync of its own: a power loss may leave its name
    // on a file whose data never reached the disk.
    let len = p.queue_md().len();
    std::fs::write(p.file("QUEUE.md"), vec![0u8; len]).unwrap();
    let (code, _, err) = p.run(&["add", "two"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("NUL bytes") && err.contains("written anew"), "{err}");
    let view = p.queue_md();
    assert!(!view.contains('\0') && view.contains("one") && view.contains("two"), "{view}");
    let kept: Vec<_> = std::fs::read_dir(p.file(".orch/drift")).unwrap().collect();
    assert_eq!(kept.len(), 1, "the damaged file is kept");
    assert!(p.ok(&["check"]).contains("in step"));
}
