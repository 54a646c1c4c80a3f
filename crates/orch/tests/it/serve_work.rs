//! `orch serve`, the rest over a real socket: a worker's loop (pick, heartbeat, done,
//! fail) with its lease token, a stale one refused (409); the event stream resumed with
//! `Last-Event-ID`; `/metrics` parsed, its numbers those of `status --json`, `kpi --json`
//! and `workers --json` (real runs through the gate, a dispatcher running, the
//! histograms bucket by bucket); the browser's sign-in (a form's token or the one-time
//! code) with its cookie and CSRF token; and an address that is not loopback refused
//! without `--allow-remote`.

use crate::common::Project;
use crate::serve_util::{Server, agent, send};
use std::io::BufRead;

#[test]
fn a_worker_picks_renews_and_finishes_over_http_and_a_stale_lease_is_refused() {
    let p = Project::init_plain(None);
    p.ok(&["add", "first", "-p", "P0"]);
    p.ok(&["add", "second", "-p", "P1"]);
    let s = Server::start(&p);
    let picked = s.post("/api/v1/pick", r#"{"owner": "remote-1", "lease": "10m"}"#);
    assert_eq!(picked.status, 200, "{}", picked.text);
    let t = picked.json();
    assert_eq!((t["id"].as_str(), t["status"].as_str()), (Some("ORCH-001"), Some("IN_PROGRESS")));
    let lease = t["lease"]["token"].as_str().unwrap().to_string();
    let body = format!(r#"{{"lease": "{lease}", "extend": "20m"}}"#);
    let hb = s.post("/api/v1/tasks/ORCH-001/heartbeat", &body);
    assert_eq!((hb.status, hb.json()["lease"]["token"].as_str()), (200, Some(lease.as_str())), "{}", hb.text);
    let wrong = s.post("/api/v1/tasks/ORCH-001/heartbeat", r#"{"lease": "not-the-token"}"#);
    assert_eq!((wrong.status, wrong.code()), (409, "wrong_lease_token".into()), "{}", wrong.text);
    let report = r#""report": "all tests pass""#;
    let done = s.post("/api/v1/tasks/ORCH-001/done", &format!(r#"{{"lease": "{lease}", "notes": "ok", {report}}}"#));
    assert_eq!((done.status, done.json()["status"].as_str()), (200, Some("DONE")), "{}", done.text);
    // The task's page reads: its attempts (`log --json`), its output, a review.
    let log = s.get("/api/v1/tasks/1/log");
    assert_eq!(log.json(), p.json(&["log", "ORCH-001"]));
    assert_eq!(log.json()[0]["report"], "all tests pass");
    let out = s.get("/api/v1/tasks/1/output?bytes=100");
    assert_eq!((out.status, out.json()["run_id"].clone()), (200, log.json()[0]["id"].clone()));
    let review = s.post("/api/v1/tasks/1/review", "{}");
    assert_eq!((review.status, review.json()["id"].as_str()), (200, Some("ORCH-001")), "{}", review.text);
    assert_eq!(review.json(), p.json(&["review", "ORCH-001"]));
    // The same token once the run ended: a stale lease.
    let stale = s.post("/api/v1/tasks/ORCH-001/done", &format!(r#"{{"lease": "{lease}"}}"#));
    assert_eq!(stale.status, 409, "{}", stale.text);
    assert_eq!(p.json(&["show", "ORCH-001"])["status"], "DONE");

    let second = s.post("/api/v1/pick", r#"{"owner": "remote-1"}"#).json();
    let lease2 = second["lease"]["token"].as_str().unwrap().to_string();
    let fail =
        s.post("/api/v1/tasks/2/fail", &format!(r#"{{"lease": "{lease2}", "reason": "bad", "permanent": true}}"#));
    assert_eq!(fail.json()["status"], "FAILED", "{}", fail.text);
    assert!(fail.json()["notes"].as_str().unwrap().contains("no_retry:permanent"));
    let none = s.post("/api/v1/pick", r#"{"owner": "remote-1"}"#);
    assert_eq!((none.status, none.code()), (404, "not_found".into()));
    assert_eq!(s.post("/api/v1/pick", r#"{"owner": " "}"#).status, 400);
    assert_eq!(s.post("/api/v1/pick", r#"{"owner": "w", "lease": "1s"}"#).status, 400);
}

/// Reads SSE messages (id, data) from a stream until `n` are read.
pub(crate) fn messages(reader: &mut impl BufRead, n: usize) -> Vec<(i64, serde_json::Value)> {
    let mut out = Vec::new();
    let (mut id, mut data) = (None, None);
    let mut line = String::new();
    while out.len() < n {
        line.clear();
        assert!(reader.read_line(&mut line).expect("read the stream") > 0, "the stream ended");
        let l = line.trim_end();
        if let Some(v) = l.strip_prefix("id:") {
            id = v.trim().parse::<i64>().ok();
        } else if let Some(v) = l.strip_prefix("data:") {
            data = serde_json::from_str(v.trim()).ok();
        } else if l.is_empty()
            && let (Some(i), Some(d)) = (id.take(), data.take())
        {
            out.push((i, d));
        }
    }
    out
}

pub(crate) fn stream(s: &Server, last: Option<&str>) -> impl BufRead {
    let auth = format!("Bearer {}", s.token);
    let mut req = agent().get(format!("{}/api/v1/events", s.base)).header("authorization", &auth);
    if let Some(l) = last {
        req = req.header("last-event-id", l);
    }
    let resp = req.call().expect("open the stream");
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.headers().get("content-type").unwrap().to_str().unwrap().starts_with("text/event-stream"));
    std::io::BufReader::new(resp.into_body().into_reader())
}

#[test]
fn the_event_stream_resumes_after_last_event_id_and_shows_new_commits() {
    let p = Project::init(None);
    p.ok(&["add", "one"]);
    p.ok(&["add", "two"]);
    p.ok(&["cancel", "ORCH-001"]);
    let s = Server::start(&p);
    let mut r = stream(&s, Some("1"));
    let got = messages(&mut r, 2);
    assert_eq!(got[0].0, 2, "the stream starts after the event named");
    assert_eq!(got[0].1["event"], "task.added");
    assert_eq!(got[0].1["task_id"], "ORCH-002");
    assert_eq!(got[1].0, 3);
    assert_eq!(got[1].1["to"], "BLOCKED");
    // A change made by the command line reaches the open stream.
    p.ok(&["add", "three"]);
    let new = messages(&mut r, 1);
    assert_eq!((new[0].0, new[0].1["task_id"].as_str()), (4, Some("ORCH-003")));
    // Without Last-Event-ID: only what comes next.
    let mut fresh = stream(&s, None);
    p.ok(&["note", "ORCH-003", "hello"]);
    let next = messages(&mut fresh, 1);
    assert_eq!(next[0].0, 5);
    assert_eq!(s.call("GET", "/api/v1/events?after=x", None).status, 400);
}

/// The samples of an OpenMetrics text: (name, labels, value); panics on a line that
/// is no comment and no sample.
type Sample = (String, Vec<(String, String)>, f64);

fn parse_metrics(text: &str) -> Vec<Sample> {
    assert!(text.trim_end().ends_with("# EOF"), "OpenMetrics ends with # EOF");
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("bad line {line}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("bad value in {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((n, rest)) => {
                let inner = rest.strip_suffix('}').unwrap_or_else(|| panic!("bad labels in {line}"));
                let labels = inner
                    .split(',')
                    .map(|kv| {
                        let (k, v) = kv.split_once('=').unwrap_or_else(|| panic!("bad label in {line}"));
                        (k.to_string(), v.trim_matches('"').to_string())
                    })
                    .collect();
                (n.to_string(), labels)
            }
            None => (series.to_string(), Vec::new()),
        };
        assert!(name.starts_with("orch_"), "{name}");
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{name}");
        out.push((name, labels, value));
    }
    out
}

#[test]
fn metrics_parse_and_equal_the_status_counts() {
    let p = Project::init_plain(None);
    for (t, pr) in [("a", "P0"), ("b", "P0"), ("c", "P1"), ("d", "P2")] {
        p.ok(&["add", t, "-p", pr]);
    }
    p.ok(&["cancel", "ORCH-004"]);
    p.ok(&["pick", "--owner", "w1"]);
    let s = Server::start(&p);
    assert_eq!(s.anonymous("GET", "/metrics", None).status, 401);
    let m = s.get("/metrics");
    assert_eq!(m.status, 200);
    assert!(m.header("content-type").unwrap().starts_with("application/openmetrics-text"));
    let samples = parse_metrics(&m.text);
    let status = p.json(&["status"]);
    for (priority, by_status) in status["by_priority"].as_object().unwrap() {
        for (st, n) in by_status.as_object().unwrap() {
            let sample = samples.iter().find(|(name, labels, _)| {
                name == "orch_tasks"
                    && labels.contains(&("priority".into(), priority.clone()))
                    && labels.contains(&("status".into(), st.clone()))
            });
            assert_eq!(sample.map(|s| s.2), Some(n.as_f64().unwrap()), "{priority} {st}");
        }
    }
    let total: f64 = samples.iter().filter(|s| s.0 == "orch_tasks").map(|s| s.2).sum();
    assert_eq!(total, status["total"].as_f64().unwrap());
    let one = |name: &str| samples.iter().find(|s| s.0 == name).map(|s| s.2);
    assert_eq!(one("orch_running_tasks"), Some(1.0));
    let kpi = p.json(&["kpi"]);
    assert_eq!(one("orch_runs_running"), kpi["running"].as_f64());
    assert_eq!(one("orch_alerts_firing"), Some(kpi["alerts"].as_array().unwrap().len() as f64));
}

#[test]
fn a_browser_signs_in_once_and_changes_need_the_csrf_token() {
    let p = Project::init(None);
    let s = Server::start(&p);
    let wrong = send(&s.base, "POST", "/session", &[], Some(r#"{"token": "guess-guess-guess"}"#));
    assert_eq!((wrong.status, wrong.code()), (401, "unauthorized".into()));
    let body = format!(r#"{{"code": "{}"}}"#, s.code);
    let signed = send(&s.base, "POST", "/session", &[], Some(&body));
    assert_eq!(signed.status, 200, "{}", signed.text);
    let again = send(&s.base, "POST", "/session", &[], Some(&body));
    assert_eq!(again.status, 401, "the code is for one sign-in");
    let cookie = signed.header("set-cookie").unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let session = cookie.split(';').next().unwrap().to_string();
    let csrf = signed.json()["csrf"].as_str().unwrap().to_string();
    let read = send(&s.base, "GET", "/api/v1/status", &[("cookie", &session)], None);
    assert_eq!(read.status, 200);
    assert_eq!(send(&s.base, "GET", "/session", &[("cookie", &session)], None).json()["csrf"], csrf.as_str());
    let add = r#"{"task": "from the page"}"#;
    let no_csrf = send(&s.base, "POST", "/api/v1/tasks", &[("cookie", &session)], Some(add));
    assert_eq!((no_csrf.status, no_csrf.code()), (403, "csrf".into()));
    let bad_csrf = send(&s.base, "POST", "/api/v1/tasks", &[("cookie", &session), ("x-csrf-token", "x")], Some(add));
    assert_eq!(bad_csrf.status, 403);
    let ok = send(&s.base, "POST", "/api/v1/tasks", &[("cookie", &session), ("x-csrf-token", &csrf)], Some(add));
    assert_eq!(ok.status, 201, "{}", ok.text);
    let token = format!(r#"{{"token": "{}"}}"#, s.token);
    assert_eq!(send(&s.base, "POST", "/session", &[], Some(&token)).status, 200);
    let out = send(&s.base, "DELETE", "/session", &[("cookie", &session), ("x-csrf-token", &csrf)], None);
    assert_eq!(out.status, 200);
    assert_eq!(send(&s.base, "GET", "/api/v1/status", &[("cookie", &session)], None).status, 401);
}

#[test]
fn an_address_beyond_loopback_needs_allow_remote_and_a_strong_token() {
    let p = Project::init(None);
    let (code, _, err) = p.run(&["serve", "--addr", "0.0.0.0:0"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a loopback address") && err.contains("--allow-remote"), "{err}");
    let weak = p
        .command(&["serve", "--addr", "0.0.0.0:0", "--allow-remote"])
        .env("ORCH_SERVE_TOKEN", "sixteen-chars-ok")
        .output()
        .unwrap();
    assert_eq!(weak.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&weak.stderr).contains("32 random bytes"));
    assert!(!p.file(".orch/serve.token").exists(), "a token from the environment writes no file");
    let (code, _, err) = p.run(&["serve", "--addr", "nowhere"]);
    assert_eq!(code, 2, "{err}");
    // The token file must be the owner's alone.
    let s = Server::start(&p);
    drop(s);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(p.file(".orch/serve.token")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn a_request_that_stalls_is_answered_408_and_the_event_stream_has_no_time_limit() {
    let p = Project::init(None);
    let s = Server::start_with(&p, &["--request-timeout", "1"]);
    let mut r = stream(&s, None);
    // A body that never comes: the server answers and closes instead of waiting.
    let answer = crate::serve_util::post_claiming(&s.base, "/api/v1/tasks", &s.token, 200);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":"request_timeout""#), "{answer}");
    let list: serde_json::Value = serde_json::from_str(&p.ok(&["list", "--json"])).unwrap();
    assert_eq!(list, serde_json::json!([]), "nothing was added");
    // The stream opened before the time limit passed still brings what comes next.
    p.ok(&["add", "after the limit"]);
    let next = messages(&mut r, 1);
    assert_eq!(next[0].1["task_id"], "ORCH-001");
    assert_eq!(s.post("/api/v1/tasks", r#"{"task": "quick"}"#).status, 201);
}

/// The value of the sample `name` whose labels include `with` (`None`: no such sample).
fn value(samples: &[Sample], name: &str, with: &[(&str, &str)]) -> Option<f64> {
    let has = |l: &Vec<(String, String)>| with.iter().all(|(k, v)| l.iter().any(|(a, b)| a == k && b == v));
    samples.iter().find(|(n, l, _)| n == name && has(l)).map(|s| s.2)
}

/// Each bucket, the sum and the count of a histogram family equal the KPI's.
fn same_histogram(samples: &[Sample], name: &str, kpi: &serde_json::Value) {
    let bucket = format!("{name}_bucket");
    let buckets = kpi["buckets"].as_array().unwrap();
    let les: Vec<f64> = samples
        .iter()
        .filter(|s| s.0 == bucket)
        .map(|s| s.1.iter().find(|(k, _)| k == "le").map(|(_, v)| v.clone()).unwrap())
        .map(|le| if le == "+Inf" { f64::INFINITY } else { le.parse().unwrap() })
        .collect();
    assert_eq!(les.len(), buckets.len() + 1, "{name}: every bound and +Inf");
    for b in buckets {
        let le = b["le_s"].as_f64().unwrap();
        let got = samples.iter().find(|s| {
            s.0 == bucket && s.1.iter().any(|(k, v)| k == "le" && v != "+Inf" && v.parse::<f64>().unwrap() == le)
        });
        assert_eq!(got.map(|s| s.2), b["count"].as_f64(), "{name} le={le}");
    }
    assert_eq!(value(samples, &bucket, &[("le", "+Inf")]), kpi["count"].as_f64(), "{name} +Inf");
    assert_eq!(value(samples, &format!("{name}_count"), &[]), kpi["count"].as_f64(), "{name} count");
    let sum = value(samples, &format!("{name}_sum"), &[]).unwrap();
    assert!((sum - kpi["sum_s"].as_f64().unwrap()).abs() < 1e-9, "{name} sum {sum} {}", kpi["sum_s"]);
}

#[test]
fn metrics_of_real_runs_and_dispatchers_equal_kpi_and_workers() {
    let p = Project::init(None);
    std::fs::create_dir(p.file("reports")).unwrap();
    let cmd = r#"["sh", "-c", "cat reports/$ORCH_TASK_ID.txt; exit $(cat reports/$ORCH_TASK_ID.exit 2>/dev/null || echo 0)"]"#;
    p.set_config("command", cmd);
    p.set_config("backoff", r#"["1h"]"#);
    let usage = "{\"orch\":{\"usage\":{\"input_tokens\":120,\"output_tokens\":30}}}\n";
    let big = format!("- {}\nRisks: none\n", "token ".repeat(5000));
    let reports = [
        (format!("- did it\nRisks: none\n{usage}"), 0), // PASS: done
        ("- did it too\nRisks: none\n".to_string(), 0), // PASS: done
        ("- no risk section\n".to_string(), 0),         // RETRY: failed
        (format!("- broke\n{usage}"), 1),               // the worker failed
        (big, 0),                                       // BLOCK: the hard budget
    ];
    for (i, (report, exit)) in reports.iter().enumerate() {
        let id = p.json(&["add", &format!("task {i}")])["id"].as_str().unwrap().to_string();
        p.write(&format!("reports/{id}.txt"), report);
        p.write(&format!("reports/{id}.exit"), &exit.to_string());
    }
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
    // A dispatcher that runs on (nothing is due: the retries wait an hour).
    let mut d = p.spawn("run", &["run"]);
    let alive = || p.json(&["workers"])["dispatchers"].as_array().unwrap().iter().any(|w| w["alive"] == true);
    assert!(crate::common::wait_until(std::time::Duration::from_secs(20), alive), "{}", d.stderr());
    let s = Server::start(&p);
    let before = p.json(&["workers"]);
    let samples = parse_metrics(&s.get("/metrics").text);
    let after = p.json(&["workers"]);
    let kpi = p.json(&["kpi"]);

    // The window's counts, label by label, every label there is.
    assert_eq!(value(&samples, "orch_runs_started_24h", &[]), kpi["runs_started"].as_f64());
    assert_eq!(kpi["runs_started"], 5);
    for (family, label, key) in [
        ("orch_runs_finished_24h", "outcome", "runs_finished"),
        ("orch_gate_verdicts_24h", "verdict", "verdicts"),
        ("orch_tokens_24h", "kind", "tokens"),
    ] {
        let want = kpi[key].as_object().unwrap();
        assert_eq!(samples.iter().filter(|s| s.0 == family).count(), want.len(), "{family}");
        for (k, n) in want {
            assert_eq!(value(&samples, family, &[(label, k)]), n.as_f64(), "{family} {k}");
        }
    }
    let finished = &kpi["runs_finished"];
    assert_eq!((&finished["done"], &finished["failed"], &finished["blocked"]), (&2.into(), &2.into(), &1.into()));
    let verdicts = &kpi["verdicts"];
    assert_eq!((&verdicts["PASS"], &verdicts["RETRY"], &verdicts["BLOCK"]), (&2.into(), &1.into(), &1.into()));
    assert_eq!((&kpi["tokens"]["input"], &kpi["tokens"]["output"]), (&240.into(), &60.into()));
    assert_eq!(value(&samples, "orch_lease_expiries_24h", &[]), kpi["lease_expiries"].as_f64());
    same_histogram(&samples, "orch_run_duration_seconds_24h", &kpi["run_duration"]);
    same_histogram(&samples, "orch_queue_wait_seconds_24h", &kpi["queue_wait"]);
    assert_eq!(kpi["run_duration"]["count"], 5);
    assert_eq!(kpi["queue_wait"]["count"], 5);

    // The dispatchers: the one that ended on its own, stopped; the one running, up.
    let ds = before["dispatchers"].as_array().unwrap();
    assert_eq!(ds.len(), 2, "{before}");
    assert_eq!(samples.iter().filter(|s| s.0 == "orch_dispatcher_up").count(), 2);
    for (i, w) in ds.iter().enumerate() {
        let (host, pid) = (w["host"].as_str().unwrap(), w["pid"].to_string());
        let labels = [("host", host), ("pid", pid.as_str())];
        let up = value(&samples, "orch_dispatcher_up", &labels).unwrap();
        let age = value(&samples, "orch_dispatcher_seen_age_seconds", &labels).unwrap();
        let stopped = w["stopped_at"].is_string();
        assert_eq!(up, if !stopped && age <= 15.0 { 1.0 } else { 0.0 }, "up: seen within 15 s, not stopped: {w}");
        if w["alive"] == after["dispatchers"][i]["alive"] {
            assert_eq!(Some(up), w["alive"].as_bool().map(|a| if a { 1.0 } else { 0.0 }), "as workers says: {w}");
        }
        if stopped {
            // Not seen since it stopped: its age grows from one read to the next.
            let from = w["seen_age_s"].as_f64().unwrap();
            let to = after["dispatchers"][i]["seen_age_s"].as_f64().unwrap();
            assert!(from <= age && age <= to, "{from} <= {age} <= {to}");
        } else {
            assert_eq!(w["pid"].as_i64(), Some(i64::from(d.pid())), "the one running: {w}");
        }
    }
    d.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(d.wait(std::time::Duration::from_secs(20)), Some(0));
}

/// A connection whose request head never ends is closed once the time limit passes
/// (before the client's own 30 s wait), and the server goes on answering others.
#[test]
fn a_request_head_that_never_ends_is_dropped() {
    use std::io::{Read, Write};
    let p = Project::init(None);
    let s = Server::start_with(&p, &["--request-timeout", "1"]);
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    conn.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nX-Slow: ").as_bytes()).unwrap();
    let mut answer = Vec::new();
    let read = conn.read_to_end(&mut answer);
    assert!(read.is_ok(), "the connection was still open after 30 s: {read:?}");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert_eq!(s.get("/healthz").status, 200);
}
