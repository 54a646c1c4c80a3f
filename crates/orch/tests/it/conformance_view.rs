//! The store conformance suite, views (`conformance_view::sqlite::*` and
//! `conformance_view::postgres::*`): the rows a view writes, and their tasks' versions
//! alone, each store's own reading of them held to `view_rows` through every way a
//! queue is read (by key, or by scans when the view shows most of the queue), in read
//! and write transactions alike; a mark looked up by key; and the lines a view showed
//! of a task before its mark's, kept as marks move on, bounded, forgotten with the mark. The frame (`Env`, the
//! `conformance!` macro) is in `conformance.rs`.

use crate::conformance::{Env, Kind};
use jiff::SignedDuration;
use orch_core::task::{Priority, Status, Task};
use orch_store::{Backend, Tx, VIEW_HISTORY_KEPT, ViewHistory, ViewKept, ViewMark, ViewRow};

conformance! {
    tx_view_lines_are_the_view_rows_as_the_view_writes_them,
    tx_a_mark_is_looked_up_by_key,
    tx_a_view_keeps_the_lines_it_showed_before_a_bounded_number,
}

fn mark(version: i64, line: &str) -> ViewMark {
    ViewMark { version, line: line.into(), eol: "\n".into() }
}

/// Tasks open and DONE (finished out of order, two at one instant), at versions 1 to
/// 3, with marks in view `v` that show their current version, an older one, or none,
/// and marks in another view.
fn queue(env: &Env) -> Vec<Task> {
    use Status::*;
    let t0 = env.now();
    let plan = [
        (Done, 10, 1),
        (Pending, 0, 2),
        (Done, 30, 3),
        (Done, 20, 1),
        (Blocked, 0, 1),
        (Done, 40, 2),
        (Done, 40, 1),
        (Failed, 0, 3),
        (InProgress, 0, 1),
        (Done, 5, 1),
    ];
    let tasks: Vec<Task> = plan
        .iter()
        .enumerate()
        .map(|(i, (status, at, version))| {
            let mut t = Task::new(format!("ORCH-{:03}", i + 1), format!("작업 {i}"), Priority::P1, 4, t0);
            t.status = *status;
            t.updated_at = t0 + SignedDuration::from_secs(*at);
            t.version = *version;
            t
        })
        .collect();
    orch_store::write(env.db(), |tx| {
        for (i, t) in tasks.iter().enumerate() {
            tx.task_insert(t)?;
            let line = format!("| {} | 행 {i} |", t.id);
            match i % 3 {
                0 => tx.view_mark_set("v", &t.id, &mark(t.version, &line))?,
                1 => tx.view_mark_set("v", &t.id, &mark(t.version - 1, &line))?,
                _ => {}
            }
            tx.view_mark_set("w", &t.id, &mark(t.version, "| other view |"))?;
        }
        Ok(())
    })
    .unwrap();
    tasks
}

/// `view_lines` against `view_rows`, for every `done_kept` up to all, with and without
/// a bound on open rows (tight, loose, none), through the
/// queue's own handle and another connection (in `*_masked`, both behind the masking
/// wrapper, whose write transactions are its own), in read and write transactions.
fn same_as_view_rows(env: &Env) {
    let plain = env.backend();
    let backends: [&dyn Backend; 2] = [env.db(), plain.as_ref()];
    let bounds = [None, Some(1), Some(2), Some(4), Some(50)];
    for (open, done) in bounds.into_iter().flat_map(|o| (0..=8).map(move |k| (o, k))) {
        let kept = ViewKept { open, done };
        let want: Vec<ViewRow> = orch_store::read(env.db(), |tx| tx.view_rows("v", kept))
            .unwrap()
            .into_iter()
            .map(|(t, m)| ViewRow::of(t, m))
            .collect();
        let versions: Vec<(String, i64)> = want.iter().map(|r| (r.id().to_string(), r.version())).collect();
        for db in backends {
            let read = orch_store::read(db, |tx| tx.view_lines("v", kept)).unwrap();
            assert_eq!(read, want, "{kept:?}, read");
            let written = orch_store::write(db, |tx| tx.view_lines("v", kept)).unwrap();
            assert_eq!(written, want, "{kept:?}, in a write transaction");
            assert_eq!(orch_store::read(db, |tx| tx.view_versions(kept)).unwrap(), versions, "{kept:?}");
            assert_eq!(orch_store::write(db, |tx| tx.view_versions(kept)).unwrap(), versions, "{kept:?}");
        }
        // A kept row is its mark's line.
        for r in &want {
            if let ViewRow::Kept { id, mark } = r {
                let n: usize = id[5..].parse().unwrap();
                assert_eq!(mark.line, format!("| {id} | 행 {} |", n - 1));
            }
        }
    }
}

fn tx_view_lines_are_the_view_rows_as_the_view_writes_them(env: &Env) {
    queue(env);
    // Six of ten tasks DONE: a view keeping none of them shows less than half the queue
    // (read by key), one keeping some shows at least half (read by scans).
    same_as_view_rows(env);
    // Every task shown: a mark of the current version is the row; an older mark, or
    // none, leaves the task to be written anew.
    let all = orch_store::read(env.db(), |tx| tx.view_lines("v", ViewKept::all_open(10))).unwrap();
    let shape: Vec<(&str, bool, bool)> =
        all.iter().map(|r| (r.id(), matches!(r, ViewRow::Kept { .. }), r.mark().is_some())).collect();
    assert_eq!(
        shape,
        [
            ("ORCH-001", true, true),
            ("ORCH-002", false, true),
            ("ORCH-003", false, false),
            ("ORCH-004", true, true),
            ("ORCH-005", false, true),
            ("ORCH-006", false, false),
            ("ORCH-007", true, true),
            ("ORCH-008", false, true),
            ("ORCH-009", false, false),
            ("ORCH-010", true, true),
        ]
    );
    // The view keeps the newest DONE tasks: with two, those finished last (of the two
    // finished at one instant, the later in queue order wins the tie).
    let two: Vec<String> = orch_store::read(env.db(), |tx| tx.view_lines("v", ViewKept::all_open(2)))
        .unwrap()
        .iter()
        .map(|r| r.id().to_string())
        .collect();
    assert_eq!(two, ["ORCH-002", "ORCH-005", "ORCH-006", "ORCH-007", "ORCH-008", "ORCH-009"]);
    // Two more open tasks: now a view keeping no DONE task shows half the queue too.
    orch_store::write(env.db(), |tx| {
        for n in [11, 12] {
            let mut t = Task::new(format!("ORCH-{n:03}"), "더".into(), Priority::P2, 4, env.now());
            t.version = 1;
            tx.task_insert(&t)?;
        }
        tx.view_mark_set("v", "ORCH-012", &mark(1, "| ORCH-012 | 행 11 |"))
    })
    .unwrap();
    same_as_view_rows(env);
    // The view showed all but one at their current versions: the one left is read
    // alone.
    let tasks = orch_store::read(env.db(), |tx| tx.task_list(&Default::default())).unwrap();
    orch_store::write(env.db(), |tx| {
        for t in tasks.iter().filter(|t| t.id != "ORCH-008") {
            let n: usize = t.id[5..].parse().unwrap();
            tx.view_mark_set("v", &t.id, &mark(t.version, &format!("| {} | 행 {} |", t.id, n - 1)))?;
        }
        Ok(())
    })
    .unwrap();
    same_as_view_rows(env);
    let changed: Vec<String> = orch_store::read(env.db(), |tx| tx.view_lines("v", ViewKept::all_open(10)))
        .unwrap()
        .into_iter()
        .filter_map(|r| match r {
            ViewRow::Changed { task, .. } => Some(task.id),
            ViewRow::Kept { .. } => None,
        })
        .collect();
    assert_eq!(changed, ["ORCH-008"]);
}

fn tx_a_mark_is_looked_up_by_key(env: &Env) {
    let tasks = queue(env);
    let plain = env.backend();
    for db in [env.db(), plain.as_ref()] {
        for view in ["v", "w", "nobody"] {
            let all = orch_store::read(db, |tx| tx.view_marks(view)).unwrap();
            for t in &tasks {
                let one = |tx: &mut dyn Tx| tx.view_mark(view, &t.id);
                assert_eq!(orch_store::read(db, one).unwrap().as_ref(), all.get(&t.id), "{view} {}", t.id);
                assert_eq!(orch_store::write(db, one).unwrap().as_ref(), all.get(&t.id), "{view} {}", t.id);
            }
        }
        assert_eq!(orch_store::read(db, |tx| tx.view_mark("v", "ORCH-999")).unwrap(), None);
    }
}

fn tx_a_view_keeps_the_lines_it_showed_before_a_bounded_number(env: &Env) {
    let history = |view: &str, id: &str| orch_store::read(env.db(), |tx| tx.view_history(view, id)).unwrap();
    let set =
        |view: &str, id: &str, m: ViewMark| orch_store::write(env.db(), |tx| tx.view_mark_set(view, id, &m)).unwrap();
    let lines = |h: &ViewHistory| h.lines.iter().map(|(v, l)| (*v, l.clone())).collect::<Vec<_>>();
    assert_eq!(history("v", "ORCH-001"), ViewHistory::default(), "a task never shown");
    set("v", "ORCH-001", mark(1, "| a |"));
    assert_eq!(history("v", "ORCH-001"), ViewHistory::default(), "the mark's own line is not an earlier one");
    // The same line at a newer version keeps nothing; another line keeps the one before.
    set("v", "ORCH-001", mark(2, "| a |"));
    set("v", "ORCH-001", mark(3, "| b |"));
    set("v", "ORCH-001", mark(5, "| 행 c |"));
    assert_eq!(lines(&history("v", "ORCH-001")), [(3, "| b |".to_string()), (2, "| a |".to_string())]);
    // A line shown again moves up to its newest version, once.
    set("v", "ORCH-001", mark(6, "| a |"));
    set("v", "ORCH-001", mark(7, "| d |"));
    let h = history("v", "ORCH-001");
    assert_eq!(lines(&h), [(6, "| a |".into()), (5, "| 행 c |".into()), (3, "| b |".into())]);
    assert!(!h.forgotten);
    // Other views and tasks have their own; the plain connection reads the same, in a
    // write transaction too.
    assert_eq!(history("w", "ORCH-001"), ViewHistory::default());
    assert_eq!(history("v", "ORCH-002"), ViewHistory::default());
    let plain = env.backend();
    assert_eq!(orch_store::read(plain.as_ref(), |tx| tx.view_history("v", "ORCH-001")).unwrap(), h);
    assert_eq!(orch_store::write(plain.as_ref(), |tx| tx.view_history("v", "ORCH-001")).unwrap(), h);
    // The bound: the newest VIEW_HISTORY_KEPT lines stay, and the view says it dropped some.
    let n = i64::try_from(VIEW_HISTORY_KEPT).unwrap() + 5;
    for v in 1..=n {
        set("v", "ORCH-002", mark(v, &format!("| line {v} |")));
    }
    let h = history("v", "ORCH-002");
    assert_eq!(h.lines.len(), VIEW_HISTORY_KEPT);
    assert_eq!(h.lines[0], (n - 1, format!("| line {} |", n - 1)));
    assert_eq!(h.lines.last().unwrap().0, n - i64::try_from(VIEW_HISTORY_KEPT).unwrap());
    assert!(h.forgotten);
    // A view renamed takes its history along.
    orch_store::write(env.db(), |tx| tx.view_rename("v", "v2")).unwrap();
    assert_eq!(history("v", "ORCH-002"), ViewHistory::default());
    assert_eq!(history("v2", "ORCH-002"), h);
    // A mark forgotten (its line emptied) forgets the lines before it.
    set("v2", "ORCH-002", ViewMark { version: -1, line: String::new(), eol: String::new() });
    assert_eq!(history("v2", "ORCH-002"), ViewHistory::default());
    assert_eq!(lines(&history("v2", "ORCH-001")).len(), 3, "other tasks keep theirs");
}
