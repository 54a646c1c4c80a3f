//! Mapping between PostgreSQL rows and the core's records, as the SQLite store does it:
//! times are BIGINT milliseconds since the Unix epoch (UTC), counts BIGINT, lists JSON
//! text. Column lists are shared with the queries so the indexes below stay in step.

use crate::{Result, Run, StoreError};
use jiff::Timestamp;
use orch_core::event::{Event, Level};
use orch_core::outcome::Usage;
use orch_core::policy::FailureClass;
use orch_core::task::{Lease, Priority, Status, Task};
use postgres::Row;
use postgres::types::FromSql;

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

/// A count as stored (BIGINT).
pub fn count(n: u32) -> i64 {
    i64::from(n)
}

fn get<'a, T: FromSql<'a>>(r: &'a Row, i: usize) -> Result<T> {
    r.try_get(i).map_err(|e| StoreError::Db(format!("reading column {i}: {e}")))
}

fn ts(v: i64) -> Result<Timestamp> {
    Timestamp::from_millisecond(v).map_err(|e| StoreError::Db(format!("stored time {v}: {e}")))
}

fn opt_ts(v: Option<i64>) -> Result<Option<Timestamp>> {
    v.map(ts).transpose()
}

fn small(v: i64, what: &str) -> Result<u32> {
    u32::try_from(v).map_err(|_| bad(what, &v.to_string()))
}

fn bad(what: &str, v: &str) -> StoreError {
    StoreError::Db(format!("stored {what} `{v}` is not valid"))
}

pub fn task_from_row(r: &Row) -> Result<Task> {
    let status: String = get(r, 1)?;
    let prio: i64 = get(r, 2)?;
    let extra: Option<String> = get(r, 9)?;
    let deps: Option<String> = get(r, 15)?;
    let token: Option<String> = get(r, 16)?;
    let expires: Option<i64> = get(r, 17)?;
    Ok(Task {
        id: get(r, 0)?,
        status: status.parse::<Status>().map_err(|_| bad("status", &status))?,
        priority: Priority::from_rank(prio).ok_or_else(|| bad("priority", &prio.to_string()))?,
        task: get(r, 3)?,
        success_criteria: get(r, 4)?,
        owner: get(r, 5)?,
        started_at: opt_ts(get(r, 6)?)?,
        due_at: opt_ts(get(r, 7)?)?,
        notes: get(r, 8)?,
        extra: match extra {
            Some(s) => serde_json::from_str(&s).map_err(|_| bad("extra columns", &s))?,
            None => Vec::new(),
        },
        attempts: small(get(r, 10)?, "attempts")?,
        max_attempts: small(get(r, 11)?, "max_attempts")?,
        retry_at: opt_ts(get(r, 12)?)?,
        idempotency_key: get(r, 13)?,
        resource: get(r, 14)?,
        depends_on: match deps {
            Some(s) => serde_json::from_str(&s).map_err(|_| bad("dependencies", &s))?,
            None => Vec::new(),
        },
        lease: match (token, expires) {
            (Some(token), Some(at)) => Some(Lease { token, expires_at: ts(at)? }),
            _ => None,
        },
        run_id: get(r, 18)?,
        created_at: ts(get(r, 19)?)?,
        updated_at: ts(get(r, 20)?)?,
        version: get(r, 21)?,
    })
}

pub fn json_or_null<T: serde::Serialize>(v: &[T]) -> Option<String> {
    (!v.is_empty()).then(|| serde_json::to_string(v).expect("lists of strings serialise"))
}

pub fn run_from_row(r: &Row) -> Result<Run> {
    run_from_row_at(r, 0)
}

/// A run whose columns ([`RUN_COLS`]) start at column `at` (after a task's, in a join).
pub fn run_from_row_at(r: &Row, at: usize) -> Result<Run> {
    let class: Option<String> = get(r, at + 12)?;
    Ok(Run {
        id: get(r, at)?,
        task_id: get(r, at + 1)?,
        attempt: small(get(r, at + 2)?, "attempt")?,
        owner: get(r, at + 3)?,
        trace_id: get(r, at + 4)?,
        lease_token: get(r, at + 5)?,
        host: get(r, at + 6)?,
        pid: get(r, at + 7)?,
        pgid: get(r, at + 8)?,
        started_at: ts(get(r, at + 9)?)?,
        ended_at: opt_ts(get(r, at + 10)?)?,
        outcome: get(r, at + 11)?,
        class: class.as_deref().and_then(FailureClass::parse),
        reason: get(r, at + 13)?,
        report: get(r, at + 14)?,
        late_report: get(r, at + 15)?,
        proc_start: get(r, at + 16)?,
        spawned_by: get(r, at + 17)?,
        usage: Usage {
            input_tokens: get::<i64>(r, at + 18)?.max(0) as u64,
            output_tokens: get::<i64>(r, at + 19)?.max(0) as u64,
            cost_usd: get(r, at + 20)?,
        },
        verdict: get(r, at + 21)?,
        verdict_reason: get(r, at + 22)?,
        dispatcher: get(r, at + 23)?,
    })
}

pub fn event_from_row(r: &Row) -> Result<Event> {
    let level: String = get(r, 2)?;
    let status = |i: usize| -> Result<Option<Status>> {
        let s: Option<String> = get(r, i)?;
        Ok(s.and_then(|s| s.parse().ok()))
    };
    let attempt: Option<i64> = get(r, 8)?;
    Ok(Event {
        seq: get(r, 0)?,
        ts: ts(get(r, 1)?)?,
        level: Level::parse(&level),
        event: get(r, 3)?,
        task_id: get(r, 4)?,
        run_id: get(r, 5)?,
        trace_id: get(r, 6)?,
        owner: get(r, 7)?,
        attempt: attempt.map(|a| small(a, "attempt")).transpose()?,
        from: status(9)?,
        to: status(10)?,
        msg: get(r, 11)?,
    })
}
