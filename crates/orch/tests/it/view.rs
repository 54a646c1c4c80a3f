//! What the view holds and when: every task that is not DONE plus the newest
//! `done_kept` DONE ones (`export --all` writes all), absent rows are never deletions,
//! and the view never goes back in time, even with many processes changing the queue at
//! once.

use crate::common::{Project, SEED};
use crate::db_state::{line_of, row_of};

fn ids(text: &str) -> Vec<String> {
    text.lines().filter(|l| l.starts_with("| ORCH-")).map(|l| l.split('|').nth(1).unwrap().trim().to_string()).collect()
}

#[test]
fn the_view_keeps_open_tasks_and_the_newest_done_ones() {
    let p = Project::init(Some(SEED));
    p.set_config("done_kept", "2");
    p.ok(&["export"]);
    let text = p.queue_md();
    // BLOCKED 019, 020, 025; of the DONE ones (all imported at once) the last two.
    assert_eq!(ids(&text), ["ORCH-019", "ORCH-020", "ORCH-024", "ORCH-025", "ORCH-026"]);
    // The rows kept are the seed's lines, and the text around the table is kept.
    for id in ["ORCH-019", "ORCH-026"] {
        assert_eq!(row_of(&text, id), row_of(SEED, id));
    }
    assert!(text.starts_with("# Orchestrator Queue\n") && text.ends_with("필요한 입력을 적기\n"));
    p.ok(&["check"]);

    // `export --all` writes every task: here, the seed itself.
    p.ok(&["export", "--all", "all.md"]);
    assert_eq!(p.read("all.md"), SEED);
    assert_eq!(p.queue_md(), text, "exporting elsewhere leaves the view alone");

    // Rows absent from the view are not deletions.
    let out = p.json(&["import"]);
    assert_eq!((out["unchanged"].as_u64(), out["edited"].as_array().unwrap().len()), (Some(5), 0));
    assert_eq!(p.json(&["list"]).as_array().unwrap().len(), 26);

    // A task finished by hand is now the newest DONE one: it stays, ORCH-024 goes.
    let done_by_hand = row_of(&text, "ORCH-019").replacen("| BLOCKED |", "| DONE |", 1);
    p.write("QUEUE.md", &text.replacen(row_of(&text, "ORCH-019"), &done_by_hand, 1));
    p.ok(&["import"]);
    let text = p.queue_md();
    assert_eq!(ids(&text), ["ORCH-019", "ORCH-020", "ORCH-025", "ORCH-026"]);
    assert_eq!(row_of(&text, "ORCH-019"), done_by_hand);
    assert_eq!(p.json(&["list", "--status", "DONE"]).as_array().unwrap().len(), 24);
    p.ok(&["check"]);
}

#[test]
fn new_tasks_always_show_even_past_done_kept() {
    let p = Project::init(Some(SEED));
    p.set_config("done_kept", "0");
    p.ok(&["add", "open one"]);
    let text = p.queue_md();
    assert_eq!(ids(&text), ["ORCH-019", "ORCH-020", "ORCH-025", "ORCH-027"]);
    assert_eq!(line_of(&text, "| ORCH-027 |"), line_of(&text, "| ORCH-025 |") + 1);
    p.ok(&["check"]);
}

#[test]
fn concurrent_adds_end_with_a_view_that_lists_every_task() {
    const PROCESSES: usize = 4;
    const ADDS: usize = 25;
    let p = Project::init(Some(SEED));
    std::thread::scope(|s| {
        for w in 0..PROCESSES {
            let p = &p;
            s.spawn(move || {
                for i in 0..ADDS {
                    let title = format!("worker {w} task {i}");
                    let out = p.orch(&["add", &title]).output().expect("run orch add");
                    assert!(out.status.success(), "{title}: {}", String::from_utf8_lossy(&out.stderr));
                    // No process ever finds edits it did not make.
                    let err = String::from_utf8_lossy(&out.stderr);
                    assert!(!err.contains("warning"), "{title}: {err}");
                }
            });
        }
    });
    let text = p.queue_md();
    let shown = ids(&text);
    assert_eq!(shown.len(), 26 + PROCESSES * ADDS, "every task is in the view");
    let expected: Vec<String> = (1..=26 + PROCESSES * ADDS).map(|n| format!("ORCH-{n:03}")).collect();
    assert_eq!(shown, expected, "in order, each once");
    for w in 0..PROCESSES {
        for i in 0..ADDS {
            assert!(text.contains(&format!("| worker {w} task {i} |")), "worker {w} task {i} is missing");
        }
    }
    assert!(text.starts_with(&SEED[..SEED.find("| ORCH-026 |").unwrap()]), "the seed's lines are kept");
    p.ok(&["check"]);
}

/// Each view file has its own marks and hash: a command run once against another file
/// (`ORCH_QUEUE_MD=other.md`) does not make QUEUE.md look hand-edited, and each file is
/// brought up to date on its own.
#[test]
fn another_view_file_does_not_make_queue_md_look_edited() {
    let p = Project::init(Some(SEED));
    let other = [("ORCH_QUEUE_MD", "other.md")];
    let (code, _, err) = crate::db_state::run_env(&p, &["add", "into the other view"], &other);
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(p.read("other.md").contains("| ORCH-027 | PENDING | P1 | into the other view |"));
    assert!(p.read("other.md").starts_with("# Orchestrator Queue\n"), "a new view starts from the queue's frame");
    // QUEUE.md is one change behind, not edited: the next command brings it up to date.
    let (code, _, err) = p.run(&["add", "into QUEUE.md"]);
    assert_eq!((code, err.as_str()), (0, ""), "no warning about edits");
    let text = p.queue_md();
    assert!(text.contains("| into the other view |") && text.contains("| into QUEUE.md |"), "{text}");
    p.ok(&["check"]);
    // The other file is behind now (drift, exit 3) until a command there refreshes it.
    let (code, _, _) = crate::db_state::run_env(&p, &["check"], &other);
    assert_eq!(code, 3);
    let (code, _, err) = crate::db_state::run_env(&p, &["export"], &other);
    assert_eq!((code, err.as_str()), (0, ""));
    let (code, _, err) = crate::db_state::run_env(&p, &["check"], &other);
    assert_eq!(code, 0, "{err}");
    p.ok(&["check"]);
}

/// A database from before views had names holds the one view's marks and hash under the
/// view `''`: the queue's QUEUE.md takes them over on first use, so an upgraded queue is
/// in step with its file at once (no edits to import, no rows rewritten).
#[test]
fn the_unnamed_view_of_an_older_database_is_taken_over_by_queue_md() {
    let p = Project::init(Some(SEED));
    let conn = rusqlite::Connection::open(p.file(".orch/orch.db")).unwrap();
    conn.execute_batch("UPDATE views SET view = ''; UPDATE view_rows SET view = '';").unwrap();
    drop(conn);
    p.ok(&["check"]);
    let (code, _, err) = p.run(&["note", "ORCH-019", "still here"]);
    assert_eq!((code, err.as_str()), (0, ""), "no warning: the file is the one orch wrote");
    let text = p.queue_md();
    assert_eq!(row_of(&text, "ORCH-026"), row_of(SEED, "ORCH-026"), "unchanged rows keep their lines");
    let conn = rusqlite::Connection::open(p.file(".orch/orch.db")).unwrap();
    let unnamed: i64 = conn
        .query_row(
            "SELECT (SELECT count(*) FROM views WHERE view = '') + (SELECT count(*) FROM view_rows WHERE view = '')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(unnamed, 0);
}

const TWO: &str = "# Q\n\n| id | status | priority | task | notes |\n|---|---|---|---|---|\n\
                   | ORCH-001 | PENDING | P1 | 하나 | n1 |\n| ORCH-002 | PENDING | P1 | 둘 | n2 |\n";

/// A view's marks are lines under its columns. Importing another file whose columns
/// differ takes its values, but its lines never become QUEUE.md's rows.
#[test]
fn another_files_lines_under_other_columns_never_become_queue_md_rows() {
    let p = Project::init(Some(TWO));
    p.write("other.md", "| task | id | priority | status |\n|---|---|---|---|\n| 하나 | ORCH-001 | P1 | PENDING |\n| 둘, 고침 | ORCH-002 | P0 | PENDING |\n| 셋 | ORCH-003 | P2 | PENDING |\n");
    let out = p.json(&["import", "other.md"]);
    assert_eq!(
        (out["unchanged"].as_u64(), &out["edited"], &out["added"]),
        (Some(1), &serde_json::json!(["ORCH-002"]), &serde_json::json!(["ORCH-003"]))
    );
    let text = p.queue_md();
    assert_eq!(row_of(&text, "ORCH-001"), "| ORCH-001 | PENDING | P1 | 하나 | n1 |", "its own line, not other.md's");
    assert_eq!(row_of(&text, "ORCH-002"), "| ORCH-002 | PENDING | P0 | 둘, 고침 | - | n2 |".replace(" - | n2", " n2"));
    assert_eq!(row_of(&text, "ORCH-003"), "| ORCH-003 | PENDING | P2 | 셋 | - |");
    p.ok(&["check"]);
    assert_eq!(p.json(&["import"])["unchanged"], 3, "QUEUE.md reads back as it is");
}

/// A person who changes QUEUE.md's columns and drops a row: the rows the file still
/// has keep their lines; the dropped one comes back written under the new header.
#[test]
fn new_columns_in_queue_md_never_leave_rows_written_under_the_old_ones() {
    let p = Project::init(Some(TWO));
    let four = "# Q\n\n| id | status | priority | task |\n|---|---|---|---|\n| ORCH-001 | PENDING | P1 | 하나 |\n";
    p.write("QUEUE.md", four);
    let out = p.json(&["import"]);
    assert_eq!(out["unchanged"], 1);
    assert_eq!(p.queue_md(), format!("{four}| ORCH-002 | PENDING | P1 | 둘 |\n"));
    p.ok(&["check"]);
    assert_eq!(p.json(&["import"])["unchanged"], 2);
    // The old lines are gone for good: even with the old columns back, ORCH-002's old
    // line is a row the view never showed under them, and it matches, so it is taken.
    p.write("QUEUE.md", TWO);
    assert_eq!(p.json(&["import"])["unchanged"], 2);
    assert_eq!(p.queue_md(), TWO);
}

/// A view that never imported a file starts from the queue's frame and keeps it: when
/// another view takes new columns, its own rows stay under the columns it showed them.
#[test]
fn a_view_keeps_the_frame_it_started_from() {
    let p = Project::init(Some(TWO));
    let other = [("ORCH_QUEUE_MD", "other.md")];
    let (code, _, err) = crate::db_state::run_env(&p, &["export"], &other);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(p.read("other.md"), TWO);
    // QUEUE.md drops the notes column.
    let four = "# Q\n\n| id | status | priority | task |\n|---|---|---|---|\n| ORCH-001 | PENDING | P1 | 하나 |\n| ORCH-002 | PENDING | P1 | 둘 |\n";
    p.write("QUEUE.md", four);
    p.ok(&["import"]);
    p.ok(&["note", "ORCH-001", "n3"]);
    let (code, _, err) = crate::db_state::run_env(&p, &["export"], &other);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(p.read("other.md"), TWO.replace("| n1 |", "| n1 / n3 |"));
    let (code, _, err) = crate::db_state::run_env(&p, &["check"], &other);
    assert_eq!(code, 0, "{err}");
    assert_eq!(p.queue_md(), four);
}
