//! The home folder `.orch/`: finding it (like git, upward from the current folder),
//! creating it private (0700, files 0600), the paths inside it (a run's folder
//! `.orch/runs/RUN_ID/`), and the private-file writers every module uses.
//!
//! A home named explicitly (`--home DIR`, `ORCH_HOME`) must be one: a folder holding
//! `orch.toml` or `orch.db`, or a project folder holding `.orch/` (then that is the
//! home). Any other folder is refused, never turned into a queue.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

pub const DIR_NAME: &str = ".orch";

/// A run's output is read up to this size: a longer review log is cut (the file keeps
/// all); a longer report is over the hard budget, unread (`gate::output`).
pub const MAX_RUN_FILE_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Clone, Debug)]
pub struct Home {
    /// The `.orch` folder itself.
    pub dir: PathBuf,
}

impl Home {
    /// `explicit` (from `--home` or `ORCH_HOME`) or the nearest `.orch/` upward from `cwd`.
    pub fn find(explicit: Option<&Path>, cwd: &Path) -> Result<Home> {
        if let Some(dir) = explicit {
            let dir = absolute(dir, cwd);
            let home = Home { dir: dir.clone() };
            if home.config_path().is_file() || home.db_path().is_file() {
                return Ok(home);
            }
            let inner = dir.join(DIR_NAME);
            if inner.is_dir() {
                return Ok(Home { dir: inner });
            }
            return Err(Error::Usage(format!(
                "no orch queue at {} (no orch.toml or orch.db in it, and no {DIR_NAME}/); run `orch init`",
                dir.display()
            )));
        }
        let mut at = Some(cwd);
        while let Some(d) = at {
            let candidate = d.join(DIR_NAME);
            if candidate.is_dir() {
                return Ok(Home { dir: candidate });
            }
            at = d.parent();
        }
        Err(Error::Usage(format!("no {DIR_NAME}/ in {} or any folder above it; run `orch init` first", cwd.display())))
    }

    /// The home `init` creates: `explicit` (or its `.orch/` when it holds one), or
    /// `.orch` in `cwd`.
    pub fn for_init(explicit: Option<&Path>, cwd: &Path) -> Home {
        match explicit.map(|d| absolute(d, cwd)) {
            Some(d) if !d.join("orch.toml").exists() && d.join(DIR_NAME).is_dir() => Home { dir: d.join(DIR_NAME) },
            Some(d) => Home { dir: d },
            None => Home { dir: cwd.join(DIR_NAME) },
        }
    }

    /// The folder that holds `.orch/`; QUEUE.md lives relative to it.
    pub fn root(&self) -> &Path {
        self.dir.parent().unwrap_or(&self.dir)
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("orch.toml")
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.join("orch.db")
    }

    pub fn events_path(&self) -> PathBuf {
        self.dir.join("events.jsonl")
    }

    pub fn runs_dir(&self) -> PathBuf {
        self.dir.join("runs")
    }

    /// Where a run's files live: `.orch/runs/RUN_ID/` (task file, stdout, stderr, review).
    pub fn run_dir(&self, run_id: &str) -> PathBuf {
        self.runs_dir().join(run_id)
    }

    /// Reads a file of a run (`stdout.log`, `review.log`), cut at [`MAX_RUN_FILE_BYTES`]
    /// (the file keeps all); empty when it is missing.
    pub fn read_run_file(&self, run_id: &str, name: &str) -> String {
        use std::io::Read;
        let mut buf = Vec::new();
        if let Ok(f) = std::fs::File::open(self.run_dir(run_id).join(name)) {
            let _ = f.take(MAX_RUN_FILE_BYTES).read_to_end(&mut buf);
        }
        String::from_utf8_lossy(&buf).into_owned()
    }

    pub fn view_lock_path(&self) -> PathBuf {
        self.dir.join("view.lock")
    }

    /// Creates the folder, private to its owner.
    pub fn create(&self) -> Result<()> {
        create_private_dir(&self.dir)
    }
}

/// Creates a folder (and its parents) readable by its owner only.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| Error::io(dir, e))
}

/// Opens (creating) a file readable by its owner only, for appending and locking.
pub fn open_private(path: &Path) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(path, e))
}

/// Creates (or empties) a file readable by its owner only, for writing: a worker's
/// stdout and stderr, a run's task file.
pub fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)
}

/// Writes a run file for a process to read now (no fsync: the database, not this file,
/// is the record).
pub fn replace_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    create_private(path).and_then(|mut f| f.write_all(text.as_bytes())).map_err(|e| Error::io(path, e))
}

/// Appends `text` to a file readable by its owner only (created if missing).
pub fn append_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    open_private(path)?.write_all(text.as_bytes()).map_err(|e| Error::io(path, e))
}

fn absolute(p: &Path, cwd: &Path) -> PathBuf {
    if p.is_absolute() { p.to_path_buf() } else { cwd.join(p) }
}

/// Writes a new file readable by its owner only; fails if it exists.
pub fn write_private(path: &Path, content: impl AsRef<[u8]>) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    f.write_all(content.as_ref()).and_then(|()| f.sync_all()).map_err(|e| Error::io(path, e))
}

/// Temporary files of [`write_atomic`] are named with this prefix.
pub const TEMP_PREFIX: &str = ".orch-tmp-";

/// A temporary file of [`write_atomic`] this old was left by a writer that died (a
/// write holds its temporary file for the milliseconds of a write, an fsync and a
/// rename): the next write into its folder removes it.
pub const STALE_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(60);

/// Whether [`write_atomic`] syncs the new file before it takes the name.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Flush {
    /// A power loss leaves the old file or the new one, whole.
    Synced,
    /// A power loss may also leave the name pointing at a file whose data never reached
    /// the disk (empty, or blocks of zeros): for the view, whose marks are committed
    /// first and which orch writes again (docs/DURABILITY.md).
    Unsynced,
}

/// Replaces `path` atomically: a temporary file beside it, (fsync,) rename. Readers see
/// the old file or the new one, never half of either; with [`Flush::Synced`] a power
/// loss leaves one of them whole too: the fsync before the rename makes sure the name
/// never points at a file whose data was lost. The folder is not synced: after a power
/// loss the rename may be undone, which leaves the old file, whole — what a crash just
/// before the write leaves too (the files written this way are views and exports the
/// database can write again; docs/DURABILITY.md).
///
/// The file replaced keeps its permission bits. A new file inside `.orch/` is 0600; any
/// other new file (QUEUE.md, `export FILE`) is created 0666 less the process's umask, as
/// a shell's `>` would (0644 under the usual 022, 0600 under 077). Temporary files of
/// writers that died, older than [`STALE_TEMP_AGE`], are removed first.
pub fn write_atomic(path: &Path, content: &[u8], flush: Flush) -> Result<()> {
    write_atomic_if(path, content, flush, || Ok(true)).map(|_| ())
}

/// [`write_atomic`], asking `still` right before the rename whether the file may be
/// replaced (a person may have saved it meanwhile); when it says no, nothing is
/// replaced and the temporary file is removed. Whether the file was replaced.
pub fn write_atomic_if(
    path: &Path,
    content: &[u8],
    flush: Flush,
    still: impl FnOnce() -> Result<bool>,
) -> Result<bool> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    remove_stale_temps(dir);
    let private = dir.components().any(|c| c.as_os_str() == DIR_NAME);
    let kept = std::fs::metadata(path).ok().map(|m| m.permissions().mode() & 0o7777);
    let mut tmp = Temp::create(dir, if private { 0o600 } else { 0o666 })?;
    tmp.file.write_all(content).map_err(|e| Error::io(&tmp.path, e))?;
    if let Some(mode) = kept {
        tmp.file.set_permissions(std::fs::Permissions::from_mode(mode)).map_err(|e| Error::io(&tmp.path, e))?;
    }
    if flush == Flush::Synced {
        tmp.file.sync_all().map_err(|e| Error::io(&tmp.path, e))?;
    }
    if !still()? {
        return Ok(false);
    }
    std::fs::rename(&tmp.path, path).map_err(|e| Error::io(path, e))?;
    tmp.persisted = true;
    Ok(true)
}

/// A temporary file of [`write_atomic`], removed when dropped unless renamed.
struct Temp {
    path: PathBuf,
    file: std::fs::File,
    persisted: bool,
}

impl Temp {
    /// A new file `DIR/.orch-tmp-PID-RANDOM`, created with `mode` (less the umask).
    fn create(dir: &Path, mode: u32) -> Result<Temp> {
        use std::os::unix::fs::OpenOptionsExt;
        loop {
            let name =
                format!("{TEMP_PREFIX}{}-{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..12]);
            let path = dir.join(name);
            match std::fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(&path) {
                Ok(file) => return Ok(Temp { path, file, persisted: false }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::io(dir, e)),
            }
        }
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Removes the temporary files in `dir` that dead writers left (see [`STALE_TEMP_AGE`]).
/// Best effort: what cannot be read or removed is left for the next write.
fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let now = std::time::SystemTime::now();
    for entry in entries.flatten() {
        if !entry.file_name().as_encoded_bytes().starts_with(TEMP_PREFIX.as_bytes()) {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        let old = meta.modified().ok().and_then(|m| now.duration_since(m).ok()).is_some_and(|age| age > STALE_TEMP_AGE);
        if meta.is_file() && old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
