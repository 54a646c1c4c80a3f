//! PostgreSQL rows read as the core's records: [`RowGet`] for `postgres::Row` (times
//! BIGINT milliseconds, counts BIGINT, lists JSON text, as on SQLite), and the decoders
//! of `columns`. The columns and what each holds are `columns`'s.

use crate::columns::{self, RowGet};
pub use crate::columns::{EVENT_COLS, RUN_COLS, TASK_COLS, count, ms};
use crate::{Result, Run, StoreError};
use orch_core::event::Event;
use orch_core::task::Task;
use postgres::Row;
use postgres::types::FromSql;

fn get<'a, T: FromSql<'a>>(r: &'a Row, i: usize) -> Result<T> {
    r.try_get(i).map_err(|e| StoreError::Db(format!("reading column {i}: {e}")))
}

impl RowGet for Row {
    type Error = StoreError;

    #[inline]
    fn text(&self, i: usize) -> Result<String> {
        get(self, i)
    }
    #[inline]
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        get(self, i)
    }
    #[inline]
    fn int(&self, i: usize) -> Result<i64> {
        get(self, i)
    }
    #[inline]
    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        get(self, i)
    }
    #[inline]
    fn real(&self, i: usize) -> Result<f64> {
        get(self, i)
    }
    fn bad(what: &str, value: &str) -> StoreError {
        StoreError::Db(format!("stored {what} `{value}` is not valid"))
    }
}

pub fn task_from_row(r: &Row) -> Result<Task> {
    columns::task(r, 0)
}

pub fn run_from_row(r: &Row) -> Result<Run> {
    columns::run(r, 0)
}

/// A run whose columns ([`RUN_COLS`]) start at column `at` (after a task's, in a join).
pub fn run_from_row_at(r: &Row, at: usize) -> Result<Run> {
    columns::run(r, at)
}

pub fn event_from_row(r: &Row) -> Result<Event> {
    columns::event(r)
}
