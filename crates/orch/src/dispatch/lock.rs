//! One dispatcher per SQLite database: an exclusive lock on a file beside the database
//! (`orch.db.dispatcher.lock` next to `orch.db`), so a second `orch run` on the same
//! database — from this home or any other, with `--db` — names the holder and exits 5.
//! On PostgreSQL several dispatchers share the queue (one per host); there the lock is
//! per home (`.orch/dispatcher.lock`), and recovery tells live dispatchers from dead ones.
//! The lock is the kernel's (flock): it goes away with its process, however that process
//! dies.

use crate::error::{Error, Result};
use crate::ops::Orch;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

/// Held for as long as the dispatcher runs.
pub struct DispatcherLock {
    _file: File,
}

/// The lock file for the queue of `orch`, and what it guards (for messages).
fn lock_path(orch: &Orch) -> (PathBuf, String) {
    match orch.db().capabilities().lock_scope {
        orch_store::LockScope::DatabaseFile(db) => {
            let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "orch.db".into());
            name.push(".dispatcher.lock");
            let path = db.with_file_name(name);
            (path, format!("the database {}", db.display()))
        }
        orch_store::LockScope::Home => (orch.home().dir.join("dispatcher.lock"), orch.home().dir.display().to_string()),
    }
}

pub fn acquire(orch: &Orch, host: &str) -> Result<DispatcherLock> {
    use std::os::unix::fs::OpenOptionsExt;
    let (path, guarded) = lock_path(orch);
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let holder = if holder.is_empty() { "another process" } else { holder };
            return Err(Error::Conflict(format!("a dispatcher is running on {guarded} already: {holder}")));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
    }
    let me =
        format!("pid {} on {host} since {} (home {})\n", std::process::id(), orch.now(), orch.home().dir.display());
    file.set_len(0).and_then(|_| file.seek(SeekFrom::Start(0))).map_err(|e| Error::io(&path, e))?;
    file.write_all(me.as_bytes()).map_err(|e| Error::io(&path, e))?;
    Ok(DispatcherLock { _file: file })
}
