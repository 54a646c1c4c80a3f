//! `import [FILE]`: a person's edits to QUEUE.md go into the database.
//!
//! The file is checked whole first (every problem with its line; exit 2 and nothing
//! changed). Then, in one transaction, each row is compared with its task (only the
//! columns the file has: a file without `notes` never touches a task's notes):
//! - a new id is a new task;
//! - a row that says what the task says is no change;
//! - a row that is a line the view showed of its task — its mark, or one of the earlier
//!   lines the store keeps (a copy or an editor buffer older than the last refresh) —
//!   while the task moved on since, is merely stale: the database wins, and the next
//!   render updates the row;
//! - any other row is an edit, merged column by column with the line it was edited
//!   from (the line shown closest to it, see `shown`): the columns the person changed
//!   take the row's values, the others keep the database's. A column both sides changed
//!   since that line (to different values), or a row whose line is not known (never
//!   shown, or dropped past the bound), is a conflict: exit 5 and nothing applied,
//!   unless `force`, which applies the person's columns.
//!
//! An edit changes its task through the core's transition function (`Command::Edit`)
//! and is persisted like every other change, so what depends on the task follows: a
//! task set DONE by hand releases the tasks its failure had blocked.
//!
//! Tasks absent from the file are left as they are: the view omits old DONE tasks, and
//! a bounded view (`queue.open_kept`) the open tasks past its bound, so absence never
//! means deletion, nor an edit. The line a bounded view writes after its table (how
//! many open tasks it leaves out) is taken off the text around the table before
//! anything is compared or kept. A row a person adds is a new task, whatever the bound.
//!
//! The whole import holds the view lock. What the view shows is read first, in a read
//! transaction of its own while the file is parsed on another thread
//! ([`orch_store::Tx::view_lines`]: a row the view showed at its task's current
//! version is its mark alone). A row that is exactly its mark's line while its task is
//! still at the mark's version is no change, and is settled there without reading the
//! task: such a row writes nothing whatever the task did since (it would be stale at
//! worst), and no other process changes this view's marks while the lock is held. Every
//! other row is compared in the write transaction with its task as stored then, so the
//! write transaction reads only the rows that need it. The view is then rendered from
//! the rows in hand when the import changed no task and no task it compared had moved
//! since the first read; otherwise the store says again which tasks it shows and at
//! which versions, and the tasks not in hand at those are read.

use super::edit::{Context, What, add_row, import_row};
use super::{Snapshot, View, frame, hash, hidden, read_bytes, refused, same_file, update_view, utf8};
use crate::error::{Error, Result};
use crate::event_log::EventLog;
use jiff::Timestamp;
use orch_core::id::parse_id;
use orch_core::policy::RetryPolicy;
use orch_core::queue_md::{Diagnostic, Document};
use orch_core::task::Task;
use orch_core::task_row::{RowTask, read_file};
use orch_store::{Backend, ListFilter, StoreError, Tx, ViewMark, ViewRow};
use rustc_hash::FxHashMap;
use std::collections::HashMap;
use std::path::Path;

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ImportSummary {
    pub file: String,
    pub added: Vec<String>,
    pub edited: Vec<String>,
    pub unchanged: usize,
    pub stale: Vec<String>,
}

/// Rows absent from the view that make the importer read every task in one scan rather
/// than look each up (when the queue is not much larger than that).
const SCAN_FROM: usize = 64;

/// What an import writes through besides the view: the store, the events file it
/// brings up to date after, the retry policy of the tasks it adds and edits, and the
/// time of the edits.
pub struct Import<'a> {
    pub db: &'a dyn Backend,
    pub events: &'a EventLog,
    pub policy: &'a RetryPolicy,
    pub now: Timestamp,
}

/// Imports `file` (QUEUE.md when `None`).
pub fn import(v: &View, im: &Import<'_>, file: Option<&Path>, force: bool) -> Result<(ImportSummary, Vec<String>)> {
    import_file(v, im, file, force, None)?.ok_or_else(|| Error::Io("the import was skipped".into()))
}

/// [`import`]. With `saved` (an import on save of QUEUE.md), the hash of the bytes read
/// is put there, and a file that is missing, or that holds what orch last wrote or
/// imported there, or what it left after refusing it (see `refused`), is orch's own and
/// not imported: `None`.
pub(super) fn import_file(
    v: &View,
    im: &Import<'_>,
    file: Option<&Path>,
    force: bool,
    saved: Option<&mut Option<String>>,
) -> Result<Option<(ImportSummary, Vec<String>)>> {
    let db = im.db;
    let view = v.file.clone();
    let path = match (file, &view) {
        (Some(f), _) => f.to_path_buf(),
        (None, Some(v)) => v.clone(),
        (None, None) => {
            return Err(Error::Usage("no view file is configured (queue.file is empty); name a FILE".into()));
        }
    };
    let is_view = view.as_deref().is_some_and(|v| same_file(v, &path));
    if is_view && v.read_only {
        return Err(Error::Usage(format!(
            "{} is read-only output (ORCH_QUEUE_MD_READ_ONLY=1): the database is the source of truth; change tasks with orch commands",
            path.display()
        )));
    }
    let name = v.name(db)?;
    let lock = v.lock()?;
    let on_save = saved.is_some();
    let bytes = match read_bytes(&path)? {
        None if on_save => return Ok(None),
        // A file that is not there is bad input (exit 2), like a file that is not a queue.
        None => return Err(Error::Usage(format!("{}: no such file", path.display()))),
        Some(bytes) => bytes,
    };
    if let Some(read) = saved {
        let h = hash(&bytes);
        let orchs = orch_store::read(db, |tx| {
            let wrote = tx.view_get(&name)?.and_then(|v| v.hash);
            let left = refused::recorded(tx, &name)?.map(|r| r.hash);
            Ok(wrote.as_ref() == Some(&h) || left.as_ref() == Some(&h))
        })?;
        *read = Some(h);
        if orchs {
            return Ok(None);
        }
    }
    let text = utf8(&path, &bytes)?;
    let shown = path.display().to_string();
    // The file is read while the view is: one is work for the processor, the other
    // mostly for the store.
    let (read, view_now) = std::thread::scope(|s| {
        let reading = s.spawn(|| read_file(text, &v.tz));
        let view_now = view_rows(v, db, &name);
        (reading.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)), view_now)
    });
    let (mut doc, rows) = read.map_err(|diags| Error::Input { file: shown.clone(), diags })?;
    // The line of a bounded view after the table is the view's, never the frame's.
    hidden::strip(&mut doc);
    // So is the block that says why an earlier save was not imported.
    refused::strip(&mut doc);
    let (mut shown_rows, columns, hidden_now) = view_now?;
    let text_hash = is_view.then(|| hash(&bytes));
    let at: FxHashMap<&str, usize> = shown_rows.iter().enumerate().map(|(i, r)| (r.id(), i)).collect();
    let before = Before::read(db, &name, columns == doc.columns, &rows, &at)?;
    let marks = is_view || before.same_columns;
    let cx = Context { doc: &doc, force, now: im.now, shown: &shown, tz: &v.tz, policy: im.policy, marks };
    let mut run = Run::default();
    let result = orch_store::write(db, |tx| {
        run = Run { summary: ImportSummary { file: shown.clone(), ..ImportSummary::default() }, ..Run::default() };
        let mut tasks = Tasks::load(tx, before.outside, before.marks_total)?;
        for row in &rows {
            let place = at.get(&*row.id).copied();
            let held = place.map(|i| &shown_rows[i]);
            if !run.moved
                && before.same_columns
                && let Some(ViewRow::Kept { mark, .. }) = held
                && mark.line == row.raw
            {
                run.summary.unchanged += 1;
                continue;
            }
            let mark = match held {
                Some(r) => r.mark().cloned(),
                None => before.outside_marks.get(&*row.id).cloned(),
            };
            let Some(task) = tasks.take(tx, &row.id, run.moved)? else {
                if let Some(other) = tasks.same_number(tx, &row.id)? {
                    let message = format!(
                        "duplicate id `{}`: the same prefix and number as {other}, which the queue holds",
                        row.id
                    );
                    run.bad_ids.push(Diagnostic { line: row.line, message });
                    continue;
                }
                let (task, mark) = add_row(tx, &cx, &name, row)?;
                run.summary.added.push(task.id.clone());
                tasks.added(&task);
                run.now.push((None, task, mark));
                continue;
            };
            run.drifted |= held.is_some_and(|r| r.version() != task.version);
            let status = task.status;
            let done = import_row(tx, &cx, &name, row, task, mark)?;
            if done.task.status != status && !run.moved {
                run.moved = !done.task.depends_on.is_empty() || !tx.dependents_of(&row.id)?.is_empty();
            }
            match done.what {
                What::Unchanged => run.summary.unchanged += 1,
                What::Stale => run.summary.stale.push(row.id.to_string()),
                What::Edited => run.summary.edited.push(row.id.to_string()),
                What::Refused(why) => run.conflicts.push(why),
            }
            run.now.push((place, done.task, done.mark));
        }
        if !run.conflicts.is_empty() || !run.bad_ids.is_empty() {
            // Rolls back, and is never run again (a `Conflict` would be, on PostgreSQL).
            return Err(StoreError::abort(Refused));
        }
        let frame = if is_view || !frame::exists(tx, &name)? {
            if !before.same_columns {
                forget_other_columns(tx, &name, &rows)?;
            }
            frame::save(tx, &name, &doc)?;
            doc.clone()
        } else {
            frame::load(tx, &name)?
        };
        if let Some(h) = &text_hash
            && tx.view_get(&name)?.and_then(|v| v.hash).as_ref() != Some(h)
        {
            tx.view_set_hash(&name, h)?;
        }
        if is_view {
            refused::forget(tx, &name)?;
        }
        Ok(frame)
    });
    drop(at);
    let frame = match result {
        Err(e) if e.aborted::<Refused>().is_some() && !run.bad_ids.is_empty() => {
            return Err(Error::Input { file: shown, diags: run.bad_ids });
        }
        Err(e) if e.aborted::<Refused>().is_some() => return Err(Error::Conflict(run.conflicts.join("\n"))),
        other => other?,
    };
    let summary = run.summary;
    let mut warnings = Vec::new();
    let flushed = im.events.flush(db);
    let Some(view) = view else {
        drop(lock);
        warnings.extend(flushed.err().map(|e| format!("events.jsonl not updated: {e}")));
        return Ok(Some((summary, warnings)));
    };
    // The view is rendered still under the lock, so no later change can be overwritten
    // by it: from the rows in hand when they are still what the database holds.
    if let Err(e) = flushed {
        warnings.push(format!("events.jsonl not updated: {e}"));
    }
    let in_hand =
        before.same_columns && !run.moved && !run.drifted && summary.added.is_empty() && summary.edited.is_empty();
    let snapshot = if in_hand {
        for (place, task, mark) in run.now {
            if let Some(i) = place {
                shown_rows[i] = ViewRow::of(task, mark);
            }
        }
        Ok(Snapshot { rows: shown_rows, frame, hidden: hidden_now })
    } else if before.same_columns {
        read_again(v, db, &name, shown_rows, run.now, frame)
    } else {
        Snapshot::read(v, db, &name, false)
    };
    match snapshot.and_then(|s| update_view(v, db, im.now, &name, &view, &s.render(&v.tz))) {
        Ok(w) => warnings.extend(w),
        Err(e) => warnings.push(format!("view not updated: {e}")),
    }
    Ok(Some((summary, warnings)))
}

/// The view after an import that changed tasks, read again in one transaction: which
/// tasks it shows and their versions, now. The view's marks are those in hand — read
/// first, or written by the import — since no other process changes them while the lock
/// is held; so is every task at the version it has now. Only the others are read.
fn read_again(
    v: &View,
    db: &dyn Backend,
    view: &str,
    shown: Vec<ViewRow>,
    now: Vec<(Option<usize>, Task, Option<ViewMark>)>,
    frame: Document,
) -> Result<Snapshot> {
    let mut held: FxHashMap<String, (Option<ViewMark>, Option<Box<Task>>)> = FxHashMap::default();
    held.reserve(shown.len());
    for row in shown {
        match row {
            ViewRow::Kept { id, mark } => held.insert(id, (Some(mark), None)),
            ViewRow::Changed { task, mark } => held.insert(task.id.clone(), (mark, Some(task))),
        };
    }
    for (_, task, mark) in now {
        held.insert(task.id.clone(), (mark, Some(Box::new(task))));
    }
    Ok(orch_store::read(db, |tx| {
        let order = tx.view_versions(v.kept)?;
        let mut rows = Vec::with_capacity(order.len());
        for (id, version) in order {
            let (mark, task) = match held.remove(&id) {
                Some(h) => h,
                None => (tx.view_mark(view, &id)?, None),
            };
            rows.push(match mark {
                Some(mark) if mark.version == version => ViewRow::Kept { id, mark },
                mark => {
                    let task = match task {
                        Some(t) if t.version == version => t,
                        _ => Box::new(tx.task_get(&id)?.ok_or_else(|| StoreError::NotFound(id.clone()))?),
                    };
                    ViewRow::Changed { task, mark }
                }
            });
        }
        let hidden = hidden::count(tx, v.kept, rows.len())?;
        Ok(Snapshot { rows, frame: frame.clone(), hidden })
    })?)
}

/// The view takes the file's columns: a mark that is not a row of this file is a line
/// under the old ones, and is forgotten (its line emptied: no row is it, and no version
/// is its), so the task is written anew under the new header.
fn forget_other_columns(tx: &mut dyn Tx, view: &str, rows: &[RowTask]) -> orch_store::Result<()> {
    let lines: FxHashMap<&str, &str> = rows.iter().map(|r| (&*r.id, &*r.raw)).collect();
    for (id, mark) in tx.view_marks(view)? {
        if lines.get(id.as_str()) != Some(&mark.line.as_str()) && mark.version >= 0 {
            tx.view_mark_set(view, &id, &ViewMark { version: -1, line: String::new(), eol: String::new() })?;
        }
    }
    Ok(())
}

/// What the import's transaction rolls back with when the file is refused (bad ids,
/// conflicts), which `run` holds.
#[derive(Debug, thiserror::Error)]
#[error("the import was refused")]
struct Refused;

/// What one run of the write transaction found (PostgreSQL may run it again).
#[derive(Default)]
struct Run {
    summary: ImportSummary,
    conflicts: Vec<String>,
    bad_ids: Vec<Diagnostic>,
    /// An edit moved the status of a task with dependencies: the tasks it is linked
    /// with (and it itself) may have moved with it, so copies in hand are stale.
    moved: bool,
    /// A task compared had changed since the view was read.
    drifted: bool,
    /// Each task compared or added, as the import left it and its mark in the view,
    /// with its place among the view's rows read first.
    now: Vec<(Option<usize>, Task, Option<ViewMark>)>,
}

/// What the import learnt of the view before its write transaction, beside the view's
/// rows (read in a transaction of their own while the file is read).
struct Before {
    /// The file has the columns the view is written with.
    same_columns: bool,
    /// How many rows of the file the view does not show, and their marks.
    outside: usize,
    outside_marks: HashMap<String, ViewMark>,
    /// How many marks the view has, when they were all read.
    marks_total: Option<usize>,
}

impl Before {
    /// The marks of the file's rows the view does not show (`at` holds the places of
    /// those it shows).
    fn read(
        db: &dyn Backend,
        view: &str,
        same_columns: bool,
        file: &[RowTask<'_>],
        at: &FxHashMap<&str, usize>,
    ) -> Result<Before> {
        let outside: Vec<&str> = file.iter().map(|r| &*r.id).filter(|id| !at.contains_key(id)).collect();
        let (outside_marks, marks_total) = if outside.is_empty() {
            (HashMap::new(), None)
        } else {
            orch_store::read(db, |tx| {
                if outside.len() < SCAN_FROM {
                    let mut marks = HashMap::new();
                    for id in &outside {
                        if let Some(m) = tx.view_mark(view, id)? {
                            marks.insert(id.to_string(), m);
                        }
                    }
                    return Ok((marks, None));
                }
                let all = tx.view_marks(view)?;
                let total = all.len();
                let marks = outside.iter().filter_map(|id| Some((id.to_string(), all.get(*id)?.clone()))).collect();
                Ok((marks, Some(total)))
            })?
        };
        Ok(Before { same_columns, outside: outside.len(), outside_marks, marks_total })
    }
}

/// The view's rows as it shows them now, the columns it is written with, and how many
/// open tasks it leaves out.
fn view_rows(v: &View, db: &dyn Backend, view: &str) -> Result<(Vec<ViewRow>, Vec<String>, u64)> {
    Ok(orch_store::read(db, |tx| {
        let rows = tx.view_lines(view, v.kept)?;
        let hidden = hidden::count(tx, v.kept, rows.len())?;
        Ok((rows, frame::load(tx, view)?.columns, hidden))
    })?)
}

/// The stored tasks of the file's rows that the view does not show. Many such rows in a
/// queue not much larger than them are read with one scan of the tasks, far quicker
/// than two look-ups per row; a few are looked up one by one.
enum Tasks {
    /// Every task by id, and every id by prefix and number.
    All {
        by_id: HashMap<String, Task>,
        numbers: HashMap<(String, u64), String>,
    },
    OneByOne,
}

impl Tasks {
    fn load(tx: &mut dyn Tx, outside: usize, marks: Option<usize>) -> orch_store::Result<Tasks> {
        if outside < SCAN_FROM || marks.is_some_and(|m| outside * 4 < m) {
            return Ok(Tasks::OneByOne);
        }
        let list = tx.task_list(&ListFilter::default())?;
        let numbers = list.iter().filter_map(|t| Some((number(&t.id)?, t.id.clone()))).collect();
        let by_id = list.into_iter().map(|t| (t.id.clone(), t)).collect();
        Ok(Tasks::All { by_id, numbers })
    }

    /// The stored task with this id (each id is asked for once: a file with duplicate
    /// ids is refused). `fresh` reads it from the store even when in hand: an earlier
    /// edit may have moved it (a dependent).
    fn take(&mut self, tx: &mut dyn Tx, id: &str, fresh: bool) -> orch_store::Result<Option<Task>> {
        match self {
            Tasks::All { by_id, .. } if !fresh => Ok(by_id.remove(id)),
            _ => tx.task_get(id),
        }
    }

    /// The task that already has `id`'s prefix and number under another spelling
    /// (`ORCH-007` for `ORCH-7`).
    fn same_number(&self, tx: &mut dyn Tx, id: &str) -> orch_store::Result<Option<String>> {
        let Some((prefix, num)) = parse_id(id) else { return Ok(None) };
        let other = match self {
            Tasks::All { numbers, .. } => numbers.get(&(prefix.to_string(), num)).cloned(),
            Tasks::OneByOne => tx.task_by_number(prefix, num)?,
        };
        Ok(other.filter(|other| other != id))
    }

    /// Notes a task the import added.
    fn added(&mut self, task: &Task) {
        if let (Tasks::All { numbers, .. }, Some(key)) = (self, number(&task.id)) {
            numbers.insert(key, task.id.clone());
        }
    }
}

/// An id's prefix and number, the key of a task whatever the spelling.
fn number(id: &str) -> Option<(String, u64)> {
    parse_id(id).map(|(p, n)| (p.to_string(), n))
}
