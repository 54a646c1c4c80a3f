//! Writing QUEUE.md: builds a new [`Document`] and assembles a file from a document and
//! a list of row lines, raw or canonical. Pure string work, no I/O.

use super::cell::{render_row, separator_row};
use super::{Document, RowOut};

impl Document {
    /// A new document holding only a table with these columns: canonical header
    /// (`| id | status |`) and separator (`|---|---|`), `"\n"` endings, prefix and suffix
    /// empty, no rows.
    pub fn new(columns: &[&str]) -> Document {
        let columns: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
        Document {
            prefix: String::new(),
            header_line: 1,
            header_raw: render_row(&columns),
            header_eol: "\n".to_owned(),
            separator_raw: separator_row(columns.len()),
            separator_eol: "\n".to_owned(),
            columns,
            rows: Vec::new(),
            suffix: String::new(),
            eol: "\n".to_owned(),
        }
    }

    /// Assembles the file: prefix, header, separator, then the given row lines in order,
    /// then suffix.
    ///
    /// Each [`RowOut::Raw`] is written exactly with its own ending; a [`RowOut::Cells`] is
    /// written canonically with `self.eol`. A line whose ending is `""` (it was the end of
    /// the file) gets `self.eol` when anything follows it, so lines never join.
    pub fn render(&self, rows: &[RowOut<'_>]) -> String {
        let row_bytes: usize = rows
            .iter()
            .map(|r| match r {
                RowOut::Raw { raw, eol } => raw.len() + eol.len(),
                RowOut::Cells(cells) => cells.iter().map(|c| c.len() + 3).sum::<usize>() + 3,
            })
            .sum();
        let mut out = Writer {
            out: String::with_capacity(
                self.prefix.len()
                    + self.header_raw.len()
                    + self.separator_raw.len()
                    + self.suffix.len()
                    + row_bytes
                    + 8,
            ),
            eol: &self.eol,
            unended: false,
        };
        out.out.push_str(&self.prefix);
        out.line(&self.header_raw, &self.header_eol);
        out.line(&self.separator_raw, &self.separator_eol);
        for row in rows {
            match row {
                RowOut::Raw { raw, eol } => out.line(raw, eol),
                RowOut::Cells(cells) => out.line(&render_row(cells), &self.eol),
            }
        }
        if !self.suffix.is_empty() {
            out.end_line();
            out.out.push_str(&self.suffix);
        }
        out.out
    }
}

/// The output of [`Document::render`], remembering whether the last line lacks an ending.
struct Writer<'a> {
    out: String,
    eol: &'a str,
    unended: bool,
}

impl Writer<'_> {
    /// Ends the previous line if it was written without an ending.
    fn end_line(&mut self) {
        if self.unended {
            self.out.push_str(self.eol);
            self.unended = false;
        }
    }

    fn line(&mut self, raw: &str, eol: &str) {
        self.end_line();
        self.out.push_str(raw);
        self.out.push_str(eol);
        self.unended = eol.is_empty();
    }
}
