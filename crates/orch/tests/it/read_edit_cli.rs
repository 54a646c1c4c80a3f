//! The read and edit commands' side of the contract (DESIGN §9, §12, §13): exit codes of
//! refusals, `--json` output of list/show/status, and a private `.orch/`.

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

    for due in ["2026-02-30 10:00", "tomorrow", "+soon"] {
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
    assert_eq!(t, list[26]);

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
