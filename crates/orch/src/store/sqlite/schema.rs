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
];

/// The schema version this build writes.
pub const CURRENT: i64 = MIGRATIONS.len() as i64;

/// Brings the database up to [`CURRENT`] inside one immediate transaction, so two
/// processes opening a new database at once do not both migrate it.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<Result<(), String>> {
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
