//! The dashboard's state: what it last read of the queue (a `Snapshot`, read through
//! `crate::api` only), what the operator chose to see (filters, search, the selected
//! task, the pane's scroll), the line being typed and the status line.

use crate::api::{self, Fleet, Orch, RunView, Shown, StatusResult, StatusSummary, Tail, TaskView};
use crate::error::Result;
use jiff::SignedDuration;
use orch_core::kpi::Alert;
use orch_core::task::{Priority, Status};
use std::time::Instant;

/// Bytes of each of a run's stdout and stderr shown live.
const TAIL_BYTES: u64 = 4096;
/// Dependencies of the selected task whose status is read (the rest are listed).
const DEPS_READ: usize = 12;
/// The window of the KPIs whose alerts the fleet panel shows.
pub const KPI_WINDOW: SignedDuration = SignedDuration::from_hours(24);

/// What the dashboard last read of the queue.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub fleet: Fleet,
    pub summary: StatusSummary,
    /// The task that runs next, with its text.
    pub next: Option<(String, String)>,
    pub alerts: Vec<Alert>,
    /// The page of the task list.
    pub page: Vec<TaskView>,
    /// More tasks match after the page.
    pub more: bool,
    pub detail: Option<Detail>,
    /// A running task's mark in the fleet panel: `wt` (its run works in a worktree) or
    /// `land` (its branch is landing).
    pub marks: std::collections::BTreeMap<String, &'static str>,
}

impl Snapshot {
    /// Nothing read yet.
    pub fn empty() -> Snapshot {
        Snapshot {
            fleet: Fleet {
                now: jiff::Timestamp::UNIX_EPOCH,
                workers: Vec::new(),
                queue: Default::default(),
                paused: Vec::new(),
                dispatchers: Vec::new(),
            },
            summary: StatusSummary {
                total: 0,
                by_status: Default::default(),
                by_priority: Default::default(),
                running: Vec::new(),
                waiting: 0,
                next: None,
                paused: Vec::new(),
                schedules: None,
            },
            next: None,
            alerts: Vec::new(),
            page: Vec::new(),
            more: false,
            detail: None,
            marks: Default::default(),
        }
    }
}

/// The selected task in full.
#[derive(Clone, Debug)]
pub struct Detail {
    pub shown: Shown,
    pub runs: Vec<RunView>,
    /// Each dependency with its status (none: not read, or gone).
    pub deps: Vec<(String, Option<Status>)>,
    pub tail: Tail,
}

/// What the line being typed is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prompt {
    /// A task in the `quick` syntax.
    Add,
    Search,
    /// A note on the task with this id.
    Note(String),
    /// A cancel of this task; the text is the reason (may be empty).
    Cancel(String),
    /// A new priority and the reason: `P0 customer waiting`.
    Replan(String),
}

impl Prompt {
    pub fn label(&self) -> String {
        match self {
            Prompt::Add => "add (quick: p0 text due:+3h criteria:\"…\" #res)".into(),
            Prompt::Search => "search".into(),
            Prompt::Note(id) => format!("note on {id}"),
            Prompt::Cancel(id) => format!("cancel {id}, reason (may be empty)"),
            Prompt::Replan(id) => format!("replan {id}: PRIORITY REASON"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Input {
    pub prompt: Prompt,
    pub text: String,
}

/// The status line: what the last action did, or why it was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    Done(String),
    Refused(String),
}

pub struct App {
    pub snap: Snapshot,
    pub status_filter: Option<Status>,
    pub priority_filter: Option<Priority>,
    pub search: String,
    /// The first task of the page, in the filtered list.
    pub offset: u64,
    /// The selected row of the page.
    pub selected: usize,
    /// The next read keeps the selected task selected wherever it moved (a commit);
    /// cleared when the operator moved the page or changed the filters, so that the row
    /// `selected` is taken.
    pub keep_task: bool,
    /// How many rows of the list fit on screen (set by each draw).
    pub page_rows: u64,
    pub pane_scroll: u16,
    pub input: Option<Input>,
    pub message: Option<Message>,
    /// When the snapshot was read: elapsed times and leases move on from it.
    pub read_at: Instant,
}

impl App {
    pub fn new(snap: Snapshot) -> App {
        App {
            snap,
            status_filter: None,
            priority_filter: None,
            search: String::new(),
            offset: 0,
            selected: 0,
            keep_task: true,
            page_rows: 10,
            pane_scroll: 0,
            input: None,
            message: None,
            read_at: Instant::now(),
        }
    }

    /// The selected task's id.
    pub fn selected_id(&self) -> Option<&str> {
        self.snap.page.get(self.selected).map(|t| t.id.as_str())
    }

    /// Reads everything again; on an error the last snapshot stays and the error shows
    /// in the status line.
    pub fn refresh(&mut self, orch: &Orch) {
        let keep = self.selected_id().filter(|_| self.keep_task).map(str::to_string);
        self.keep_task = true;
        match self.load(orch, keep.as_deref()) {
            Ok(snap) => {
                self.snap = snap;
                self.read_at = Instant::now();
                if let Some(id) = keep
                    && let Some(i) = self.snap.page.iter().position(|t| t.id == id)
                {
                    self.selected = i;
                }
                self.selected = self.selected.min(self.snap.page.len().saturating_sub(1));
                if self.snap.detail.as_ref().map(|d| d.shown.task.id.as_str()) != self.selected_id() {
                    self.snap.detail = self.selected_id().and_then(|id| detail(orch, id).ok());
                }
            }
            Err(e) => self.message = Some(Message::Refused(format!("read failed ({}): {e}", e.code()))),
        }
    }

    /// Reads the live output of the selected task again (the files grow without a
    /// commit).
    pub fn refresh_tail(&mut self, orch: &Orch) {
        if let Some(d) = &mut self.snap.detail
            && let Ok(t) = api::tail(orch, api::TailRequest { id: d.shown.task.id.clone(), bytes: TAIL_BYTES })
        {
            d.tail = t;
        }
    }

    /// Whether what is on screen moves with the clock: a lease is held, or the
    /// selected task runs.
    pub fn ticking(&self) -> bool {
        !self.snap.fleet.workers.is_empty()
            || self.snap.detail.as_ref().is_some_and(|d| d.shown.task.status == Status::InProgress)
    }

    /// Whether a dispatcher was alive at the last read: its refreshes wake nobody on
    /// every store (PostgreSQL notifies task changes only), so the loop reads again
    /// every few seconds to see it stop or go silent.
    pub fn dispatching(&self) -> bool {
        self.snap.fleet.dispatchers.iter().any(|d| d.alive)
    }

    fn load(&self, orch: &Orch, selected: Option<&str>) -> Result<Snapshot> {
        let fleet = api::workers(orch)?;
        let StatusResult::Queue(summary) = api::status(orch, api::StatusRequest { id: None })? else {
            return Err(crate::error::Error::Io("status without an id gave no queue".into()));
        };
        let next = match &summary.next {
            Some(id) => api::show(orch, api::ShowRequest { id: id.clone() }).ok().map(|s| (id.clone(), s.task.task)),
            None => None,
        };
        let alerts = api::kpi(orch, api::KpiRequest { since: KPI_WINDOW })?.alerts;
        let found = api::find(
            orch,
            api::FindRequest {
                statuses: self.status_filter.into_iter().collect(),
                priorities: self.priority_filter.into_iter().collect(),
                text: self.search.clone(),
                limit: self.page_rows.max(1),
                offset: self.offset,
            },
        )?;
        let selected = selected.filter(|id| found.tasks.iter().any(|t| t.id == *id));
        let selected = selected.or_else(|| found.tasks.get(self.selected).map(|t| t.id.as_str()));
        let detail = selected.and_then(|id| detail(orch, id).ok());
        let marks = fleet
            .workers
            .iter()
            .filter_map(|h| {
                let view = crate::workspace::view_of(orch, &h.task_id).ok().flatten()?;
                mark(&view, h.run_id.as_deref()).map(|m| (h.task_id.clone(), m))
            })
            .collect();
        Ok(Snapshot { fleet, summary, next, alerts, page: found.tasks, more: found.more, detail, marks })
    }
}

/// The selected task in full: the task, its runs, its dependencies' statuses, the end
/// of its run's output.
pub fn detail(orch: &Orch, id: &str) -> Result<Detail> {
    let shown = api::show(orch, api::ShowRequest { id: id.to_string() })?;
    let runs = api::log(orch, api::LogRequest { id: id.to_string() })?.runs;
    let deps = shown
        .task
        .depends_on
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let status = if i < DEPS_READ {
                api::show(orch, api::ShowRequest { id: d.clone() }).ok().map(|s| s.task.status)
            } else {
                None
            };
            (d.clone(), status)
        })
        .collect();
    let tail = if runs.is_empty() {
        Tail::default()
    } else {
        api::tail(orch, api::TailRequest { id: id.to_string(), bytes: TAIL_BYTES })?
    };
    Ok(Detail { shown, runs, deps, tail })
}

/// The mark of a running task whose run `run_id` has a worktree (`view`, as `orch show`
/// reads it): `land` while its branch lands, `wt` otherwise; none for an earlier run's.
fn mark(view: &crate::workspace::WorkspaceView, run_id: Option<&str>) -> Option<&'static str> {
    if view.run_id.as_deref() != run_id {
        return None;
    }
    Some(if view.landing == "landing" { "land" } else { "wt" })
}
