//! Line scanning for the QUEUE.md codec: an iterator over the lines of a text that keeps
//! each line's exact ending and byte offsets, and the fenced-code-block rules used to
//! skip tables shown as examples. Pure string work, no I/O.

/// One line of the source text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line<'a> {
    /// 1-based line number.
    pub number: usize,
    /// Byte offset of the line's first byte.
    pub start: usize,
    /// The line without its ending.
    pub content: &'a str,
    /// `"\n"`, `"\r\n"` or `""` (last line without a final newline).
    pub eol: &'a str,
    /// Byte offset just after the line's ending.
    pub end: usize,
}

/// The lines of `text` from byte offset `start` on, numbered from 1.
/// Only `\n` ends a line; a `\r` just before it is part of the ending.
#[derive(Debug, Clone)]
pub(crate) struct Lines<'a> {
    text: &'a str,
    pos: usize,
    number: usize,
}

impl<'a> Lines<'a> {
    pub fn new(text: &'a str, start: usize) -> Self {
        Lines { text, pos: start, number: 0 }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = Line<'a>;

    fn next(&mut self) -> Option<Line<'a>> {
        if self.pos >= self.text.len() {
            return None;
        }
        let start = self.pos;
        let rest = &self.text[start..];
        let (content, eol) = match memchr::memchr(b'\n', rest.as_bytes()) {
            Some(nl) => match rest[..nl].strip_suffix('\r') {
                Some(content) => (content, &rest[nl - 1..=nl]),
                None => (&rest[..nl], &rest[nl..=nl]),
            },
            None => (rest, ""),
        };
        self.number += 1;
        self.pos = start + content.len() + eol.len();
        Some(Line { number: self.number, start, content, eol, end: self.pos })
    }
}

/// An open fenced code block: its fence char and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fence {
    ch: u8,
    len: usize,
}

impl Fence {
    /// The fence this line opens, if any: up to 3 spaces, then 3 or more backticks or
    /// tildes (a backtick fence's info string may not contain a backtick).
    pub fn open(line: &str) -> Option<Fence> {
        let (ch, len, rest) = fence_run(line)?;
        if ch == b'`' && rest.contains('`') {
            return None;
        }
        Some(Fence { ch, len })
    }

    /// True if this line closes the fence: up to 3 spaces, at least as many of the same
    /// char, then only blanks.
    pub fn closes(&self, line: &str) -> bool {
        match fence_run(line) {
            Some((ch, len, rest)) => ch == self.ch && len >= self.len && rest.trim_matches([' ', '\t']).is_empty(),
            None => false,
        }
    }
}

/// The run of 3 or more fence chars that starts `line` after at most 3 spaces:
/// the char, the run's length and what follows it.
fn fence_run(line: &str) -> Option<(u8, usize, &str)> {
    let body = line.trim_start_matches(' ');
    if line.len() - body.len() > 3 {
        return None;
    }
    let ch = *body.as_bytes().first()?;
    if ch != b'`' && ch != b'~' {
        return None;
    }
    let len = body.bytes().take_while(|&b| b == ch).count();
    (len >= 3).then_some((ch, len, &body[len..]))
}
