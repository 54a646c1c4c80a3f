//! QUEUE.md ↔ database: rendering the view, refreshing it after every change, exporting
//! it elsewhere, importing a person's edits, and checking for drift.
//!
//! The view is rendered under an exclusive lock on `.orch/view.lock` from a snapshot
//! read inside that lock, so the last writer always writes the newest state: a slower
//! process never puts an older view over a newer one. A row whose task has not changed
//! since the view last showed it is written back exactly as it was (its "mark": the line
//! and the task version it showed); a changed row is written in canonical form.
//!
//! Each view file has a name in the store (see `View::name`) under which its marks,
//! the hash of its last text and its frame are kept: two files — another host's
//! QUEUE.md on a shared database, or a file named by `ORCH_QUEUE_MD` — never pass for
//! each other. A refresh reads only the rows the view shows, never the DONE history.
//!
//! A bounded view (`queue.open_kept`) shows the running tasks and the first open ones
//! in pick order, and says after its table how many open tasks it leaves out; a change
//! to a task it does not show reads and writes no more than a change to one it shows,
//! and leaves the file as it is unless that number changes.
//!
//! A [`View`] holds what the view's functions need of the queue (its file, the lock,
//! the display time zone, how many open and DONE rows it keeps); they take the store, and the
//! time when they need it, from their caller.

mod check;
mod edit;
mod file;
mod frame;
mod hidden;
mod import;
mod on_save;
mod refused;
mod shown;

pub use check::{Drift, check};
use file::{OnDisk, on_disk};
pub(crate) use file::{read_bytes, read_optional, utf8};
pub use import::{Import, ImportSummary, import};
pub use on_save::{Saved, import_saved, refusal};

use crate::error::{Error, Result};
use crate::home::{Home, write_atomic, write_atomic_if};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use orch_core::queue_md::{Document, RowOut, render_row};
use orch_core::task_row::task_cells;
use orch_store::{Backend, ListFilter, ViewKept, ViewMark, ViewRow};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A queue's QUEUE.md view: the file (if there is one) and what rendering, refreshing,
/// importing and checking it take besides the store.
#[derive(Debug)]
pub struct View {
    file: Option<PathBuf>,
    /// The file is output only (`ORCH_QUEUE_MD_READ_ONLY=1`).
    read_only: bool,
    /// `.orch/view.lock`, held while the view is rendered and written.
    lock_path: PathBuf,
    /// `.orch/`, where drift of a read-only view is saved.
    home_dir: PathBuf,
    /// `queue.open_kept` and `queue.done_kept`: the open and DONE rows the view shows.
    kept: ViewKept,
    /// The display time zone the cells are written and read in.
    tz: TimeZone,
    /// The file's name in the store, once worked out ([`View::name`]).
    name: OnceLock<String>,
}

impl View {
    /// The view `file` of the queue in `home`.
    pub fn new(file: Option<PathBuf>, read_only: bool, home: &Home, kept: ViewKept, tz: TimeZone) -> View {
        View {
            file,
            read_only,
            lock_path: home.view_lock_path(),
            home_dir: home.dir.clone(),
            kept,
            tz,
            name: OnceLock::new(),
        }
    }

    /// The view file, if there is one.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Whether the view is output only.
    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// The name, in the store, of this queue's view file: its absolute path, and on a
    /// database several hosts share (PostgreSQL) the host's name before it, since each
    /// host has its own file. Worked out once per process. A database from before views
    /// had names keeps the one view's marks, hash and frame under `''`; the first view to
    /// come takes them over.
    pub(crate) fn name(&self, db: &dyn Backend) -> Result<String> {
        if let Some(name) = self.name.get() {
            return Ok(name.clone());
        }
        let path = self.file.as_deref().map_or_else(|| "-".to_string(), |p| absolute(p).display().to_string());
        // On a database several hosts share (PostgreSQL) each host has its own file.
        let name =
            if db.capabilities().shared_across_hosts { format!("{}:{path}", crate::runner::hostname()) } else { path };
        let (mine, legacy) = orch_store::read(db, |tx| Ok((tx.view_get(&name)?, tx.view_get("")?)))?;
        if mine.is_none() && legacy.is_some() {
            orch_store::write(db, |tx| {
                if tx.view_get(&name)?.is_none() && tx.view_get("")?.is_some() {
                    tx.view_rename("", &name)?;
                }
                Ok(())
            })?;
        }
        Ok(self.name.get_or_init(|| name).clone())
    }

    /// Takes the view lock; held while the value lives.
    pub(crate) fn lock(&self) -> Result<ViewLock> {
        let path = &self.lock_path;
        let f = crate::home::open_private(path)?;
        f.lock().map_err(|e| Error::io(path, e))?;
        Ok(ViewLock(f))
    }
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
/// task and its mark), the text around the table, and how many open tasks a bounded
/// view leaves out (its line after the table: see `hidden`).
pub(crate) struct Snapshot {
    pub rows: Vec<ViewRow>,
    pub frame: Document,
    pub hidden: u64,
}

impl Snapshot {
    /// The view's rows (every task with `all`) and the frame of `view`.
    pub(crate) fn read(v: &View, db: &dyn Backend, view: &str, all: bool) -> Result<Snapshot> {
        Ok(orch_store::read(db, |tx| {
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
                return Ok(Snapshot { rows, frame, hidden: 0 });
            }
            let rows = tx.view_lines(view, v.kept)?;
            let hidden = hidden::count(tx, v.kept, rows.len())?;
            Ok(Snapshot { rows, frame, hidden })
        })?)
    }

    /// The view: its rows in order, each as the view last showed it when the task has
    /// not changed since, else in canonical form (with a new mark). The file is built
    /// in one buffer.
    pub(crate) fn render(&self, tz: &TimeZone) -> Rendered {
        let mut new_marks = Vec::new();
        for row in &self.rows {
            if let ViewRow::Changed { task, .. } = row {
                let line = render_row(&task_cells(task, &self.frame.columns, tz));
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
        let text = hidden::framed(&self.frame, self.hidden).render(&rows);
        Rendered { text, marks: new_marks, frame: self.frame.clone() }
    }
}

/// Renders view `view` from one snapshot of the database.
fn render(v: &View, db: &dyn Backend, view: &str, all: bool) -> Result<Rendered> {
    Ok(Snapshot::read(v, db, view, all)?.render(&v.tz))
}

/// Holds the view lock while alive.
pub(crate) struct ViewLock(#[allow(dead_code)] File);

/// Writes `r` to `path` and records its marks and hash under `view` (when `path` is the
/// view file).
fn write_view(db: &dyn Backend, view: &str, path: &Path, r: &Rendered, is_view: bool) -> Result<()> {
    write_atomic(path, r.text.as_bytes())?;
    if is_view {
        record_marks(db, view, r)?;
    }
    Ok(())
}

/// Records what view `view` now shows: the marks of rows written anew and the hash.
/// When both are recorded already, the transaction writes nothing (and its commit costs
/// no sync).
fn record_marks(db: &dyn Backend, view: &str, r: &Rendered) -> Result<()> {
    let h = hash(r.text.as_bytes());
    orch_store::write(db, |tx| {
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
pub fn refresh(v: &View, db: &dyn Backend, now: Timestamp) -> Result<Option<String>> {
    let Some(path) = v.file.clone() else { return Ok(None) };
    let view = v.name(db)?;
    let _lock = v.lock()?;
    let r = render(v, db, &view, false)?;
    update_view(v, db, now, &view, &path, &r)
}

/// Puts the rendered view `r` over the view file at `path` as [`refresh`] does; the
/// caller holds the view lock and rendered `r` under it. A file that already holds
/// exactly `r` is not written again.
///
/// A person's save never lands under the write: right before its rename the file is
/// looked at again, and when it changed since it was read (an editor saved it) nothing
/// is replaced and the file is judged anew ([`WRITE_TRIES`] times at most).
pub(crate) fn update_view(
    v: &View,
    db: &dyn Backend,
    now: Timestamp,
    view: &str,
    path: &Path,
    r: &Rendered,
) -> Result<Option<String>> {
    for _ in 0..WRITE_TRIES {
        let mut warning = None;
        let seen = match on_disk(path, r.text.as_bytes())? {
            OnDisk::Same => {
                if !r.marks.is_empty() {
                    record_marks(db, view, r)?;
                }
                return Ok(None);
            }
            OnDisk::Other { hash } if has_edits(db, view, &hash)? => {
                if !v.read_only {
                    return Ok(Some(format!(
                        "{} has edits that are not imported; it was not rewritten (run `orch import`, or `orch export --force` to discard them)",
                        path.display()
                    )));
                }
                warning = Some(drift_saved(v, now, path)?);
                Some(hash)
            }
            OnDisk::Other { hash } => Some(hash),
            OnDisk::Missing => None,
        };
        if write_atomic_if(path, r.text.as_bytes(), || Ok(file::fingerprint(path)? == seen))? {
            record_marks(db, view, r)?;
            return Ok(warning);
        }
    }
    Ok(Some(format!("{} changed each time it was about to be written; it was left as it is", path.display())))
}

/// How many times a refresh judges the view file again when it changed under the write.
const WRITE_TRIES: usize = 3;

/// Whether the view file, whose text hashes to `current`, differs from what orch last
/// wrote or imported there: a person edited it since.
fn has_edits(db: &dyn Backend, view: &str, current: &str) -> Result<bool> {
    let stored = orch_store::read(db, |tx| tx.view_get(view))?.and_then(|v| v.hash);
    Ok(stored.as_deref() != Some(current))
}

/// Saves the edits of a read-only view at `path` aside; the warning that says where.
fn drift_saved(v: &View, now: Timestamp, path: &Path) -> Result<String> {
    let text = read_bytes(path)?.unwrap_or_default();
    let kept = file::save_drift(&v.home_dir, now, &text)?;
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
pub fn export(
    v: &View,
    db: &dyn Backend,
    now: Timestamp,
    file: Option<&Path>,
    all: bool,
    force: bool,
) -> Result<(std::path::PathBuf, Vec<String>)> {
    let view = v.file.clone();
    let target = match (file, &view) {
        (Some(f), _) => f.to_path_buf(),
        (None, Some(v)) => v.clone(),
        (None, None) => {
            return Err(Error::Usage("no view file is configured (queue.file is empty); name a FILE".into()));
        }
    };
    let is_view = view.as_deref().is_some_and(|v| same_file(v, &target));
    let name = v.name(db)?;
    let _lock = v.lock()?;
    let r = render(v, db, &name, all)?;
    let mut warnings = Vec::new();
    if is_view
        && let OnDisk::Other { hash } = on_disk(&target, r.text.as_bytes())?
        && has_edits(db, &name, &hash)?
    {
        if v.read_only {
            warnings.push(drift_saved(v, now, &target)?);
        } else if !force {
            return Err(Error::Conflict(format!(
                "{} has edits that are not imported: run `orch import` first, or `orch export --force` to discard them",
                target.display()
            )));
        }
    }
    write_view(db, &name, &target, &r, is_view)?;
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
