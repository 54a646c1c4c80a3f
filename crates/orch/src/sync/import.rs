//! `import [FILE]`: a person's edits to QUEUE.md go into the database.
//!
//! The file is checked whole first (every problem with its line; exit 2 and nothing
//! changed). Then, in one transaction, each row is compared with its task (only the
//! columns the file has: a file without `notes` never touches a task's notes):
//! - a new id is a new task;
//! - a row that says what the task says is no change;
//! - a row that still shows what the view last showed, while the task moved on since, is
//!   merely stale: the database wins, and the next render updates the row;
//! - any other row is an edit. When the task did not change since the view last showed
//!   it, the row's values are applied. When it did, the edit is merged column by column
//!   with the row the view last showed: the columns the person changed take the row's
//!   values, the others keep the database's. A column both sides changed (to different
//!   values), or a row the view never showed, is a conflict: exit 5 and nothing applied,
//!   unless `force`, which applies the person's columns.
//!
//! An edit changes its task through the core's transition function (`Command::Edit`)
//! and is persisted like every other change, so what depends on the task follows: a
//! task set DONE by hand releases the tasks its failure had blocked.
//!
//! Tasks absent from the file are left as they are: the view omits old DONE tasks, so
//! absence never means deletion. The whole import holds the view lock; a large file is
//! checked against one scan of the tasks, and the view is then rendered from that same
//! snapshot instead of being read again (unless an edit moved the status of a task with
//! dependencies, which may have moved others too).

use super::{Snapshot, frame, hash, lock_view, read_optional, same_file, update_view, view_name};
use crate::error::{Error, Result};
use crate::ops::{Orch, persist};
use crate::store::{self, ListFilter, StoreError, Tx, ViewMark};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use orch_core::event::{Event, kind};
use orch_core::id::parse_id;
use orch_core::queue_md::{Diagnostic, Document, parse};
use orch_core::state::{Command, transition};
use orch_core::task::Task;
use orch_core::task_row::{RowTask, read_file, read_rows};
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

/// Imports `file` (QUEUE.md when `None`).
pub fn import(orch: &Orch, file: Option<&Path>, force: bool) -> Result<(ImportSummary, Vec<String>)> {
    let view = orch.queue_file.clone();
    let path = match (file, &view) {
        (Some(f), _) => f.to_path_buf(),
        (None, Some(v)) => v.clone(),
        (None, None) => {
            return Err(Error::Usage("no view file is configured (queue.file is empty); name a FILE".into()));
        }
    };
    let is_view = view.as_deref().is_some_and(|v| same_file(v, &path));
    if is_view && orch.queue_read_only {
        return Err(Error::Usage(format!(
            "{} is read-only output (ORCH_QUEUE_MD_READ_ONLY=1): the database is the source of truth; change tasks with orch commands",
            path.display()
        )));
    }
    let name = view_name(orch)?;
    let lock = lock_view(orch)?;
    // A file that is not there is bad input (exit 2), like a file that is not a queue.
    let text = read_optional(&path)?.ok_or_else(|| Error::Usage(format!("{}: no such file", path.display())))?;
    let shown = path.display().to_string();
    let (doc, rows) = read_file(&text, &orch.tz).map_err(|diags| Error::Input { file: shown.clone(), diags })?;
    let text_hash = is_view.then(|| hash(text.as_bytes()));
    drop(text);
    let cx = Context { orch, doc: &doc, force, now: orch.now(), shown: &shown };
    let mut summary = ImportSummary::default();
    let mut conflicts: Vec<String> = Vec::new();
    let mut bad_ids: Vec<Diagnostic> = Vec::new();
    // An edit moved the status of a task with dependencies: the tasks it is linked with
    // (and it itself) may have moved with it, so copies in hand are stale.
    let mut moved = false;
    let result = store::write(orch.db.as_ref(), |tx| {
        conflicts.clear();
        bad_ids.clear();
        moved = false;
        summary = ImportSummary { file: shown.clone(), ..ImportSummary::default() };
        let mut marks = tx.view_marks(&name)?;
        let mut tasks = Tasks::load(tx, rows.len(), marks.len())?;
        for row in &rows {
            let mark = marks.remove(&row.id);
            let Some((task, slot)) = tasks.take(tx, &row.id, moved)? else {
                if let Some(other) = tasks.same_number(tx, &row.id)? {
                    let message = format!(
                        "duplicate id `{}`: the same prefix and number as {other}, which the queue holds",
                        row.id
                    );
                    bad_ids.push(Diagnostic { line: row.line, message });
                    continue;
                }
                let (task, mark) = add_row(tx, &cx, &name, row)?;
                marks.insert(task.id.clone(), mark);
                summary.added.push(task.id.clone());
                tasks.put(None, task);
                continue;
            };
            let before = task.status;
            let done = import_row(tx, &cx, &name, row, task, mark)?;
            if done.task.status != before && !moved {
                moved = !done.task.depends_on.is_empty() || !tx.dependents_of(&row.id)?.is_empty();
            }
            match done.what {
                What::Unchanged => summary.unchanged += 1,
                What::Stale => summary.stale.push(row.id.clone()),
                What::Edited => summary.edited.push(row.id.clone()),
                What::Refused(why) => conflicts.push(why),
            }
            if let Some(m) = done.mark {
                marks.insert(row.id.clone(), m);
            }
            tasks.put(slot, done.task);
        }
        if !conflicts.is_empty() || !bad_ids.is_empty() {
            // Rolls back. Not a `Conflict`: that would have PostgreSQL run it again.
            return Err(StoreError::Db(REFUSED.into()));
        }
        let frame = if is_view || !frame::exists(tx, &name)? {
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
        Ok(tasks.into_all().map(|tasks| (tasks, marks, frame)))
    });
    let in_hand = match result {
        Err(StoreError::Db(m)) if m == REFUSED && !bad_ids.is_empty() => {
            return Err(Error::Input { file: shown, diags: std::mem::take(&mut bad_ids) });
        }
        Err(StoreError::Db(m)) if m == REFUSED => return Err(Error::Conflict(conflicts.join("\n"))),
        other => other?,
    };
    let Some(view) = view else {
        drop(lock);
        return Ok((summary, orch.after_change()));
    };
    // The view is rendered still under the lock, so no later change can be overwritten
    // by it: with every task in hand, from the snapshot just written.
    let mut warnings = Vec::new();
    if let Err(e) = crate::event_log::flush(orch) {
        warnings.push(format!("events.jsonl not updated: {e}"));
    }
    let snapshot = match in_hand {
        Some((tasks, marks, frame)) if !moved => Ok(Snapshot::from_all(orch, tasks, marks, frame)),
        _ => Snapshot::read(orch, &name, false),
    };
    match snapshot.and_then(|s| update_view(orch, &name, &view, &s.render(orch))) {
        Ok(w) => warnings.extend(w),
        Err(e) => warnings.push(format!("view not updated: {e}")),
    }
    Ok((summary, warnings))
}

/// What the import's transaction fails with when the file is refused (bad ids, conflicts).
const REFUSED: &str = "the import was refused";

/// What every row of one import shares.
struct Context<'a> {
    orch: &'a Orch,
    doc: &'a Document,
    force: bool,
    now: Timestamp,
    shown: &'a str,
}

/// The file's tasks as stored. A file about as large as the queue's view is read with
/// one scan of the tasks, which is far quicker than one look-up per row, and which
/// leaves every task in hand to render the view from; a small file (or a queue with
/// many more tasks than the file shows) looks its rows up one by one.
enum Tasks {
    /// Every task, its place by id, and by prefix and number.
    All {
        list: Vec<Task>,
        index: HashMap<String, usize>,
        numbers: HashMap<(String, u64), usize>,
    },
    OneByOne,
}

impl Tasks {
    fn load(tx: &mut dyn Tx, rows: usize, marks: usize) -> store::Result<Tasks> {
        if rows < 64 || rows * 4 < marks {
            return Ok(Tasks::OneByOne);
        }
        let list = tx.task_list(&ListFilter::default())?;
        let index = list.iter().enumerate().map(|(i, t)| (t.id.clone(), i)).collect();
        let numbers = list.iter().enumerate().filter_map(|(i, t)| Some((number(&t.id)?, i))).collect();
        Ok(Tasks::All { list, index, numbers })
    }

    /// The task that already has `id`'s prefix and number under another spelling
    /// (`ORCH-007` for `ORCH-7`).
    fn same_number(&self, tx: &mut dyn Tx, id: &str) -> store::Result<Option<String>> {
        let Some((prefix, num)) = parse_id(id) else { return Ok(None) };
        let other = match self {
            Tasks::All { list, numbers, .. } => numbers.get(&(prefix.to_string(), num)).map(|&i| list[i].id.clone()),
            Tasks::OneByOne => tx.task_by_number(prefix, num)?,
        };
        Ok(other.filter(|other| other != id))
    }

    /// The stored task with this id and its place, to [`Tasks::put`] it back (each id is
    /// asked for once: a file with duplicate ids is refused). `fresh` reads it from the
    /// store even when in hand: an earlier edit may have moved it (a dependent).
    fn take(&mut self, tx: &mut dyn Tx, id: &str, fresh: bool) -> store::Result<Option<(Task, Option<usize>)>> {
        match self {
            Tasks::All { list, index, .. } => {
                let Some(&i) = index.get(id) else { return Ok(None) };
                let held = std::mem::replace(&mut list[i], placeholder());
                let task = if fresh { tx.task_get(id)?.unwrap_or(held) } else { held };
                Ok(Some((task, Some(i))))
            }
            Tasks::OneByOne => Ok(tx.task_get(id)?.map(|t| (t, None))),
        }
    }

    /// Puts a task back as it is now; a new one (`slot` none) goes at the end.
    fn put(&mut self, slot: Option<usize>, task: Task) {
        if let Tasks::All { list, numbers, .. } = self {
            match slot {
                Some(i) => list[i] = task,
                None => {
                    if let Some(key) = number(&task.id) {
                        numbers.insert(key, list.len());
                    }
                    list.push(task);
                }
            }
        }
    }

    fn into_all(self) -> Option<Vec<Task>> {
        match self {
            Tasks::All { list, .. } => Some(list),
            Tasks::OneByOne => None,
        }
    }
}

/// An id's prefix and number, the key of a task whatever the spelling.
fn number(id: &str) -> Option<(String, u64)> {
    parse_id(id).map(|(p, n)| (p.to_string(), n))
}

/// Holds a task's place while the task is out being imported; allocates nothing.
fn placeholder() -> Task {
    Task::new(String::new(), String::new(), orch_core::task::Priority::P2, 0, Timestamp::UNIX_EPOCH)
}

/// What importing one row did, with its task and its mark as they are now.
struct RowDone {
    task: Task,
    mark: Option<ViewMark>,
    what: What,
}

enum What {
    Unchanged,
    Stale,
    Edited,
    /// A conflict, as a `FILE:LINE: …` sentence.
    Refused(String),
}

fn import_row(
    tx: &mut dyn Tx,
    cx: &Context<'_>,
    view: &str,
    row: &RowTask,
    task: Task,
    mark: Option<ViewMark>,
) -> store::Result<RowDone> {
    if row.matches(&task) {
        // Keep the person's line (its spacing) for as long as it shows the task.
        let mark = match mark {
            Some(m) if m.line == row.raw && m.version == task.version => m,
            _ => {
                let m = ViewMark { version: task.version, line: row.raw.clone(), eol: row.eol.clone() };
                tx.view_mark_set(view, &row.id, &m)?;
                m
            }
        };
        return Ok(RowDone { task, mark: Some(mark), what: What::Unchanged });
    }
    let edited = match &mark {
        Some(m) if m.line == row.raw => return Ok(RowDone { task, mark, what: What::Stale }),
        Some(m) if m.version == task.version => {
            let mut t = task.clone();
            row.apply_to(&mut t);
            t
        }
        _ => {
            let (merged, clash) = match mark.as_ref().and_then(|m| shown_row(cx.doc, m, &cx.orch.tz)) {
                Some(base) => {
                    let m = row.merge(&base, &task);
                    let clash = (!m.conflicts.is_empty()).then(|| {
                        format!(
                            "QUEUE.md and the database both changed {} since the view last showed it",
                            m.conflicts.join(", ")
                        )
                    });
                    (m.task, clash)
                }
                None => {
                    let mut t = task.clone();
                    row.apply_to(&mut t);
                    (t, Some("the row differs from the database, and the view never showed this version of it".into()))
                }
            };
            if let Some(clash) = clash.filter(|_| !cx.force) {
                let why = format!(
                    "{}:{}: {}: {clash} (the task is {} now); the edit is refused (import --force applies it)",
                    cx.shown, row.line, row.id, task.status
                );
                return Ok(RowDone { task, mark, what: What::Refused(why) });
            }
            merged
        }
    };
    let (saved, new_mark) = edit_row(tx, cx, view, &task, edited, row)?;
    Ok(RowDone { task: saved, mark: new_mark.or(mark), what: What::Edited })
}

fn add_row(tx: &mut dyn Tx, cx: &Context<'_>, view: &str, row: &RowTask) -> store::Result<(Task, ViewMark)> {
    let max_attempts = cx.orch.policy.default_max_attempts();
    let mut t = Task::new(row.id.clone(), row.task.clone(), row.priority, max_attempts, cx.now);
    row.apply_to(&mut t);
    t.version = 1;
    tx.task_insert(&t)?;
    let mark = ViewMark { version: 1, line: row.raw.clone(), eol: row.eol.clone() };
    tx.view_mark_set(view, &t.id, &mark)?;
    let mut e = Event::new(cx.now, kind::TASK_IMPORTED);
    e.task_id = Some(t.id.clone());
    e.to = Some(t.status);
    e.owner = t.owner.clone();
    e.msg = Some(format!("line {}", row.line));
    tx.event_insert(&e)?;
    Ok((t, mark))
}

/// What the view last showed of a task, read as a row with the file's columns; `None`
/// when that line no longer fits them (the header changed since).
fn shown_row(doc: &Document, mark: &ViewMark, tz: &TimeZone) -> Option<RowTask> {
    let text = format!("{}\n{}\n{}\n", doc.header_raw, doc.separator_raw, mark.line);
    let one = parse(&text).ok()?;
    read_rows(&one, tz).ok()?.pop()
}

/// A person's edit of a row, `edited` being the task with it applied, as a transition
/// (`Command::Edit`) persisted like any other: the task, the end of a live run it takes
/// elsewhere (`edited_by_hand`), its event and what follows for the tasks that depend on
/// it. Returns the task saved and, when the row shows it exactly, the row as its mark.
fn edit_row(
    tx: &mut dyn Tx,
    cx: &Context<'_>,
    view: &str,
    task: &Task,
    edited: Task,
    row: &RowTask,
) -> store::Result<(Task, Option<ViewMark>)> {
    let file = Path::new(cx.shown).file_name().map_or_else(|| cx.shown.into(), |f| f.to_string_lossy());
    let cmd = Command::Edit { to: Box::new(edited), source: format!("edited in {file} line {}", row.line) };
    let change = transition(task, &cmd, cx.now, &cx.orch.policy)
        .map_err(|e| StoreError::Db(format!("an edit is never refused, yet: {e}")))?;
    let saved = persist(tx, task, change, None)?;
    // The person's line stays as written while it says what the task says; a merge that
    // kept some of the database's values is written anew by the next render.
    let mark =
        row.matches(&saved).then(|| ViewMark { version: saved.version, line: row.raw.clone(), eol: row.eol.clone() });
    if let Some(m) = &mark {
        tx.view_mark_set(view, &saved.id, m)?;
    }
    Ok((saved, mark))
}
