//! What counts as formatting in a queue file's frame (the table's header and separator
//! and the text around the table), as against what it says. Pure string work, no I/O.
//!
//! Formatting: the spacing of the header's cells and whether its outer pipes are
//! written, the separator's dashes, padding and alignment marks (`|---|`, `| --- |`,
//! `|:---:|`), line endings, a byte order mark, blanks at the end of a line and blank
//! lines in the text around the table (Markdown formatters add one after a heading).
//! Content: the column names and their order, and every other character of the text
//! around the table. A row's cells are compared by value, by
//! [`crate::task_row::RowTask::same_values`].

use super::Document;

/// Whether two texts around a table say the same: compared line by line, with line
/// endings, blanks at the end of each line and blank lines set aside.
pub fn same_text(a: &str, b: &str) -> bool {
    text_lines(a).eq(text_lines(b))
}

/// The lines of `text` that hold something, each without its trailing blanks.
fn text_lines(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n').map(str::trim_end).filter(|l| !l.is_empty())
}

impl Document {
    /// Whether this document's frame says what `other`'s does: the same column names in
    /// the same order and the same text around the table ([`same_text`]; a byte order
    /// mark at the start of the file aside). How the header and the separator are
    /// spaced, padded or aligned is formatting.
    pub fn same_frame(&self, other: &Document) -> bool {
        // A byte order mark starts the file, so the text before the table.
        let prefix = |d: &'_ Document| d.prefix.strip_prefix('\u{FEFF}').unwrap_or(&d.prefix).to_owned();
        self.columns == other.columns
            && same_text(&prefix(self), &prefix(other))
            && same_text(&self.suffix, &other.suffix)
    }
}
