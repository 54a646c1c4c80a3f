//! The route table: every route the server answers, who may ask (open, or behind the
//! token), and its handler. docs/openapi.json documents exactly these (a test below
//! holds the two to each other). Anything else is a JSON 404 (`no_route`). Every
//! answer carries headers that keep the page to itself (a content security policy
//! allowing only its own files, no framing, no sniffing, no caching of answers).

use super::state::AppState;
use super::{metrics, session, stream, tasks, web, work};
use axum::Router;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::routing::{MethodRouter, delete, get, post};
use tower_http::set_header::SetResponseHeaderLayer;

/// Who may ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone: the health check, the page's files, signing in.
    Open,
    /// The bearer token, or a browser session (with its CSRF token for a change).
    Token,
}

pub struct Route {
    /// Also what the handler answers; read by the test against docs/openapi.json.
    #[cfg_attr(not(test), allow(dead_code))]
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    /// An answer that streams for as long as the client stays: no time limit.
    pub streams: bool,
    handler: MethodRouter<AppState>,
}

fn route(method: Method, path: &'static str, access: Access, handler: MethodRouter<AppState>) -> Route {
    Route { method, path, access, streams: false, handler }
}

/// A route whose answer is a stream (no request time limit).
fn stream_route(method: Method, path: &'static str, access: Access, handler: MethodRouter<AppState>) -> Route {
    Route { streams: true, ..route(method, path, access, handler) }
}

/// Every route.
pub fn table() -> Vec<Route> {
    use Access::{Open, Token};
    vec![
        route(Method::GET, "/healthz", Open, get(healthz)),
        route(Method::GET, "/", Open, get(web::index)),
        route(Method::GET, "/app.js", Open, get(web::script)),
        route(Method::GET, "/app.css", Open, get(web::style)),
        route(Method::POST, "/session", Open, post(session::sign_in)),
        route(Method::GET, "/session", Open, get(session::current)),
        route(Method::DELETE, "/session", Token, delete(session::sign_out)),
        route(Method::POST, "/session/code", Token, post(session::new_code)),
        route(Method::GET, "/metrics", Token, get(metrics::metrics)),
        route(Method::GET, "/api/v1/tasks", Token, get(tasks::list)),
        route(Method::POST, "/api/v1/tasks", Token, post(tasks::add)),
        route(Method::GET, "/api/v1/tasks/{id}", Token, get(tasks::show)),
        route(Method::GET, "/api/v1/tasks/{id}/log", Token, get(tasks::log)),
        route(Method::GET, "/api/v1/tasks/{id}/output", Token, get(tasks::output)),
        route(Method::POST, "/api/v1/tasks/{id}/note", Token, post(tasks::note)),
        route(Method::POST, "/api/v1/tasks/{id}/cancel", Token, post(tasks::cancel)),
        route(Method::POST, "/api/v1/tasks/{id}/retry", Token, post(tasks::retry)),
        route(Method::POST, "/api/v1/tasks/{id}/replan", Token, post(tasks::replan)),
        route(Method::POST, "/api/v1/tasks/{id}/review", Token, post(tasks::review)),
        route(Method::POST, "/api/v1/tasks/{id}/heartbeat", Token, post(work::heartbeat)),
        route(Method::POST, "/api/v1/tasks/{id}/done", Token, post(work::done)),
        route(Method::POST, "/api/v1/tasks/{id}/fail", Token, post(work::fail)),
        route(Method::POST, "/api/v1/pick", Token, post(work::pick)),
        route(Method::POST, "/api/v1/quick", Token, post(tasks::quick)),
        route(Method::GET, "/api/v1/status", Token, get(tasks::status)),
        route(Method::GET, "/api/v1/kpi", Token, get(tasks::kpi)),
        route(Method::GET, "/api/v1/workers", Token, get(tasks::workers)),
        stream_route(Method::GET, "/api/v1/events", Token, get(stream::events)),
    ]
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// A request that is not answered within `serve --request-timeout` (its body read
/// included, as the handlers read bodies themselves) is answered 408 and dropped, so a
/// slow or stalled client does not hold a connection and a handler forever.
async fn time_limit(
    axum::extract::State(s): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match tokio::time::timeout(s.request_timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => super::reply::Fail::timed_out(s.request_timeout).into_response(),
    }
}

async fn no_route(uri: axum::http::Uri) -> super::reply::Fail {
    super::reply::Fail::no_route(uri.path())
}

/// The server: the table's routes (those of one path merged), the token's guard on
/// those that need it, the body limit (the handlers read bodies with
/// `reply::body_bytes`, which refuses a larger one before reading it), the time limit
/// on every route that does not stream, and the headers.
pub fn router(state: AppState) -> Router {
    let mut by_path: Vec<(&'static str, MethodRouter<AppState>)> = Vec::new();
    for r in table() {
        let handler = match r.access {
            Access::Open => r.handler,
            Access::Token => r.handler.route_layer(axum::middleware::from_fn_with_state(state.clone(), session::guard)),
        };
        let handler = match r.streams {
            true => handler,
            false => handler.layer(axum::middleware::from_fn_with_state(state.clone(), time_limit)),
        };
        match by_path.iter_mut().find(|(p, _)| *p == r.path) {
            Some((_, h)) => *h = std::mem::take(h).merge(handler),
            None => by_path.push((r.path, handler)),
        }
    }
    let mut app: Router<AppState> = Router::new();
    for (path, handler) in by_path {
        app = app.route(path, handler);
    }
    let header = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    app.fallback(no_route)
        .layer(axum::extract::DefaultBodyLimit::max(super::reply::BODY_LIMIT))
        .layer(header(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; \
             form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ))
        .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header(header::REFERRER_POLICY, "no-referrer"))
        .layer(header(header::CACHE_CONTROL, "no-store"))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/openapi.json names exactly the routes of the table, each with the same
    /// security (none for the open ones).
    #[test]
    fn openapi_documents_every_route_and_no_other() {
        let doc: serde_json::Value = serde_json::from_str(include_str!("../../../../docs/openapi.json")).unwrap();
        let mut documented = Vec::new();
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for (method, op) in ops.as_object().unwrap() {
                let open = op.get("security").is_some_and(|s| s.as_array().is_some_and(|a| a.is_empty()));
                documented.push((method.to_uppercase(), path.clone(), open));
            }
        }
        let mut routes: Vec<(String, String, bool)> =
            table().iter().map(|r| (r.method.to_string(), r.path.to_string(), r.access == Access::Open)).collect();
        documented.sort();
        routes.sort();
        assert_eq!(documented, routes);
    }
}
