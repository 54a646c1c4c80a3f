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

/// One event, as stored and as printed (one JSON object per line).
#[derive(Clone, Debug, PartialEq, Serialize)]
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

    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).expect("an event always serialises")
    }
}
