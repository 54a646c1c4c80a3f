//! Schedules in PostgreSQL (the columns are `crate::schedules`'). A write reads its
//! schedule `FOR UPDATE`, so two tickers of one schedule take turns rather than race.

use super::txn::PgTx;
use crate::schedules::{SCHEDULE_COLS, binds, schedule};
use crate::{Result, StoreError};
use orch_core::schedule::Schedule;

impl PgTx<'_> {
    pub(super) fn schedule_list(&mut self) -> Result<Vec<Schedule>> {
        let rows = self.query(&format!("SELECT {SCHEDULE_COLS} FROM schedules ORDER BY name"), &[])?;
        rows.iter().map(schedule).collect()
    }

    pub(super) fn schedule_read(&mut self, name: &str) -> Result<Option<Schedule>> {
        let sql = format!("SELECT {SCHEDULE_COLS} FROM schedules WHERE name = $1{}", self.lock_suffix(" FOR UPDATE"));
        self.query_opt(&sql, &[&name])?.map(|r| schedule(&r)).transpose()
    }

    pub(super) fn schedule_add(&mut self, s: &Schedule) -> Result<()> {
        let (spec, paused, last) = binds(s);
        let sql = format!(
            "INSERT INTO schedules ({SCHEDULE_COLS}) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING"
        );
        let n = self.execute(&sql, &[&s.name, &spec, &paused, &last, &s.last_task, &s.version])?;
        if n == 0 {
            return Err(StoreError::Conflict(format!("schedule {} exists already", s.name)));
        }
        Ok(())
    }

    pub(super) fn schedule_write(&mut self, s: &Schedule) -> Result<Schedule> {
        let (_, paused, last) = binds(s);
        let n = self.execute(
            "UPDATE schedules SET paused = $2, last_tick = $3, last_task = $4, version = version + 1 \
             WHERE name = $1 AND version = $5",
            &[&s.name, &paused, &last, &s.last_task, &s.version],
        )?;
        if n == 1 {
            return Ok(Schedule { version: s.version + 1, ..s.clone() });
        }
        match self.query_opt("SELECT 1 FROM schedules WHERE name = $1", &[&s.name])? {
            Some(_) => Err(StoreError::Conflict(format!("schedule {} changed meanwhile", s.name))),
            None => Err(StoreError::NotFound(format!("schedule {}", s.name))),
        }
    }

    pub(super) fn schedule_remove(&mut self, name: &str) -> Result<bool> {
        Ok(self.execute("DELETE FROM schedules WHERE name = $1", &[&name])? == 1)
    }
}
