//! `orch serve` on a PostgreSQL queue: two servers on one database are one queue — a
//! task added through one is listed, streamed and changed through the other, one
//! idempotency key sent to both makes one task, and both report the same metrics.
//! Skipped like the rest of the PostgreSQL tests without `ORCH_TEST_PG`.

use crate::common::Project;
use crate::postgres::TestDb;
use crate::serve_util::Server;
use crate::serve_work::{messages, stream};

/// The `orch_tasks` lines of a server's `/metrics`.
fn task_counts(s: &Server) -> Vec<String> {
    let a = s.get("/metrics");
    assert_eq!(a.status, 200);
    let mut lines: Vec<String> = a.text.lines().filter(|l| l.starts_with("orch_tasks{")).map(str::to_string).collect();
    lines.sort();
    lines
}

#[test]
fn two_servers_on_one_postgresql_database_are_one_queue() {
    let Some(db) = TestDb::create("serve_pg") else { return };
    let p = Project::init(None);
    let a = Server::start_with(&p, &["--db", &db.url]);
    let b = Server::start_with(&p, &["--db", &db.url]);
    let mut events = stream(&b, None);

    let added = a.post("/api/v1/tasks", r#"{"task": "둘이 함께 보는 작업", "priority": "P0"}"#);
    assert_eq!(added.status, 201, "{}", added.text);
    let id = added.json()["id"].as_str().unwrap().to_string();
    let listed = b.get("/api/v1/tasks?status=PENDING").json();
    assert_eq!(listed[0]["id"], id.as_str(), "{listed}");
    assert_eq!(listed[0]["task"], "둘이 함께 보는 작업");
    let seen = messages(&mut events, 1);
    assert_eq!((seen[0].1["event"].as_str(), seen[0].1["task_id"].as_str()), (Some("task.added"), Some(id.as_str())));

    assert_eq!(b.post(&format!("/api/v1/tasks/{id}/cancel"), r#"{"reason": "from b"}"#).status, 200);
    assert_eq!(a.get(&format!("/api/v1/tasks/{id}")).json()["status"], "BLOCKED");
    let cli: serde_json::Value = serde_json::from_str(&p.ok(&["--db", &db.url, "show", &id, "--json"])).unwrap();
    assert_eq!(cli["status"], "BLOCKED");

    let answers: Vec<(u16, String)> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..8)
            .map(|i| {
                let s = if i % 2 == 0 { &a } else { &b };
                sc.spawn(move || {
                    let r = s.post("/api/v1/tasks", r#"{"task": "once", "idempotency_key": "both"}"#);
                    (r.status, r.json()["id"].as_str().unwrap_or_default().to_string())
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(answers.iter().filter(|(st, _)| *st == 201).count(), 1, "{answers:?}");
    assert!(answers.iter().all(|(st, i)| (*st == 201 || *st == 200) && *i == answers[0].1), "{answers:?}");

    let counts = task_counts(&a);
    assert!(counts.iter().any(|l| l.contains(r#"status="BLOCKED""#) && l.ends_with(" 1")), "{counts:?}");
    assert_eq!(counts, task_counts(&b), "both servers report the store's numbers");
}
