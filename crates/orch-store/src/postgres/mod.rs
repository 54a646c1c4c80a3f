//! The PostgreSQL store (`--db postgres://…`), for queues that workers on several
//! machines share: the same tables and the same semantics as the SQLite store, with
//! `FOR UPDATE SKIP LOCKED` claims, advisory locks where SQLite relies on having one
//! writer at a time (see `tx`), and LISTEN/NOTIFY to wake idle dispatchers.
//!
//! Driver: `tokio-postgres` 0.7, each connection driven on the calling thread by a
//! runtime of its own, as the blocking `postgres` crate does it (that crate serves the
//! listening connection), with a small pool of our own (`pool`). The store's interface is
//! synchronous, so `deadpool` would only add a shared runtime and a thread hop per
//! request; `r2d2_postgres` would add a crate for what fits in one short module, and
//! neither caches prepared statements per connection, which halves the round trips here.
//! Holding the async client lets a transaction's `BEGIN` go out with its first statement:
//! one round trip for both. TLS is rustls's, as libpq's `sslmode` and `sslrootcert` ask
//! (`tls`).
//!
//! Transactions: [`Backend::write`] runs the closure at READ COMMITTED and retries it
//! from the start, a bounded number of times, when it loses a race: a compare-and-set
//! `Conflict`, a serialization failure, a deadlock. A connection that breaks (the
//! server restarted) is dropped and the transaction run again on a new one, for up to
//! [`RECONNECT_WINDOW`] — unless it broke during COMMIT, when nobody can know whether
//! the change was saved: that is reported, not guessed.

mod claim;
mod dispatchers;
mod events;
mod history;
pub(crate) mod locks;
mod pool;
mod rows;
mod runs;
mod schedules;
mod schema;
mod tasks;
mod tls;
mod tx;
mod txn;
mod views;

use super::{Backend, Capabilities, LockScope, Result, StoreError, Tx};
use pool::{Failure, Pool, Target, classify, one_line, store_err};
use postgres::Client;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use txn::{Mode, PgTx};

pub use schema::CURRENT as SCHEMA_VERSION;

/// Connections one process keeps at most (threads beyond this wait for one).
const POOL_MAX: usize = 16;
/// Attempts of a transaction that keeps losing races before the loss is reported.
const MAX_ATTEMPTS: u32 = 12;
/// How long a transaction keeps trying to reach a server that went away.
pub const RECONNECT_WINDOW: Duration = Duration::from_secs(20);

pub struct Postgres {
    pool: Pool,
    /// The connection `wait_for_change` listens on, opened on first use.
    listener: Mutex<Option<Client>>,
    /// The URL without its password, for messages.
    shown: String,
}

/// How one attempt at a transaction ended badly.
enum Attempt {
    /// Lost a race; run it again.
    Retry(StoreError),
    /// The connection broke before COMMIT; run it again on a new one.
    Reconnect(StoreError),
    Fail(StoreError),
}

impl Postgres {
    /// Connects, and migrates the schema. Every failure here is `Open`: one line that
    /// names the server (without the password) and what went wrong.
    pub fn open(url: &str) -> Result<Postgres> {
        let shown = redact(url);
        let target =
            Target::from_url(url).map_err(|e| StoreError::Open(format!("{shown}: not a valid PostgreSQL URL: {e}")))?;
        let pool = Pool::new(target, POOL_MAX);
        {
            let mut c =
                pool.get().map_err(|e| StoreError::Open(format!("{shown}: {}", pool.target().connect_error(&e))))?;
            match schema::migrate(c.conn()) {
                Ok(Ok(())) => {}
                Ok(Err(refusal)) => return Err(StoreError::Open(format!("{shown}: {refusal}"))),
                Err(e) => {
                    c.set_broken();
                    return Err(StoreError::Open(format!("{shown}: cannot set up the schema: {}", one_line(&e))));
                }
            }
        }
        Ok(Postgres { pool, listener: Mutex::new(None), shown })
    }

    fn run(&self, mode: Mode, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            match self.attempt(mode, f) {
                Ok(()) => return Ok(()),
                Err(Attempt::Retry(_)) if attempt < MAX_ATTEMPTS => {
                    // Jittered, growing: racers that collided spread out.
                    let cap = 1u64 << attempt.min(6);
                    std::thread::sleep(Duration::from_micros(jitter(cap * 500)));
                }
                Err(Attempt::Reconnect(_)) if started.elapsed() < RECONNECT_WINDOW => {
                    self.pool.discard_idle();
                    let wait = Duration::from_millis(25u64 << attempt.min(5)).min(Duration::from_secs(1));
                    std::thread::sleep(wait);
                }
                Err(Attempt::Retry(e) | Attempt::Reconnect(e) | Attempt::Fail(e)) => return Err(e),
            }
        }
    }

    fn attempt(&self, mode: Mode, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<(), Attempt> {
        let mut pooled = self.pool.get().map_err(|e| match classify(&e) {
            // A certificate that stopped verifying is a setting to fix, not an outage.
            _ if self.pool.target().tls.refused(&e) => {
                Attempt::Fail(StoreError::Open(format!("{}: {}", self.shown, self.pool.target().connect_error(&e))))
            }
            Failure::Connection => Attempt::Reconnect(StoreError::Unavailable(format!(
                "{}: {}",
                self.shown,
                self.pool.target().connect_error(&e)
            ))),
            _ => Attempt::Fail(store_err(&e)),
        })?;
        let mut tx = PgTx::new(pooled.conn(), mode);
        let outcome = match f(&mut tx) {
            Ok(()) => match tx.commit() {
                Ok(()) => Ok(()),
                Err(e) => {
                    let failure = classify(&e);
                    Err(match (failure, mode) {
                        (Failure::Retry, _) => Attempt::Retry(store_err(&e)),
                        // A read that lost its connection at COMMIT changed nothing.
                        (Failure::Connection, Mode::Read) => Attempt::Reconnect(StoreError::Unavailable(one_line(&e))),
                        (Failure::Connection, Mode::Write) => Attempt::Fail(StoreError::Unavailable(format!(
                            "lost the connection to PostgreSQL during COMMIT; the change may or may not have been saved: {}",
                            one_line(&e)
                        ))),
                        (Failure::Other, _) => Attempt::Fail(store_err(&e)),
                    })
                }
            },
            Err(e) => {
                let failure = tx.failure;
                let rolled_back = failure != Some(Failure::Connection) && tx.rollback();
                let attempt = match failure {
                    // The closure's own decision, whatever it met on the way.
                    _ if matches!(e, StoreError::Aborted(_)) => Attempt::Fail(e),
                    Some(Failure::Connection) => Attempt::Reconnect(e),
                    Some(Failure::Retry) => Attempt::Retry(e),
                    _ if mode == Mode::Write && matches!(e, StoreError::Conflict(_)) => Attempt::Retry(e),
                    _ => Attempt::Fail(e),
                };
                if !rolled_back && failure.is_some() {
                    pooled.set_broken();
                }
                Err(attempt)
            }
        };
        if let Err(Attempt::Reconnect(_) | Attempt::Fail(_)) = &outcome
            && pooled.conn().is_closed()
        {
            pooled.set_broken();
        }
        outcome
    }

    /// Opens the listening connection.
    fn listen(&self) -> Result<Client, postgres::Error> {
        let mut client = pool::listener(self.pool.target())?;
        client.batch_execute(&format!("LISTEN {}", txn::CHANNEL))?;
        Ok(client)
    }
}

impl Backend for Postgres {
    fn write(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        self.run(Mode::Write, f)
    }

    fn read(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        self.run(Mode::Read, f)
    }

    /// Waits for a NOTIFY from a transaction that changed a task. A new listening
    /// connection (the first call, or after the old one broke) returns `true` at once:
    /// changes made before it listened would otherwise go unseen. While the server is
    /// unreachable this sleeps out `timeout` and says `true`, so callers look again
    /// (and meet the real error there) without spinning.
    fn wait_for_change(&self, timeout: Duration) -> Result<bool> {
        let mut guard = self.listener.lock().unwrap_or_else(|p| p.into_inner());
        let Some(client) = guard.as_mut() else {
            match self.listen() {
                Ok(c) => *guard = Some(c),
                Err(_) => {
                    drop(guard);
                    std::thread::sleep(timeout);
                }
            }
            return Ok(true);
        };
        let mut notes = client.notifications();
        let got = postgres::fallible_iterator::FallibleIterator::next(&mut notes.timeout_iter(timeout));
        match got {
            Ok(Some(_)) => {
                // Several commits may have queued notifications: one wake-up covers them.
                let mut pending = notes.iter();
                while let Ok(Some(_)) = postgres::fallible_iterator::FallibleIterator::next(&mut pending) {}
                Ok(true)
            }
            Ok(None) => {
                drop(notes);
                if client.is_closed() {
                    *guard = None;
                    return Ok(true);
                }
                Ok(false)
            }
            Err(_) => {
                drop(notes);
                *guard = None;
                Ok(true)
            }
        }
    }

    /// None: PostgreSQL keeps no counter of commits a client can read cheaply and
    /// exactly (its notifications arrive after the commit, not with it).
    fn data_version(&self) -> Result<Option<i64>> {
        Ok(None)
    }

    fn describe(&self) -> String {
        self.shown.clone()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { shared_across_hosts: true, lock_scope: LockScope::Home, notify: true }
    }
}

/// A number in `[0, max)` for backoff jitter.
fn jitter(max: u64) -> u64 {
    (uuid::Uuid::new_v4().as_u128() % u128::from(max.max(1))) as u64
}

/// `url` with its password replaced by `***` (in the user part and in a `password=`
/// parameter), for messages and `describe`.
pub fn redact(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => (&url[..i + 3], &url[i + 3..]),
        None => ("", url),
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rfind('@') {
        Some(at) => {
            let (user, host) = authority.split_at(at);
            match user.find(':') {
                Some(c) => format!("{}:***{host}", &user[..c]),
                None => authority.to_string(),
            }
        }
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => p.to_string(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_hides_passwords_only() {
        assert_eq!(redact("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(
            redact("postgres://u@h/db?password=x&sslmode=disable"),
            "postgres://u@h/db?password=***&sslmode=disable"
        );
        assert_eq!(redact("postgresql://h/db"), "postgresql://h/db");
        assert_eq!(redact("postgres://u:p%40ss@h"), "postgres://u:***@h");
    }
}
