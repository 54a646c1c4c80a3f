//! What the server answers: a result as the command's `--json` prints it, or an error
//! as `{"error": {"code", "message", "exit"}}` (the same body the command line prints
//! with `--json`), with the HTTP status of the API error (`Error::http_status`) or of a
//! refusal of the server's own (401 no or wrong token, 403 no CSRF token, 404 no such
//! route, 408 a request that took too long, 413 a body too large). Also the reading of a request's JSON body, within the
//! size limit, into a request of `crate::api`: the API's own checks then apply.

use crate::error::{Error, ErrorBody};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The largest request body taken (a report sent with `done` included).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// A refusal, as the server sends it.
#[derive(Debug)]
pub enum Fail {
    Api(Error),
    Http { status: StatusCode, code: &'static str, message: String },
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        Fail::Api(e)
    }
}

impl Fail {
    pub fn unauthorized(message: &str) -> Fail {
        Fail::Http { status: StatusCode::UNAUTHORIZED, code: "unauthorized", message: message.into() }
    }

    pub fn forbidden(code: &'static str, message: &str) -> Fail {
        Fail::Http { status: StatusCode::FORBIDDEN, code, message: message.into() }
    }

    pub fn no_route(path: &str) -> Fail {
        Fail::Http { status: StatusCode::NOT_FOUND, code: "no_route", message: format!("no route {path}") }
    }

    pub fn timed_out(limit: std::time::Duration) -> Fail {
        Fail::Http {
            status: StatusCode::REQUEST_TIMEOUT,
            code: "request_timeout",
            message: format!("the request took over {} s (serve --request-timeout)", limit.as_secs()),
        }
    }

    fn too_large() -> Fail {
        Fail::Http {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "body_too_large",
            message: format!("the request body is over {BODY_LIMIT} bytes"),
        }
    }

    /// The body: the API error's own, or the server's refusal with exit code 2
    /// (bad usage), as a command would end.
    fn parts(&self) -> (StatusCode, ErrorBody) {
        match self {
            Fail::Api(e) => {
                let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                (status, e.body())
            }
            Fail::Http { status, code, message } => {
                (*status, ErrorBody { code: (*code).into(), message: message.clone(), exit: 2 })
            }
        }
    }
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        let (status, body) = self.parts();
        let mut r = json(status, &serde_json::json!({ "error": body }));
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}

/// A value as JSON with `status` (through a JSON value, as the command line prints it).
pub fn json(status: StatusCode, v: &impl Serialize) -> Response {
    match encode(v) {
        Ok(bytes) => json_bytes(status, bytes.into()),
        Err(e) => e.into_response(),
    }
}

/// A value's JSON text.
pub fn encode(v: &impl Serialize) -> Result<Vec<u8>, Fail> {
    // Room for a page of tasks at once, rather than a buffer grown (and copied) in steps.
    let mut bytes = Vec::with_capacity(16 * 1024);
    serde_json::to_writer(&mut bytes, v).map_err(|e| Fail::Api(Error::Io(format!("JSON output: {e}"))))?;
    Ok(bytes)
}

/// JSON text already made, with `status`.
pub fn json_bytes(status: StatusCode, bytes: axum::body::Bytes) -> Response {
    let mut r = (status, bytes).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

pub type Answer = Result<Response, Fail>;

/// A 200 answer with a result of the API.
pub fn ok(v: &impl Serialize) -> Answer {
    Ok(json(StatusCode::OK, v))
}

/// Reads a body of at most [`BODY_LIMIT`] bytes: one whose `Content-Length` says more
/// is refused before a byte of it is read, one sent in chunks once it passes the limit.
pub async fn body_bytes(body: axum::body::Body) -> Result<axum::body::Bytes, Fail> {
    use axum::body::HttpBody;
    if body.size_hint().lower() > BODY_LIMIT as u64 {
        return Err(Fail::too_large());
    }
    axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|_| Fail::too_large())
}

/// A JSON object from a body (an empty body is `{}`); `id`, when given, is set from
/// the path, and a body that names another id is refused.
pub fn object(bytes: &[u8], id: Option<&str>) -> Result<serde_json::Map<String, serde_json::Value>, Fail> {
    let mut map = if bytes.iter().all(u8::is_ascii_whitespace) {
        serde_json::Map::new()
    } else {
        match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(serde_json::Value::Object(m)) => m,
            Ok(_) => return Err(usage("the request body must be a JSON object")),
            Err(e) => return Err(usage(&format!("the request body is not JSON: {e}"))),
        }
    };
    if let Some(id) = id {
        match map.get("id") {
            Some(serde_json::Value::String(given)) if given != id => {
                return Err(usage(&format!("the body names task {given}, the path {id}")));
            }
            _ => {}
        }
        map.insert("id".into(), serde_json::Value::String(id.into()));
    }
    Ok(map)
}

/// A request of the API from a JSON object: unknown fields and bad values refused by
/// the request's own `Deserialize`.
pub fn request<T: DeserializeOwned>(map: serde_json::Map<String, serde_json::Value>) -> Result<T, Fail> {
    serde_json::from_value(serde_json::Value::Object(map)).map_err(|e| usage(&format!("bad request: {e}")))
}

pub fn usage(message: &str) -> Fail {
    Fail::Api(Error::Usage(message.into()))
}
