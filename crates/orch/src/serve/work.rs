//! The worker's routes: pick, heartbeat, done, fail, so that a worker on a machine
//! without access to the database works through HTTP. The lease token travels in the
//! JSON body (`"lease"`), never in a URL; `pick` answers with the task as `pick --json`
//! prints it, its lease (`"lease": {"token", "expires_at"}`) included.

use super::reply::{self, Answer};
use super::state::AppState;
use crate::api;
use axum::body::Body;
use axum::extract::{Path, State};

/// `POST /api/v1/pick`: `{"owner": …, "lease": "15m"}` → the task claimed with its
/// lease; 404 (`not_found`) when no task is eligible.
pub async fn pick(State(s): State<AppState>, body: Body) -> Answer {
    let req: api::PickRequest = reply::request(reply::object(&reply::body_bytes(body).await?, None)?)?;
    reply::ok(&s.call(move |orch| api::pick(orch, req)).await?)
}

pub async fn heartbeat(State(s): State<AppState>, Path(id): Path<String>, body: Body) -> Answer {
    let req: api::HeartbeatRequest = reply::request(reply::object(&reply::body_bytes(body).await?, Some(&id))?)?;
    reply::ok(&s.call(move |orch| api::heartbeat(orch, req)).await?)
}

pub async fn done(State(s): State<AppState>, Path(id): Path<String>, body: Body) -> Answer {
    let req: api::DoneRequest = reply::request(reply::object(&reply::body_bytes(body).await?, Some(&id))?)?;
    reply::ok(&s.call(move |orch| api::done(orch, req)).await?)
}

pub async fn fail(State(s): State<AppState>, Path(id): Path<String>, body: Body) -> Answer {
    let req: api::FailRequest = reply::request(reply::object(&reply::body_bytes(body).await?, Some(&id))?)?;
    reply::ok(&s.call(move |orch| api::fail(orch, req)).await?)
}
