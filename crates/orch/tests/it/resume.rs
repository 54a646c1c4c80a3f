//! Session resume and agent output, through a real `orch run` with shell workers that
//! print the fixtures of Claude Code's and Codex's real output (`tests/fixtures/`): the
//! session id a run reports is stored on it, a retry gets it in `ORCH_RESUME_SESSION`
//! and `{resume_session}` (its `--resume` flag left out when there is none), and the
//! retry's prompt carries the last attempt's reason and report.

use crate::common::Project;
use crate::dispatch::task;

const CLAUDE_SESSION: &str = "4f2d8c1e-9b7a-4e3f-8d21-6c5b0a9e7f13";
const CODEX_THREAD: &str = "0199a213-81c0-7800-8aa1-bbab2a035a53";
const CODEX_FAILED_THREAD: &str = "0199a214-0c3e-7d21-9f6a-5b0e8c1d2f44";

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A worker that records what it was given (`seen`: its attempt, `ORCH_RESUME_SESSION`
/// and its arguments after the first; `prompt-N`: its first argument), then prints
/// `first` and fails on the first run (no file `again` yet), and prints `then` and
/// exits 0 on the next.
fn worker(p: &Project, first: &str, then: &str, argv: &[&str]) {
    p.write("first.out", first);
    p.write("then.out", then);
    p.write(
        "worker.sh",
        "n=1; [ -f again ] && n=2\n\
         p=\"$1\"; shift\n\
         printf '%s\\n' \"run=$n env=[$ORCH_RESUME_SESSION] args=[$*]\" >> seen\n\
         printf '%s' \"$p\" > prompt-$n\n\
         if [ $n = 1 ]; then touch again; cat first.out; exit 1; fi\n\
         cat then.out\n",
    );
    let mut command = vec!["sh", "worker.sh"];
    command.extend_from_slice(argv);
    p.set_config("command", &serde_json::to_string(&command).unwrap());
}

/// Runs the queue until idle, retries ORCH-001 (FAILED after its first run) and runs
/// it again.
fn run_twice(p: &Project) {
    p.ok(&["add", "fix the overflow in add"]);
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
    assert_eq!(task(p, "ORCH-001")["status"], "FAILED");
    p.ok(&["retry", "ORCH-001"]);
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
    assert_eq!(task(p, "ORCH-001")["status"], "DONE", "{}", p.read("seen"));
}

#[test]
fn a_retry_resumes_the_session_of_the_run_before_it_in_env_and_argv() {
    let p = Project::init(None);
    worker(
        &p,
        &fixture("claude_result.json"),
        "- resumed\nRisks: none\n",
        &["{prompt}", "--resume", "{resume_session}"],
    );
    run_twice(&p);
    let seen = p.read("seen");
    assert_eq!(
        seen.lines().collect::<Vec<_>>(),
        ["run=1 env=[] args=[]".to_string(), format!("run=2 env=[{CLAUDE_SESSION}] args=[--resume {CLAUDE_SESSION}]")],
        "the first run has no session: its flag is left out"
    );
    let runs = p.json(&["log", "ORCH-001"]);
    assert_eq!(runs[0]["session"], CLAUDE_SESSION, "{runs}");
    assert_eq!(
        (runs[0]["usage"]["input_tokens"].as_u64(), runs[0]["usage"]["output_tokens"].as_u64()),
        (Some(12), Some(941))
    );
    assert_eq!(runs[1]["session"], serde_json::Value::Null, "a plain report names none");
    // The retry's prompt carries how the first run ended and its report.
    let first = p.read("prompt-1");
    assert!(first.contains("(`-` if this is the first):\n-\n"), "{first}");
    let second = p.read("prompt-2");
    assert!(
        second.contains("Attempt 1 ended failed: exit_code:1\nIts report:\n- fixed the overflow in `add`"),
        "{second}"
    );
    assert!(second.contains("12 passed\nRisks: none"), "{second}");
}

#[test]
fn a_run_after_runs_without_a_session_gets_no_flag_and_an_empty_variable() {
    let p = Project::init(None);
    worker(&p, "- tried\nRisks: none\n", "- did it\nRisks: none\n", &["{prompt}", "-r", "{resume_session}", "last"]);
    run_twice(&p);
    assert_eq!(p.read("seen").lines().collect::<Vec<_>>(), ["run=1 env=[] args=[last]", "run=2 env=[] args=[last]"]);
    // A prompt file without `{last_attempt}` still gets it on a retry, at its end.
    let p = Project::init(None);
    p.write(".orch/prompt.md", "Do {id}.");
    worker(&p, "- tried\nRisks: none\n", "- did it\nRisks: none\n", &["{prompt}"]);
    run_twice(&p);
    assert_eq!(p.read("prompt-1"), "Do ORCH-001.");
    assert_eq!(
        p.read("prompt-2"),
        "Do ORCH-001.\n\nThe last attempt of this task:\nAttempt 1 ended failed: exit_code:1\nIts report:\n- tried\nRisks: none\n"
    );
}

#[test]
fn codex_json_output_gives_the_report_usage_and_thread_and_a_failed_turn_is_resumed() {
    let p = Project::init(None);
    worker(&p, &fixture("codex_exec_failed.jsonl"), &fixture("codex_exec.jsonl"), &["{prompt}"]);
    run_twice(&p);
    let seen = p.read("seen");
    assert_eq!(
        seen.lines().collect::<Vec<_>>(),
        ["run=1 env=[] args=[]".to_string(), format!("run=2 env=[{CODEX_FAILED_THREAD}] args=[]")]
    );
    let runs = p.json(&["log", "ORCH-001"]);
    let reason = runs[0]["reason"].as_str().unwrap_or_default();
    assert!(reason.starts_with("agent_error: stream disconnected before completion"), "{runs}");
    assert_eq!(runs[0]["session"], CODEX_FAILED_THREAD);
    let done = &runs[1];
    assert_eq!(
        done["report"],
        "- `add` now uses checked arithmetic and reports overflow (src/add.rs)\n- `cargo test -p calc`: 12 passed\nRisks: none"
    );
    assert_eq!(
        (done["usage"]["input_tokens"].as_u64(), done["usage"]["output_tokens"].as_u64()),
        (Some(24763), Some(1122))
    );
    assert_eq!(done["session"], CODEX_THREAD);
    assert!(
        p.read("prompt-2").contains("Attempt 1 ended failed: agent_error: stream disconnected"),
        "{}",
        p.read("prompt-2")
    );
}
