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

/// Shortens `s` to at most `max` characters on one line.
pub fn clip(s: &str, max: usize) -> String {
    let one_line = s.replace('\n', " ");
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut out: String = one_line.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}
