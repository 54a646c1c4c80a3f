//! What a worker's exit means: control lines in its stdout and the exit status become a
//! verdict on the run. Pure: the dispatcher reads the process, this decides.
//!
//! A control line is one JSON object on its own line whose only key is `orch`, e.g.
//! `{"orch":{"usage":{"input_tokens":1200,"output_tokens":340,"cost_usd":0.02}}}` or
//! `{"orch":{"outcome":"fail","class":"permanent","reason":"…"}}`. Control lines are
//! taken out of the report; every other line is the report.
//!
//! Two agents' own output is understood as it is: Claude Code's `--output-format json`
//! result object, and Codex's `codex exec --json` event stream ([`crate::codex`]). Each
//! gives the report, the usage and the agent's session id.
//!
//! A stdout too large to read whole is read a line at a time ([`OutputReader`]), the
//! report kept up to a limit: a report larger than that, or one whose log was cut (the
//! line [`cut_marker`] writes), is `oversized` — judged over the hard budget, unread.

use crate::policy::FailureClass;
use serde::{Deserialize, Serialize};

/// Token and cost figures a worker reports; summed over its control lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default)]
    pub cost_usd: f64,
}

impl Usage {
    pub fn add(&mut self, o: &Usage) {
        self.input_tokens += o.input_tokens;
        self.output_tokens += o.output_tokens;
        self.cost_usd += o.cost_usd;
    }

    pub fn is_zero(&self) -> bool {
        *self == Usage::default()
    }
}

/// An outcome the worker stated itself.
#[derive(Clone, Debug, PartialEq)]
pub enum Declared {
    Done,
    Fail { class: FailureClass, reason: String },
}

/// A worker's stdout, split into its report and what its control lines said.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Output {
    pub report: String,
    pub usage: Usage,
    pub declared: Option<Declared>,
    /// Control lines that could not be read, for the log.
    pub bad_control_lines: Vec<String>,
    /// The report's size in bytes when it was too large to read (more than the reader
    /// keeps), or when its log was cut; `report` then holds only a part of it.
    pub oversized: Option<u64>,
    /// The agent's session id (Claude Code's `session_id`, Codex's thread id).
    pub session: Option<String>,
}

/// The line that stands where a log was cut: `[orch: 136,870,912 bytes cut here]`.
pub fn cut_marker(bytes: u64) -> String {
    let digits = bytes.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("[orch: {grouped} bytes cut here]")
}

/// How many bytes a [`cut_marker`] line says were cut.
pub fn parse_cut_marker(line: &str) -> Option<u64> {
    let n = line.trim().strip_prefix("[orch: ")?.strip_suffix(" bytes cut here]")?;
    let digits: String = n.chars().filter(|c| *c != ',').collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[derive(Deserialize)]
struct Control {
    orch: ControlBody,
}

#[derive(Deserialize)]
struct ControlBody {
    usage: Option<Usage>,
    outcome: Option<String>,
    class: Option<String>,
    reason: Option<String>,
}

/// Claude Code's `--output-format json` result object.
#[derive(Deserialize)]
struct ClaudeResult {
    #[serde(rename = "type")]
    kind: String,
    result: Option<String>,
    is_error: Option<bool>,
    total_cost_usd: Option<f64>,
    usage: Option<Usage>,
    session_id: Option<String>,
}

/// Splits stdout into the report and the control lines' content. A stdout that is one
/// Claude Code result object (`--output-format json`) gives its `result` as the report
/// and its `usage` and `total_cost_usd` as usage, its `session_id` as the session.
pub fn read_output(stdout: &str) -> Output {
    let mut out = Output::default();
    if let Ok(r) = serde_json::from_str::<ClaudeResult>(stdout.trim())
        && r.kind == "result"
    {
        out.report = r.result.unwrap_or_default();
        out.usage = r.usage.unwrap_or_default();
        out.usage.cost_usd = r.total_cost_usd.unwrap_or(out.usage.cost_usd);
        out.session = r.session_id.filter(|s| !s.is_empty());
        if r.is_error == Some(true) {
            out.declared = Some(Declared::Fail { class: FailureClass::Transient, reason: "agent_error".into() });
        }
        return out;
    }
    let mut reader = OutputReader::new(usize::MAX);
    for line in stdout.split_inclusive('\n') {
        reader.line(line);
    }
    reader.finish()
}

/// Reads a worker's stdout a line at a time, keeping at most `keep` bytes of report
/// (control lines are read wherever they are). A stdout whose first line that is not
/// blank opens a Codex stream is read as one ([`crate::codex`]).
#[derive(Debug)]
pub struct OutputReader {
    out: Output,
    keep: usize,
    report_bytes: u64,
    cut: bool,
    codex: Option<Codex>,
}

/// What a Codex stream's reader holds besides the output.
#[derive(Debug, Default)]
struct Codex {
    /// The size of the last agent message, when it was larger than the reader keeps; or
    /// of a line too long to read that came after the last message read (it may be the
    /// last message).
    unread: Option<u64>,
}

impl OutputReader {
    pub fn new(keep: usize) -> OutputReader {
        OutputReader { out: Output::default(), keep, report_bytes: 0, cut: false, codex: None }
    }

    /// A line of a Codex stream (not a control line, not a cut marker).
    fn codex_line(&mut self, line: &str) {
        use crate::codex::Event;
        let (out, codex) = (&mut self.out, self.codex.get_or_insert_with(Codex::default));
        match crate::codex::event(line) {
            Some(Event::Thread(id)) => out.session = Some(id),
            Some(Event::Message(text)) => {
                codex.unread = (text.len() > self.keep).then_some(text.len() as u64);
                out.report = if codex.unread.is_some() { String::new() } else { text };
            }
            Some(Event::Usage { input_tokens, output_tokens }) => {
                out.usage.add(&Usage { input_tokens, output_tokens, cost_usd: 0.0 });
            }
            Some(Event::Failed(message)) => {
                let reason = format!("agent_error: {}", &message[..message.floor_char_boundary(500)]);
                out.declared = Some(Declared::Fail { class: FailureClass::Transient, reason });
            }
            Some(Event::Other) | None => {}
        }
    }

    /// One line, with its `\n` when it has one.
    pub fn line(&mut self, line: &str) {
        let t = line.trim();
        if let Some(n) = parse_cut_marker(t) {
            self.cut = true;
            self.report_bytes += n;
            return;
        }
        let control = t.starts_with("{\"orch\"") || t.starts_with("{ \"orch\"");
        if !control && (self.codex.is_some() || (self.out.report.trim().is_empty() && crate::codex::opens_stream(t))) {
            if self.codex.is_none() {
                self.out.report.clear();
                self.codex = Some(Codex::default());
            }
            self.report_bytes += line.len() as u64;
            self.codex_line(t);
            return;
        }
        if !control {
            self.report_bytes += line.len() as u64;
            if self.out.report.len() + line.len() <= self.keep {
                self.out.report.push_str(line);
            } else {
                self.cut = true;
            }
            return;
        }
        let out = &mut self.out;
        match serde_json::from_str::<Control>(t) {
            Ok(Control { orch }) => {
                if let Some(u) = orch.usage {
                    out.usage.add(&u);
                }
                match orch.outcome.as_deref() {
                    Some("done") => out.declared = Some(Declared::Done),
                    Some("fail") => {
                        let class =
                            orch.class.as_deref().and_then(FailureClass::parse).unwrap_or(FailureClass::Transient);
                        let reason = orch.reason.unwrap_or_else(|| "declared_failure".into());
                        out.declared = Some(Declared::Fail { class, reason });
                    }
                    Some(other) => out.bad_control_lines.push(format!("unknown outcome `{other}`")),
                    None => {}
                }
            }
            Err(e) => out.bad_control_lines.push(format!("{t}: {e}")),
        }
    }

    /// Report bytes that were not read as a line (a line too long to be anything else).
    pub fn skipped(&mut self, bytes: u64) {
        self.report_bytes += bytes;
        match &mut self.codex {
            Some(codex) => codex.unread = Some(bytes),
            None => self.cut = true,
        }
    }

    pub fn finish(mut self) -> Output {
        if self.cut {
            self.out.oversized = Some(self.report_bytes);
        } else if let Some(n) = self.codex.and_then(|c| c.unread) {
            self.out.oversized = Some(n);
        }
        self.out
    }
}

/// How the worker's process ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
    SpawnFailed(String),
    TimedOut,
}

/// The verdict on a run before the gate: done (exit 0, to be reviewed) or a failure
/// with its class and reason. A worker's own declaration wins over its exit code, except
/// that a declared `done` with a non-zero exit is a failure.
pub fn verdict(
    exit: &Exit,
    declared: Option<&Declared>,
    permanent_codes: &[i32],
) -> Result<(), (FailureClass, String)> {
    use FailureClass::{Permanent, Transient};
    match (exit, declared) {
        (Exit::TimedOut, _) => Err((Transient, "timeout".into())),
        (Exit::SpawnFailed(e), _) => Err((Transient, format!("spawn_failed:{e}"))),
        (Exit::Signal(s), _) => Err((Transient, format!("signal:{s}"))),
        (Exit::Code(_), Some(Declared::Fail { class, reason })) => Err((*class, reason.clone())),
        (Exit::Code(0), _) => Ok(()),
        (Exit::Code(75), _) => Err((Transient, "exit_code:75".into())),
        (Exit::Code(c), _) if permanent_codes.contains(c) => Err((Permanent, format!("exit_code:{c}"))),
        (Exit::Code(c), _) => Err((Transient, format!("exit_code:{c}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_lines_leave_the_report() {
        let out = read_output(
            "- did it\n{\"orch\":{\"usage\":{\"input_tokens\":1200,\"output_tokens\":340,\"cost_usd\":0.02}}}\n\
             Risks: none\n{\"orch\":{\"usage\":{\"input_tokens\":1,\"cost_usd\":0.01}}}\n{\"orch\": nope}\n",
        );
        assert_eq!(out.report, "- did it\nRisks: none\n");
        assert_eq!((out.usage.input_tokens, out.usage.output_tokens), (1201, 340));
        assert!((out.usage.cost_usd - 0.03).abs() < 1e-9);
        assert_eq!(out.bad_control_lines.len(), 1);
    }

    #[test]
    fn a_claude_result_object_is_read() {
        let out = read_output(
            r#"{"type":"result","subtype":"success","is_error":false,"result":"- done\nRisks: none","total_cost_usd":0.12,"usage":{"input_tokens":10,"output_tokens":5,"cache_read_input_tokens":3}}"#,
        );
        assert_eq!(
            out.report,
            "- done
Risks: none"
        );
        assert_eq!((out.usage.input_tokens, out.usage.output_tokens), (10, 5));
        assert!((out.usage.cost_usd - 0.12).abs() < 1e-9);
        assert_eq!(out.declared, None);
    }

    #[test]
    fn a_claude_result_gives_its_session() {
        let out = read_output(r#"{"type":"result","result":"- ok","session_id":"4f2d8c1e-9b7a"}"#);
        assert_eq!(out.session.as_deref(), Some("4f2d8c1e-9b7a"));
        assert_eq!(read_output(r#"{"type":"result","result":"- ok","session_id":""}"#).session, None);
        assert_eq!(read_output("- ok\nRisks: none\n").session, None);
    }

    #[test]
    fn a_codex_stream_gives_its_last_message_usage_and_thread() {
        let stream = "\n{\"type\":\"thread.started\",\"thread_id\":\"th-1\"}\n{\"type\":\"turn.started\"}\n\
            {\"type\":\"item.completed\",\"item\":{\"id\":\"i0\",\"type\":\"agent_message\",\"text\":\"looking\"}}\n\
            stray text\n{\"orch\":{\"usage\":{\"cost_usd\":0.5}}}\n\
            {\"type\":\"item.completed\",\"item\":{\"id\":\"i1\",\"type\":\"agent_message\",\"text\":\"- done\\nRisks: none\"}}\n\
            {\"type\":\"turn.completed\",\"usage\":{\"input_tokens\":100,\"cached_input_tokens\":90,\"output_tokens\":7}}\n\
            {\"type\":\"turn.completed\",\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}\n";
        let out = read_output(stream);
        assert_eq!(out.report, "- done\nRisks: none");
        assert_eq!((out.usage.input_tokens, out.usage.output_tokens), (101, 8));
        assert!((out.usage.cost_usd - 0.5).abs() < 1e-9, "control lines still count");
        assert_eq!((out.session.as_deref(), out.declared, out.oversized), (Some("th-1"), None, None));
        let failed = read_output(
            "{\"type\":\"thread.started\",\"thread_id\":\"th-2\"}\n\
             {\"type\":\"turn.failed\",\"error\":{\"message\":\"stream disconnected\"}}\n",
        );
        assert_eq!(
            failed.declared,
            Some(Declared::Fail { class: FailureClass::Transient, reason: "agent_error: stream disconnected".into() })
        );
        // A thread event after report text is report text: the stream is Codex's only from its start.
        let late = read_output("- a\n{\"type\":\"thread.started\",\"thread_id\":\"th-3\"}\n");
        assert_eq!((late.session, late.report.lines().count()), (None, 2));
    }

    #[test]
    fn a_codex_message_too_large_to_keep_is_oversized() {
        let msg = |text: &str| {
            format!(
                "{{\"type\":\"item.completed\",\"item\":{{\"id\":\"i\",\"type\":\"agent_message\",\"text\":\"{text}\"}}}}\n"
            )
        };
        let start = "{\"type\":\"thread.started\",\"thread_id\":\"th\"}\n";
        let mut r = OutputReader::new(10);
        for l in [start.to_string(), msg("- short"), msg("- far too long to keep")] {
            r.line(&l);
        }
        let out = r.finish();
        assert_eq!((out.report.as_str(), out.oversized), ("", Some(22)));
        // A line too long to read (a command's output) before the last message is no matter.
        let mut r = OutputReader::new(10);
        r.line(start);
        r.skipped(100_000);
        r.line(&msg("- ok"));
        let out = r.finish();
        assert_eq!((out.report.as_str(), out.oversized), ("- ok", None));
        // After it, it may be the last message: judged unread.
        let mut r = OutputReader::new(10);
        r.line(start);
        r.line(&msg("- ok"));
        r.skipped(100_000);
        assert_eq!(r.finish().oversized, Some(100_000));
    }

    #[test]
    fn the_cut_marker_reads_back() {
        assert_eq!(cut_marker(136_870_912), "[orch: 136,870,912 bytes cut here]");
        assert_eq!(cut_marker(999), "[orch: 999 bytes cut here]");
        assert_eq!(cut_marker(1000), "[orch: 1,000 bytes cut here]");
        for n in [0, 7, 1000, 123_456_789, u64::MAX] {
            assert_eq!(parse_cut_marker(&cut_marker(n)), Some(n));
        }
        assert_eq!(parse_cut_marker("[orch: many bytes cut here]"), None);
        assert_eq!(parse_cut_marker("- [orch: 5 bytes cut here]"), None);
    }

    #[test]
    fn a_report_past_the_limit_or_cut_is_oversized_and_control_lines_still_count() {
        let mut r = OutputReader::new(10);
        for l in ["- 12345\n", "{\"orch\":{\"usage\":{\"input_tokens\":3}}}\n", "- 6789\n", "Risks: none\n"] {
            r.line(l);
        }
        r.line("{\"orch\":{\"outcome\":\"fail\",\"reason\":\"late\"}}\n");
        let out = r.finish();
        assert_eq!(out.report, "- 12345\n", "what is kept stops at the limit");
        assert_eq!(out.oversized, Some(27));
        assert_eq!(out.usage.input_tokens, 3);
        assert!(matches!(out.declared, Some(Declared::Fail { .. })));
        let cut = read_output(&format!("- a\n{}\nRisks: none\n", cut_marker(1000)));
        assert_eq!(cut.oversized, Some(1000 + 4 + 12));
        assert_eq!(read_output("- a\nRisks: none\n").oversized, None);
        let mut long = OutputReader::new(100);
        long.line("- a\n");
        long.skipped(5000);
        assert_eq!(long.finish().oversized, Some(5004));
    }

    #[test]
    fn a_declared_failure_wins() {
        let out = read_output("{\"orch\":{\"outcome\":\"fail\",\"class\":\"permanent\",\"reason\":\"no input\"}}\n");
        let d = out.declared.as_ref().unwrap();
        assert_eq!(verdict(&Exit::Code(0), Some(d), &[]), Err((FailureClass::Permanent, "no input".into())));
    }

    #[test]
    fn exit_codes_map_to_classes() {
        let perm: Vec<i32> = (64..=78).filter(|c| *c != 75).collect();
        assert_eq!(verdict(&Exit::Code(0), None, &perm), Ok(()));
        assert_eq!(verdict(&Exit::Code(75), None, &perm).unwrap_err().0, FailureClass::Transient);
        assert_eq!(
            verdict(&Exit::Code(64), None, &perm).unwrap_err(),
            (FailureClass::Permanent, "exit_code:64".into())
        );
        assert_eq!(verdict(&Exit::Code(1), None, &perm).unwrap_err().0, FailureClass::Transient);
        assert_eq!(verdict(&Exit::TimedOut, None, &perm).unwrap_err().1, "timeout");
        assert_eq!(verdict(&Exit::Signal(9), None, &perm).unwrap_err().1, "signal:9");
        assert_eq!(verdict(&Exit::Code(3), Some(&Declared::Done), &perm).unwrap_err().1, "exit_code:3");
    }
}
