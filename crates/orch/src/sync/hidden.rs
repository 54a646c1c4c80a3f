//! The line a bounded view (`queue.open_kept`) writes after its table when open tasks
//! are left out: how many, and how to see them. It is text around the table, never a
//! row (it does not start with `|`, and a blank line ends the table before it), and it
//! changes only when the number does. Reading a file takes it off the text after the
//! table, so the frame kept in the store never holds it; an import never reads it as
//! an edit.
//!
//! The number comes from the store's counts (`Tx::task_counts`): the open tasks less
//! the open rows shown.

use orch_core::queue_md::Document;
use orch_core::task::Status;
use orch_store::{Tx, ViewKept};
use std::borrow::Cow;

/// What follows the number on the line.
const TAIL: &str = " not shown here (queue.open_kept); `orch list` or `orch export --all FILE` shows every task._";

/// The line for `n` open tasks left out (no ending).
pub(super) fn line(n: u64) -> String {
    let what = if n == 1 { "open task is" } else { "open tasks are" };
    format!("_{} more {what}{TAIL}", grouped(n))
}

/// Whether `line` is a line [`line`] wrote (a person may have spaced it otherwise).
fn is_line(line: &str) -> bool {
    let line = line.trim();
    let Some(rest) = line.strip_prefix('_') else { return false };
    let digits = rest.bytes().take_while(|b| b.is_ascii_digit() || *b == b',').count();
    digits > 0 && line.ends_with(TAIL)
}

/// `doc` with the line for `n` hidden tasks first in the text after its table (after a
/// blank line, which ends the table); `doc` itself when none is hidden.
pub(super) fn framed(doc: &Document, n: u64) -> Cow<'_, Document> {
    if n == 0 {
        return Cow::Borrowed(doc);
    }
    let mut with = doc.clone();
    with.suffix = format!("{eol}{}{eol}{}", line(n), doc.suffix, eol = doc.eol);
    Cow::Owned(with)
}

/// Takes the line off the text after `doc`'s table, with the blank line before it, as
/// [`framed`] put them there.
pub(super) fn strip(doc: &mut Document) {
    let s = &doc.suffix;
    let first = |s: &str| s.find('\n').map_or(s.len(), |i| i + 1);
    let blank = first(s);
    let skip = if s[..blank].trim().is_empty() && blank < s.len() && is_line(&s[blank..blank + first(&s[blank..])]) {
        blank + first(&s[blank..])
    } else if is_line(&s[..blank]) {
        blank
    } else {
        return;
    };
    doc.suffix = s[skip..].to_string();
}

/// How many open tasks a view of `kept` leaves out when it shows `shown` rows (read in
/// the same transaction): 0 when it keeps them all.
pub(super) fn count(tx: &mut dyn Tx, kept: ViewKept, shown: usize) -> orch_store::Result<u64> {
    if kept.open.is_none() {
        return Ok(0);
    }
    let (mut open, mut done) = (0u64, 0u64);
    for (status, _, n) in tx.task_counts()? {
        if status == Status::Done {
            done += n;
        } else {
            open += n;
        }
    }
    let open_shown = (shown as u64).saturating_sub(done.min(kept.done as u64));
    Ok(open.saturating_sub(open_shown))
}

/// `n` with a comma between groups of three digits (`99,700`).
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use orch_core::queue_md::{RowOut, parse};

    #[test]
    fn the_line_counts_in_groups_and_reads_back() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(99_700), "99,700");
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert!(line(1).starts_with("_1 more open task is not shown here"));
        assert!(is_line(&line(99_700)) && is_line(&line(1)));
        assert!(!is_line("_ more open tasks are not shown here_") && !is_line("| ORCH-1 |"));
    }

    #[test]
    fn the_line_is_text_after_the_table_and_is_taken_off_when_read() {
        let mut doc = parse("# Q\n\n| id | status | priority | task |\n|---|---|---|---|\n\nafter\n").unwrap();
        let row = "| ORCH-1 | PENDING | P1 | x |";
        let text = framed(&doc, 12_345).render(&[RowOut::Raw { raw: row, eol: "\n" }]);
        assert!(text.ends_with(&format!("{row}\n\n{}\n\nafter\n", line(12_345))), "{text}");
        let mut read = parse(&text).unwrap();
        assert_eq!(read.rows.len(), 1, "the line is no row");
        strip(&mut read);
        doc.rows = read.rows.clone();
        assert_eq!(read, doc);
        // A file without the line keeps its text; so does one a person moved it in.
        let before = read.suffix.clone();
        strip(&mut read);
        assert_eq!(read.suffix, before);
        assert_eq!(framed(&doc, 0).suffix, doc.suffix);
    }
}
