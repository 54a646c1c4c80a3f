//! Masking through the real binary: a secret given to a worker's or an operator's
//! reason or note is in no output and no file (`show`, `list`, `status`, `events`,
//! `log`, events.jsonl, QUEUE.md, the database), and a mask that could not mask is a
//! config error, never a silent pass.

use crate::common::Project;
use crate::observe::pick;

const SECRETS: [&str; 5] = ["hunter2", "hunter3", "hunter4", "hunter5", "hunter6"];

/// Everything a person or a program can read the queue through.
fn every_view(p: &Project, ids: &[&str]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut cmds: Vec<Vec<&str>> = vec![
        vec!["list"],
        vec!["list", "--json"],
        vec!["status"],
        vec!["status", "--json"],
        vec!["events"],
        vec!["events", "--json"],
        vec!["workers"],
        vec!["workers", "--json"],
        vec!["export"],
    ];
    for id in ids {
        cmds.extend([
            vec!["show", *id],
            vec!["show", *id, "--json"],
            vec!["status", *id],
            vec!["log", *id],
            vec!["log", *id, "--json"],
        ]);
    }
    for c in cmds {
        out.push((c.join(" "), p.ok(&c)));
    }
    out.push(("events.jsonl".into(), p.read(".orch/events.jsonl")));
    out.push(("QUEUE.md".into(), p.queue_md()));
    let db = rusqlite::Connection::open(p.file(".orch/orch.db")).unwrap();
    let notes: Vec<String> = db
        .prepare("SELECT coalesce(notes, '') FROM tasks")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    out.push(("tasks.notes in the database".into(), notes.join("\n")));
    out
}

#[test]
fn a_secret_given_to_fail_reason_or_a_note_is_in_no_output_and_no_file() {
    let p = Project::init(None);
    p.ok(&["add", "deploy"]);
    p.ok(&["add", "migrate"]);
    p.ok(&["add", "rotate"]);
    let (id, token) = pick(&p, "w");
    p.ok(&["fail", &id, "--lease", &token, "--reason", "login failed with password=hunter2"]);
    p.ok(&["note", "ORCH-002", "the db secret=hunter3"]);
    p.ok(&["replan", "ORCH-002", "--reason", "new password=hunter4", "-p", "p0"]);
    p.ok(&["cancel", "ORCH-003", "--reason", "leaked passwd=hunter5"]);
    let (id2, token2) = pick(&p, "w");
    assert_eq!(id2, "ORCH-002");
    p.set_config("compact_report", "false");
    p.ok(&["done", &id2, "--lease", &token2, "--notes", "used secret=hunter6"]);
    for (what, text) in every_view(&p, &["ORCH-001", "ORCH-002", "ORCH-003"]) {
        for secret in SECRETS {
            assert!(!text.contains(secret), "{secret} in {what}:\n{text}");
        }
    }
    let shown = p.json(&["show", "ORCH-001"]);
    assert!(shown["notes"].as_str().unwrap().contains("login failed with [masked]"), "{shown}");
    assert!(p.queue_md().contains("[masked]"));
    // The task's text is the worker's instruction: never masked.
    p.ok(&["add", "use password=kept-as-written"]);
    assert_eq!(p.json(&["show", "ORCH-004"])["task"], "use password=kept-as-written");
}

#[test]
fn a_secret_written_into_the_notes_of_queue_md_is_masked_when_imported() {
    let p = Project::init(None);
    p.ok(&["add", "deploy"]);
    let text = p.queue_md();
    let row = "| ORCH-001 | PENDING | P1 | deploy | - | - | - | - | - |";
    assert!(text.contains(row), "{text}");
    p.write(
        "QUEUE.md",
        &text.replace(row, "| ORCH-001 | PENDING | P1 | deploy | - | - | - | - | token password=hunter2 |"),
    );
    p.ok(&["import"]);
    for (what, text) in every_view(&p, &["ORCH-001"]) {
        assert!(!text.contains("hunter2"), "hunter2 in {what}:\n{text}");
    }
    assert!(p.json(&["show", "ORCH-001"])["notes"].as_str().unwrap().contains("[masked]"));
    p.ok(&["check"]);
}

#[test]
fn a_mask_that_could_not_mask_is_a_config_error_with_its_file_line_and_key() {
    let p = Project::init(None);
    p.ok(&["add", "x"]);
    let original = p.read(".orch/orch.toml");
    let head = &original[..original.find("[events]").unwrap()];
    let at = head.lines().count() + 2;
    for (patterns, what) in [
        ("'(x{1000}){1000}'", "`(x{1000}){1000}` cannot be compiled"),
        ("'password=[^ ]+', ''", "pattern 2 is empty"),
        ("'x*'", "`x*` matches the empty text"),
        ("'('", "`(` is not a valid regular expression"),
    ] {
        p.write(".orch/orch.toml", &format!("{head}[events]\nmask = [{patterns}]\n"));
        for cmd in [&["list"][..], &["events"], &["note", "ORCH-001", "password=hunter2"]] {
            let (code, _, err) = p.run(cmd);
            assert_eq!(code, 2, "{patterns} {cmd:?}: {err}");
            assert!(err.contains(&format!("orch.toml:{at}: events.mask: {what}")), "{patterns}: {err}");
            assert!(!err.contains("panicked"), "{err}");
        }
    }
    p.write(".orch/orch.toml", &original);
    for (what, text) in every_view(&p, &["ORCH-001"]) {
        assert!(!text.contains("hunter2"), "hunter2 in {what}:\n{text}");
    }
}

/// A mask that matches the host's name hides it in `workers` for the dispatchers as for
/// the workers.
#[test]
fn a_masked_host_name_is_masked_in_the_dispatchers_of_workers() {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_string();
    let p = Project::init_plain(None);
    p.set_config("command", r#"["true"]"#);
    let original = p.read(".orch/orch.toml");
    let name: String =
        host.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_string() } else { format!("\\{c}") }).collect();
    // The default list's first pattern is the host's name, the others kept.
    let masked = original.replacen("\nmask = [\n", &format!("\nmask = [\n  '\\b{name}\\b',\n"), 1);
    assert_ne!(masked, original, "orch.toml has a mask list");
    p.write(".orch/orch.toml", &masked);
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
    let fleet = p.json(&["workers"]);
    let d = &fleet["dispatchers"][0];
    assert_eq!(d["host"], "[masked]", "{fleet}");
    assert!(!d["id"].as_str().unwrap().contains(&host), "{fleet}");
}
