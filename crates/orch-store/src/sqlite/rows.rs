//! Mapping between SQLite rows and the core's records. Times are stored as integer
//! milliseconds since the Unix epoch (UTC); lists as JSON text.

use crate::{Run, StoreError};
use jiff::Timestamp;
use orch_core::event::{Event, Level};
use orch_core::outcome::Usage;
use orch_core::policy::FailureClass;
use orch_core::task::{Lease, Priority, Status, Task};
use rusqlite::Row;

/// The columns `task_from_row` reads, in its order.
pub const TASK_COLS: &str = "id, status, priority, task, success_criteria, owner, started_at, due_at, notes, \
     extra, attempts, max_attempts, retry_at, idempotency_key, resource, depends_on, lease_token, \
     lease_expires_at, run_id, created_at, updated_at, version";

pub const RUN_COLS: &str = "id, task_id, attempt, owner, trace_id, lease_token, host, pid, pgid, started_at, \
     ended_at, outcome, class, reason, report, late_report, proc_start, spawned_by, input_tokens, output_tokens, \
     cost_usd, verdict, verdict_reason, dispatcher";

pub const EVENT_COLS: &str =
    "seq, ts, level, event, task_id, run_id, trace_id, owner, attempt, from_status, to_status, msg";

pub fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

pub fn opt_ms(t: Option<Timestamp>) -> Option<i64> {
    t.map(ms)
}

fn ts(v: i64) -> rusqlite::Result<Timestamp> {
    Timestamp::from_millisecond(v).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

fn opt_ts(v: Option<i64>) -> rusqlite::Result<Option<Timestamp>> {
    v.map(ts).transpose()
}

fn bad(what: &str, v: &str) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(format!("stored {what} `{v}` is not valid").into())
}

pub fn task_from_row(r: &Row<'_>) -> rusqlite::Result<Task> {
    let status: String = r.get(1)?;
    let prio: i64 = r.get(2)?;
    let extra: Option<String> = r.get(9)?;
    let deps: Option<String> = r.get(15)?;
    let token: Option<String> = r.get(16)?;
    let expires: Option<i64> = r.get(17)?;
    Ok(Task {
        id: r.get(0)?,
        status: status.parse::<Status>().map_err(|_| bad("status", &status))?,
        priority: Priority::from_rank(prio).ok_or_else(|| bad("priority", &prio.to_string()))?,
        task: r.get(3)?,
        success_criteria: r.get(4)?,
        owner: r.get(5)?,
        started_at: opt_ts(r.get(6)?)?,
        due_at: opt_ts(r.get(7)?)?,
        notes: r.get(8)?,
        extra: match extra {
            Some(s) => serde_json::from_str(&s).map_err(|_| bad("extra columns", &s))?,
            None => Vec::new(),
        },
        attempts: r.get(10)?,
        max_attempts: r.get(11)?,
        retry_at: opt_ts(r.get(12)?)?,
        idempotency_key: r.get(13)?,
        resource: r.get(14)?,
        depends_on: match deps {
            Some(s) => serde_json::from_str(&s).map_err(|_| bad("dependencies", &s))?,
            None => Vec::new(),
        },
        lease: match (token, expires) {
            (Some(token), Some(at)) => Some(Lease { token, expires_at: ts(at)? }),
            _ => None,
        },
        run_id: r.get(18)?,
        created_at: ts(r.get(19)?)?,
        updated_at: ts(r.get(20)?)?,
        version: r.get(21)?,
    })
}

pub fn json_or_null<T: serde::Serialize>(v: &[T]) -> Option<String> {
    (!v.is_empty()).then(|| serde_json::to_string(v).expect("lists of strings serialise"))
}

pub fn run_from_row(r: &Row<'_>) -> rusqlite::Result<Run> {
    let class: Option<String> = r.get(12)?;
    Ok(Run {
        id: r.get(0)?,
        task_id: r.get(1)?,
        attempt: r.get(2)?,
        owner: r.get(3)?,
        trace_id: r.get(4)?,
        lease_token: r.get(5)?,
        host: r.get(6)?,
        pid: r.get(7)?,
        pgid: r.get(8)?,
        started_at: ts(r.get(9)?)?,
        ended_at: opt_ts(r.get(10)?)?,
        outcome: r.get(11)?,
        class: class.as_deref().and_then(FailureClass::parse),
        reason: r.get(13)?,
        report: r.get(14)?,
        late_report: r.get(15)?,
        proc_start: r.get(16)?,
        spawned_by: r.get(17)?,
        usage: Usage {
            input_tokens: r.get::<_, i64>(18)?.max(0) as u64,
            output_tokens: r.get::<_, i64>(19)?.max(0) as u64,
            cost_usd: r.get(20)?,
        },
        verdict: r.get(21)?,
        verdict_reason: r.get(22)?,
        dispatcher: r.get(23)?,
    })
}

pub fn event_from_row(r: &Row<'_>) -> rusqlite::Result<Event> {
    let level: String = r.get(2)?;
    let status = |i: usize| -> rusqlite::Result<Option<Status>> {
        let s: Option<String> = r.get(i)?;
        Ok(s.and_then(|s| s.parse().ok()))
    };
    Ok(Event {
        seq: r.get(0)?,
        ts: ts(r.get(1)?)?,
        level: Level::parse(&level),
        event: r.get(3)?,
        task_id: r.get(4)?,
        run_id: r.get(5)?,
        trace_id: r.get(6)?,
        owner: r.get(7)?,
        attempt: r.get(8)?,
        from: status(9)?,
        to: status(10)?,
        msg: r.get(11)?,
    })
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        super::db_err(e)
    }
}
