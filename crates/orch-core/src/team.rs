//! Teams (docs/TEAMS.md): the team template (a JSON file: title, goal, budget, one lead and
//! one to a few workers), its validation, and the text of the tasks a team becomes.
//!
//! Validation reads the JSON as a tree and reports every problem with the field it is
//! in (`workers[1].task: missing`), not only the first one, so a person fixes the file in
//! one go. The team's shape in the queue: one task per worker and a lead task that
//! depends on all of them; each carries its team (the lead's id) and role in its extra
//! columns (`team`, `team_role`), and a token budget, when the template gives one, as
//! `budget_soft_tokens` / `budget_hard_tokens`, which the gate reads for that task.
//! Pure: whether input files exist is the caller's question.

use crate::task::{Priority, Task};
use serde_json::{Map, Value};
use std::fmt;

/// Extra column naming a member's team: the lead's id.
pub const EXTRA_TEAM: &str = "team";
/// Extra column naming a member's role (`lead` for the lead).
pub const EXTRA_ROLE: &str = "team_role";
/// Extra columns holding a task's own token budget (any task may carry them).
pub const EXTRA_SOFT: &str = "budget_soft_tokens";
pub const EXTRA_HARD: &str = "budget_hard_tokens";
/// The lead's role.
pub const LEAD_ROLE: &str = "lead";

/// The most workers a team may ever have (docs/TEAMS.md): `team.hard_cap` may lower it,
/// never raise it.
pub const CAP: usize = 5;

/// How many workers a team may have: `max_workers` unless raised, never past `hard_cap`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_workers: usize,
    pub hard_cap: usize,
}

/// A token budget; `None` leaves the value to the enclosing level (team, then config).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Budget {
    pub soft_tokens: Option<u64>,
    pub hard_tokens: Option<u64>,
}

impl Budget {
    /// This budget, with what it leaves open taken from `outer`.
    pub fn or(self, outer: Budget) -> Budget {
        Budget {
            soft_tokens: self.soft_tokens.or(outer.soft_tokens),
            hard_tokens: self.hard_tokens.or(outer.hard_tokens),
        }
    }

    /// The budget a task carries in its extra columns.
    pub fn of_task(task: &Task) -> Budget {
        let get = |key: &str| {
            task.extra.iter().find(|(k, _)| k == key).and_then(|(_, v)| v.trim().parse::<u64>().ok()).filter(|n| *n > 0)
        };
        Budget { soft_tokens: get(EXTRA_SOFT), hard_tokens: get(EXTRA_HARD) }
    }
}

/// The lead or one worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub role: String,
    pub task: String,
    pub success_criteria: String,
    /// File paths the member reads, relative to the project folder (or absolute).
    pub inputs: Vec<String>,
    pub budget: Budget,
    /// The worker profile (`[profiles.NAME]` of orch.toml) that runs this member.
    pub profile: Option<String>,
    /// Not claimed before this time, as written (any form `add --not-before` takes; the
    /// caller reads it, with its clock); the team's when the member gives none.
    pub not_before: Option<String>,
}

/// A validated team template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Team {
    pub title: String,
    pub goal: String,
    pub priority: Option<Priority>,
    pub budget: Budget,
    /// Every member's not-before time unless the member gives its own (as written).
    pub not_before: Option<String>,
    pub lead: Member,
    pub workers: Vec<Member>,
}

/// One thing wrong with a template: where (`workers[1].task`) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub at: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.at.is_empty() { f.write_str(&self.message) } else { write!(f, "{}: {}", self.at, self.message) }
    }
}

/// Collects problems while the template is read.
struct Check {
    problems: Vec<Problem>,
}

impl Check {
    fn add(&mut self, at: &str, message: impl Into<String>) {
        self.problems.push(Problem { at: at.to_string(), message: message.into() });
    }

    /// Refuses keys that are not in `known` (a typo would otherwise be silently lost).
    fn known_keys(&mut self, map: &Map<String, Value>, at: &str, known: &[&str]) {
        for key in map.keys().filter(|k| !known.contains(&k.as_str())) {
            self.add(&join(at, key), format!("unknown field (expected one of {})", known.join(", ")));
        }
    }

    /// A non-empty string field.
    fn text(&mut self, map: &Map<String, Value>, at: &str, key: &str, required: bool) -> Option<String> {
        let at = join(at, key);
        match map.get(key) {
            None | Some(Value::Null) if required => {
                self.add(&at, "missing");
                None
            }
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.add(&at, "is empty");
                None
            }
            Some(Value::String(s)) => Some(s.trim().to_string()),
            Some(other) => {
                self.add(&at, format!("expected a string, found {}", kind(other)));
                None
            }
        }
    }

    fn budget(&mut self, map: &Map<String, Value>, at: &str) -> Budget {
        let at = join(at, "budget");
        let Some(v) = map.get("budget").filter(|v| !v.is_null()) else { return Budget::default() };
        let Some(b) = v.as_object() else {
            self.add(&at, format!("expected an object {{\"soft_tokens\": N, \"hard_tokens\": N}}, found {}", kind(v)));
            return Budget::default();
        };
        self.known_keys(b, &at, &["soft_tokens", "hard_tokens"]);
        let mut count = |key: &str| match b.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_u64().filter(|n| *n > 0) {
                Some(n) => Some(n),
                None => {
                    self.add(&join(&at, key), format!("expected a positive whole number of tokens, found {v}"));
                    None
                }
            },
        };
        let budget = Budget { soft_tokens: count("soft_tokens"), hard_tokens: count("hard_tokens") };
        if let (Some(s), Some(h)) = (budget.soft_tokens, budget.hard_tokens)
            && s > h
        {
            self.add(&join(&at, "soft_tokens"), format!("{s} is over hard_tokens ({h})"));
        }
        budget
    }

    fn inputs(&mut self, map: &Map<String, Value>, at: &str) -> Vec<String> {
        let at = join(at, "inputs");
        match map.get("inputs") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| match v.as_str().map(str::trim) {
                    Some(s) if !s.is_empty() => Some(s.to_string()),
                    _ => {
                        self.add(&format!("{at}[{i}]"), format!("expected a file path, found {}", kind(v)));
                        None
                    }
                })
                .collect(),
            Some(other) => {
                self.add(&at, format!("expected an array of file paths, found {}", kind(other)));
                Vec::new()
            }
        }
    }

    fn member(&mut self, v: &Value, at: &str, lead: bool) -> Option<Member> {
        let Some(map) = v.as_object() else {
            self.add(at, format!("expected an object, found {}", kind(v)));
            return None;
        };
        self.known_keys(map, at, &["role", "task", "success_criteria", "inputs", "budget", "profile", "not_before"]);
        let role = self.text(map, at, "role", !lead);
        let task = self.text(map, at, "task", true);
        let success_criteria = self.text(map, at, "success_criteria", true);
        let inputs = self.inputs(map, at);
        let budget = self.budget(map, at);
        let profile = self.text(map, at, "profile", false);
        let not_before = self.text(map, at, "not_before", false);
        let role = match (role, lead) {
            (Some(r), true) if r != LEAD_ROLE => {
                self.add(&join(at, "role"), format!("the lead's role is `{LEAD_ROLE}` (or leave it out)"));
                return None;
            }
            (_, true) => LEAD_ROLE.to_string(),
            (Some(r), false) if r.eq_ignore_ascii_case(LEAD_ROLE) => {
                self.add(&join(at, "role"), format!("`{r}` is the lead's role; name the worker's part"));
                return None;
            }
            (r, false) => r?,
        };
        Some(Member { role, task: task?, success_criteria: success_criteria?, inputs, budget, profile, not_before })
    }
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() { key.to_string() } else { format!("{at}.{key}") }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads and validates a team template; every problem is returned, each naming its field.
pub fn parse(text: &str, limits: Limits) -> Result<Team, Vec<Problem>> {
    let root: Value = serde_json::from_str(text).map_err(|e| {
        let what = e.to_string();
        let what = what.split(" at line ").next().unwrap_or(&what).to_string();
        vec![Problem {
            at: format!("line {}, column {}", e.line(), e.column()),
            message: format!("not valid JSON: {what}"),
        }]
    })?;
    let mut c = Check { problems: Vec::new() };
    let Some(map) = root.as_object() else {
        c.add("", format!("expected a JSON object with title, goal, lead and workers, found {}", kind(&root)));
        return Err(c.problems);
    };
    c.known_keys(map, "", &["title", "goal", "priority", "budget", "not_before", "lead", "workers"]);
    let title = c.text(map, "", "title", true);
    if title.as_deref().is_some_and(|t| t.contains('\n')) {
        c.add("title", "must be one line");
    }
    let goal = c.text(map, "", "goal", true);
    let priority = c.text(map, "", "priority", false).and_then(|p| match p.parse::<Priority>() {
        Ok(p) => Some(p),
        Err(e) => {
            c.add("priority", e.to_string());
            None
        }
    });
    let budget = c.budget(map, "");
    let not_before = c.text(map, "", "not_before", false);
    let lead = match map.get("lead") {
        None | Some(Value::Null) => {
            c.add("lead", "missing");
            None
        }
        Some(v) => c.member(v, "lead", true),
    };
    let workers = workers(&mut c, map.get("workers"), limits);
    match (title, goal, lead, c.problems.is_empty()) {
        (Some(title), Some(goal), Some(lead), true) => {
            Ok(Team { title, goal, priority, budget, not_before, lead, workers })
        }
        _ => Err(c.problems),
    }
}

fn workers(c: &mut Check, v: Option<&Value>, limits: Limits) -> Vec<Member> {
    let items = match v {
        None | Some(Value::Null) => {
            c.add("workers", "missing");
            return Vec::new();
        }
        Some(Value::Array(items)) => items,
        Some(other) => {
            c.add("workers", format!("expected an array of workers, found {}", kind(other)));
            return Vec::new();
        }
    };
    let n = items.len();
    if n == 0 {
        c.add("workers", "at least one worker is needed");
    } else if n > limits.hard_cap {
        c.add("workers", format!("{n} workers is over team.hard_cap ({})", limits.hard_cap));
    } else if n > limits.max_workers {
        let cap = limits.hard_cap;
        let msg = format!(
            "{n} workers is over team.max_workers ({}); raise it (up to {cap}) to allow more",
            limits.max_workers
        );
        c.add("workers", msg);
    }
    // Each valid worker with its index in the template, so a message names the worker
    // as the file numbers it even when an earlier one was refused.
    let mut out: Vec<(usize, Member)> = Vec::new();
    for (i, v) in items.iter().enumerate() {
        let at = format!("workers[{i}]");
        let Some(m) = c.member(v, &at, false) else { continue };
        if let Some((j, _)) = out.iter().find(|(_, o)| o.role == m.role) {
            c.add(&join(&at, "role"), format!("`{}` is the role of workers[{j}] too; roles must differ", m.role));
        }
        out.push((i, m));
    }
    out.into_iter().map(|(_, m)| m).collect()
}

/// `ORCH-001 changes, ORCH-002 risks`.
fn roster(team: &Team, worker_ids: &[String]) -> String {
    let pairs = team.workers.iter().zip(worker_ids).map(|(w, id)| format!("{id} {}", w.role));
    pairs.collect::<Vec<_>>().join(", ")
}

fn inputs_line(m: &Member) -> String {
    if m.inputs.is_empty() { String::new() } else { format!("\nInputs: {}", m.inputs.join(", ")) }
}

/// The task text of worker `i`: its role, the team's goal, the lead, its inputs. Kept
/// short: it is a row of QUEUE.md too.
pub fn worker_text(team: &Team, i: usize, lead_id: &str) -> String {
    let w = &team.workers[i];
    let n = team.workers.len();
    format!(
        "[{}/{}] {}\nTeam goal: {}\nYour part: `{}`, one of {n} workers running in parallel; do only this part. \
         Lead {lead_id} merges the reports.{}",
        team.title,
        w.role,
        w.task,
        team.goal,
        w.role,
        inputs_line(w)
    )
}

/// The lead's task text: the goal, its workers, and that it merges their reports.
pub fn lead_text(team: &Team, worker_ids: &[String]) -> String {
    format!(
        "[{}/{LEAD_ROLE}] {}\nTeam goal: {}\nYour part: lead of {}. Their reports are given to you (your \
         dependencies' reports, `deps` in ORCH_TASK_JSON); merge them into one result that meets the goal.{}",
        team.title,
        team.lead.task,
        team.goal,
        roster(team, worker_ids),
        inputs_line(&team.lead)
    )
}

/// The extra columns of a member: its team, its role and its own budget, if any.
pub fn member_extra(lead_id: &str, role: &str, budget: Budget) -> Vec<(String, String)> {
    let mut extra = vec![(EXTRA_TEAM.to_string(), lead_id.to_string()), (EXTRA_ROLE.to_string(), role.to_string())];
    if let Some(s) = budget.soft_tokens {
        extra.push((EXTRA_SOFT.to_string(), s.to_string()));
    }
    if let Some(h) = budget.hard_tokens {
        extra.push((EXTRA_HARD.to_string(), h.to_string()));
    }
    extra
}

/// The value of an extra column of `task`.
pub fn extra<'t>(task: &'t Task, key: &str) -> Option<&'t str> {
    task.extra.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty() && *v != "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits { max_workers: 3, hard_cap: 5 };

    const DESIGN: &str = r#"{
      "title": "Release notes for 0.2",
      "goal": "One page of release notes a user can read in two minutes",
      "budget": {"soft_tokens": 2000, "hard_tokens": 3500},
      "lead": {"task": "Merge the workers' reports into the release notes",
               "success_criteria": "1) every change named 2) under one page"},
      "workers": [
        {"role": "changes", "task": "List user-visible changes since 0.1",
         "success_criteria": "1) each with its commit", "inputs": ["CHANGELOG.md"]},
        {"role": "risks", "task": "List upgrade risks", "success_criteria": "1) each with a fix"}
      ]
    }"#;

    fn problems(text: &str) -> Vec<String> {
        parse(text, LIMITS).unwrap_err().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn the_design_template_is_valid() {
        let t = parse(DESIGN, LIMITS).unwrap();
        assert_eq!(t.title, "Release notes for 0.2");
        assert_eq!(t.budget, Budget { soft_tokens: Some(2000), hard_tokens: Some(3500) });
        assert_eq!(t.lead.role, LEAD_ROLE);
        assert_eq!(t.workers.len(), 2);
        assert_eq!(t.workers[0].inputs, ["CHANGELOG.md"]);
        assert!(t.workers[1].inputs.is_empty());
    }

    #[test]
    fn the_shipped_example_is_valid() {
        let t = parse(include_str!("../../../examples/team.json"), LIMITS).unwrap();
        assert!((1..=3).contains(&t.workers.len()));
    }

    #[test]
    fn every_problem_names_its_field() {
        let cases: &[(&str, &[&str])] = &[
            ("[]", &["expected a JSON object"]),
            ("{\"title\": ", &["line 1, column 10: not valid JSON"]),
            (
                r#"{"goal": 3, "lead": {"task": "t", "success_criteria": "c"}, "workers": []}"#,
                &["title: missing", "goal: expected a string, found a number", "workers: at least one worker"],
            ),
            (
                r#"{"title": "t", "goal": "g", "lead": {"task": "t"},
                   "workers": [{"role": "a", "task": "x", "success_criteria": "c"},
                               {"role": "b", "success_criteria": "c", "inputs": ["ok", 3]}]}"#,
                &[
                    "lead.success_criteria: missing",
                    "workers[1].task: missing",
                    "workers[1].inputs[1]: expected a file path",
                ],
            ),
            (
                r#"{"title": "t", "goal": "g", "lead": {"task": "t", "success_criteria": "c"}, "colour": 1,
                   "workers": [{"role": "a", "task": "x", "success_criteria": "c", "rol": "b"},
                               {"role": "a", "task": "y", "success_criteria": "c"},
                               {"role": "lead", "task": "z", "success_criteria": "c"}]}"#,
                &[
                    "colour: unknown field",
                    "workers[0].rol: unknown field",
                    "workers[1].role: `a` is the role of workers[0]",
                    "workers[2].role: `lead` is the lead's role",
                ],
            ),
            (
                r#"{"title": "t", "goal": "g", "priority": "P7", "budget": {"soft_tokens": 900, "hard_tokens": 100},
                   "lead": {"task": "t", "success_criteria": "c", "budget": {"hard_tokens": -1}},
                   "workers": [{"role": "a", "task": "x", "success_criteria": "c", "budget": 5}]}"#,
                &[
                    "priority: unknown priority",
                    "budget.soft_tokens: 900 is over hard_tokens (100)",
                    "lead.budget.hard_tokens: expected a positive",
                    "workers[0].budget: expected an object",
                ],
            ),
        ];
        for (text, wanted) in cases {
            let got = problems(text);
            for w in *wanted {
                assert!(got.iter().any(|g| g.contains(w)), "{w} not in {got:#?}");
            }
            assert_eq!(got.len(), wanted.len(), "{got:#?}");
        }
    }

    #[test]
    fn a_duplicate_role_names_the_workers_as_the_file_numbers_them() {
        let got = problems(
            r#"{"title": "t", "goal": "g", "lead": {"task": "t", "success_criteria": "c"},
               "workers": [{"role": "a", "task": "x"},
                           {"role": "b", "task": "y", "success_criteria": "c"},
                           {"role": "b", "task": "z", "success_criteria": "c"}]}"#,
        );
        assert_eq!(
            got,
            [
                "workers[0].success_criteria: missing",
                "workers[2].role: `b` is the role of workers[1] too; roles must differ"
            ]
        );
    }

    #[test]
    fn worker_counts_follow_the_limits() {
        let with = |n: usize| {
            let ws: Vec<String> =
                (0..n).map(|i| format!(r#"{{"role": "r{i}", "task": "t", "success_criteria": "c"}}"#)).collect();
            format!(
                r#"{{"title": "t", "goal": "g", "lead": {{"task": "t", "success_criteria": "c"}}, "workers": [{}]}}"#,
                ws.join(",")
            )
        };
        assert!(parse(&with(3), LIMITS).is_ok());
        assert!(problems(&with(4))[0].contains("over team.max_workers (3)"));
        assert!(parse(&with(5), Limits { max_workers: 5, hard_cap: 5 }).is_ok());
        assert!(problems(&with(6))[0].contains("over team.hard_cap (5)"));
    }

    #[test]
    fn member_texts_carry_role_goal_inputs_and_the_lead() {
        let t = parse(DESIGN, LIMITS).unwrap();
        let ids = ["ORCH-001".to_string(), "ORCH-002".to_string()];
        let w = worker_text(&t, 0, "ORCH-003");
        assert!(w.starts_with("[Release notes for 0.2/changes] List user-visible changes since 0.1\n"), "{w}");
        for part in ["Team goal: One page", "`changes`, one of 2 workers", "Lead ORCH-003", "Inputs: CHANGELOG.md"] {
            assert!(w.contains(part), "{part} not in {w}");
        }
        let l = lead_text(&t, &ids);
        assert!(l.starts_with("[Release notes for 0.2/lead] Merge"), "{l}");
        assert!(l.contains("ORCH-001 changes, ORCH-002 risks") && l.contains("deps"), "{l}");
        assert!(!l.contains("Inputs"), "{l}");
    }

    #[test]
    fn budgets_nest_and_ride_in_extra_columns() {
        let team = Budget { soft_tokens: Some(100), hard_tokens: Some(200) };
        let own = Budget { soft_tokens: Some(50), hard_tokens: None };
        assert_eq!(own.or(team), Budget { soft_tokens: Some(50), hard_tokens: Some(200) });
        let mut task = Task::new("ORCH-001".into(), "x".into(), Priority::P1, 4, jiff::Timestamp::UNIX_EPOCH);
        task.extra = member_extra("ORCH-009", "risks", own.or(team));
        assert_eq!(Budget::of_task(&task), Budget { soft_tokens: Some(50), hard_tokens: Some(200) });
        assert_eq!(extra(&task, EXTRA_TEAM), Some("ORCH-009"));
        assert_eq!(extra(&task, EXTRA_ROLE), Some("risks"));
        task.extra = vec![(EXTRA_SOFT.into(), "lots".into())];
        assert_eq!(Budget::of_task(&task), Budget::default());
    }
}
