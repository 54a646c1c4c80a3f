//! QUEUE.md round trips through the real binary: the seed byte for byte, new rows at the
//! end in canonical form, pipes, line breaks, extra columns and CRLF files.

use crate::common::{Project, SEED};
use crate::db_state::{line_of, row_of};

fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

#[test]
fn the_seed_imports_and_exports_byte_for_byte() {
    let p = Project::init(Some(SEED));
    assert_eq!(p.queue_md(), SEED);
    p.ok(&["export"]);
    assert_eq!(p.queue_md(), SEED);
    p.ok(&["export", "--all"]);
    assert_eq!(p.queue_md(), SEED, "the seed's 26 rows are all in the view");
    p.ok(&["check"]);

    let tasks = p.json(&["list"]);
    let tasks = tasks.as_array().unwrap();
    assert_eq!(tasks.len(), 26);
    let count = |status: &str| tasks.iter().filter(|t| t["status"] == status).count();
    assert_eq!((count("DONE"), count("BLOCKED")), (23, 3));
    let t19 = p.json(&["show", "ORCH-019"]);
    assert!(t19["task"].as_str().unwrap().starts_with("[쿠팡구매/safe] 생수 2L"), "{t19}");
    assert_eq!(t19["status"], "BLOCKED");
    let t1 = p.json(&["show", "ORCH-001"]);
    assert_eq!(t1["started_at"], "2026-02-07T11:08:00Z", "20:08 in Seoul");
    assert_eq!(t1["owner_session"], "agent:main:subagent:0e00c142-c2cc-4e8a-90c9-2afbb32daa15");

    // A second queue made from the exported file holds the same tasks.
    let q = Project::init(Some(&p.queue_md()));
    assert_eq!(strip_times(q.json(&["list"])), strip_times(p.json(&["list"])));
}

/// A task list without the times of the database's own bookkeeping.
fn strip_times(mut v: serde_json::Value) -> serde_json::Value {
    for t in v.as_array_mut().unwrap() {
        let o = t.as_object_mut().unwrap();
        o.remove("created_at");
        o.remove("updated_at");
    }
    v
}

#[test]
fn add_then_export_appends_one_canonical_row_after_the_last_and_changes_no_other_line() {
    let p = Project::init(Some(SEED));
    p.ok(&["add", "새 작업: 문서 정리", "--priority", "P0", "--criteria", "1) 끝"]);
    p.ok(&["export"]);
    let before = lines(SEED);
    let text = p.queue_md();
    let after = lines(&text);
    assert_eq!(after.len(), before.len() + 1);
    let at = line_of(SEED, "| ORCH-026 |");
    assert_eq!(after[..at], before[..at], "every line up to ORCH-026 is kept");
    assert_eq!(after[at], "| ORCH-027 | PENDING | P0 | 새 작업: 문서 정리 | 1) 끝 | - | - | - | - |\n");
    assert_eq!(after[at + 1..], before[at..], "every line after it is kept");
    p.ok(&["check"]);
}

#[test]
fn a_pipe_and_a_line_break_in_values_survive_a_round_trip() {
    let p = Project::init(Some(SEED));
    p.ok(&["add", "a | b \\ c", "--criteria", "1) x|y\n2) z"]);
    let text = p.queue_md();
    assert_eq!(
        row_of(&text, "ORCH-027"),
        "| ORCH-027 | PENDING | P1 | a \\| b \\ c | 1) x\\|y<br>2) z | - | - | - | - |"
    );
    p.ok(&["check"]);
    // Read back by a new queue: the same values.
    let q = Project::init(Some(&text));
    let t = q.json(&["show", "ORCH-027"]);
    assert_eq!(t["task"], "a | b \\ c");
    assert_eq!(t["success_criteria"], "1) x|y\n2) z");
    // An import of the untouched file is no edit, and writes the same bytes back.
    let out = p.json(&["import"]);
    assert_eq!((out["edited"].as_array().unwrap().len(), out["unchanged"].as_u64()), (0, Some(27)));
    assert_eq!(p.queue_md(), text);

    // A pipe typed by hand into a row is taken as a literal pipe.
    p.write("QUEUE.md", &text.replace("| a \\| b \\ c |", "| a \\| b \\| c |"));
    p.ok(&["import"]);
    assert_eq!(p.json(&["show", "ORCH-027"])["task"], "a | b | c");
}

#[test]
fn extra_unknown_columns_survive_a_round_trip() {
    let file = "# Team queue\n\n\
                | id | status | priority | team | task | notes | cost |\n\
                |:--|:-:|--|--|--|--|--:|\n\
                | ORCH-001 | PENDING | P1 | 플랫폼 | first | - | 3 |\n\
                | ORCH-002 | DONE | P2 |   - | second | ok | 12 |\n\
                \ntrailing text\n";
    let p = Project::init(Some(file));
    assert_eq!(p.queue_md(), file);
    p.ok(&["export"]);
    assert_eq!(p.queue_md(), file);
    let t = p.json(&["show", "ORCH-001"]);
    assert_eq!(t["extra"]["team"], "플랫폼", "{t}");
    assert_eq!(t["extra"]["cost"], "3");

    // A new task gets `-` in the extra columns; a hand edit of one is imported.
    p.ok(&["add", "third"]);
    let text = p.queue_md();
    assert_eq!(row_of(&text, "ORCH-003"), "| ORCH-003 | PENDING | P1 | - | third | - | - |");
    p.write(
        "QUEUE.md",
        &text.replace(
            "| ORCH-001 | PENDING | P1 | 플랫폼 | first | - | 3 |",
            "| ORCH-001 | PENDING | P1 | 데이터 | first | - | 3 |",
        ),
    );
    p.ok(&["import"]);
    assert_eq!(p.json(&["show", "ORCH-001"])["extra"]["team"], "데이터");
    // A change by a command rewrites the row with its extra values kept.
    p.ok(&["cancel", "ORCH-001", "--reason", "moved"]);
    let row = row_of(&p.queue_md(), "ORCH-001").to_string();
    assert_eq!(row, "| ORCH-001 | BLOCKED | P1 | 데이터 | first | cancelled_by_operator:moved | 3 |");
    p.ok(&["check"]);
}

#[test]
fn a_crlf_file_round_trips_through_init_add_and_export() {
    let file = SEED.replace('\n', "\r\n");
    let p = Project::init(Some(&file));
    assert_eq!(p.queue_md(), file);
    p.ok(&["export"]);
    assert_eq!(p.queue_md(), file);
    p.ok(&["add", "윈도우 줄바꿈"]);
    let text = p.queue_md();
    assert_eq!(text.matches("\r\n").count(), text.matches('\n').count(), "every line ends in CRLF");
    assert!(text.contains("| ORCH-026 |"));
    assert!(text.contains("\r\n| ORCH-027 | PENDING | P1 | 윈도우 줄바꿈 | - | - | - | - | - |\r\n\r\n## 작성 팁"));
    assert_eq!(text.replace("| ORCH-027 | PENDING | P1 | 윈도우 줄바꿈 | - | - | - | - | - |\r\n", ""), file);
    p.ok(&["check"]);
}

#[test]
fn a_file_without_a_final_newline_gets_a_new_row_on_its_own_line() {
    let file = "| id | status | priority | task |\n|---|---|---|---|\n| ORCH-001 | PENDING | P1 | one |";
    let p = Project::init(Some(file));
    assert_eq!(p.queue_md(), file);
    p.ok(&["add", "two"]);
    assert_eq!(p.queue_md(), format!("{file}\n| ORCH-002 | PENDING | P1 | two |\n"));
    p.ok(&["check"]);
}
