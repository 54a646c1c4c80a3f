//! Property tests of the QUEUE.md codec: random documents written with canonical rows
//! parse back to the same cells, the same documents reformatted (padding, separators,
//! alignment marks, trailing pipes, line endings, blank lines) read as the same frame
//! and cells, and any text that parses renders back to the same bytes. No I/O.

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

/// How one table line is reformatted: the blanks around each cell, and whether the
/// trailing pipe is written.
fn line_format(n: usize) -> impl Strategy<Value = (Vec<(String, String)>, bool)> {
    let pad = || prop::collection::vec(prop_oneof![Just(' '), Just('\t')], 1..4).prop_map(String::from_iter);
    (prop::collection::vec((pad(), pad()), n), any::<bool>())
}

/// A separator cell: dashes with alignment marks, blanks around it.
fn separator_cell() -> impl Strategy<Value = String> {
    (" {0,2}", prop_oneof![Just(""), Just(":")], 1..6usize, prop_oneof![Just(""), Just(":")], " {0,2}")
        .prop_map(|(l, a, n, b, r)| format!("{l}{a}{}{b}{r}", "-".repeat(n)))
}

/// A table line of `cells` (encoded) written with `format`. An empty last cell keeps
/// its trailing pipe: without it the line has one cell fewer (in Markdown too).
fn formatted_line(cells: &[String], format: &(Vec<(String, String)>, bool)) -> String {
    let mut out = String::from("|");
    let last_empty = cells.last().is_some_and(String::is_empty);
    for (i, (cell, (before, after))) in cells.iter().zip(&format.0).enumerate() {
        out.push_str(before);
        out.push_str(&encode_cell(cell));
        out.push_str(after);
        if i + 1 < cells.len() || format.1 || last_empty {
            out.push('|');
        }
    }
    out
}

/// `lines` with blank lines between them and trailing blanks added where `air` says.
fn airy(lines: &[String], air: &[(bool, bool)], eol: &str) -> String {
    let mut out = String::new();
    for (i, (line, (blank, trailing))) in lines.iter().zip(air.iter().cycle()).enumerate() {
        if *blank && i > 0 {
            out.push_str(eol);
        }
        out.push_str(line);
        if *trailing && !line.is_empty() {
            out.push_str("  ");
        }
        out.push_str(eol);
    }
    out
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
    fn a_reformatted_table_reads_as_the_same_frame_and_cells(
        prefix in prop::collection::vec(text_line(), 0..5),
        suffix in prop::collection::vec(text_line(), 0..5),
        air in prop::collection::vec((any::<bool>(), any::<bool>()), 1..6),
        (eol, other_eol) in (eol(), eol()),
        ((cols, rows), formats, separator) in table().prop_flat_map(|(cols, rows)| {
            let n = cols.len();
            let formats = prop::collection::vec(line_format(n), rows.len() + 1);
            (Just((cols, rows)), formats, prop::collection::vec(separator_cell(), n))
        }),
        changed in any::<prop::sample::Index>(),
    ) {
        let names: Vec<&str> = cols.iter().map(String::as_str).collect();
        let mut doc = Document::new(&names);
        doc.prefix = join_lines(&prefix, eol);
        doc.suffix = join_lines(&suffix, eol);
        doc.eol = eol.to_owned();
        doc.header_eol = eol.to_owned();
        doc.separator_eol = eol.to_owned();
        let out: Vec<RowOut<'_>> = rows.iter().map(|r| RowOut::Cells(r)).collect();
        let canonical = parse(&doc.render(&out)).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;

        let mut text = airy(&prefix, &air, other_eol);
        text.push_str(&formatted_line(&cols, &formats[0]));
        text.push_str(other_eol);
        text.push_str(&format!("|{}", separator.join("|")));
        text.push_str(other_eol);
        for (row, format) in rows.iter().zip(&formats[1..]) {
            text.push_str(&formatted_line(row, format));
            text.push_str(other_eol);
        }
        text.push_str(other_eol);
        text.push_str(&airy(&suffix, &air, other_eol));
        let reformatted = parse(&text).map_err(|e| TestCaseError::fail(format!("{e:?}\n{text}")))?;
        prop_assert!(reformatted.same_frame(&canonical), "{}", text);
        let cells = |d: &Document| d.rows.iter().map(|r| r.cells.clone()).collect::<Vec<_>>();
        prop_assert_eq!(cells(&reformatted), cells(&canonical));

        // A changed value is a changed cell.
        if !rows.is_empty() {
            let i = changed.index(rows.len() * cols.len());
            let mut other = rows.clone();
            other[i / cols.len()][i % cols.len()].push('x');
            let out: Vec<RowOut<'_>> = other.iter().map(|r| RowOut::Cells(r)).collect();
            let edited = parse(&doc.render(&out)).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            prop_assert_ne!(cells(&edited), cells(&reformatted));
        }
    }

    #[test]
    fn encode_then_decode_is_identity(value in cell_value()) {
        prop_assert_eq!(decode_cell(&encode_cell(&value)), value);
    }
}
