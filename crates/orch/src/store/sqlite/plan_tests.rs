//! The claim and sweep queries must use their partial indexes (no full sort), or pick
//! latency grows with the queue.

use rusqlite::Connection;

fn plan(conn: &Connection, sql: &str, params: &[i64]) -> String {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let rows = stmt.query_map(rusqlite::params_from_iter(params), |r| r.get::<_, String>(3)).unwrap();
    rows.map(Result::unwrap).collect::<Vec<_>>().join("\n")
}

#[test]
fn claim_and_sweep_walk_their_partial_indexes_without_sorting() {
    let mut conn = Connection::open_in_memory().unwrap();
    super::super::schema::migrate(&mut conn).unwrap().unwrap();
    let p = plan(&conn, &super::claim_sql(1), &[0]);
    assert!(p.contains("USING INDEX tasks_claim"), "{p}");
    assert!(!p.contains("TEMP B-TREE"), "{p}");
    let p = plan(&conn, &super::expired_sql(), &[0]);
    assert!(p.contains("USING INDEX tasks_lease"), "{p}");
    assert!(!p.contains("TEMP B-TREE"), "{p}");
}

#[test]
fn claim_and_sweep_statements_are_compiled_once_not_per_use() {
    let mut conn = Connection::open_in_memory().unwrap();
    super::super::schema::migrate(&mut conn).unwrap().unwrap();
    conn.execute_batch(
        "INSERT INTO tasks (id, prefix, num, status, priority, task, attempts, max_attempts, created_at, \
         updated_at, version) VALUES ('ORCH-001', 'ORCH', 1, 'PENDING', 1, 'x', 0, 4, 0, 0, 1)",
    )
    .unwrap();
    for now in 0..5i64 {
        for sql in [super::claim_sql(1), super::expired_sql()] {
            let mut stmt = conn.prepare_cached(&sql).unwrap();
            let _ = stmt.query_map([now], |_| Ok(())).unwrap().count();
        }
    }
    for sql in [super::claim_sql(1), super::expired_sql()] {
        let stmt = conn.prepare_cached(&sql).unwrap();
        assert_eq!(stmt.get_status(rusqlite::StatementStatus::RePrepare), 0, "{sql}");
    }
}
