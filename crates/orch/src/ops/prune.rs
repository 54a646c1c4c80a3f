//! `prune --older-than DUR`: retention. The history of tasks DONE before the cutoff —
//! every run but the last, every event, and the `.orch/runs/RUN_ID/` folders of the
//! runs removed — goes, with the events that belong to no task and are older than the
//! cutoff. A task's last run and everything of a task that is not DONE stay.
//!
//! Order, for a crash at any point: the database first (one transaction, with a
//! `history.pruned` event), then the folders, then `events.jsonl` is rewritten from the
//! database. A folder whose run is gone is an orphan; the next prune removes it. A file
//! not yet rewritten still holds the pruned lines, which is harmless: the database is
//! the record, and the next prune rewrites it.

use super::Orch;
use crate::error::{Error, Result};
use crate::store;
use jiff::{SignedDuration, Timestamp};
use orch_core::event::{Event, kind};
use serde::Serialize;
use std::path::Path;

/// What a prune removed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PruneReport {
    pub cutoff: Option<Timestamp>,
    /// Tasks whose history was pruned.
    pub tasks: u64,
    pub runs: u64,
    pub events: u64,
    /// Run folders removed (including orphans: folders whose run no longer exists).
    pub folders: u64,
    pub folder_bytes: u64,
    /// How much smaller `events.jsonl` became.
    pub events_file_bytes: u64,
    /// `folder_bytes + events_file_bytes`. The database reuses the space of deleted rows
    /// for new ones; its file does not shrink (no VACUUM).
    pub bytes: u64,
}

impl Orch {
    pub fn prune(&self, older_than: SignedDuration) -> Result<PruneReport> {
        if older_than.is_negative() {
            return Err(Error::Usage("--older-than must not be negative".into()));
        }
        let now = self.now();
        let cutoff = now - older_than;
        let pruned = self.log_change(|tx| {
            let p = tx.prune_before(cutoff)?;
            if !p.run_ids.is_empty() || p.events > 0 {
                let mut e = Event::new(now, kind::HISTORY_PRUNED);
                e.msg = Some(format!(
                    "{} runs and {} events of {} tasks done before {cutoff}",
                    p.run_ids.len(),
                    p.events,
                    p.tasks
                ));
                tx.event_insert(&e)?;
            }
            Ok(p)
        })?;
        let mut report = PruneReport {
            cutoff: Some(cutoff),
            tasks: pruned.tasks,
            runs: pruned.run_ids.len() as u64,
            events: pruned.events,
            ..PruneReport::default()
        };
        let runs_dir = self.home.runs_dir();
        for id in &pruned.run_ids {
            remove_folder(&runs_dir.join(id), &mut report)?;
        }
        self.remove_orphan_folders(&runs_dir, cutoff, &mut report)?;
        if report.runs > 0 || report.events > 0 {
            let (before, after) = crate::event_log::rewrite(self)?;
            report.events_file_bytes = before.saturating_sub(after);
        }
        report.bytes = report.folder_bytes + report.events_file_bytes;
        Ok(report)
    }

    /// Folders under `.orch/runs/` older than the cutoff whose run is gone (a prune that
    /// stopped between its commit and its folders).
    fn remove_orphan_folders(&self, runs_dir: &Path, cutoff: Timestamp, report: &mut PruneReport) -> Result<()> {
        let Ok(entries) = std::fs::read_dir(runs_dir) else { return Ok(()) };
        let mut old = Vec::new();
        for entry in entries.flatten() {
            let modified = entry.metadata().and_then(|m| m.modified()).ok();
            let is_old = modified.and_then(|m| Timestamp::try_from(m).ok()).is_some_and(|m| m < cutoff);
            if is_old && let Some(name) = entry.file_name().to_str() {
                old.push(name.to_string());
            }
        }
        if old.is_empty() {
            return Ok(());
        }
        let gone: Vec<String> = store::read(self.db.as_ref(), |tx| {
            let mut gone = Vec::new();
            for id in &old {
                if tx.run_get(id)?.is_none() {
                    gone.push(id.clone());
                }
            }
            Ok(gone)
        })?;
        for id in gone {
            remove_folder(&runs_dir.join(id), report)?;
        }
        Ok(())
    }
}

/// Removes a run's folder, counting its bytes; a folder that is not there is fine.
fn remove_folder(dir: &Path, report: &mut PruneReport) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    report.folder_bytes += size_of(dir);
    std::fs::remove_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    report.folders += 1;
    Ok(())
}

/// The bytes of the files under `path` (symbolic links are not followed).
fn size_of(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else { return 0 };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(path).map_or(0, |rd| rd.flatten().map(|e| size_of(&e.path())).sum())
}
