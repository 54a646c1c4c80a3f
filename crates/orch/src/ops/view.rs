//! The QUEUE.md view as operations: refresh, import, export and check, each given the
//! queue's store, events file, retry policy and clock (the view itself knows none of
//! them, see `sync`).

use super::Orch;
use crate::error::Result;
use crate::sync::{self, Drift, Import, ImportSummary};
use std::path::{Path, PathBuf};

impl Orch {
    /// Brings QUEUE.md up to date (see [`sync::refresh`]); a warning when it was not
    /// rewritten (edits not imported) or edits of a read-only view were saved aside.
    pub fn refresh_view(&self) -> Result<Option<String>> {
        sync::refresh(&self.view, self.db.as_ref(), self.now())
    }

    /// `import [FILE]`: a person's edits of QUEUE.md (or of `file`) into the database.
    pub fn import(&self, file: Option<&Path>, force: bool) -> Result<(ImportSummary, Vec<String>)> {
        let im = Import { db: self.db.as_ref(), events: &self.events, policy: &self.policy, now: self.now() };
        sync::import(&self.view, &im, file, force)
    }

    /// QUEUE.md as a person saved it, taken in as `import` takes it while a dispatcher
    /// runs (see [`sync::import_saved`]).
    pub fn import_saved(&self) -> Result<sync::Saved> {
        let im = Import { db: self.db.as_ref(), events: &self.events, policy: &self.policy, now: self.now() };
        sync::import_saved(&self.view, &im)
    }

    /// `export [FILE] [--all]`: writes the view to `file`, or to QUEUE.md; where, and
    /// warnings.
    pub fn export(&self, file: Option<&Path>, all: bool, force: bool) -> Result<(PathBuf, Vec<String>)> {
        sync::export(&self.view, self.db.as_ref(), self.now(), file, all, force)
    }

    /// `check`: what QUEUE.md says that the database does not; first, when a save of it
    /// was refused and the file is still as orch left it then, why.
    pub fn check(&self) -> Result<Vec<Drift>> {
        let refused = sync::refusal(&self.view, self.db.as_ref())?;
        let mut drift = sync::check(&self.view, self.db.as_ref())?;
        let why = refused.unwrap_or_default().into_iter().map(|p| Drift {
            line: None,
            id: None,
            what: format!("not imported: {p}"),
            stale: false,
        });
        drift.splice(0..0, why);
        Ok(drift)
    }

    /// The view file, if there is one.
    pub fn queue_file(&self) -> Option<&Path> {
        self.view.file()
    }

    /// Whether the view is output only (`ORCH_QUEUE_MD_READ_ONLY=1`).
    pub fn queue_read_only(&self) -> bool {
        self.view.read_only()
    }
}
