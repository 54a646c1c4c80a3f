//! The files of a task's runs for a reader that follows them: which run to follow (the
//! one the task holds now, else its last), whether and how it ended, where its folder
//! is, and the whole lines a run file (`stdout.log`, `stderr.log`) gained past an
//! offset, masked. `orch follow` and the run folders `orch log` names come from here.

use super::input::task_id;
use crate::error::{Error, Result};
use crate::ops::Orch;
use orch_core::task::Status;
use serde::Serialize;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

/// The run a follower reads: the task's current run, else its last one.
#[derive(Clone, Debug, Serialize)]
pub struct FollowedRun {
    pub task_id: String,
    /// None while the task waits for its first run.
    pub run_id: Option<String>,
}

/// Finds the run to follow. A task with no run yet that may still get one (PENDING,
/// FAILED with a retry ahead, IN_PROGRESS being claimed) gives `run_id: None`; one that
/// never will is not found (exit 4).
pub fn followed_run(orch: &Orch, id: &str) -> Result<FollowedRun> {
    let id = task_id(orch, id)?;
    let task = orch.get(&id)?;
    let run_id = match task.run_id {
        Some(r) => Some(r),
        None => orch.runs(&id)?.pop().map(|r| r.id),
    };
    if run_id.is_none() && matches!(task.status, Status::Done | Status::Blocked) {
        return Err(Error::NotFound(format!("{id} is {} and has had no run to follow", task.status)));
    }
    Ok(FollowedRun { task_id: id, run_id })
}

/// How a run ended: its outcome (`done`, `failed`, `blocked`, or how the dispatcher
/// closed it) and the status its task has now.
#[derive(Clone, Debug, Serialize)]
pub struct RunEnd {
    pub outcome: Option<String>,
    pub task_status: Status,
}

impl RunEnd {
    /// The exit code `orch follow` ends with: 0 done, 5 blocked (by its worker, an
    /// operator's cancel or a limit), 1 any other end (a failure, a lost lease, a run
    /// given back).
    pub fn exit_code(&self) -> i32 {
        match self.outcome.as_deref() {
            Some("done") => 0,
            Some("blocked") => 5,
            _ if self.task_status == Status::Blocked => 5,
            _ => 1,
        }
    }
}

/// The end of run `run_id` of task `id`; `None` while it runs.
pub fn run_end(orch: &Orch, id: &str, run_id: &str) -> Result<Option<RunEnd>> {
    let id = task_id(orch, id)?;
    let run = orch.runs(&id)?.into_iter().find(|r| r.id == run_id);
    let Some(run) = run else { return Err(Error::NotFound(format!("no run {run_id} of {id}"))) };
    if run.ended_at.is_none() {
        return Ok(None);
    }
    let task = orch.get(&id)?;
    Ok(Some(RunEnd { outcome: run.outcome, task_status: task.status }))
}

/// The folder of run `run_id` (`.orch/runs/RUN_ID`), whether or not it still exists.
pub fn run_dir(orch: &Orch, run_id: &str) -> PathBuf {
    orch.home().run_dir(run_id)
}

/// What a run file gained past an offset.
#[derive(Clone, Debug, Default)]
pub struct Gained {
    /// Whole lines, masked, without their line ends.
    pub lines: Vec<String>,
    /// Where the next read starts.
    pub next: u64,
}

/// The largest piece of a run file read at once.
const CHUNK: u64 = 1 << 20;

/// The whole lines file `name` (`stdout.log`, `stderr.log`) of run `run_id` holds past
/// byte `offset`, each masked; with `rest`, a last line without its line end too (the
/// run has ended). A missing file has gained nothing; a file shorter than `offset`
/// (written anew) is read from its start. At most 1 MiB is read a call; a line longer
/// than that is given in pieces.
pub fn run_file_since(orch: &Orch, run_id: &str, name: &str, offset: u64, rest: bool) -> Result<Gained> {
    let path = orch.home().run_dir(run_id).join(name);
    let Ok(mut f) = std::fs::File::open(&path) else { return Ok(Gained { lines: Vec::new(), next: offset }) };
    let len = f.metadata().map_err(|e| Error::Io(format!("{}: {e}", path.display())))?.len();
    let offset = if len < offset { 0 } else { offset };
    let mut buf = Vec::new();
    f.seek(SeekFrom::Start(offset))
        .and_then(|_| f.take(CHUNK).read_to_end(&mut buf))
        .map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
    let full = buf.len() as u64 == CHUNK;
    let keep = match buf.iter().rposition(|&b| b == b'\n') {
        Some(nl) if !rest || full => nl + 1,
        _ if rest || full => buf.len(),
        _ => 0,
    };
    buf.truncate(keep);
    let text = String::from_utf8_lossy(&buf);
    let lines = text
        .strip_suffix('\n')
        .unwrap_or(&text)
        .split('\n')
        .filter(|_| keep > 0)
        .map(|l| orch.mask().text(l.strip_suffix('\r').unwrap_or(l)).into_owned())
        .collect();
    Ok(Gained { lines, next: offset + keep as u64 })
}
