//! Malformed QUEUE.md files are refused whole: exit 2, every problem as
//! `FILE:LINE: what is wrong`, and neither the database nor QUEUE.md changed — through
//! `init` (nothing is created) and through `import` into an existing queue.

use crate::common::{Project, SEED};
use crate::db_state::{event_count, events_file_lines, fingerprint, line_of};

/// The seed with the line holding `needle` changed by `edit`.
fn seed_with(needle: &str, edit: impl Fn(&str) -> String) -> String {
    let mut found = false;
    let out: String = SEED
        .split_inclusive('\n')
        .map(|l| {
            if l.contains(needle) && !found {
                found = true;
                let (body, eol) = l.split_at(l.trim_end_matches('\n').len());
                edit(body) + eol
            } else {
                l.to_string()
            }
        })
        .collect();
    assert!(found, "no line with {needle:?}");
    out
}

struct Case {
    name: &'static str,
    text: String,
    /// (line, what the message says) for every problem, in order.
    problems: Vec<(usize, &'static str)>,
}

fn cases() -> Vec<Case> {
    let line = |id: &str| line_of(SEED, &format!("| {id} |"));
    let status = seed_with("| ORCH-003 |", |l| l.replacen("| DONE |", "| DOING |", 1));
    let priority = seed_with("| ORCH-004 |", |l| l.replacen("| P1 |", "| P7 |", 1));
    let duplicate = seed_with("| ORCH-005 |", |l| l.replacen("ORCH-005", "ORCH-004", 1));
    let cells = seed_with("| ORCH-010 |", |l| format!("{l} extra |"));
    let time = seed_with("| ORCH-001 |", |l| l.replacen("2026-02-07 20:08", "2026-02-30 20:08", 1));
    let mut several = seed_with("| ORCH-003 |", |l| l.replacen("| DONE |", "| DOING |", 1));
    several = several.replacen("| ORCH-004 | DONE | P1 |", "| ORCH-004 | DONE | P7 |", 1);
    several = several.replacen("| ORCH-005 |", "| ORCH-004 |", 1);
    several = several.replacen("2026-02-07 20:08", "2026-02-30 20:08", 1);
    let mut two_widths = seed_with("| ORCH-010 |", |l| format!("{l} extra |"));
    two_widths = two_widths.replacen(" | - | ", " | ", 1);
    // Every kind at once: rows of the wrong width beside rows with bad values, and an
    // id written unpadded beside its padded twin.
    let mut all_kinds = seed_with("| ORCH-010 |", |l| format!("{l} extra |"));
    all_kinds = all_kinds.replacen("| ORCH-003 | DONE |", "| ORCH-003 | DOING |", 1);
    all_kinds = all_kinds.replacen("| ORCH-004 | DONE | P1 |", "| ORCH-004 | DONE | P7 |", 1);
    all_kinds = all_kinds.replacen("2026-02-07 20:08", "2026-02-30 20:08", 1);
    all_kinds = all_kinds.replacen("| ORCH-012 |", "| ORCH-11 |", 1);
    all_kinds = all_kinds.replacen("| ORCH-015 |", "| ORCH-15x |", 1);
    vec![
        Case { name: "unknown status", text: status, problems: vec![(line("ORCH-003"), "unknown status `DOING`")] },
        Case { name: "unknown priority", text: priority, problems: vec![(line("ORCH-004"), "unknown priority `P7`")] },
        Case { name: "duplicate id", text: duplicate, problems: vec![(line("ORCH-005"), "duplicate id `ORCH-004`")] },
        Case {
            name: "wrong cell count",
            text: cells,
            problems: vec![(line("ORCH-010"), "expected 9 cells, found 10")],
        },
        Case {
            name: "impossible time",
            text: time,
            problems: vec![(line("ORCH-001"), "started_at_kst: impossible time `2026-02-30 20:08`")],
        },
        Case {
            name: "no table",
            text: "# Queue\n\n| a | b |\n|---|---|\n| 1 | 2 |\n".to_string(),
            problems: vec![(1, "no queue table")],
        },
        Case {
            name: "several problems",
            text: several,
            problems: vec![
                (line("ORCH-001"), "impossible time"),
                (line("ORCH-003"), "unknown status `DOING`"),
                (line("ORCH-004"), "unknown priority `P7`"),
                (line("ORCH-005"), "duplicate id `ORCH-004`"),
            ],
        },
        Case {
            name: "every kind of problem at once",
            text: all_kinds,
            problems: vec![
                (line("ORCH-001"), "started_at_kst: impossible time `2026-02-30 20:08`"),
                (line("ORCH-003"), "unknown status `DOING`"),
                (line("ORCH-004"), "unknown priority `P7`"),
                (line("ORCH-010"), "expected 9 cells, found 10"),
                (line("ORCH-012"), "duplicate id `ORCH-11`: the same prefix and number as `ORCH-011`"),
                (line("ORCH-015"), "bad id `ORCH-15x`"),
            ],
        },
        Case {
            name: "two rows of the wrong width",
            text: two_widths,
            problems: vec![(line("ORCH-001"), "expected 9 cells, found 8"), (line("ORCH-010"), "found 10")],
        },
    ]
}

/// Exit 2 and one `FILE:LINE: message` line per problem, in order, nothing else.
fn assert_refused(case: &Case, file: &str, (code, _, stderr): (i32, String, String)) {
    assert_eq!(code, 2, "{}: {stderr}", case.name);
    let got: Vec<&str> = stderr.lines().collect();
    assert_eq!(got.len(), case.problems.len(), "{}: {stderr}", case.name);
    for (line, (n, what)) in got.iter().zip(&case.problems) {
        let at = format!("{file}:{n}: ");
        assert!(line.contains(&at) && line.contains(what), "{}: want `{at}…{what}`, got `{line}`", case.name);
    }
}

#[test]
fn init_refuses_a_malformed_queue_md_and_creates_nothing() {
    for case in cases() {
        let p = Project::empty();
        p.write("QUEUE.md", &case.text);
        assert_refused(&case, "QUEUE.md", p.run(&["init"]));
        assert!(!p.file(".orch").exists(), "{}: .orch/ was created", case.name);
        assert_eq!(p.queue_md(), case.text, "{}: QUEUE.md changed", case.name);
    }
}

#[test]
fn import_refuses_a_malformed_file_and_changes_neither_database_nor_queue_md() {
    let p = Project::init(Some(SEED));
    let db = fingerprint(&p);
    let events = events_file_lines(&p);
    let db_events = event_count(&p);
    assert_eq!(db_events, 26, "one task.imported event per row");
    let tasks = p.json(&["list"]);
    assert_eq!(tasks.as_array().unwrap().len(), 26);
    for case in cases() {
        // Another file, named on the command line.
        p.write("bad.md", &case.text);
        assert_refused(&case, "bad.md", p.run(&["import", "bad.md"]));
        assert_eq!(p.queue_md(), SEED, "{}: QUEUE.md changed", case.name);
        // QUEUE.md itself, edited badly by hand.
        p.write("QUEUE.md", &case.text);
        assert_refused(&case, "QUEUE.md", p.run(&["import"]));
        assert_eq!(p.queue_md(), case.text, "{}: QUEUE.md changed", case.name);
        assert_eq!(p.read("bad.md"), case.text);
        assert_eq!(fingerprint(&p), db, "{}: the database changed", case.name);
        assert_eq!(event_count(&p), db_events, "{}: events were added", case.name);
        assert_eq!(events_file_lines(&p), events, "{}: events.jsonl changed", case.name);
        assert_eq!(p.json(&["list"]), tasks);
        p.write("QUEUE.md", SEED);
    }
    p.ok(&["check"]);
}

/// A prefix and number name one task: a new row `ORCH-7` in a queue that holds
/// `ORCH-007` is a duplicate id (FILE:LINE, exit 2), not a second task.
#[test]
fn an_unpadded_id_of_a_task_the_queue_holds_is_a_duplicate() {
    let p = Project::init(Some(SEED));
    let db = fingerprint(&p);
    // A file of its own (without ORCH-007's row, which would be the duplicate within it).
    let text = "| id | status | priority | task |\n|---|---|---|---|\n| ORCH-7 | PENDING | P1 | the same number |\n";
    p.write("bad.md", text);
    let (code, _, err) = p.run(&["import", "bad.md"]);
    assert_eq!(code, 2, "{err}");
    let want = "bad.md:3: duplicate id `ORCH-7`: the same prefix and number as ORCH-007, which the queue holds";
    assert_eq!(err.trim(), format!("orch: {want}"));
    assert_eq!(fingerprint(&p), db, "nothing imported");
    // Unpadded ids of new numbers are taken as written; the next id is padded.
    let text = SEED.replacen("| ORCH-026 |", "| ORCH-27 | PENDING | P1 | new | - | - | - | - | - |\n| ORCH-026 |", 1);
    p.write("ok.md", &text);
    p.ok(&["import", "ok.md"]);
    assert_eq!(p.json(&["show", "ORCH-27"])["task"], "new");
    assert_eq!(p.json(&["add", "next"])["id"], "ORCH-028");
}
