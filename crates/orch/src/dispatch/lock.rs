//! One dispatcher per home: an exclusive lock on `.orch/dispatcher.lock`, which also
//! says who holds it, so a second `orch run` names the holder and exits 5. The lock is
//! the kernel's (flock): it goes away with its process, however that process dies.

use crate::error::{Error, Result};
use crate::ops::Orch;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};

/// Held for as long as the dispatcher runs.
pub struct DispatcherLock {
    _file: File,
}

pub fn acquire(orch: &Orch, host: &str) -> Result<DispatcherLock> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = orch.home.dir.join("dispatcher.lock");
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
            return Err(Error::Conflict(format!(
                "a dispatcher is running on {} already: {holder}",
                orch.home.dir.display()
            )));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
    }
    let me = format!("pid {} on {host} since {}\n", std::process::id(), orch.now());
    file.set_len(0).and_then(|_| file.seek(SeekFrom::Start(0))).map_err(|e| Error::io(&path, e))?;
    file.write_all(me.as_bytes()).map_err(|e| Error::io(&path, e))?;
    Ok(DispatcherLock { _file: file })
}
