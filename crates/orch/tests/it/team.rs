//! Teams through the real binary (docs/TEAMS.md): `team add` and its template errors, the
//! workers running in parallel and the lead after them with their reports, a worker that
//! fails for good blocking the lead until `retry` re-runs it alone, `status ID` as a
//! tree; and the one-line front doors, `quick` and `chat`.
//!
//! The worker is a shell script that records when it starts and ends (nanoseconds, in
//! files): overlap is read from those records, never from wall-clock expectations.

use crate::common::Project;
use serde_json::Value;

/// Three workers and a lead; `inputs` names a file the test writes.
const TEAM: &str = r#"{
  "title": "Release notes",
  "goal": "One page of release notes",
  "budget": {"soft_tokens": 2000, "hard_tokens": 3500},
  "lead": {"task": "Merge the workers' reports", "success_criteria": "every change named"},
  "workers": [
    {"role": "changes", "task": "List the changes", "success_criteria": "each with its commit", "inputs": ["CHANGELOG.md"]},
    {"role": "risks", "task": "List upgrade risks", "success_criteria": "each with a fix"},
    {"role": "docs", "task": "Find stale docs", "success_criteria": "each page named"}
  ]
}"#;

/// The team member: a worker records `ROLE.start` (written whole, then renamed), fails once with exit 64 when its role
/// is `fail_role`, waits (bounded) until `wait_for` members have started, records
/// `ROLE.end` and reports; the lead records `lead.start` and its prompt, and reports
/// what each dependency reported (from `$ORCH_TASK_JSON`).
fn script(marks: &str, fail_role: &str, wait_for: usize) -> String {
    format!(
        r#"M='{marks}'
field() {{ python3 -c 'import json,os,sys; print(json.load(open(os.environ["ORCH_TASK_JSON"]))["extra"][sys.argv[1]])' "$1"; }}
role=$(field team_role)
if [ "$role" = lead ]; then
  date +%s%N > "$M/lead.start"
  printf '%s' "$1" > "$M/lead.prompt"
  python3 -c '
import json, os
t = json.load(open(os.environ["ORCH_TASK_JSON"]))
for d in t["deps"]:
    print("- saw %s (%s): %s" % (d["id"], d["status"], (d["report"] or "none").splitlines()[0]))
'
  echo "Risks: none"
  exit 0
fi
# The mark appears whole: a member that counts it must never read a start not yet
# written (a redirect creates the file before `date` writes the time).
date +%s%N > "$M/$role.tmp" && mv "$M/$role.tmp" "$M/$role.start"
if [ "$role" = '{fail_role}' ] && [ ! -e "$M/$role.failed" ]; then
  touch "$M/$role.failed"
  echo "cannot do it"
  exit 64
fi
i=0
while [ "$(ls "$M" | grep -c '\.start$')" -lt {wait_for} ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
date +%s%N > "$M/$role.end"
echo "- finding of $role"
echo "Risks: none"
"#
    )
}

/// A project whose worker is [`script`], with `team.json` and its input file.
fn team_project(fail_role: &str, wait_for: usize) -> Project {
    let p = Project::init(None);
    std::fs::create_dir(p.file("marks")).unwrap();
    let marks = p.file("marks").display().to_string();
    p.write("worker.sh", &script(&marks, fail_role, wait_for));
    let worker = p.file("worker.sh").display().to_string();
    p.set_config("command", &format!(r#"["sh", "{worker}", "{{prompt}}"]"#));
    p.write("team.json", TEAM);
    p.write("CHANGELOG.md", "- 0.2: teams\n");
    p
}

/// `team add team.json --json`: (lead, [changes, risks, docs]).
fn add_team(p: &Project) -> (String, Vec<String>) {
    let v = p.json(&["team", "add", "team.json"]);
    let workers: Vec<String> = v["workers"].as_array().unwrap().iter().map(|w| w.as_str().unwrap().into()).collect();
    (v["lead"].as_str().unwrap().to_string(), workers)
}

fn stamp(p: &Project, name: &str) -> u128 {
    p.read(&format!("marks/{name}")).trim().parse().unwrap_or_else(|_| panic!("marks/{name} is not a time"))
}

fn runs(p: &Project, id: &str) -> Vec<Value> {
    p.json(&["log", id]).as_array().unwrap().clone()
}

fn task(p: &Project, id: &str) -> Value {
    p.json(&["show", id])
}

#[test]
fn a_team_of_three_works_in_parallel_then_the_lead_merges_their_reports() {
    let p = team_project("none", 3);
    let (lead, workers) = add_team(&p);
    assert_eq!(
        (lead.as_str(), workers.clone()),
        ("ORCH-004", vec!["ORCH-001".to_string(), "ORCH-002".into(), "ORCH-003".into()])
    );
    let l = task(&p, &lead);
    assert_eq!(l["depends_on"], serde_json::json!(workers));
    assert!(l["task"].as_str().unwrap().starts_with("[Release notes/lead] Merge the workers' reports"));
    let w = task(&p, &workers[0])["task"].as_str().unwrap().to_string();
    for part in ["[Release notes/changes] List the changes", "Team goal: One page", "CHANGELOG.md", "ORCH-004"] {
        assert!(w.contains(part), "{part} not in the worker's text: {w}");
    }
    assert_eq!(task(&p, &workers[0])["extra"]["budget_hard_tokens"], "3500");

    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);

    // Every worker started before any worker ended: they ran at the same time.
    let roles = ["changes", "risks", "docs"];
    let last_start = roles.iter().map(|r| stamp(&p, &format!("{r}.start"))).max().unwrap();
    let first_end = roles.iter().map(|r| stamp(&p, &format!("{r}.end"))).min().unwrap();
    assert!(last_start < first_end, "the workers did not overlap");
    let last_end = roles.iter().map(|r| stamp(&p, &format!("{r}.end"))).max().unwrap();
    assert!(stamp(&p, "lead.start") > last_end, "the lead started before all workers ended");

    // The lead saw every worker's report, in ORCH_TASK_JSON and in its prompt ({deps}).
    let lead_runs = runs(&p, &lead);
    assert_eq!(lead_runs.len(), 1);
    let report = lead_runs[0]["report"].as_str().unwrap();
    for (id, role) in workers.iter().zip(roles) {
        assert!(report.contains(&format!("- saw {id} (DONE): - finding of {role}")), "{report}");
    }
    let prompt = p.read("marks/lead.prompt");
    assert!(roles.iter().all(|r| prompt.contains(&format!("finding of {r}"))), "{prompt}");

    // The tree: the lead over its three workers, all DONE, one run each.
    let tree = p.json(&["status", &lead]);
    assert_eq!(
        (tree["id"].as_str(), tree["role"].as_str(), tree["status"].as_str()),
        (Some("ORCH-004"), Some("lead"), Some("DONE"))
    );
    let kids = tree["children"].as_array().unwrap();
    assert_eq!(kids.iter().map(|k| k["role"].as_str().unwrap()).collect::<Vec<_>>(), roles);
    assert!(
        kids.iter()
            .all(|k| k["status"] == "DONE" && k["runs"] == 1 && k["attempts"] == 1 && k["elapsed_s"].is_number())
    );
    // A worker's status shows its whole team.
    let text = p.ok(&["status", &workers[1]]);
    assert!(text.starts_with("[Release notes/lead]"), "{text}");
    assert!(text.contains("├─ ORCH-001") && text.contains("└─ ORCH-003") && text.contains("risks"), "{text}");
}

#[test]
fn a_worker_that_fails_for_good_blocks_the_lead_until_a_retry_runs_it_alone() {
    let p = team_project("risks", 0);
    let (lead, workers) = add_team(&p);
    let risks = &workers[1];
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);

    let r = task(&p, risks);
    assert_eq!((r["status"].as_str(), r["retry_at"].as_str()), (Some("FAILED"), None), "exit 64 is permanent");
    let l = task(&p, &lead);
    assert_eq!(l["status"], "BLOCKED");
    assert!(l["notes"].as_str().unwrap().ends_with(&format!("blocked_by:{risks}")), "{l}");
    let tree = p.ok(&["status", &lead]);
    assert!(tree.contains(&format!("blocked_by:{risks}")), "{tree}");
    assert!(runs(&p, &lead).is_empty(), "a blocked lead never ran");

    p.ok(&["retry", risks]);
    assert_eq!(task(&p, &lead)["status"], "BLOCKED", "the lead waits for the worker, not for the retry");
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);

    assert_eq!(task(&p, risks)["status"], "DONE");
    let l = task(&p, &lead);
    assert_eq!(l["status"], "DONE", "{l}");
    assert!(l["notes"].as_str().unwrap().contains(&format!("unblocked_by:{risks}")), "{l}");
    let counts: Vec<usize> = workers.iter().map(|w| runs(&p, w).len()).collect();
    assert_eq!(counts, [1, 2, 1], "only the failed worker ran again");
    let report = runs(&p, &lead)[0]["report"].as_str().unwrap().to_string();
    assert!(workers.iter().all(|w| report.contains(&format!("saw {w} (DONE)"))), "{report}");
}

#[test]
fn template_errors_name_the_field_and_add_nothing() {
    let p = Project::init(None);
    let bad = TEAM.replace(r#""task": "List upgrade risks", "#, "").replace("CHANGELOG.md", "NOPE.md");
    p.write("team.json", &bad);
    let (code, _, err) = p.run(&["team", "add", "team.json"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("team.json: workers[1].task: missing"), "{err}");
    p.write("team.json", &TEAM.replace("CHANGELOG.md", "NOPE.md"));
    let (code, _, err) = p.run(&["team", "add", "team.json"]);
    assert_eq!(code, 2);
    assert!(err.contains("team.json: workers[0].inputs[0]: no such file `NOPE.md`"), "{err}");
    let four = TEAM
        .replace(r#"{"role": "docs""#, r#"{"role": "extra", "task": "t", "success_criteria": "c"}, {"role": "docs""#);
    p.write("team.json", &four);
    let (code, _, err) = p.run(&["team", "add", "team.json", "--allow-missing-inputs"]);
    assert_eq!(code, 2);
    assert!(err.contains("team.json: workers: 4 workers is over team.max_workers (3)"), "{err}");
    assert_eq!(p.json(&["list"]), serde_json::json!([]), "nothing was added");
    let v = p.json(&["team", "add", "team.json", "--allow-missing-inputs", "--max-workers", "4"]);
    assert_eq!(v["workers"].as_array().unwrap().len(), 4);
    let (code, _, err) = p.run(&["team", "add", "team.json", "--max-workers", "6"]);
    assert_eq!(code, 2, "{err}");
    // The same key twice: the first team, nothing added.
    let args = ["team", "add", "team.json", "--allow-missing-inputs", "--max-workers", "4", "--idempotency-key", "k"];
    let (first, again) = (p.json(&args), p.json(&args));
    assert_eq!(first, again);
    assert_eq!(p.json(&["list"]).as_array().unwrap().len(), 10);
}

#[test]
fn racing_team_adds_each_get_their_own_contiguous_ids() {
    let p = Project::init(None);
    p.write("team.json", TEAM);
    p.write("CHANGELOG.md", "-");
    let teams: Vec<Value> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..2).map(|_| s.spawn(|| p.json(&["team", "add", "team.json"]))).collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut leads: Vec<&str> = teams.iter().map(|t| t["lead"].as_str().unwrap()).collect();
    leads.sort();
    assert_eq!(leads, ["ORCH-004", "ORCH-008"]);
    for t in &teams {
        let lead = task(&p, t["lead"].as_str().unwrap());
        assert_eq!(lead["depends_on"], t["workers"], "a lead depends on its own workers");
    }
}

#[test]
fn quick_shows_what_it_understood_and_adds_it() {
    let p = Project::init(None);
    let line = r#"p0 릴리즈 노트 작성 due:내일 18:00 criteria:"1) 한 페이지 2) 변경 전부" #docs"#;
    let dry = p.json(&["quick", line, "--dry-run"]);
    assert_eq!(dry["understood"]["task"], "릴리즈 노트 작성");
    assert_eq!(dry["understood"]["priority"], "P0");
    assert_eq!(dry["understood"]["success_criteria"], "1) 한 페이지 2) 변경 전부");
    assert_eq!(dry["understood"]["resource"], "docs");
    assert!(dry["understood"]["due_at_display"].as_str().unwrap().ends_with(" 18:00"));
    assert_eq!(dry["added"], Value::Null);
    assert_eq!(p.json(&["list"]), serde_json::json!([]), "a dry run adds nothing");

    let out = p.ok(&["quick", "fix login due:+3h"]);
    assert!(out.contains("task:     fix login") && out.contains("ORCH-001 added (P1)"), "{out}");
    let t = task(&p, "ORCH-001");
    assert!(t["due_at"].is_string());
    let (code, _, err) = p.run(&["quick", "p0 due:someday"]);
    assert_eq!(code, 2);
    assert!(err.contains("due:someday"), "{err}");
    // An issue number is text, not a resource: a resource starts with a letter.
    let added = p.json(&["quick", "fix issue #123"]);
    assert_eq!((added["added"]["task"].as_str(), added["added"]["resource"].is_null()), (Some("fix issue #123"), true));
}

#[test]
fn team_hard_cap_over_five_is_a_config_error() {
    let p = Project::init(None);
    let cfg = p.read(".orch/orch.toml");
    let at = cfg.find("[team]").expect("a [team] section");
    let team = cfg[at..].replacen("hard_cap = 5", "hard_cap = 6", 1);
    p.write(".orch/orch.toml", &format!("{}{team}", &cfg[..at]));
    p.write("team.json", TEAM);
    let (code, out, err) = p.run(&["team", "add", "team.json", "--allow-missing-inputs"]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(err.contains("team.hard_cap: must be between 1 and 5"), "{err}");
}

#[test]
fn chat_commands_run_through_the_operations() {
    let p = Project::init(None);
    let out = p.ok(&["chat", r#"!add p1 보고서 작성 due:모레 criteria:"요약 포함""#]);
    assert!(out.contains("ORCH-001 added (P1)"), "{out}");
    p.ok(&["add", "second"]);
    let out = p.ok(&["chat", "!status"]);
    assert!(out.contains("2 tasks"), "{out}");
    let out = p.ok(&["chat", "!replan ORCH-001 사용자 포커스 변경"]);
    assert!(out.contains("ORCH-001 replanned: now PENDING"), "{out}");
    assert!(p.ok(&["chat", "!cancel ORCH-002 user_drop"]).contains("now BLOCKED"));
    assert_eq!(task(&p, "ORCH-002")["notes"], "cancelled_by_operator:user_drop");
    assert!(p.ok(&["chat", "!retry ORCH-002"]).contains("now PENDING"));
    assert!(task(&p, "ORCH-001")["notes"].as_str().unwrap().contains("replan:사용자 포커스 변경"));
    // `--json` inside the message asks for JSON, as `chat --json` does.
    let v: Value = serde_json::from_str(&p.ok(&["chat", "!status --json"])).unwrap();
    assert_eq!(v["total"], 2, "{v}");
    assert_eq!(serde_json::from_str::<Value>(&p.ok(&["chat", "!status ORCH-001 --json"])).unwrap()["id"], "ORCH-001");
}

#[test]
fn chat_answers_what_it_cannot_do_on_stdout_for_the_front_end_to_relay() {
    let p = Project::init(None);
    p.ok(&["add", "one"]);
    // Not understood: the reason and the list of commands, on stdout; exit 2.
    for (msg, reason) in [
        ("!deploy everything", "unknown command `!deploy`"),
        ("배포해줘", "is not a command"),
        ("!cancel everything", "`everything` is not a task id"),
        ("!status --verbose", "unknown option `--verbose`"),
    ] {
        let (code, out, err) = p.run(&["chat", msg]);
        assert_eq!((code, err.as_str()), (2, ""), "{msg}");
        assert!(out.contains(reason) && out.contains("!replan ID reason"), "{msg}: {out}");
    }
    // Understood but not possible: the reason on stdout, with the usual exit code.
    let (code, out, err) = p.run(&["chat", "!retry ORCH-404"]);
    assert_eq!((code, err.as_str()), (4, ""));
    assert!(out.contains("no task ORCH-404"), "{out}");
    let (code, out, _) = p.run(&["chat", "!retry ORCH-001"]);
    assert_eq!(code, 5);
    assert!(out.contains("cannot retry ORCH-001"), "{out}");
    let v: Value = serde_json::from_str(&p.run(&["chat", "--json", "!nope"]).1).unwrap();
    assert_eq!((v["command"].is_null(), v["help"].is_string()), (true, true), "{v}");
    assert!(v["error"].as_str().unwrap().contains("unknown command `!nope`"), "{v}");
}

#[test]
fn a_member_budget_from_the_template_is_what_the_gate_applies() {
    let p = team_project("none", 0);
    let tight = r#"{"title": "t", "goal": "g", "lead": {"task": "merge", "success_criteria": "c"},
        "workers": [{"role": "solo", "task": "x", "success_criteria": "c", "budget": {"soft_tokens": 1, "hard_tokens": 5}}]}"#;
    p.write("team.json", tight);
    let (lead, workers) = add_team(&p);
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
    let w = task(&p, &workers[0]);
    assert_eq!(w["status"], "BLOCKED", "{w}");
    assert!(w["notes"].as_str().unwrap().contains("budget_hard_exceeded"), "{w}");
    assert!(task(&p, &lead)["notes"].as_str().unwrap().ends_with(&format!("blocked_by:{}", workers[0])));
}
