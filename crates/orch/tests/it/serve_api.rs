//! `orch serve`, the operator's JSON API over a real socket: the token on every route
//! but `/healthz`, each route's answer (the command's `--json`) and its errors (400,
//! 404, 409, 413), idempotent adds, and the routes of docs/openapi.json all served.

use crate::common::Project;
use crate::serve_util::{Server, post_claiming, send};

fn openapi() -> serde_json::Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every documented (method, path, open), with `{id}` as ORCH-001.
fn documented() -> Vec<(String, String, bool)> {
    let doc = openapi();
    let mut out = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let open = op["security"].as_array().is_some_and(|a| a.is_empty());
            out.push((method.to_uppercase(), path.replace("{id}", "ORCH-001"), open));
        }
    }
    out
}

#[test]
fn healthz_is_open_and_every_other_route_needs_the_right_token() {
    let p = Project::init(None);
    let s = Server::start(&p);
    let h = s.anonymous("GET", "/healthz", None);
    assert_eq!((h.status, h.text.as_str()), (200, "ok\n"));
    let wrong = "Bearer 0000000000000000000000000000000000000000000000000000000000000000";
    for (method, path, open) in documented() {
        if open {
            continue;
        }
        let body = (method != "GET").then_some("{}");
        let none = s.anonymous(&method, &path, body);
        assert_eq!((none.status, none.code()), (401, "unauthorized".into()), "{method} {path}");
        assert_eq!(none.header("www-authenticate"), Some("Bearer"));
        let bad = send(&s.base, &method, &path, &[("authorization", wrong)], body);
        assert_eq!((bad.status, bad.code()), (401, "unauthorized".into()), "{method} {path}");
        let basic = send(&s.base, &method, &path, &[("authorization", "Basic b3JjaDpvcmNo")], body);
        assert_eq!(basic.status, 401, "{method} {path}");
    }
    assert!(!s.bg.stdout().contains(&s.token) && !s.bg.stderr().contains(&s.token), "the token is never printed");
}

/// Every route docs/openapi.json names is served (no `no_route`, no 405), and a path
/// it does not name is a JSON 404.
#[test]
fn every_documented_route_is_served() {
    let p = Project::init_plain(None);
    p.ok(&["add", "one"]);
    let s = Server::start(&p);
    for (method, path, _) in documented() {
        if path == "/api/v1/events" {
            continue; // a stream: serve_events.rs reads it
        }
        let a = s.call(&method, &path, (method != "GET").then_some("{}"));
        assert_ne!(a.status, 405, "{method} {path}: {}", a.text);
        if a.status == 404 {
            assert_ne!(a.code(), "no_route", "{method} {path}");
        }
    }
    let a = s.get("/api/v1/nothing");
    assert_eq!((a.status, a.code()), (404, "no_route".into()));
    assert!(a.header("content-security-policy").is_some_and(|c| c.contains("default-src 'none'")));
}

#[test]
fn tasks_are_added_listed_shown_and_changed_as_the_command_line_does() {
    let p = Project::init(None);
    let s = Server::start(&p);
    let a = s.post("/api/v1/tasks", r#"{"task": "Ship it", "priority": "P0", "criteria": "tests pass"}"#);
    assert_eq!(a.status, 201, "{}", a.text);
    let added = a.json();
    assert_eq!((added["id"].as_str(), added["created"].as_bool()), (Some("ORCH-001"), Some(true)));
    assert_eq!(added["status"], "PENDING");
    s.post("/api/v1/tasks", r#"{"task": "Later", "priority": "P2"}"#);
    // The same shapes as the command line's --json.
    let shown = s.get("/api/v1/tasks/1");
    assert_eq!(shown.status, 200);
    assert_eq!(shown.json(), p.json(&["show", "ORCH-001"]));
    let list = s.get("/api/v1/tasks?status=PENDING&priority=P2");
    assert_eq!(list.json(), p.json(&["list", "--status", "PENDING", "-p", "P2"]));
    assert_eq!(s.get("/api/v1/tasks?limit=1&offset=1").json()[0]["id"], "ORCH-002");
    assert_eq!(s.get("/api/v1/status").json(), p.json(&["status"]));
    assert_eq!(s.get("/api/v1/workers").json()["queue"], p.json(&["workers"])["queue"]);
    let kpi = s.get("/api/v1/kpi?since=1h").json();
    assert_eq!(kpi["runs"], 0);
    assert_eq!(s.get("/api/v1/kpi?since=soon").code(), "bad_usage");

    let note = s.post("/api/v1/tasks/ORCH-001/note", r#"{"text": "waiting for the key"}"#);
    assert_eq!(note.json()["notes"], "waiting for the key");
    let cancel = s.post("/api/v1/tasks/1/cancel", r#"{"reason": "scope"}"#);
    assert_eq!((cancel.status, cancel.json()["status"].as_str()), (200, Some("BLOCKED")));
    let again = s.post("/api/v1/tasks/1/cancel", "{}");
    assert_eq!((again.status, again.code()), (409, "already_stopped".into()), "{}", again.text);
    assert_eq!(again.json()["error"]["exit"], 5);
    let retry = s.post("/api/v1/tasks/1/retry", "");
    assert_eq!(retry.json()["status"], "PENDING");
    assert_eq!(s.post("/api/v1/tasks/1/retry", "").status, 409);
    let replan = s.post("/api/v1/tasks/1/replan", r#"{"reason": "scope", "priority": "P1", "task": "Ship it now"}"#);
    assert_eq!((replan.json()["priority"].as_str(), replan.json()["task"].as_str()), (Some("P1"), Some("Ship it now")));
    assert_eq!(s.post("/api/v1/tasks/1/replan", r#"{"reason": " "}"#).code(), "bad_usage");
    let review = s.post("/api/v1/tasks/1/review", "{}");
    assert!(review.status == 404 || review.status == 409, "{}", review.text);
    let quick = s.post("/api/v1/quick", r#"{"text": "p0 Write the notes #docs"}"#);
    assert_eq!(quick.status, 200, "{}", quick.text);
    assert_eq!(quick.json()["added"]["priority"], "P0");
    assert!(p.ok(&["list"]).contains("Write the notes"));
    assert!(p.queue_md().contains("Ship it now"), "QUEUE.md follows changes made over HTTP");
}

#[test]
fn bad_requests_are_refused_with_json_errors() {
    let p = Project::init(None);
    let s = Server::start(&p);
    let missing = s.get("/api/v1/tasks/ORCH-042");
    assert_eq!((missing.status, missing.code()), (404, "not_found".into()), "{}", missing.text);
    assert_eq!(s.post("/api/v1/tasks/42/cancel", "{}").status, 404);
    for (body, what) in [
        ("not json", "not JSON"),
        ("[1]", "JSON object"),
        (r#"{"task": "x", "colour": "red"}"#, "unknown field"),
        (r#"{"task": "x", "priority": "P9"}"#, "P9"),
        (r#"{"task": ""}"#, ""),
    ] {
        let a = s.post("/api/v1/tasks", body);
        assert_eq!((a.status, a.code()), (400, "bad_usage".into()), "{body}: {}", a.text);
        assert!(a.json()["error"]["message"].as_str().unwrap().contains(what), "{body}: {}", a.text);
    }
    let other = s.post("/api/v1/tasks/ORCH-001/note", r#"{"id": "ORCH-002", "text": "x"}"#);
    assert_eq!(other.status, 400);
    assert_eq!(s.get("/api/v1/tasks?status=WAITING").code(), "bad_usage");
    assert_eq!(s.get("/api/v1/tasks?limit=100000").code(), "bad_usage");
    assert_eq!(s.get("/api/v1/tasks?colour=red").code(), "bad_usage");
    let answer = post_claiming(&s.base, "/api/v1/tasks", &s.token, 2 * 1024 * 1024);
    assert!(answer.starts_with("HTTP/1.1 413 Payload Too Large"), "{answer}");
    assert!(answer.contains(r#"{"error":{"code":"body_too_large","#), "{answer}");
    assert_eq!(p.json(&["list"]), serde_json::json!([]), "nothing was added");
}

#[test]
fn concurrent_adds_with_one_idempotency_key_make_one_task() {
    let p = Project::init(None);
    let s = Server::start(&p);
    let answers: Vec<(u16, String)> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..8)
            .map(|_| {
                sc.spawn(|| {
                    let a = s.post("/api/v1/tasks", r#"{"task": "once", "idempotency_key": "k-1"}"#);
                    (a.status, a.json()["id"].as_str().unwrap_or_default().to_string())
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(answers.iter().filter(|(st, _)| *st == 201).count(), 1, "{answers:?}");
    assert!(answers.iter().all(|(st, id)| (*st == 201 || *st == 200) && id == "ORCH-001"), "{answers:?}");
    assert_eq!(p.json(&["list"]).as_array().unwrap().len(), 1);
}

/// Adds that arrive together are written together, yet each is answered as it would be
/// alone: a refused one gets its error, one naming a missing dependency its 404, the
/// others their tasks; one idempotency key makes one task; QUEUE.md shows them all.
#[test]
fn adds_arriving_together_are_each_answered_as_alone() {
    let p = Project::init(None);
    let s = Server::start(&p);
    let bodies: Vec<String> = (0..40)
        .map(|i| match i % 5 {
            0 => r#"{"task": "   "}"#.to_string(),
            1 => r#"{"task": "waits", "depends_on": ["ORCH-999"]}"#.to_string(),
            2 => r#"{"task": "shared", "idempotency_key": "one"}"#.to_string(),
            _ => format!(r#"{{"task": "작업 {i}", "priority": "P0"}}"#),
        })
        .collect();
    let answers: Vec<(usize, u16, serde_json::Value)> = std::thread::scope(|sc| {
        let hs: Vec<_> = bodies
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let s = &s;
                sc.spawn(move || {
                    let a = s.post("/api/v1/tasks", b);
                    (i, a.status, a.json())
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut made = std::collections::BTreeSet::new();
    let mut shared = std::collections::BTreeSet::new();
    for (i, status, body) in &answers {
        match i % 5 {
            0 => assert_eq!((*status, body["error"]["code"].as_str()), (400, Some("bad_usage")), "{i}: {body}"),
            1 => assert_eq!(*status, 404, "{i}: {body}"),
            2 => {
                assert!(*status == 201 || *status == 200, "{i}: {status} {body}");
                shared.insert(body["id"].as_str().unwrap().to_string());
            }
            _ => {
                assert_eq!(*status, 201, "{i}: {body}");
                assert_eq!(body["task"], format!("작업 {i}"));
                assert!(made.insert(body["id"].as_str().unwrap().to_string()), "{i}: an id given twice");
            }
        }
    }
    assert_eq!(answers.iter().filter(|(i, st, _)| i % 5 == 2 && *st == 201).count(), 1, "{answers:?}");
    assert_eq!(shared.len(), 1, "one key, one task: {shared:?}");
    let listed = p.json(&["list"]);
    assert_eq!(listed.as_array().unwrap().len(), made.len() + 1, "{listed}");
    let queue = p.queue_md();
    for i in (0..40).filter(|i| i % 5 >= 3) {
        assert!(queue.contains(&format!("작업 {i}")), "{i} missing from QUEUE.md:\n{queue}");
    }
}

/// A page of tasks asked for again is the same page until something is committed, and
/// every commit shows at once, whoever made it: another process, the server itself.
#[test]
fn a_page_asked_again_shows_every_commit_at_once() {
    let p = Project::init(None);
    let s = Server::start(&p);
    let page = "/api/v1/tasks?status=PENDING&limit=100";
    let ids = |a: &crate::serve_util::Answer| -> Vec<String> {
        a.json().as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()).collect()
    };
    assert!(ids(&s.get(page)).is_empty());
    for i in 1..=5 {
        p.ok(&["add", &format!("from the command line {i}")]);
        let listed = ids(&s.get(page));
        assert_eq!(listed.len(), 2 * i - 1, "after the command line's add {i}: {listed:?}");
        let again = s.get(page);
        assert_eq!(ids(&again).len(), 2 * i - 1);
        assert_eq!(s.post("/api/v1/tasks", &format!(r#"{{"task": "through the server {i}"}}"#)).status, 201);
        assert_eq!(ids(&s.get(page)).len(), 2 * i, "after the server's add {i}");
    }
    // A change that keeps the count: the page still shows it.
    let first = ids(&s.get(page))[0].clone();
    p.ok(&["note", &first, "바뀐 메모"]);
    let shown = s.get(page).json();
    assert_eq!(shown[0]["notes"], "바뀐 메모", "{shown}");
    assert_eq!(s.post(&format!("/api/v1/tasks/{first}/cancel"), "{}").status, 200);
    assert!(!ids(&s.get(page)).contains(&first), "the cancelled task left the PENDING page");
    // Another query is another page.
    assert_eq!(ids(&s.get("/api/v1/tasks?status=BLOCKED")), [first]);
}
