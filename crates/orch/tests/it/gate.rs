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
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);

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
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
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
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
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
    let out = p.ok(&["run", "--until-idle", "--max-wait", "0s", "--sequential"]);
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
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
    assert_eq!(task(&p, "ORCH-001")["status"], "BLOCKED");
    let v = p.json(&["review", "ORCH-001"]);
    assert_eq!(v["verdict"], "BLOCK");
    p.set_config("hard_tokens", "9000");
    p.set_config("soft_tokens", "8000");
    let v = p.json(&["review", "ORCH-001", "--apply"]);
    assert_eq!((v["verdict"].as_str(), v["status"].as_str()), (Some("PASS"), Some("DONE")));
    assert!(notes(&p, "ORCH-001").contains("accepted:"));
}

/// Claims the next task with `pick`: its id and lease token.
fn pick(p: &Project) -> (String, String) {
    let v = p.json(&["pick", "--owner", "agent"]);
    (v["id"].as_str().unwrap().to_string(), v["lease"]["token"].as_str().unwrap().to_string())
}

#[test]
fn a_lease_holders_done_goes_through_the_same_gate() {
    let p = project();
    p.set_config("backoff", r#"["0s"]"#);
    p.ok(&["add", "reported badly, then well"]);
    let (id, token) = pick(&p);
    // No report is the empty report: RETRY, exit 5, saying what happened and when next.
    let (code, _, err) = p.run(&["done", &id, "--lease", &token]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("the gate said RETRY (report_invalid: no Risks section"), "{err}");
    assert!(err.contains("it will be retried "), "{err}");
    let t = task(&p, &id);
    assert_eq!((t["status"].as_str(), t["attempts"].as_u64()), (Some("FAILED"), Some(1)));
    assert!(notes(&p, &id).contains("report_invalid"));
    let (again, token) = pick(&p);
    assert_eq!(again, id);
    p.write("good.md", "- did it\nRisks: none\n");
    p.ok(&["done", &id, "--lease", &token, "--report", "good.md", "--notes", "checked twice"]);
    assert_eq!(task(&p, &id)["status"], "DONE");
    let runs = p.json(&["log", &id]);
    assert_eq!((runs[0]["verdict"].as_str(), runs[1]["verdict"].as_str()), (Some("RETRY"), Some("PASS")));
    assert_eq!(runs[1]["report"], "- did it\nRisks: none\n");

    p.ok(&["add", "far too long"]);
    let (id, token) = pick(&p);
    p.write("long.md", &words(5000));
    let (code, _, err) = p.run(&["done", &id, "--lease", &token, "--report", "long.md"]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("the gate said BLOCK (budget_hard_exceeded"), "{err}");
    assert_eq!(task(&p, &id)["status"], "BLOCKED");

    // An operator's --force skips the gate.
    p.ok(&["add", "closed by hand"]);
    let (id, _) = pick(&p);
    p.ok(&["done", &id, "--force"]);
    assert_eq!(task(&p, &id)["status"], "DONE");
}

#[test]
fn done_asks_the_reviewer_and_review_keeps_the_runs_own_review() {
    let p = project();
    p.write(
        "reviewer.sh",
        "#!/bin/sh\nprintf '%s' \"$ORCH_HOME\" > reviewer_home\ninput=$(cat)\ncase \"$input\" in\n\
         *BLOCKME*) echo '{\"verdict\":\"BLOCK\",\"reason\":\"unsafe\"}';;\n\
         *) echo '{\"verdict\":\"PASS\",\"reason\":\"fine\"}';;\nesac\n",
    );
    std::fs::set_permissions(p.file("reviewer.sh"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    p.set_config("reviewer", r#"["./reviewer.sh"]"#);
    p.ok(&["add", "judged"]);
    let (id, token) = pick(&p);
    p.write("r.md", "- BLOCKME\nRisks: none\n");
    let (code, _, err) = p.run(&["done", &id, "--lease", &token, "--report", "r.md"]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("the gate said BLOCK (review_block: unsafe)"), "{err}");
    assert_eq!(task(&p, &id)["status"], "BLOCKED");
    let home = std::fs::canonicalize(p.file(".orch")).unwrap();
    assert_eq!(std::fs::canonicalize(p.read("reviewer_home")).unwrap(), home, "the reviewer gets ORCH_HOME");
    // A dispatcher run with its own review; then `orch review` beside it.
    add(&p, "t-002", "- fine\nRisks: none\n");
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
    assert_eq!(task(&p, "ORCH-002")["status"], "DONE");
    let run = p.json(&["log", "ORCH-002"])[0]["id"].as_str().unwrap().to_string();
    let dir = p.file(&format!(".orch/runs/{run}"));
    let first = std::fs::read_to_string(dir.join("review.log")).unwrap();
    std::fs::write(dir.join("review.log"), format!("{first}(kept)\n")).unwrap();
    let v = p.json(&["review", "ORCH-002"]);
    assert_eq!(v["verdict"], "PASS");
    assert!(std::fs::read_to_string(dir.join("review.log")).unwrap().ends_with("(kept)\n"), "not overwritten");
    let again: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("review.") && n.ends_with(".log") && n != "review.log" && !n.ends_with(".err.log"))
        .collect();
    assert_eq!(again.len(), 1, "the second review has files of its own: {again:?}");
}

#[test]
fn a_task_that_spent_its_budget_is_not_claimed_again_whatever_brought_it_back() {
    let p = project();
    p.set_config("task_cost_usd", "1");
    p.set_config("daily_cost_usd", "1.5");
    p.set_config("command", r#"["sh", "-c", "echo '{\"orch\":{\"usage\":{\"input_tokens\":7,\"output_tokens\":3,\"cost_usd\":2}}}'; echo started > started; exec sleep 60"]"#);
    p.ok(&["add", "expensive"]);
    let mut d = p.spawn("run", &["run"]);
    assert!(crate::common::wait_until(std::time::Duration::from_secs(20), || p.file("started").exists()));
    d.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(d.wait(std::time::Duration::from_secs(20)), Some(0));
    // Put back by the shutdown, its cost recorded.
    let t = task(&p, "ORCH-001");
    assert_eq!(t["status"], "PENDING");
    assert_eq!(
        (t["cost_usd"].as_f64(), t["input_tokens"].as_u64(), t["output_tokens"].as_u64()),
        (Some(2.0), Some(7), Some(3))
    );
    assert!(p.ok(&["log", "ORCH-001"]).contains("total: 1 attempt tokens=7/3 cost=$2.0000"));
    // Nothing claims it again: the claim blocks it.
    p.set_config("daily_cost_usd", "0");
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
    assert_eq!(task(&p, "ORCH-001")["status"], "BLOCKED");
    assert!(notes(&p, "ORCH-001").contains("cost_limit: $2.00 spent (limit $1.00)"));
    assert_eq!(p.json(&["log", "ORCH-001"]).as_array().unwrap().len(), 1, "not run again");
    // The day's spend passed the daily limit: an alert.
    p.set_config("daily_cost_usd", "1.5");
    let k = p.json(&["kpi"]);
    let alerts: Vec<&str> = k["alerts"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert!(alerts.contains(&"daily_cost"), "{k}");
    assert_eq!(p.run(&["kpi", "--fail-on-alert"]).0, 3);
}
