//! One call of a tool: its arguments to the API's request, the API's result to a reply —
//! compact text first (what an agent needs to decide), the JSON the command line prints
//! with `--json` beside it (long fields trimmed, the size said) — and an API error to the
//! same code, message and exit code as the command line gives.

use super::holds::Holds;
use crate::api::{self, Orch, TaskView};
use crate::error::{Error, Result};
use orch_core::task::Status;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The longest text field (a report, the notes) a reply carries whole, in characters.
const FIELD_MAX: usize = 1_500;
/// `list`: the default and the largest limit.
const LIST_DEFAULT: u64 = 20;
const LIST_MAX: u64 = 100;

/// What a tool answers: the text, the structured JSON, whether it is a tool error.
pub struct Reply {
    pub text: String,
    pub json: Value,
    pub is_error: bool,
}

impl Reply {
    fn ok(text: String, json: Value) -> Reply {
        Reply { text, json, is_error: false }
    }

    /// An API error as the command line reports it: code, message, exit code.
    pub fn error(e: &Error) -> Reply {
        let body = e.body();
        let text = format!("error {} (exit {}): {}", body.code, body.exit, body.message);
        Reply { text, json: json!({ "error": body }), is_error: true }
    }
}

/// What every call of a session shares.
pub struct Session {
    pub orch: Arc<Orch>,
    pub owner: String,
    pub holds: Holds,
}

/// Runs tool `name` with arguments already checked against its schema.
pub fn call(s: &Session, name: &str, args: &Map<String, Value>) -> Reply {
    let text = |k: &str| args.get(k).and_then(Value::as_str).map(str::to_string);
    let r = match name {
        "next" => next(s),
        "heartbeat" => heartbeat(s, text("id").unwrap_or_default(), text("lease")),
        "done" => done(s, text("id").unwrap_or_default(), text("lease"), text("report")),
        "fail" => {
            let permanent = args.get("permanent").and_then(Value::as_bool).unwrap_or(false);
            fail(s, text("id").unwrap_or_default(), text("lease"), text("reason").unwrap_or_default(), permanent)
        }
        "add" => add(s, text("text").unwrap_or_default(), text("key")),
        "show" => show(s, text("id").unwrap_or_default()),
        "list" => list(s, text("status"), args.get("limit").and_then(Value::as_u64)),
        "status" => status(s, text("id")),
        _ => Err(Error::Usage(format!("unknown tool `{name}`"))),
    };
    r.unwrap_or_else(|e| Reply::error(&e))
}

/// `text` whole, or its first `FIELD_MAX` characters and how long it was.
fn trim(text: &str) -> String {
    let n = text.chars().count();
    if n <= FIELD_MAX {
        return text.to_string();
    }
    let head: String = text.chars().take(FIELD_MAX).collect();
    format!("{head}… [trimmed: {n} chars in all]")
}

/// The JSON of `v` with its long text fields (notes, reports) trimmed.
fn json_of(v: &impl serde::Serialize) -> Result<Value> {
    let mut v = serde_json::to_value(v).map_err(|e| Error::Io(format!("json: {e}")))?;
    trim_fields(&mut v);
    Ok(v)
}

fn trim_fields(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                match x {
                    Value::String(s) if matches!(k.as_str(), "notes" | "report") => *s = trim(s),
                    _ => trim_fields(x),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(trim_fields),
        _ => {}
    }
}

/// One line for a task: id, status, priority, text.
fn line(t: &TaskView) -> String {
    format!("{} {} {}: {}", t.id, t.status, t.priority, t.task)
}

/// The lease token to act with: the one given, else the one this session holds on `id`.
fn lease_for(s: &Session, id: &str, given: Option<String>) -> Option<String> {
    given.or_else(|| s.holds.token(id)).or_else(|| s.holds.token(&id.to_uppercase()))
}

fn next(s: &Session) -> Result<Reply> {
    let p = api::pick(&s.orch, api::PickRequest { owner: s.owner.clone(), lease: None })?;
    let t = &p.task;
    let until = t.lease.as_ref().map(|l| l.expires_at);
    let every = until
        .and_then(|u| u.duration_since(api::now(&s.orch)).checked_div(3))
        .and_then(|d| std::time::Duration::try_from(d).ok())
        .unwrap_or(std::time::Duration::from_secs(60))
        .max(std::time::Duration::from_secs(1));
    s.holds.hold(&s.orch, &t.id, t.run_id.as_deref().unwrap_or_default(), &p.lease_token, every);
    // Held before anything else can fail: a lease claimed is a lease renewed or given back.
    let deps = api::dependency_reports(&s.orch, &t.id)?;
    let mut text = format!("{} claimed (attempt {} of {}): {}\n", t.id, t.attempts, t.max_attempts, t.task);
    if let Some(c) = &t.success_criteria {
        text.push_str(&format!("criteria: {c}\n"));
    }
    if let Some(n) = &t.notes {
        text.push_str(&format!("notes: {}\n", trim(n)));
    }
    for d in &deps {
        let report = d.report.as_deref().map(trim).unwrap_or_else(|| "(no report)".into());
        text.push_str(&format!("depends on {} {} ({}): {report}\n", d.id, d.status, d.task));
    }
    text.push_str(&format!(
        "lease: {} (this server renews it until done or fail)\nWhen finished call done with id {} and a report of at most 8 bullets and a Risks section; fail if you cannot.",
        p.lease_token, t.id
    ));
    let mut v = json_of(&p)?;
    v["dependencies"] = json_of(&deps)?;
    Ok(Reply::ok(text, v))
}

fn heartbeat(s: &Session, id: String, lease: Option<String>) -> Result<Reply> {
    let lease = lease_for(s, &id, lease);
    let c = api::heartbeat(&s.orch, api::HeartbeatRequest { id, lease, force: false, extend: None })?;
    let until = c.task.lease.as_ref().map(|l| l.expires_at.to_string()).unwrap_or_else(|| "-".into());
    Ok(Reply::ok(format!("{} lease until {until}", c.task.id), json_of(&c)?))
}

fn done(s: &Session, id: String, lease: Option<String>, report: Option<String>) -> Result<Reply> {
    let lease = lease_for(s, &id, lease);
    let r = api::done(&s.orch, api::DoneRequest { id, lease, force: false, notes: None, report })?;
    let t = &r.task;
    s.holds.forget(&t.id);
    let mut v = json_of(&r)?;
    v["verdict"] = json!(r.verdict);
    v["reason"] = json!(r.reason);
    if t.status == Status::Done {
        return Ok(Reply::ok(format!("{} DONE: the gate said PASS", t.id), v));
    }
    let verdict = r.verdict.as_deref().unwrap_or("-");
    let why = r.reason.as_deref().unwrap_or("-");
    let next = match t.retry_at {
        Some(at) => format!(
            "it will be retried {}; fix what the gate said and claim it again with next",
            orch_core::time::format_next(at, api::now(&s.orch), api::time_zone(&s.orch))
        ),
        None if t.status == Status::Failed => "no retry is left".to_string(),
        None => "it waits for an operator (`orch retry`)".to_string(),
    };
    let text = format!("{} not done: the gate said {verdict} ({why}); it is {}, {next}", t.id, t.status);
    Ok(Reply { text, json: v, is_error: true })
}

fn fail(s: &Session, id: String, lease: Option<String>, reason: String, permanent: bool) -> Result<Reply> {
    let lease = lease_for(s, &id, lease);
    let req = api::FailRequest { id, lease, force: false, reason, permanent, report: None };
    let c = api::fail(&s.orch, req)?;
    s.holds.forget(&c.task.id);
    let text = match c.task.retry_at {
        Some(at) => format!(
            "{} {}: retry {}",
            c.task.id,
            c.task.status,
            orch_core::time::format_next(at, api::now(&s.orch), api::time_zone(&s.orch))
        ),
        None => format!("{} {}", c.task.id, c.task.status),
    };
    Ok(Reply::ok(text, json_of(&c)?))
}

fn add(s: &Session, text: String, key: Option<String>) -> Result<Reply> {
    let q = api::quick(&s.orch, api::QuickRequest { text, dry_run: false, idempotency_key: key })?;
    let said = match &q.added {
        Some(t) => format!("added {}", line(t)),
        None => "nothing added".to_string(),
    };
    Ok(Reply::ok(said, json_of(&q)?))
}

fn show(s: &Session, id: String) -> Result<Reply> {
    let t = api::show(&s.orch, api::ShowRequest { id })?;
    Ok(Reply::ok(shown(&t.task), json_of(&t)?))
}

fn shown(t: &TaskView) -> String {
    let mut text = format!("{}\nattempts {} of {}", line(t), t.attempts, t.max_attempts);
    if let Some(c) = &t.success_criteria {
        text.push_str(&format!("\ncriteria: {c}"));
    }
    if !t.depends_on.is_empty() {
        text.push_str(&format!("\ndepends on: {}", t.depends_on.join(", ")));
    }
    if let Some(o) = &t.owner_session {
        text.push_str(&format!("\nowner: {o}"));
    }
    if let Some(n) = &t.notes {
        text.push_str(&format!("\nnotes: {}", trim(n)));
    }
    text
}

fn list(s: &Session, status: Option<String>, limit: Option<u64>) -> Result<Reply> {
    let limit = limit.unwrap_or(LIST_DEFAULT);
    if limit == 0 || limit > LIST_MAX {
        return Err(Error::Usage(format!("list: `limit` must be 1 to {LIST_MAX}, not {limit}")));
    }
    let mut statuses = Vec::new();
    for w in status.iter().flat_map(|s| s.split(',')).map(str::trim).filter(|w| !w.is_empty()) {
        statuses
            .push(w.to_uppercase().parse::<Status>().map_err(|e| Error::Usage(format!("list: `status` {w}: {e}")))?);
    }
    let req = api::ListRequest { statuses, priorities: Vec::new(), limit: Some(limit + 1), offset: 0 };
    let mut tasks = Vec::new();
    api::list(&s.orch, req, &mut |t| {
        tasks.push(t);
        Ok(())
    })?;
    let more = tasks.len() as u64 > limit;
    tasks.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let mut text: Vec<String> = tasks.iter().map(line).collect();
    if tasks.is_empty() {
        text.push("no task".to_string());
    }
    if more {
        text.push(format!("(first {limit} shown; more match: filter by status or raise limit)"));
    }
    Ok(Reply::ok(text.join("\n"), json!({ "tasks": json_of(&tasks)?, "more": more })))
}

fn status(s: &Session, id: Option<String>) -> Result<Reply> {
    let r = api::status(&s.orch, api::StatusRequest { id })?;
    let text = match &r {
        api::StatusResult::Queue(q) => {
            let counts: Vec<String> =
                q.by_status.iter().filter(|(_, n)| **n > 0).map(|(k, n)| format!("{k} {n}")).collect();
            let next = q.next.as_deref().unwrap_or("none");
            format!("{} tasks: {}; running: {}; next: {next}", q.total, counts.join(", "), q.running.len())
        }
        api::StatusResult::Task(t) => shown(&t.task),
        api::StatusResult::Tree(_) => "team tree (see the structured content)".to_string(),
    };
    Ok(Reply::ok(text, json_of(&r)?))
}
