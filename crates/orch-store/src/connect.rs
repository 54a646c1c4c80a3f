//! Opening a store by its URL: a path, `sqlite://PATH`, or `postgres://…`. The one
//! place that reads a URL to choose a store; everything else asks the store what it can
//! do (`Backend::capabilities`).

use crate::{Backend, Result, StoreError, postgres, sqlite};

/// Opens the database named by `url`: a path, `sqlite://PATH`, or `postgres://…`
/// (`postgresql://…`). A SQLite database must exist already (`orch init` creates one):
/// a mistyped path is an error, never a new empty queue. A PostgreSQL database gets its
/// schema on first use, since the hosts sharing it may come in any order.
pub fn open(url: &str) -> Result<Box<dyn Backend>> {
    match Location::of(url)? {
        Location::Postgres => Ok(Box::new(postgres::Postgres::open(url)?)),
        Location::Sqlite(path) => Ok(Box::new(sqlite::Sqlite::open(path)?)),
    }
}

/// [`open`] that creates a SQLite database when there is none (`init`, and the target
/// of `migrate`).
pub fn create(url: &str) -> Result<Box<dyn Backend>> {
    match Location::of(url)? {
        Location::Postgres => Ok(Box::new(postgres::Postgres::open(url)?)),
        Location::Sqlite(path) => Ok(Box::new(sqlite::Sqlite::create(path)?)),
    }
}

/// Where a database URL points.
enum Location<'a> {
    Postgres,
    Sqlite(&'a std::path::Path),
}

impl<'a> Location<'a> {
    fn of(url: &'a str) -> Result<Location<'a>> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Location::Postgres);
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            return Ok(Location::Sqlite(std::path::Path::new(path)));
        }
        if let Some((scheme, _)) = url.split_once("://") {
            return Err(StoreError::Open(format!(
                "{scheme}://: this database is not supported; give a path, sqlite://PATH or postgres://…"
            )));
        }
        Ok(Location::Sqlite(std::path::Path::new(url)))
    }
}
