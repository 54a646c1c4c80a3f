//! `prune --older-than DUR`: retention. The history of tasks DONE before the cutoff —
//! every run but the last, every event, and the `.orch/runs/RUN_ID/` folders of the
//! runs removed — goes, with the events that belong to no task and are older than the
//! cutoff. A task's last run, everything of a task that is not DONE, and the newest
//! event of the log (so event numbers are never reused) stay.
//!
//! Order, for a crash at any point: the database first (one transaction, with a
//! `history.pruned` event and the list of the runs whose folders are to go, kept in
//! the meta entry [`PENDING_FOLDERS`]), then the folders, then the list is cleared and
//! `events.jsonl` is rewritten from the database. A prune stopped before its folders
//! were removed leaves them on the list; the next prune removes them. Only folders of
//! runs this database pruned are ever removed: a folder whose run the database does not
//! know may belong to another database (`--db` aimed elsewhere), so it stays. A file
//! not yet rewritten still holds the pruned lines, which is harmless: the database is
//! the record, and the next prune rewrites it.

use super::Orch;
use crate::error::{Error, Result};
use jiff::{SignedDuration, Timestamp};
use orch_core::event::{Event, kind};
use orch_store::Tx;
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
    /// Run folders removed (including those an interrupted prune left behind).
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
        let cutoff = orch_core::time::earlier(now, older_than);
        let (pruned, folders) = self.log_change(|tx| {
            let p = tx.prune_before(cutoff)?;
            let mut folders = pending_folders(tx)?;
            folders.extend(p.run_ids.iter().cloned());
            if !p.run_ids.is_empty() {
                tx.meta_set(PENDING_FOLDERS, &serde_json::to_string(&folders).expect("strings serialise"))?;
            }
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
            Ok((p, folders))
        })?;
        let mut report = PruneReport {
            cutoff: Some(cutoff),
            tasks: pruned.tasks,
            runs: pruned.run_ids.len() as u64,
            events: pruned.events,
            ..PruneReport::default()
        };
        let runs_dir = self.home.runs_dir();
        for id in &folders {
            remove_folder(&runs_dir.join(id), &mut report)?;
        }
        if !folders.is_empty() {
            orch_store::write(self.db.as_ref(), |tx| {
                let left: Vec<String> = pending_folders(tx)?.into_iter().filter(|id| !folders.contains(id)).collect();
                tx.meta_set(PENDING_FOLDERS, &serde_json::to_string(&left).expect("strings serialise"))
            })?;
        }
        if report.runs > 0 || report.events > 0 {
            let (before, after) = self.events.rewrite(self.db.as_ref())?;
            report.events_file_bytes = before.saturating_sub(after);
        }
        report.bytes = report.folder_bytes + report.events_file_bytes;
        Ok(report)
    }
}

/// The meta entry listing the runs a prune deleted whose folders may still be there
/// (a JSON array of run ids).
const PENDING_FOLDERS: &str = "prune.pending_folders";

fn pending_folders(tx: &mut dyn Tx) -> orch_store::Result<Vec<String>> {
    Ok(tx.meta_get(PENDING_FOLDERS)?.and_then(|v| serde_json::from_str(&v).ok()).unwrap_or_default())
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
