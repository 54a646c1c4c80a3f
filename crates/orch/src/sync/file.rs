//! The view file on disk: read as bytes (and checked as UTF-8 with vector
//! instructions, since 10,000 rows of Korean text are megabytes), compared with a
//! rendered view in blocks — never held whole beside it, and hashed only when it
//! differs — and, for a read-only view, edits saved aside as drift.

use crate::error::{Error, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The view file against the text about to be written there.
pub(super) enum OnDisk {
    Missing,
    /// The file holds exactly that text.
    Same,
    /// It holds something else; the hash of what (as [`super::hash`] gives it), and
    /// whether it holds a NUL byte: never text a person wrote, but what a power loss
    /// leaves in a file whose name reached the disk before its data.
    Other {
        hash: String,
        damaged: bool,
    },
}

/// Reads the file at `path` in blocks: first comparing it with `text` (up to the first
/// difference), then, only when it differs, hashing it.
pub(super) fn on_disk(path: &Path, text: &[u8]) -> Result<OnDisk> {
    let mut block = vec![0u8; 256 * 1024];
    let mut at = 0;
    let same = each_block(path, &mut block, |read| {
        let same = text.get(at..at + read.len()) == Some(read);
        at += read.len();
        same
    })?;
    match same {
        None => return Ok(OnDisk::Missing),
        Some(true) if at == text.len() => return Ok(OnDisk::Same),
        Some(_) => {}
    }
    let mut hasher = xxhash_rust::xxh3::Xxh3Default::new();
    let mut damaged = false;
    if each_block(path, &mut block, |read| {
        hasher.update(read);
        damaged |= read.contains(&0);
        true
    })?
    .is_none()
    {
        return Ok(OnDisk::Missing);
    }
    Ok(OnDisk::Other { hash: format!("{:016x}", hasher.digest()), damaged })
}

/// The hash of the file's bytes (as [`super::hash`] gives it), `None` when there is no
/// file: what it holds, to tell whether someone wrote it since.
pub(super) fn fingerprint(path: &Path) -> Result<Option<String>> {
    let mut block = vec![0u8; 256 * 1024];
    let mut hasher = xxhash_rust::xxh3::Xxh3Default::new();
    let read = each_block(path, &mut block, |read| {
        hasher.update(read);
        true
    })?;
    Ok(read.map(|_| format!("{:016x}", hasher.digest())))
}

/// Hands the file's blocks to `f` in order while it returns true; whether it always did
/// (`None` when there is no file).
fn each_block(path: &Path, block: &mut [u8], mut f: impl FnMut(&[u8]) -> bool) -> Result<Option<bool>> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    loop {
        match file.read(block) {
            Ok(0) => return Ok(Some(true)),
            Ok(n) if f(&block[..n]) => {}
            Ok(_) => return Ok(Some(false)),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, e)),
        }
    }
}

/// Writes `text` to a new private file `DIR/drift/QUEUE.md.MILLIS[.N]` (`DIR` being
/// `.orch/`).
pub(super) fn save_drift(home: &Path, now: jiff::Timestamp, text: &[u8]) -> Result<PathBuf> {
    let dir = home.join("drift");
    crate::home::create_private_dir(&dir)?;
    let stem = format!("QUEUE.md.{}", now.as_millisecond());
    for n in 0u32.. {
        let path = dir.join(if n == 0 { stem.clone() } else { format!("{stem}.{n}") });
        if path.exists() {
            continue;
        }
        return crate::home::write_private(&path, text).map(|()| path);
    }
    unreachable!("some name is free")
}

/// What identifies one version of a file on disk: its device and inode (a rename puts a
/// new one under the name), length and modification time.
type Stamp = (u64, u64, u64, i64, i64);

fn stamp(path: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some((m.dev(), m.ino(), m.len(), m.mtime(), m.mtime_nsec()))
}

/// The view file this process wrote last, as it was right after the write.
static OWN_WRITE: std::sync::Mutex<Option<Stamp>> = std::sync::Mutex::new(None);

/// Notes that this process just wrote the view file at `path`.
pub(super) fn note_own_write(path: &Path) {
    if let Some(s) = stamp(path) {
        *OWN_WRITE.lock().unwrap_or_else(|p| p.into_inner()) = Some(s);
    }
}

/// Whether the file at `path` is still the one this process wrote last: a change a
/// watcher saw was this process's own write, not a person's save.
pub fn is_own_write(path: &Path) -> bool {
    let own = *OWN_WRITE.lock().unwrap_or_else(|p| p.into_inner());
    own.is_some() && stamp(path) == own
}

/// The bytes of a file, or `None` when there is none.
pub(crate) fn read_bytes(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// `bytes` (read from `path`) as text. A NUL byte is refused too: no person types one,
/// and a file cut short by a power loss is filled with them, which would otherwise read
/// as an edit of its last rows.
pub(crate) fn utf8<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a str> {
    no_nul(path, bytes)?;
    simdutf8::basic::from_utf8(bytes).map_err(|_| not_utf8(path, bytes))
}

/// [`utf8`] for bytes the caller owns.
pub(crate) fn into_text(path: &Path, bytes: Vec<u8>) -> Result<String> {
    no_nul(path, &bytes)?;
    String::from_utf8(bytes).map_err(|e| not_utf8(path, e.as_bytes()))
}

/// `PATH:LINE: a NUL byte (byte N of the line)`, at the first one.
fn no_nul(path: &Path, bytes: &[u8]) -> Result<()> {
    let Some(at) = bytes.iter().position(|&b| b == 0) else { return Ok(()) };
    let (line, column) = line_column(&bytes[..at]);
    Err(Error::Usage(format!(
        "{}:{line}: a NUL byte (byte {column} of the line): not text a person wrote (a file cut short by a crash? `orch export --force` writes the view anew)",
        path.display()
    )))
}

/// The line and column (both from 1) of the byte after `before`.
fn line_column(before: &[u8]) -> (usize, usize) {
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = before.len() - before.iter().rposition(|&b| b == b'\n').map_or(0, |nl| nl + 1) + 1;
    (line, column)
}

/// `PATH:LINE: not UTF-8 text (byte N of the line)`, at the first byte that is not.
fn not_utf8(path: &Path, bytes: &[u8]) -> Error {
    let good = std::str::from_utf8(bytes).err().map_or(bytes.len(), |e| e.valid_up_to());
    let (line, column) = line_column(&bytes[..good]);
    Error::Usage(format!("{}:{line}: not UTF-8 text (byte {column} of the line)", path.display()))
}

pub(crate) fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read(path) {
        Ok(bytes) => into_text(path, bytes).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_byte_is_refused_at_its_line() {
        let path = Path::new("QUEUE.md");
        let err = utf8(path, b"| a |\n| b \0\0\0").unwrap_err().to_string();
        assert!(err.starts_with("QUEUE.md:2: a NUL byte (byte 5 of the line)"), "{err}");
        assert!(into_text(path, b"ok\0".to_vec()).is_err());
        assert_eq!(utf8(path, "| 작업 |".as_bytes()).unwrap(), "| 작업 |");
    }

    #[test]
    fn text_that_is_not_utf8_is_refused_at_its_first_bad_line() {
        let path = Path::new("QUEUE.md");
        let msg = |bytes: &[u8]| utf8(path, bytes).unwrap_err().to_string();
        assert_eq!(msg(b"\xff"), "QUEUE.md:1: not UTF-8 text (byte 1 of the line)");
        let mut korean = "a\n\n| 작업 ".as_bytes().to_vec();
        korean.extend(b"\xe0\x80 |\nz\xff\n");
        assert_eq!(msg(&korean), "QUEUE.md:3: not UTF-8 text (byte 10 of the line)");
        // A character cut at the end of the file.
        assert_eq!(msg(b"ok\r\nab\xe4\xb8"), "QUEUE.md:2: not UTF-8 text (byte 3 of the line)");
        let owned = into_text(path, b"x\ny\xc0".to_vec()).unwrap_err().to_string();
        assert_eq!(owned, "QUEUE.md:2: not UTF-8 text (byte 2 of the line)");
    }

    #[test]
    fn a_save_made_while_the_view_is_written_is_never_written_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("QUEUE.md");
        std::fs::write(&path, "orch's view\n").unwrap();
        let seen = fingerprint(&path).unwrap();
        assert_eq!(seen.as_deref(), Some(super::super::hash(b"orch's view\n").as_str()));
        // A person saves between the read and the rename: nothing is replaced.
        let still = || {
            std::fs::write(&path, "the person's save\n").unwrap();
            Ok(fingerprint(&path)? == seen)
        };
        assert!(!crate::home::write_atomic_if(&path, b"a newer view\n", crate::home::Flush::Unsynced, still).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "the person's save\n");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["QUEUE.md"], "the temporary file is removed");
        // Left alone, it is replaced.
        let seen = fingerprint(&path).unwrap();
        assert!(
            crate::home::write_atomic_if(&path, b"a newer view\n", crate::home::Flush::Unsynced, || Ok(fingerprint(
                &path
            )? == seen))
            .unwrap()
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a newer view\n");
        assert_eq!(fingerprint(&dir.path().join("none")).unwrap(), None);
    }

    #[test]
    fn a_file_read_in_blocks_hashes_as_a_whole_and_compares_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("QUEUE.md");
        assert!(matches!(on_disk(&path, b"x").unwrap(), OnDisk::Missing));
        // Sizes around the block, with Korean text whose chars cross block edges.
        for len in [0usize, 1, 262_143, 262_144, 262_145, 700_001] {
            let text: Vec<u8> = "행 | 작업 |\n".bytes().cycle().take(len).collect();
            std::fs::write(&path, &text).unwrap();
            assert!(matches!(on_disk(&path, &text).unwrap(), OnDisk::Same), "{len}");
            let mut longer = text.clone();
            longer.push(b'\n');
            let want = super::super::hash(&text);
            assert!(matches!(on_disk(&path, &longer).unwrap(), OnDisk::Other { hash, .. } if hash == want), "{len}");
            if let Some(cut) = len.checked_sub(1) {
                assert!(matches!(on_disk(&path, &text[..cut]).unwrap(), OnDisk::Other { hash, .. } if hash == want));
                let mut changed = text.clone();
                changed[cut / 2] ^= 1;
                assert!(matches!(on_disk(&path, &changed).unwrap(), OnDisk::Other { hash, .. } if hash == want));
            }
        }
    }
}
