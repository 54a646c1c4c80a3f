//! The embedded SQLite store (`.orch/orch.db`): WAL journal, a busy timeout, `BEGIN
//! IMMEDIATE` for every read-then-write, `synchronous=FULL` so a finished task survives
//! power loss. Many processes may use one database at once; each holds one connection.
//!
//! The WAL stays between processes (`orch.db-wal` and `orch.db-shm` beside the
//! database): a connection does not checkpoint when it closes, so a short command
//! neither creates the WAL (a header sync and a folder sync) nor copies it into the
//! database on its way out (two more syncs): its commit is its one sync. A commit that
//! leaves the WAL longer than `CHECKPOINT_AT` folds it into the database and empties it
//! (docs/DURABILITY.md): the WAL of short-lived processes is never restarted otherwise,
//! since what was checkpointed is known only to the processes alive at the time.

mod claim;
mod dispatchers;
mod error;
mod events;
mod history;
mod readers;
mod rows;
mod schedules;
mod schema;
mod tx;
mod txn;
mod views;

pub(crate) use error::db_err;

use super::{Backend, Capabilities, LockScope, Result, StoreError, Tx};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, TryLockError};

/// How long a writer waits for another before the store reports `Busy`.
const BUSY_TIMEOUT_MS: u64 = 30_000;
/// A commit that leaves the WAL longer than this (about twenty changes of one task)
/// checkpoints it and cuts it to nothing (`wal_checkpoint(TRUNCATE)`). A process that
/// opens the database when no other has it open reads the whole WAL (SQLite rebuilds its
/// index of the WAL then), so a short WAL is a cheaper start; SQLite's own checkpoint
/// after a commit is off, since in a new process it copies the whole WAL again and never
/// restarts it.
const CHECKPOINT_AT: u64 = 1024 * 1024;
/// The same for a connection past its first [`SHORT_LIVED`] commits (a dispatcher's):
/// while it has the database open, no other process reads the WAL to index it, and a
/// checkpoint costs a sync of the database and one of the WAL's new header, so it
/// checkpoints less often.
const CHECKPOINT_AT_LONG_LIVED: u64 = 4 * 1024 * 1024;
/// Commits after which a connection is taken for a long-lived one.
const SHORT_LIVED: u32 = 16;
/// Prepared statements a connection keeps. Every statement orch runs is in the cache
/// after its first use: rusqlite's default (16) is fewer than one dispatcher turn and a
/// view refresh use, and a statement pushed out is compiled again on its next use.
const STATEMENT_CACHE: usize = 256;
/// How often an idle waiter looks at `PRAGMA data_version`: a cheap read of a counter
/// in shared memory, so a new task is seen within a few milliseconds.
const POLL: std::time::Duration = std::time::Duration::from_millis(5);

pub struct Sqlite {
    conn: Mutex<Conn>,
    /// Connections for reads while `conn` is busy (`readers.rs`).
    readers: readers::Readers,
    path: PathBuf,
}

struct Conn {
    conn: Connection,
    /// `orch.db-wal`, whose length says when to checkpoint.
    wal: PathBuf,
    /// Write transactions committed on this connection.
    commits: u32,
    /// The `PRAGMA data_version` that `wait_for_change` saw last. Kept between calls, so
    /// a commit that lands between two waits is seen by the second one.
    seen_version: i64,
}

impl Sqlite {
    /// Opens and migrates an existing database; a path with no database is an error
    /// (only `init` and `migrate` create one, through [`Sqlite::create`]).
    pub fn open(path: &Path) -> Result<Sqlite> {
        if !path.exists() {
            return Err(StoreError::Open(format!("no orch queue at {}; run `orch init`", path.display())));
        }
        Sqlite::create(path)
    }

    /// Opens the database, creating it (private to the user) when there is none, and
    /// migrates it.
    pub fn create(path: &Path) -> Result<Sqlite> {
        let open_err = |e: &dyn std::fmt::Display| StoreError::Open(format!("{}: {e}", path.display()));
        let new_db = !path.exists();
        if new_db {
            create_private(path).map_err(|e| open_err(&e))?;
        }
        let new_wal = !wal_path(path).exists();
        let mut conn = connect(path).map_err(|e| open_err(&e))?;
        // WAL is persistent: set once, it stays with the file.
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).map_err(|e| open_err(&e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(open_err(&format!("cannot use WAL journal (got {mode})")));
        }
        if new_db || new_wal {
            // The names of a new database and WAL, durable before the first commit is
            // (SQLite is built not to sync the folder at every process's first commit).
            sync_folder(path).map_err(|e| open_err(&e))?;
        }
        // A page cache of 16 MiB (the default is 2 MiB): a large import is one transaction,
        // and a cache too small for it spills pages to the WAL before the commit.
        conn.execute_batch("PRAGMA cache_size = -16384;").map_err(|e| open_err(&e))?;
        schema::migrate(&mut conn).map_err(|e| open_err(&e))?.map_err(|e| open_err(&e))?;
        let seen_version = data_version(&conn).map_err(|e| open_err(&e))?;
        Ok(Sqlite {
            conn: Mutex::new(Conn { conn, wal: wal_path(path), commits: 0, seen_version }),
            readers: readers::Readers::default(),
            path: path.to_path_buf(),
        })
    }

    fn run(&self, behavior: TransactionBehavior, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        self.run_on(self.conn.lock().unwrap_or_else(|p| p.into_inner()), behavior, f)
    }

    fn run_on(
        &self,
        mut guard: MutexGuard<'_, Conn>,
        behavior: TransactionBehavior,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>,
    ) -> Result<()> {
        let c = &mut *guard;
        transact(&mut c.conn, behavior, f)?;
        if matches!(behavior, TransactionBehavior::Immediate) {
            c.commits = c.commits.saturating_add(1);
            let limit = if c.commits > SHORT_LIVED { CHECKPOINT_AT_LONG_LIVED } else { CHECKPOINT_AT };
            if std::fs::metadata(&c.wal).is_ok_and(|m| m.len() > limit) {
                checkpoint(&c.conn);
            }
        }
        Ok(())
    }
}

/// A connection to the database at `path`, set up as every connection of the store is:
/// the busy timeout, the statement cache, durable commits, memory-mapped pages, no
/// checkpoint of its own after a commit or at close, plans that never depend on bound
/// values.
fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.execute_batch(
        "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA mmap_size = 268435456; \
         PRAGMA wal_autocheckpoint = 0;",
    )?;
    // The WAL outlives the connection: the next process appends to it rather than
    // create it again, and no process pays for a checkpoint on its way out.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
    // Plans never depend on bound values: otherwise SQLite prepares a statement on
    // `tasks` again each time a parameter compared with a column is bound anew
    // (it might match a partial index's condition), which costs more than running
    // the statement. Every condition a partial index needs is written as a literal.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(conn)
}

/// Runs `f` in one transaction on `conn` and commits it.
fn transact(
    conn: &mut Connection,
    behavior: TransactionBehavior,
    f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>,
) -> Result<()> {
    let tx = conn.transaction_with_behavior(behavior).map_err(db_err)?;
    f(&mut txn::SqliteTx { tx: &tx })?;
    tx.commit().map_err(db_err)
}

/// The claim's selection of PENDING tasks as the store runs it (the first eligible one
/// in pick order, `?1` the time in ms), for the claim bench's plain-SQLite side (its
/// queues hold no FAILED task).
#[doc(hidden)]
pub fn claim_query() -> String {
    claim::pending_sql(1)
}

/// Folds the WAL into the database and cuts it to nothing, without waiting: while
/// another process reads an older snapshot, it copies what it can and leaves the rest
/// to a later commit. Best effort: the commit before it is durable either way.
fn checkpoint(conn: &Connection) {
    let _ = conn.busy_timeout(std::time::Duration::ZERO);
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    let _ = conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS));
}

/// A counter that changes whenever another connection commits.
fn data_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("PRAGMA data_version")?.query_row([], |r| r.get(0))
}

/// The WAL of the database at `path`.
fn wal_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push("-wal");
    PathBuf::from(name)
}

/// Makes the names in the folder of `path` durable (files created or removed there).
fn sync_folder(path: &Path) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::File::open(dir)?.sync_all()
}

/// Creates an empty file readable by its owner only.
fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map(|_| ())
}

impl Backend for Sqlite {
    fn write(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        self.run(TransactionBehavior::Immediate, f)
    }

    /// On the main connection when it is free, else on a reader (`readers.rs`), else
    /// after waiting for the main one.
    fn read(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        let guard = match self.conn.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => match self.readers.take(|| connect(&self.path).map_err(db_err))? {
                Some(mut reader) => {
                    let done = transact(&mut reader, TransactionBehavior::Deferred, f);
                    self.readers.give(reader);
                    return done;
                }
                None => self.conn.lock().unwrap_or_else(|p| p.into_inner()),
            },
        };
        self.run_on(guard, TransactionBehavior::Deferred, f)
    }

    fn wait_for_change(&self, timeout: std::time::Duration) -> Result<bool> {
        let deadline = std::time::Instant::now() + timeout;
        // Compares with the version seen last (at open, or by the previous wait), never
        // a fresh one: a commit between two waits must not be missed.
        let changed = || -> Result<bool> {
            let mut guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
            let now = data_version(&guard.conn).map_err(db_err)?;
            let changed = now != guard.seen_version;
            guard.seen_version = now;
            Ok(changed)
        };
        loop {
            if changed()? {
                return Ok(true);
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            std::thread::sleep(POLL.min(left));
        }
    }

    fn data_version(&self) -> Result<Option<i64>> {
        let guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        Ok(Some(data_version(&guard.conn).map_err(db_err)?))
    }

    fn describe(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            shared_across_hosts: false,
            lock_scope: LockScope::DatabaseFile(self.path.clone()),
            notify: false,
        }
    }
}

#[cfg(test)]
mod tests {
    //! A connection's statements on `tasks` are prepared once, whatever their bindings,
    //! and still walk the partial indexes their literal conditions name.

    use rusqlite::{Connection, StatementStatus, params};

    const BY_STATUS: &str = "SELECT id FROM tasks WHERE status = ?1 AND num > ?2 ORDER BY seq LIMIT 1";

    fn reprepared(conn: &Connection) -> i32 {
        for n in 0..5i64 {
            let mut stmt = conn.prepare_cached(BY_STATUS).unwrap();
            let _ = stmt.query_map(params!["PENDING", n], |_| Ok(())).unwrap().count();
        }
        conn.prepare_cached(BY_STATUS).unwrap().get_status(StatementStatus::RePrepare)
    }

    #[test]
    fn sqlite_is_built_without_a_folder_sync_at_each_first_commit() {
        // The workspace's `.cargo/config.toml` sets it; `Sqlite::create` syncs the folder
        // itself when it creates the database or its WAL.
        let conn = Connection::open_in_memory().unwrap();
        let options: Vec<String> = conn
            .prepare("PRAGMA compile_options")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(options.iter().any(|o| o == "DISABLE_DIRSYNC"), "{options:?}");
    }

    #[test]
    fn a_connection_leaves_the_wal_for_the_next_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orch.db");
        drop(super::Sqlite::create(&path).unwrap());
        assert!(super::wal_path(&path).exists(), "no checkpoint removed it at close");
        let db = super::Sqlite::open(&path).unwrap();
        let guard = db.conn.lock().unwrap();
        let (log, done): (i64, i64) =
            guard.conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get(1)?, r.get(2)?))).unwrap();
        assert!(log > 0 && done == log, "the migrations' frames were still in the WAL: {log} {done}");
    }

    /// A read while the main connection is held runs on a reader, which sees what the
    /// main connection committed.
    #[test]
    fn a_read_while_the_main_connection_is_busy_runs_on_a_reader() {
        use orch_core::task::{Priority, Task};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orch.db");
        let db = super::Sqlite::create(&path).unwrap();
        let t = Task::new("T-1".into(), "read me".into(), Priority::P1, 3, jiff::Timestamp::now());
        crate::write(&db, |tx| tx.task_insert(&t)).unwrap();
        let all = crate::ListFilter::default();
        assert_eq!(crate::read(&db, |tx| tx.task_list(&all)).unwrap().len(), 1);
        assert_eq!(db.readers.opened(), 0, "a free main connection reads itself");
        let held = db.conn.lock().unwrap();
        let seen = crate::read(&db, |tx| tx.task_list(&all)).unwrap();
        assert_eq!(seen.iter().map(|t| t.task.as_str()).collect::<Vec<_>>(), ["read me"]);
        assert_eq!(db.readers.opened(), 1);
        let reader = db.readers.take(|| unreachable!("an idle reader is there")).unwrap().unwrap();
        assert_eq!(db.readers.opened(), 1, "the idle reader is taken again");
        db.readers.give(reader);
        drop(held);
    }

    #[test]
    fn statements_on_tasks_are_not_prepared_again_for_new_bindings() {
        let dir = tempfile::tempdir().unwrap();
        let db = super::Sqlite::create(&dir.path().join("orch.db")).unwrap();
        let guard = db.conn.lock().unwrap();
        assert_eq!(reprepared(&guard.conn), 0);
        let plan: Vec<String> = guard
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", super::claim::pending_sql(1)))
            .unwrap()
            .query_map([0], |r| r.get(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(plan.join("\n").contains("USING INDEX tasks_pick"), "{plan:?}");
        // Without the planner stability guarantee, SQLite would prepare it each time.
        let mut plain = Connection::open_in_memory().unwrap();
        super::schema::migrate(&mut plain).unwrap().unwrap();
        assert!(reprepared(&plain) > 0);
    }
}
