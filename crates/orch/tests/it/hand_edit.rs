//! A person's edits to QUEUE.md: found by `check`, taken by `import`, merged with the
//! database's own changes or refused when both changed the same column, never
//! overwritten by other commands until imported or discarded, and treated as drift
//! when the view is read-only.

use crate::common::{Project, SEED, queue_of};
use crate::db_state::{fingerprint, line_of, row_of, run_env};

/// A queue made from the seed plus two open tasks, ORCH-027 and ORCH-028.
fn queue() -> Project {
    let p = Project::init(Some(SEED));
    p.ok(&["add", "alpha", "--criteria", "a1"]);
    p.ok(&["add", "beta"]);
    p
}

/// QUEUE.md with one row replaced.
fn edit_row(p: &Project, id: &str, new_row: &str) -> String {
    let text = p.queue_md();
    let edited = text.replacen(row_of(&text, id), new_row, 1);
    p.write("QUEUE.md", &edited);
    edited
}

const ALPHA_P0: &str = "| ORCH-027 | PENDING | P0 | alpha, sharper | a1 | - | - | 2026-03-01 09:00 | - |";

#[test]
fn a_hand_edit_is_found_by_check_and_taken_by_import() {
    let p = queue();
    let edited = edit_row(&p, "ORCH-027", ALPHA_P0);
    let (code, _, err) = p.run(&["check"]);
    assert_eq!(code, 3, "{err}");
    let line = line_of(&edited, "| ORCH-027 |");
    assert!(err.contains(&format!("QUEUE.md:{line}: ORCH-027 differs from the database")), "{err}");

    let out = p.json(&["import"]);
    assert_eq!(out["edited"], serde_json::json!(["ORCH-027"]));
    assert_eq!(out["unchanged"], 27);
    let t = p.json(&["show", "ORCH-027"]);
    assert_eq!((t["priority"].as_str(), t["task"].as_str()), (Some("P0"), Some("alpha, sharper")));
    assert_eq!(t["due_at"], "2026-03-01T00:00:00Z", "09:00 in Seoul");
    // The person's line is kept as written, and the queue is in step.
    assert_eq!(p.queue_md(), edited);
    p.ok(&["check"]);
    assert_eq!(p.json(&["import"])["edited"], serde_json::json!([]), "a second import changes nothing");
}

#[test]
fn an_edit_of_a_column_the_database_also_changed_is_refused_until_forced() {
    let p = queue();
    let edited = edit_row(&p, "ORCH-027", "| ORCH-027 | PENDING | P1 | alpha | a1 | - | - | - | by hand |");
    // Meanwhile a command writes a note on the same task: the view is not rewritten.
    let (code, _, err) = p.run(&["note", "ORCH-027", "from the database"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("has edits that are not imported"), "{err}");
    assert_eq!(p.queue_md(), edited);

    let db = fingerprint(&p);
    let (code, _, err) = p.run(&["import"]);
    assert_eq!(code, 5, "{err}");
    let line = line_of(&edited, "| ORCH-027 |");
    assert!(err.contains(&format!("QUEUE.md:{line}: ORCH-027: QUEUE.md and the database both changed notes")), "{err}");
    assert!(err.contains("import --force"), "{err}");
    assert_eq!(fingerprint(&p), db, "a refused import changes nothing");
    assert_eq!(p.queue_md(), edited);

    let out = p.json(&["import", "--force"]);
    assert_eq!(out["edited"], serde_json::json!(["ORCH-027"]));
    assert_eq!(p.json(&["show", "ORCH-027"])["notes"], "by hand");
    assert_eq!(p.queue_md(), edited);
    p.ok(&["check"]);
}

#[test]
fn an_edit_of_other_columns_merges_with_the_databases_change() {
    let p = queue();
    // The person raises the priority while an operator cancels the task.
    edit_row(&p, "ORCH-027", "| ORCH-027 | PENDING | P0 | alpha | a1 | - | - | - | - |");
    p.ok(&["cancel", "ORCH-027", "--reason", "dup"]);
    let out = p.json(&["import"]);
    assert_eq!(out["edited"], serde_json::json!(["ORCH-027"]));
    let t = p.json(&["show", "ORCH-027"]);
    assert_eq!(t["priority"], "P0");
    assert_eq!(t["status"], "BLOCKED");
    assert_eq!(t["notes"], "cancelled_by_operator:dup");
    assert_eq!(
        row_of(&p.queue_md(), "ORCH-027"),
        "| ORCH-027 | BLOCKED | P0 | alpha | a1 | - | - | - | cancelled_by_operator:dup |"
    );
    p.ok(&["check"]);
}

#[test]
fn an_unimported_edit_is_never_overwritten_and_export_force_discards_it() {
    let p = queue();
    let edited = edit_row(&p, "ORCH-027", ALPHA_P0);
    for args in [&["add", "gamma"][..], &["note", "ORCH-028", "n"], &["cancel", "ORCH-028"]] {
        let (code, _, err) = p.run(args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(err.contains("warning") && err.contains("has edits that are not imported"), "{args:?}: {err}");
        assert_eq!(p.queue_md(), edited, "{args:?} overwrote the edit");
    }
    let (code, _, err) = p.run(&["export"]);
    assert_eq!(code, 5, "{err}");
    assert_eq!(p.queue_md(), edited);

    p.ok(&["export", "--force"]);
    let text = p.queue_md();
    assert_eq!(row_of(&text, "ORCH-027"), "| ORCH-027 | PENDING | P1 | alpha | a1 | - | - | - | - |");
    assert_eq!(
        row_of(&text, "ORCH-028"),
        "| ORCH-028 | BLOCKED | P1 | beta | - | - | - | - | n / cancelled_by_operator |"
    );
    assert!(text.contains("| ORCH-029 | PENDING | P1 | gamma |"));
    assert_eq!(p.json(&["show", "ORCH-027"])["priority"], "P1", "the edit was discarded");
    p.ok(&["check"]);
}

#[test]
fn rows_the_database_moved_on_from_are_stale_not_edits() {
    let p = queue();
    let edited = edit_row(&p, "ORCH-027", ALPHA_P0);
    // ORCH-028 changes while the view holds an unimported edit: its row is stale.
    p.ok(&["cancel", "ORCH-028"]);
    assert_eq!(p.queue_md(), edited);
    let out = p.json(&["import"]);
    assert_eq!(out["edited"], serde_json::json!(["ORCH-027"]));
    assert_eq!(out["stale"], serde_json::json!(["ORCH-028"]));
    assert_eq!(p.json(&["show", "ORCH-028"])["status"], "BLOCKED", "the database won");
    assert!(row_of(&p.queue_md(), "ORCH-028").contains("| BLOCKED |"), "the view caught up");
    p.ok(&["check"]);
}

#[test]
fn an_import_that_changes_no_task_keeps_the_persons_spacing_and_catches_the_view_up() {
    let p = queue();
    // A person respaces ORCH-027 (its values stay) and drops ORCH-001's row; meanwhile
    // ORCH-028 changes, and the refresh leaves the edited file alone.
    let text = p.queue_md();
    let respaced = "| ORCH-027 |  PENDING | P1 |   alpha | a1 | - | - | - | - |";
    let dropped = format!("{}\n", row_of(&text, "ORCH-001"));
    let edited = text.replacen(row_of(&text, "ORCH-027"), respaced, 1).replacen(&dropped, "", 1);
    p.write("QUEUE.md", &edited);
    p.ok(&["note", "ORCH-028", "n"]);
    assert_eq!(p.queue_md(), edited);
    let out = p.json(&["import"]);
    assert_eq!((&out["edited"], &out["added"]), (&serde_json::json!([]), &serde_json::json!([])));
    assert_eq!(out["stale"], serde_json::json!(["ORCH-028"]));
    assert_eq!(out["unchanged"], 26);
    let view = p.queue_md();
    assert_eq!(row_of(&view, "ORCH-027"), respaced, "the person's spacing stays while the task does");
    assert_eq!(row_of(&view, "ORCH-028"), "| ORCH-028 | PENDING | P1 | beta | - | - | - | - | n |");
    assert_eq!(
        view,
        text.replacen(row_of(&text, "ORCH-027"), respaced, 1).replacen(
            row_of(&text, "ORCH-028"),
            "| ORCH-028 | PENDING | P1 | beta | - | - | - | - | n |",
            1
        ),
        "the dropped row is back: absence is not deletion"
    );
    p.ok(&["check"]);
    let again = p.json(&["import"]);
    assert_eq!((again["unchanged"].as_u64(), &again["stale"]), (Some(28), &serde_json::json!([])));
    assert_eq!(p.queue_md(), view);
}

#[test]
fn a_file_without_a_column_never_touches_that_column() {
    let file = "| id | status | priority | task |\n|---|---|---|---|\n| ORCH-001 | PENDING | P1 | one |\n";
    let p = Project::init(Some(file));
    p.ok(&["note", "ORCH-001", "kept"]);
    assert_eq!(p.queue_md(), file, "notes are not shown, so the row did not change");
    p.write("QUEUE.md", &file.replace("| P1 | one |", "| P2 | one |"));
    let out = p.json(&["import"]);
    assert_eq!(out["edited"], serde_json::json!(["ORCH-001"]));
    let t = p.json(&["show", "ORCH-001"]);
    assert_eq!((t["priority"].as_str(), t["notes"].as_str()), (Some("P2"), Some("kept")));
    assert_eq!(p.json(&["import"])["stale"], serde_json::json!([]));
}

#[test]
fn a_read_only_view_refuses_import_and_its_edits_are_saved_as_drift() {
    let p = queue();
    let edited = edit_row(&p, "ORCH-027", ALPHA_P0);
    let ro = [("ORCH_QUEUE_MD_READ_ONLY", "1")];
    let db = fingerprint(&p);
    let (code, _, err) = run_env(&p, &["import"], &ro);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("read-only"), "{err}");
    assert_eq!(fingerprint(&p), db);
    assert_eq!(p.queue_md(), edited);
    let (code, _, _) = run_env(&p, &["check"], &ro);
    assert_eq!(code, 3);

    // The next change rewrites the view; the edit is kept under .orch/drift/.
    let (code, _, err) = run_env(&p, &["add", "delta"], &ro);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("drift"), "{err}");
    let text = p.queue_md();
    assert_eq!(row_of(&text, "ORCH-027"), "| ORCH-027 | PENDING | P1 | alpha | a1 | - | - | - | - |");
    assert!(text.contains("| ORCH-029 | PENDING | P1 | delta |"));
    let drift: Vec<_> = std::fs::read_dir(p.file(".orch/drift")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(drift.len(), 1);
    assert_eq!(std::fs::read_to_string(&drift[0]).unwrap(), edited);
    assert_eq!(p.json(&["show", "ORCH-027"])["priority"], "P1");
    let (code, _, err) = run_env(&p, &["check"], &ro);
    assert_eq!(code, 0, "{err}");

    // `export` over a drifted read-only view writes it too, and keeps the drift.
    edit_row(&p, "ORCH-028", "| ORCH-028 | DONE | P1 | beta | - | - | - | - | - |");
    let (code, _, err) = run_env(&p, &["export"], &ro);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("drift"), "{err}");
    assert_eq!(std::fs::read_dir(p.file(".orch/drift")).unwrap().count(), 2);
    assert!(row_of(&p.queue_md(), "ORCH-028").contains("| PENDING |"));
}

/// The events of one task, from `.orch/events.jsonl`.
fn events_of(p: &Project, id: &str) -> Vec<serde_json::Value> {
    let all = p.read(".orch/events.jsonl");
    let all = all.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).expect("event line"));
    all.filter(|e| e["task_id"] == id).collect()
}

/// A task set DONE by hand releases what its failure blocked, as `orch` commands do:
/// the edit goes through the transition function and its dependency handling. Both ways
/// an import reads tasks: one by one (a small file) and all at once (a large one, where
/// the dependent's own row, edited too, must see it released).
#[test]
fn a_dependency_set_done_by_hand_releases_the_tasks_it_blocked() {
    for (n, ship) in [(2, "ORCH-003"), (70, "ORCH-071")] {
        let p = Project::init(Some(&queue_of(n)));
        p.ok(&["add", "ship", "--priority", "P0", "--depends-on", "ORCH-001"]);
        p.ok(&["cancel", "ORCH-001"]);
        let b = p.json(&["show", ship]);
        assert_eq!(b["status"], "BLOCKED", "{n}: {b}");
        assert!(b["notes"].as_str().unwrap().ends_with("blocked_by:ORCH-001"), "{b}");
        let text = p.queue_md();
        let done = row_of(&text, "ORCH-001").replacen("| BLOCKED |", "| DONE |", 1);
        let mut edited = text.replacen(row_of(&text, "ORCH-001"), &done, 1);
        if n > 2 {
            // The dependent's row is edited too (its text), still showing BLOCKED.
            let b_row = row_of(&edited, ship).to_string();
            edited = edited.replacen(&b_row, &b_row.replacen("| ship |", "| ship it |", 1), 1);
            assert_ne!(edited.matches("ship it").count(), 0);
        }
        p.write("QUEUE.md", &edited);
        let out = p.json(&["import"]);
        assert!(out["edited"].as_array().unwrap().contains(&"ORCH-001".into()), "{n}: {out}");
        assert_eq!(p.json(&["show", "ORCH-001"])["status"], "DONE");
        let b = p.json(&["show", ship]);
        assert_eq!(b["status"], "PENDING", "{n}: the dependent is released: {b}");
        assert!(b["notes"].as_str().unwrap().ends_with("unblocked_by:ORCH-001"), "{b}");
        if n > 2 {
            assert_eq!(b["task"], "ship it", "the person's own edit of it is kept");
        }
        // The view shows it, the events say it, and the file is in step.
        assert!(row_of(&p.queue_md(), ship).contains("| PENDING |"), "{}", p.queue_md());
        assert!(events_of(&p, ship).iter().any(|e| e["event"] == "task.retried"));
        p.ok(&["check"]);
        // Nothing holds it back any more: `pick` takes it (P0) first.
        assert_eq!(p.json(&["pick", "--owner", "w"])["id"], ship);
    }
}

#[test]
fn an_edit_that_takes_a_running_task_elsewhere_ends_its_run() {
    let p = queue();
    let picked = p.json(&["pick", "--owner", "w"]);
    let id = picked["id"].as_str().unwrap().to_string();
    let token = picked["lease"]["token"].as_str().unwrap().to_string();
    let text = p.queue_md();
    let row = row_of(&text, &id).to_string();
    let pending = row.replacen("| IN_PROGRESS |", "| PENDING |", 1);
    p.write("QUEUE.md", &text.replacen(&row, &pending, 1));
    p.ok(&["import"]);
    let t = p.json(&["show", &id]);
    assert_eq!(t["status"], "PENDING");
    assert!(t.get("lease").is_none(), "{t}");
    let runs = p.json(&["log", &id]);
    assert_eq!(runs[0]["outcome"], "cancelled");
    assert_eq!(runs[0]["reason"], "edited_by_hand");
    let events = events_of(&p, &id);
    let edited = events.iter().find(|e| e["event"] == "task.edited").expect("task.edited");
    assert_eq!(edited["run_id"], picked["run_id"], "the edit names the run it ended");
    let (code, _, err) = p.run(&["done", &id, "--lease", &token]);
    assert_eq!(code, 5, "its worker finds the lease gone: {err}");
}
