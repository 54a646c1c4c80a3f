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
mod reformatted;
mod refused;
mod shown;

pub use check::{Drift, check};
pub use file::is_own_write;
use file::{OnDisk, on_disk};
pub(crate) use file::{read_bytes, read_optional, utf8};
pub use import::{Import, ImportSummary, import};
pub use on_save::{Saved, import_saved, refusal};

use crate::error::{Error, Result};
use crate::home::{Flush, Home, write_atomic, write_atomic_if};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use orch_core::queue_md::{Document, RowOut, render_row};
use orch_core::task_row::task_cells;
use orch_store::{Backend, ListFilter, Tx, ViewKept, ViewMark, ViewRow};
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
        Ok(orch_store::read(db, |tx| Snapshot::of(tx, v, view, all))?)
    }

    /// [`Snapshot::read`] in the transaction `tx`.
    fn of(tx: &mut dyn Tx, v: &View, view: &str, all: bool) -> orch_store::Result<Snapshot> {
        {
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
        }
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

/// Writes `r` to `path`. The view file's marks and hash under `view` are committed
/// first, and the file is then replaced without a sync of its own: the marks are never
/// behind the file (docs/DURABILITY.md). Any other file (`export FILE`) is synced
/// before it takes its name.
fn write_view(db: &dyn Backend, view: &str, path: &Path, r: &Rendered, is_view: bool) -> Result<()> {
    if is_view {
        record_marks(db, view, r)?;
        write_atomic(path, r.text.as_bytes(), Flush::Unsynced)
    } else {
        write_atomic(path, r.text.as_bytes(), Flush::Synced)
    }
}

/// Records what view `view` now shows: the marks of rows written anew and the hash.
/// When both are recorded already, the transaction writes nothing (and its commit costs
/// no sync).
fn record_marks(db: &dyn Backend, view: &str, r: &Rendered) -> Result<()> {
    orch_store::write(db, |tx| marks_in(tx, view, r))?;
    Ok(())
}

/// [`record_marks`] in the transaction `tx`.
fn marks_in(tx: &mut dyn Tx, view: &str, r: &Rendered) -> orch_store::Result<()> {
    let h = hash(r.text.as_bytes());
    for (id, m) in &r.marks {
        tx.view_mark_set(view, id, m)?;
    }
    if tx.view_get(view)?.and_then(|v| v.hash).as_deref() != Some(h.as_str()) {
        tx.view_set_hash(view, &h)?;
    }
    frame::keep(tx, view, &r.frame)
}

/// What is left of a view rendered in a change's own transaction once that commits.
pub(crate) enum AfterCommit {
    /// The file shows the change already (or there is no file).
    Nothing,
    /// Replace the file at this path with this text (its marks are in the commit), if
    /// it still holds what it held then: no file, or the text of this hash.
    Write(PathBuf, String, Option<String>),
    /// The view was not rendered there (a read-only view, a file with edits not
    /// imported, a file that could not be read): [`refresh`] it as after any change.
    Refresh,
}

/// Renders view `v` inside a change's write transaction `tx` and records there the
/// marks and hash of the text it will write, so they are committed with the change and
/// by its one sync; the file is written after the commit, unsynced
/// ([`AfterCommit::finish`]). The caller holds the view lock from before `tx` began
/// until the file is written, as [`refresh`] holds it, so no other process writes the
/// view in between.
pub(crate) fn render_in(v: &View, tx: &mut dyn Tx, view: &str) -> orch_store::Result<AfterCommit> {
    let Some(path) = v.file.clone() else { return Ok(AfterCommit::Nothing) };
    if v.read_only {
        return Ok(AfterCommit::Refresh);
    }
    let r = Snapshot::of(tx, v, view, false)?.render(&v.tz);
    let seen = match on_disk(&path, r.text.as_bytes()) {
        Ok(OnDisk::Same) => {
            marks_in(tx, view, &r)?;
            return Ok(AfterCommit::Nothing);
        }
        Ok(OnDisk::Missing) => None,
        Ok(OnDisk::Other { hash, .. }) => {
            if tx.view_get(view)?.and_then(|v| v.hash).as_deref() != Some(hash.as_str()) {
                return Ok(AfterCommit::Refresh);
            }
            Some(hash)
        }
        Err(_) => return Ok(AfterCommit::Refresh),
    };
    marks_in(tx, view, &r)?;
    Ok(AfterCommit::Write(path, r.text, seen))
}

impl AfterCommit {
    /// Does what is left; a warning when the view was not rewritten.
    pub(crate) fn finish(self, v: &View, db: &dyn Backend, now: Timestamp, lock: ViewLock) -> Result<Option<String>> {
        match self {
            AfterCommit::Nothing => Ok(None),
            AfterCommit::Write(path, text, seen) => {
                let still = || Ok(file::fingerprint(&path)? == seen);
                if write_atomic_if(&path, text.as_bytes(), Flush::Unsynced, still)? {
                    file::note_own_write(&path);
                    return Ok(None);
                }
                // A person saved the file meanwhile: judged anew, as any refresh does.
                drop(lock);
                refresh(v, db, now)
            }
            AfterCommit::Refresh => {
                drop(lock);
                refresh(v, db, now)
            }
        }
    }
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
            OnDisk::Other { damaged: true, hash } => {
                warning = Some(damage_saved(v, now, path)?);
                Some(hash)
            }
            OnDisk::Other { hash, .. } if has_edits(v, db, view, path, &r.text, &hash)? => {
                if !v.read_only {
                    return Ok(Some(format!(
                        "{} has edits that are not imported; it was not rewritten (run `orch import`, or `orch export --force` to discard them)",
                        path.display()
                    )));
                }
                warning = Some(drift_saved(v, now, path)?);
                Some(hash)
            }
            OnDisk::Other { hash, .. } => Some(hash),
            OnDisk::Missing => None,
        };
        // The record first: it is never behind the file (docs/DURABILITY.md).
        record_marks(db, view, r)?;
        if write_atomic_if(path, r.text.as_bytes(), Flush::Unsynced, || Ok(file::fingerprint(path)? == seen))? {
            file::note_own_write(path);
            return Ok(warning);
        }
    }
    Ok(Some(format!("{} changed each time it was about to be written; it was left as it is", path.display())))
}

/// How many times a refresh judges the view file again when it changed under the write.
const WRITE_TRIES: usize = 3;

/// Whether the view file at `path`, whose text hashes to `current`, differs from what
/// orch last wrote or imported there: a person edited it since. A file that differs
/// only in formatting (see `reformatted`) holds no edit; `rendered` is the view about
/// to be written.
fn has_edits(v: &View, db: &dyn Backend, view: &str, path: &Path, rendered: &str, current: &str) -> Result<bool> {
    let stored = orch_store::read(db, |tx| tx.view_get(view))?.and_then(|v| v.hash);
    if stored.as_deref() == Some(current) {
        return Ok(false);
    }
    Ok(!reformatted::only_formatting(db, view, path, rendered, &v.tz)?)
}

/// Saves a view file a power loss damaged (see [`OnDisk::Other`]) aside; the warning
/// that says where.
fn damage_saved(v: &View, now: Timestamp, path: &Path) -> Result<String> {
    Ok(format!(
        "{} held NUL bytes (its data was lost in a crash, not written by a person); it was saved to {} and written anew",
        path.display(),
        save_aside(v, now, path)?.display()
    ))
}

/// Saves the edits of a read-only view at `path` aside; the warning that says where.
fn drift_saved(v: &View, now: Timestamp, path: &Path) -> Result<String> {
    Ok(format!(
        "{} is read-only output; edits to it were drift, saved to {} and replaced",
        path.display(),
        save_aside(v, now, path)?.display()
    ))
}

/// Copies the file at `path` under `.orch/drift/`; where.
fn save_aside(v: &View, now: Timestamp, path: &Path) -> Result<PathBuf> {
    let text = read_bytes(path)?.unwrap_or_default();
    file::save_drift(&v.home_dir, now, &text)
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
        && let OnDisk::Other { hash, .. } = on_disk(&target, r.text.as_bytes())?
        && has_edits(v, db, &name, &target, &r.text, &hash)?
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
