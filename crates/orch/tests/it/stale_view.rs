//! A QUEUE.md that orch wrote earlier — a copy, an editor buffer opened before the
//! view's refreshes — written back and imported: the rows orch wrote are stale, never
//! edits, and a person's one edit in it is merged against the rendering it came from,
//! so no database change is undone without an edit that asked for it.

use crate::common::Project;
use crate::db_state::{fingerprint, line_of, row_of};
use orch_store::VIEW_HISTORY_KEPT;

/// The task's columns as `show --json` gives them.
fn show(p: &Project, id: &str) -> serde_json::Value {
    p.json(&["show", id])
}

#[test]
fn an_old_copy_written_back_undoes_no_database_change() {
    let p = Project::init(None);
    for t in ["one", "two", "three"] {
        p.ok(&["add", t]);
    }
    let old = p.queue_md();
    let picked = p.json(&["pick", "--owner", "worker1"]);
    assert_eq!(picked["id"], "ORCH-001");
    let token = picked["lease"]["token"].as_str().unwrap().to_string();
    p.ok(&["note", "ORCH-002", "important db note"]);
    let back = old.replacen("| three |", "| three edited |", 1);
    assert_ne!(back, old);
    p.write("QUEUE.md", &back);

    let out = p.json(&["import"]);
    assert_eq!(out["edited"], serde_json::json!(["ORCH-003"]), "{out}");
    assert_eq!(out["stale"], serde_json::json!(["ORCH-001", "ORCH-002"]), "{out}");
    let one = show(&p, "ORCH-001");
    assert_eq!(
        (one["status"].as_str(), one["owner_session"].as_str()),
        (Some("IN_PROGRESS"), Some("worker1")),
        "{one}"
    );
    assert_eq!(show(&p, "ORCH-002")["notes"], "important db note");
    assert_eq!(show(&p, "ORCH-003")["task"], "three edited");
    // The worker still holds its lease.
    p.ok(&["heartbeat", "ORCH-001", "--lease", &token]);
    let text = p.queue_md();
    assert!(row_of(&text, "ORCH-001").contains("| IN_PROGRESS |"), "{text}");
    assert!(row_of(&text, "ORCH-002").contains("important db note"), "{text}");
    p.ok(&["check"]);
}

#[test]
fn an_old_copy_written_back_unchanged_changes_nothing() {
    let p = Project::init(None);
    for t in ["one", "two"] {
        p.ok(&["add", t]);
    }
    let old = p.queue_md();
    p.ok(&["pick", "--owner", "w"]);
    p.ok(&["note", "ORCH-002", "a"]);
    p.ok(&["note", "ORCH-002", "b"]);
    let db = p.json(&["list"]);
    p.write("QUEUE.md", &old);
    // `check` names the stale rows with their lines.
    let (code, _, err) = p.run(&["check"]);
    assert_eq!(code, 3, "{err}");
    for id in ["ORCH-001", "ORCH-002"] {
        let line = line_of(&old, &format!("| {id} |"));
        assert!(err.contains(&format!("QUEUE.md:{line}: {id} stale")), "{err}");
    }
    let out = p.json(&["import"]);
    assert_eq!(out["edited"], serde_json::json!([]), "{out}");
    assert_eq!(out["stale"], serde_json::json!(["ORCH-001", "ORCH-002"]), "{out}");
    assert_eq!(p.json(&["list"]), db, "no task changed");
    p.ok(&["check"]);
}

/// A worker that waits until the file `release-ID` exists, then ends well.
const WAIT_FOR_RELEASE: &str = "while [ ! -f \"release-$ORCH_TASK_ID\" ]; do sleep 0.02; done\n";

/// An editor buffer opened before a running dispatcher's refreshes, saved back with one
/// edit while the dispatcher still runs: only that edit is applied; the tasks the
/// dispatcher moved keep where it moved them, and its workers keep their leases.
#[test]
fn an_editor_buffer_older_than_the_dispatchers_refreshes_applies_only_its_edit() {
    let p = Project::init_plain(None);
    crate::dispatch::worker(&p, WAIT_FOR_RELEASE, &[]);
    p.set_config("workers", "2");
    for t in ["one", "two", "three", "four"] {
        p.ok(&["add", t]);
    }
    let buffer = p.queue_md();
    let mut run = p.spawn("run", &["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
    let view_has = |id: &str, what: &str| {
        crate::common::wait_until(std::time::Duration::from_secs(30), || {
            p.queue_md().lines().any(|l| l.starts_with(&format!("| {id} |")) && l.contains(what))
        })
    };
    assert!(view_has("ORCH-002", "| IN_PROGRESS |"), "{}", p.queue_md());
    p.write("release-ORCH-001", "");
    assert!(view_has("ORCH-001", "| DONE |"), "{}", p.queue_md());
    assert!(view_has("ORCH-003", "| IN_PROGRESS |"), "{}", p.queue_md());
    p.ok(&["note", "ORCH-004", "from the database"]);

    // The buffer goes back with one edit: ORCH-004's text.
    let edited = buffer.replacen("| four |", "| four, sharper |", 1);
    p.write("QUEUE.md", &edited);
    let out = p.json(&["import"]);
    assert_eq!(out["edited"], serde_json::json!(["ORCH-004"]), "{out}");
    assert_eq!(out["stale"], serde_json::json!(["ORCH-001", "ORCH-002", "ORCH-003"]), "{out}");
    assert_eq!(show(&p, "ORCH-001")["status"], "DONE");
    for id in ["ORCH-002", "ORCH-003"] {
        let t = show(&p, id);
        assert_eq!(t["status"], "IN_PROGRESS", "{t}");
        assert!(t.get("lease").is_some(), "{t}");
    }
    let four = show(&p, "ORCH-004");
    assert_eq!((four["task"].as_str(), four["notes"].as_str()), (Some("four, sharper"), Some("from the database")));

    for id in ["ORCH-002", "ORCH-003", "ORCH-004"] {
        p.write(&format!("release-{id}"), "");
    }
    assert_eq!(run.wait(std::time::Duration::from_secs(60)), Some(0), "{}", run.stderr());
    for id in ["ORCH-001", "ORCH-002", "ORCH-003", "ORCH-004"] {
        assert_eq!(show(&p, id)["status"], "DONE", "{id}");
        let runs = p.json(&["log", id]);
        assert_eq!(runs.as_array().map(Vec::len), Some(1), "{id} ran once: {runs}");
        assert_eq!(runs[0]["outcome"], "done", "{id}: {runs}");
    }
    p.ok(&["check"]);
}

/// `check` of a file that does not read as a queue lists every problem with its line,
/// as `import` does.
#[test]
fn check_shows_every_problem_of_the_file_as_import_does() {
    let p = Project::init(None);
    p.ok(&["add", "one"]);
    let text = p.queue_md();
    let bad = text.replacen("| PENDING | P1 | one |", "| DOING | P9 | one |", 1)
        + "| ORCH-002 | PENDING | P1 |\n| ORCH-003 | PENDING | P1 | three | - | - | 2026-02-30 10:00 | - | - |\n";
    p.write("QUEUE.md", &bad);
    let (code, _, check_err) = p.run(&["check"]);
    let (import_code, _, import_err) = p.run(&["import"]);
    assert_eq!((code, import_code), (2, 2), "{check_err}");
    let one = line_of(&bad, "| ORCH-001 |");
    for want in [format!("QUEUE.md:{one}: "), format!("QUEUE.md:{}: ", one + 1), format!("QUEUE.md:{}: ", one + 2)] {
        assert!(check_err.contains(&want), "{want} in {check_err}");
    }
    assert!(check_err.contains("P9") && check_err.contains("DOING"), "{check_err}");
    let problems = |err: &str| err.lines().filter(|l| l.contains("QUEUE.md:")).count();
    assert_eq!(problems(&check_err), problems(&import_err), "{check_err}\n{import_err}");
    assert!(problems(&check_err) >= 4, "{check_err}");
}

/// Past the bound of earlier lines kept, which line an edit came from is not known: the
/// edit is a conflict (nothing applied) until forced, never a guess.
#[test]
fn an_edit_of_a_task_whose_earlier_lines_were_dropped_is_a_conflict() {
    let p = Project::init(None);
    p.ok(&["add", "one"]);
    let old = p.queue_md();
    for n in 0..=VIEW_HISTORY_KEPT {
        p.ok(&["note", "ORCH-001", &format!("n{n}")]);
    }
    // An edit of the oldest copy: its line is no longer kept.
    p.write("QUEUE.md", &old.replacen("| one |", "| one, edited |", 1));
    let db = fingerprint(&p);
    let (code, _, err) = p.run(&["import"]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("no longer keeps every line it showed"), "{err}");
    assert_eq!(fingerprint(&p), db, "a refused import changes nothing");
    p.ok(&["import", "--force"]);
    assert_eq!(show(&p, "ORCH-001")["task"], "one, edited");
}
