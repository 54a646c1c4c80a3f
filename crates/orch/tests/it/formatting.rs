//! A QUEUE.md reformatted by an editor or by `prettier` says what it said: `check` finds
//! no drift, `import` no edit, and the next refresh writes the view over it in orch's
//! own format; a changed value in a reformatted table is still drift. The real
//! `prettier` (npm package, version 3) is installed once under the target folder; where
//! npm is missing those tests fail under `CI=true` and are skipped otherwise.

use crate::common::{Project, SEED};
use crate::db_state::{line_of, row_of, run_env};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `prettier` 3, installed with npm under the target folder the first time (a lock
/// file keeps test processes from installing it at once); `None`, with the reason
/// printed, when it cannot be had outside CI.
fn prettier() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("prettier3");
    let bin = dir.join("node_modules").join(".bin").join("prettier");
    std::fs::create_dir_all(&dir).expect("prettier folder");
    let lock = std::fs::File::create(dir.join(".lock")).expect("lock file");
    lock.lock().expect("lock");
    if bin.exists() {
        return Some(bin);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let unavailable = |why: String| {
        assert!(!ci, "prettier is needed under CI=true: {why}");
        eprintln!("skipped: prettier is not available ({why})");
        None
    };
    let install = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix"])
        .arg(&dir)
        .arg("prettier@3")
        .output();
    match install {
        Err(e) => unavailable(format!("npm could not be run: {e}")),
        Ok(out) if !out.status.success() || !bin.exists() => {
            unavailable(format!("npm install prettier@3 failed: {}", String::from_utf8_lossy(&out.stderr)))
        }
        Ok(_) => Some(bin),
    }
}

/// Runs prettier over the project's QUEUE.md (no configuration file is looked for).
fn format(p: &Project, prettier: &Path) {
    let out = Command::new(prettier)
        .args(["--no-config", "--no-editorconfig", "--log-level=warn", "--write", "QUEUE.md"])
        .current_dir(p.path())
        .output()
        .expect("run prettier");
    assert!(out.status.success(), "prettier failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// The tasks, their runs and the event log, as one string: equal strings mean no task
/// changed and nothing happened to one.
fn tasks_and_events(p: &Project) -> String {
    let conn = Connection::open(p.file(".orch/orch.db")).expect("open orch.db");
    let mut out = String::new();
    for table in ["tasks", "runs", "events"] {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table} ORDER BY 1")).expect("select");
        let n = stmt.column_count();
        let mut rows = stmt.query([]).expect("query");
        while let Some(row) = rows.next().expect("row") {
            for i in 0..n {
                out.push_str(&format!("{:?}|", row.get_ref(i).expect("cell")));
            }
            out.push('\n');
        }
    }
    out
}

/// The seed imported and exported, then formatted by prettier.
fn formatted_seed(prettier: &Path) -> Project {
    let p = Project::init(Some(SEED));
    p.ok(&["export"]);
    assert_eq!(p.queue_md(), SEED);
    format(&p, prettier);
    let text = p.queue_md();
    assert_ne!(text, SEED, "prettier changed the file");
    assert!(text.contains("| -------- | ------- |"), "{text}");
    assert!(row_of(&text, "ORCH-016").contains("| DONE    | P1       |"), "the cells are padded: {text}");
    p
}

#[test]
fn a_seed_formatted_by_prettier_is_no_drift_and_no_edit() {
    let Some(prettier) = prettier() else { return };
    let p = formatted_seed(&prettier);
    let formatted = p.queue_md();
    let (code, out, err) = p.run(&["check"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("in step with the database"), "{out}");
    assert_eq!(p.json(&["check"])["drift"], serde_json::json!([]));

    let db = tasks_and_events(&p);
    let out = p.json(&["import"]);
    assert_eq!(
        (&out["added"], &out["edited"], &out["stale"]),
        (&serde_json::json!([]), &serde_json::json!([]), &serde_json::json!([])),
        "{out}"
    );
    assert_eq!(out["unchanged"], 26);
    assert_eq!(tasks_and_events(&p), db, "the import changed no task");
    assert_eq!(p.queue_md(), formatted, "the rows keep prettier's spacing");
    p.ok(&["check"]);

    // orch's next render writes the changed row in its own format beside prettier's.
    p.ok(&["note", "ORCH-019", "from the database"]);
    let text = p.queue_md();
    assert!(row_of(&text, "ORCH-019").ends_with("/ cancelled_by_operator / from the database |"), "{text}");
    assert!(row_of(&text, "ORCH-019").starts_with("| ORCH-019 | BLOCKED | P0 | [쿠팡구매"), "{text}");
    assert_eq!(row_of(&text, "ORCH-016"), row_of(&formatted, "ORCH-016"), "unchanged rows keep their spacing");
    p.ok(&["check"]);
    let db = tasks_and_events(&p);
    let out = p.json(&["import"]);
    assert_eq!((out["unchanged"].as_u64(), &out["edited"]), (Some(26), &serde_json::json!([])), "{out}");
    assert_eq!(tasks_and_events(&p), db);
    p.ok(&["check"]);
}

#[test]
fn a_changed_value_in_a_table_prettier_formatted_is_drift() {
    let Some(prettier) = prettier() else { return };
    let p = formatted_seed(&prettier);
    let text = p.queue_md();
    let row = row_of(&text, "ORCH-016");
    let edited = text.replacen(row, &row.replacen("| DONE    | P1       |", "| DONE    | P0       |", 1), 1);
    assert_ne!(edited, text);
    p.write("QUEUE.md", &edited);
    let (code, out, err) = p.run(&["check"]);
    assert_eq!(code, 3, "{out}{err}");
    let line = line_of(&edited, "| ORCH-016 |");
    assert!(err.contains(&format!("QUEUE.md:{line}: ORCH-016 differs from the database")), "{err}");
    let drift: serde_json::Value = serde_json::from_str(&p.run(&["check", "--json"]).1).expect("JSON");
    assert_eq!(drift["drift"].as_array().map(Vec::len), Some(1), "only the changed row: {drift}");

    // Formatted again, the edit is still the one edit, and import takes it.
    format(&p, &prettier);
    assert_eq!(p.run(&["check"]).0, 3);
    let out = p.json(&["import"]);
    assert_eq!((&out["edited"], out["unchanged"].as_u64()), (&serde_json::json!(["ORCH-016"]), Some(25)), "{out}");
    assert_eq!(p.json(&["show", "ORCH-016"])["priority"], "P0");
    p.ok(&["check"]);
}

#[test]
fn a_view_prettier_formatted_is_written_over_by_the_next_refresh_but_an_edit_is_not() {
    let Some(prettier) = prettier() else { return };
    let p = formatted_seed(&prettier);
    // Not imported: it holds no edit, so the next change writes the view in orch's format.
    let (code, _, err) = p.run(&["note", "ORCH-019", "n"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("not imported"), "{err}");
    let text = p.queue_md();
    assert_eq!(row_of(&text, "ORCH-016"), row_of(SEED, "ORCH-016"));
    assert!(row_of(&text, "ORCH-019").ends_with("/ n |"), "{text}");
    p.ok(&["check"]);

    // Formatted again, then a task changes: the file's rows are still what orch wrote
    // last (ORCH-020's is the line before the change), so that change's refresh writes
    // over it too.
    format(&p, &prettier);
    let (code, _, err) = p.run(&["note", "ORCH-020", "a"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("not imported"), "{err}");
    let text = p.queue_md();
    assert!(!text.contains("| -------- |"), "{text}");
    assert!(row_of(&text, "ORCH-020").ends_with("/ a |"), "{text}");
    p.ok(&["check"]);

    // A formatted file with an edit is left alone, as any unimported edit is.
    format(&p, &prettier);
    let text = p.queue_md();
    let row = row_of(&text, "ORCH-016");
    let edited = text.replacen(row, &row.replacen("| P1       |", "| P2       |", 1), 1);
    p.write("QUEUE.md", &edited);
    let (code, _, err) = p.run(&["note", "ORCH-020", "b"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("has edits that are not imported"), "{err}");
    assert_eq!(p.queue_md(), edited);
    assert_eq!(p.run(&["export"]).0, 5);
}

/// The seed with `| --- |` and alignment marks, padded cells, no trailing pipes, CRLF
/// endings and blank lines after the headings.
fn seed_reformatted_by_hand() -> String {
    let mut text = String::new();
    for line in SEED.lines() {
        let line = if line.starts_with("|---") {
            format!("|:---|{}", " --- |".repeat(7) + " :---:")
        } else if let Some(row) = line.strip_prefix("| ORCH-") {
            format!("|   ORCH-{}", row.replace(" | ", "  |  ").trim_end_matches(" |"))
        } else {
            line.to_string()
        };
        text.push_str(&line);
        text.push_str(if line.starts_with('#') { "\r\n\r\n" } else { "\r\n" });
    }
    text
}

#[test]
fn a_table_reformatted_by_hand_is_no_drift_and_no_edit() {
    let p = Project::init(Some(SEED));
    let text = seed_reformatted_by_hand();
    p.write("QUEUE.md", &text);
    let (code, out, err) = p.run(&["check"]);
    assert_eq!(code, 0, "{out}{err}\n{text}");
    let db = tasks_and_events(&p);
    let out = p.json(&["import"]);
    assert_eq!((out["unchanged"].as_u64(), &out["edited"]), (Some(26), &serde_json::json!([])), "{out}");
    assert_eq!(tasks_and_events(&p), db);
    assert_eq!(p.queue_md(), text, "the file is kept as it was written");
    // A changed value in it is drift.
    p.write("QUEUE.md", &text.replacen("BLOCKED  |  P0", "BLOCKED  |  P1", 1));
    assert_eq!(p.run(&["check"]).0, 3);
}

#[test]
fn a_read_only_view_reformatted_by_hand_is_written_over_without_drift() {
    let p = Project::init(Some(SEED));
    p.write("QUEUE.md", &seed_reformatted_by_hand());
    let ro = [("ORCH_QUEUE_MD_READ_ONLY", "1")];
    assert_eq!(run_env(&p, &["check"], &ro).0, 0);
    let (code, _, err) = run_env(&p, &["add", "delta"], &ro);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("drift"), "formatting is not drift: {err}");
    assert!(!p.file(".orch/drift").exists());
    let text = p.queue_md();
    assert_eq!(row_of(&text, "ORCH-001"), row_of(SEED, "ORCH-001"), "written in orch's own form");
    assert!(text.contains("| ORCH-027 | PENDING | P1 | delta |"), "{text}");
    assert_eq!(run_env(&p, &["check"], &ro).0, 0);
}
