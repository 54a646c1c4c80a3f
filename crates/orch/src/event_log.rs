//! `.orch/events.jsonl`: the database's event log mirrored as one JSON object per line.
//!
//! The database is the record: every event is written in the same transaction as its
//! change. This file follows it. [`flush`] appends every event after the last one the
//! file holds, under a file lock, so a process killed between its commit and its append
//! leaves nothing missing: the next flush (by any process) writes what was not written.
//! [`rewrite`] replaces the file with the database's events (after `prune`), atomically
//! and under the same lock; a flush that waited for the lock on the replaced file sees
//! that the path now names another file and takes that one's lock instead. Threads of
//! one process flush together ([`Flushes`]).

use crate::error::{Error, Result};
use crate::ops::Orch;
use crate::store;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, TryLockError};

/// How much of the file is read at a time, backwards from its end, to find its last event.
const TAIL: u64 = 64 * 1024;
/// Events read from the database per round.
const PAGE: usize = 1000;
/// How often a writer reopens a file that was replaced while it waited for the lock.
const REOPEN_TRIES: usize = 16;

/// The flushes of one process's threads, taken together: while one thread appends,
/// another that has just committed does not queue for the file's lock and read the
/// same events again; it marks that there is more, and the appending thread reads the
/// database once more before it lets go. So a busy process appends in batches, and
/// every committed event is still appended before the last flusher returns.
#[derive(Debug, Default)]
pub struct Flushes {
    /// Held by the thread that is appending.
    running: Mutex<()>,
    /// Events were committed since the appending thread last read the database.
    pending: AtomicBool,
}

/// Appends the events the file lacks; returns how many this thread appended (0 when
/// another thread of this process is appending, which then appends ours too).
pub fn flush(orch: &Orch) -> Result<usize> {
    let f = &orch.flushes;
    f.pending.store(true, Ordering::SeqCst);
    let mut written = 0;
    loop {
        let running = match f.running.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return Ok(written),
        };
        while f.pending.swap(false, Ordering::SeqCst) {
            match flush_once(orch) {
                Ok(n) => written += n,
                Err(e) => {
                    f.pending.store(true, Ordering::SeqCst);
                    return Err(e);
                }
            }
        }
        drop(running);
        // A thread that marked more just before we let go found the lock taken: look
        // again, or leave it to whoever holds the lock now.
        if !f.pending.load(Ordering::SeqCst) {
            return Ok(written);
        }
    }
}

/// One pass: every event after the file's last, under the file's lock.
fn flush_once(orch: &Orch) -> Result<usize> {
    let path = orch.home.events_path();
    let mut file = open_locked(&path)?;
    let mut last = last_seq(&mut file).map_err(|e| Error::io(&path, e))?;
    let mut written = 0;
    loop {
        let events = store::read(orch.db.as_ref(), |tx| tx.events_after(last, PAGE))?;
        let Some(end) = events.last().map(|e| e.seq) else { break };
        let mut buf = String::new();
        for e in &events {
            buf.push_str(&e.to_json_line());
            buf.push('\n');
        }
        file.write_all(buf.as_bytes()).map_err(|e| Error::io(&path, e))?;
        written += events.len();
        last = end;
        // A short page holds every event committed before it was read.
        if events.len() < PAGE {
            break;
        }
    }
    Ok(written)
}

/// Replaces the file with every event the database holds (a temporary file beside it,
/// fsync, rename), under the file's lock. Returns its size before and after.
pub fn rewrite(orch: &Orch) -> Result<(u64, u64)> {
    let path = orch.home.events_path();
    let held = open_locked(&path)?;
    let before = held.metadata().map_err(|e| Error::io(&path, e))?.len();
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new().prefix(".events-").tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
    let mut out = std::io::BufWriter::new(tmp);
    let mut last = 0;
    let mut after = 0u64;
    loop {
        let events = store::read(orch.db.as_ref(), |tx| tx.events_after(last, PAGE))?;
        let Some(end) = events.last().map(|e| e.seq) else { break };
        for e in &events {
            let line = e.to_json_line();
            after += line.len() as u64 + 1;
            writeln!(out, "{line}").map_err(|e| Error::io(&path, e))?;
        }
        last = end;
    }
    let tmp = out.into_inner().map_err(|e| Error::io(&path, e.error()))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(tmp.path(), e))?;
    tmp.persist(&path).map_err(|e| Error::io(&path, e.error))?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    drop(held);
    Ok((before, after))
}

/// Opens the file (creating it, private) and takes its lock. When the path names
/// another file by the time the lock is ours (a rewrite replaced it), the lock guards
/// nothing: open the new file and try again.
fn open_locked(path: &Path) -> Result<File> {
    for _ in 0..REOPEN_TRIES {
        let file = crate::home::open_private(path)?;
        file.lock().map_err(|e| Error::io(path, e))?;
        if same_file(&file, path) {
            return Ok(file);
        }
    }
    Err(Error::Io(format!("{}: replaced again and again while waiting for its lock", path.display())))
}

fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// The `seq` of the file's last complete line (0 for an empty file). A torn last line —
/// a write cut short by a crash — is cut off, to be written again whole.
fn last_seq(file: &mut File) -> std::io::Result<i64> {
    let len = file.seek(SeekFrom::End(0))?;
    let Some(end) = rfind_newline(file, len)? else {
        if len > 0 {
            file.set_len(0)?;
        }
        return Ok(0);
    };
    if end + 1 < len {
        file.set_len(end + 1)?;
    }
    let start = rfind_newline(file, end)?.map_or(0, |p| p + 1);
    let mut line = vec![0; usize::try_from(end - start).map_err(std::io::Error::other)?];
    file.seek(SeekFrom::Start(start))?;
    file.read_exact(&mut line)?;
    if line.is_empty() {
        return Ok(0);
    }
    let v: serde_json::Value = serde_json::from_slice(&line)
        .map_err(|e| std::io::Error::other(format!("last event line is not JSON: {e}")))?;
    Ok(v.get("seq").and_then(|s| s.as_i64()).unwrap_or(0))
}

/// The offset of the last newline before `before`, reading backwards a block at a time
/// (an event line may be longer than one block).
fn rfind_newline(file: &mut File, before: u64) -> std::io::Result<Option<u64>> {
    let mut end = before;
    let mut buf = vec![0; TAIL as usize];
    while end > 0 {
        let start = end.saturating_sub(TAIL);
        let chunk = &mut buf[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            return Ok(Some(start + i as u64));
        }
        end = start;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::last_seq;
    use std::io::{Read, Seek, SeekFrom, Write};

    fn file_with(text: &str) -> std::fs::File {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    fn content(f: &mut std::fs::File) -> String {
        let mut s = String::new();
        f.seek(SeekFrom::Start(0)).unwrap();
        f.read_to_string(&mut s).unwrap();
        s
    }

    #[test]
    fn the_last_complete_line_gives_the_seq_and_a_torn_tail_is_cut() {
        let mut f = file_with("{\"seq\":1}\n{\"seq\":2}\n{\"seq\":3,\"ev");
        assert_eq!(last_seq(&mut f).unwrap(), 2);
        assert_eq!(content(&mut f), "{\"seq\":1}\n{\"seq\":2}\n");
        let mut f = file_with("{\"seq\":1");
        assert_eq!(last_seq(&mut f).unwrap(), 0);
        assert_eq!(content(&mut f), "");
        assert_eq!(last_seq(&mut file_with("")).unwrap(), 0);
    }

    #[test]
    fn a_last_line_longer_than_one_block_is_read_whole() {
        let long = format!("{{\"seq\":7,\"msg\":\"{}\"}}\n", "x".repeat(200_000));
        let mut f = file_with(&format!("{{\"seq\":6}}\n{long}"));
        assert_eq!(last_seq(&mut f).unwrap(), 7);
        let mut f = file_with(&long);
        assert_eq!(last_seq(&mut f).unwrap(), 7);
    }
}
