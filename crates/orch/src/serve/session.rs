//! Who may ask: every route but `/healthz`, the page's files and the sign-in itself
//! needs the bearer token (`Authorization: Bearer TOKEN`) or a browser session.
//!
//! A browser signs in once, with the token (the sign-in form) or with the one-time code
//! of the link `serve` prints (`/#code=…`: after `#`, so no server or proxy logs it),
//! and gets a session cookie (`HttpOnly; SameSite=Strict`) and a CSRF token that the
//! page sends as `X-CSRF-Token` with every request that changes something. Sessions
//! live in this process's memory until sign-out or the end of `serve`, at most
//! 256 (the oldest goes first; `sessions.rs`).

use super::reply::{self, Answer, Fail};
use super::state::AppState;
use super::token;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The session cookie's name.
pub const COOKIE: &str = "orch_session";
/// The header that carries the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The guard of every route that needs the token.
pub async fn guard(State(s): State<AppState>, req: Request, next: Next) -> Response {
    match check(&s, req.method(), req.headers()) {
        Ok(()) => next.run(req).await,
        Err(f) => f.into_response(),
    }
}

fn check(s: &AppState, method: &Method, headers: &HeaderMap) -> Result<(), Fail> {
    if let Some(h) = headers.get(header::AUTHORIZATION) {
        let given = h.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
        let Some(given) = given else {
            return Err(Fail::unauthorized("the Authorization header must be `Bearer TOKEN`"));
        };
        return if token::same(given, &s.token) { Ok(()) } else { Err(Fail::unauthorized("wrong token")) };
    }
    if let Some(id) = cookie(headers, COOKIE) {
        let sessions = s.sessions.lock().map_err(|_| Fail::unauthorized("sessions unavailable"))?;
        if let Some(session) = sessions.find(id) {
            if safe(method) {
                return Ok(());
            }
            let given = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
            if token::same(given, &session.csrf) {
                return Ok(());
            }
            return Err(Fail::forbidden("csrf", "a change from the page needs its X-CSRF-Token header"));
        }
        return Err(Fail::unauthorized("the session ended: sign in again"));
    }
    Err(Fail::unauthorized("a token is required: Authorization: Bearer TOKEN (docs/SERVE.md)"))
}

/// `POST /session`: `{"token": …}` or `{"code": …}` → the session cookie and
/// `{"csrf": …}`.
pub async fn sign_in(State(s): State<AppState>, body: axum::body::Body) -> Answer {
    let bytes = reply::body_bytes(body).await?;
    let map = reply::object(&bytes, None)?;
    let field = |k: &str| map.get(k).and_then(|v| v.as_str()).map(str::trim);
    if map.keys().any(|k| k != "token" && k != "code") {
        return Err(reply::usage("sign in with {\"token\": …} or {\"code\": …}"));
    }
    let mut sessions = s.sessions.lock().map_err(|_| Fail::unauthorized("sessions unavailable"))?;
    let good = match (field("token"), field("code")) {
        (Some(t), None) => token::same(t, &s.token),
        (None, Some(c)) => sessions.take_code(c),
        _ => return Err(reply::usage("sign in with {\"token\": …} or {\"code\": …}")),
    };
    if !good {
        return Err(Fail::unauthorized("wrong token, or a sign-in code already used"));
    }
    let (id, csrf) = sessions.open()?;
    let mut r = reply::json(StatusCode::OK, &serde_json::json!({ "csrf": csrf }));
    let set = format!("{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/");
    let value = HeaderValue::from_str(&set).map_err(|e| reply::usage(&e.to_string()))?;
    r.headers_mut().insert(header::SET_COOKIE, value);
    Ok(r)
}

/// `GET /session`: the CSRF token of the browser's session (401 without one).
pub async fn current(State(s): State<AppState>, headers: HeaderMap) -> Answer {
    let sessions = s.sessions.lock().map_err(|_| Fail::unauthorized("sessions unavailable"))?;
    match cookie(&headers, COOKIE).and_then(|id| sessions.find(id)) {
        Some(session) => reply::ok(&serde_json::json!({ "csrf": session.csrf })),
        None => Err(Fail::unauthorized("not signed in")),
    }
}

/// `DELETE /session`: sign out (behind the guard: the CSRF token is needed).
pub async fn sign_out(State(s): State<AppState>, headers: HeaderMap) -> Answer {
    if let Some(id) = cookie(&headers, COOKIE) {
        s.sessions.lock().map_err(|_| Fail::unauthorized("sessions unavailable"))?.close(id);
    }
    let mut r = reply::json(StatusCode::OK, &serde_json::json!({ "signed_out": true }));
    let gone = format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&gone) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(r)
}

/// `POST /session/code` (behind the token): a new one-time sign-in code, for a link to
/// open on another device (`/#code=CODE`).
pub async fn new_code(State(s): State<AppState>) -> Answer {
    let code = s.sessions.lock().map_err(|_| Fail::unauthorized("sessions unavailable"))?.new_code()?;
    reply::ok(&serde_json::json!({ "code": code, "path": format!("/#code={code}") }))
}
