//! Read commands: list, show, status, log.

use super::operator::parse_priority;
use super::output::{clip, print, print_json, time};
use crate::error::Result;
use crate::ops::Orch;
use crate::ops::json::{run_json, task_json};
use crate::store::ListFilter;
use orch_core::task::{Priority, Status};

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
    for t in &tasks {
        print(&format!(
            "{:<10} {:<11} {}  {}  {}",
            t.id,
            t.status,
            t.priority,
            clip(&t.task, 60),
            t.owner.as_deref().unwrap_or("-")
        ));
    }
    Ok(0)
}

#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    id: String,
    #[arg(long)]
    json: bool,
}

pub fn show(orch: &Orch, a: &ShowArgs) -> Result<i32> {
    let t = orch.get(&a.id)?;
    if a.json {
        print_json(&task_json(&t));
        return Ok(0);
    }
    let tz = &orch.tz;
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
    Ok(0)
}

#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    id: Option<String>,
    #[arg(long)]
    json: bool,
}

pub fn status(orch: &Orch, a: &StatusArgs) -> Result<i32> {
    if let Some(id) = &a.id {
        return show(orch, &ShowArgs { id: id.clone(), json: a.json });
    }
    let s = orch.status_summary()?;
    if a.json {
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

#[derive(clap::Args, Debug)]
pub struct LogArgs {
    id: String,
    #[arg(long)]
    json: bool,
}

pub fn log(orch: &Orch, a: &LogArgs) -> Result<i32> {
    let runs = orch.runs(&a.id)?;
    if a.json {
        print_json(&serde_json::Value::Array(runs.iter().map(run_json).collect()));
        return Ok(0);
    }
    if runs.is_empty() {
        print(&format!("{}: no attempts yet", a.id));
    }
    for r in &runs {
        let took = r
            .ended_at
            .map(|e| orch_core::time::format_duration(e.duration_since(r.started_at)))
            .unwrap_or_else(|| "running".into());
        print(&format!(
            "#{} {} owner={} start={} took={} outcome={} class={} reason={} trace={}",
            r.attempt,
            r.id,
            r.owner,
            time(Some(r.started_at), &orch.tz),
            took,
            r.outcome.as_deref().unwrap_or("-"),
            r.class.map_or("-", |c| c.as_str()),
            r.reason.as_deref().unwrap_or("-"),
            r.trace_id
        ));
        if r.late_report.is_some() {
            print("   (a report arrived after the lease was lost; see log --json)");
        }
    }
    Ok(0)
}
