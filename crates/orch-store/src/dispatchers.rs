//! The dispatchers both stores keep, for their liveness: the record, the table's columns
//! and a row read back. Each `orch run` writes its row at start, refreshes `seen_at` as
//! it runs and sets `stopped_at` on its way out; rows unseen for a day are pruned.

use crate::columns::{RowGet, ms, opt_ms};
use jiff::Timestamp;

/// One dispatcher (`orch run`) as it last recorded itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DispatcherRecord {
    /// `HOST:PID:START`, as the runs it claims name it (`Run::dispatcher`).
    pub id: String,
    pub host: String,
    pub pid: i64,
    pub started_at: Timestamp,
    /// When it last said it was running.
    pub seen_at: Timestamp,
    /// When it stopped; `None` while it runs (or when it died without saying so).
    pub stopped_at: Option<Timestamp>,
}

/// The columns read and written, in the order [`dispatcher`] decodes them.
pub const DISPATCHER_COLS: &str = "id, host, pid, started_at, seen_at, stopped_at";

/// The update of an existing row when a dispatcher writes its record again.
pub const DISPATCHER_UPSERT: &str = "ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, \
     started_at = excluded.started_at, seen_at = excluded.seen_at, stopped_at = excluded.stopped_at";

/// Every dispatcher, by host, then start.
pub const DISPATCHERS_SQL: &str = "SELECT id, host, pid, started_at, seen_at, stopped_at FROM dispatchers \
     ORDER BY host, started_at, id";

/// A dispatcher from the columns of [`DISPATCHER_COLS`].
pub fn dispatcher<R: RowGet>(r: &R) -> Result<DispatcherRecord, R::Error> {
    let time = |v: i64| Timestamp::from_millisecond(v).map_err(|_| R::bad("time", &v.to_string()));
    Ok(DispatcherRecord {
        id: r.text(0)?,
        host: r.text(1)?,
        pid: r.int(2)?,
        started_at: time(r.int(3)?)?,
        seen_at: time(r.int(4)?)?,
        stopped_at: r.opt_int(5)?.map(time).transpose()?,
    })
}

/// The times a write binds, in milliseconds: started, seen, stopped.
pub fn binds(d: &DispatcherRecord) -> (i64, i64, Option<i64>) {
    (ms(d.started_at), ms(d.seen_at), opt_ms(d.stopped_at))
}
