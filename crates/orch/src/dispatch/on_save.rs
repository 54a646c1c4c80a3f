//! Import on save for `orch run` (`queue.import_on_save`): a watcher on the view file's
//! folder (`notify`; debounced here, since reads must not count as changes: an editor's
//! save by rename and a write in place alike end in one quiet moment) wakes the loop, which takes the file in as `orch import`
//! would (`sync::import_saved`) and claims at once what it added. A refusal is said on
//! a line of the run's output; orch's own writes of the view are not imports (the sync
//! code tells them by their hash).

use super::msg::Msg;
use super::state::Dispatcher;
use crate::error::{Error, Result};
use crate::ops::Orch;
use crate::sync::Saved;
use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use std::sync::mpsc;
use std::time::Duration;

/// How long the file must be left alone after a change before it is read: an editor's
/// save (a write in place, or a temporary file and a rename) is over by then.
const QUIET: Duration = Duration::from_millis(150);

/// Watches the view file while alive.
pub(super) struct SaveWatch {
    _watcher: RecommendedWatcher,
}

/// Starts watching the view file's folder, when the view is imported on save: there is
/// a view file, it is not read-only, and `queue.import_on_save` is on. A change to the
/// file (made, written, renamed over, its writer closing it) wakes the loop once the
/// file has been left alone for [`QUIET`]; reading it (orch does, and so does a person's
/// `cat`) is no change.
pub(super) fn watch(orch: &Orch, tx: mpsc::Sender<Msg>) -> Result<Option<SaveWatch>> {
    let Some(file) = orch.queue_file().filter(|_| orch.config().queue.import_on_save && !orch.queue_read_only()) else {
        return Ok(None);
    };
    let file = std::path::absolute(file).map_err(|e| Error::io(file, e))?;
    let (Some(dir), Some(name)) = (file.parent().map(std::path::Path::to_path_buf), file.file_name()) else {
        return Ok(None);
    };
    let name = name.to_os_string();
    let (changes, changed) = mpsc::channel();
    let fail = |e: notify::Error| Error::Io(format!("watching {}: {e}", dir.display()));
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(e) = event
            && written(&e.kind)
            && e.paths.iter().any(|p| p.file_name() == Some(name.as_os_str()))
        {
            let _ = changes.send(());
        }
    })
    .map_err(fail)?;
    watcher.watch(&dir, RecursiveMode::NonRecursive).map_err(fail)?;
    // Ends when the watcher (and so the sender its callback holds) is dropped.
    std::thread::spawn(move || {
        while changed.recv().is_ok() {
            loop {
                match changed.recv_timeout(QUIET) {
                    Ok(()) => {}
                    Err(mpsc::RecvTimeoutError::Timeout) => break,
                    Err(mpsc::RecvTimeoutError::Disconnected) => return,
                }
            }
            // The dispatcher's own refresh of the view is no save: it does not wake the
            // loop (a wake-up between turns makes the turns smaller and more of them).
            if crate::sync::is_own_write(&file) {
                continue;
            }
            if tx.send(Msg::Saved).is_err() {
                return;
            }
        }
    });
    Ok(Some(SaveWatch { _watcher: watcher }))
}

/// Whether an event of this kind may have changed the file's content.
fn written(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Modify(_) => true,
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) | EventKind::Remove(_) | EventKind::Any | EventKind::Other => false,
    }
}

impl Dispatcher<'_> {
    /// Takes in the saved view file, if a save is waiting; true when tasks changed (the
    /// loop claims and checks its leases at once). A store that fails for a moment
    /// leaves the save waiting for the next round; any other failure is said and the
    /// save dropped (the next one is taken).
    pub(super) fn take_save(&mut self) -> Result<bool> {
        if !self.save_waiting {
            return Ok(false);
        }
        let saved = match self.orch.import_saved() {
            Err(Error::Store(e)) if e.is_transient() => return Ok(false),
            other => {
                self.save_waiting = false;
                other
            }
        };
        let file = self.orch.queue_file().map(|f| f.display().to_string()).unwrap_or_default();
        match saved {
            Ok(Saved::Imported { summary, warnings }) => {
                let s = &summary;
                let changed = !s.added.is_empty() || !s.edited.is_empty();
                if changed || !s.stale.is_empty() {
                    let mut said = Vec::new();
                    if !s.added.is_empty() {
                        said.push(format!("added {}", s.added.join(", ")));
                    }
                    if !s.edited.is_empty() {
                        said.push(format!("edited {}", s.edited.join(", ")));
                    }
                    if !s.stale.is_empty() {
                        said.push(format!("{} stale row(s) left to the database", s.stale.len()));
                    }
                    self.progress.line(&format!("{file} imported: {}", said.join("; ")));
                }
                for w in warnings {
                    crate::console::eprint(&format!("orch: warning: {w}"));
                }
                Ok(changed)
            }
            Ok(Saved::Refused(problems)) => {
                for p in &problems {
                    self.progress.line(&format!("{file} not imported: {p}"));
                    if self.opts.quiet {
                        crate::console::eprint(&format!("orch: warning: {file} not imported: {p}"));
                    }
                }
                Ok(false)
            }
            Ok(Saved::Unchanged | Saved::Moved) => Ok(false),
            Err(e) => {
                crate::console::eprint(&format!("orch: warning: {file} not imported: {e}"));
                Ok(false)
            }
        }
    }
}
