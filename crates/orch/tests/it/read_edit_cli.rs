//! The read and edit commands' side of the contract (docs/EXIT_CODES.md,
//! docs/CONTRACT.md): exit codes of refusals, `--json` output of list/show/status, and a
//! private `.orch/`.

use crate::common::{Project, SEED};
use crate::db_state::{fingerprint, run_env};

#[test]
fn refusals_exit_with_the_documented_codes() {
    let p = Project::init(Some(SEED));
    p.ok(&["add", "fresh"]);
    let db = fingerprint(&p);

    let (code, _, err) = p.run(&["show", "ORCH-404"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("ORCH-404"), "{err}");

    let (code, _, err) = p.run(&["retry", "ORCH-027"]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("PENDING") && (err.contains("FAILED") || err.contains("BLOCKED")), "{err}");

    for due in ["2026-02-30 10:00", "tomorrow 25:00", "+soon"] {
        let (code, _, err) = p.run(&["add", "late", "--due", due]);
        assert_eq!(code, 2, "--due {due}: {err}");
        assert!(err.contains("--due"), "{err}");
    }
    let (code, _, err) = p.run(&["add", "x", "--priority", "P5"]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(fingerprint(&p), db, "refused commands change nothing");

    // A bad configuration file is named with its line.
    let toml = p.read(".orch/orch.toml");
    let line = toml.lines().position(|l| l.starts_with("done_kept")).unwrap() + 1;
    p.set_config("done_kept", "\"many\"");
    let (code, _, err) = p.run(&["list"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("orch.toml:{line}:")), "{err}");
    p.write(".orch/orch.toml", &toml.replace("[queue]\n", "[queue]\ncolour = \"red\"\n"));
    let (code, _, err) = p.run(&["status"]);
    assert_eq!(code, 2, "{err}");
    let colour_line = toml.lines().position(|l| l == "[queue]").unwrap() + 2;
    assert!(err.contains(&format!("orch.toml:{colour_line}:")) && err.contains("colour"), "{err}");
}

#[test]
fn list_show_and_status_print_json() {
    let p = Project::init(Some(SEED));
    p.ok(&["add", "json me", "--priority", "P0", "--due", "2026-03-01 09:00", "--criteria", "c"]);

    let list = p.json(&["list"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 27);
    let keys = [
        "id",
        "status",
        "priority",
        "task",
        "success_criteria",
        "owner_session",
        "started_at",
        "due_at",
        "notes",
        "attempts",
        "max_attempts",
        "retry_at",
        "idempotency_key",
        "depends_on",
        "resource",
        "created_at",
        "updated_at",
    ];
    for k in keys {
        assert!(list[26].get(k).is_some(), "list --json lacks {k}: {}", list[26]);
    }
    let blocked = p.json(&["list", "--status", "BLOCKED"]);
    assert_eq!(blocked.as_array().unwrap().len(), 3);

    let t = p.json(&["show", "ORCH-027"]);
    assert_eq!(t["id"], "ORCH-027");
    assert_eq!(t["priority"], "P0");
    assert_eq!(t["due_at"], "2026-03-01T00:00:00Z");
    assert_eq!(t["success_criteria"], "c");
    // `show` adds what the task's runs used so far.
    let mut t = t;
    for k in ["input_tokens", "output_tokens", "cost_usd"] {
        assert_eq!(t.as_object_mut().unwrap().remove(k).and_then(|v| v.as_f64()), Some(0.0), "show --json {k}");
    }
    // `list` is in pick order: the P0 task added last is not last.
    let listed = list.iter().find(|l| l["id"].as_str() == Some("ORCH-027")).unwrap();
    assert_eq!(&t, listed, "show --json is list --json with usage");

    let s = p.json(&["status"]);
    assert_eq!(s["total"], 27);
    assert_eq!(s["by_status"]["DONE"], 23);
    assert_eq!(s["by_status"]["BLOCKED"], 3);
    assert_eq!(s["by_status"]["PENDING"], 1);
    assert_eq!(s["next"], "ORCH-027");
    assert_eq!(p.json(&["status", "ORCH-027"])["id"], "ORCH-027");
}

#[test]
fn the_home_folder_and_its_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let p = Project::init(Some(SEED));
    p.ok(&["add", "a"]);
    // Drift files too: edit the view and let a read-only change save it.
    p.write("QUEUE.md", &p.queue_md().replace("| a |", "| b |"));
    let (code, _, err) = run_env(&p, &["add", "c"], &[("ORCH_QUEUE_MD_READ_ONLY", "1")]);
    assert_eq!(code, 0, "{err}");
    p.ok(&["export", "--force"]);

    let mut seen = 0;
    let mut stack = vec![p.file(".orch")];
    while let Some(dir) = stack.pop() {
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{} is {mode:o}", dir.display());
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{} is {mode:o}", path.display());
                seen += 1;
            }
        }
    }
    assert!(seen >= 6, "config, prompt, database, events, lock and a drift file: {seen}");
    assert!(p.file(".orch/drift").is_dir());
}

#[test]
fn config_errors_name_the_file_the_line_the_key_and_what_is_wrong() {
    let p = Project::init(None);
    let toml = p.read(".orch/orch.toml");
    let line_of = |key: &str| toml.lines().position(|l| l.starts_with(&format!("{key} ="))).unwrap() + 1;
    let cases = [
        ("done_kept", "-1", "queue.done_kept: invalid value: integer `-1`, expected a whole number, 0 or more"),
        ("backoff", "[]", "retry.backoff: needs at least one delay"),
        ("failure_rate", "7", "alerts.failure_rate: 7 is not a rate between 0 and 1"),
        ("lease", "\"0s\"", "dispatcher.lease: must be at least 3s"),
        ("compact_report", "\"yes\"", "gate.compact_report: invalid type: string \"yes\", expected a boolean"),
        ("command", "[\"\"]", "worker.command: the first word must name a program (it is empty)"),
        ("reviewer", "[\"\", \"--check\"]", "gate.reviewer: the first word must name a program (it is empty)"),
    ];
    for (key, value, want) in cases {
        p.write(".orch/orch.toml", &toml);
        p.set_config(key, value);
        let (code, _, err) = p.run(&["list"]);
        assert_eq!(code, 2, "{key} = {value}: {err}");
        let path = p.file(".orch/orch.toml").display().to_string();
        let line = line_of(key);
        assert!(
            err.contains(&format!("{path}:{line}: {want}")),
            "{key} = {value}: want `{path}:{line}: {want}`, got {err}"
        );
    }
}

#[test]
fn replan_and_note_refuse_empty_values_and_an_empty_criteria_clears() {
    let p = Project::init(None);
    p.ok(&["add", "write the report", "--criteria", "one page", "--due", "2030-01-01 18:00"]);
    let db = fingerprint(&p);
    for args in [
        &["replan", "ORCH-001", "--reason", "r", "--task", ""][..],
        &["replan", "ORCH-001", "--reason", "r", "--task", "  "],
        &["replan", "ORCH-001", "--reason", "", "--task", "x"],
        &["replan", "ORCH-001", "--reason", "r", "--due", ""],
        &["add", "x", "--due", " "],
        &["note", "ORCH-001", ""],
        &["note", "ORCH-001", " \n "],
    ] {
        let (code, _, err) = p.run(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.starts_with("orch: "), "{args:?}: {err}");
    }
    assert_eq!(fingerprint(&p), db, "nothing written");
    let t = p.json(&["replan", "ORCH-001", "--reason", "no criteria", "--criteria", "", "--due", "-"]);
    assert_eq!(
        (t["task"].as_str(), t["success_criteria"].as_str(), t["due_at"].as_str()),
        (Some("write the report"), None, None)
    );
}

/// `status` names what `pick` would take: here not the P0 task, whose idempotency key
/// belongs to a task that is still running (it waits), but the one after it.
#[test]
fn status_next_is_what_pick_would_take() {
    use orch_core::task::{Priority, Task};
    let p = Project::init_plain(None);
    p.ok(&["add", "owner of k", "--idempotency-key", "k"]); // ORCH-001
    let owner = p.json(&["pick", "--owner", "w"]);
    assert_eq!(owner["id"], "ORCH-001");
    p.ok(&["add", "plain"]); // ORCH-002
    // A second task with key k, as an import or another tool may leave one: P0, first in
    // pick order, but waiting for ORCH-001.
    let db = orch_store::open(&p.file(".orch/orch.db").display().to_string()).unwrap();
    let now = jiff::Timestamp::now();
    let mut dup = Task::new("ORCH-003".into(), "same key".into(), Priority::P0, 4, now);
    dup.idempotency_key = Some("k".into());
    dup.version = 1;
    orch_store::write(db.as_ref(), |tx| tx.task_insert(&dup)).unwrap();
    let before = crate::db_state::fingerprint(&p);
    assert_eq!(p.json(&["status"])["next"], "ORCH-002");
    assert!(p.ok(&["status"]).contains("next: ORCH-002"));
    assert_eq!(crate::db_state::fingerprint(&p), before, "asking changes nothing");
    assert_eq!(p.json(&["pick", "--owner", "w2"])["id"], "ORCH-002", "and pick agrees");
    assert_eq!(p.json(&["status"])["next"], serde_json::Value::Null);
    // Once the owner is DONE, the duplicate is done already: still nothing to pick.
    let token = owner["lease"]["token"].as_str().unwrap();
    p.ok(&["done", "ORCH-001", "--lease", token]);
    assert_eq!(p.json(&["status"])["next"], serde_json::Value::Null);
    assert!(p.ok(&["status"]).contains("next: nothing eligible"));
    let (code, _, _) = p.run(&["pick", "--owner", "w3"]);
    assert_eq!(code, 4);
}

/// `status` reads: it names what `pick` would take while another process holds the
/// write lock, and counts a lease that expired as the claim's sweep would: the resource
/// the lapsed task held is free for the next task that needs it.
#[test]
fn status_next_reads_without_the_write_lock_and_counts_an_expired_lease_as_the_claim_does() {
    let p = Project::init_plain(None);
    p.ok(&["add", "train a", "--resource", "gpu0"]); // ORCH-001
    p.ok(&["add", "train b", "--resource", "gpu0", "--priority", "P2"]); // ORCH-002
    assert_eq!(p.json(&["pick", "--owner", "w"])["id"], "ORCH-001");
    assert_eq!(p.json(&["status"])["next"], serde_json::Value::Null, "gpu0 is held");
    let db = rusqlite::Connection::open(p.file(".orch/orch.db")).unwrap();
    db.execute("UPDATE tasks SET lease_expires_at = 1 WHERE id = 'ORCH-001'", []).unwrap();
    // Another writer holds the lock while status answers.
    db.execute_batch("BEGIN IMMEDIATE").unwrap();
    let before = crate::db_state::fingerprint(&p);
    assert_eq!(p.json(&["status"])["next"], "ORCH-002", "the lapsed lease holds gpu0 no more");
    db.execute_batch("ROLLBACK").unwrap();
    assert_eq!(crate::db_state::fingerprint(&p), before, "asking changes nothing");
    assert_eq!(p.json(&["pick", "--owner", "w2"])["id"], "ORCH-002", "and pick agrees");
    let swept: String = db.query_row("SELECT status FROM tasks WHERE id = 'ORCH-001'", [], |r| r.get(0)).unwrap();
    assert_eq!(swept, "FAILED", "after sweeping ORCH-001");
}

/// `list` lines up its columns by display width: a Korean syllable takes two columns.
#[test]
fn list_columns_line_up_with_korean_text() {
    use unicode_width::UnicodeWidthStr;
    let p = Project::init(Some(SEED));
    p.ok(&["add", "short"]);
    let out = p.ok(&["list", "--status", "BLOCKED,PENDING"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "the header and four tasks: {out}");
    // The owner column (the last) starts at one display column on every line.
    let owner_at = |l: &str| l[..l.rfind("  ").unwrap() + 2].width();
    let first = owner_at(lines[0]);
    for l in &lines {
        assert_eq!(owner_at(l), first, "{out}");
        // id, status, priority, due, attempts, dependencies, task, owner.
        assert!(l.width() <= 10 + 2 + 11 + 2 + 3 + 2 + 16 + 2 + 8 + 2 + 30 + 2 + 60 + 2 + 30, "{l}");
    }
    assert!(lines.iter().any(|l| l.contains("[쿠팡구매/safe]")), "{out}");
    assert!(lines[4].starts_with("ORCH-027  PENDING  "), "{out}");
}
