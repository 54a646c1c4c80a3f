//! The gate with real worker processes: compact-report rules, token budgets, reviewer
//! verdicts, cost limits and `review`.

use crate::common::Project;

/// A queue whose worker prints `reports/ID.txt` and exits with `reports/ID.exit` (0 when
/// absent).
fn project() -> Project {
    let p = Project::init(None);
    std::fs::create_dir(p.file("reports")).unwrap();
    p.set_config(
        "command",
        r#"["sh", "-c", "cat reports/$ORCH_TASK_ID.txt; exit $(cat reports/$ORCH_TASK_ID.exit 2>/dev/null || echo 0)"]"#,
    );
    p
}

fn add(p: &Project, id: &str, report: &str) {
    let out = p.json(&["add", id]);
    assert_eq!(out["id"], id.replace("t-", "ORCH-"));
    p.write(&format!("reports/{}.txt", out["id"].as_str().unwrap()), report);
}

fn task(p: &Project, id: &str) -> serde_json::Value {
    p.json(&["show", id])
}

fn notes(p: &Project, id: &str) -> String {
    task(p, id)["notes"].as_str().unwrap_or("").to_string()
}

fn words(n: usize) -> String {
    format!("- {}\nRisks: none\n", "token ".repeat(n))
}

#[test]
fn report_rules_and_budgets_route_each_report() {
    let p = project();
    let ten: String = (0..10).map(|i| format!("- point {i}\n")).collect::<String>() + "Risks: none\n";
    add(&p, "t-001", &ten);
    add(&p, "t-002", "- did it\n- no risk section\n");
    add(&p, "t-003", "- did it\n- tested it\nRisks: none\n");
    add(&p, "t-004", &format!("A long preamble that is not a bullet.\n{}", words(2500)));
    add(&p, "t-005", &words(5000));
    p.ok(&["run", "--until-idle", "--quiet"]);

    let t1 = task(&p, "ORCH-001");
    assert_eq!(t1["status"], "FAILED");
    assert!(t1["retry_at"].is_string(), "a RETRY follows the backoff");
    assert!(notes(&p, "ORCH-001").contains("10 bullets (at most 8)"));
    assert_eq!(task(&p, "ORCH-002")["status"], "FAILED");
    assert!(notes(&p, "ORCH-002").contains("no Risks section"));
    assert_eq!(task(&p, "ORCH-003")["status"], "DONE");
    assert_eq!(task(&p, "ORCH-004")["status"], "DONE");
    assert!(notes(&p, "ORCH-004").contains("budget_soft_exceeded"));
    let runs = p.json(&["log", "ORCH-004"]);
    let stored = runs[0]["report"].as_str().unwrap();
    assert!(!stored.contains("preamble"), "the kept report is trimmed to bullets and Risks");
    assert!(p.read(&format!(".orch/runs/{}/stdout.log", runs[0]["id"].as_str().unwrap())).contains("preamble"));
    assert_eq!(task(&p, "ORCH-005")["status"], "BLOCKED");
    assert!(notes(&p, "ORCH-005").contains("budget_hard_exceeded"));
    // Every verdict is on its run.
    let verdicts: Vec<String> = (1..=5)
        .map(|i| p.json(&["log", &format!("ORCH-{i:03}")])[0]["verdict"].as_str().unwrap_or("-").to_string())
        .collect();
    assert_eq!(verdicts, ["RETRY", "RETRY", "PASS", "PASS", "BLOCK"]);
}

#[test]
fn a_reviewer_decides_and_a_broken_one_never_passes() {
    let p = project();
    p.write("reviewer.sh", "#!/bin/sh\ninput=$(cat)\ncase \"$input\" in\n*BLOCKME*) echo '{\"verdict\":\"BLOCK\",\"reason\":\"unsafe\"}';;\n*GARBAGE*) echo 'looks fine to me';;\n*) echo '{\"verdict\":\"PASS\",\"reason\":\"ok\"}';;\nesac\n");
    std::fs::set_permissions(p.file("reviewer.sh"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    p.set_config("reviewer", r#"["./reviewer.sh"]"#);
    add(&p, "t-001", "- BLOCKME\nRisks: none\n");
    add(&p, "t-002", "- GARBAGE\nRisks: none\n");
    add(&p, "t-003", "- fine\nRisks: none\n");
    p.ok(&["run", "--until-idle", "--quiet"]);
    assert_eq!(task(&p, "ORCH-001")["status"], "BLOCKED");
    assert!(notes(&p, "ORCH-001").contains("review_block: unsafe"));
    assert_eq!(task(&p, "ORCH-002")["status"], "FAILED");
    assert!(notes(&p, "ORCH-002").contains("reviewer_failed"));
    assert_eq!(task(&p, "ORCH-003")["status"], "DONE");
}

#[test]
fn a_task_that_spent_its_budget_is_blocked() {
    let p = project();
    p.set_config("backoff", r#"["0s"]"#);
    p.set_config("task_cost_usd", "1");
    let out = p.json(&["add", "expensive", "--max-attempts", "10"]);
    let id = out["id"].as_str().unwrap();
    p.write(&format!("reports/{id}.txt"), "{\"orch\":{\"usage\":{\"input_tokens\":10,\"cost_usd\":0.4}}}\n");
    p.write(&format!("reports/{id}.exit"), "1");
    p.ok(&["run", "--until-idle", "--quiet"]);
    let t = task(&p, id);
    assert_eq!(t["status"], "BLOCKED");
    assert!(notes(&p, id).contains("cost_limit"));
    // $0.4 a run: blocked after the third run reached $1.2, not retried to 10 attempts.
    assert_eq!(p.json(&["log", id]).as_array().unwrap().len(), 3);
}

#[test]
fn past_the_daily_budget_nothing_more_is_claimed() {
    let p = project();
    p.set_config("daily_cost_usd", "1");
    for _ in 0..3 {
        let out = p.json(&["add", "costly"]);
        let id = out["id"].as_str().unwrap();
        p.write(&format!("reports/{id}.txt"), "{\"orch\":{\"usage\":{\"cost_usd\":0.6}}}\n- ok\nRisks: none\n");
    }
    let out = p.ok(&["run", "--until-idle", "--sequential"]);
    assert!(out.contains("daily cost limit reached"), "{out}");
    let statuses: Vec<String> =
        (1..=3).map(|i| task(&p, &format!("ORCH-{i:03}"))["status"].as_str().unwrap().to_string()).collect();
    assert_eq!(statuses, ["DONE", "DONE", "PENDING"]);
    assert!(p.read(".orch/events.jsonl").contains("budget.exceeded"));
}

#[test]
fn review_applies_changed_rules_to_the_last_report() {
    let p = project();
    add(&p, "t-001", &words(5000));
    p.ok(&["run", "--until-idle", "--quiet"]);
    assert_eq!(task(&p, "ORCH-001")["status"], "BLOCKED");
    let v = p.json(&["review", "ORCH-001"]);
    assert_eq!(v["verdict"], "BLOCK");
    p.set_config("hard_tokens", "9000");
    p.set_config("soft_tokens", "8000");
    let v = p.json(&["review", "ORCH-001", "--apply"]);
    assert_eq!((v["verdict"].as_str(), v["status"].as_str()), (Some("PASS"), Some("DONE")));
    assert!(notes(&p, "ORCH-001").contains("accepted:"));
}
