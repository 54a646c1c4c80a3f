//! `.orch/events.jsonl`: the database's event log mirrored as one JSON object per line.
//!
//! The database is the record: every event is written in the same transaction as its
//! change. This file follows it. [`flush`] appends every event after the last one the
//! file holds, under a file lock, so a process killed between its commit and its append
//! leaves nothing missing: the next flush (by any process) writes what was not written.

use crate::error::{Error, Result};
use crate::ops::Orch;
use crate::store;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};

/// How much of the file's end is read to find its last event.
const TAIL: u64 = 64 * 1024;

/// Appends the events the file lacks; returns how many.
pub fn flush(orch: &Orch) -> Result<usize> {
    let path = orch.home.events_path();
    let mut file = crate::home::open_private(&path)?;
    file.lock().map_err(|e| Error::io(&path, e))?;
    let mut last = last_seq(&mut file).map_err(|e| Error::io(&path, e))?;
    let mut written = 0;
    loop {
        let events = store::read(orch.db.as_ref(), |tx| tx.events_after(last, 1000))?;
        let Some(end) = events.last().map(|e| e.seq) else { break };
        let mut buf = String::new();
        for e in &events {
            buf.push_str(&e.to_json_line());
            buf.push('\n');
        }
        file.write_all(buf.as_bytes()).map_err(|e| Error::io(&path, e))?;
        written += events.len();
        last = end;
    }
    Ok(written)
}

/// The `seq` of the file's last complete line (0 for an empty file). A torn last line —
/// a write cut short by a crash — is cut off, to be written again whole.
fn last_seq(file: &mut File) -> std::io::Result<i64> {
    let len = file.seek(SeekFrom::End(0))?;
    if len == 0 {
        return Ok(0);
    }
    let start = len.saturating_sub(TAIL);
    file.seek(SeekFrom::Start(start))?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail)?;
    let complete = match tail.iter().rposition(|&b| b == b'\n') {
        Some(i) => i + 1,
        None if start == 0 => 0,
        None => return Err(std::io::Error::other("last event line longer than 64 KiB")),
    };
    if complete < tail.len() {
        file.set_len(start + complete as u64)?;
    }
    let body = &tail[..complete];
    let line = body[..body.len().saturating_sub(1)].rsplit(|&b| b == b'\n').next().unwrap_or(&[]);
    if line.is_empty() {
        return Ok(0);
    }
    let v: serde_json::Value =
        serde_json::from_slice(line).map_err(|e| std::io::Error::other(format!("last event line is not JSON: {e}")))?;
    Ok(v.get("seq").and_then(|s| s.as_i64()).unwrap_or(0))
}
