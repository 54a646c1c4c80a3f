//! The operator's routes: list, show, log, output, add, quick, note, cancel, retry,
//! replan, review; status, kpi, workers. Each fills one request of `crate::api` from the
//! path, the query and the JSON body, and answers with the command's `--json`.

use super::reply::{self, Answer, Fail};
use super::state::AppState;
use crate::api;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// The most tasks one page of `GET /tasks` gives, and the default.
pub const MAX_PAGE: u64 = 10_000;
pub const DEFAULT_PAGE: u64 = 500;

type Params = Query<HashMap<String, String>>;

/// A named value (a status, a priority) read as the API's requests read it.
fn named<T: DeserializeOwned>(what: &str, s: &str) -> Result<T, Fail> {
    serde_json::from_value(serde_json::Value::String(s.trim().to_string()))
        .map_err(|_| reply::usage(&format!("bad {what} `{s}`")))
}

fn list_of<T: DeserializeOwned>(q: &HashMap<String, String>, key: &str) -> Result<Vec<T>, Fail> {
    let Some(v) = q.get(key) else { return Ok(Vec::new()) };
    v.split(',').filter(|s| !s.trim().is_empty()).map(|s| named(key, s)).collect()
}

fn number(q: &HashMap<String, String>, key: &str) -> Result<Option<u64>, Fail> {
    q.get(key)
        .map(|v| v.trim().parse::<u64>().map_err(|_| reply::usage(&format!("{key} must be a whole number, got `{v}`"))))
        .transpose()
}

fn only(q: &HashMap<String, String>, keys: &[&str]) -> Result<(), Fail> {
    match q.keys().find(|k| !keys.contains(&k.as_str())) {
        Some(k) => Err(reply::usage(&format!("unknown query parameter `{k}` (known: {})", keys.join(", ")))),
        None => Ok(()),
    }
}

/// `GET /api/v1/tasks?status=PENDING,FAILED&priority=P0&limit=100&offset=0`: the array
/// `list --json` prints, in pick order; at most [`MAX_PAGE`] a page. A page asked for
/// again before anything is committed is given as it was read (`pages.rs`).
pub async fn list(State(s): State<AppState>, RawQuery(raw): RawQuery, Query(q): Params) -> Answer {
    only(&q, &["status", "priority", "limit", "offset"])?;
    let limit = number(&q, "limit")?.unwrap_or(DEFAULT_PAGE);
    if limit > MAX_PAGE {
        return Err(reply::usage(&format!("limit is at most {MAX_PAGE}")));
    }
    let req = api::ListRequest {
        statuses: list_of(&q, "status")?,
        priorities: list_of(&q, "priority")?,
        limit: Some(limit),
        offset: number(&q, "offset")?.unwrap_or(0),
    };
    let raw = raw.unwrap_or_default();
    let version = s.pages.version();
    if let Some(page) = version.and_then(|v| s.pages.get(v, &raw)) {
        return Ok(reply::json_bytes(StatusCode::OK, page));
    }
    let tasks = s
        .read(move |orch| {
            let mut tasks = Vec::new();
            api::list(orch, req, &mut |t| {
                tasks.push(t);
                Ok(())
            })?;
            Ok(tasks)
        })
        .await?;
    let page = Bytes::from(reply::encode(&tasks)?);
    if let Some(v) = version {
        s.pages.keep(v, &raw, page.clone());
    }
    Ok(reply::json_bytes(StatusCode::OK, page))
}

/// `POST /api/v1/tasks`: a task as `add` takes it; 201 when made, 200 when its
/// idempotency key named a task already there.
pub async fn add(State(s): State<AppState>, body: Body) -> Answer {
    let map = reply::object(&reply::body_bytes(body).await?, None)?;
    let req: api::AddRequest = reply::request(map)?;
    let added = s.adds.add(req).await.map_err(Fail::Api)?;
    let status = if added.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok(reply::json(status, &added))
}

/// `POST /api/v1/quick`: `{"text": "p0 … due:+3h", "dry_run": false}`.
pub async fn quick(State(s): State<AppState>, body: Body) -> Answer {
    let req: api::QuickRequest = reply::request(reply::object(&reply::body_bytes(body).await?, None)?)?;
    reply::ok(&s.call(move |orch| api::quick(orch, req)).await?)
}

pub async fn show(State(s): State<AppState>, Path(id): Path<String>) -> Answer {
    reply::ok(&s.read(move |orch| api::show(orch, api::ShowRequest { id })).await?)
}

/// `GET /api/v1/tasks/ID/log`: every attempt, as `log --json`.
pub async fn log(State(s): State<AppState>, Path(id): Path<String>) -> Answer {
    reply::ok(&s.read(move |orch| api::log(orch, api::LogRequest { id })).await?)
}

/// `GET /api/v1/tasks/ID/output?bytes=N`: the end of the output of its run.
pub async fn output(State(s): State<AppState>, Path(id): Path<String>, Query(q): Params) -> Answer {
    only(&q, &["bytes"])?;
    let bytes = number(&q, "bytes")?.unwrap_or(16 * 1024).min(reply::BODY_LIMIT as u64);
    reply::ok(&s.read(move |orch| api::tail(orch, api::TailRequest { id, bytes })).await?)
}

/// A change of one task: the body's fields and the path's id, into the request.
async fn change<Req, Res>(
    s: AppState,
    id: String,
    body: Body,
    f: fn(&api::Orch, Req) -> crate::error::Result<Res>,
) -> Answer
where
    Req: DeserializeOwned + Send + 'static,
    Res: serde::Serialize + Send + 'static,
{
    let req: Req = reply::request(reply::object(&reply::body_bytes(body).await?, Some(&id))?)?;
    reply::ok(&s.call(move |orch| f(orch, req)).await?)
}

pub async fn note(State(s): State<AppState>, Path(id): Path<String>, body: Body) -> Answer {
    change(s, id, body, api::note).await
}

pub async fn cancel(State(s): State<AppState>, Path(id): Path<String>, body: Body) -> Answer {
    change(s, id, body, api::cancel).await
}

pub async fn retry(State(s): State<AppState>, Path(id): Path<String>, body: Body) -> Answer {
    change(s, id, body, api::retry).await
}

pub async fn replan(State(s): State<AppState>, Path(id): Path<String>, body: Body) -> Answer {
    change(s, id, body, api::replan).await
}

pub async fn review(State(s): State<AppState>, Path(id): Path<String>, body: Body) -> Answer {
    change(s, id, body, api::review).await
}

/// `GET /api/v1/status`: the queue's counts, as `status --json`.
pub async fn status(State(s): State<AppState>) -> Answer {
    reply::ok(&s.read(|orch| api::status(orch, api::StatusRequest::default())).await?)
}

/// `GET /api/v1/kpi?since=24h`: as `kpi --since 24h --json`.
pub async fn kpi(State(s): State<AppState>, Query(q): Params) -> Answer {
    only(&q, &["since"])?;
    let since = q.get("since").map_or("24h", String::as_str);
    let since = orch_core::time::parse_duration(since).map_err(|e| reply::usage(&format!("since: {e}")))?;
    reply::ok(&s.read(move |orch| api::kpi(orch, api::KpiRequest { since })).await?)
}

/// `GET /api/v1/workers`: the fleet, as `workers --json`.
pub async fn workers(State(s): State<AppState>) -> Answer {
    reply::ok(&s.read(api::workers).await?)
}
