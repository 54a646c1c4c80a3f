//! What every front end and the dispatcher's progress lines print through: stdout that
//! stops quietly when the reader goes away (`orch list | head`), and text clipped for a
//! table cell or a log line. It decides nothing; it only writes.

use std::io::Write;

/// Prints a line; a closed pipe ends the process quietly with success.
pub fn print(s: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{s}").and_then(|_| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("orch: stdout: {e}");
        std::process::exit(1);
    }
}

pub fn print_json(v: &serde_json::Value) {
    print(&serde_json::to_string_pretty(v).expect("JSON values serialise"));
}

/// Shortens `s` to one line of at most `max` terminal columns for a table cell or a log
/// line (a Korean syllable takes two columns, as terminals draw it).
pub fn clip(s: &str, max: usize) -> String {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    let one_line = s.replace('\n', " ");
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
