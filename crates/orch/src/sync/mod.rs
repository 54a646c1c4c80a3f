//! QUEUE.md ↔ database: rendering the view, refreshing it after every change, exporting
//! it elsewhere, importing a person's edits, and checking for drift.
//!
//! The view is rendered under an exclusive lock on `.orch/view.lock` from a snapshot
//! read inside that lock, so the last writer always writes the newest state: a slower
//! process never puts an older view over a newer one. A row whose task has not changed
//! since the view last showed it is written back exactly as it was (its "mark": the line
//! and the task version it showed); a changed row is written in canonical form.
//!
//! Each view file has a name in the store (see [`view_name`]) under which its marks,
//! the hash of its last text and its frame are kept: two files — another host's
//! QUEUE.md on a shared database, or a file named by `ORCH_QUEUE_MD` — never pass for
//! each other. A refresh reads only the rows the view shows, never the DONE history.

mod check;
mod edit;
mod file;
mod frame;
mod import;
mod shown;

pub use check::{Drift, check};
use file::{OnDisk, on_disk};
pub(crate) use file::{read_bytes, read_optional, utf8};
pub use import::{ImportSummary, import};

use crate::error::{Error, Result};
use crate::home::write_atomic;
use crate::ops::Orch;
use orch_core::queue_md::{Document, RowOut, render_row};
use orch_core::task_row::task_cells;
use orch_store::{ListFilter, ViewMark, ViewRow};
use std::fs::File;
use std::path::{Path, PathBuf};

/// The name, in the store, of this queue's view file: its absolute path, and on a
/// database several hosts share (PostgreSQL) the host's name before it, since each host
/// has its own file. Worked out once per process. A database from before views had names
/// keeps the one view's marks, hash and frame under `''`; the first view to come takes
/// them over.
pub(crate) fn view_name(orch: &Orch) -> Result<String> {
    if let Some(name) = orch.view_name.get() {
        return Ok(name.clone());
    }
    let path = orch.queue_file.as_deref().map_or_else(|| "-".to_string(), |p| absolute(p).display().to_string());
    let shared = orch.db.capabilities().shared_across_hosts;
    let name = if shared { format!("{}:{path}", crate::runner::hostname()) } else { path };
    let (mine, legacy) = orch_store::read(orch.db.as_ref(), |tx| Ok((tx.view_get(&name)?, tx.view_get("")?)))?;
    if mine.is_none() && legacy.is_some() {
        orch_store::write(orch.db.as_ref(), |tx| {
            if tx.view_get(&name)?.is_none() && tx.view_get("")?.is_some() {
                tx.view_rename("", &name)?;
            }
            Ok(())
        })?;
    }
    Ok(orch.view_name.get_or_init(|| name).clone())
}

/// `p` made absolute, its folder's symbolic links resolved (the file may not exist yet).
fn absolute(p: &Path) -> PathBuf {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    match (abs.parent().and_then(|d| std::fs::canonicalize(d).ok()), abs.file_name()) {
        (Some(dir), Some(file)) => dir.join(file),
        _ => abs,
    }
}

pub(crate) fn hash(bytes: &[u8]) -> String {
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(bytes))
}

/// A rendered view and the marks of the rows it wrote anew.
pub(crate) struct Rendered {
    pub text: String,
    pub marks: Vec<(String, ViewMark)>,
    /// The text around the table it was written with.
    pub frame: Document,
}

/// What the view is rendered from, read in one transaction: its rows in queue order
/// (each the line the view showed last, when its task has not changed since, else the
/// task and its mark) and the text around the table.
pub(crate) struct Snapshot {
    pub rows: Vec<ViewRow>,
    pub frame: Document,
}

impl Snapshot {
    /// The view's rows (every task with `all`) and the frame of `view`.
    pub(crate) fn read(orch: &Orch, view: &str, all: bool) -> Result<Snapshot> {
        Ok(orch_store::read(orch.db.as_ref(), |tx| {
            let frame = frame::load(tx, view)?;
            if all {
                let mut marks = tx.view_marks(view)?;
                let tasks = tx.task_list(&ListFilter::default())?;
                let rows = tasks
                    .into_iter()
                    .map(|t| {
                        let mark = marks.remove(&t.id);
                        ViewRow::of(t, mark)
                    })
                    .collect();
                return Ok(Snapshot { rows, frame });
            }
            Ok(Snapshot { rows: tx.view_lines(view, orch.config.queue.done_kept)?, frame })
        })?)
    }

    /// The view: its rows in order, each as the view last showed it when the task has
    /// not changed since, else in canonical form (with a new mark). The file is built
    /// in one buffer.
    pub(crate) fn render(&self, orch: &Orch) -> Rendered {
        let mut new_marks = Vec::new();
        for row in &self.rows {
            if let ViewRow::Changed { task, .. } = row {
                let line = render_row(&task_cells(task, &self.frame.columns, &orch.tz));
                let mark = ViewMark { version: task.version, line, eol: self.frame.eol.clone() };
                new_marks.push((task.id.clone(), mark));
            }
        }
        let mut fresh = new_marks.iter().map(|(_, m)| m);
        let rows: Vec<RowOut<'_>> = self
            .rows
            .iter()
            .map(|row| {
                let m = match row {
                    ViewRow::Kept { mark, .. } => mark,
                    ViewRow::Changed { .. } => fresh.next().expect("one new mark per row written anew"),
                };
                RowOut::Raw { raw: &m.line, eol: &m.eol }
            })
            .collect();
        let text = self.frame.render(&rows);
        Rendered { text, marks: new_marks, frame: self.frame.clone() }
    }
}

/// Renders view `view` from one snapshot of the database.
pub(crate) fn render(orch: &Orch, view: &str, all: bool) -> Result<Rendered> {
    Ok(Snapshot::read(orch, view, all)?.render(orch))
}

/// Holds the view lock while alive.
pub(crate) struct ViewLock(#[allow(dead_code)] File);

pub(crate) fn lock_view(orch: &Orch) -> Result<ViewLock> {
    let path = orch.home.view_lock_path();
    let f = crate::home::open_private(&path)?;
    f.lock().map_err(|e| Error::io(&path, e))?;
    Ok(ViewLock(f))
}

/// Writes `r` to `path` and records its marks and hash under `view` (when `path` is the
/// view file).
fn write_view(orch: &Orch, view: &str, path: &Path, r: &Rendered, is_view: bool) -> Result<()> {
    write_atomic(path, r.text.as_bytes())?;
    if is_view {
        record_marks(orch, view, r)?;
    }
    Ok(())
}

/// Records what view `view` now shows: the marks of rows written anew and the hash.
/// When both are recorded already, the transaction writes nothing (and its commit costs
/// no sync).
fn record_marks(orch: &Orch, view: &str, r: &Rendered) -> Result<()> {
    let h = hash(r.text.as_bytes());
    orch_store::write(orch.db.as_ref(), |tx| {
        for (id, m) in &r.marks {
            tx.view_mark_set(view, id, m)?;
        }
        if tx.view_get(view)?.and_then(|v| v.hash).as_deref() != Some(h.as_str()) {
            tx.view_set_hash(view, &h)?;
        }
        frame::keep(tx, view, &r.frame)
    })?;
    Ok(())
}

/// Brings QUEUE.md up to date after a change. A file with edits that were not imported
/// is left alone (a warning says so) unless the view is read-only, where the edits are
/// drift: they are saved aside under `.orch/drift/` and the view is written.
pub fn refresh(orch: &Orch) -> Result<Option<String>> {
    let Some(path) = orch.queue_file.clone() else { return Ok(None) };
    let view = view_name(orch)?;
    let _lock = lock_view(orch)?;
    let r = render(orch, &view, false)?;
    update_view(orch, &view, &path, &r)
}

/// Puts the rendered view `r` over the view file at `path` as [`refresh`] does; the
/// caller holds the view lock and rendered `r` under it. A file that already holds
/// exactly `r` is not written again.
pub(crate) fn update_view(orch: &Orch, view: &str, path: &Path, r: &Rendered) -> Result<Option<String>> {
    let mut warning = None;
    match on_disk(path, r.text.as_bytes())? {
        OnDisk::Same => {
            if !r.marks.is_empty() {
                record_marks(orch, view, r)?;
            }
            return Ok(None);
        }
        OnDisk::Other { hash } if has_edits(orch, view, &hash)? => {
            if !orch.queue_read_only {
                return Ok(Some(format!(
                    "{} has edits that are not imported; it was not rewritten (run `orch import`, or `orch export --force` to discard them)",
                    path.display()
                )));
            }
            warning = Some(drift_saved(orch, path)?);
        }
        OnDisk::Other { .. } | OnDisk::Missing => {}
    }
    write_view(orch, view, path, r, true)?;
    Ok(warning)
}

/// Whether the view file, whose text hashes to `current`, differs from what orch last
/// wrote or imported there: a person edited it since.
fn has_edits(orch: &Orch, view: &str, current: &str) -> Result<bool> {
    let stored = orch_store::read(orch.db.as_ref(), |tx| tx.view_get(view))?.and_then(|v| v.hash);
    Ok(stored.as_deref() != Some(current))
}

/// Saves the edits of a read-only view at `path` aside; the warning that says where.
fn drift_saved(orch: &Orch, path: &Path) -> Result<String> {
    let text = read_bytes(path)?.unwrap_or_default();
    let kept = file::save_drift(&orch.home.dir, orch.now(), &text)?;
    Ok(format!(
        "{} is read-only output; edits to it were drift, saved to {} and replaced",
        path.display(),
        kept.display()
    ))
}

/// `export [FILE] [--all]`: writes the view to FILE, or to QUEUE.md; returns where, and
/// warnings. Over a QUEUE.md with edits that were not imported, it refuses unless
/// `force` (which discards them) or the view is read-only (where they are drift, saved
/// under `.orch/drift/`).
pub fn export(orch: &Orch, file: Option<&Path>, all: bool, force: bool) -> Result<(std::path::PathBuf, Vec<String>)> {
    let view = orch.queue_file.clone();
    let target = match (file, &view) {
        (Some(f), _) => f.to_path_buf(),
        (None, Some(v)) => v.clone(),
        (None, None) => {
            return Err(Error::Usage("no view file is configured (queue.file is empty); name a FILE".into()));
        }
    };
    let is_view = view.as_deref().is_some_and(|v| same_file(v, &target));
    let name = view_name(orch)?;
    let _lock = lock_view(orch)?;
    let r = render(orch, &name, all)?;
    let mut warnings = Vec::new();
    if is_view
        && let OnDisk::Other { hash } = on_disk(&target, r.text.as_bytes())?
        && has_edits(orch, &name, &hash)?
    {
        if orch.queue_read_only {
            warnings.push(drift_saved(orch, &target)?);
        } else if !force {
            return Err(Error::Conflict(format!(
                "{} has edits that are not imported: run `orch import` first, or `orch export --force` to discard them",
                target.display()
            )));
        }
    }
    write_view(orch, &name, &target, &r, is_view)?;
    Ok((target, warnings))
}

pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    let canon = |p: &Path| {
        std::fs::canonicalize(p).ok().or_else(|| {
            let parent = std::fs::canonicalize(p.parent()?).ok()?;
            Some(parent.join(p.file_name()?))
        })
    };
    match (canon(a), canon(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}
