//! The one escaping of control characters in text shown to people: terminal output and
//! messages that quote a value. Text from a person or a worker may hold ESC sequences
//! (clear the screen, set the window title), a CR that lets later text overwrite the
//! line, or bidirectional overrides that show text in another order than it is stored;
//! each is shown as a visible escape instead. Korean and every other printable character
//! pass unchanged, and a backslash is kept as it is, so escaping twice changes nothing.

use std::borrow::Cow;

/// Whether `c` is escaped: C0 controls, DEL, C1 controls (U+0080–U+009F), and the
/// bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069).
/// Line feed and tab only where [`one_line`] asks.
fn escaped(c: char, lines: bool) -> bool {
    if c == '\n' || c == '\t' {
        return !lines;
    }
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Whether [`controls`] escapes `c`.
pub fn is_control(c: char) -> bool {
    escaped(c, true)
}

fn escape(s: &str, lines: bool) -> Cow<'_, str> {
    if !s.chars().any(|c| escaped(c, lines)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            c if !escaped(c, lines) => out.push(c),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    Cow::Owned(out)
}

/// `s` with every control character but line feed and tab shown as a visible escape:
/// `\r`, `\xNN` for the other C0 controls and DEL, `\u{NNNN}` for the rest.
pub fn controls(s: &str) -> Cow<'_, str> {
    escape(s, true)
}

/// [`controls`], line feeds and tabs escaped too (`\n`, `\t`): a message quoting a value
/// stays on one line.
pub fn one_line(s: &str) -> Cow<'_, str> {
    escape(s, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_become_visible_and_the_rest_passes() {
        assert_eq!(controls("a\x1b[2J\x07\r\x7f b"), "a\\x1b[2J\\x07\\r\\x7f b");
        assert_eq!(controls("\u{9b}31m \u{202e}x\u{2066}"), "\\u{9b}31m \\u{202e}x\\u{2066}");
        assert_eq!(controls("한국어\n\tok \\x1b"), "한국어\n\tok \\x1b");
        assert!(matches!(controls("plain 작업"), Cow::Borrowed(_)));
        assert_eq!(controls(&controls("\x1b")), "\\x1b");
    }

    #[test]
    fn one_line_escapes_line_breaks_too() {
        assert_eq!(one_line("DO\nNE\t\x1b"), "DO\\nNE\\t\\x1b");
    }
}
