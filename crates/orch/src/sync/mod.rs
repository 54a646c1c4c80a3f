//! QUEUE.md ↔ database: rendering the view, refreshing it after every change, exporting
//! it elsewhere, importing a person's edits, and checking for drift.
//!
//! The view is rendered under an exclusive lock on `.orch/view.lock` from a snapshot
//! read inside that lock, so the last writer always writes the newest state: a slower
//! process never puts an older view over a newer one. A row whose task has not changed
//! since the view last showed it is written back exactly as it was (its "mark": the line
//! and the task version it showed); a changed row is written in canonical form.

mod check;
mod frame;
mod import;

pub use check::{Drift, check};
pub use import::{ImportSummary, import};

use crate::error::{Error, Result};
use crate::home::write_atomic;
use crate::ops::Orch;
use crate::store::{self, ListFilter, ViewMark};
use orch_core::queue_md::RowOut;
use orch_core::task_row::{task_cells, view_selection};
use std::fs::File;
use std::path::Path;

const META_HASH: &str = "view.hash";

pub(crate) fn hash(bytes: &[u8]) -> String {
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(bytes))
}

/// A rendered view and the marks of the rows it wrote anew.
pub(crate) struct Rendered {
    pub text: String,
    pub marks: Vec<(String, ViewMark)>,
}

/// Renders the view from one snapshot of the database.
pub(crate) fn render(orch: &Orch, all: bool) -> Result<Rendered> {
    let (tasks, marks, frame) = store::read(orch.db.as_ref(), |tx| {
        Ok((tx.task_list(&ListFilter::default())?, tx.view_marks()?, frame::load(tx)?))
    })?;
    let keep = view_selection(&tasks, orch.config.queue.done_kept, all);
    let mut lines: Vec<(String, String)> = Vec::new();
    let mut new_marks = Vec::new();
    let mut kept: Vec<&ViewMark> = Vec::new();
    let mut order = Vec::new();
    for (t, _) in tasks.iter().zip(&keep).filter(|(_, k)| **k) {
        match marks.get(&t.id) {
            Some(m) if m.version == t.version => {
                order.push((true, kept.len()));
                kept.push(m);
            }
            _ => {
                let line = orch_core::queue_md::render_row(&task_cells(t, &frame.columns, &orch.tz));
                let mark = ViewMark { version: t.version, line: line.clone(), eol: frame.eol.clone() };
                order.push((false, lines.len()));
                lines.push((line, frame.eol.clone()));
                new_marks.push((t.id.clone(), mark));
            }
        }
    }
    let rows: Vec<RowOut<'_>> = order
        .iter()
        .map(|&(is_kept, i)| match is_kept {
            true => RowOut::Raw { raw: &kept[i].line, eol: &kept[i].eol },
            false => RowOut::Raw { raw: &lines[i].0, eol: &lines[i].1 },
        })
        .collect();
    Ok(Rendered { text: frame.render(&rows), marks: new_marks })
}

/// Holds the view lock while alive.
pub(crate) struct ViewLock(#[allow(dead_code)] File);

pub(crate) fn lock_view(orch: &Orch) -> Result<ViewLock> {
    let path = orch.home.view_lock_path();
    let f = crate::home::open_private(&path)?;
    f.lock().map_err(|e| Error::io(&path, e))?;
    Ok(ViewLock(f))
}

/// Writes `r` to `path` and records its marks and hash (when `path` is the view).
fn write_view(orch: &Orch, path: &Path, r: &Rendered, is_view: bool) -> Result<()> {
    write_atomic(path, r.text.as_bytes())?;
    if is_view {
        record_marks(orch, r)?;
    }
    Ok(())
}

/// Records what the view now shows: the marks of rows written anew and the file's hash.
fn record_marks(orch: &Orch, r: &Rendered) -> Result<()> {
    let h = hash(r.text.as_bytes());
    store::write(orch.db.as_ref(), |tx| {
        for (id, m) in &r.marks {
            tx.view_mark_set(id, m)?;
        }
        tx.meta_set(META_HASH, &h)
    })?;
    Ok(())
}

/// Brings QUEUE.md up to date after a change. A file with edits that were not imported
/// is left alone (a warning says so) unless the view is read-only, where the edits are
/// drift: they are saved aside under `.orch/drift/` and the view is written.
pub fn refresh(orch: &Orch) -> Result<Option<String>> {
    let Some(path) = orch.queue_file.clone() else { return Ok(None) };
    let _lock = lock_view(orch)?;
    let current = read_optional(&path)?;
    let r = render(orch, false)?;
    let mut warning = None;
    if let Some(cur) = &current {
        if cur.as_bytes() == r.text.as_bytes() {
            if !r.marks.is_empty() {
                record_marks(orch, &r)?;
            }
            return Ok(None);
        }
        let stored = store::read(orch.db.as_ref(), |tx| tx.meta_get(META_HASH))?;
        if stored.as_deref() != Some(hash(cur.as_bytes()).as_str()) {
            if !orch.queue_read_only {
                return Ok(Some(format!(
                    "{} has edits that are not imported; it was not rewritten (run `orch import`, or `orch export --force` to discard them)",
                    path.display()
                )));
            }
            let kept = save_drift(orch, cur)?;
            warning = Some(format!(
                "{} is read-only output; edits to it were drift, saved to {} and replaced",
                path.display(),
                kept.display()
            ));
        }
    }
    write_view(orch, &path, &r, true)?;
    Ok(warning)
}

fn save_drift(orch: &Orch, text: &str) -> Result<std::path::PathBuf> {
    let dir = orch.home.dir.join("drift");
    crate::home::create_private_dir(&dir)?;
    let path = dir.join(format!("QUEUE.md.{}", orch.now().as_millisecond()));
    write_atomic(&path, text.as_bytes())?;
    Ok(path)
}

pub(crate) fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read(path) {
        Ok(bytes) => {
            String::from_utf8(bytes).map(Some).map_err(|_| Error::Usage(format!("{}: not UTF-8 text", path.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// `export [FILE] [--all]`: writes the view to FILE, or to QUEUE.md. Over a QUEUE.md
/// with edits that were not imported, it refuses unless `force`.
pub fn export(orch: &Orch, file: Option<&Path>, all: bool, force: bool) -> Result<std::path::PathBuf> {
    let view = orch.queue_file.clone();
    let target = match (file, &view) {
        (Some(f), _) => f.to_path_buf(),
        (None, Some(v)) => v.clone(),
        (None, None) => {
            return Err(Error::Usage("no view file is configured (queue.file is empty); name a FILE".into()));
        }
    };
    let is_view = view.as_deref().is_some_and(|v| same_file(v, &target));
    let _lock = lock_view(orch)?;
    if is_view
        && !force
        && !orch.queue_read_only
        && let Some(cur) = read_optional(&target)?
    {
        let stored = store::read(orch.db.as_ref(), |tx| tx.meta_get(META_HASH))?;
        let rendered = render(orch, all)?;
        if stored.as_deref() != Some(hash(cur.as_bytes()).as_str()) && cur != rendered.text {
            return Err(Error::Conflict(format!(
                "{} has edits that are not imported: run `orch import` first, or `orch export --force` to discard them",
                target.display()
            )));
        }
    }
    let r = render(orch, all)?;
    write_view(orch, &target, &r, is_view)?;
    Ok(target)
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
