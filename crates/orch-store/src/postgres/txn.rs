//! The PostgreSQL transaction ([`PgTx`]) and what every primitive builds on: its
//! statements (`query`, `execute`, a statement outside the snapshot), BEGIN sent with the
//! first statement, the plan setting of the claim, COMMIT with the queued NOTIFY, and
//! what a driver error means for the attempt. The primitives are methods of `PgTx` by
//! area (`tasks`, `claim`, `runs`, `events`, `views`, `history`); `tx` forwards `Tx` to
//! them.

use super::pool::{After, Conn, Failure, classify, one_line, store_err};
use super::rows::task_from_row;
use crate::{Result, StoreError};
use orch_core::task::Task;
use postgres::Row;
use postgres::types::ToSql;

/// The channel `wait_for_change` listens on.
pub const CHANNEL: &str = "orch_tasks";
/// COMMIT, after telling the listeners of [`CHANNEL`]: one round trip for both.
const NOTIFY_COMMIT: &str = "NOTIFY orch_tasks; COMMIT";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Write,
    Read,
}

impl Mode {
    fn begin_sql(self) -> &'static str {
        match self {
            Mode::Write => "BEGIN ISOLATION LEVEL READ COMMITTED",
            Mode::Read => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        }
    }
}

/// Rules out sorting for the claim's statement (see `claim`): the statement must walk
/// the claim index in pick order, and stale statistics would otherwise talk the planner
/// into reading and sorting every waiting task. Sent with the statement (and its BEGIN).
/// The sorts left (the few due retries, the merge of two rows) then cost more than
/// JIT's threshold, so JIT is off too: compiling would take longer than the claim.
const ORDERED_ONLY: &str = "SET LOCAL enable_sort = off; SET LOCAL jit = off";
/// Sorting back, before the next statement of the same transaction.
const ORDERED_DONE: &str = "SET LOCAL enable_sort TO DEFAULT; SET LOCAL jit TO DEFAULT";

/// Where a transaction is with [`ORDERED_ONLY`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ordered {
    Off,
    /// For the next statement.
    Asked,
    /// Set for the statement that asked; the next one restores sorting first.
    InUse,
}

pub struct PgTx<'a> {
    conn: &'a mut Conn,
    mode: Mode,
    begun: bool,
    ordered: Ordered,
    /// A task changed: listeners are told at COMMIT.
    pub(super) notify: bool,
    /// What the first driver error in this transaction means; the backend decides
    /// from it whether to retry, reconnect or report.
    pub failure: Option<Failure>,
}

type Params<'p> = [&'p (dyn ToSql + Sync)];

impl<'a> PgTx<'a> {
    pub fn new(conn: &'a mut Conn, mode: Mode) -> PgTx<'a> {
        PgTx { conn, mode, begun: false, ordered: Ordered::Off, notify: false, failure: None }
    }

    fn err(&mut self, e: &postgres::Error) -> StoreError {
        let failure = classify(e);
        self.failure.get_or_insert(failure);
        match failure {
            Failure::Connection => {
                StoreError::Unavailable(format!("lost the connection to PostgreSQL: {}", one_line(e)))
            }
            _ => store_err(e),
        }
    }

    /// What must go before the next statement, sent with it in one round trip: BEGIN
    /// when the transaction has not begun, and the plan setting of
    /// [`PgTx::ordered_next`] set or undone.
    fn prefix(&mut self) -> Option<String> {
        let mut sql = Vec::with_capacity(2);
        if !self.begun {
            sql.push(self.mode.begin_sql());
        }
        match self.ordered {
            Ordered::Off => {}
            Ordered::Asked => {
                sql.push(ORDERED_ONLY);
                self.ordered = Ordered::InUse;
            }
            Ordered::InUse => {
                sql.push(ORDERED_DONE);
                self.ordered = Ordered::Off;
            }
        }
        (!sql.is_empty()).then(|| sql.join("; "))
    }

    /// The outcome of a statement sent after [`PgTx::prefix`]: the transaction has begun
    /// unless the prefix itself failed.
    fn after<T>(&mut self, r: std::result::Result<T, After>) -> Result<T> {
        match r {
            Ok(v) => {
                self.begun = true;
                Ok(v)
            }
            Err(After::Then(e)) => {
                self.begun = true;
                Err(self.err(&e))
            }
            Err(After::First(e)) => Err(self.err(&e)),
        }
    }

    /// The next statement may not sort: it walks an index in order (the claim).
    pub(super) fn ordered_next(&mut self) {
        self.ordered = Ordered::Asked;
    }

    pub(super) fn mode(&self) -> Mode {
        self.mode
    }

    pub(super) fn query(&mut self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>> {
        let stmt = self.conn.stmt(sql).map_err(|e| self.err(&e))?;
        match self.prefix() {
            None => self.conn.query(&stmt, params).map_err(|e| self.err(&e)),
            Some(first) => {
                let r = self.conn.query_after(&first, &stmt, params);
                self.after(r)
            }
        }
    }

    pub(super) fn query_opt(&mut self, sql: &str, params: &Params<'_>) -> Result<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    pub(super) fn execute(&mut self, sql: &str, params: &Params<'_>) -> Result<u64> {
        let stmt = self.conn.stmt(sql).map_err(|e| self.err(&e))?;
        match self.prefix() {
            None => self.conn.execute(&stmt, params).map_err(|e| self.err(&e)),
            Some(first) => {
                let r = self.conn.execute_after(&first, &stmt, params);
                self.after(r)
            }
        }
    }

    /// Runs `sql` and hands each row to `f` as it arrives: the rows are read from the
    /// connection one at a time, never all held (the driver stops reading the socket
    /// while a row waits). An error of `f` stops the walk; the rest of the result is
    /// read and dropped by the connection.
    pub(super) fn query_each(
        &mut self,
        sql: &str,
        params: &Params<'_>,
        f: &mut dyn FnMut(&Row) -> Result<()>,
    ) -> Result<()> {
        let stmt = self.conn.stmt(sql).map_err(|e| self.err(&e))?;
        if let Some(first) = self.prefix() {
            let r = self.conn.batch_execute(&first).map_err(After::First);
            self.after(r)?;
        }
        let mut failed = None;
        let walked = self.conn.query_each(&stmt, params, &mut |row| match f(row) {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        });
        walked.map_err(|e| self.err(&e))?;
        failed.map_or(Ok(()), Err)
    }

    pub(super) fn tasks(&mut self, sql: &str, params: &Params<'_>) -> Result<Vec<Task>> {
        self.query(sql, params)?.iter().map(task_from_row).collect()
    }

    pub(super) fn lock_suffix(&self, clause: &'static str) -> &'static str {
        if self.mode == Mode::Write { clause } else { "" }
    }

    /// Commits (with the queued NOTIFY). A transaction that ran no statement has
    /// nothing to commit; a read transaction's COMMIT is sent without waiting for its
    /// reply.
    pub fn commit(&mut self) -> std::result::Result<(), postgres::Error> {
        if !self.begun {
            return Ok(());
        }
        self.begun = false;
        self.ordered = Ordered::Off;
        if self.mode == Mode::Read {
            // Ends the snapshot; a read-only transaction has nothing to wait for.
            self.conn.send_only("COMMIT");
            return Ok(());
        }
        self.conn.batch_execute(if self.notify { NOTIFY_COMMIT } else { "COMMIT" })
    }

    /// Rolls back; false when even that failed (the connection is unusable).
    pub fn rollback(&mut self) -> bool {
        if !self.begun {
            return true;
        }
        self.begun = false;
        self.ordered = Ordered::Off;
        self.conn.batch_execute("ROLLBACK").is_ok()
    }

    /// Runs one statement after whatever this transaction has seen: a read transaction
    /// that holds a snapshot ends it first (its COMMIT sent with the statement), and the
    /// statement begins no transaction of its own (see `events`).
    pub(super) fn query_fresh(&mut self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>> {
        let stmt = self.conn.stmt(sql).map_err(|e| self.err(&e))?;
        if self.mode == Mode::Read && self.begun {
            self.begun = false;
            self.ordered = Ordered::Off;
            return match self.conn.query_after("COMMIT", &stmt, params) {
                Ok(rows) => Ok(rows),
                Err(After::First(e) | After::Then(e)) => Err(self.err(&e)),
            };
        }
        self.conn.query(&stmt, params).map_err(|e| self.err(&e))
    }
}
