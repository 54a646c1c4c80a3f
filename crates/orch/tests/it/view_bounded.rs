//! A view bounded by `queue.open_kept`: it shows the running tasks and the first open
//! ones in pick order, says after its table how many it leaves out, and a task it does
//! not show is never deleted, edited or added by `import`, nor drift to `check`; a
//! change to such a task leaves the file alone unless the number changes; `export
//! --all` still writes every task.

use crate::common::{Project, queue_of};
use crate::db_state::row_of;
use std::os::unix::fs::MetadataExt;

fn ids(text: &str) -> Vec<String> {
    text.lines().filter(|l| l.starts_with("| ORCH-")).map(|l| l.split('|').nth(1).unwrap().trim().to_string()).collect()
}

fn hidden_line(n: &str) -> String {
    format!(
        "_{n} more open tasks are not shown here (queue.open_kept); `orch list` or `orch export --all FILE` shows every task._"
    )
}

/// Ten PENDING tasks, a view of three open rows.
fn bounded() -> Project {
    let p = Project::init(Some(&queue_of(10)));
    p.set_config("open_kept", "3");
    p.ok(&["export"]);
    p
}

fn inode(p: &Project) -> u64 {
    std::fs::metadata(p.file("QUEUE.md")).unwrap().ino()
}

#[test]
fn a_bounded_view_shows_the_first_open_tasks_and_how_many_it_leaves_out() {
    let p = bounded();
    let text = p.queue_md();
    assert_eq!(ids(&text), ["ORCH-001", "ORCH-002", "ORCH-003"]);
    assert!(text.ends_with(&format!("| task 3 | - | - | - | - | - |\n\n{}\n", hidden_line("7"))), "{text}");

    // The unchanged file imports as no change at all: the hidden tasks are not deleted,
    // the line is no row and no edit.
    let out = p.json(&["import"]);
    assert_eq!(out["unchanged"].as_u64(), Some(3));
    for key in ["added", "edited", "stale"] {
        assert!(out[key].as_array().unwrap().is_empty(), "{key}: {out}");
    }
    assert_eq!(p.json(&["list"]).as_array().unwrap().len(), 10);
    assert_eq!(p.queue_md(), text);
    p.ok(&["check"]);

    // `export --all` writes every task, and no line.
    p.ok(&["export", "--all", "all.md"]);
    let all = p.read("all.md");
    assert_eq!(ids(&all).len(), 10);
    assert!(!all.contains("not shown here"), "{all}");
}

#[test]
fn a_shown_row_edits_and_a_new_row_adds_in_a_bounded_view() {
    let p = bounded();
    let text = p.queue_md();
    let edited = row_of(&text, "ORCH-002").replacen("task 2", "task two", 1);
    let mut text = text.replacen(row_of(&text, "ORCH-002"), &edited, 1);
    // A row a person adds is a task, past the bound or not.
    text = text.replacen(
        "| task 3 | - | - | - | - | - |\n",
        "| task 3 | - | - | - | - | - |\n| ORCH-011 | PENDING | P2 | added by hand | - | - | - | - | - |\n",
        1,
    );
    p.write("QUEUE.md", &text);
    let out = p.json(&["import"]);
    assert_eq!(out["edited"], serde_json::json!(["ORCH-002"]));
    assert_eq!(out["added"], serde_json::json!(["ORCH-011"]));
    assert_eq!(p.json(&["show", "ORCH-002"])["task"], "task two");
    assert_eq!(p.json(&["list"]).as_array().unwrap().len(), 11);
    // The added task is last in pick order (P2): not shown, and counted.
    let text = p.queue_md();
    assert_eq!(ids(&text), ["ORCH-001", "ORCH-002", "ORCH-003"]);
    assert!(text.ends_with(&format!("\n\n{}\n", hidden_line("8"))), "{text}");
    p.ok(&["check"]);

    // A person who edits the line edits nothing; the view writes it back.
    p.write("QUEUE.md", &text.replace(&hidden_line("8"), &hidden_line("1,234")));
    let out = p.json(&["import"]);
    assert!(out["edited"].as_array().unwrap().is_empty(), "{out}");
    assert_eq!(p.queue_md(), text);
}

#[test]
fn a_change_to_a_hidden_task_leaves_the_file_alone_unless_the_count_changes() {
    let p = bounded();
    let (text, before) = (p.queue_md(), inode(&p));
    p.ok(&["note", "ORCH-009", "a note the view does not show"]);
    assert_eq!((p.queue_md(), inode(&p)), (text.clone(), before), "not rewritten");
    p.ok(&["check"]);

    // One more hidden task: only the line changes.
    p.ok(&["add", "one more"]);
    let now = p.queue_md();
    assert_eq!(now, text.replace(&hidden_line("7"), &hidden_line("8")));

    // A task that comes first in pick order shows; the last shown one goes.
    p.ok(&["add", "urgent", "-p", "P0"]);
    let now = p.queue_md();
    assert_eq!(ids(&now), ["ORCH-001", "ORCH-002", "ORCH-012"]);
    assert!(now.contains(&hidden_line("9")), "{now}");
    p.ok(&["check"]);
}

#[test]
fn running_tasks_always_show_and_a_view_without_a_bound_shows_every_open_task() {
    let p = bounded();
    p.set_config("open_kept", "1");
    for _ in 0..2 {
        p.ok(&["pick", "--owner", "w"]);
    }
    let text = p.queue_md();
    // Both running tasks, though the bound is one; nothing else.
    assert_eq!(ids(&text), ["ORCH-001", "ORCH-002"]);
    assert!(text.contains(&hidden_line("8")), "{text}");
    p.ok(&["check"]);

    p.set_config("open_kept", "0");
    p.ok(&["export"]);
    let text = p.queue_md();
    assert_eq!(ids(&text).len(), 10);
    assert!(!text.contains("not shown here"), "{text}");
    p.ok(&["check"]);
}
