//! Schedules in SQLite (the columns are `crate::schedules`').

use super::txn::SqliteTx;
use crate::schedules::{SCHEDULE_COLS, binds, schedule};
use crate::{Result, StoreError};
use orch_core::schedule::Schedule;
use rusqlite::{OptionalExtension, params};

impl SqliteTx<'_> {
    pub(super) fn schedule_list(&mut self) -> Result<Vec<Schedule>> {
        let sql = format!("SELECT {SCHEDULE_COLS} FROM schedules ORDER BY name");
        let mut stmt = self.tx.prepare_cached(&sql)?;
        let rows = stmt.query_map([], |r| schedule(r))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub(super) fn schedule_read(&mut self, name: &str) -> Result<Option<Schedule>> {
        let sql = format!("SELECT {SCHEDULE_COLS} FROM schedules WHERE name = ?1");
        Ok(self.tx.prepare_cached(&sql)?.query_row([name], |r| schedule(r)).optional()?)
    }

    pub(super) fn schedule_add(&mut self, s: &Schedule) -> Result<()> {
        if self.schedule_read(&s.name)?.is_some() {
            return Err(StoreError::Conflict(format!("schedule {} exists already", s.name)));
        }
        let (spec, paused, last) = binds(s);
        self.tx
            .prepare_cached(&format!("INSERT INTO schedules ({SCHEDULE_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"))?
            .execute(params![s.name, spec, paused, last, s.last_task, s.version])?;
        Ok(())
    }

    pub(super) fn schedule_write(&mut self, s: &Schedule) -> Result<Schedule> {
        let (_, paused, last) = binds(s);
        let n = self
            .tx
            .prepare_cached(
                "UPDATE schedules SET paused = ?2, last_tick = ?3, last_task = ?4, version = version + 1 \
                 WHERE name = ?1 AND version = ?5",
            )?
            .execute(params![s.name, paused, last, s.last_task, s.version])?;
        if n == 1 {
            return Ok(Schedule { version: s.version + 1, ..s.clone() });
        }
        match self.schedule_read(&s.name)? {
            Some(_) => Err(StoreError::Conflict(format!("schedule {} changed meanwhile", s.name))),
            None => Err(StoreError::NotFound(format!("schedule {}", s.name))),
        }
    }

    pub(super) fn schedule_remove(&mut self, name: &str) -> Result<bool> {
        Ok(self.tx.prepare_cached("DELETE FROM schedules WHERE name = ?1")?.execute([name])? == 1)
    }
}
