//! Helpers of the `orch serve` tests: the real binary serving a project on
//! 127.0.0.1 (any free port, read from what it prints), and a small HTTP client that
//! gives every answer (4xx and 5xx too) as a status, headers and text.

#![allow(dead_code)] // each test module uses its own subset

use crate::common::{Background, Project, wait_until};
use std::time::Duration;

pub struct Server {
    pub bg: Background,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The one-time sign-in code of the link it printed.
    pub code: String,
    pub token: String,
}

pub struct Answer {
    pub status: u16,
    pub text: String,
    pub headers: Vec<(String, String)>,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// The error code of a JSON error answer.
    pub fn code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or_else(|| panic!("no error code: {}", self.text)).to_string()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// Sends `method path` with these headers and body; any answer comes back.
pub fn send(base: &str, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> Answer {
    let url = format!("{base}{path}");
    let agent = agent();
    let mut req = ureq::http::Request::builder().method(method).uri(&url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = match body {
        Some(b) => agent.run(req.header("content-type", "application/json").body(b.to_string()).unwrap()),
        None => agent.run(req.body(()).unwrap()),
    };
    let mut resp = resp.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = resp.status().as_u16();
    let headers = resp.headers().iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string())).collect();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    Answer { status, text, headers }
}

impl Server {
    /// `orch serve --addr 127.0.0.1:0` in `p`, with its own token file (or
    /// `ORCH_SERVE_TOKEN` when `env_token` is given), once it listens.
    pub fn start(p: &Project) -> Server {
        Server::start_with(p, &[])
    }

    /// As [`Server::start`], with more arguments of `serve`.
    pub fn start_with(p: &Project, extra: &[&str]) -> Server {
        let mut args = vec!["serve", "--addr", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        let bg = p.spawn("serve", &args);
        let mut base = String::new();
        let mut code = String::new();
        let up = wait_until(Duration::from_secs(30), || {
            let out = bg.stdout();
            let link = out.lines().find_map(|l| l.split_once("sign in once with ").map(|(_, u)| u.to_string()));
            match link.as_deref().and_then(|u| u.split_once("/#code=")) {
                Some((b, c)) => {
                    (base, code) = (b.to_string(), c.trim().to_string());
                    true
                }
                None => false,
            }
        });
        assert!(up, "orch serve did not start:\n{}\n{}", bg.stdout(), bg.stderr());
        let token = p.read(".orch/serve.token").trim().to_string();
        Server { bg, base, code, token }
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// A request with the token.
    pub fn call(&self, method: &str, path: &str, body: Option<&str>) -> Answer {
        let auth = self.bearer();
        send(&self.base, method, path, &[("authorization", &auth)], body)
    }

    pub fn get(&self, path: &str) -> Answer {
        self.call("GET", path, None)
    }

    pub fn post(&self, path: &str, body: &str) -> Answer {
        self.call("POST", path, Some(body))
    }

    /// A request without any token.
    pub fn anonymous(&self, method: &str, path: &str, body: Option<&str>) -> Answer {
        send(&self.base, method, path, &[], body)
    }
}

/// A POST whose `Content-Length` says `len` bytes, of which only the first few are
/// sent: the whole answer (a server that refuses the size answers before the body is
/// read, and closes the connection).
pub fn post_claiming(base: &str, path: &str, token: &str, len: usize) -> String {
    use std::io::Write;
    let addr = base.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(addr).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {len}\r\n\r\n{{\"task\": \""
    );
    conn.write_all(head.as_bytes()).expect("send");
    let mut answer = String::new();
    let _ = std::io::Read::read_to_string(&mut conn, &mut answer);
    answer
}
