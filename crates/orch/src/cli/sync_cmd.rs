//! QUEUE.md commands: import, export, check.

use super::output::{print, print_json};
use super::warn_all;
use crate::error::{Error, Result};
use crate::ops::Orch;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The file to import (default: QUEUE.md).
    file: Option<PathBuf>,
    /// Apply edits even where the database changed the same task since the last export.
    #[arg(long)]
    force: bool,
    #[arg(long)]
    json: bool,
}

pub fn import(orch: &Orch, a: &ImportArgs) -> Result<i32> {
    let (s, warnings) = orch.import(a.file.as_deref(), a.force)?;
    warn_all(&warnings);
    if a.json {
        print_json(&serde_json::to_value(&s).expect("a summary serialises"));
    } else {
        print(&format!(
            "{}: {} added, {} edited, {} unchanged, {} stale (the database is newer)",
            s.file,
            s.added.len(),
            s.edited.len(),
            s.unchanged,
            s.stale.len()
        ));
    }
    Ok(0)
}

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// Where to write (default: QUEUE.md).
    file: Option<PathBuf>,
    /// Every task, DONE ones included.
    #[arg(long)]
    all: bool,
    /// Overwrite QUEUE.md even if it has edits that were not imported.
    #[arg(long)]
    force: bool,
}

pub fn export(orch: &Orch, a: &ExportArgs) -> Result<i32> {
    let (path, warnings) = orch.export(a.file.as_deref(), a.all, a.force)?;
    warn_all(&warnings);
    print(&format!("wrote {}", path.display()));
    Ok(0)
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    #[arg(long)]
    json: bool,
}

pub fn check(orch: &Orch, a: &CheckArgs) -> Result<i32> {
    let drift = orch.check()?;
    let file = orch.queue_file().map(|p| p.display().to_string()).unwrap_or_default();
    if a.json {
        print_json(&serde_json::json!({"file": file, "drift": drift}));
        return Ok(if drift.is_empty() { 0 } else { 3 });
    }
    if drift.is_empty() {
        print(&format!("{file}: in step with the database"));
        return Ok(0);
    }
    let lines: Vec<String> = drift
        .iter()
        .map(|d| {
            let at = d.line.map_or_else(|| file.clone(), |l| format!("{file}:{l}"));
            match &d.id {
                Some(id) => format!("{at}: {id} {}", d.what),
                None => format!("{at}: {}", d.what),
            }
        })
        .collect();
    Err(Error::Drift(format!("drift found\n{}", lines.join("\n"))))
}
