//! Reading QUEUE.md: finds the queue table in a text and splits the text into a
//! [`Document`], collecting every structural problem as a [`Diagnostic`]. Pure string
//! work, no I/O.
//!
//! [`Table`] reads the queue table row by row without decoding any cell, so a caller
//! that turns rows into something else ([`crate::task_row::read_file`]) decodes only the
//! cells it keeps; [`parse_partial`] is that reader collecting every row whole.

use super::cell::{RawCell, is_separator, is_table_line, split_cells, split_cells_into};
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
    let mut table = Table::find(text)?;
    let mut rows = Vec::new();
    while let Some(row) = table.next_row() {
        rows.push(RowLine {
            line: row.line,
            raw: row.raw.to_owned(),
            eol: row.eol.to_owned(),
            cells: row.cells.iter().map(RawCell::decode).collect(),
        });
    }
    let (mut doc, diagnostics) = table.finish();
    doc.rows = rows;
    Ok((doc, diagnostics))
}

/// One row of the queue table as written, its cells not decoded yet.
pub(crate) struct RawRow<'r, 't> {
    /// 1-based source line.
    pub line: usize,
    /// The line exactly, without its ending.
    pub raw: &'t str,
    /// Its ending (see [`RowLine::eol`]).
    pub eol: &'t str,
    /// One cell per column.
    pub cells: &'r [RawCell<'t>],
}

/// The queue table of a text, read row by row: [`Table::find`] it, take its rows with
/// [`Table::next_row`], then [`Table::finish`] for the document around them.
pub(crate) struct Table<'t> {
    text: &'t str,
    header: Line<'t>,
    separator: Line<'t>,
    columns: Vec<String>,
    lines: Peekable<Lines<'t>>,
    /// Where the table ends so far: just after its last line read.
    end: usize,
    cells: Vec<RawCell<'t>>,
    diagnostics: Vec<Diagnostic>,
}

impl<'t> Table<'t> {
    /// Finds the queue table (see [`parse`]); `Err` when there is none.
    pub fn find(text: &'t str) -> Result<Table<'t>, Vec<Diagnostic>> {
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
            let columns: Vec<String> = header.iter().map(RawCell::decode).collect();
            if REQUIRED.iter().all(|r| columns.iter().any(|c| c == r)) {
                let mut diagnostics = Vec::new();
                for (i, name) in columns.iter().enumerate() {
                    if columns[..i].contains(name) {
                        diagnostics
                            .push(Diagnostic { line: line.number, message: format!("duplicate column `{name}`") });
                    }
                }
                let cells = Vec::with_capacity(columns.len() + 1);
                let end = separator.end;
                return Ok(Table { text, header: line, separator, columns, lines, end, cells, diagnostics });
            }
            // Another table: its rows are prefix text, never a queue table's header.
            while lines.next_if(|l| is_table_line(l.content)).is_some() {}
        }
        Err(vec![Diagnostic { line: 1, message: NO_TABLE.to_owned() }])
    }

    /// The header's column names, decoded.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The next row with as many cells as the header has columns; a row with another
    /// count is a problem, noted, and skipped.
    pub fn next_row(&mut self) -> Option<RawRow<'_, 't>> {
        while let Some(line) = self.lines.next_if(|l| is_table_line(l.content)) {
            self.end = line.end;
            split_cells_into(line.content, &mut self.cells);
            if self.cells.len() == self.columns.len() {
                return Some(RawRow { line: line.number, raw: line.content, eol: line.eol, cells: &self.cells });
            }
            self.diagnostics.push(Diagnostic {
                line: line.number,
                message: format!("expected {} cells, found {}", self.columns.len(), self.cells.len()),
            });
        }
        None
    }

    /// The document (with no rows) once every row is read, and the structural problems
    /// found, sorted by line.
    pub fn finish(mut self) -> (Document, Vec<Diagnostic>) {
        while self.next_row().is_some() {}
        let (header, separator) = (self.header, self.separator);
        self.diagnostics.sort_by_key(|d| d.line);
        for d in &mut self.diagnostics {
            if let std::borrow::Cow::Owned(m) = super::one_line(&d.message) {
                d.message = m;
            }
        }
        let doc = Document {
            prefix: self.text[..header.start].to_owned(),
            header_line: header.number,
            header_raw: header.content.to_owned(),
            header_eol: header.eol.to_owned(),
            columns: self.columns,
            separator_raw: separator.content.to_owned(),
            separator_eol: separator.eol.to_owned(),
            rows: Vec::new(),
            suffix: self.text[self.end..].to_owned(),
            eol: header.eol.to_owned(),
        };
        (doc, self.diagnostics)
    }
}
