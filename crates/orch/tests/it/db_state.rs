//! Reading a project's database and files directly, for the QUEUE.md tests: a
//! fingerprint of everything the database holds (to prove a refused command changed
//! nothing), event counts, line numbers in a text, and running the binary with extra
//! environment.

use crate::common::Project;
use rusqlite::Connection;
use rusqlite::types::ValueRef;

/// Every row of every table that a change touches (tasks, runs, events, meta, and the
/// views with their marks and earlier lines), as one string: equal fingerprints mean an unchanged database.
pub fn fingerprint(p: &Project) -> String {
    let conn = Connection::open(p.file(".orch/orch.db")).expect("open orch.db");
    let mut out = String::new();
    for table in ["tasks", "runs", "events", "meta", "views", "view_rows", "view_history"] {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table} ORDER BY 1")).expect("select");
        let n = stmt.column_count();
        let mut rows = stmt.query([]).expect("query");
        out.push_str(table);
        out.push('\n');
        while let Some(row) = rows.next().expect("row") {
            for i in 0..n {
                match row.get_ref(i).expect("cell") {
                    ValueRef::Text(t) => out.push_str(&String::from_utf8_lossy(t)),
                    other => out.push_str(&format!("{other:?}")),
                }
                out.push('|');
            }
            out.push('\n');
        }
    }
    out
}

/// Events in the database.
pub fn event_count(p: &Project) -> i64 {
    let conn = Connection::open(p.file(".orch/orch.db")).expect("open orch.db");
    conn.query_row("SELECT count(*) FROM events", [], |r| r.get(0)).expect("count events")
}

/// Events in `.orch/events.jsonl`.
pub fn events_file_lines(p: &Project) -> usize {
    std::fs::read_to_string(p.file(".orch/events.jsonl")).map_or(0, |t| t.lines().count())
}

/// The 1-based number of the first line of `text` that contains `needle`.
pub fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("no line with {needle:?}")) + 1
}

/// The line of `text` that starts with `| ID |`.
pub fn row_of<'a>(text: &'a str, id: &str) -> &'a str {
    let start = format!("| {id} |");
    text.lines().find(|l| l.starts_with(&start)).unwrap_or_else(|| panic!("no row {id} in:\n{text}"))
}

/// Runs the binary with extra environment: (exit code, stdout, stderr).
pub fn run_env(p: &Project, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut c = p.orch(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("run orch");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
