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
use std::time::Duration;

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

/// How long a lock whose recorded holder is dead is waited for.
const DEAD_HOLDER_WAIT: Duration = Duration::from_secs(3);
const RETRY: Duration = Duration::from_millis(20);

/// Whether the process the lock file names (`pid N on HOST since …`) is gone.
fn holder_is_gone(holder: &str) -> bool {
    holder
        .strip_prefix("pid ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|pid| pid.parse::<i32>().ok())
        .is_some_and(|pid| crate::runner::proc_start(pid).is_none())
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
    let mut waited = Duration::ZERO;
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.seek(SeekFrom::Start(0));
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                // A dispatcher that died leaves the lock to a worker it was starting, for
                // the moment between the fork and the exec (the lock's descriptor closes at
                // the exec): wait for that rather than refuse.
                if holder_is_gone(holder) && waited < DEAD_HOLDER_WAIT {
                    std::thread::sleep(RETRY);
                    waited += RETRY;
                    continue;
                }
                let holder = if holder.is_empty() { "another process" } else { holder };
                return Err(Error::Conflict(format!("a dispatcher is running on {guarded} already: {holder}")));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
    }
    let me =
        format!("pid {} on {host} since {} (home {})\n", std::process::id(), orch.now(), orch.home().dir.display());
    file.set_len(0).and_then(|_| file.seek(SeekFrom::Start(0))).map_err(|e| Error::io(&path, e))?;
    file.write_all(me.as_bytes()).map_err(|e| Error::io(&path, e))?;
    Ok(DispatcherLock { _file: file })
}
