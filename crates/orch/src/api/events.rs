//! The event log for a reader that resumes where it stopped (the HTTP server's event
//! stream): the events after a sequence number, secrets masked, and the last number.

use crate::error::Result;
use crate::ops::Orch;
use orch_core::event::Event;
use orch_store::EventQuery;
use serde::Deserialize;

/// `events`: at most `limit` events after the one numbered `after`, oldest first.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsRequest {
    pub after: i64,
    pub limit: usize,
}

/// The events after `req.after`, each masked as `orch events` prints it.
pub fn events_after(orch: &Orch, req: EventsRequest) -> Result<Vec<Event>> {
    let page = orch.events_after(req.after, req.limit)?;
    Ok(page.into_iter().map(|e| orch.mask().event(&e).unwrap_or(e)).collect())
}

/// The sequence number of the newest event (0 when the log is empty).
pub fn last_event_seq(orch: &Orch) -> Result<i64> {
    let q = EventQuery { limit: 1, newest_first: true, ..EventQuery::default() };
    Ok(orch.events(&q)?.first().map_or(0, |e| e.seq))
}
