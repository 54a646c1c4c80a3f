//! Reading QUEUE.md: finds the queue table in a text and splits the text into a
//! [`Document`], collecting every structural problem as a [`Diagnostic`]. Pure string
//! work, no I/O.

use super::cell::{is_separator, is_table_line, split_cells, split_cells_into};
use super::scan::{Fence, Line, Lines};
use super::{Diagnostic, Document, RowLine};
use std::iter::Peekable;

/// The columns a table's header must have to be the queue table.
const REQUIRED: [&str; 4] = ["id", "status", "priority", "task"];

const NO_TABLE: &str = "no queue table (a pipe table whose header has id, status, priority and task)";

/// Parses a queue file.
///
/// The queue table is the first pipe table outside fenced code blocks whose header names
/// include `id`, `status`, `priority` and `task`; it runs over the following lines whose
/// first non-blank char is `|`. Errors are all collected and returned sorted by line:
/// no queue table, a duplicate column name, a row whose cell count differs from the
/// header's. Values are not checked here.
pub fn parse(text: &str) -> Result<Document, Vec<Diagnostic>> {
    match parse_partial(text)? {
        (doc, diags) if diags.is_empty() => Ok(doc),
        (_, diags) => Err(diags),
    }
}

/// [`parse`] that goes on past structural problems: the document holds every row whose
/// cell count is right (so a caller can check their values too), beside the problems
/// found (sorted by line). `Err` only when there is no queue table at all.
pub fn parse_partial(text: &str) -> Result<(Document, Vec<Diagnostic>), Vec<Diagnostic>> {
    // A byte order mark stays in the prefix; lines are scanned after it.
    let body = if text.starts_with('\u{FEFF}') { '\u{FEFF}'.len_utf8() } else { 0 };
    let mut lines = Lines::new(text, body).peekable();
    let mut fence: Option<Fence> = None;
    while let Some(line) = lines.next() {
        if let Some(open) = fence {
            if open.closes(line.content) {
                fence = None;
            }
            continue;
        }
        if let Some(open) = Fence::open(line.content) {
            fence = Some(open);
            continue;
        }
        if !is_table_line(line.content) {
            continue;
        }
        let header = split_cells(line.content);
        let Some(&separator) = lines.peek() else {
            break;
        };
        if !is_separator(separator.content, header.len()) {
            continue;
        }
        lines.next();
        let columns: Vec<String> = header.iter().map(|c| c.decode()).collect();
        if REQUIRED.iter().all(|r| columns.iter().any(|c| c == r)) {
            return read_table(text, line, separator, columns, &mut lines);
        }
        // Another table: its rows are prefix text, never a queue table's header.
        while lines.next_if(|l| is_table_line(l.content)).is_some() {}
    }
    Err(vec![Diagnostic { line: 1, message: NO_TABLE.to_owned() }])
}

/// Reads the queue table's rows after its header and separator, and the suffix.
fn read_table<'a>(
    text: &str,
    header: Line<'a>,
    separator: Line<'a>,
    columns: Vec<String>,
    lines: &mut Peekable<Lines<'a>>,
) -> Result<(Document, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut diagnostics = Vec::new();
    for (i, name) in columns.iter().enumerate() {
        if columns[..i].contains(name) {
            diagnostics.push(Diagnostic { line: header.number, message: format!("duplicate column `{name}`") });
        }
    }
    let mut rows = Vec::new();
    let mut raw = Vec::with_capacity(columns.len() + 1);
    let mut end = separator.end;
    while let Some(line) = lines.next_if(|l| is_table_line(l.content)) {
        end = line.end;
        split_cells_into(line.content, &mut raw);
        if raw.len() != columns.len() {
            diagnostics.push(Diagnostic {
                line: line.number,
                message: format!("expected {} cells, found {}", columns.len(), raw.len()),
            });
            // Its cells cannot be read by column; the other rows still are.
            continue;
        }
        rows.push(RowLine {
            line: line.number,
            raw: line.content.to_owned(),
            eol: line.eol.to_owned(),
            cells: raw.iter().map(|c| c.decode()).collect(),
        });
    }
    diagnostics.sort_by_key(|d| d.line);
    let doc = Document {
        prefix: text[..header.start].to_owned(),
        header_line: header.number,
        header_raw: header.content.to_owned(),
        header_eol: header.eol.to_owned(),
        columns,
        separator_raw: separator.content.to_owned(),
        separator_eol: separator.eol.to_owned(),
        rows,
        suffix: text[end..].to_owned(),
        eol: header.eol.to_owned(),
    };
    Ok((doc, diagnostics))
}
