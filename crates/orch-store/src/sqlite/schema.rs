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
