//! The messages that wake the dispatcher's loop (from the launcher thread, the runner's
//! reaper, the database watcher, the view file's watcher and the signal listener), and a started worker as the
//! launcher reports it.

use crate::runner::{Group, SpawnError};
use orch_core::outcome::Exit;

/// What wakes the loop.
pub enum Msg {
    /// A worker's process started (or could not), from the launcher.
    Started {
        run_id: String,
        started: Result<Started, SpawnError>,
    },
    Exited {
        run_id: String,
        exit: Exit,
    },
    Changed,
    /// The view file was saved (by a person, or by orch itself: `on_save` tells).
    Saved,
    /// The name of the signal received (`SIGTERM`, …).
    Signal(&'static str),
}

/// A worker that started: its process (also its group's id), its start time, and the
/// handle that signals its group.
pub struct Started {
    pub pid: i32,
    pub proc_start: Option<i64>,
    pub group: Group,
}
