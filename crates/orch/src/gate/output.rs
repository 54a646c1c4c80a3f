//! Reading a run's `stdout.log` for the gate in bounded memory, whatever its size: a
//! file up to the run-file read limit is read whole (and may be a Claude Code result
//! object, or a Codex event stream); a larger one a line at a time, its control lines read wherever they are and
//! its report kept up to the limit. A report larger than the limit, or from a log that
//! was cut, is oversized: the gate judges it over the hard budget without reading it.

use super::{Decision, Verdict};
use crate::home::{Home, MAX_RUN_FILE_BYTES};
use orch_core::outcome::{Output, OutputReader, read_output};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// A line longer than this is report text, never a control line: it is counted, not
/// kept.
const MAX_LINE: usize = 64 * 1024;

/// The worker's output of a run, from its `stdout.log`.
pub fn worker_output(home: &Home, run_id: &str) -> Output {
    read(&home.run_dir(run_id).join("stdout.log"), MAX_RUN_FILE_BYTES)
}

/// `path` read as a worker's stdout, keeping at most `limit` bytes of report.
pub fn read(path: &Path, limit: u64) -> Output {
    let Ok(file) = std::fs::File::open(path) else { return read_output("") };
    let keep = usize::try_from(limit).unwrap_or(usize::MAX);
    if file.metadata().is_ok_and(|m| m.len() <= limit) {
        let mut buf = Vec::new();
        let _ = file.take(limit).read_to_end(&mut buf);
        let out = read_output(&String::from_utf8_lossy(&buf));
        if out.report.len() <= keep {
            return out;
        }
        // A Claude Code result object whose report grew past the limit once decoded.
        let mut reader = OutputReader::new(keep);
        reader.line(&out.report);
        return Output { oversized: reader.finish().oversized, ..out };
    }
    let mut reader = OutputReader::new(keep);
    let mut input = BufReader::with_capacity(MAX_LINE, file);
    let mut line = Vec::new();
    // Bytes of the current line past MAX_LINE, which is only counted.
    let mut long = 0u64;
    loop {
        let (used, ended) = match input.fill_buf() {
            Ok([]) => break,
            Ok(buf) => match buf.iter().position(|b| *b == b'\n') {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            },
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        if long == 0 && line.len() + used <= MAX_LINE {
            line.extend_from_slice(&input.buffer()[..used]);
        } else {
            long += (line.len() + used) as u64;
            line.clear();
        }
        input.consume(used);
        if ended {
            end_line(&mut reader, &mut line, &mut long);
        }
    }
    end_line(&mut reader, &mut line, &mut long);
    reader.finish()
}

fn end_line(reader: &mut OutputReader, line: &mut Vec<u8>, long: &mut u64) {
    if *long > 0 {
        reader.skipped(*long);
    } else if !line.is_empty() {
        reader.line(&String::from_utf8_lossy(line));
    }
    line.clear();
    *long = 0;
}

/// The gate's decision on a report too large to read (`bytes` in all): over the hard
/// budget, whatever it says. The report kept on the run is empty; its text stays in the
/// run's `stdout.log`.
pub fn oversized(bytes: u64) -> Decision {
    Decision {
        verdict: Verdict::Block,
        reason: format!(
            "budget_hard_exceeded: the report is too large to read ({bytes} bytes; at most {MAX_RUN_FILE_BYTES} \
             are read, and a log cut at worker.max_log_bytes is never read whole)"
        ),
        note: None,
        report: String::new(),
        tokens: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stdout.log");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn a_small_file_is_read_as_before() {
        let (_d, path) = file(b"- did it\n{\"orch\":{\"usage\":{\"input_tokens\":5}}}\nRisks: none\n");
        let out = read(&path, 1000);
        assert_eq!((out.report.as_str(), out.usage.input_tokens, out.oversized), ("- did it\nRisks: none\n", 5, None));
        assert_eq!(read(&path.with_extension("none"), 1000), read_output(""));
    }

    #[test]
    fn the_agents_fixtures_give_report_usage_and_session() {
        let (_d, path) = file(include_bytes!("../../tests/fixtures/codex_exec.jsonl"));
        let out = read(&path, 1000);
        assert_eq!(
            out.report,
            "- `add` now uses checked arithmetic and reports overflow (src/add.rs)\n- `cargo test -p calc`: 12 passed\nRisks: none"
        );
        assert_eq!((out.usage.input_tokens, out.usage.output_tokens), (24763, 1122));
        assert_eq!(out.session.as_deref(), Some("0199a213-81c0-7800-8aa1-bbab2a035a53"));
        assert_eq!((out.declared, out.oversized), (None, None));
        // The same stream read a line at a time (a file over the read limit).
        let lines = read(&path, 500);
        assert!(std::fs::metadata(&path).unwrap().len() > 500);
        assert_eq!((lines.report, lines.usage, lines.session), (out.report.clone(), out.usage, out.session));
        let (_d, path) = file(include_bytes!("../../tests/fixtures/codex_exec_failed.jsonl"));
        let failed = read(&path, 1000);
        assert!(
            matches!(&failed.declared, Some(orch_core::outcome::Declared::Fail { reason, .. }) if reason.starts_with("agent_error: stream disconnected")),
            "{:?}",
            failed.declared
        );
        assert_eq!(failed.session.as_deref(), Some("0199a214-0c3e-7d21-9f6a-5b0e8c1d2f44"));
        let (_d, path) = file(include_bytes!("../../tests/fixtures/claude_result.json"));
        let claude = read(&path, 1000);
        assert_eq!(claude.session.as_deref(), Some("4f2d8c1e-9b7a-4e3f-8d21-6c5b0a9e7f13"));
        assert_eq!((claude.usage.input_tokens, claude.usage.output_tokens), (12, 941));
        assert!(claude.report.ends_with("Risks: none"), "{}", claude.report);
    }

    #[test]
    fn a_large_file_is_read_a_line_at_a_time_and_is_oversized() {
        let mut text = b"- start\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', 200_000)); // one line longer than MAX_LINE
        text.extend(b"\n{\"orch\":{\"outcome\":\"fail\",\"class\":\"permanent\",\"reason\":\"r\"}}\n");
        text.extend("- more\n".repeat(1000).as_bytes());
        text.extend(b"Risks: none");
        let (_d, path) = file(&text);
        let out = read(&path, 1000);
        assert!(out.report.len() <= 1000 && out.report.starts_with("- start\n"), "{}", out.report.len());
        assert_eq!(out.oversized, Some(8 + 200_001 + 7000 + 11));
        assert!(matches!(out.declared, Some(orch_core::outcome::Declared::Fail { .. })), "{:?}", out.declared);
    }
}
