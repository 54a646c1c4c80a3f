//! A saved QUEUE.md that could not be imported, said where the person sees it: a block
//! of comment lines orch puts right above the queue table, one per problem
//! (`<!-- orch: not imported: QUEUE.md:12: unknown status 'DOEN' -->`), and the
//! record of the refusal in the store (the problems, and the hash of the file as orch
//! left it), which `check` reads and which tells orch's own write of the block from a
//! person's next save.
//!
//! The block is orch's, never the person's: an import takes its lines off the text
//! before the table before anything is read or kept (so they never become part of the
//! frame), and the next refresh after a clean import writes the file without them.
//! Only the lines are added; every other byte of the file stays as the person saved it.

use orch_core::queue_md::{Document, parse_partial};
use orch_store::Tx;
use serde::{Deserialize, Serialize};

/// How every line of the block starts.
const MARK: &str = "<!-- orch: not imported: ";

/// Whether `line` is a line of orch's block (a person may have indented it).
fn is_line(line: &[u8]) -> bool {
    line.trim_ascii_start().starts_with(MARK.as_bytes())
}

/// Takes the block off the text before `doc`'s table.
pub(super) fn strip(doc: &mut Document) {
    if !doc.prefix.contains(MARK) {
        return;
    }
    doc.prefix = doc.prefix.split_inclusive('\n').filter(|l| !is_line(l.as_bytes())).collect();
}

/// The file `bytes` with a block saying `problems` (`SHOWN:LINE: what`, as an import
/// says them, `shown` being how it named the file) right above its queue table, or at
/// its top when it has none; an earlier block is replaced. Returns the new text and the
/// problems as the block says them: the file called `name`, each line number moved to
/// where that line now is.
pub(super) fn annotate(bytes: &[u8], shown: &str, name: &str, problems: &str) -> (Vec<u8>, Vec<String>) {
    let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
    let header = std::str::from_utf8(bytes).ok().and_then(|t| parse_partial(t).ok()).map(|(doc, _)| doc.header_line);
    // Numbered from 1: the line the block goes before.
    let at = header.unwrap_or_else(|| lines.iter().take_while(|l| is_line(l)).count() + 1);
    let removed: Vec<usize> = (1..at).filter(|&n| lines.get(n - 1).is_some_and(|l| is_line(l))).collect();
    let said: Vec<&str> = problems.lines().filter(|l| !l.trim().is_empty()).collect();
    let added = said.len();
    let moved = |n: usize| {
        let gone = removed.iter().filter(|&&r| r < n).count();
        if n >= at { n - gone + added } else { n - gone }
    };
    let said: Vec<String> = said.iter().map(|p| renumber(p, shown, name, moved)).collect();
    let eol: &[u8] = match lines.get(at.saturating_sub(1)) {
        Some(l) if l.ends_with(b"\r\n") => b"\r\n",
        _ => b"\n",
    };
    let mut out = Vec::with_capacity(bytes.len() + said.iter().map(|p| p.len() + 40).sum::<usize>());
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        if n == at {
            block(&mut out, &said, eol);
        }
        if !removed.contains(&n) {
            out.extend_from_slice(line);
        }
    }
    if at > lines.len() {
        if !out.is_empty() && !out.ends_with(b"\n") {
            out.extend_from_slice(eol);
        }
        block(&mut out, &said, eol);
    }
    (out, said)
}

fn block(out: &mut Vec<u8>, said: &[String], eol: &[u8]) {
    for p in said {
        out.extend_from_slice(MARK.as_bytes());
        // A comment ends at the first `-->`.
        out.extend_from_slice(p.replace("-->", "- ->").as_bytes());
        out.extend_from_slice(b" -->");
        out.extend_from_slice(eol);
    }
}

/// `problem` with its `SHOWN:LINE:` start as `NAME:MOVED:`; any other text as it is.
fn renumber(problem: &str, shown: &str, name: &str, moved: impl Fn(usize) -> usize) -> String {
    let place = problem.strip_prefix(shown).and_then(|rest| rest.strip_prefix(':')).and_then(|rest| {
        let (n, rest) = rest.split_once(':')?;
        Some((n.parse::<usize>().ok()?, rest))
    });
    match place {
        Some((n, rest)) => format!("{name}:{}:{rest}", moved(n)),
        None => match problem.strip_prefix(shown) {
            Some(rest) => format!("{name}{rest}"),
            None => problem.to_string(),
        },
    }
}

/// The refusal of view `view`'s file, as the store keeps it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Refusal {
    /// The hash of the file as orch left it (with the block).
    pub hash: String,
    pub problems: Vec<String>,
}

fn key(view: &str) -> String {
    format!("view.refused:{view}")
}

/// The refusal recorded for view `view`, if one is.
pub(super) fn recorded(tx: &mut dyn Tx, view: &str) -> orch_store::Result<Option<Refusal>> {
    let Some(json) = tx.meta_get(&key(view))?.filter(|j| !j.is_empty()) else { return Ok(None) };
    Ok(serde_json::from_str(&json).ok())
}

/// Records `r` as view `view`'s refusal.
pub(super) fn record(tx: &mut dyn Tx, view: &str, r: &Refusal) -> orch_store::Result<()> {
    tx.meta_set(&key(view), &serde_json::to_string(r).expect("a refusal serialises"))
}

/// Forgets view `view`'s refusal (the file imported since); writes nothing when none is
/// recorded.
pub(super) fn forget(tx: &mut dyn Tx, view: &str) -> orch_store::Result<()> {
    if recorded(tx, view)?.is_some() {
        tx.meta_set(&key(view), "")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str =
        "# Q\n\nintro\n| id | status | priority | task |\n|---|---|---|---|\n| ORCH-001 | DOEN | P1 | a |\n";

    #[test]
    fn the_block_goes_above_the_table_and_lines_are_numbered_in_the_file_written() {
        let (out, said) =
            annotate(FILE.as_bytes(), "/x/QUEUE.md", "QUEUE.md", "/x/QUEUE.md:6: unknown status 'DOEN'\n");
        let out = String::from_utf8(out).unwrap();
        assert_eq!(said, ["QUEUE.md:7: unknown status 'DOEN'"]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[3], "<!-- orch: not imported: QUEUE.md:7: unknown status 'DOEN' -->");
        assert!(lines[6].contains("DOEN |"), "{out}");
        // Again on the file written: the old block is replaced, the numbers hold.
        let (again, said) = annotate(
            out.as_bytes(),
            "/x/QUEUE.md",
            "QUEUE.md",
            "/x/QUEUE.md:7: unknown status 'DOEN'\n/x/QUEUE.md:7: second",
        );
        assert_eq!(said, ["QUEUE.md:8: unknown status 'DOEN'", "QUEUE.md:8: second"]);
        let again = String::from_utf8(again).unwrap();
        assert_eq!(again.lines().filter(|l| l.starts_with(MARK)).count(), 2);
        assert_eq!(again.lines().nth(7).unwrap(), "| ORCH-001 | DOEN | P1 | a |");
        // An import takes the block off.
        let mut doc = orch_core::queue_md::parse(&again).unwrap();
        strip(&mut doc);
        assert_eq!(doc.prefix, "# Q\n\nintro\n");
    }

    #[test]
    fn a_file_without_a_table_gets_the_block_at_its_top_and_a_comment_end_is_broken() {
        let (out, said) = annotate(b"no table", "Q", "QUEUE.md", "Q: no queue table --> here");
        assert_eq!(said, ["QUEUE.md: no queue table --> here"]);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<!-- orch: not imported: QUEUE.md: no queue table - -> here -->\nno table"
        );
        let (out, _) = annotate(b"", "Q", "QUEUE.md", "Q:1: empty");
        assert_eq!(String::from_utf8(out).unwrap(), "<!-- orch: not imported: QUEUE.md:2: empty -->\n");
    }
}
