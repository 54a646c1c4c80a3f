//! What a worker cannot outgrow: its logs (each kept within `worker.max_log_bytes`, head
//! and tail around a line that says what was cut), its report (one too large to read is
//! over the hard budget, never cut and judged on a part), and its argument list (a task
//! too large for the command line fails for good, pointing at `{task_json}`).

use crate::common::Project;
use crate::dispatch::{task, worker};

fn run_dir(p: &Project, id: &str) -> String {
    format!(".orch/runs/{}", p.json(&["log", id])[0]["id"].as_str().unwrap())
}

fn size(p: &Project, name: &str) -> u64 {
    std::fs::metadata(p.file(name)).unwrap().len()
}

/// The reason the last run of `id` recorded.
fn reason(p: &Project, id: &str) -> String {
    p.json(&["log", id])[0]["reason"].as_str().unwrap_or_default().to_string()
}

#[test]
fn a_huge_output_is_cut_to_its_head_and_tail_and_its_report_is_blocked_as_too_large() {
    const CAP: u64 = 1024 * 1024;
    let p = Project::init(None);
    p.set_config("max_log_bytes", &CAP.to_string());
    // 20,000,000 bytes of report lines then a valid ending; 5,000,000 bytes on stderr.
    worker(
        &p,
        "yes 'a line of the report' | head -c 20000000\nprintf -- '- did it\\nRisks: none\\n'\n\
         yes 'a line on stderr' | head -c 5000000 >&2\n",
        &[],
    );
    p.ok(&["add", "writes too much"]);
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
    let t = task(&p, "ORCH-001");
    assert_eq!(t["status"], "BLOCKED", "{t}");
    let why = reason(&p, "ORCH-001");
    assert!(why.starts_with("budget_hard_exceeded: the report is too large to read"), "{why}");
    let dir = run_dir(&p, "ORCH-001");
    // Kept: the first 524,288 bytes and the last 524,224 (64 bytes are left for the line
    // that says what was cut).
    let logs = [
        ("stdout.log", "[orch: 18,951,509 bytes cut here]", "- did it\nRisks: none\n"),
        ("stderr.log", "[orch: 3,951,488 bytes cut here]", ""),
    ];
    for (name, marker, last) in logs {
        let file = format!("{dir}/{name}");
        assert!(size(&p, &file) <= CAP, "{name}: {} bytes", size(&p, &file));
        let text = p.read(&file);
        assert!(text.contains(&format!("\n{marker}\n")), "{name} says what was cut");
        assert!(text.ends_with(last), "{name} keeps its tail");
        let head = if name == "stdout.log" { "a line of the report\n" } else { "a line on stderr\n" };
        assert!(text.starts_with(head), "{name} keeps its head");
    }
}

#[test]
fn a_report_larger_than_what_is_read_is_blocked_as_too_large_not_retried() {
    let p = Project::init(None);
    // 6,000,000 bytes: under the log cap, over what the gate reads (4 MiB).
    worker(&p, "yes 'a line of the report' | head -c 6000000\nprintf -- 'Risks: none\\n'\n", &[]);
    p.ok(&["add", "reports too much"]);
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
    assert_eq!(task(&p, "ORCH-001")["status"], "BLOCKED");
    let why = reason(&p, "ORCH-001");
    assert!(why.starts_with("budget_hard_exceeded: the report is too large to read (6000012 bytes"), "{why}");
    assert_eq!(size(&p, &format!("{}/stdout.log", run_dir(&p, "ORCH-001"))), 6_000_012, "kept whole");
}

#[test]
fn a_task_too_large_for_the_argument_list_fails_for_good_and_names_task_json() {
    let big = "x".repeat(3_000_000);
    let queue = format!(
        "| id | status | priority | task | success_criteria | owner_session | started_at_kst | due_at_kst | notes |\n\
         |---|---|---|---|---|---|---|---|---|\n\
         | ORCH-001 | PENDING | P1 | {big} | - | - | - | - | - |\n"
    );
    let p = Project::init(Some(&queue));
    worker(&p, "echo started > started\n", &["{task}"]);
    let out = p.ok(&["run", "--until-idle", "--max-wait", "0s"]);
    let t = task(&p, "ORCH-001");
    assert_eq!((t["status"].as_str(), t["retry_at"].as_str()), (Some("FAILED"), None), "a permanent failure: {out}");
    assert!(!p.file("started").exists());
    let why = reason(&p, "ORCH-001");
    assert!(why.starts_with("spawn_failed:") && why.contains("argument list too long"), "{why}");
    assert!(why.contains("{task_json}"), "{why}");
    assert_eq!(p.json(&["log", "ORCH-001"]).as_array().unwrap().len(), 1, "tried once");
}
