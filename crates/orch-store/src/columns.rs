//! The columns of tasks, runs and events, written once for both stores: the lists the
//! queries select, the decoders that read a row of them back into the core's records,
//! and the values a task insert or compare-and-set update binds, in their order. Times
//! are stored as integer milliseconds since the Unix epoch (UTC), counts as integers,
//! lists as JSON text.
//!
//! A decoder reads through [`RowGet`], which each driver's row implements
//! (`sqlite/rows.rs`, `postgres/rows.rs`): the column's index in, a value or the
//! driver's own error out. A statement's parameters are written `$N` here; SQLite takes
//! them as `?N` ([`sqlite_params`]). The values a task write binds come from
//! [`TaskVals`] through [`task_insert_params!`] ([`NewTaskVals`]) and
//! [`task_update_params!`], which make
//! an array of the driver's own parameter type.

use jiff::Timestamp;
use orch_core::event::{Event, Level};
use orch_core::outcome::Usage;
use orch_core::policy::FailureClass;
use orch_core::task::{Lease, Priority, Status, Task};

use crate::Run;

/// The columns [`task`] reads, in its order.
pub const TASK_COLS: &str = "id, status, priority, task, success_criteria, owner, started_at, due_at, notes, \
     extra, attempts, max_attempts, retry_at, idempotency_key, resource, depends_on, lease_token, \
     lease_expires_at, run_id, created_at, updated_at, version";

/// The columns [`run`] reads, in its order.
pub const RUN_COLS: &str = "id, task_id, attempt, owner, trace_id, lease_token, host, pid, pgid, started_at, \
     ended_at, outcome, class, reason, report, late_report, proc_start, spawned_by, input_tokens, output_tokens, \
     cost_usd, verdict, verdict_reason, dispatcher, session";

/// The columns [`event`] reads, in its order.
pub const EVENT_COLS: &str =
    "seq, ts, level, event, task_id, run_id, trace_id, owner, attempt, from_status, to_status, msg";

/// The columns a task insert writes, bound `$1` to `$24` by [`task_insert_params!`].
pub const TASK_INSERT_COLS: &str = "id, prefix, num, status, priority, task, success_criteria, owner, \
     started_at, due_at, notes, extra, attempts, max_attempts, retry_at, idempotency_key, \
     resource, depends_on, lease_token, lease_expires_at, run_id, created_at, updated_at, version";

/// The placeholders of [`TASK_INSERT_COLS`].
pub const TASK_INSERT_VALUES: &str =
    "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24";

/// A task's compare-and-set write: `$1` the id, `$18` the version read, the rest bound
/// by [`task_update_params!`]. A lost race writes no row.
pub const TASK_UPDATE: &str = "UPDATE tasks SET status = $2, priority = $3, task = $4, success_criteria = $5, \
     owner = $6, started_at = $7, due_at = $8, notes = $9, extra = $10, attempts = $11, max_attempts = $12, \
     retry_at = $13, lease_token = $14, lease_expires_at = $15, run_id = $16, updated_at = $17, \
     version = version + 1 WHERE id = $1 AND version = $18";

/// `sql` with its `$N` parameters written `?N`, as SQLite numbers them (the statements
/// here hold no other `$`).
pub fn sqlite_params(sql: &str) -> String {
    sql.replace('$', "?")
}

/// Reading one column of a row, by index, as the driver stores it.
pub trait RowGet {
    type Error;
    fn text(&self, i: usize) -> Result<String, Self::Error>;
    fn opt_text(&self, i: usize) -> Result<Option<String>, Self::Error>;
    fn int(&self, i: usize) -> Result<i64, Self::Error>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>, Self::Error>;
    fn real(&self, i: usize) -> Result<f64, Self::Error>;
    /// A stored value the records cannot hold: `what` and the value, for the message.
    fn bad(what: &str, value: &str) -> Self::Error;
}

pub fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

pub fn opt_ms(t: Option<Timestamp>) -> Option<i64> {
    t.map(ms)
}

/// A count as stored.
pub fn count(n: u32) -> i64 {
    i64::from(n)
}

pub fn json_or_null<T: serde::Serialize>(v: &[T]) -> Option<String> {
    (!v.is_empty()).then(|| serde_json::to_string(v).expect("lists of strings serialise"))
}

fn ts<R: RowGet>(v: i64) -> Result<Timestamp, R::Error> {
    Timestamp::from_millisecond(v).map_err(|_| R::bad("time", &v.to_string()))
}

fn opt_ts<R: RowGet>(v: Option<i64>) -> Result<Option<Timestamp>, R::Error> {
    v.map(ts::<R>).transpose()
}

fn small<R: RowGet>(v: i64, what: &str) -> Result<u32, R::Error> {
    u32::try_from(v).map_err(|_| R::bad(what, &v.to_string()))
}

/// A task from the columns of [`TASK_COLS`], the first at `at`.
pub fn task<R: RowGet>(r: &R, at: usize) -> Result<Task, R::Error> {
    let status = r.text(at + 1)?;
    let prio = r.int(at + 2)?;
    let extra = r.opt_text(at + 9)?;
    let deps = r.opt_text(at + 15)?;
    let token = r.opt_text(at + 16)?;
    let expires = r.opt_int(at + 17)?;
    Ok(Task {
        id: r.text(at)?,
        status: status.parse::<Status>().map_err(|_| R::bad("status", &status))?,
        priority: Priority::from_rank(prio).ok_or_else(|| R::bad("priority", &prio.to_string()))?,
        task: r.text(at + 3)?,
        success_criteria: r.opt_text(at + 4)?,
        owner: r.opt_text(at + 5)?,
        started_at: opt_ts::<R>(r.opt_int(at + 6)?)?,
        due_at: opt_ts::<R>(r.opt_int(at + 7)?)?,
        notes: r.opt_text(at + 8)?,
        extra: match extra {
            Some(s) => serde_json::from_str(&s).map_err(|_| R::bad("extra columns", &s))?,
            None => Vec::new(),
        },
        attempts: small::<R>(r.int(at + 10)?, "attempts")?,
        max_attempts: small::<R>(r.int(at + 11)?, "max_attempts")?,
        retry_at: opt_ts::<R>(r.opt_int(at + 12)?)?,
        idempotency_key: r.opt_text(at + 13)?,
        resource: r.opt_text(at + 14)?,
        depends_on: match deps {
            Some(s) => serde_json::from_str(&s).map_err(|_| R::bad("dependencies", &s))?,
            None => Vec::new(),
        },
        lease: match (token, expires) {
            (Some(token), Some(at)) => Some(Lease { token, expires_at: ts::<R>(at)? }),
            _ => None,
        },
        run_id: r.opt_text(at + 18)?,
        created_at: ts::<R>(r.int(at + 19)?)?,
        updated_at: ts::<R>(r.int(at + 20)?)?,
        version: r.int(at + 21)?,
    })
}

/// A run from the columns of [`RUN_COLS`], the first at `at` (after a task's, in a join).
pub fn run<R: RowGet>(r: &R, at: usize) -> Result<Run, R::Error> {
    let class = r.opt_text(at + 12)?;
    Ok(Run {
        id: r.text(at)?,
        task_id: r.text(at + 1)?,
        attempt: small::<R>(r.int(at + 2)?, "attempt")?,
        owner: r.text(at + 3)?,
        trace_id: r.text(at + 4)?,
        lease_token: r.text(at + 5)?,
        host: r.opt_text(at + 6)?,
        pid: r.opt_int(at + 7)?,
        pgid: r.opt_int(at + 8)?,
        started_at: ts::<R>(r.int(at + 9)?)?,
        ended_at: opt_ts::<R>(r.opt_int(at + 10)?)?,
        outcome: r.opt_text(at + 11)?,
        class: class.as_deref().and_then(FailureClass::parse),
        reason: r.opt_text(at + 13)?,
        report: r.opt_text(at + 14)?,
        late_report: r.opt_text(at + 15)?,
        proc_start: r.opt_int(at + 16)?,
        spawned_by: r.opt_text(at + 17)?,
        usage: Usage {
            input_tokens: r.int(at + 18)?.max(0) as u64,
            output_tokens: r.int(at + 19)?.max(0) as u64,
            cost_usd: r.real(at + 20)?,
        },
        verdict: r.opt_text(at + 21)?,
        verdict_reason: r.opt_text(at + 22)?,
        dispatcher: r.opt_text(at + 23)?,
        session: r.opt_text(at + 24)?,
    })
}

/// An event from the columns of [`EVENT_COLS`], the first at 0.
pub fn event<R: RowGet>(r: &R) -> Result<Event, R::Error> {
    let level = r.text(2)?;
    let status = |i: usize| -> Result<Option<Status>, R::Error> { Ok(r.opt_text(i)?.and_then(|s| s.parse().ok())) };
    Ok(Event {
        seq: r.int(0)?,
        ts: ts::<R>(r.int(1)?)?,
        level: Level::parse(&level),
        event: r.text(3)?,
        task_id: r.opt_text(4)?,
        run_id: r.opt_text(5)?,
        trace_id: r.opt_text(6)?,
        owner: r.opt_text(7)?,
        attempt: r.opt_int(8)?.map(|a| small::<R>(a, "attempt")).transpose()?,
        from: status(9)?,
        to: status(10)?,
        msg: r.opt_text(11)?,
    })
}

/// A task's values as a write binds them, converted once to the store's own types
/// (times in milliseconds, counts as integers, lists as JSON).
pub struct TaskVals<'a> {
    pub t: &'a Task,
    pub status: &'static str,
    pub priority: i64,
    pub started_at: Option<i64>,
    pub due_at: Option<i64>,
    pub extra: Option<String>,
    pub attempts: i64,
    pub max_attempts: i64,
    pub retry_at: Option<i64>,
    pub token: Option<&'a str>,
    pub expires: Option<i64>,
    pub updated_at: i64,
}

impl<'a> TaskVals<'a> {
    pub fn of(t: &'a Task) -> TaskVals<'a> {
        TaskVals {
            t,
            status: t.status.as_str(),
            priority: t.priority.rank(),
            started_at: opt_ms(t.started_at),
            due_at: opt_ms(t.due_at),
            extra: (!t.extra.is_empty()).then(|| serde_json::to_string(&t.extra).expect("pairs serialise")),
            attempts: count(t.attempts),
            max_attempts: count(t.max_attempts),
            retry_at: opt_ms(t.retry_at),
            token: t.lease.as_ref().map(|l| l.token.as_str()),
            expires: t.lease.as_ref().map(|l| ms(l.expires_at)),
            updated_at: ms(t.updated_at),
        }
    }
}

/// What an insert binds besides [`TaskVals`]: the id's parts and what never changes.
pub struct NewTaskVals<'a> {
    pub v: TaskVals<'a>,
    pub prefix: &'a str,
    pub num: i64,
    pub depends_on: Option<String>,
    pub created_at: i64,
}

impl<'a> NewTaskVals<'a> {
    /// The values of `t`, whose id is `prefix` and `num`.
    pub fn of(t: &'a Task, prefix: &'a str, num: u64) -> NewTaskVals<'a> {
        NewTaskVals {
            v: TaskVals::of(t),
            prefix,
            num: i64::try_from(num).unwrap_or(i64::MAX),
            depends_on: json_or_null(&t.depends_on),
            created_at: ms(t.created_at),
        }
    }
}

/// `[e as &param, ...]`: the parameters of a statement as the driver takes them.
macro_rules! as_params {
    ($param:ty; $($e:expr),* $(,)?) => {
        [$($e as &$param),*]
    };
}

/// The parameters of an insert of [`TASK_INSERT_COLS`] from a [`NewTaskVals`], as an
/// array of `&$param` (the driver's parameter type, e.g. `dyn rusqlite::ToSql`).
macro_rules! task_insert_params {
    ($n:expr, $param:ty) => {{
        let n = &$n;
        let v = &n.v;
        let t = v.t;
        as_params!($param;
            &t.id, &n.prefix, &n.num, &v.status, &v.priority, &t.task, &t.success_criteria, &t.owner,
            &v.started_at, &v.due_at, &t.notes, &v.extra, &v.attempts, &v.max_attempts, &v.retry_at,
            &t.idempotency_key, &t.resource, &n.depends_on, &v.token, &v.expires, &t.run_id,
            &n.created_at, &v.updated_at, &t.version,
        )
    }};
}

/// The parameters of [`TASK_UPDATE`] from a [`TaskVals`], as [`task_insert_params!`].
macro_rules! task_update_params {
    ($v:expr, $param:ty) => {{
        let v = &$v;
        let t = v.t;
        as_params!($param;
            &t.id, &v.status, &v.priority, &t.task, &t.success_criteria, &t.owner, &v.started_at,
            &v.due_at, &t.notes, &v.extra, &v.attempts, &v.max_attempts, &v.retry_at, &v.token,
            &v.expires, &t.run_id, &v.updated_at, &t.version,
        )
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The highest `$N` in `sql`.
    fn last_param(sql: &str) -> usize {
        sql.split('$')
            .skip(1)
            .map(|p| p.chars().take_while(char::is_ascii_digit).collect::<String>())
            .map(|n| n.parse().unwrap())
            .max()
            .unwrap()
    }

    #[test]
    fn a_task_write_binds_a_value_for_every_column_it_names() {
        let t = Task::new("ORCH-001".into(), "x".into(), Priority::P1, 3, Timestamp::UNIX_EPOCH);
        let new = NewTaskVals::of(&t, "ORCH", 1);
        let insert = task_insert_params!(new, dyn std::fmt::Debug);
        assert_eq!(TASK_INSERT_COLS.split(", ").count(), insert.len());
        assert_eq!(last_param(TASK_INSERT_VALUES), insert.len());
        let vals = TaskVals::of(&t);
        let update = task_update_params!(vals, dyn std::fmt::Debug);
        assert_eq!(last_param(TASK_UPDATE), update.len());
        assert_eq!(sqlite_params("a = $1 AND b = $12"), "a = ?1 AND b = ?12");
    }
}
