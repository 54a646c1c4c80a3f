//! Retention through the real binary: `prune` keeps each task's last run and
//! everything of unfinished tasks, and removes only the folders of runs it pruned —
//! never a folder another database may own.

use crate::common::{Project, queue_of};
use crate::observe::{file_events, json_lines, pick};
use std::collections::BTreeMap;

#[test]
fn prune_keeps_the_last_run_of_each_task_and_everything_of_unfinished_tasks() {
    let p = Project::init_plain(Some(&queue_of(3)));
    // ORCH-001: two runs, DONE. ORCH-002: two runs, FAILED for good (unfinished).
    let mut folders = BTreeMap::new();
    let (id, token) = pick(&p, "w");
    p.ok(&["fail", &id, "--lease", &token, "--reason", "first", "--permanent"]);
    p.ok(&["retry", &id]);
    let (id, token) = pick(&p, "w");
    assert_eq!(id, "ORCH-001");
    p.ok(&["done", &id, "--lease", &token]);
    for _ in 0..2 {
        let (id, token) = pick(&p, "w");
        assert_eq!(id, "ORCH-002");
        p.ok(&["fail", &id, "--lease", &token, "--reason", "again", "--permanent"]);
        p.ok(&["retry", &id]);
    }
    let (id, token) = pick(&p, "w");
    p.ok(&["fail", &id, "--lease", &token, "--reason", "last", "--permanent"]);
    let runs_of = |id: &str| -> Vec<String> {
        p.json(&["log", id]).as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect()
    };
    for task in ["ORCH-001", "ORCH-002"] {
        for run in runs_of(task) {
            let dir = p.file(&format!(".orch/runs/{run}"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("stdout.log"), "x".repeat(100)).unwrap();
            folders.insert(run, task);
        }
    }
    let before_001 = runs_of("ORCH-001");
    let before_002 = runs_of("ORCH-002");
    assert_eq!((before_001.len(), before_002.len()), (2, 3));

    let nothing = p.json(&["prune", "--older-than", "1h"]);
    assert_eq!(
        (nothing["runs"].as_u64(), nothing["events"].as_u64(), nothing["bytes"].as_u64()),
        (Some(0), Some(0), Some(0))
    );

    let events_002 = json_lines(&p.ok(&["events", "--json", "--task", "ORCH-002"]));
    let r = p.json(&["prune", "--older-than", "0s"]);
    assert_eq!((r["tasks"].as_u64(), r["runs"].as_u64(), r["folders"].as_u64()), (Some(1), Some(1), Some(1)), "{r}");
    assert!(r["events"].as_u64().unwrap() > 3 && r["events_file_bytes"].as_u64().unwrap() > 0, "{r}");
    assert_eq!(r["folder_bytes"], 100);
    assert_eq!(r["bytes"].as_u64(), Some(100 + r["events_file_bytes"].as_u64().unwrap()));
    // ORCH-001 keeps its last run (and its folder); ORCH-002 and ORCH-003 keep everything.
    assert_eq!(runs_of("ORCH-001"), before_001[1..]);
    assert_eq!(runs_of("ORCH-002"), before_002);
    for (run, task) in &folders {
        let kept = *task == "ORCH-002" || *run == before_001[1];
        assert_eq!(p.file(&format!(".orch/runs/{run}")).exists(), kept, "{task} {run}");
    }
    assert_eq!(json_lines(&p.ok(&["events", "--json", "--task", "ORCH-002"])), events_002);
    assert_eq!(p.json(&["show", "ORCH-001"])["status"], "DONE");
    assert_eq!(p.json(&["show", "ORCH-003"])["status"], "PENDING");
    // The file was rewritten without the pruned events, and says what happened.
    let file = file_events(&p);
    assert_eq!(file, json_lines(&p.ok(&["events", "--json"])));
    assert!(file.iter().all(|e| e["task_id"] != "ORCH-001"));
    assert_eq!(file.last().unwrap()["event"], "history.pruned");
    // Later changes append to the new file as before.
    p.ok(&["add", "after the prune"]);
    assert_eq!(file_events(&p).last().unwrap()["event"], "task.added");
}

/// Sets the modification time of a folder to an hour ago.
fn age(dir: &std::path::Path) {
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::open(dir).unwrap().set_modified(old).unwrap();
}

#[test]
fn prune_removes_only_folders_of_runs_it_pruned_never_those_another_database_may_own() {
    let p = Project::init(Some(&queue_of(2)));
    let (running, _) = pick(&p, "w");
    let run = p.json(&["log", &running])[0]["id"].as_str().unwrap().to_string();
    let stranger = "0195f000-0000-7000-8000-000000000000";
    for id in [run.as_str(), stranger] {
        let dir = p.file(&format!(".orch/runs/{id}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("stdout.log"), "still needed").unwrap();
        age(&dir);
    }
    // Aimed at another (empty) queue's database, or at its own: neither folder is a run
    // it pruned.
    let elsewhere = Project::init(None);
    let other = elsewhere.file(".orch/orch.db");
    for db in [Some(other.to_str().unwrap()), None] {
        let mut args = vec!["prune", "--older-than", "0s"];
        if let Some(db) = db {
            args.splice(0..0, ["--db", db]);
        }
        let r = p.json(&args);
        assert_eq!(r["folders"], 0, "{db:?}: {r}");
        assert!(p.file(&format!(".orch/runs/{run}/stdout.log")).exists(), "{db:?}: the running task's folder");
        assert!(p.file(&format!(".orch/runs/{stranger}")).exists(), "{db:?}: a folder of no run it knows");
    }
    // A prune stopped between its commit and its folders left its list behind: the next
    // prune removes those folders, and clears the list.
    let db = rusqlite::Connection::open(p.file(".orch/orch.db")).unwrap();
    let list = format!("[\"{stranger}\"]");
    db.execute("INSERT INTO meta (key, value) VALUES ('prune.pending_folders', ?1)", [&list]).unwrap();
    let r = p.json(&["prune", "--older-than", "1h"]);
    assert_eq!((r["folders"].as_u64(), r["folder_bytes"].as_u64()), (Some(1), Some(12)), "{r}");
    assert!(!p.file(&format!(".orch/runs/{stranger}")).exists());
    assert!(p.file(&format!(".orch/runs/{run}/stdout.log")).exists());
    let left: String =
        db.query_row("SELECT value FROM meta WHERE key = 'prune.pending_folders'", [], |r| r.get(0)).unwrap();
    assert_eq!(left, "[]");
}
