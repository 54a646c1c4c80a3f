//! Connections to PostgreSQL: a small blocking pool, each connection with its own cache
//! of prepared statements, and the sorting of driver errors into what the store does
//! about them (retry the transaction, reconnect, or report).
//!
//! A connection is `tokio-postgres`'s client driven by a runtime of its own on the
//! calling thread (as the blocking `postgres` crate does it), so that two requests can
//! go out together: a transaction's `BEGIN` travels with its first statement, one round
//! trip for both ([`Conn::query_after`]). The listening connection of `wait_for_change`
//! is the blocking crate's, for its notifications.
//!
//! Every connection, the listening one too, goes through TLS as the URL's `sslmode` says
//! (see `tls`); under `prefer` a failed handshake is tried once more without TLS.
//!
//! A connection that failed at the transport level is never handed out again: it is
//! dropped, and the next checkout connects anew. After a server restart every idle
//! connection is dead, so the first such failure empties the idle list at once.

use super::tls::Tls;
use crate::StoreError;
use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, Row, Statement};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Condvar, Mutex};
use std::time::Duration;
use tokio_postgres::Config;

/// How long a new connection may take before the attempt fails (when the URL sets no
/// `connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Run on every new connection: a statement waiting this long for a row lock fails
/// (`Busy`) instead of hanging, like SQLite's busy timeout.
const SESSION_SETUP: &str = "SET lock_timeout = '30s'";

type Params<'p> = [&'p (dyn ToSql + Sync)];

/// One server connection, the runtime that drives it, and the statements prepared on it.
pub struct Conn {
    runtime: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
    stmts: HashMap<String, Statement>,
}

impl Conn {
    /// Opens one connection with the store's session settings.
    pub fn open(target: &Target) -> Result<Conn, postgres::Error> {
        // A runtime on the calling thread: it makes no thread, only an event loop that
        // runs while a request is waited for. Building one fails only when the process is
        // out of file descriptors, as the blocking crate assumes too.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a single-threaded runtime for a PostgreSQL connection");
        let connect = |config: &Config| runtime.block_on(config.connect(target.tls.connector()));
        let client = match connect(&target.config) {
            Ok((client, connection)) => {
                // Reads and writes the socket whenever this runtime runs (inside `block_on`).
                runtime.spawn(connection);
                client
            }
            Err(e) if target.tls.falls_back(&e) => {
                let (client, connection) = connect(&target.plain())?;
                runtime.spawn(connection);
                client
            }
            Err(e) => return Err(e),
        };
        let mut conn = Conn { runtime, client, stmts: HashMap::new() };
        conn.batch_execute(SESSION_SETUP)?;
        Ok(conn)
    }

    /// The prepared form of `sql`, prepared on first use: later uses skip a round trip.
    pub fn stmt(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.stmts.get(sql) {
            return Ok(s.clone());
        }
        let s = self.runtime.block_on(self.client.prepare(sql))?;
        self.stmts.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    /// Runs `sql` once, without keeping it prepared (migrations).
    pub fn query_once(&mut self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>, postgres::Error> {
        self.runtime.block_on(self.client.query(sql, params))
    }

    /// Runs `sql` (any number of statements, no parameters) by the simple protocol.
    pub fn batch_execute(&mut self, sql: &str) -> Result<(), postgres::Error> {
        self.runtime.block_on(self.client.batch_execute(sql))
    }

    pub fn query(&mut self, stmt: &Statement, params: &Params<'_>) -> Result<Vec<Row>, postgres::Error> {
        self.runtime.block_on(self.client.query(stmt, params))
    }

    /// Runs `stmt` and hands its rows to `f` one at a time as they arrive, until `f`
    /// returns false or the rows end.
    pub fn query_each(
        &mut self,
        stmt: &Statement,
        params: &Params<'_>,
        f: &mut dyn FnMut(&Row) -> bool,
    ) -> Result<(), postgres::Error> {
        use futures_util::StreamExt;
        let params = params.iter().copied();
        let rows = self.runtime.block_on(self.client.query_raw(stmt, params))?;
        let mut rows = std::pin::pin!(rows);
        while let Some(row) = self.runtime.block_on(rows.next()) {
            if !f(&row?) {
                break;
            }
        }
        Ok(())
    }

    pub fn execute(&mut self, stmt: &Statement, params: &Params<'_>) -> Result<u64, postgres::Error> {
        self.runtime.block_on(self.client.execute(stmt, params))
    }

    /// Sends `sql` (no parameters) and returns once it is written, without waiting for
    /// the reply: for the COMMIT of a read-only transaction, whose outcome changes
    /// nothing. The server runs it at once, so no snapshot is left open; its reply is read
    /// (and dropped) with the next request's, and a broken connection shows there.
    pub fn send_only(&mut self, sql: &str) {
        {
            let mut request = std::pin::pin!(self.client.batch_execute(sql));
            // The first poll queues the request for the connection task; the reply is not
            // waited for (dropping the future leaves it to the connection to read).
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            if request.as_mut().poll(&mut cx).is_ready() {
                return; // refused at once: the connection is closed
            }
        }
        // One turn of this connection's runtime: the connection task writes what is queued.
        self.runtime.block_on(tokio::task::yield_now());
    }

    /// Sends `first` (statements without parameters, e.g. `BEGIN`) and `stmt` together
    /// and waits for both: one round trip. The server runs them in order; when `first`
    /// fails, so does `stmt`, and `Err(First)` says nothing was begun.
    pub fn query_after(&mut self, first: &str, stmt: &Statement, params: &Params<'_>) -> Result<Vec<Row>, After> {
        let client = &self.client;
        // `join` polls the first future first, and each sends its request on its first
        // poll: they reach the server in this order, in one write.
        let (a, b) =
            self.runtime.block_on(futures_util::future::join(client.batch_execute(first), client.query(stmt, params)));
        match (a, b) {
            (Err(e), _) => Err(After::First(e)),
            (Ok(()), Err(e)) => Err(After::Then(e)),
            (Ok(()), Ok(rows)) => Ok(rows),
        }
    }

    /// [`Conn::query_after`] for a statement that returns no rows: the rows it changed.
    pub fn execute_after(&mut self, first: &str, stmt: &Statement, params: &Params<'_>) -> Result<u64, After> {
        let client = &self.client;
        let (a, b) = self
            .runtime
            .block_on(futures_util::future::join(client.batch_execute(first), client.execute(stmt, params)));
        match (a, b) {
            (Err(e), _) => Err(After::First(e)),
            (Ok(()), Err(e)) => Err(After::Then(e)),
            (Ok(()), Ok(n)) => Ok(n),
        }
    }

    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }
}

/// Which part of [`Conn::query_after`] failed.
pub enum After {
    First(postgres::Error),
    Then(postgres::Error),
}

/// Opens a connection of the blocking client (for LISTEN and its notifications).
pub fn listener(target: &Target) -> Result<Client, postgres::Error> {
    let connect = |config: &Config| postgres::Config::from(config.clone()).connect(target.tls.connector());
    let mut client = match connect(&target.config) {
        Err(e) if target.tls.falls_back(&e) => connect(&target.plain())?,
        other => other?,
    };
    client.batch_execute(SESSION_SETUP)?;
    Ok(client)
}

/// Where to connect and how: the driver's settings and ours for TLS.
pub struct Target {
    pub config: Config,
    pub tls: Tls,
}

impl Target {
    /// The URL's settings plus the store's defaults.
    pub fn from_url(url: &str) -> Result<Target, String> {
        let (rest, tls) = Tls::from_url(url)?;
        let mut config: Config = rest.parse().map_err(|e: postgres::Error| one_line(&e))?;
        tls.apply(&mut config);
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("orch");
        }
        Ok(Target { config, tls })
    }

    /// The same without TLS, for `prefer`'s second try.
    fn plain(&self) -> Config {
        let mut config = self.config.clone();
        config.ssl_mode(tokio_postgres::config::SslMode::Disable);
        config
    }

    /// Why a connection failed, on one line: what TLS says about it, or the driver's error
    /// (with a hint when TLS would have helped).
    pub fn connect_error(&self, e: &postgres::Error) -> String {
        if let Some(tls) = self.tls.failure(e) {
            return tls;
        }
        match self.tls.hint(e) {
            Some(hint) => format!("cannot connect: {} ({hint})", one_line(e)),
            None => format!("cannot connect: {}", one_line(e)),
        }
    }
}

pub struct Pool {
    target: Target,
    max: usize,
    state: Mutex<State>,
    freed: Condvar,
}

struct State {
    idle: Vec<Conn>,
    /// Connections that exist: idle plus checked out.
    open: usize,
}

impl Pool {
    pub fn new(target: Target, max: usize) -> Pool {
        Pool { target, max: max.max(1), state: Mutex::new(State { idle: Vec::new(), open: 0 }), freed: Condvar::new() }
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// An idle connection, or a new one while fewer than `max` exist; otherwise waits
    /// for one to come back.
    pub fn get(&self) -> Result<Pooled<'_>, postgres::Error> {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(conn) = st.idle.pop() {
                return Ok(Pooled { pool: self, conn: Some(conn), broken: false });
            }
            if st.open < self.max {
                st.open += 1;
                break;
            }
            st = self.freed.wait(st).unwrap_or_else(|p| p.into_inner());
        }
        drop(st);
        match Conn::open(&self.target) {
            Ok(conn) => Ok(Pooled { pool: self, conn: Some(conn), broken: false }),
            Err(e) => {
                self.forget(1);
                Err(e)
            }
        }
    }

    /// Drops every idle connection: after one broke at the transport level, the others
    /// (opened to the same server) most likely did too.
    pub fn discard_idle(&self) {
        let dropped = {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            std::mem::take(&mut st.idle)
        };
        let n = dropped.len();
        drop(dropped);
        self.forget(n);
    }

    fn forget(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.open = st.open.saturating_sub(n);
        drop(st);
        self.freed.notify_all();
    }
}

/// A checked-out connection; it goes back to the pool when dropped, unless broken.
pub struct Pooled<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
    broken: bool,
}

impl Pooled<'_> {
    pub fn conn(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("a pooled connection is present until dropped")
    }

    /// Marks the connection unusable: it is closed instead of returned.
    pub fn set_broken(&mut self) {
        self.broken = true;
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        if self.broken || conn.is_closed() {
            drop(conn);
            self.pool.forget(1);
            return;
        }
        let mut st = self.pool.state.lock().unwrap_or_else(|p| p.into_inner());
        st.idle.push(conn);
        drop(st);
        self.pool.freed.notify_one();
    }
}

/// What a driver error means for the transaction that met it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The connection is gone (server restart, network): reconnect; the transaction did
    /// not commit unless the error came from COMMIT itself.
    Connection,
    /// Serialization failure or deadlock: the transaction was rolled back; run it again.
    Retry,
    /// Anything else: report it.
    Other,
}

pub fn classify(e: &postgres::Error) -> Failure {
    if e.is_closed() {
        return Failure::Connection;
    }
    if let Some(code) = e.code() {
        let c = code.code();
        return if code == &SqlState::T_R_SERIALIZATION_FAILURE || code == &SqlState::T_R_DEADLOCK_DETECTED {
            Failure::Retry
        } else if c.starts_with("08") || c == "57P01" || c == "57P02" || c == "57P03" {
            // connection exceptions; admin_shutdown, crash_shutdown, cannot_connect_now
            Failure::Connection
        } else {
            Failure::Other
        };
    }
    // No SQLSTATE: an I/O error, a connect failure, a protocol error. Treat all as a
    // lost connection; a bad parameter (ToSql/FromSql) would say so in its message and
    // fail again on the next attempt, which reports it.
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = src {
        if s.is::<std::io::Error>() {
            return Failure::Connection;
        }
        src = s.source();
    }
    if e.as_db_error().is_none() && e.to_string().starts_with("error connecting") {
        return Failure::Connection;
    }
    Failure::Other
}

/// The store's error for a driver error, on one line.
pub fn store_err(e: &postgres::Error) -> StoreError {
    let msg = one_line(e);
    match e.code() {
        Some(c) if c == &SqlState::UNIQUE_VIOLATION => StoreError::Conflict(msg),
        Some(c)
            if c == &SqlState::T_R_SERIALIZATION_FAILURE
                || c == &SqlState::T_R_DEADLOCK_DETECTED
                || c == &SqlState::LOCK_NOT_AVAILABLE
                || c == &SqlState::QUERY_CANCELED =>
        {
            StoreError::Busy(msg)
        }
        _ => StoreError::Db(msg),
    }
}

/// A driver error as one line: the server's message (severity, text, detail) or the
/// driver's own.
pub fn one_line(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{}: {}", db.severity(), db.message());
            if let Some(d) = db.detail() {
                s.push_str(&format!(" ({d})"));
            }
            s.replace('\n', " ")
        }
        None => {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(c) = src {
                s.push_str(&format!(": {c}"));
                src = c.source();
            }
            s.replace('\n', " ")
        }
    }
}
