//! The JSON form of tasks and runs, shared by every front end (`show --json`, the
//! worker's `ORCH_TASK_JSON`, the HTTP API): keys are the column names, times RFC 3339
//! at millisecond precision (what the database keeps), so a task prints the same
//! whether it was just changed in memory or read back.

use jiff::Timestamp;
use orch_core::task::Task;
use orch_store::Run;
use serde_json::{Map, Value, json};

/// A time as JSON: RFC 3339, cut to the millisecond the database keeps.
fn time(t: Timestamp) -> Value {
    json!(Timestamp::from_millisecond(t.as_millisecond()).unwrap_or(t))
}

fn opt_time(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, time)
}

pub fn task_json(t: &Task) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(t.id));
    m.insert("status".into(), json!(t.status));
    m.insert("priority".into(), json!(t.priority));
    m.insert("task".into(), json!(t.task));
    m.insert("success_criteria".into(), json!(t.success_criteria));
    m.insert("owner_session".into(), json!(t.owner));
    m.insert("started_at".into(), opt_time(t.started_at));
    m.insert("due_at".into(), opt_time(t.due_at));
    m.insert("notes".into(), json!(t.notes));
    m.insert("attempts".into(), json!(t.attempts));
    m.insert("max_attempts".into(), json!(t.max_attempts));
    m.insert("retry_at".into(), opt_time(t.retry_at));
    m.insert("idempotency_key".into(), json!(t.idempotency_key));
    m.insert("depends_on".into(), json!(t.depends_on));
    m.insert("resource".into(), json!(t.resource));
    m.insert("created_at".into(), time(t.created_at));
    m.insert("updated_at".into(), time(t.updated_at));
    if let Some(l) = &t.lease {
        m.insert("lease".into(), json!({"token": l.token, "expires_at": time(l.expires_at)}));
    }
    if let Some(r) = &t.run_id {
        m.insert("run_id".into(), json!(r));
    }
    if !t.extra.is_empty() {
        let extra: Map<String, Value> = t.extra.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        m.insert("extra".into(), Value::Object(extra));
    }
    Value::Object(m)
}

pub fn run_json(r: &Run) -> Value {
    let duration_s = r.ended_at.map(|e| e.duration_since(r.started_at).as_secs_f64());
    json!({
        "id": r.id,
        "task_id": r.task_id,
        "attempt": r.attempt,
        "owner": r.owner,
        "trace_id": r.trace_id,
        "host": r.host,
        "pid": r.pid,
        "started_at": time(r.started_at),
        "ended_at": opt_time(r.ended_at),
        "duration_s": duration_s,
        "outcome": r.outcome,
        "class": r.class,
        "reason": r.reason,
        "report": r.report,
        "late_report": r.late_report,
        "verdict": r.verdict,
        "verdict_reason": r.verdict_reason,
        "usage": r.usage,
        "spawned_by": r.spawned_by,
    })
}
