//! The JSON form of tasks and runs, shared by every front end (`show --json`, the
//! worker's `ORCH_TASK_JSON`, the HTTP API): keys are the column names, times RFC 3339.

use crate::store::Run;
use orch_core::task::Task;
use serde_json::{Map, Value, json};

pub fn task_json(t: &Task) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(t.id));
    m.insert("status".into(), json!(t.status));
    m.insert("priority".into(), json!(t.priority));
    m.insert("task".into(), json!(t.task));
    m.insert("success_criteria".into(), json!(t.success_criteria));
    m.insert("owner_session".into(), json!(t.owner));
    m.insert("started_at".into(), json!(t.started_at));
    m.insert("due_at".into(), json!(t.due_at));
    m.insert("notes".into(), json!(t.notes));
    m.insert("attempts".into(), json!(t.attempts));
    m.insert("max_attempts".into(), json!(t.max_attempts));
    m.insert("retry_at".into(), json!(t.retry_at));
    m.insert("idempotency_key".into(), json!(t.idempotency_key));
    m.insert("depends_on".into(), json!(t.depends_on));
    m.insert("resource".into(), json!(t.resource));
    m.insert("created_at".into(), json!(t.created_at));
    m.insert("updated_at".into(), json!(t.updated_at));
    if let Some(l) = &t.lease {
        m.insert("lease".into(), json!({"token": l.token, "expires_at": l.expires_at}));
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
        "started_at": r.started_at,
        "ended_at": r.ended_at,
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
