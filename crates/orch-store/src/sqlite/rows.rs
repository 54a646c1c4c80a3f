//! SQLite rows read as the core's records: [`RowGet`] for `rusqlite::Row`, and the
//! decoders of `columns` with rusqlite's error, as its `query_map` takes them. The
//! columns and what each holds are `columns`'s.

use crate::columns::{self, RowGet};
pub use crate::columns::{EVENT_COLS, RUN_COLS, TASK_COLS, ms};
use crate::{Run, StoreError};
use orch_core::event::Event;
use orch_core::task::Task;
use rusqlite::Row;

impl RowGet for Row<'_> {
    type Error = rusqlite::Error;

    #[inline]
    fn text(&self, i: usize) -> rusqlite::Result<String> {
        self.get(i)
    }
    #[inline]
    fn opt_text(&self, i: usize) -> rusqlite::Result<Option<String>> {
        self.get(i)
    }
    #[inline]
    fn int(&self, i: usize) -> rusqlite::Result<i64> {
        self.get(i)
    }
    #[inline]
    fn opt_int(&self, i: usize) -> rusqlite::Result<Option<i64>> {
        self.get(i)
    }
    #[inline]
    fn real(&self, i: usize) -> rusqlite::Result<f64> {
        self.get(i)
    }
    fn bad(what: &str, value: &str) -> rusqlite::Error {
        rusqlite::Error::ToSqlConversionFailure(format!("stored {what} `{value}` is not valid").into())
    }
}

pub fn task_from_row(r: &Row<'_>) -> rusqlite::Result<Task> {
    columns::task(r, 0)
}

pub fn run_from_row(r: &Row<'_>) -> rusqlite::Result<Run> {
    columns::run(r, 0)
}

pub fn event_from_row(r: &Row<'_>) -> rusqlite::Result<Event> {
    columns::event(r)
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        super::error::db_err(e)
    }
}
