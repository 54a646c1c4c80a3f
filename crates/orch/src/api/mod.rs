//! The operations API: one function per operation, taking a typed request
//! (`serde::Deserialize`, plain data as a person or program gives it) and giving a typed
//! result (`serde::Serialize`, whose JSON is what the command prints with `--json`).
//! Every front end — the command line, the dashboard, the HTTP server (`serve`) —
//! fills a request and shows the result, so each accepts, changes and refuses exactly
//! as the others do: every check of the input (text a task field can hold, a replan's
//! reason, due times, quick-add and chat parsing) is made here. Errors are
//! `crate::error::Error`, each with its stable code (docs/API.md).
//!
//! Results carry the warnings of the steps after a change (`events.jsonl`, the view) in
//! a `warnings` field their JSON leaves out; a front end shows them apart (the command
//! line on stderr).
//!
//! Layout: `tasks.rs` the operator's changes (add, note, cancel, replan, retry),
//! `quick.rs` quick-add and `chat.rs` chat commands, `worker.rs` the worker's side (pick,
//! heartbeat, done, fail, watchdog), `read.rs` reading tasks (list, show, status, log),
//! `schedule.rs` schedules (recurring work), `observe.rs` KPIs, the fleet, retention and review, `live.rs` what a live front end
//! watches (changes, a run's output, a search), `follow.rs` the files of a task's
//! runs for a reader that follows them (`orch follow`, the run folders), `sync.rs` QUEUE.md
//! (import, export, check), `team.rs` teams, `land.rs` the merge queue, `events.rs` the
//! event log after a sequence number (the HTTP server's event stream), `input.rs` the checks of plain input (ids,
//! text, due times, leases).
//!
//! Not here: the long-running commands (`run`, `exec`, `events --follow`) and the
//! commands that make or move a queue (`init`, `migrate`) call their services directly;
//! they are no request a front end answers.

mod chat;
mod events;
mod follow;
mod input;
mod land;
mod live;
mod observe;
mod pause;
mod quick;
mod read;
mod schedule;
mod sync;
mod tasks;
mod team;
mod worker;

pub use crate::ops::json::{RunView, SCHEMA_VERSION, TaskView};
pub use crate::ops::{
    DepReport, DispatcherLive, FiredTask, Fleet, Holder, NextDue, Options, Orch, Pause, PruneReport, ScheduleCount,
    SkippedOf, StatusSummary, TickReport, TreeNode,
};
pub use chat::{ChatAnswer, ChatRequest, chat};
pub use events::{EventsRequest, events_after, last_event_seq};
pub use follow::{FollowedRun, Gained, RunEnd, followed_run, run_dir, run_end, run_file_since};
pub use input::{parse_due, parse_time_arg};
pub use land::{LandRequest, LandResult, Landed, land};
pub use live::{ChangeWatch, DataVersion, FindRequest, Found, Tail, TailRequest, data_version, find, tail, watch};
pub use observe::{KpiRequest, PruneRequest, ReviewRequest, Reviewed, kpi, prune, review, workers};
pub use pause::{PauseRequest, pause, pauses, resume};
pub use quick::{QuickAdded, QuickRequest, Understood, quick};
pub use read::{
    ListRequest, LogRequest, RunLog, ShowRequest, Shown, StatusRequest, StatusResult, list, log, show, status,
};
pub use schedule::{
    NEXT_MAX, ScheduleAddRequest, ScheduleView, schedule_add, schedule_list, schedule_next, schedule_pause,
    schedule_rm, schedule_tick,
};
pub use sync::{CheckRequest, Checked, ExportRequest, Exported, ImportRequest, Imported, check, export, import};
pub use tasks::{
    AddRequest, Added, CancelRequest, Changed, NoteRequest, ReplanRequest, RetryRequest, add, add_all, cancel, note,
    replan, retry,
};
pub use team::{TeamAddRequest, TeamAdded, team_add};
pub use worker::{
    DoneRequest, FailRequest, Finished, GiveBackRequest, HeartbeatRequest, PickRequest, Picked, Swept, WatchdogRequest,
    dependency_reports, done, fail, give_back, heartbeat, pick, watchdog,
};

/// The time zone times are shown in (`display.time_zone`).
pub fn time_zone(orch: &Orch) -> &jiff::tz::TimeZone {
    orch.tz()
}

/// The queue's `.orch` folder.
pub fn home_dir(orch: &Orch) -> &std::path::Path {
    &orch.home().dir
}

/// The queue's clock: what "now" is for the times a front end shows (`in 2s`).
pub fn now(orch: &Orch) -> jiff::Timestamp {
    orch.now()
}
