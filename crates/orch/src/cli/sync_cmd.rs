//! QUEUE.md commands: import, export, check.

use super::output::warn_all;
use super::output::{print, print_value};
use crate::api::{self, Orch};
use crate::error::Result;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The file to import (default: QUEUE.md).
    file: Option<PathBuf>,
    /// Apply edits even where the database changed the same task since the last export.
    #[arg(long)]
    force: bool,
    /// Print what was added, edited, unchanged and stale as JSON.
    #[arg(long)]
    json: bool,
}

pub fn import(orch: &Orch, a: &ImportArgs) -> Result<i32> {
    let imported = api::import(orch, api::ImportRequest { file: a.file.clone(), force: a.force })?;
    warn_all(&imported.warnings);
    let s = &imported.summary;
    if a.json {
        print_value(&imported)?;
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
    let e = api::export(orch, api::ExportRequest { file: a.file.clone(), all: a.all, force: a.force })?;
    warn_all(&e.warnings);
    print(&format!("wrote {}", e.path.display()));
    Ok(0)
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Print the drift as JSON (exit 3 still when there is some).
    #[arg(long)]
    json: bool,
}

pub fn check(orch: &Orch, a: &CheckArgs) -> Result<i32> {
    let c = api::check(orch, api::CheckRequest {})?;
    if a.json {
        print_value(&c)?;
        return Ok(if c.drift.is_empty() { 0 } else { 3 });
    }
    match c.drift_error() {
        Some(e) => Err(e),
        None => {
            print(&format!("{}: in step with the database", c.file));
            Ok(0)
        }
    }
}
