//! Speed of claiming in-process: `Orch::claim` + `Orch::finish` (one claim transaction,
//! one done transaction, each followed by the events.jsonl mirror) against plain
//! rusqlite running the same transactions on an identical database (goal: at least half
//! its rate); what share of orch's time the events mirror takes; and the latency of one
//! claim with 1,000 and with 1,000,000 tasks in the queue (goal: flat, through the
//! index `tasks_pick`). No QUEUE.md view (`queue.file = ""`): rendering the view
//! is `queue_md`'s bench. Quick by default (10 samples); `cargo bench -p orch-queue --bench
//! claim`. `CLAIM_BENCH_BIG=N` changes the large queue's size; `CLAIM_BENCH_DIR=/dev/shm`
//! puts the databases on a RAM disk, where a commit's fsync is free and what is left is
//! the CPU's share (on a disk the fsyncs of `synchronous=FULL` dominate every figure).

use criterion::Criterion;
use jiff::{SignedDuration, Timestamp};
use orch::clock::SystemClock;
use orch::config::Config;
use orch::home::Home;
use orch::ops::{ClaimRequest, Claimed, Finish, Options, Orch};
use orch_core::state::{Auth, Command};
use orch_store::sqlite::Sqlite;
use rusqlite::{Connection, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Tasks in the throughput queues: more than a run of the bench consumes.
const THROUGHPUT_TASKS: usize = 100_000;

/// A queue in a temporary folder: `.orch/` with `queue.file = ""` and `n` PENDING tasks.
struct Queue {
    dir: tempfile::TempDir,
    orch: Orch,
}

impl Queue {
    fn new(n: usize) -> Queue {
        let dir = tempdir();
        let orch = open(dir.path(), &dir.path().join(".orch/orch.db"));
        fill(&orch.home().db_path(), n);
        Queue { dir, orch }
    }

    fn db_path(&self) -> PathBuf {
        self.orch.home().db_path()
    }
}

/// A temporary folder, under `CLAIM_BENCH_DIR` when set.
fn tempdir() -> tempfile::TempDir {
    match std::env::var_os("CLAIM_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d),
        None => tempfile::tempdir(),
    }
    .expect("temp dir")
}

/// An `Orch` whose home is `root/.orch` over the database at `db`.
fn open(root: &Path, db: &Path) -> Orch {
    let home = Home { dir: root.join(".orch") };
    home.create().expect("create .orch");
    let mut config = Config::default();
    config.queue.file = String::new();
    let store = Sqlite::create(db).expect("open db");
    Orch::with_parts(home, config, Box::new(store), &Options::default(), Arc::new(SystemClock))
}

/// Adds `n` PENDING tasks with one INSERT … SELECT (priorities mixed, a third with due
/// times), the way `benches/pick_done.sh` does.
fn fill(db: &Path, n: usize) {
    let conn = Connection::open(db).expect("open db");
    let now = Timestamp::now().as_millisecond();
    conn.execute_batch(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) \
         INSERT INTO tasks (id, prefix, num, status, priority, task, success_criteria, due_at, attempts, \
                            max_attempts, created_at, updated_at, version) \
         SELECT printf('ORCH-%07d', i), 'ORCH', i, 'PENDING', i % 3, 'generated task number ' || i, \
                '1) it is done', CASE WHEN i % 3 = 0 THEN {now} + i * 1000 END, 0, 4, {now}, {now}, 1 FROM n; \
         PRAGMA wal_checkpoint(TRUNCATE);"
    ))
    .expect("fill");
}

fn request() -> ClaimRequest {
    ClaimRequest::new("bench", SignedDuration::from_mins(15))
}

fn claim(orch: &Orch) -> Claimed {
    orch.claim(&request()).expect("claim").0.expect("the queue ran dry: raise THROUGHPUT_TASKS")
}

fn finish(orch: &Orch, c: &Claimed) {
    let auth = Auth::Token(c.run.lease_token.clone());
    orch.finish(&c.task.id, auth, Finish::Done { notes: None }, Some("- ok\nRisks: none")).expect("done");
}

/// The same two transactions as orch, in plain rusqlite with the store's settings.
struct Raw {
    conn: Connection,
    n: u64,
}

/// The store's own claim query, run here through plain rusqlite.
static RAW_CLAIM: std::sync::LazyLock<String> = std::sync::LazyLock::new(orch_store::sqlite::claim_query);

const RAW_GET: &str = "SELECT id, status, priority, task, success_criteria, owner, started_at, due_at, notes, \
     extra, attempts, max_attempts, retry_at, idempotency_key, resource, depends_on, lease_token, \
     lease_expires_at, run_id, created_at, updated_at, version FROM tasks WHERE id = ?1";

const EVENT: &str = "INSERT INTO events (ts, level, event, task_id, run_id, trace_id, owner, attempt, from_status, \
     to_status, msg) VALUES (?1, 'info', ?2, ?3, ?4, ?5, 'bench', ?6, ?7, ?8, NULL)";

/// Reads every column, as orch decodes a whole task.
fn row_values(r: &rusqlite::Row<'_>) -> rusqlite::Result<Vec<rusqlite::types::Value>> {
    (0..22).map(|i| r.get(i)).collect()
}

impl Raw {
    fn open(db: &Path) -> Raw {
        let conn = Connection::open(db).expect("open db");
        conn.busy_timeout(Duration::from_secs(30)).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;").unwrap();
        Raw { conn, n: 0 }
    }

    /// Claims the first eligible task; returns its id, run id and token.
    fn claim(&mut self) -> (String, String, String) {
        use rusqlite::types::Value;
        self.n += 1;
        let (run, token, trace) =
            (format!("run-{:028}", self.n), format!("{:032x}", self.n), format!("{:032x}", !self.n));
        let now = Timestamp::now().as_millisecond();
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).unwrap();
        let row = tx.prepare_cached(&RAW_CLAIM).unwrap().query_row(params![now], row_values).unwrap();
        let (Value::Text(id), Value::Integer(attempts), Value::Integer(version)) = (&row[0], &row[10], &row[21]) else {
            panic!("bad row")
        };
        let n = tx
            .prepare_cached(
                "UPDATE tasks SET status = 'IN_PROGRESS', priority = ?2, task = ?3, success_criteria = ?4, \
                 owner = 'bench', started_at = ?5, due_at = ?6, notes = ?7, extra = ?8, attempts = ?9, \
                 max_attempts = ?10, retry_at = NULL, lease_token = ?11, lease_expires_at = ?12, run_id = ?13, \
                 updated_at = ?5, version = version + 1 WHERE id = ?1 AND version = ?14",
            )
            .unwrap()
            .execute(params![
                id,
                row[2],
                row[3],
                row[4],
                now,
                row[7],
                row[8],
                row[9],
                attempts + 1,
                row[11],
                token,
                now + 900_000,
                run,
                version
            ])
            .unwrap();
        assert_eq!(n, 1);
        tx.prepare_cached(
            "INSERT INTO runs (id, task_id, attempt, owner, trace_id, lease_token, host, pid, pgid, started_at) \
             VALUES (?1, ?2, ?3, 'bench', ?4, ?5, NULL, NULL, NULL, ?6)",
        )
        .unwrap()
        .execute(params![run, id, attempts + 1, trace, token, now])
        .unwrap();
        tx.prepare_cached(EVENT)
            .unwrap()
            .execute(params![now, "task.claimed", id, run, trace, attempts + 1, "PENDING", "IN_PROGRESS"])
            .unwrap();
        tx.commit().unwrap();
        (id.clone(), run, token)
    }

    fn done(&mut self, id: &str, run: &str, token: &str) {
        let now = Timestamp::now().as_millisecond();
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).unwrap();
        let row = tx.prepare_cached(RAW_GET).unwrap().query_row([id], row_values).unwrap();
        let version = match row[21] {
            rusqlite::types::Value::Integer(v) => v,
            _ => panic!("bad row"),
        };
        let n = tx
            .prepare_cached(
                "UPDATE tasks SET status = 'DONE', lease_token = NULL, lease_expires_at = NULL, updated_at = ?2, \
                 version = version + 1 WHERE id = ?1 AND version = ?3 AND lease_token = ?4",
            )
            .unwrap()
            .execute(params![id, now, version, token])
            .unwrap();
        assert_eq!(n, 1);
        let trace: String = tx
            .prepare_cached("SELECT trace_id FROM runs WHERE id = ?1")
            .unwrap()
            .query_row([run], |r| r.get(0))
            .unwrap();
        tx.prepare_cached(
            "UPDATE runs SET ended_at = ?2, outcome = 'done', class = NULL, reason = NULL WHERE id = ?1 \
             AND ended_at IS NULL",
        )
        .unwrap()
        .execute(params![run, now])
        .unwrap();
        tx.prepare_cached(EVENT)
            .unwrap()
            .execute(params![now, "task.done", id, run, trace, 1, "IN_PROGRESS", "DONE"])
            .unwrap();
        tx.commit().unwrap();
    }
}

/// Per-iteration times of each measurement, for the summary printed at the end.
static SAMPLES: Mutex<Vec<(&'static str, Duration)>> = Mutex::new(Vec::new());

fn record(name: &'static str, total: Duration, iters: u64) -> Duration {
    SAMPLES.lock().unwrap().push((name, total / u32::try_from(iters.max(1)).unwrap_or(u32::MAX)));
    total
}

fn median(name: &str) -> Option<Duration> {
    let mut v: Vec<Duration> = SAMPLES.lock().unwrap().iter().filter(|(n, _)| *n == name).map(|(_, d)| *d).collect();
    v.sort();
    v.get(v.len() / 2).copied()
}

fn claim_finish(c: &mut Criterion) {
    let q = Queue::new(THROUGHPUT_TASKS);
    let raw_dir = tempdir();
    let raw_db = raw_dir.path().join("raw.db");
    std::fs::copy(q.db_path(), &raw_db).expect("copy db");
    let mut raw = Raw::open(&raw_db);
    // A second handle with its own home over the same database: its flush appends the
    // events orch just wrote to its own events.jsonl, which is exactly the mirror's work.
    let mirror = open(&q.dir.path().join("mirror"), &q.db_path());
    mirror.flush_events().expect("first flush");

    let mut g = c.benchmark_group("claim_finish");
    g.bench_function("orch", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let cl = claim(&q.orch);
                finish(&q.orch, &cl);
            }
            record("orch", start.elapsed(), iters)
        })
    });
    g.bench_function("raw_rusqlite", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let (id, run, token) = raw.claim();
                raw.done(&id, &run, &token);
            }
            record("raw", start.elapsed(), iters)
        })
    });
    g.bench_function("events_mirror", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let cl = claim(&q.orch);
                let start = Instant::now();
                mirror.flush_events().expect("flush");
                spent += start.elapsed();
                finish(&q.orch, &cl);
                let start = Instant::now();
                mirror.flush_events().expect("flush");
                spent += start.elapsed();
            }
            record("mirror", spent, iters)
        })
    });
    g.finish();
}

/// Latency of one claim with `n` tasks waiting. Each claimed task is handed back
/// (untimed `Interrupt`: PENDING again, the attempt not counted), so the queue keeps
/// its size however many iterations run.
fn pick_latency_at(c: &mut Criterion, n: usize, name: &'static str) {
    let q = Queue::new(n);
    c.benchmark_group("pick_latency").bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let cl = claim(&q.orch);
                spent += start.elapsed();
                let back = Command::Interrupt { auth: Auth::Token(cl.run.lease_token), reason: "bench".into() };
                q.orch.apply(&cl.task.id, &back).expect("interrupt");
            }
            record(name, spent, iters)
        })
    });
}

fn pick_latency(c: &mut Criterion) {
    let big = std::env::var("CLAIM_BENCH_BIG").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    pick_latency_at(c, 1_000, "1k");
    let started = Instant::now();
    pick_latency_at(c, big, "big");
    eprintln!("(the large queue held {big} tasks; building it and measuring took {:.1?})", started.elapsed());
}

fn summary() {
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let dir = std::env::var("CLAIM_BENCH_DIR").unwrap_or_else(|_| std::env::temp_dir().display().to_string());
    println!("\nsummary (medians of per-iteration sample means; databases under {dir})");
    if let (Some(o), Some(r)) = (median("orch"), median("raw")) {
        println!(
            "claim+finish  orch {:8.1} us/pair ({:6.0}/s)   raw rusqlite {:8.1} us/pair ({:6.0}/s)   orch at {:.0}% of raw's rate",
            us(o),
            1.0 / o.as_secs_f64(),
            us(r),
            1.0 / r.as_secs_f64(),
            100.0 * r.as_secs_f64() / o.as_secs_f64()
        );
        if let Some(m) = median("mirror") {
            println!("events mirror {:8.1} us/pair = {:.0}% of orch's claim+finish", us(m), 100.0 * us(m) / us(o));
        }
    }
    if let (Some(small), Some(big)) = (median("1k"), median("big")) {
        println!(
            "pick latency  1k tasks {:8.1} us   large queue {:8.1} us   ratio {:.2}",
            us(small),
            us(big),
            big.as_secs_f64() / small.as_secs_f64()
        );
    }
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    claim_finish(&mut c);
    pick_latency(&mut c);
    c.final_summary();
    summary();
}
