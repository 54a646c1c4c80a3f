//! Tests of rows ↔ tasks: the seed read as tasks, every bad row reported, rows that
//! speak only for their file's columns, merging a person's edit with the database's,
//! the view's selection, and property tests that rendering tasks and reading them back
//! gives the same tasks. No I/O: the seed is compiled in.

use super::*;
use crate::queue_md::parse;

const SEED: &str = include_str!("../../../tests/fixtures/seed_queue.md");

fn seoul() -> TimeZone {
    TimeZone::get("Asia/Seoul").unwrap()
}

#[test]
fn the_seed_reads_as_26_tasks() {
    let doc = parse(SEED).unwrap();
    let rows = read_rows(&doc, &seoul()).unwrap();
    assert_eq!(rows.len(), 26);
    let done = rows.iter().filter(|r| r.status == Status::Done).count();
    let blocked = rows.iter().filter(|r| r.status == Status::Blocked).count();
    assert_eq!((done, blocked), (23, 3));
    let r19 = rows.iter().find(|r| r.id == "ORCH-019").unwrap();
    assert!(r19.task.starts_with("[쿠팡구매/safe] 생수 2L"));
    assert_eq!(rows[0].started_at.unwrap().to_string(), "2026-02-07T11:08:00Z");
    let r25 = rows.iter().find(|r| r.id == "ORCH-025").unwrap();
    assert_eq!((r25.owner.as_deref(), r25.started_at), (None, None));
}

#[test]
fn cells_of_an_unchanged_seed_task_are_its_row() {
    let doc = parse(SEED).unwrap();
    let rows = read_rows(&doc, &seoul()).unwrap();
    for r in &rows {
        let own = |v: &Option<Cow<'_, str>>| v.as_ref().map(|v| v.to_string());
        let mut t = Task::new(r.id.to_string(), r.task.to_string(), r.priority, 4, Timestamp::UNIX_EPOCH);
        t.status = r.status;
        t.success_criteria = own(&r.success_criteria);
        t.owner = own(&r.owner);
        t.started_at = r.started_at;
        t.due_at = r.due_at;
        t.notes = own(&r.notes);
        assert!(r.matches(&t));
        let cells = task_cells(&t, &doc.columns, &seoul());
        assert_eq!(crate::queue_md::render_row(&cells), r.raw, "line {}", r.line);
    }
}

#[test]
fn every_bad_row_is_reported_with_its_line() {
    let text = "| id | status | priority | task | started_at_kst |\n|---|---|---|---|---|\n\
                | ORCH-001 | DOING | P1 | a | - |\n\
                | ORCH-002 | DONE | P9 | b | - |\n\
                | ORCH-002 | DONE | P1 | c | - |\n\
                | ORCH-004 | DONE | P1 | d | 2026-02-30 10:00 |\n\
                | X | DONE | P1 | - | - |\n";
    let doc = parse(text).unwrap();
    let diags = read_rows(&doc, &seoul()).unwrap_err();
    let lines: Vec<usize> = diags.iter().map(|d| d.line).collect();
    assert_eq!(lines, [3, 4, 5, 6, 7, 7]);
    assert!(diags[0].message.contains("unknown status `DOING`"));
    assert!(diags[1].message.contains("unknown priority `P9`"));
    assert!(diags[2].message.contains("duplicate id `ORCH-002`"));
    assert!(diags[3].message.contains("impossible time"));
}

#[test]
fn a_message_quoting_a_bad_value_stays_on_one_line() {
    let text = "| id | status | priority | task | due_at_kst | a<br>b |\n|---|---|---|---|---|---|\n\
                | ORCH-1<br>x | DO<br/>NE | P<br />1 | a | 2026-01-01<br>10:00 | - |\n\
                | ORCH-2 | DONE | P1 | \u{1b}[2J<br> | - |\n";
    let diags = read_file(text, &seoul()).unwrap_err();
    let got: Vec<(usize, &str)> = diags.iter().map(|d| (d.line, d.message.as_str())).collect();
    assert_eq!(
        got,
        [
            (3, "bad id `ORCH-1\\nx` (expected PREFIX-NNN, like ORCH-001)"),
            (3, "unknown status `DO\\nNE` (expected one of PENDING, IN_PROGRESS, DONE, FAILED, BLOCKED)"),
            (3, "unknown priority `P\\n1` (expected one of P0, P1, P2)"),
            (3, "due_at_kst: bad time `2026-01-01\\n10:00` (expected YYYY-MM-DD HH:MM)"),
            (4, "expected 6 cells, found 5"),
        ]
    );
    let dup = "| id | status | priority | task | x<br>y | x<br>y |\n|---|---|---|---|---|---|\n";
    assert_eq!(parse(dup).unwrap_err()[0].message, "duplicate column `x\\ny`");
    let big = "| id | status | priority | task |\n|---|---|---|---|\n| ORCH-9223372036854775807 | DONE | P1 | a |\n";
    let diags = read_file(big, &seoul()).unwrap_err();
    assert_eq!(diags[0].message, "bad id `ORCH-9223372036854775807`: the number is larger than 999999999999");
}

#[test]
fn a_file_is_read_whole_structural_and_value_problems_alike() {
    let text = "# q\n\n| id | status | priority | task | task |\n|---|---|---|---|---|\n\
                | ORCH-001 | DOING | P1 | a | a |\n\
                | ORCH-002 | DONE | P1 | b |\n\
                | ORCH-003 | DONE | P9 | c | c |\n\
                | ORCH-7 | DONE | P1 | d | d |\n\
                | ORCH-007 | DONE | P1 | e | e |\n\
                | ORCH-0003 | DONE | P1 | f | f |\n";
    let diags = read_file(text, &seoul()).unwrap_err();
    let got: Vec<(usize, &str)> = diags.iter().map(|d| (d.line, d.message.as_str())).collect();
    assert_eq!(
        got,
        [
            (3, "duplicate column `task`"),
            (5, "unknown status `DOING` (expected one of PENDING, IN_PROGRESS, DONE, FAILED, BLOCKED)"),
            (6, "expected 5 cells, found 4"),
            (7, "unknown priority `P9` (expected one of P0, P1, P2)"),
            (9, "duplicate id `ORCH-007`: the same prefix and number as `ORCH-7` (line 8)"),
            (10, "duplicate id `ORCH-0003`: the same prefix and number as `ORCH-003` (line 7)"),
        ]
    );
    let (doc, rows) = read_file(SEED, &seoul()).unwrap();
    assert_eq!((rows.len(), doc.rows.len()), (26, 0), "the rows are moved out of the document");
    assert_eq!(read_file("no table", &seoul()).unwrap_err()[0].line, 1);
}

#[test]
fn the_view_keeps_open_tasks_and_the_newest_done() {
    let at = |s: i64| Timestamp::from_second(s).unwrap();
    let mk = |id: &str, st: Status, upd: i64| {
        let mut t = Task::new(id.into(), "x".into(), Priority::P1, 4, at(0));
        t.status = st;
        t.updated_at = at(upd);
        t
    };
    let tasks = vec![
        mk("A-001", Status::Done, 5),
        mk("A-002", Status::Pending, 1),
        mk("A-003", Status::Done, 9),
        mk("A-004", Status::Done, 7),
        mk("A-005", Status::Blocked, 1),
    ];
    assert_eq!(view_selection(&tasks, None, 2, false), [false, true, true, true, true]);
    assert_eq!(view_selection(&tasks, None, 0, false), [false, true, false, false, true]);
    assert_eq!(view_selection(&tasks, None, 0, true), [true; 5]);
    assert_eq!(view_selection(&tasks, Some(1), 0, true), [true; 5]);
}

#[test]
fn a_bounded_view_keeps_the_running_and_the_first_open_tasks_in_pick_order() {
    let at = |s: i64| Timestamp::from_second(s).unwrap();
    let mk = |id: &str, st: Status, p: Priority, due: Option<i64>| {
        let mut t = Task::new(id.into(), "x".into(), p, 4, at(0));
        t.status = st;
        t.due_at = due.map(at);
        t
    };
    let tasks = vec![
        mk("A-001", Status::Pending, Priority::P2, None),
        mk("A-002", Status::InProgress, Priority::P2, None),
        mk("A-003", Status::Blocked, Priority::P0, None),
        mk("A-004", Status::Failed, Priority::P1, Some(50)),
        mk("A-005", Status::Pending, Priority::P1, Some(10)),
        mk("A-006", Status::Done, Priority::P0, None),
        mk("A-007", Status::Pending, Priority::P1, None),
    ];
    // Running first, then P0, then P1 by due time (none last), then P2.
    let shown = |open| view_selection(&tasks, Some(open), 0, false);
    assert_eq!(shown(0), [false, true, false, false, false, false, false]);
    assert_eq!(shown(1), [false, true, false, false, false, false, false]);
    assert_eq!(shown(2), [false, true, true, false, false, false, false]);
    assert_eq!(shown(3), [false, true, true, false, true, false, false]);
    assert_eq!(shown(5), [false, true, true, true, true, false, true]);
    assert_eq!(shown(6), [true, true, true, true, true, false, true]);
    assert_eq!(shown(60), shown(6));
    assert_eq!(view_selection(&tasks, None, 0, false), shown(6));
    // The DONE ones kept are apart from the bound.
    assert_eq!(view_selection(&tasks, Some(1), 1, false), [false, true, false, false, false, true, false]);
}

// --- rows speak for their file's columns; merges ---

/// The rows of a small table with these columns.
fn rows_of(columns: &str, lines: &[&str]) -> Vec<RowTask<'static>> {
    let n = columns.matches('|').count() - 1;
    let mut text = format!("{columns}\n|{}\n", "---|".repeat(n));
    for l in lines {
        text.push_str(l);
        text.push('\n');
    }
    read_rows(&parse(&text).unwrap(), &seoul()).unwrap().into_iter().map(RowTask::into_owned).collect()
}

fn task_of(row: &RowTask<'_>) -> Task {
    let mut t = Task::new(row.id.to_string(), row.task.to_string(), row.priority, 4, Timestamp::UNIX_EPOCH);
    row.apply_to(&mut t);
    t
}

#[test]
fn a_row_neither_compares_nor_changes_columns_its_file_lacks() {
    let rows = rows_of("| id | status | priority | task | x |", &["| A-001 | PENDING | P1 | one | - |"]);
    let mut t = task_of(&rows[0]);
    t.notes = Some("from the database".into());
    t.owner = Some("w1".into());
    assert!(rows[0].matches(&t), "notes and owner are not in the file");
    rows[0].apply_to(&mut t);
    assert_eq!((t.notes.as_deref(), t.owner.as_deref()), (Some("from the database"), Some("w1")));
    // An extra column's `-` is "none", as a task that never had the column.
    t.extra.clear();
    assert!(rows[0].matches(&t));
    t.extra.push(("x".into(), "set".into()));
    assert!(!rows[0].matches(&t));
}

#[test]
fn stored_values_the_codec_cannot_write_exactly_still_match_their_row() {
    let cols: Vec<String> = CANONICAL_COLUMNS.iter().map(|c| c.to_string()).collect();
    let mut t = Task::new("A-001".into(), "a<br>b \r\n c".into(), Priority::P2, 4, Timestamp::UNIX_EPOCH);
    t.success_criteria = Some("  padded  ".into());
    t.owner = Some(" ".into());
    t.notes = Some(String::new());
    let line = crate::queue_md::render_row(&task_cells(&t, &cols, &seoul()));
    let rows = rows_of(&crate::queue_md::render_row(&cols), &[&line]);
    assert_eq!(rows[0].task, "a\nb \n c");
    assert!(rows[0].matches(&t), "{line}");
}

#[test]
fn a_merge_takes_the_persons_columns_and_keeps_the_databases() {
    let cols = "| id | status | priority | task | notes |";
    let base = &rows_of(cols, &["| A-001 | PENDING | P1 | one | - |"])[0];
    let edit = &rows_of(cols, &["| A-001 | PENDING | P0 | one, reworded | - |"])[0];
    let mut db = task_of(base);
    db.notes = Some("worker note".into());
    db.status = Status::InProgress;
    let m = edit.merge(base, &db);
    assert!(m.conflicts.is_empty(), "{:?}", m.conflicts);
    assert_eq!(m.task.priority, Priority::P0);
    assert_eq!(m.task.task, "one, reworded");
    assert_eq!(m.task.status, Status::InProgress);
    assert_eq!(m.task.notes.as_deref(), Some("worker note"));
}

#[test]
fn a_merge_names_the_columns_both_sides_changed() {
    let cols = "| id | status | priority | task | notes |";
    let base = &rows_of(cols, &["| A-001 | PENDING | P1 | one | - |"])[0];
    let edit = &rows_of(cols, &["| A-001 | BLOCKED | P1 | one | waiting for keys |"])[0];
    let mut db = task_of(base);
    db.status = Status::InProgress;
    db.notes = Some("waiting for keys".into());
    let m = edit.merge(base, &db);
    // Both set notes to the same text: no conflict. Status differs: a conflict.
    assert_eq!(m.conflicts, ["status"]);
    assert_eq!(m.task.status, Status::Blocked, "the merged task holds the person's value (--force)");
}

#[test]
fn rows_differ_by_the_columns_whose_values_differ() {
    let cols = "| id | status | priority | task | notes | x |";
    let rows = rows_of(
        cols,
        &[
            "| A-001 | PENDING | P1 | one | - | - |",
            "| A-002 |  PENDING | p1 | one |   | - |",
            "| A-003 | DONE | P1 | one | a note | y |",
        ],
    );
    assert_eq!(rows[0].differing(&rows[1]), 0, "spacing, case and `-` against blank are no difference");
    assert_eq!(rows[0].differing(&rows[2]), 3);
    assert_eq!(rows[2].differing(&rows[0]), 3);
}

// --- render then read gives the same tasks ---

mod props {
    use super::*;
    use crate::queue_md::{RowOut, render_row};
    use proptest::prelude::*;

    /// A value the file writes exactly: no `\r`, no `<br`, trimmed, neither empty nor
    /// `-`. Pipes, backslashes, newlines and any Unicode are in.
    fn exact_text() -> impl Strategy<Value = String> {
        "[a-z0-9 |\\\\<>\n가-힣ü-]{0,16}\\PC{0,8}".prop_filter_map("not writable exactly", |s| {
            let s = s.replace("<br", "<_br").replace('\r', "");
            let s = s.trim();
            (!s.is_empty() && s != "-").then(|| s.to_string())
        })
    }

    /// Any text at all, to check that a written row still matches its task.
    fn any_text() -> impl Strategy<Value = String> {
        prop_oneof![Just(String::new()), Just("-".to_string()), Just("<br>".to_string()), "\\PC{0,6}[ \r\n|\\\\]{0,3}"]
    }

    /// A row as a person might write it: good and bad ids (some the same number
    /// spelled twice), statuses, priorities and times, escaped pipes, breaks at the
    /// ends of cells, blanks, and now and then a wrong number of cells.
    fn messy_row() -> impl Strategy<Value = String> {
        let id = prop_oneof![
            Just("ORCH-001"),
            Just("ORCH-1"),
            Just("ORCH-002"),
            Just(" ORCH-003 "),
            Just("ORCH-003<br>"),
            Just("BAD"),
            Just("X\\|1"),
        ];
        let status = prop_oneof![Just("PENDING"), Just(" DONE "), Just("done"), Just("FAILED<br>"), Just("-")];
        let priority = prop_oneof![Just("P1"), Just("p0"), Just(" P2 "), Just("P9"), Just("")];
        let task =
            prop_oneof![Just("작업 하나"), Just("a \\| b"), Just("<br>"), Just("-"), Just(" x<br/>y "), Just("")];
        let time = prop_oneof![Just("-"), Just("2026-02-07 20:08"), Just("2026-02-30 10:00"), Just("soon"), Just("")];
        let notes = prop_oneof![Just("-"), Just("n / m"), Just("<br />"), Just("a<b"), Just("끝<br>")];
        (id, status, priority, task, time, notes, 0..8u8).prop_map(|(id, st, p, t, time, n, shape)| match shape {
            0 => format!("| {id} | {st} | {p} |"),
            1 => format!("{id}|{st}|{p}|{t}|{time}|{n}"),
            _ => format!("| {id} | {st} | {p} | {t} | {time} | {n} |"),
        })
    }

    /// An instant at a whole minute, 2000–2099 (Korea has had no DST since 1988).
    fn minute() -> impl Strategy<Value = Timestamp> {
        (946_684_800i64 / 60..4_102_444_800i64 / 60).prop_map(|m| Timestamp::from_second(m * 60).unwrap())
    }

    fn status() -> impl Strategy<Value = Status> {
        prop::sample::select(Status::ALL.to_vec())
    }

    fn priority() -> impl Strategy<Value = Priority> {
        prop::sample::select(Priority::ALL.to_vec())
    }

    prop_compose! {
        fn task(text: BoxedStrategy<String>)(
            status in status(),
            priority in priority(),
            task in text.clone(),
            criteria in prop::option::of(text.clone()),
            owner in prop::option::of(text.clone()),
            started in prop::option::of(minute()),
            due in prop::option::of(minute()),
            notes in prop::option::of(text.clone()),
            extra in prop::collection::vec(text, 2),
        ) -> Task {
            let mut t = Task::new(String::new(), task, priority, 4, Timestamp::UNIX_EPOCH);
            t.status = status;
            t.success_criteria = criteria;
            t.owner = owner;
            t.started_at = started;
            t.due_at = due;
            t.notes = notes;
            t.extra = vec![("extra_a".into(), extra[0].clone()), ("zz".into(), extra[1].clone())];
            t
        }
    }

    /// The canonical columns with two extra ones, in a shuffled order.
    fn columns() -> impl Strategy<Value = Vec<String>> {
        let mut cols: Vec<String> = CANONICAL_COLUMNS.iter().map(|c| c.to_string()).collect();
        cols.extend(["extra_a".to_string(), "zz".to_string()]);
        Just(cols).prop_shuffle()
    }

    fn zone() -> impl Strategy<Value = TimeZone> {
        prop_oneof![Just(seoul()), Just(TimeZone::UTC)]
    }

    /// Renders `tasks` as a file (with text around the table) and reads it back.
    fn round_trip(tasks: &mut [Task], cols: &[String], tz: &TimeZone, eol: &str) -> Vec<RowTask<'static>> {
        for (i, t) in tasks.iter_mut().enumerate() {
            t.id = format!("ORCH-{:03}", i + 1);
        }
        let names: Vec<&str> = cols.iter().map(String::as_str).collect();
        let mut doc = crate::queue_md::Document::new(&names);
        doc.prefix = format!("# Queue{eol}{eol}");
        doc.suffix = format!("{eol}- tips{eol}");
        doc.eol = eol.to_string();
        let lines: Vec<String> = tasks.iter().map(|t| render_row(&task_cells(t, cols, tz))).collect();
        let rows: Vec<RowOut<'_>> = lines.iter().map(|l| RowOut::Raw { raw: l, eol }).collect();
        let text = doc.render(&rows);
        let back = parse(&text).expect("a rendered file parses");
        read_rows(&back, tz).expect("a rendered file reads").into_iter().map(RowTask::into_owned).collect()
    }

    proptest! {
        #[test]
        fn rendered_tasks_read_back_as_the_same_tasks(
            mut tasks in prop::collection::vec(task(exact_text().boxed()), 0..12),
            cols in columns(),
            tz in zone(),
            crlf in any::<bool>(),
        ) {
            let rows = round_trip(&mut tasks, &cols, &tz, if crlf { "\r\n" } else { "\n" });
            prop_assert_eq!(rows.len(), tasks.len());
            for (r, t) in rows.iter().zip(&tasks) {
                prop_assert_eq!(&r.id, &t.id);
                prop_assert_eq!(r.status, t.status);
                prop_assert_eq!(r.priority, t.priority);
                prop_assert_eq!(&r.task, &t.task);
                prop_assert_eq!(r.success_criteria.as_deref(), t.success_criteria.as_deref());
                prop_assert_eq!(r.owner.as_deref(), t.owner.as_deref());
                prop_assert_eq!(r.started_at, t.started_at);
                prop_assert_eq!(r.due_at, t.due_at);
                prop_assert_eq!(r.notes.as_deref(), t.notes.as_deref());
                let mut extra = r.extra.clone();
                extra.sort();
                prop_assert_eq!(&extra, &t.extra);
                prop_assert!(r.matches(t));
                // Reading the row into a fresh task gives the task back.
                let mut fresh = Task::new(t.id.clone(), String::new(), Priority::P2, 4, Timestamp::UNIX_EPOCH);
                r.apply_to(&mut fresh);
                prop_assert_eq!(render_row(&task_cells(&fresh, &cols, &tz)), r.raw.clone());
            }
        }

        /// `read_file` reads rows straight from the text; reading them from a parsed
        /// document (`parse_partial`, then `read_rows`) must give the same rows, and
        /// the same problems in the same order, for any file.
        #[test]
        fn reading_a_file_whole_or_from_its_document_agrees(
            rows in prop::collection::vec(messy_row(), 0..10),
            extra in any::<bool>(),
            crlf in any::<bool>(),
        ) {
            let eol = if crlf { "\r\n" } else { "\n" };
            let header = if extra {
                "| id | status | priority | task | started_at_kst | notes | x |"
            } else {
                "| id | status | priority | task | started_at_kst | notes |"
            };
            let mut text = format!("# Q{eol}{eol}{header}{eol}|---|---|---|---|---|---|{}{eol}", if extra { "---|" } else { "" });
            for r in &rows {
                text.push_str(r);
                if extra && r.matches('|').count() >= 7 {
                    text.push_str(" <br>y<br> |");
                }
                text.push_str(eol);
            }
            text.push_str("after");
            let tz = seoul();
            let whole = read_file(&text, &tz).map(|(_, rows)| rows);
            let by_document = crate::queue_md::parse_partial(&text).and_then(|(doc, mut diags)| {
                match read_rows(&doc, &tz) {
                    Ok(rows) if diags.is_empty() => return Ok(rows.into_iter().map(RowTask::into_owned).collect()),
                    Ok(_) => {}
                    Err(more) => diags.extend(more),
                }
                diags.sort_by_key(|d| d.line);
                Err(diags)
            });
            prop_assert_eq!(whole, by_document);
        }

        #[test]
        fn any_task_matches_the_row_written_from_it(
            mut tasks in prop::collection::vec(task(any_text().boxed()), 1..6),
            tz in zone(),
        ) {
            for t in &mut tasks {
                // The task text is required: an empty or `-` one is refused on import.
                if dash_none(&decode_cell(&encode_cell(&t.task))).is_none() {
                    t.task.insert(0, 'x');
                }
            }
            let cols: Vec<String> = CANONICAL_COLUMNS.iter().map(|c| c.to_string()).chain(["extra_a".into()]).collect();
            let rows = round_trip(&mut tasks, &cols, &tz, "\n");
            for (r, t) in rows.iter().zip(&tasks) {
                prop_assert!(r.matches(t), "{:?} vs {:?}", r, t);
                let m = r.merge(r, t);
                prop_assert!(m.conflicts.is_empty());
                prop_assert_eq!(&m.task, t, "merging an untouched row changes nothing");
            }
        }
    }
}

#[test]
fn the_not_before_column_is_a_time_of_the_task_not_an_extra_value() {
    let tz = jiff::tz::TimeZone::get("Asia/Seoul").unwrap();
    let text = "| id | status | priority | task | not_before |\n|---|---|---|---|---|\n\
                | ORCH-001 | PENDING | P1 | later | 2026-03-10 09:00 |\n| ORCH-002 | PENDING | P1 | now | - |\n";
    let (_, rows) = read_file(text, &tz).unwrap();
    let at: Timestamp = "2026-03-10T00:00:00Z".parse().unwrap();
    assert_eq!((rows[0].not_before, rows[1].not_before), (Some(at), None));
    assert!(rows[0].extra.is_empty(), "{:?}", rows[0].extra);
    let mut t = Task::new("ORCH-001".into(), "later".into(), Priority::P1, 3, at);
    assert!(!rows[0].matches(&t));
    rows[0].apply_to(&mut t);
    assert_eq!(t.not_before, Some(at));
    assert!(rows[0].matches(&t));
    let cols: Vec<String> = ["id", "not_before"].iter().map(|c| c.to_string()).collect();
    assert_eq!(task_cells(&t, &cols, &tz), ["ORCH-001", "2026-03-10 09:00"]);
    let bad = "| id | status | priority | task | not_before |\n|---|---|---|---|---|\n| ORCH-001 | PENDING | P1 | x | soon |\n";
    let err = read_file(bad, &tz).unwrap_err();
    assert!(err[0].message.starts_with("not_before: "), "{:?}", err);
}
