//! Cells of the queue table: splitting a row line into cells, decoding and encoding one
//! cell value, writing a canonical row, and recognising a separator row. Pure string
//! work, no I/O.
//!
//! Only ASCII bytes (`|`, `\`, `<`, `\n`, `\r`) are searched for, so every slice taken
//! at their positions falls on a char boundary and Unicode passes through untouched.

/// The spellings of a line break inside a cell that decode to a newline.
const BREAKS: [&str; 3] = ["<br>", "<br/>", "<br />"];

/// Decodes one raw cell: trims it, then turns `\|` into `|` and `<br>` (also `<br/>`,
/// `<br />`) into a newline. Every other byte is kept as is.
pub fn decode_cell(raw: &str) -> String {
    let s = raw.trim();
    // Fast path: most cells hold neither an escape nor a break.
    if memchr::memchr2(b'\\', b'<', s.as_bytes()).is_none() {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(['\\', '<']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("\\|") {
            out.push('|');
            rest = after;
        } else if let Some(after) = BREAKS.iter().find_map(|br| tail.strip_prefix(br)) {
            out.push('\n');
            rest = after;
        } else {
            // A lone `\` or `<`: both are one byte, so `1` is a char boundary.
            out.push_str(&tail[..1]);
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// Encodes one value for a cell: `|` becomes `\|`, and a line break (`\r\n`, `\n`, or a
/// lone `\r`) becomes `<br>`. The value is not trimmed (see the module doc).
pub fn encode_cell(value: &str) -> String {
    if !has_any(value, b'|', b'\n', b'\r') {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len() + 8);
    let mut rest = value;
    while let Some(i) = rest.find(['|', '\n', '\r']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix('|') {
            out.push_str("\\|");
            rest = after;
        } else {
            out.push_str("<br>");
            // `\r\n` is one break; a lone `\n` or `\r` is one byte.
            rest = tail.strip_prefix("\r\n").unwrap_or(&tail[1..]);
        }
    }
    out.push_str(rest);
    out
}

/// A canonical row line, `| a | b | c |`, each value encoded with [`encode_cell`].
/// Values are written as given: the caller passes `-` itself for "none".
pub fn render_row(cells: &[String]) -> String {
    let len: usize = cells.iter().map(|c| c.len() + 3).sum();
    let mut out = String::with_capacity(len + 1);
    out.push('|');
    for cell in cells {
        out.push(' ');
        out.push_str(&encode_cell(cell));
        out.push_str(" |");
    }
    out
}

/// The canonical separator line for `n` columns: `|---|---|`.
pub(crate) fn separator_row(n: usize) -> String {
    let mut out = String::with_capacity(4 * n + 1);
    out.push('|');
    for _ in 0..n {
        out.push_str("---|");
    }
    out
}

/// True if the line is a table line: its first non-blank char is `|`.
pub(crate) fn is_table_line(line: &str) -> bool {
    line.trim_start_matches([' ', '\t']).starts_with('|')
}

/// One cell of a row line as written, before decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawCell<'a> {
    /// The text between the pipes, untrimmed.
    pub text: &'a str,
    /// False if the text holds a `\` or `<`, so decoding may have more to do than trim.
    pub plain: bool,
}

impl<'a> RawCell<'a> {
    /// The decoded value, as [`decode_cell`] gives it.
    pub fn decode(&self) -> String {
        self.value().into_owned()
    }

    /// The decoded value, borrowed from the line when decoding only trims.
    pub fn value(&self) -> std::borrow::Cow<'a, str> {
        if self.plain { self.text.trim().into() } else { decode_cell(self.text).into() }
    }

    /// [`RawCell::value`] trimmed: a decoded break at either end goes too.
    pub fn value_trimmed(&self) -> std::borrow::Cow<'a, str> {
        match self.value() {
            std::borrow::Cow::Owned(v) if v.trim().len() != v.len() => v.trim().to_owned().into(),
            v => v,
        }
    }
}

/// Splits a row line into raw cells on every `|` not preceded by `\`.
/// One leading and one trailing pipe are optional and not cells: `| a | b |` has two.
pub(crate) fn split_cells(line: &str) -> Vec<RawCell<'_>> {
    let mut cells = Vec::new();
    split_cells_into(line, &mut cells);
    cells
}

/// [`split_cells`] into a buffer the caller reuses from row to row (cleared first).
/// One pass over the line finds the pipes and, on the way, the cells that hold a `\` or
/// `<` (the only ones whose decoding does more than trim).
pub(crate) fn split_cells_into<'a>(line: &'a str, cells: &mut Vec<RawCell<'a>>) {
    cells.clear();
    let mut s = line.trim_matches([' ', '\t', '\r']);
    if let Some(rest) = s.strip_prefix('|') {
        s = rest;
    }
    if let Some(rest) = s.strip_suffix('|')
        && !rest.ends_with('\\')
    {
        s = rest;
    }
    let bytes = s.as_bytes();
    let (mut start, mut plain) = (0, true);
    for i in memchr::memchr3_iter(b'|', b'\\', b'<', bytes) {
        match bytes[i] {
            // An escaped pipe: its `\` already marked the cell.
            b'|' if i > 0 && bytes[i - 1] == b'\\' => {}
            b'|' => {
                cells.push(RawCell { text: &s[start..i], plain });
                (start, plain) = (i + 1, true);
            }
            _ => plain = false,
        }
    }
    cells.push(RawCell { text: &s[start..], plain });
}

/// True if `text` holds any of the three bytes (a vector search: this runs over every
/// byte of every value written).
fn has_any(text: &str, a: u8, b: u8, c: u8) -> bool {
    memchr::memchr3(a, b, c, text.as_bytes()).is_some()
}

/// True if `line` is a separator row with exactly `n` cells: each cell is dashes with an
/// optional leading and trailing `:`, at least one dash.
pub(crate) fn is_separator(line: &str, n: usize) -> bool {
    let cells = split_cells(line);
    cells.len() == n && cells.iter().all(|c| is_separator_cell(c.text))
}

fn is_separator_cell(cell: &str) -> bool {
    let c = cell.trim_matches([' ', '\t']);
    let c = c.strip_prefix(':').unwrap_or(c);
    let c = c.strip_suffix(':').unwrap_or(c);
    !c.is_empty() && c.bytes().all(|b| b == b'-')
}
