//! What every front end and the dispatcher's progress lines print through: stdout that
//! stops quietly when the reader goes away (`orch list | head`), text clipped for a
//! table cell or a log line, and the one escaping of control characters. It decides
//! nothing; it only writes.
//!
//! Text that came from a person or a worker (a task's text, notes, owner, a reason, a
//! file's content quoted in an error) may hold terminal controls: ESC sequences that
//! clear the screen or set the window title, a CR that lets later text overwrite the
//! line, bidirectional overrides that show text in another order than it is stored.
//! Every text line ([`print()`], [`eprint()`]) goes through [`escape_controls`], which shows
//! them as visible escapes (`\x1b`, `\r`, `\u{202e}`); Korean and every other printable
//! character pass unchanged. JSON ([`print_json`], [`print_json_line`]) keeps its own
//! escaping (serde escapes C0 controls), and the few controls it leaves raw (DEL, C1,
//! bidirectional overrides) are written as `\u` escapes, which read back as the same
//! string.

use orch_core::escape::is_control;
use std::borrow::Cow;
use std::io::Write;

/// `s` with every control character shown as a visible escape (the core's one escaping).
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    orch_core::escape::controls(s)
}

/// Whether stdout goes to the systemd journal: `JOURNAL_STREAM` set (systemd sets it
/// for a service whose output it logs) and stdout no terminal. Lines then carry an
/// sd-daemon priority prefix (`<6>`, `<4>`, `<3>`), which the journal reads as the level.
pub fn journal() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("JOURNAL_STREAM").is_some_and(|v| !v.is_empty()) && !std::io::stdout().is_terminal()
}

/// Prints a line, its control characters escaped; a closed pipe ends the process
/// quietly with success.
pub fn print(s: &str) {
    write_line(&escape_controls(s));
}

/// Prints a line on stderr (an error, a warning), its control characters escaped.
pub fn eprint(s: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{}", escape_controls(s));
}

pub fn print_json(v: &serde_json::Value) {
    print_json_line(&serde_json::to_string_pretty(v).expect("JSON values serialise"));
}

/// Prints JSON text as `json_safe` makes it.
pub fn print_json_line(json: &str) {
    write_line(&json_safe(json));
}

/// JSON text as it is but for the controls serde leaves raw, written as `\u` escapes
/// (they can only stand inside a JSON string, so the value is the same).
fn json_safe(json: &str) -> Cow<'_, str> {
    if !json.chars().any(is_control_json) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        if is_control_json(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// What serde_json writes raw that a terminal would act on.
fn is_control_json(c: char) -> bool {
    is_control(c) && c as u32 >= 0x7f
}

/// Writes text orch generated itself, holding no person's text (a completion script, a
/// man page), exactly as it is; a closed pipe ends the process quietly with success.
pub fn print_verbatim(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(bytes).and_then(|_| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("orch: stdout: {e}");
        std::process::exit(1);
    }
}

fn write_line(s: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{s}").and_then(|_| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("orch: stdout: {e}");
        std::process::exit(1);
    }
}

/// Many lines to stdout (a long listing): buffered and written a block at a time, not
/// flushed line by line; escaped as [`print()`] and [`print_json_line`] escape. A closed
/// pipe ends the process quietly with success, as for [`print()`]. Call [`Lines::finish`]
/// at the end.
pub struct Lines {
    out: std::io::BufWriter<std::io::StdoutLock<'static>>,
}

impl Default for Lines {
    fn default() -> Self {
        Lines { out: std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock()) }
    }
}

impl Lines {
    /// A line of text, its control characters escaped.
    pub fn text(&mut self, s: &str) {
        let line = escape_controls(s);
        self.write(&line);
    }

    /// JSON text (one or more lines) as [`print_json_line`] writes it.
    pub fn json(&mut self, json: &str) {
        let safe = json_safe(json);
        self.write(&safe);
    }

    fn write(&mut self, s: &str) {
        if let Err(e) = writeln!(self.out, "{s}") {
            stdout_failed(&e);
        }
    }

    /// Writes what is buffered.
    pub fn finish(mut self) {
        if let Err(e) = self.out.flush() {
            stdout_failed(&e);
        }
    }
}

fn stdout_failed(e: &std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("orch: stdout: {e}");
    std::process::exit(1);
}

/// Shortens `s` to one line of at most `max` terminal columns for a table cell or a log
/// line (a Korean syllable takes two columns, as terminals draw it), its control
/// characters escaped first.
pub fn clip(s: &str, max: usize) -> String {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    let one_line = escape_controls(s).replace(['\n', '\t'], " ");
    if one_line.width() <= max {
        return one_line;
    }
    let mut out = String::new();
    let mut used = 0;
    for c in one_line.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > max {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_shown_as_escapes_and_printable_text_is_kept() {
        let evil = "evil \x1b[2J\x1b]0;TITLE\x07\rOVERWRITE\x08\x7f\u{9b}31m \u{202e}txt.exe\u{2066}";
        let shown = escape_controls(evil);
        assert_eq!(shown, "evil \\x1b[2J\\x1b]0;TITLE\\x07\\rOVERWRITE\\x08\\x7f\\u{9b}31m \\u{202e}txt.exe\\u{2066}");
        assert!(!shown.chars().any(is_control), "{shown}");
        assert_eq!(escape_controls(&shown), shown, "escaping twice changes nothing");
        for fine in ["한국어 작업 ✓ — \"quoted\" \\x1b", "line\nbreak\tand tab", "é ü ß 日本 🚀"] {
            assert!(matches!(escape_controls(fine), Cow::Borrowed(_)), "{fine}");
        }
        assert_eq!(clip("a\x1bb\tc\nd", 20), "a\\x1bb c d");
    }

    #[test]
    fn json_keeps_its_value_with_the_raw_controls_escaped() {
        let v = serde_json::json!({"t": "a\u{9b}b\u{7f}c\u{202e}d\x1be 한"});
        let out = json_safe(&serde_json::to_string(&v).unwrap()).into_owned();
        assert!(!out.chars().any(is_control), "{out}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap(), v);
    }
}
