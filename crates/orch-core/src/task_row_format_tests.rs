//! Formatting against content: a queue file respaced, padded, aligned (as prettier
//! aligns it, Korean wide characters counting two columns), with other separators,
//! without its trailing pipes or with CRLF endings says what it said; a changed value,
//! column order, row order or text around the table is a change. No I/O: the files are
//! compiled in or built here.

use super::*;

const SEED: &str = include_str!("../../../tests/fixtures/seed_queue.md");

const SMALL: &str = "# 큐\n\n\n\n| id | status | priority | task | due_at_kst | notes |\n|---|---|---|---|---|---|\n\
| ORCH-001 | DONE | P1 | 무중단 작업 패턴 검증 | 2026-02-08 01:00 | 운영 가이드 작성 완료 |\n\
| ORCH-002 | PENDING | P0 | short | - | - |\n\
| ORCH-003 | BLOCKED | P2 | 쿠팡 \\| 파이프 | - | a<br>b |\n## 끝\n- 메모\n";

/// SMALL as `prettier` 3 writes it.
const SMALL_PRETTIER: &str = "# 큐\n\n\
| id       | status  | priority | task                  | due_at_kst       | notes                 |\n\
| -------- | ------- | -------- | --------------------- | ---------------- | --------------------- |\n\
| ORCH-001 | DONE    | P1       | 무중단 작업 패턴 검증 | 2026-02-08 01:00 | 운영 가이드 작성 완료 |\n\
| ORCH-002 | PENDING | P0       | short                 | -                | -                     |\n\
| ORCH-003 | BLOCKED | P2       | 쿠팡 \\| 파이프        | -                | a<br>b                |\n\
\n## 끝\n\n- 메모\n";

fn seoul() -> TimeZone {
    TimeZone::get("Asia/Seoul").unwrap()
}

fn same(a: &str, b: &str) -> bool {
    let one_way = same_content(a, b, &seoul()).expect("both read");
    assert_eq!(one_way, same_content(b, a, &seoul()).unwrap(), "the comparison is symmetric");
    one_way
}

/// Whether `line` is a table line (its first non-blank char is `|`).
fn is_table(line: &str) -> bool {
    line.trim_start().starts_with('|')
}

/// `line`'s cells as written, trimmed (split on every `|` not after a `\`).
fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().strip_prefix('|').unwrap_or(line.trim());
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    let mut out = vec![String::new()];
    let mut prev = ' ';
    for c in inner.chars() {
        if c == '|' && prev != '\\' {
            out.push(String::new());
        } else {
            out.last_mut().unwrap().push(c);
        }
        prev = c;
    }
    out.iter().map(|c| c.trim().to_string()).collect()
}

/// Columns a char takes in a monospaced font: two for Hangul and other wide chars.
fn width(s: &str) -> usize {
    let wide = |c: char| matches!(c as u32, 0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6);
    s.chars().map(|c| if wide(c) { 2 } else { 1 }).sum()
}

/// Every line of `text` with each table line rewritten by `row` from its cells (the
/// separator is the second table line) and its ending replaced by `eol`.
fn each_table_line(text: &str, eol: &str, mut row: impl FnMut(usize, &[String]) -> String) -> String {
    let mut n = 0;
    let mut out = String::new();
    for line in text.lines() {
        if is_table(line) {
            out.push_str(&row(n, &cells(line)));
            n += 1;
        } else {
            out.push_str(line);
        }
        out.push_str(eol);
    }
    out
}

/// `text` with its table aligned as a Markdown formatter aligns it: every cell padded to
/// its column's width in display columns, the separator dashes as wide, `marks` giving
/// each column's alignment (`l`, `c`, `r`, or none).
fn aligned(text: &str, marks: &str) -> String {
    let table: Vec<Vec<String>> = text.lines().filter(|l| is_table(l)).map(cells).collect();
    let n = table[0].len();
    let widths: Vec<usize> = (0..n)
        .map(|i| table.iter().enumerate().filter(|(r, _)| *r != 1).map(|(_, c)| width(&c[i])).max().unwrap())
        .collect();
    each_table_line(text, "\n", |r, cells| {
        let padded: Vec<String> = (0..n)
            .map(|i| {
                let w = widths[i].max(3);
                if r == 1 {
                    match marks.as_bytes().get(i) {
                        Some(b'l') => format!(":{}", "-".repeat(w - 1)),
                        Some(b'c') => format!(":{}:", "-".repeat(w - 2)),
                        Some(b'r') => format!("{}:", "-".repeat(w - 1)),
                        _ => "-".repeat(w),
                    }
                } else {
                    format!("{}{}", cells[i], " ".repeat(w - width(&cells[i])))
                }
            })
            .collect();
        format!("| {} |", padded.join(" | "))
    })
}

#[test]
fn padded_cells_are_formatting() {
    for text in [SMALL, SEED] {
        let padded = each_table_line(text, "\n", |r, cells| {
            if r == 1 {
                return format!("|{}|", vec!["---"; cells.len()].join("|"));
            }
            let c: Vec<String> =
                cells.iter().enumerate().map(|(i, c)| format!("{}{c}{}", " ".repeat(i % 3), " ".repeat(3))).collect();
            format!("|{}|", c.join("|"))
        });
        assert_ne!(padded, text);
        assert!(same(text, &padded), "{padded}");
    }
}

#[test]
fn no_blanks_around_the_pipes_is_formatting() {
    let tight = each_table_line(SMALL, "\n", |r, cells| {
        if r == 1 { format!("|{}|", vec!["-"; cells.len()].join("|")) } else { format!("|{}|", cells.join("|")) }
    });
    assert!(tight.contains("|ORCH-002|PENDING|P0|short|-|-|"), "{tight}");
    assert!(same(SMALL, &tight));
}

#[test]
fn a_spaced_separator_and_alignment_marks_are_formatting() {
    for text in [SMALL, SEED] {
        let spaced = each_table_line(text, "\n", |r, cells| {
            if r == 1 {
                format!("| {} |", vec!["---"; cells.len()].join(" | "))
            } else {
                format!("| {} |", cells.join(" | "))
            }
        });
        assert!(spaced.contains("| --- | --- |"));
        assert!(same(text, &spaced));
        let marked = spaced.replacen("| --- | --- | --- |", "|:---|:---:| ---: |", 1);
        assert!(marked.contains("|:---|:---:| ---: |"), "{marked}");
        assert!(same(text, &marked));
        let left = spaced.replace("| --- ", "|:--- ");
        assert!(left.contains("|:--- |:--- |"));
        assert!(same(text, &left));
    }
}

#[test]
fn columns_aligned_around_korean_wide_characters_are_formatting() {
    assert!(same(SMALL, SMALL_PRETTIER));
    // The aligner here writes what prettier wrote.
    let table = |t: &str| t.lines().filter(|l| is_table(l)).map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(table(&aligned(SMALL, "")), table(SMALL_PRETTIER));
    for text in [SMALL, SEED] {
        for marks in ["", "lcr", "cccccccccc", "rrrrrrrrrr"] {
            let wide = aligned(text, marks);
            assert!(same(text, &wide), "{marks}: {wide}");
        }
    }
}

#[test]
fn rows_without_their_trailing_pipe_are_formatting() {
    let open = each_table_line(SMALL, "\n", |r, cells| {
        let sep = if r == 1 { vec!["---".to_string(); cells.len()] } else { cells.to_vec() };
        format!("| {}", sep.join(" | "))
    });
    assert!(open.contains("| ORCH-002 | PENDING | P0 | short | - | -\n"), "{open}");
    assert!(same(SMALL, &open));
}

#[test]
fn crlf_line_endings_a_byte_order_mark_and_blank_lines_around_are_formatting() {
    for text in [SMALL, SEED] {
        let crlf = text.replace('\n', "\r\n");
        assert!(same(text, &crlf));
        assert!(same(text, &format!("\u{FEFF}{crlf}")));
        let airy = text.replace("\n#", "\n\n#").replace("\n- ", "\n\n- ").replacen("\n", "   \n", 1);
        assert_ne!(airy, text);
        assert!(same(text, &airy));
    }
    assert!(same(SMALL, &SMALL_PRETTIER.replace('\n', "\r\n")));
}

#[test]
fn a_spelling_the_reader_takes_as_the_same_value_is_formatting() {
    let spelt = SMALL.replace("| P0 | short | - | - |", "| p0 | short |  | - |");
    assert!(same(SMALL, &spelt));
}

#[test]
fn a_changed_value_is_content() {
    let pretty = SMALL_PRETTIER;
    for (from, to) in [
        ("무중단 작업 패턴 검증", "무중단 작업 패턴 검층"),
        ("| short                 |", "| shorter               |"),
        ("| PENDING |", "| DONE    |"),
        ("| P0       |", "| P1       |"),
        ("2026-02-08 01:00", "2026-02-08 01:01"),
        ("| -                     |", "| a note                |"),
        ("a<br>b ", "a b    "),
        ("쿠팡 \\| 파이프", "쿠팡 / 파이프 "),
    ] {
        let changed = pretty.replacen(from, to, 1);
        assert_ne!(changed, pretty, "{from}");
        assert!(!same(SMALL, &changed), "{from} → {to}");
    }
}

#[test]
fn column_order_row_order_and_the_text_around_are_content() {
    let swapped_columns = each_table_line(SMALL, "\n", |_, c| {
        let mut c = c.to_vec();
        c.swap(4, 5);
        format!("| {} |", c.join(" | "))
    });
    assert!(!same(SMALL, &swapped_columns));
    let lines: Vec<&str> = SMALL.lines().collect();
    let row = |id: &str| *lines.iter().find(|l| l.starts_with(&format!("| {id} "))).unwrap();
    let swapped_rows = SMALL.replacen(row("ORCH-001"), "@", 1).replacen(row("ORCH-002"), row("ORCH-001"), 1).replacen(
        "@",
        row("ORCH-002"),
        1,
    );
    assert!(!same(SMALL, &swapped_rows));
    let dropped = SMALL.replacen(&format!("{}\n", row("ORCH-002")), "", 1);
    assert!(!same(SMALL, &dropped));
    assert!(!same(SMALL, &SMALL.replace("- 메모", "- 메모 둘")));
    assert!(!same(SMALL, &SMALL.replace("# 큐", "#  큐")), "blanks inside a line are kept");
    assert!(!same(SMALL, &SMALL.replace("- 메모", "  - 메모")), "indentation is kept");
}

#[test]
fn a_file_that_is_not_a_queue_is_an_error_not_a_difference() {
    assert!(same_content(SMALL, "no table", &seoul()).is_err());
    assert!(same_content(&SMALL.replace("| P0 |", "| P9 |"), SMALL, &seoul()).is_err());
}
