//! `.orch/events.jsonl`: the database's event log mirrored as one JSON object per line.
//!
//! The database is the record: every event is written in the same transaction as its
//! change. This file follows it. [`EventLog::flush`] appends every event after the last one the
//! file holds, under a file lock, so a process killed between its commit and its append
//! leaves nothing missing: the next flush (by any process) writes what was not written.
//! [`EventLog::rewrite`] replaces the file with the database's events (after `prune`), atomically
//! and under the same lock; a flush that waited for the lock on the replaced file sees
//! that the path now names another file and takes that one's lock instead. Threads of
//! one process flush together (one [`EventLog`] per file), and remember where their last append left
//! the file: while nobody else has written it since, the next flush appends without
//! reading the file's tail again.

use crate::error::{Error, Result};
use orch_store::Backend;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, TryLockError};

/// How much of the file is read at first, backwards from its end, to find its last event
/// (an event line is a few hundred bytes); each further read doubles, up to [`TAIL`].
const FIRST_TAIL: u64 = 4 * 1024;
/// The most that is read at a time.
const TAIL: u64 = 64 * 1024;
/// Events read from the database per round.
const PAGE: usize = 1000;
/// How often a writer reopens a file that was replaced while it waited for the lock.
const REOPEN_TRIES: usize = 16;

/// The events file of one queue, as this process writes it: its path, and the flushes
/// of this process's threads.
#[derive(Debug)]
pub struct EventLog {
    path: PathBuf,
    flushes: Flushes,
}

/// The flushes of one process's threads, taken together: while one thread appends,
/// another that has just committed does not queue for the file's lock and read the
/// same events again; it marks that there is more, and the appending thread reads the
/// database once more before it lets go. So a busy process appends in batches, and
/// every committed event is still appended before the last flusher returns.
#[derive(Debug, Default)]
struct Flushes {
    /// Held by the thread that is appending.
    running: Mutex<()>,
    /// Events were committed since the appending thread last read the database.
    pending: AtomicBool,
    /// Where this process's last append left the file (taken with `running` held).
    tail: Mutex<Option<Tail>>,
}

/// The file as this process's last append left it, and the number of its last event.
#[derive(Clone, Copy, Debug)]
struct Tail {
    file: Stamp,
    seq: i64,
}

/// What tells one state of the file from another: which file it is (a rewrite replaces
/// it), its size and when it was last written. The file only grows by appends, and
/// shrinks only when a torn last line is cut, so a file with the same stamp as after our
/// append holds what we left there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
}

impl Stamp {
    fn of(m: &std::fs::Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        Stamp { dev: m.dev(), ino: m.ino(), len: m.len(), mtime: (m.mtime(), m.mtime_nsec()) }
    }
}

impl EventLog {
    /// The events file at `path` (`.orch/events.jsonl`).
    pub fn new(path: PathBuf) -> EventLog {
        EventLog { path, flushes: Flushes::default() }
    }

    /// Appends the events the file lacks; returns how many this thread appended (0 when
    /// another thread of this process is appending, which then appends ours too).
    pub fn flush(&self, db: &dyn Backend) -> Result<usize> {
        let f = &self.flushes;
        f.pending.store(true, Ordering::SeqCst);
        let mut written = 0;
        loop {
            let running = match f.running.try_lock() {
                Ok(g) => g,
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
                Err(TryLockError::WouldBlock) => return Ok(written),
            };
            while f.pending.swap(false, Ordering::SeqCst) {
                match self.flush_once(db) {
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

    /// One pass: every event after the file's last, under the file's lock. The file's last
    /// event is read from its tail unless the file is as this process's last append left it.
    fn flush_once(&self, db: &dyn Backend) -> Result<usize> {
        let path = &self.path;
        let (mut file, stamp) = open_locked(path)?;
        let mut tail = self.flushes.tail.lock().unwrap_or_else(|p| p.into_inner());
        let mut last = match *tail {
            Some(t) if t.file == stamp => t.seq,
            _ => last_seq(&mut file).map_err(|e| Error::io(path, e))?,
        };
        let mut written = 0;
        loop {
            let events = orch_store::read(db, |tx| tx.events_after(last, PAGE))?;
            let Some(end) = events.last().map(|e| e.seq) else { break };
            let mut buf = String::new();
            for e in &events {
                buf.push_str(&e.to_json_line());
                buf.push('\n');
            }
            file.write_all(buf.as_bytes()).map_err(|e| Error::io(path, e))?;
            written += events.len();
            last = end;
            // A short page is all there was: what commits later is flushed after its commit.
            if events.len() < PAGE {
                break;
            }
        }
        let now = file.metadata().map_err(|e| Error::io(path, e))?;
        *tail = Some(Tail { file: Stamp::of(&now), seq: last });
        Ok(written)
    }

    /// Replaces the file with every event the database holds (a temporary file beside it,
    /// fsync, rename), under the file's lock. Returns its size before and after.
    pub fn rewrite(&self, db: &dyn Backend) -> Result<(u64, u64)> {
        let path = &self.path;
        let (held, stamp) = open_locked(path)?;
        let before = stamp.len;
        let dir = path.parent().unwrap_or(Path::new("."));
        let tmp = tempfile::Builder::new().prefix(".events-").tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
        let mut out = std::io::BufWriter::new(tmp);
        let mut last = 0;
        let mut after = 0u64;
        loop {
            let events = orch_store::read(db, |tx| tx.events_after(last, PAGE))?;
            let Some(end) = events.last().map(|e| e.seq) else { break };
            for e in &events {
                let line = e.to_json_line();
                after += line.len() as u64 + 1;
                writeln!(out, "{line}").map_err(|e| Error::io(path, e))?;
            }
            last = end;
        }
        let tmp = out.into_inner().map_err(|e| Error::io(path, e.error()))?;
        tmp.as_file().sync_all().map_err(|e| Error::io(tmp.path(), e))?;
        tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        drop(held);
        Ok((before, after))
    }
}

/// Opens the file (creating it, private) and takes its lock; returns it with its stamp.
/// When the path names another file by the time the lock is ours (a rewrite replaced
/// it), the lock guards nothing: open the new file and try again.
fn open_locked(path: &Path) -> Result<(File, Stamp)> {
    for _ in 0..REOPEN_TRIES {
        let file = crate::home::open_private(path)?;
        file.lock().map_err(|e| Error::io(path, e))?;
        if let (Ok(held), Ok(named)) = (file.metadata(), std::fs::metadata(path)) {
            let stamp = Stamp::of(&held);
            let now = Stamp::of(&named);
            if (stamp.dev, stamp.ino) == (now.dev, now.ino) {
                return Ok((file, stamp));
            }
        }
    }
    Err(Error::Io(format!("{}: replaced again and again while waiting for its lock", path.display())))
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

/// The offset of the last newline before `before`, reading backwards a block at a time,
/// a small one first and larger ones after (an event line may be longer than a block).
fn rfind_newline(file: &mut File, before: u64) -> std::io::Result<Option<u64>> {
    let mut end = before;
    let mut block = FIRST_TAIL;
    let mut buf = Vec::new();
    while end > 0 {
        let start = end.saturating_sub(block);
        buf.resize((end - start) as usize, 0);
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut buf)?;
        if let Some(i) = buf.iter().rposition(|&b| b == b'\n') {
            return Ok(Some(start + i as u64));
        }
        end = start;
        block = (block * 2).min(TAIL);
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
