//! Events: one record per change, written in the same transaction as the change and
//! mirrored to `.orch/events.jsonl`. The schema is documented in `docs/EVENTS.md`.

use crate::task::Status;
use jiff::Timestamp;
use serde::Serialize;

/// Event names. A change writes one or more of these (`docs/EVENTS.md`).
pub mod kind {
    pub const TASK_ADDED: &str = "task.added";
    pub const TASK_IMPORTED: &str = "task.imported";
    pub const TASK_EDITED: &str = "task.edited";
    pub const TASK_CLAIMED: &str = "task.claimed";
    pub const TASK_DONE: &str = "task.done";
    pub const TASK_NOTED: &str = "task.noted";
    pub const TASK_CANCELLED: &str = "task.cancelled";
    pub const TASK_REPLANNED: &str = "task.replanned";
    pub const TASK_RETRIED: &str = "task.retried";
    pub const TASK_BLOCKED: &str = "task.blocked";
    pub const TASK_SKIPPED: &str = "task.skipped";
    pub const TASK_INTERRUPTED: &str = "task.interrupted";
    /// A worker deferred its task (a usage limit, a `defer` control line): back to
    /// PENDING until a time, the attempt not counted (`until TIME: REASON` in `msg`).
    pub const TASK_DEFERRED: &str = "task.deferred";
    pub const LEASE_RENEWED: &str = "lease.renewed";
    pub const LEASE_EXPIRED: &str = "lease.expired";
    pub const RUN_FINISHED: &str = "run.finished";
    pub const RETRY_SCHEDULED: &str = "retry.scheduled";
    pub const RETRY_EXHAUSTED: &str = "retry.exhausted";
    pub const REPORT_LATE: &str = "report.late";
    pub const GATE_VERDICT: &str = "gate.verdict";
    pub const BUDGET_EXCEEDED: &str = "budget.exceeded";
    /// `prune` removed old history (no task; the counts in `msg`).
    pub const HISTORY_PRUNED: &str = "history.pruned";
    /// A QUEUE.md saved while a dispatcher ran was refused whole (no task; the problems
    /// in `msg`).
    pub const IMPORT_REFUSED: &str = "import.refused";
    /// `pause`: claims of the queue or of one profile stop (no task; the pause as JSON
    /// in `msg`: profile, until, reason, since).
    pub const QUEUE_PAUSED: &str = "queue.paused";
    /// `resume`: a pause ended (no task; `{"profile": …}` in `msg`).
    pub const QUEUE_RESUMED: &str = "queue.resumed";
    /// A hook (`[hooks]`) exited with a failure or could not start (the task it was
    /// for, if any; the hook's key, program and what happened in `msg`).
    pub const HOOK_FAILED: &str = "hook.failed";
    /// A hook was still running at `hooks.timeout` and was killed with its group.
    pub const HOOK_TIMEOUT: &str = "hook.timeout";
    /// `schedule add`: a schedule was added (no task; its definition as JSON in `msg`).
    pub const SCHEDULE_ADDED: &str = "schedule.added";
    /// `schedule rm`: a schedule was removed (no task; `{"schedule": …}` in `msg`).
    pub const SCHEDULE_REMOVED: &str = "schedule.removed";
    /// `schedule pause`: a schedule stops making tasks (`{"schedule": …}` in `msg`).
    pub const SCHEDULE_PAUSED: &str = "schedule.paused";
    /// `schedule resume`: a paused schedule makes tasks again (`{"schedule": …}`).
    pub const SCHEDULE_RESUMED: &str = "schedule.resumed";
    /// An occurrence of a schedule became a task (the task; schedule, occurrence and
    /// how many missed occurrences it stands for as JSON in `msg`).
    pub const SCHEDULE_FIRED: &str = "schedule.fired";
    /// Occurrences of a schedule made no task: missed while orch was not running, or
    /// refused while the previous one is still open (no task; schedule, reason, count,
    /// first and last as JSON in `msg`).
    pub const SCHEDULE_SKIPPED: &str = "schedule.skipped";
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Level {
        match s {
            "warn" => Level::Warn,
            "error" => Level::Error,
            _ => Level::Info,
        }
    }
}

/// The `schema_version` every event's JSON starts with: raised when a field changes
/// meaning or goes away (a field added keeps it).
pub const SCHEMA_VERSION: u32 = 1;

/// One event, as stored and as printed (one JSON object per line, `schema_version`
/// first, then the fields in this order).
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Position in the store's event log; 0 until stored.
    pub seq: i64,
    pub ts: Timestamp,
    pub level: Level,
    pub event: String,
    pub task_id: Option<String>,
    pub run_id: Option<String>,
    pub trace_id: Option<String>,
    pub owner: Option<String>,
    pub attempt: Option<u32>,
    pub from: Option<Status>,
    pub to: Option<Status>,
    pub msg: Option<String>,
}

impl Event {
    pub fn new(ts: Timestamp, event: &str) -> Event {
        Event {
            seq: 0,
            ts,
            level: Level::Info,
            event: event.to_string(),
            task_id: None,
            run_id: None,
            trace_id: None,
            owner: None,
            attempt: None,
            from: None,
            to: None,
            msg: None,
        }
    }

    /// The event as one line of JSON (`events.jsonl`, `orch events --json`).
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).expect("an event always serialises")
    }
}

impl Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Event", 13)?;
        st.serialize_field("schema_version", &SCHEMA_VERSION)?;
        st.serialize_field("seq", &self.seq)?;
        st.serialize_field("ts", &self.ts)?;
        st.serialize_field("level", &self.level)?;
        st.serialize_field("event", &self.event)?;
        st.serialize_field("task_id", &self.task_id)?;
        st.serialize_field("run_id", &self.run_id)?;
        st.serialize_field("trace_id", &self.trace_id)?;
        st.serialize_field("owner", &self.owner)?;
        st.serialize_field("attempt", &self.attempt)?;
        st.serialize_field("from", &self.from)?;
        st.serialize_field("to", &self.to)?;
        st.serialize_field("msg", &self.msg)?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_line_starts_with_its_schema_version_and_keeps_every_field() {
        let mut e = Event::new("2026-02-08T00:00:00Z".parse().unwrap(), kind::TASK_DONE);
        e.seq = 7;
        e.task_id = Some("ORCH-001".into());
        e.to = Some(Status::Done);
        let line = e.to_json_line();
        assert!(line.starts_with("{\"schema_version\":1,\"seq\":7,\"ts\":\"2026-02-08T00:00:00Z\""), "{line}");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let want = [
            "schema_version",
            "seq",
            "ts",
            "level",
            "event",
            "task_id",
            "run_id",
            "trace_id",
            "owner",
            "attempt",
            "from",
            "to",
            "msg",
        ];
        assert_eq!(keys.len(), want.len(), "{line}");
        assert!(want.iter().all(|k| v.get(k).is_some()), "{line}");
        assert_eq!((v["to"].as_str(), v["level"].as_str()), (Some("DONE"), Some("info")));
    }
}
