//! Connections for reads while the main one is busy. A process that reads on several
//! threads at once (`orch serve` answering many clients) reads in parallel instead of
//! queueing behind its one connection; a process that reads on one thread at a time (a
//! command) never opens one. WAL lets readers run beside the writer, and each read
//! transaction sees the last commit, whichever connection made it.
//!
//! A reader is opened on demand (by the store, `mod.rs`, set up as the main connection
//! reads), at most [`MAX_READERS`] of them, kept for the next read and closed with the
//! store.

use crate::Result;
use rusqlite::Connection;
use std::sync::Mutex;

/// The most readers a store opens beside its main connection.
pub(super) const MAX_READERS: usize = 4;

#[derive(Default)]
pub(super) struct Readers {
    /// Readers not in use now, and how many are open in all.
    pool: Mutex<(Vec<Connection>, usize)>,
}

impl Readers {
    /// A reader not in use, opened now with `open` when none is idle and fewer than
    /// [`MAX_READERS`] are open; `None` when all are in use.
    pub(super) fn take(&self, open: impl FnOnce() -> Result<Connection>) -> Result<Option<Connection>> {
        {
            let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(c) = pool.0.pop() {
                return Ok(Some(c));
            }
            if pool.1 >= MAX_READERS {
                return Ok(None);
            }
            pool.1 += 1;
        }
        match open() {
            Ok(c) => Ok(Some(c)),
            Err(e) => {
                self.pool.lock().unwrap_or_else(|p| p.into_inner()).1 -= 1;
                Err(e)
            }
        }
    }

    /// Hands a reader back for the next read.
    pub(super) fn give(&self, conn: Connection) {
        self.pool.lock().unwrap_or_else(|p| p.into_inner()).0.push(conn);
    }

    /// How many readers are open (idle or in use).
    #[cfg(test)]
    pub(super) fn opened(&self) -> usize {
        self.pool.lock().unwrap().1
    }
}
