//! The repository's own lock, in its common git folder, taken while worktrees are made
//! or removed (so two dispatchers never make the same one at once). It is the kernel's
//! (flock): it goes away with its process, however that process dies, so a crash never
//! leaves it held.

use std::fs::File;
use std::path::Path;

/// The lock taken while worktrees are made or removed.
pub const WORKTREES: &str = "orch-worktrees.lock";

/// Waits for and takes lock `name` in `common`; held until the file is dropped.
pub fn hold(common: &Path, name: &str) -> Result<File, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = common.join(name);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    file.lock().map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(file)
}
