//! Printing for the commands: the console's writers (stdout that stops quietly on a
//! closed pipe, clipping) and the human form of times.

pub use crate::console::{Lines, clip, print, print_json};
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

/// The display width of each column's widest cell.
pub fn column_widths(rows: &[Vec<String>]) -> Vec<usize> {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            match widths.get_mut(i) {
                Some(w) => *w = (*w).max(cell.width()),
                None => widths.push(cell.width()),
            }
        }
    }
    widths
}

/// A line of cells whose columns line up on a terminal: every cell but the last padded
/// to its column's width in `widths` ([`column_widths`]), by display width, two spaces
/// between columns. A cell wider than its column pushes the rest of its line along.
pub fn column_line(row: &[String], widths: &[usize]) -> String {
    let mut line = String::new();
    for (i, cell) in row.iter().enumerate() {
        line.push_str(cell);
        if i + 1 < row.len() {
            let w = widths.get(i).copied().unwrap_or(0);
            line.extend(std::iter::repeat_n(' ', w.saturating_sub(cell.width()) + 2));
        }
    }
    line.trim_end().to_string()
}

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
        let widths = column_widths(&rows);
        let lines: Vec<String> = rows.iter().map(|r| column_line(r, &widths)).collect();
        assert_eq!(lines[0], "ORCH-001   PENDING      한국어 작업  me");
        assert_eq!(lines[1], "ORCH-0002  IN_PROGRESS  plain        -");
        let at = |l: &str| l[..l.rfind(' ').unwrap()].width();
        assert_eq!(at(&lines[0]), at(&lines[1]), "the last column starts at one place");
    }
}
