//! Claim throughput on PostgreSQL: threads of one process, each claiming a task and
//! completing it through the real operations (`Orch::claim` + `Orch::finish`, so with
//! the events mirror that follows every change), over a pool of that many connections.
//! The goal is at least 5,000 claims/s with 16 threads. Each sample drains a fresh batch
//! of tasks; the figure is criterion's throughput (tasks claimed and completed per
//! second). The queue has no QUEUE.md view (`queue.file = ""`): rewriting a Markdown
//! file after every change is a separate cost, measured by the `queue_md` bench.
//!
//! Needs a server: `ORCH_TEST_PG` (e.g. from `eval "$(.ci/postgres start)"`; start it
//! with `ORCH_TEST_PG_FSYNC=on` to measure durable commits). Quick by default (10
//! samples); `cargo bench -p orch-queue --bench pg_claims`. `ORCH_BENCH_THREADS=4,16`
//! chooses the thread counts. What the server itself can do for the same work, without
//! orch around it, is `benches/pg_ceiling.sh` (figures in docs/POSTGRES.md).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jiff::SignedDuration;
use orch::clock::SystemClock;
use orch::config::Config;
use orch::home::Home;
use orch::ops::{ClaimRequest, Finish, Options, Orch};
use orch_core::id::format_id;
use orch_core::state::Auth;
use orch_core::task::{Priority, Task};
use orch_store::Backend;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Tasks drained per sample.
const BATCH: usize = 2_000;

/// A new database on the server, dropped at the end.
struct Db {
    admin: String,
    name: String,
    url: String,
}

impl Db {
    fn create(base: &str) -> Db {
        let base = base.trim_end_matches('/');
        let admin = format!("{base}/postgres");
        let name = format!("orch_bench_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let mut c = postgres::Client::connect(&admin, postgres::NoTls).expect("connect to ORCH_TEST_PG");
        c.batch_execute(&format!("CREATE DATABASE {name}")).expect("create database");
        Db { url: format!("{base}/{name}"), admin, name }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

fn open(url: &str, dir: &std::path::Path) -> Orch {
    let home = Home { dir: dir.join(".orch") };
    home.create().expect("create .orch");
    let mut config = Config::default();
    config.queue.file = String::new();
    let db = orch_store::open(url).expect("open store");
    Orch::with_parts(home, config, db, &Options::default(), Arc::new(SystemClock))
}

/// Adds `n` tasks in one transaction (setup, not measured).
fn fill(db: &dyn Backend, n: usize) {
    let now = jiff::Timestamp::now();
    orch_store::write(db, |tx| {
        let first = tx.task_max_num("ORCH")? + 1;
        for i in 0..n as u64 {
            let mut t = Task::new(format_id("ORCH", first + i), format!("bench task {i}"), Priority::P1, 4, now);
            t.version = 1;
            tx.task_insert(&t)?;
        }
        Ok(())
    })
    .expect("fill");
}

/// `threads` workers claim and complete until nothing is left; the time it took.
fn drain(orch: &Orch, threads: usize) -> Duration {
    let start = Instant::now();
    std::thread::scope(|s| {
        for w in 0..threads {
            s.spawn(move || {
                let req = ClaimRequest::new(format!("w{w}"), SignedDuration::from_mins(15));
                while let Some(c) = orch.claim(&req).expect("claim").0 {
                    let auth = Auth::Token(c.run.lease_token);
                    orch.finish(&c.task.id, auth, Finish::Done { notes: None }, Some("- ok\nRisks: none"))
                        .expect("done");
                }
            });
        }
    });
    start.elapsed()
}

fn bench(c: &mut Criterion) {
    let Ok(base) = std::env::var("ORCH_TEST_PG") else {
        eprintln!("pg_claims: ORCH_TEST_PG is not set; start a server with `eval \"$(.ci/postgres start)\"`. Skipped.");
        return;
    };
    let threads: Vec<usize> = std::env::var("ORCH_BENCH_THREADS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![16]);
    let mut group = c.benchmark_group("pg_claims");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(BATCH as u64));
    for n in threads {
        let db = Db::create(&base);
        let dir = tempfile::tempdir().expect("temp dir");
        let orch = open(&db.url, dir.path());
        group.bench_function(format!("claim_complete/{n}_threads"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    fill(orch.db(), BATCH);
                    total += drain(&orch, n);
                }
                total
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
