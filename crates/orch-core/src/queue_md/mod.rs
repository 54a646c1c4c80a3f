//! The QUEUE.md codec: a pure, line-level reader and writer for the queue file.
//!
//! The file is any text, then one pipe table whose header has at least the columns `id`,
//! `status`, `priority` and `task`, then any text. [`parse`] finds that table and splits
//! the file into a [`Document`]: the bytes before the table, the header and separator
//! lines, one [`RowLine`] per row (its exact text, its line ending and its decoded cells),
//! and the bytes after the table. [`Document::render`] puts a file back together from
//! rows that are either kept exactly as they were read ([`RowOut::Raw`]) or written in
//! canonical form ([`RowOut::Cells`]), so an untouched file round-trips byte for byte.
//!
//! This module works on strings only: it does no I/O, reads no clock, and knows nothing
//! of statuses, priorities, times or ids; turning cells into tasks is the caller's job.
//!
//! Cell values: a cell is trimmed, `\|` is a literal pipe and `<br>` (also `<br/>` and
//! `<br />`) is a newline. [`encode_cell`] is the inverse, with known limits: a value
//! that begins or ends with whitespace loses it (cells are trimmed), a value that
//! contains the text `<br>` itself comes back with a newline in its place, and a `\r\n`
//! or lone `\r` comes back as `\n`. Column names match exactly (case-sensitive).

mod cell;
mod parse;
mod render;
mod same;
mod scan;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub(crate) use cell::RawCell;
pub use cell::{decode_cell, encode_cell, render_row};
pub(crate) use parse::Table;
pub use parse::{parse, parse_partial};
pub use same::same_text;

pub use crate::escape::one_line;

/// One problem found in the file, at a 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}: {message}")]
pub struct Diagnostic {
    /// 1-based line number in the source text.
    pub line: usize,
    /// What is wrong, as a sentence fragment without the line number.
    pub message: String,
}

/// A parsed queue file: the queue table and every byte around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Every byte before the header line, exactly (a byte order mark included).
    pub prefix: String,
    /// 1-based line number of the header line (1 for a [`Document::new`]).
    pub header_line: usize,
    /// The header line, without its line ending.
    pub header_raw: String,
    /// The header line's own ending.
    pub header_eol: String,
    /// The header cell names, decoded like any cell (trimmed), in order.
    pub columns: Vec<String>,
    /// The `|---|---|` line, without its line ending.
    pub separator_raw: String,
    /// The separator line's own ending (`""` if it is the last line of a file without a
    /// final newline).
    pub separator_eol: String,
    /// The table's rows, in file order.
    pub rows: Vec<RowLine>,
    /// Every byte after the last table line (whose ending belongs to that line).
    pub suffix: String,
    /// `"\n"` or `"\r\n"`: the header line's ending, used for every line written anew.
    pub eol: String,
}

/// One row line of the queue table, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowLine {
    /// 1-based source line.
    pub line: usize,
    /// The line exactly, without its line ending.
    pub raw: String,
    /// Its ending: `"\n"`, `"\r\n"` or `""` (last line of a file with no final newline).
    pub eol: String,
    /// Decoded cell values, one per column.
    pub cells: Vec<String>,
}

/// One row line to write with [`Document::render`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowOut<'a> {
    /// Written exactly: `raw`, then `eol` (see [`Document::render`] for an empty `eol`).
    Raw {
        /// The line without its ending.
        raw: &'a str,
        /// Its ending, as read.
        eol: &'a str,
    },
    /// Written canonically with [`render_row`], ended with the document's `eol`.
    Cells(&'a [String]),
}

impl<'a> RowOut<'a> {
    /// The row exactly as it was read.
    pub fn raw(row: &'a RowLine) -> RowOut<'a> {
        RowOut::Raw { raw: &row.raw, eol: &row.eol }
    }
}

impl Document {
    /// The index of the column named `name` (exact, case-sensitive match).
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
}
