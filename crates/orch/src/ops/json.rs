//! The JSON form of tasks and runs, shared by every front end (`show --json`, the
//! worker's `ORCH_TASK_JSON`, the HTTP API): `TaskView` and `RunView`, whose keys are
//! the column names in a fixed order, times RFC 3339 at millisecond precision (what the
//! database keeps), so a task prints the same whether it was just changed in memory or
//! read back. Each object carries `schema_version` ([`SCHEMA_VERSION`]) first, raised
//! when a field changes meaning or goes away (a field added keeps it); docs/API.md lists
//! every field.

use jiff::Timestamp;
use orch_core::outcome::Usage;
use orch_core::policy::FailureClass;
use orch_core::task::{Priority, Status, Task};
use orch_store::Run;
use serde::{Serialize, Serializer};
use serde_json::Value;

/// The `schema_version` of the task and run JSON.
pub const SCHEMA_VERSION: u32 = 1;

/// A time cut to the millisecond the database keeps.
fn ms(t: Timestamp) -> Timestamp {
    Timestamp::from_millisecond(t.as_millisecond()).unwrap_or(t)
}

/// A task as every front end shows it.
#[derive(Clone, Debug, Serialize)]
pub struct TaskView {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    pub id: String,
    pub status: Status,
    pub priority: Priority,
    pub task: String,
    pub success_criteria: Option<String>,
    pub owner_session: Option<String>,
    pub started_at: Option<Timestamp>,
    pub due_at: Option<Timestamp>,
    pub notes: Option<String>,
    pub attempts: u32,
    pub max_attempts: u32,
    pub retry_at: Option<Timestamp>,
    /// Not claimed before this time (a PENDING task waits for it); absent when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_before: Option<Timestamp>,
    pub idempotency_key: Option<String>,
    pub depends_on: Vec<String>,
    pub resource: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease: Option<LeaseView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Columns beyond the canonical nine, in file order.
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "as_map")]
    pub extra: Vec<(String, String)>,
}

#[derive(Clone, Debug, Serialize)]
pub struct LeaseView {
    pub token: String,
    pub expires_at: Timestamp,
}

fn as_map<S: Serializer>(pairs: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(pairs.iter().map(|(k, v)| (k, v)))
}

impl From<&Task> for TaskView {
    fn from(t: &Task) -> TaskView {
        TaskView::from(t.clone())
    }
}

/// The task's fields moved, not copied: a page of tasks becomes a page of views
/// without copying its text.
impl From<Task> for TaskView {
    fn from(t: Task) -> TaskView {
        TaskView {
            schema_version: SCHEMA_VERSION,
            id: t.id,
            status: t.status,
            priority: t.priority,
            task: t.task,
            success_criteria: t.success_criteria,
            owner_session: t.owner,
            started_at: t.started_at.map(ms),
            due_at: t.due_at.map(ms),
            notes: t.notes,
            attempts: t.attempts,
            max_attempts: t.max_attempts,
            retry_at: t.retry_at.map(ms),
            not_before: t.not_before.map(ms),
            idempotency_key: t.idempotency_key,
            depends_on: t.depends_on,
            resource: t.resource,
            created_at: ms(t.created_at),
            updated_at: ms(t.updated_at),
            lease: t.lease.map(|l| LeaseView { token: l.token, expires_at: ms(l.expires_at) }),
            run_id: t.run_id,
            extra: t.extra,
        }
    }
}

/// One run (attempt) of a task as every front end shows it.
#[derive(Clone, Debug, Serialize)]
pub struct RunView {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    pub id: String,
    pub task_id: String,
    pub attempt: u32,
    pub owner: String,
    pub trace_id: String,
    pub host: Option<String>,
    pub pid: Option<i64>,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    pub duration_s: Option<f64>,
    pub outcome: Option<String>,
    pub class: Option<FailureClass>,
    pub reason: Option<String>,
    pub report: Option<String>,
    pub late_report: Option<String>,
    pub verdict: Option<String>,
    pub verdict_reason: Option<String>,
    pub usage: Usage,
    pub spawned_by: Option<String>,
    /// The agent session id the worker reported (a retry resumes it).
    pub session: Option<String>,
    /// The run's git worktree and branch (`[workspace] mode = "worktree"`), and how its
    /// landing went: absent when the run had none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worktree: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub landing: Option<String>,
}

impl From<&Run> for RunView {
    fn from(r: &Run) -> RunView {
        RunView {
            schema_version: SCHEMA_VERSION,
            id: r.id.clone(),
            task_id: r.task_id.clone(),
            attempt: r.attempt,
            owner: r.owner.clone(),
            trace_id: r.trace_id.clone(),
            host: r.host.clone(),
            pid: r.pid,
            started_at: ms(r.started_at),
            ended_at: r.ended_at.map(ms),
            duration_s: r.ended_at.map(|e| e.duration_since(r.started_at).as_secs_f64()),
            outcome: r.outcome.clone(),
            class: r.class,
            reason: r.reason.clone(),
            report: r.report.clone(),
            late_report: r.late_report.clone(),
            verdict: r.verdict.clone(),
            verdict_reason: r.verdict_reason.clone(),
            usage: r.usage,
            spawned_by: r.spawned_by.clone(),
            session: r.session.clone(),
            worktree: None,
            branch: None,
            landing: None,
        }
    }
}

/// A view as a JSON value (views hold only strings, numbers and times, which always
/// serialise).
fn value(v: &impl Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

pub fn task_json(t: &Task) -> Value {
    value(&TaskView::from(t))
}

pub fn run_json(r: &Run) -> Value {
    value(&RunView::from(r))
}
