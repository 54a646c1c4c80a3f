//! QUEUE.md and the database: import a person's edits, export the view, check for
//! drift.

use crate::error::{Error, Result};
use crate::ops::Orch;
use crate::sync::{Drift, ImportSummary};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `import`: read QUEUE.md (or `file`) into the database.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImportRequest {
    pub file: Option<PathBuf>,
    /// Apply edits even where the database changed the same task since the last export.
    pub force: bool,
}

#[derive(Clone, Debug, Serialize)]
#[serde(transparent)]
pub struct Imported {
    pub summary: ImportSummary,
    #[serde(skip)]
    pub warnings: Vec<String>,
}

pub fn import(orch: &Orch, req: ImportRequest) -> Result<Imported> {
    let (summary, warnings) = orch.import(req.file.as_deref(), req.force)?;
    Ok(Imported { summary, warnings })
}

/// `export`: write the view to QUEUE.md (or `file`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExportRequest {
    pub file: Option<PathBuf>,
    /// Every task, DONE ones included.
    pub all: bool,
    /// Overwrite QUEUE.md even if it has edits that were not imported.
    pub force: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Exported {
    /// The file written.
    pub path: PathBuf,
    #[serde(skip)]
    pub warnings: Vec<String>,
}

pub fn export(orch: &Orch, req: ExportRequest) -> Result<Exported> {
    let (path, warnings) = orch.export(req.file.as_deref(), req.all, req.force)?;
    Ok(Exported { path, warnings })
}

/// `check`: compare QUEUE.md with the database.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {}

/// The differences found; none when the file is exactly what an export would write.
#[derive(Clone, Debug, Serialize)]
pub struct Checked {
    pub file: String,
    pub drift: Vec<Drift>,
}

impl Checked {
    /// The drift as an error (`drift`, exit 3), each difference on a line with its
    /// place; none when there is none.
    pub fn drift_error(&self) -> Option<Error> {
        if self.drift.is_empty() {
            return None;
        }
        let lines: Vec<String> = self
            .drift
            .iter()
            .map(|d| {
                let at = d.line.map_or_else(|| self.file.clone(), |l| format!("{}:{l}", self.file));
                match &d.id {
                    Some(id) => format!("{at}: {id} {}", d.what),
                    None => format!("{at}: {}", d.what),
                }
            })
            .collect();
        Some(Error::Drift(format!("drift found\n{}", lines.join("\n"))))
    }
}

pub fn check(orch: &Orch, _req: CheckRequest) -> Result<Checked> {
    let drift = orch.check()?;
    let file = orch.queue_file().map(|p| p.display().to_string()).unwrap_or_default();
    Ok(Checked { file, drift })
}
