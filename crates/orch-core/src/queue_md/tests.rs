//! Example-based tests of the QUEUE.md codec: the real seed file, cell escaping, every
//! error, line endings and the edges of the file. No I/O: the seed is compiled in.

use super::cell::split_cells;

fn split(line: &str) -> Vec<&str> {
    split_cells(line).iter().map(|c| c.text).collect()
}
use super::*;

const SEED: &str = include_str!("../../../../tests/fixtures/seed_queue.md");

const HEADER: &str = "| id | status | priority | task |\n|---|---|---|---|\n";

fn raw_rows(doc: &Document) -> Vec<RowOut<'_>> {
    doc.rows.iter().map(RowOut::raw).collect()
}

fn round_trip(text: &str) -> String {
    let doc = parse(text).expect("parses");
    doc.render(&raw_rows(&doc))
}

fn cells(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

fn errors(text: &str) -> Vec<(usize, String)> {
    parse(text).expect_err("refused").into_iter().map(|d| (d.line, d.message)).collect()
}

const NO_TABLE: &str = "no queue table (a pipe table whose header has id, status, priority and task)";

// --- the seed file ---

#[test]
fn seed_parses_to_26_rows_of_9_columns() {
    let doc = parse(SEED).expect("seed parses");
    assert_eq!(doc.rows.len(), 26);
    assert_eq!(
        doc.columns,
        [
            "id",
            "status",
            "priority",
            "task",
            "success_criteria",
            "owner_session",
            "started_at_kst",
            "due_at_kst",
            "notes"
        ]
    );
    assert!(doc.rows.iter().all(|r| r.cells.len() == 9));
    assert_eq!(doc.rows[0].cells[0], "ORCH-001");
    assert_eq!(doc.rows[0].cells[3], "OpenClaw에서 무중단 작업 패턴(크론+하트비트+서브에이전트) 검증");
    assert_eq!(doc.rows[25].cells[0], "ORCH-026");
    assert_eq!(doc.rows[24].cells[5], "-");
    assert_eq!(doc.eol, "\n");
    assert!(doc.prefix.ends_with("## Queue\n\n"));
    assert!(doc.suffix.starts_with("\n## 작성 팁\n"));
    assert_eq!(doc.rows[0].line, doc.header_line + 2);
    assert_eq!(doc.column("notes"), Some(8));
    assert_eq!(doc.column("resource"), None);
}

#[test]
fn seed_renders_back_to_the_same_bytes() {
    assert_eq!(round_trip(SEED), SEED);
}

#[test]
fn seed_with_one_appended_row_changes_only_that_line() {
    let doc = parse(SEED).expect("seed parses");
    let new = cells(&["ORCH-027", "PENDING", "P2", "새 작업 | 파이프", "-", "-", "-", "-", "-"]);
    let mut rows = raw_rows(&doc);
    rows.push(RowOut::Cells(&new));
    let out = doc.render(&rows);

    let line = "| ORCH-027 | PENDING | P2 | 새 작업 \\| 파이프 | - | - | - | - | - |\n";
    let last = SEED.find("| ORCH-026 |").expect("ORCH-026 row");
    let after = last + SEED[last..].find('\n').expect("line end") + 1;
    let expected = format!("{}{line}{}", &SEED[..after], &SEED[after..]);
    assert_eq!(out, expected);
    let again = parse(&out).expect("still parses");
    assert_eq!(again.rows[26].cells, new);
}

// --- cells ---

#[test]
fn escaped_pipe_decodes_to_a_pipe() {
    assert_eq!(decode_cell(" a \\| b "), "a | b");
    let doc = parse(&format!("{HEADER}| 1 | a \\| b | P1 | x\\|y |\n")).expect("parses");
    assert_eq!(doc.rows[0].cells, ["1", "a | b", "P1", "x|y"]);
}

#[test]
fn encode_then_decode_round_trips() {
    for value in ["x|y", "line1\nline2", "한국어 작업 ✅ 🚀", "a\\|b", "<b>", "\\", "-", ""] {
        assert_eq!(decode_cell(&encode_cell(value)), value, "{value:?}");
    }
    assert_eq!(encode_cell("x|y"), "x\\|y");
    assert_eq!(encode_cell("a\r\nb\nc\rd"), "a<br>b<br>c<br>d");
}

#[test]
fn every_break_spelling_decodes_to_a_newline() {
    assert_eq!(decode_cell("a<br>b<br/>c<br />d"), "a\nb\nc\nd");
    assert_eq!(decode_cell("a<b>c<br"), "a<b>c<br");
}

#[test]
fn render_row_writes_encoded_values_as_given() {
    assert_eq!(render_row(&cells(&["a", "b|c", "", "-"])), "| a | b\\|c |  | - |");
}

#[test]
fn outer_pipes_are_optional() {
    assert_eq!(split("| a | b |"), [" a ", " b "]);
    assert_eq!(split("a | b"), ["a ", " b"]);
    assert_eq!(split("  | a | b  "), [" a ", " b"]);
    assert_eq!(split("| a | b \\|"), [" a ", " b \\|"]);
    assert_eq!(split("| `x\\|y` |"), [" `x\\|y` "]);
}

// --- errors ---

#[test]
fn wrong_cell_count_names_its_line() {
    let text = format!("# Q\n\n{HEADER}| 1 | PENDING | P1 | a |\n| 2 | PENDING | P1 |\n");
    assert_eq!(errors(&text), [(6, "expected 4 cells, found 3".to_owned())]);
}

#[test]
fn duplicate_header_column_is_refused() {
    let text = "| id | status | priority | task | id |\n|-|-|-|-|-|\n| 1 | a | b | c | d |\n";
    assert_eq!(errors(text), [(1, "duplicate column `id`".to_owned())]);
}

#[test]
fn text_without_a_table_is_refused_at_line_1() {
    assert_eq!(errors("# Queue\n\nnothing here\n"), [(1, NO_TABLE.to_owned())]);
    assert_eq!(errors(""), [(1, NO_TABLE.to_owned())]);
}

#[test]
fn a_table_missing_priority_is_not_the_queue_table() {
    let text = "| id | status | task |\n|---|---|---|\n| 1 | PENDING | a |\n";
    assert_eq!(errors(text), [(1, NO_TABLE.to_owned())]);
}

#[test]
fn a_table_inside_a_fence_is_ignored() {
    let fenced = format!("```markdown\n{HEADER}| 1 | PENDING | P1 | a |\n```\n");
    assert_eq!(errors(&fenced), [(1, NO_TABLE.to_owned())]);

    let text = format!("{fenced}\n{HEADER}| 2 | DONE | P0 | b |\n");
    let doc = parse(&text).expect("the table after the fence");
    assert_eq!(doc.rows.len(), 1);
    assert_eq!(doc.rows[0].cells[0], "2");
    assert_eq!(doc.header_line, 7);
    assert_eq!(round_trip(&text), text);
}

#[test]
fn a_fence_closes_only_with_its_own_char_and_length() {
    // `~~~` and a shorter run of backticks do not close a ```` fence.
    let text = format!("  ````\n~~~\n```\n{HEADER}````` \n{HEADER}| 9 | a | b | c |\n");
    let doc = parse(&text).expect("parses");
    assert_eq!(doc.header_line, 7);
    assert_eq!(doc.rows[0].cells[0], "9");
    // Indented four spaces, it is not a fence at all.
    let doc = parse(&format!("    ```\n{HEADER}")).expect("parses");
    assert_eq!(doc.header_line, 2);
}

#[test]
fn all_errors_are_reported_sorted_by_line() {
    let text = "| id | status | priority | task | task |\n|---|---|---|---|---|\n\
                | 1 | a | b | c |\n| 2 | a | b | c | d |\n| 3 | a | b | c | d | e |\n";
    assert_eq!(
        errors(text),
        [
            (1, "duplicate column `task`".to_owned()),
            (3, "expected 5 cells, found 4".to_owned()),
            (5, "expected 5 cells, found 6".to_owned()),
        ]
    );
}

#[test]
fn diagnostic_displays_line_then_message() {
    let d = Diagnostic { line: 7, message: "expected 9 cells, found 8".to_owned() };
    assert_eq!(d.to_string(), "7: expected 9 cells, found 8");
}

// --- table detection ---

#[test]
fn other_tables_before_the_queue_table_stay_in_the_prefix() {
    let other = "| word | meaning |\n| :-- | --: |\n| id | status |\n| priority | task |\n";
    let text = format!("{other}\n{HEADER}| 1 | a | b | c |\ntext after\n");
    let doc = parse(&text).expect("parses");
    assert_eq!(doc.prefix, format!("{other}\n"));
    assert_eq!(doc.rows.len(), 1);
    assert_eq!(doc.suffix, "text after\n");
    assert_eq!(round_trip(&text), text);
}

#[test]
fn extra_columns_in_any_order_are_kept() {
    let text = "|task|resource|id|priority|status|\n|:-:|-|-|-|-|\n|a|r|1|P1|DONE|\n";
    let doc = parse(text).expect("parses");
    assert_eq!(doc.column("id"), Some(2));
    assert_eq!(doc.rows[0].cells, ["a", "r", "1", "P1", "DONE"]);
}

#[test]
fn a_header_without_a_matching_separator_is_not_a_table() {
    let text = "| id | status | priority | task |\n|---|---|---|\n| 1 | a | b | c |\n";
    assert_eq!(errors(text), [(1, NO_TABLE.to_owned())]);
}

#[test]
fn a_table_with_no_rows_parses() {
    let doc = parse(HEADER).expect("parses");
    assert!(doc.rows.is_empty());
    assert_eq!(doc.suffix, "");
    assert_eq!(doc.render(&[]), HEADER);
}

// --- line endings and file edges ---

#[test]
fn crlf_file_round_trips_and_new_rows_use_crlf() {
    let text = "# Q\r\n\r\n| id | status | priority | task |\r\n|---|---|---|---|\r\n\
                | 1 | DONE | P1 | 작업 |\r\n\r\nend\r\n";
    let doc = parse(text).expect("parses");
    assert_eq!(doc.eol, "\r\n");
    assert_eq!(doc.rows[0].cells[3], "작업");
    assert_eq!(doc.rows[0].eol, "\r\n");
    assert_eq!(round_trip(text), text);

    let new = cells(&["2", "PENDING", "P2", "b"]);
    let mut rows = raw_rows(&doc);
    rows.push(RowOut::Cells(&new));
    let out = doc.render(&rows);
    assert!(out.contains("| 1 | DONE | P1 | 작업 |\r\n| 2 | PENDING | P2 | b |\r\n\r\nend"));
}

#[test]
fn mixed_line_endings_are_kept_per_line() {
    let text = "x\r\n| id | status | priority | task |\n|---|---|---|---|\r\n| 1 | a | b | c |\n";
    let doc = parse(text).expect("parses");
    assert_eq!(doc.eol, "\n");
    assert_eq!(doc.separator_eol, "\r\n");
    assert_eq!(round_trip(text), text);
}

#[test]
fn file_without_final_newline_round_trips_and_appends_without_joining() {
    let text = format!("{HEADER}| 1 | a | b | c |");
    let doc = parse(&text).expect("parses");
    assert_eq!(doc.rows[0].eol, "");
    assert_eq!(round_trip(&text), text);

    let new = cells(&["2", "a", "b", "c"]);
    let mut rows = raw_rows(&doc);
    rows.push(RowOut::Cells(&new));
    assert_eq!(doc.render(&rows), format!("{HEADER}| 1 | a | b | c |\n| 2 | a | b | c |\n"));
    // The unended row moved before another row is ended too.
    let reordered = [RowOut::Cells(&new), RowOut::raw(&doc.rows[0])];
    assert_eq!(doc.render(&reordered), format!("{HEADER}| 2 | a | b | c |\n| 1 | a | b | c |"));
}

#[test]
fn separator_as_last_line_without_newline() {
    let text = "| id | status | priority | task |\n|---|---|---|---|";
    let doc = parse(text).expect("parses");
    assert_eq!(round_trip(text), text);
    let new = cells(&["1", "a", "b", "c"]);
    assert_eq!(doc.render(&[RowOut::Cells(&new)]), format!("{HEADER}| 1 | a | b | c |\n"));
}

#[test]
fn byte_order_mark_stays_in_the_prefix() {
    let text = format!("\u{FEFF}{HEADER}| 1 | a | b | c |\n");
    let doc = parse(&text).expect("parses");
    assert_eq!(doc.prefix, "\u{FEFF}");
    assert_eq!(doc.header_line, 1);
    assert_eq!(doc.header_raw, "| id | status | priority | task |");
    assert_eq!(round_trip(&text), text);

    let text = format!("\u{FEFF}# 큐\n{HEADER}");
    assert_eq!(parse(&text).expect("parses").prefix, "\u{FEFF}# 큐\n");
}

#[test]
fn new_document_renders_a_canonical_table_that_parses_back() {
    let doc = Document::new(&["id", "status", "priority", "task"]);
    assert_eq!(doc.render(&[]), HEADER);
    let row = cells(&["ORCH-001", "PENDING", "P0", "첫 작업\n둘째 줄 🚀"]);
    let text = doc.render(&[RowOut::Cells(&row)]);
    assert_eq!(text, format!("{HEADER}| ORCH-001 | PENDING | P0 | 첫 작업<br>둘째 줄 🚀 |\n"));
    let back = parse(&text).expect("parses");
    assert_eq!(back.rows[0].cells, row);
    assert_eq!(back.header_raw, doc.header_raw);
    assert_eq!(back.separator_raw, doc.separator_raw);
}
