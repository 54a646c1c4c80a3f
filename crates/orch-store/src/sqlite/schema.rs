//! The SQLite schema as numbered migrations, applied in order and tracked in
//! `PRAGMA user_version`. A migration never changes once released; a new one is added.

use rusqlite::Connection;

/// Each entry moves the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: tasks, dependencies, idempotency keys, runs, events, meta.
    r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE tasks (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        prefix TEXT NOT NULL,
        num INTEGER NOT NULL,
        status TEXT NOT NULL,
        priority INTEGER NOT NULL,
        task TEXT NOT NULL,
        success_criteria TEXT,
        owner TEXT,
        started_at INTEGER,
        due_at INTEGER,
        notes TEXT,
        extra TEXT,
        attempts INTEGER NOT NULL,
        max_attempts INTEGER NOT NULL,
        retry_at INTEGER,
        idempotency_key TEXT,
        resource TEXT,
        depends_on TEXT,
        lease_token TEXT,
        lease_expires_at INTEGER,
        run_id TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        version INTEGER NOT NULL,
        md_version INTEGER,
        md_line TEXT,
        md_eol TEXT
    );
    CREATE INDEX tasks_claim ON tasks(priority, due_at IS NULL, due_at, num, seq)
        WHERE status IN ('PENDING', 'FAILED');
    CREATE INDEX tasks_prefix_num ON tasks(prefix, num);
    CREATE INDEX tasks_lease ON tasks(lease_expires_at) WHERE status = 'IN_PROGRESS';
    CREATE INDEX tasks_resource ON tasks(resource, status) WHERE resource IS NOT NULL;
    CREATE INDEX tasks_status ON tasks(status);
    CREATE TABLE deps (
        task_id TEXT NOT NULL,
        depends_on TEXT NOT NULL,
        PRIMARY KEY (task_id, depends_on)
    ) WITHOUT ROWID;
    CREATE INDEX deps_on ON deps(depends_on);
    CREATE TABLE idempotency (key TEXT PRIMARY KEY, task_id TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        task_id TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        owner TEXT NOT NULL,
        trace_id TEXT NOT NULL,
        lease_token TEXT NOT NULL UNIQUE,
        host TEXT,
        pid INTEGER,
        pgid INTEGER,
        started_at INTEGER NOT NULL,
        ended_at INTEGER,
        outcome TEXT,
        class TEXT,
        reason TEXT,
        report TEXT,
        late_report TEXT
    );
    CREATE INDEX runs_task ON runs(task_id, started_at);
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        ts INTEGER NOT NULL,
        level TEXT NOT NULL,
        event TEXT NOT NULL,
        task_id TEXT,
        run_id TEXT,
        trace_id TEXT,
        owner TEXT,
        attempt INTEGER,
        from_status TEXT,
        to_status TEXT,
        msg TEXT
    );
    CREATE INDEX events_task ON events(task_id, seq);
    CREATE INDEX events_ts ON events(ts);
    "#,
    // 2: how a run's process is found again (host, pid, process group, start time, who
    // spawned it), the usage it reported and the gate's verdict.
    r#"
    ALTER TABLE runs ADD COLUMN proc_start INTEGER;
    ALTER TABLE runs ADD COLUMN spawned_by TEXT;
    ALTER TABLE runs ADD COLUMN input_tokens INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN output_tokens INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN cost_usd REAL NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN verdict TEXT;
    ALTER TABLE runs ADD COLUMN verdict_reason TEXT;
    CREATE INDEX runs_live ON runs(host) WHERE ended_at IS NULL;
    "#,
    // 3: time-window reads of runs (kpi, the daily budget, prune) without a table scan.
    r#"
    CREATE INDEX runs_started ON runs(started_at);
    CREATE INDEX runs_ended ON runs(ended_at);
    "#,
    // 4: the process that claimed a run to spawn its worker (HOST:PID:START), so
    // recovery leaves the runs of a live dispatcher alone.
    r#"
    ALTER TABLE runs ADD COLUMN dispatcher TEXT;
    "#,
    // 5: view marks, hashes and frames per view file (each host's QUEUE.md on a shared
    // database is its own view), moved out of `tasks` and `meta`; what the single view
    // had becomes the view '' until its file claims it. And the newest DONE tasks in
    // order, so the view reads its rows without the whole history.
    r#"
    CREATE TABLE views (view TEXT PRIMARY KEY, hash TEXT, frame TEXT) WITHOUT ROWID;
    CREATE TABLE view_rows (
        view TEXT NOT NULL,
        task_id TEXT NOT NULL,
        md_version INTEGER NOT NULL,
        md_line TEXT NOT NULL,
        md_eol TEXT NOT NULL,
        PRIMARY KEY (view, task_id)
    ) WITHOUT ROWID;
    INSERT INTO view_rows (view, task_id, md_version, md_line, md_eol)
        SELECT '', id, COALESCE(md_version, 0), md_line, COALESCE(md_eol, '') FROM tasks WHERE md_line IS NOT NULL;
    INSERT INTO views (view, hash, frame)
        SELECT '', (SELECT value FROM meta WHERE key = 'view.hash'), (SELECT value FROM meta WHERE key = 'view.frame')
        WHERE EXISTS (SELECT 1 FROM meta WHERE key IN ('view.hash', 'view.frame')) OR EXISTS (SELECT 1 FROM view_rows);
    DELETE FROM meta WHERE key = 'view.hash';
    ALTER TABLE tasks DROP COLUMN md_version;
    ALTER TABLE tasks DROP COLUMN md_line;
    ALTER TABLE tasks DROP COLUMN md_eol;
    CREATE INDEX tasks_done ON tasks(updated_at, seq) WHERE status = 'DONE';
    "#,
    // 6: nothing here. PostgreSQL's migration 6 replaced the functions that number and
    // read its event log; the numbers stay aligned with its migrations.
    "",
    // 7: the counts by status and priority (`status`, `workers`) read from the index
    // alone, not from every task; and one task per id number (`ORCH-7` is `ORCH-007`),
    // held by the database, so two hosts importing both at once cannot both succeed.
    r#"
    DROP INDEX tasks_status;
    CREATE INDEX tasks_status ON tasks(status, priority);
    DROP INDEX tasks_prefix_num;
    CREATE UNIQUE INDEX tasks_prefix_num ON tasks(prefix, num);
    "#,
    // 8: the lines a view showed of a task before its mark's (the last different ones,
    // at most `VIEW_HISTORY_KEPT`, by a hash of the line; `version` -1 says older ones
    // were dropped), so a file older than the view's last refresh is stale, never an edit.
    r#"
    CREATE TABLE view_history (
        view TEXT NOT NULL,
        task_id TEXT NOT NULL,
        line_key INTEGER NOT NULL,
        version INTEGER NOT NULL,
        line TEXT NOT NULL,
        PRIMARY KEY (view, task_id, line_key)
    ) WITHOUT ROWID;
    "#,
    // 9: the counts by status and priority kept as tasks change (`status` reads a few
    // rows, not the queue): triggers update them in the transaction of every insert,
    // update and delete of a task, so no writer can forget them; filled here from the
    // tasks there are. And the index `list` walks: each status's tasks in pick order.
    r#"
    CREATE TABLE task_counts (
        status TEXT NOT NULL,
        priority INTEGER NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (status, priority)
    ) WITHOUT ROWID;
    INSERT INTO task_counts (status, priority, n) SELECT status, priority, COUNT(*) FROM tasks GROUP BY status, priority;
    CREATE TRIGGER task_counts_insert AFTER INSERT ON tasks BEGIN
        INSERT INTO task_counts (status, priority, n) VALUES (NEW.status, NEW.priority, 1)
            ON CONFLICT (status, priority) DO UPDATE SET n = n + 1;
    END;
    CREATE TRIGGER task_counts_delete AFTER DELETE ON tasks BEGIN
        UPDATE task_counts SET n = n - 1 WHERE status = OLD.status AND priority = OLD.priority;
    END;
    CREATE TRIGGER task_counts_update AFTER UPDATE OF status, priority ON tasks
        WHEN OLD.status IS NOT NEW.status OR OLD.priority IS NOT NEW.priority BEGIN
        UPDATE task_counts SET n = n - 1 WHERE status = OLD.status AND priority = OLD.priority;
        INSERT INTO task_counts (status, priority, n) VALUES (NEW.status, NEW.priority, 1)
            ON CONFLICT (status, priority) DO UPDATE SET n = n + 1;
    END;
    CREATE INDEX tasks_pick ON tasks(status, priority, due_at IS NULL, due_at, num, seq);
    "#,
    // 10: FAILED tasks by retry time, so a claim reads the retries that are due and
    // never the ones that are not (a queue of a million waiting retries costs a claim
    // what an empty one does).
    r#"
    CREATE INDEX tasks_retry ON tasks(retry_at) WHERE status = 'FAILED';
    "#,
    // 11: the agent session id a run's worker reported, so a retry can resume it.
    r#"
    ALTER TABLE runs ADD COLUMN session TEXT;
    "#,
    // 12: a task's not-before time (`add --not-before`, a worker's deferral): a PENDING
    // task is not claimed before it; the waiting ones indexed by it, for `status`.
    r#"
    ALTER TABLE tasks ADD COLUMN not_before INTEGER;
    CREATE INDEX tasks_not_before ON tasks(not_before) WHERE status = 'PENDING' AND not_before IS NOT NULL;
    "#,
    // 13: schedules (recurring work): what each makes as JSON, whether it is paused,
    // how far it has been ticked and the last task it made.
    r#"
    CREATE TABLE schedules (
        name TEXT PRIMARY KEY,
        spec TEXT NOT NULL,
        paused INTEGER NOT NULL,
        last_tick INTEGER NOT NULL,
        last_task TEXT,
        version INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 14: dispatchers (`orch run`) and their liveness: each one's HOST:PID:START, when it
    // started, when it was last seen running and when it stopped.
    r#"
    CREATE TABLE dispatchers (
        id TEXT PRIMARY KEY,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        seen_at INTEGER NOT NULL,
        stopped_at INTEGER
    ) WITHOUT ROWID;
    "#,
];

/// The schema version this build writes.
pub const CURRENT: i64 = MIGRATIONS.len() as i64;

/// Brings the database up to [`CURRENT`] inside one immediate transaction, so two
/// processes opening a new database at once do not both migrate it. A database that is
/// current is only read: opening it takes no write lock and writes nothing.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<Result<(), String>> {
    if conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? == CURRENT {
        return Ok(Ok(()));
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > CURRENT {
        return Ok(Err(format!(
            "the database has schema version {version}, newer than this orch knows ({CURRENT}); upgrade orch"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(usize::try_from(version).unwrap_or(0)) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
    }
    tx.commit()?;
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    //! Migrations applied to a database made by an older orch keep what it held.

    use super::*;

    fn counts(conn: &Connection) -> Vec<(String, i64, i64)> {
        let sql = "SELECT status, priority, n FROM task_counts WHERE n <> 0 ORDER BY status, priority";
        let mut stmt = conn.prepare(sql).unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
    }

    #[test]
    fn the_counts_of_schema_9_start_from_the_tasks_there_are_and_follow_every_write() {
        let mut conn = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..8] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 8).unwrap();
        let insert = |conn: &Connection, num: i64, status: &str, prio: i64| {
            conn.execute(
                "INSERT INTO tasks (id, prefix, num, status, priority, task, attempts, max_attempts, created_at, \
                 updated_at, version) VALUES (?1, 'ORCH', ?2, ?3, ?4, 'x', 0, 4, 0, 0, 1)",
                rusqlite::params![format!("ORCH-{num:03}"), num, status, prio],
            )
            .unwrap();
        };
        insert(&conn, 1, "PENDING", 1);
        insert(&conn, 2, "PENDING", 1);
        insert(&conn, 3, "DONE", 0);
        migrate(&mut conn).unwrap().unwrap();
        assert_eq!(counts(&conn), [("DONE".into(), 0, 1), ("PENDING".into(), 1, 2)]);
        insert(&conn, 4, "PENDING", 2);
        conn.execute("UPDATE tasks SET status = 'IN_PROGRESS' WHERE num = 1", []).unwrap();
        conn.execute("UPDATE tasks SET priority = 0, task = 'y' WHERE num = 2", []).unwrap();
        conn.execute("UPDATE tasks SET task = 'z' WHERE num = 4", []).unwrap();
        conn.execute("DELETE FROM tasks WHERE num = 3", []).unwrap();
        let want = [("IN_PROGRESS".into(), 1, 1), ("PENDING".into(), 0, 1), ("PENDING".into(), 2, 1)];
        assert_eq!(counts(&conn), want);
    }

    #[test]
    fn list_walks_its_index_in_pick_order_without_sorting() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap().unwrap();
        use orch_core::task::{Priority, Status};
        let filters = [
            crate::ListFilter::default(),
            crate::ListFilter { statuses: vec![Status::Pending], priorities: vec![] },
            crate::ListFilter { statuses: vec![Status::Failed, Status::Done], priorities: vec![Priority::P1] },
        ];
        for f in &filters {
            let sql = crate::tasks_each_sql("id", f, crate::Dialect::Sqlite);
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let plan: Vec<String> =
                stmt.query_map([-1, 0], |r| r.get::<_, String>(3)).unwrap().map(Result::unwrap).collect();
            let plan = plan.join("\n");
            assert!(plan.contains("USING INDEX tasks_pick"), "{plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        }
    }

    #[test]
    fn the_single_view_of_schema_3_becomes_the_view_named_empty() {
        let mut conn = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..3] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 3).unwrap();
        conn.execute_batch(
            "INSERT INTO tasks (id, prefix, num, status, priority, task, attempts, max_attempts, created_at, \
             updated_at, version, md_version, md_line, md_eol) VALUES \
             ('ORCH-001', 'ORCH', 1, 'DONE', 1, 'a', 0, 4, 0, 0, 3, 2, '| ORCH-001 | DONE |', '\r\n'), \
             ('ORCH-002', 'ORCH', 2, 'PENDING', 1, 'b', 0, 4, 0, 0, 1, NULL, NULL, NULL); \
             INSERT INTO meta (key, value) VALUES ('view.hash', 'h1'), ('view.frame', '{}'), ('other', 'x');",
        )
        .unwrap();
        migrate(&mut conn).unwrap().unwrap();
        let marks: Vec<(String, String, i64, String, String)> = conn
            .prepare("SELECT view, task_id, md_version, md_line, md_eol FROM view_rows")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mark = (String::new(), "ORCH-001".into(), 2, "| ORCH-001 | DONE |".into(), "\r\n".into());
        assert_eq!(marks, [mark]);
        let view: (String, String, String) = conn
            .query_row("SELECT view, hash, frame FROM views", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap();
        assert_eq!(view, (String::new(), "h1".into(), "{}".into()));
        let meta: Vec<String> = conn
            .prepare("SELECT key FROM meta ORDER BY key")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(meta, ["other", "view.frame"], "the hash moved; the frame stays the queue's default");
        let cols: i64 = conn
            .query_row("SELECT count(*) FROM pragma_table_info('tasks') WHERE name LIKE 'md_%'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(cols, 0);
    }
}
