//! Printing for the commands: the console's writers (stdout that stops quietly on a
//! closed pipe, clipping) and the human form of times.

pub use crate::console::{clip, print, print_json};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use unicode_width::UnicodeWidthStr;

/// Prints a result of the API as `--json` shows it (pretty, through a JSON value, so
/// keys keep their order and a key given twice is written once).
pub fn print_value(v: &impl serde::Serialize) -> crate::error::Result<()> {
    let v = serde_json::to_value(v).map_err(|e| crate::error::Error::Io(format!("JSON output: {e}")))?;
    print_json(&v);
    Ok(())
}

pub fn time(t: Option<Timestamp>, tz: &TimeZone) -> String {
    t.map_or_else(|| "-".into(), |t| orch_core::time::format_display_time(t, tz))
}

/// Lines of cells whose columns line up on a terminal: every cell but the last padded
/// to its column's widest cell, by display width, two spaces between columns.
pub fn columns(rows: &[Vec<String>]) -> Vec<String> {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            match widths.get_mut(i) {
                Some(w) => *w = (*w).max(cell.width()),
                None => widths.push(cell.width()),
            }
        }
    }
    rows.iter()
        .map(|row| {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.extend(std::iter::repeat_n(' ', widths[i] - cell.width() + 2));
                }
            }
            line.trim_end().to_string()
        })
        .collect()
}

/// Prints warnings from the after-change steps (events file, view) on stderr.
pub fn warn_all(warnings: &[String]) {
    for w in warnings {
        crate::console::eprint(&format!("orch: warning: {w}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn korean_text_is_two_columns_a_syllable() {
        assert_eq!(clip("가나다라마바사", 9), "가나다라…");
        assert_eq!(clip("abc\ndef", 9), "abc def");
        let rows = vec![
            vec!["ORCH-001".into(), "PENDING".into(), "한국어 작업".into(), "me".into()],
            vec!["ORCH-0002".into(), "IN_PROGRESS".into(), "plain".into(), "-".into()],
        ];
        let lines = columns(&rows);
        assert_eq!(lines[0], "ORCH-001   PENDING      한국어 작업  me");
        assert_eq!(lines[1], "ORCH-0002  IN_PROGRESS  plain        -");
        let at = |l: &str| l[..l.rfind(' ').unwrap()].width();
        assert_eq!(at(&lines[0]), at(&lines[1]), "the last column starts at one place");
    }
}
