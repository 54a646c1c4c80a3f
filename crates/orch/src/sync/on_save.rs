//! Import on save: QUEUE.md saved by a person while a dispatcher runs is taken in
//! exactly as `orch import` takes it (the same code, the same transaction, the same
//! refusals), never with `--force`. A file that holds what orch last wrote or imported,
//! or what orch left after refusing a save, is orch's own and is left alone, so orch's
//! writes never import themselves.
//!
//! A save that cannot be taken (a problem in the file, a conflict with a newer change in
//! the database) is refused whole: nothing of it is applied, orch puts a block saying
//! why right above the table (see `refused`; every other byte of the file stays as
//! saved, and the file still counts as holding unimported edits, so no refresh writes
//! over it), records the refusal for `check`, and writes an `import.refused` event. The
//! block is written only when the file still holds what was refused, looked at again
//! right before the rename: a newer save is never overwritten, it is judged in turn.

use super::file::fingerprint;
use super::import::import_file;
use super::refused::{self, Refusal, annotate};
use super::{Import, ImportSummary, View, hash, read_bytes};
use crate::error::{Error, Result};
use crate::home::{Flush, write_atomic_if};
use orch_core::event::{Event, Level, kind};
use orch_store::Backend;

/// What a save came to.
#[derive(Debug)]
pub enum Saved {
    /// The file is orch's own (its last write or import, or what it left after a
    /// refusal), or missing: nothing was done.
    Unchanged,
    Imported {
        summary: ImportSummary,
        warnings: Vec<String>,
    },
    /// Refused whole: the problems, as the block in the file says them.
    Refused(Vec<String>),
    /// The file changed again while it was judged: the next save's turn.
    Moved,
}

/// Takes in the view file as a person saved it (see the module's comment).
pub fn import_saved(v: &View, im: &Import<'_>) -> Result<Saved> {
    let mut read = None;
    let e = match import_file(v, im, None, false, Some(&mut read)) {
        Ok(None) => return Ok(Saved::Unchanged),
        Ok(Some((summary, warnings))) => return Ok(Saved::Imported { summary, warnings }),
        Err(e @ (Error::Input { .. } | Error::Conflict(_) | Error::Usage(_))) => e,
        Err(e) => return Err(e),
    };
    let Some(read) = read else { return Err(e) };
    refuse(v, im, &e, &read)
}

/// Says, in the file and in the store, that the save whose bytes hash to `read` was
/// refused with `e`.
fn refuse(v: &View, im: &Import<'_>, e: &Error, read: &str) -> Result<Saved> {
    let Some(path) = v.file() else { return Ok(Saved::Unchanged) };
    let db: &dyn Backend = im.db;
    let view = v.name(db)?;
    let _lock = v.lock()?;
    let Some(bytes) = read_bytes(path)? else { return Ok(Saved::Moved) };
    if hash(&bytes) != read {
        return Ok(Saved::Moved);
    }
    let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    let (text, problems) = annotate(&bytes, &path.display().to_string(), &name, &e.to_string());
    let same = || Ok(fingerprint(path)?.as_deref() == Some(read));
    // The person's text, with the block: synced, as their own save would be.
    if text != bytes && !write_atomic_if(path, &text, Flush::Synced, same)? {
        return Ok(Saved::Moved);
    }
    let refusal = Refusal { hash: hash(&text), problems: problems.clone() };
    orch_store::write(db, |tx| {
        refused::record(tx, &view, &refusal)?;
        let mut ev = Event::new(im.now, kind::IMPORT_REFUSED);
        ev.level = Level::Warn;
        ev.msg = Some(problems.join("; "));
        tx.event_insert(&ev)
    })?;
    // A file that cannot be written now is caught up by the next flush.
    let _ = im.events.flush(db);
    Ok(Saved::Refused(problems))
}

/// The problems of the refusal recorded for the view file, when the file still holds
/// what orch left after refusing it.
pub fn refusal(v: &View, db: &dyn Backend) -> Result<Option<Vec<String>>> {
    let Some(path) = v.file() else { return Ok(None) };
    let view = v.name(db)?;
    let Some(r) = orch_store::read(db, |tx| refused::recorded(tx, &view))? else { return Ok(None) };
    Ok((fingerprint(path)?.as_deref() == Some(r.hash.as_str())).then_some(r.problems))
}
