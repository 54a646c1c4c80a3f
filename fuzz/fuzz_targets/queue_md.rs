//! Fuzz target for the QUEUE.md codec: any text that parses renders back byte for byte;
//! reading a file's rows never panics, and its problems are each one line, in line order;
//! rows read cleanly, written again canonically, read back as the same tasks (as the
//! file shows them), and writing them a second time changes nothing.

#![no_main]

use jiff::Timestamp;
use jiff::tz::TimeZone;
use libfuzzer_sys::fuzz_target;
use orch_core::queue_md::{Document, RowOut, parse, parse_partial, render_row};
use orch_core::task::{Priority, Task};
use orch_core::task_row::{read_file, read_rows, task_cells};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(doc) = parse(text) {
        let raw: Vec<RowOut<'_>> = doc.rows.iter().map(RowOut::raw).collect();
        assert_eq!(doc.render(&raw), text, "parse → render is byte-identical");
        assert!(doc.rows.iter().all(|r| r.cells.len() == doc.columns.len()));
    }
    if let Ok((doc, _)) = parse_partial(text) {
        let _ = read_rows(&doc, &TimeZone::UTC);
    }
    let tz = TimeZone::UTC;
    let (doc, rows) = match read_file(text, &tz) {
        Ok(read) => read,
        Err(diags) => {
            assert!(!diags.is_empty());
            assert!(diags.is_sorted_by_key(|d| d.line));
            for d in &diags {
                assert!(!d.message.contains(['\n', '\r']), "one line: {:?}", d.message);
            }
            return;
        }
    };
    // Every row read cleanly, as a task, written canonically under the file's columns.
    let tasks: Vec<Task> = rows
        .iter()
        .map(|r| {
            let mut t = Task::new(r.id.to_string(), String::new(), Priority::P2, 3, Timestamp::UNIX_EPOCH);
            r.apply_to(&mut t);
            t
        })
        .collect();
    let first = written(&doc, &tasks, &tz);
    let (doc2, rows2) = read_file(&first, &tz).unwrap_or_else(|e| panic!("a written file reads: {e:?}\n{first}"));
    assert_eq!(rows2.len(), tasks.len());
    for (r, t) in rows2.iter().zip(&tasks) {
        assert!(r.matches(t), "{r:?} vs {t:?}");
    }
    let again: Vec<Task> = rows2
        .iter()
        .map(|r| {
            let mut t = Task::new(r.id.to_string(), String::new(), Priority::P2, 3, Timestamp::UNIX_EPOCH);
            r.apply_to(&mut t);
            t
        })
        .collect();
    assert_eq!(written(&doc2, &again, &tz), first, "writing what was read back changes nothing");
});

/// `doc` with `tasks` as canonical rows.
fn written(doc: &Document, tasks: &[Task], tz: &TimeZone) -> String {
    let cells: Vec<Vec<String>> = tasks.iter().map(|t| task_cells(t, &doc.columns, tz)).collect();
    let lines: Vec<String> = cells.iter().map(|c| render_row(c)).collect();
    let rows: Vec<RowOut<'_>> = lines.iter().map(|l| RowOut::Raw { raw: l, eol: &doc.eol }).collect();
    doc.render(&rows)
}
