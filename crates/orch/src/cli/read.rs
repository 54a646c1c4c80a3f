//! Read commands: list, show, status (a team as a tree), log.

use super::operator::parse_priority;
use super::output::{clip, columns, print, print_json, time};
use crate::error::Result;
use crate::ops::json::{run_json, task_json};
use crate::ops::{Orch, TreeNode};
use orch_core::task::{Priority, Status};
use orch_core::time::format_duration;
use orch_store::ListFilter;

#[derive(clap::Args, Debug)]
pub struct ListArgs {
    /// Only these statuses (repeat, or separate with commas).
    #[arg(long, value_delimiter = ',', value_parser = parse_status)]
    status: Vec<Status>,
    #[arg(long, short = 'p', value_delimiter = ',', value_parser = parse_priority)]
    priority: Vec<Priority>,
    #[arg(long)]
    json: bool,
}

fn parse_status(s: &str) -> Result<Status, String> {
    s.to_ascii_uppercase().parse::<Status>().map_err(|e| e.to_string())
}

pub fn list(orch: &Orch, a: &ListArgs) -> Result<i32> {
    let tasks = orch.list(&ListFilter { statuses: a.status.clone(), priorities: a.priority.clone() })?;
    if a.json {
        print_json(&serde_json::Value::Array(tasks.iter().map(task_json).collect()));
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = tasks
        .iter()
        .map(|t| {
            let owner = t.owner.as_deref().unwrap_or("-");
            vec![t.id.clone(), t.status.to_string(), t.priority.to_string(), clip(&t.task, 60), clip(owner, 30)]
        })
        .collect();
    for line in columns(&rows) {
        print(&line);
    }
    Ok(0)
}

#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    #[arg(value_parser = super::task_id)]
    id: String,
    #[arg(long)]
    json: bool,
}

pub fn show(orch: &Orch, a: &ShowArgs) -> Result<i32> {
    let t = orch.get(&a.id)?;
    let usage = orch.task_usage(&t.id)?;
    if a.json {
        let mut v = task_json(&t);
        v["input_tokens"] = serde_json::json!(usage.input_tokens);
        v["output_tokens"] = serde_json::json!(usage.output_tokens);
        v["cost_usd"] = serde_json::json!(usage.cost_usd);
        print_json(&v);
        return Ok(0);
    }
    let tz = orch.tz();
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    print(&format!("id:               {}", t.id));
    print(&format!("status:           {}", t.status));
    print(&format!("priority:         {}", t.priority));
    print(&format!("task:             {}", t.task));
    print(&format!("success_criteria: {}", opt(&t.success_criteria)));
    print(&format!("owner:            {}", opt(&t.owner)));
    print(&format!("started_at:       {}", time(t.started_at, tz)));
    print(&format!("due_at:           {}", time(t.due_at, tz)));
    print(&format!("notes:            {}", opt(&t.notes)));
    print(&format!("attempts:         {}/{}", t.attempts, t.max_attempts));
    if let Some(r) = t.retry_at {
        print(&format!("retry_at:         {}", time(Some(r), tz)));
    }
    if !t.depends_on.is_empty() {
        print(&format!("depends_on:       {}", t.depends_on.join(", ")));
    }
    if let Some(r) = &t.resource {
        print(&format!("resource:         {r}"));
    }
    if let Some(k) = &t.idempotency_key {
        print(&format!("idempotency_key:  {k}"));
    }
    if let Some(l) = &t.lease {
        print(&format!("lease expires:    {}", time(Some(l.expires_at), tz)));
    }
    if !usage.is_zero() {
        print(&format!(
            "usage:            {} in / {} out tokens, ${:.4}",
            usage.input_tokens, usage.output_tokens, usage.cost_usd
        ));
    }
    Ok(0)
}

#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    id: Option<String>,
    #[arg(long)]
    json: bool,
}

pub fn status(orch: &Orch, a: &StatusArgs) -> Result<i32> {
    status_of(orch, a.id.as_deref(), a.json)
}

/// `status [ID]`: the queue's counts; with an ID, that task, and a team (or any task with
/// dependencies) as a tree.
pub(super) fn status_of(orch: &Orch, id: Option<&str>, json: bool) -> Result<i32> {
    if let Some(id) = id {
        if let Some(tree) = orch.team_tree(id)? {
            print_tree(&tree, json);
            return Ok(0);
        }
        return show(orch, &ShowArgs { id: id.to_string(), json });
    }
    let s = orch.status_summary()?;
    if json {
        print_json(&serde_json::to_value(&s).expect("a summary serialises"));
        return Ok(0);
    }
    let counts: Vec<String> = Status::ALL.iter().map(|st| format!("{st} {}", s.by_status[st.as_str()])).collect();
    print(&format!("{} tasks: {}", s.total, counts.join(", ")));
    for p in Priority::ALL {
        if let Some(m) = s.by_priority.get(p.as_str()) {
            let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k} {v}")).collect();
            print(&format!("  {p}: {}", parts.join(", ")));
        }
    }
    if !s.running.is_empty() {
        print(&format!("running: {}", s.running.join(", ")));
    }
    print(&format!("next: {}", s.next.as_deref().unwrap_or("nothing eligible")));
    Ok(0)
}

/// A team as a tree: the lead (its text's first line as the title), then each member
/// with its role, status, attempts, runs, elapsed time and, when stopped, its last note.
fn print_tree(root: &TreeNode, json: bool) {
    if json {
        print_json(&serde_json::to_value(root).expect("a tree serialises"));
        return;
    }
    fn widths(n: &TreeNode, depth: usize, w: &mut (usize, usize)) {
        w.0 = w.0.max(n.id.chars().count() + 3 * depth);
        w.1 = w.1.max(n.role.as_deref().unwrap_or("-").chars().count());
        n.children.iter().for_each(|c| widths(c, depth + 1, w));
    }
    fn lines(n: &TreeNode, lead: &str, rest: &str, w: (usize, usize), out: &mut Vec<String>) {
        let elapsed = n.elapsed_s.map_or_else(
            || "-".to_string(),
            |s| if s < 60.0 { format!("{s:.1}s") } else { format_duration(orch_core::time::secs_f64(s)) },
        );
        let elapsed = if n.status == Status::InProgress { format!("running {elapsed}") } else { elapsed };
        let note = match (n.status, &n.last_note) {
            (Status::Blocked | Status::Failed, Some(note)) => format!("  {note}"),
            _ => String::new(),
        };
        let label = format!("{lead}{}", n.id);
        let runs = if n.runs == 1 { "1 run ".to_string() } else { format!("{} runs", n.runs) };
        out.push(format!(
            "{label:<iw$}  {:<rw$}  {:<11}  attempts {}/{}  {runs}  {elapsed}{note}",
            n.role.as_deref().unwrap_or("-"),
            n.status.as_str(),
            n.attempts,
            n.max_attempts,
            iw = w.0,
            rw = w.1,
        ));
        for (i, c) in n.children.iter().enumerate() {
            let last = i + 1 == n.children.len();
            let (l, r) = if last { ("└─ ", "   ") } else { ("├─ ", "│  ") };
            lines(c, &format!("{rest}{l}"), &format!("{rest}{r}"), w, out);
        }
    }
    let mut w = (0, 0);
    widths(root, 0, &mut w);
    let mut out = vec![root.task.clone()];
    lines(root, "", "", w, &mut out);
    out.iter().for_each(|l| print(l.trim_end()));
}

#[derive(clap::Args, Debug)]
pub struct LogArgs {
    #[arg(value_parser = super::task_id)]
    id: String,
    #[arg(long)]
    json: bool,
}

/// The retry log of a task, generated from its runs: one line per attempt with its
/// owner, start, duration, outcome, failure class and reason, the gate's verdict, the
/// usage it reported and its trace id. Secrets are masked.
pub fn log(orch: &Orch, a: &LogArgs) -> Result<i32> {
    let runs = orch.runs(&a.id)?;
    if a.json {
        let mut v = serde_json::Value::Array(runs.iter().map(run_json).collect());
        orch.mask().json(&mut v);
        print_json(&v);
        return Ok(0);
    }
    if runs.is_empty() {
        print(&format!("{}: no attempts yet", a.id));
    }
    let m = |s: &str| orch.mask().text(s).into_owned();
    for r in &runs {
        let took = r
            .ended_at
            .map(|e| orch_core::time::format_duration(e.duration_since(r.started_at)))
            .unwrap_or_else(|| "running".into());
        let verdict = match (&r.verdict, &r.verdict_reason) {
            (Some(v), Some(why)) if !why.is_empty() => format!("{v} ({})", m(why)),
            (Some(v), _) => v.clone(),
            (None, _) => "-".into(),
        };
        print(&format!(
            "#{} {} owner={} start={} took={} outcome={} class={} reason={} verdict={} tokens={}/{} cost=${:.4} trace={}",
            r.attempt,
            r.id,
            r.owner,
            time(Some(r.started_at), orch.tz()),
            took,
            r.outcome.as_deref().unwrap_or("-"),
            r.class.map_or("-", |c| c.as_str()),
            r.reason.as_deref().map_or_else(|| "-".into(), m),
            verdict,
            r.usage.input_tokens,
            r.usage.output_tokens,
            r.usage.cost_usd,
            r.trace_id
        ));
        if r.late_report.is_some() {
            print("   (a report arrived after the lease was lost; see log --json)");
        }
    }
    if !runs.is_empty() {
        let mut total = orch_core::outcome::Usage::default();
        runs.iter().for_each(|r| total.add(&r.usage));
        let n = runs.len();
        print(&format!(
            "total: {n} attempt{} tokens={}/{} cost=${:.4}",
            if n == 1 { "" } else { "s" },
            total.input_tokens,
            total.output_tokens,
            total.cost_usd
        ));
    }
    Ok(0)
}
