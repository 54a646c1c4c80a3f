//! `GET /api/v1/events`: the event log as Server-Sent Events. Each event is one SSE
//! message whose `id` is its sequence number and whose `data` is its line of
//! `events.jsonl` (secrets masked). A client that reconnects with `Last-Event-ID`
//! (browsers do it themselves), or asks with `?after=N`, gets every event after that
//! number first; without either, the stream starts at the end of the log. New events
//! are read when the watch thread sees a commit (a store that polls: within 10 ms), and
//! at least every second; a comment every 15 s keeps idle connections open.

use super::reply::{self, Answer};
use super::state::AppState;
use crate::api;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use std::collections::{HashMap, VecDeque};
use std::time::Duration;

/// Events read from the store at a time.
const PAGE: usize = 500;

struct Cursor {
    state: AppState,
    after: i64,
    ready: VecDeque<orch_core::event::Event>,
    changes: tokio::sync::watch::Receiver<u64>,
}

pub async fn events(State(s): State<AppState>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Answer {
    if let Some(k) = q.keys().find(|k| k.as_str() != "after") {
        return Err(reply::usage(&format!("unknown query parameter `{k}` (known: after)")));
    }
    let given = headers.get("last-event-id").and_then(|v| v.to_str().ok()).or(q.get("after").map(String::as_str));
    let after =
        match given {
            Some(v) => v.trim().parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                reply::usage(&format!("Last-Event-ID (or after) must be an event's number, got `{v}`"))
            })?,
            None => s.read(api::last_event_seq).await?,
        };
    let cursor = Cursor { changes: s.changes.clone(), state: s, after, ready: VecDeque::new() };
    let stream = futures_util::stream::unfold(cursor, next);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response())
}

/// The next message: an event read already, else the next page, else a wait for a
/// commit. A failing store ends the stream (the client reconnects with its last id).
async fn next(mut c: Cursor) -> Option<(Result<Event, std::convert::Infallible>, Cursor)> {
    loop {
        if let Some(e) = c.ready.pop_front() {
            c.after = e.seq;
            let message = Event::default().id(e.seq.to_string()).data(e.to_json_line());
            return Some((Ok(message), c));
        }
        c.changes.borrow_and_update();
        let after = c.after;
        let page = c.state.read(move |orch| api::events_after(orch, api::EventsRequest { after, limit: PAGE })).await;
        match page {
            Ok(page) if !page.is_empty() => c.ready.extend(page),
            Ok(_) => {
                let _ = tokio::time::timeout(Duration::from_secs(1), c.changes.changed()).await;
            }
            Err(_) => return None,
        }
    }
}
