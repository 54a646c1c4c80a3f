//! What a live front end (the dashboard) asks for beyond one request and its answer: a
//! watch that blocks until the queue may have changed (the dispatcher's wake-up, the
//! store's `wait_for_change` on a connection of its own), the store's data version (for
//! an answer kept until the data changes), the live output of a task's
//! run (the ends of `stdout.log` and `stderr.log` in its run folder, masked), and a page
//! of the tasks that match a filter and a text.

use super::input::task_id;
use crate::error::{Error, Result};
use crate::ops::Orch;
use crate::ops::json::TaskView;
use orch_core::task::{Priority, Status};
use orch_store::ListFilter;
use serde::{Deserialize, Serialize};
use std::io::{Read, Seek, SeekFrom};
use std::time::Duration;

/// A second connection to the queue's store whose [`ChangeWatch::wait`] returns when
/// another process commits (SQLite: its data version moves; PostgreSQL: a notification).
pub struct ChangeWatch {
    db: Box<dyn orch_store::Backend>,
    notify: bool,
    /// How often it looks on a store without notifications.
    look: Duration,
}

/// How often a watch on a store without notifications looks for a change. The store's
/// own wait looks every few milliseconds, which a dispatcher needs to start work at once
/// but a screen does not: looking 20 times a second keeps an idle dashboard's CPU low.
const LOOK: Duration = Duration::from_millis(50);

/// Opens a [`ChangeWatch`] on the queue's store.
pub fn watch(orch: &Orch) -> Result<ChangeWatch> {
    let db = orch_store::open(orch.db_url())?;
    let notify = db.capabilities().notify;
    Ok(ChangeWatch { db, notify, look: LOOK })
}

impl ChangeWatch {
    /// Looks every `look` instead (a store without notifications), for a front end
    /// that must show a commit sooner than every 50 ms: each look is one read of a counter
    /// in shared memory.
    pub fn every(self, look: Duration) -> ChangeWatch {
        ChangeWatch { look, ..self }
    }

    /// Blocks until the queue may have changed (`true`; a spurious one is allowed) or
    /// `timeout` passes (`false`). A change is seen within 50 ms (or the interval
    /// given to [`ChangeWatch::every`]) on a store that polls, at once on one that
    /// notifies.
    pub fn wait(&self, timeout: Duration) -> Result<bool> {
        if self.notify {
            return Ok(self.db.wait_for_change(timeout)?);
        }
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if self.db.wait_for_change(Duration::ZERO)? {
                return Ok(true);
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            std::thread::sleep(self.look.min(left));
        }
    }
}

/// A connection of its own to the queue's store that tells whether anything was
/// committed since it last looked: its [`DataVersion::now`] moves with every commit
/// (the server's own included, since they are made on other connections), so an
/// answer read after a version was taken is still the answer while the version holds.
pub struct DataVersion {
    db: Box<dyn orch_store::Backend>,
}

/// Opens a [`DataVersion`] on the queue's store; none when the store keeps no data
/// version (PostgreSQL), and then no connection is opened.
pub fn data_version(orch: &Orch) -> Result<Option<DataVersion>> {
    if orch.db().data_version()?.is_none() {
        return Ok(None);
    }
    Ok(Some(DataVersion { db: orch_store::open(orch.db_url())? }))
}

impl DataVersion {
    /// The store's data version now.
    pub fn now(&self) -> Result<Option<i64>> {
        Ok(self.db.data_version()?)
    }
}

/// `tail`: the last `bytes` of the output of a task's run: the run it holds now, else
/// its last one.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TailRequest {
    pub id: String,
    /// At most this many bytes of each file, from its end (whole lines).
    pub bytes: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Tail {
    /// The run whose files these are; none when the task has had no run.
    pub run_id: Option<String>,
    pub stdout: String,
    pub stderr: String,
}

pub fn tail(orch: &Orch, req: TailRequest) -> Result<Tail> {
    let id = task_id(orch, &req.id)?;
    let task = orch.get(&id)?;
    let run_id = match task.run_id {
        Some(r) => Some(r),
        None => orch.runs(&id)?.pop().map(|r| r.id),
    };
    let Some(run_id) = run_id else { return Ok(Tail::default()) };
    let dir = orch.home().run_dir(&run_id);
    let read = |name: &str| -> String {
        let text = file_end(&dir.join(name), req.bytes);
        orch.mask().text(&text).into_owned()
    };
    Ok(Tail { stdout: read("stdout.log"), stderr: read("stderr.log"), run_id: Some(run_id) })
}

/// The last `bytes` of a file as text, starting at a whole line when cut; empty when
/// the file cannot be read.
fn file_end(path: &std::path::Path, bytes: u64) -> String {
    let Ok(mut f) = std::fs::File::open(path) else { return String::new() };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(bytes);
    let mut buf = Vec::new();
    if f.seek(SeekFrom::Start(start)).is_err() || f.take(bytes).read_to_end(&mut buf).is_err() {
        return String::new();
    }
    if start > 0
        && let Some(nl) = buf.iter().position(|&b| b == b'\n')
    {
        buf.drain(..=nl);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// `find`: the tasks of these statuses and priorities (none: all) whose id, text,
/// criteria or notes hold `text` (any case; empty: every task), in pick order, skipping
/// `offset` matches and giving at most `limit`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FindRequest {
    pub statuses: Vec<Status>,
    pub priorities: Vec<Priority>,
    pub text: String,
    pub limit: u64,
    pub offset: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Found {
    pub tasks: Vec<TaskView>,
    /// More tasks match after these.
    pub more: bool,
}

pub fn find(orch: &Orch, req: FindRequest) -> Result<Found> {
    let filter = ListFilter { statuses: req.statuses, priorities: req.priorities };
    let needle = req.text.trim().to_lowercase();
    let mut found = Found::default();
    // Without a text the store skips the offset itself.
    let (mut skipped, mut stopped) = (if needle.is_empty() { req.offset } else { 0 }, false);
    let mut take = |t: orch_core::task::Task| -> Result<()> {
        if !needle.is_empty() && !matches(&t, &needle) {
            return Ok(());
        }
        if skipped < req.offset {
            skipped += 1;
            return Ok(());
        }
        if found.tasks.len() as u64 >= req.limit {
            found.more = true;
            stopped = true;
            return Err(Error::Conflict("enough tasks found".into()));
        }
        found.tasks.push(TaskView::from(&t));
        Ok(())
    };
    // Without a text, the store skips and counts; with one, every task is read once.
    let walked = if needle.is_empty() {
        orch.list_each(&filter, Some(req.limit.saturating_add(1)), req.offset, &mut take)
    } else {
        orch.list_each(&filter, None, 0, &mut take)
    };
    match walked {
        Err(_) if stopped => Ok(found),
        Err(e) => Err(e),
        Ok(()) => Ok(found),
    }
}

fn matches(t: &orch_core::task::Task, needle: &str) -> bool {
    let has = |s: &str| s.to_lowercase().contains(needle);
    has(&t.id) || has(&t.task) || t.success_criteria.as_deref().is_some_and(has) || t.notes.as_deref().is_some_and(has)
}
