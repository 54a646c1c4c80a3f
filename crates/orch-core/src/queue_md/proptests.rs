//! Property tests of the QUEUE.md codec: random documents written with canonical rows
//! parse back to the same cells, and any text that parses renders back to the same
//! bytes. No I/O.

use super::*;
use proptest::prelude::*;

const REQUIRED: [&str; 4] = ["id", "status", "priority", "task"];

/// A line of free text that is neither a table line nor a fence: its first char is not
/// `|`, a blank, a backtick or a tilde.
fn text_line() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just(String::new()),
        4 => "[^|`~ \t\r\n][^\r\n]{0,30}",
    ]
}

/// A cell value that round-trips: no control chars but `\n`, no leading or trailing
/// whitespace, no `<br` (which would decode to a newline).
fn cell_value() -> impl Strategy<Value = String> {
    prop::collection::vec("\\PC{0,12}", 1..4).prop_map(|parts| {
        let joined = parts.join("\n").replace("<br", "<_br");
        joined.trim().to_owned()
    })
}

fn eol() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("\n"), Just("\r\n")]
}

fn columns() -> impl Strategy<Value = Vec<String>> {
    prop::collection::btree_set("[a-z_]{1,10}", 0..5).prop_flat_map(|extra| {
        let mut all: Vec<String> = REQUIRED.iter().map(|c| (*c).to_owned()).collect();
        all.extend(extra.into_iter().filter(|c| !REQUIRED.contains(&c.as_str())));
        Just(all).prop_shuffle()
    })
}

/// Columns and rows of matching width.
fn table() -> impl Strategy<Value = (Vec<String>, Vec<Vec<String>>)> {
    columns().prop_flat_map(|cols| {
        let n = cols.len();
        let rows = prop::collection::vec(prop::collection::vec(cell_value(), n), 0..12);
        (Just(cols), rows)
    })
}

fn join_lines(lines: &[String], eol: &str) -> String {
    lines.iter().map(|l| format!("{l}{eol}")).collect()
}

/// Lines that make tables, fences and near-misses likely.
fn tricky_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("| id | status | priority | task |".to_owned()),
        Just("|id|task|priority|status|x|".to_owned()),
        Just("|---|---|---|---|".to_owned()),
        Just("|-|:-:|-|-|-|".to_owned()),
        Just("| 1 | a \\| b | P1 | 작업 |".to_owned()),
        Just("| 2 | x |".to_owned()),
        Just("```".to_owned()),
        Just("~~~~".to_owned()),
        Just(String::new()),
        Just("text".to_owned()),
        "[|` ~\\-:a\\\\]{0,12}",
        "\\PC{0,20}",
    ]
}

proptest! {
    #[test]
    fn canonical_rows_parse_back_to_the_same_cells(
        prefix in prop::collection::vec(text_line(), 0..5),
        suffix in prop::collection::vec(text_line(), 0..5),
        final_eol in any::<bool>(),
        bom in any::<bool>(),
        eol in eol(),
        (cols, rows) in table(),
    ) {
        let names: Vec<&str> = cols.iter().map(String::as_str).collect();
        let mut doc = Document::new(&names);
        doc.prefix = format!("{}{}", if bom { "\u{FEFF}" } else { "" }, join_lines(&prefix, eol));
        doc.suffix = join_lines(&suffix, eol);
        if !final_eol && doc.suffix.ends_with(eol) {
            doc.suffix.truncate(doc.suffix.len() - eol.len());
        }
        doc.eol = eol.to_owned();
        doc.header_eol = eol.to_owned();
        doc.separator_eol = eol.to_owned();
        let out: Vec<RowOut<'_>> = rows.iter().map(|r| RowOut::Cells(r)).collect();
        let text = doc.render(&out);

        let back = parse(&text).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        prop_assert_eq!(&back.columns, &cols);
        prop_assert_eq!(&back.prefix, &doc.prefix);
        prop_assert_eq!(&back.suffix, &doc.suffix);
        let cells: Vec<Vec<String>> = back.rows.iter().map(|r| r.cells.clone()).collect();
        prop_assert_eq!(&cells, &rows);
        let raw: Vec<RowOut<'_>> = back.rows.iter().map(RowOut::raw).collect();
        prop_assert_eq!(back.render(&raw), text);
    }

    #[test]
    fn any_text_that_parses_renders_back_to_the_same_bytes(
        lines in prop::collection::vec((tricky_line(), eol()), 0..16),
        final_eol in any::<bool>(),
        bom in any::<bool>(),
    ) {
        let mut text = String::from(if bom { "\u{FEFF}" } else { "" });
        for (line, eol) in &lines {
            text.push_str(line);
            text.push_str(eol);
        }
        if !final_eol && text.ends_with('\n') {
            text.pop();
        }
        match parse(&text) {
            Ok(doc) => {
                prop_assert!(doc.rows.iter().all(|r| r.cells.len() == doc.columns.len()));
                let raw: Vec<RowOut<'_>> = doc.rows.iter().map(RowOut::raw).collect();
                prop_assert_eq!(doc.render(&raw), text);
            }
            Err(diagnostics) => {
                prop_assert!(!diagnostics.is_empty());
                prop_assert!(diagnostics.is_sorted_by_key(|d| d.line));
            }
        }
    }

    #[test]
    fn encode_then_decode_is_identity(value in cell_value()) {
        prop_assert_eq!(decode_cell(&encode_cell(&value)), value);
    }
}
