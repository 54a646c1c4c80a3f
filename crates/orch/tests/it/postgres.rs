//! PostgreSQL: the real binary against a shared server (racing `pick` processes, two
//! homes draining one queue, `migrate`, clear errors for a bad URL or password), a
//! server restart under a running claimer, and the schema kept in step with SQLite's.
//! Also the helpers the conformance suite uses to get a fresh database per test.
//!
//! The server comes from `ORCH_TEST_PG` (a base URL, e.g.
//! `postgres://postgres:PW@127.0.0.1:PORT`; `.ci/postgres start` prints one). Without
//! it these tests skip with a loud message, or fail when `CI=true`.

use crate::common::{Project, SEED};
use orch::home::Home;
use orch::ops::{ClaimRequest, Finish, NewTask, Options, Orch};
use orch_core::state::Auth;
use orch_core::task::Status;
use orch_store::ListFilter;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The server's base URL, or `None` (after saying so loudly) when there is none here.
pub fn base_url(test: &str) -> Option<String> {
    if let Ok(v) = std::env::var("ORCH_TEST_PG")
        && !v.trim().is_empty()
    {
        return Some(v.trim().trim_end_matches('/').to_string());
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(!ci, "CI=true but ORCH_TEST_PG is not set: PostgreSQL tests must run in CI (.ci/run starts a server)");
    // Straight to the process's stderr, once: libtest captures `eprintln!` of a test that
    // passes, and a skip nobody sees is not a loud one.
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| {
        use std::io::Write;
        let notice = format!(
            "\n!!! SKIPPED {test} and every other PostgreSQL test: ORCH_TEST_PG is not set, so they did NOT run.\n\
             !!! Start a server with `eval \"$(.ci/postgres start)\"` (see docs/POSTGRES.md).\n\n"
        );
        let _ = std::io::stderr().lock().write_all(notice.as_bytes());
    });
    None
}

/// `base` naming database `db` instead (keeping any `?parameters`).
pub fn with_db(base: &str, db: &str) -> String {
    let (main, query) = match base.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (base, None),
    };
    let scheme_end = main.find("://").map_or(0, |i| i + 3);
    let host_end = main[scheme_end..].find('/').map_or(main.len(), |i| scheme_end + i);
    let mut url = format!("{}/{db}", &main[..host_end]);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}

/// The password in a URL's user part, if any.
fn password_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let userinfo = rest.split_once('@')?.0;
    userinfo.split_once(':').map(|(_, pw)| pw)
}

/// A new, empty database on the test server, dropped when this goes away.
pub struct TestDb {
    pub url: String,
    admin: String,
    name: String,
}

impl TestDb {
    pub fn create(test: &str) -> Option<TestDb> {
        let base = base_url(test)?;
        let admin = with_db(&base, "postgres");
        let label: String = test.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(30).collect();
        let name =
            format!("orch_test_{}_{}", label.to_ascii_lowercase(), &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let mut c = postgres::Client::connect(&admin, postgres::NoTls).expect("connect to ORCH_TEST_PG");
        c.batch_execute(&format!("CREATE DATABASE {name}")).expect("create test database");
        Some(TestDb { url: with_db(&base, &name), admin, name })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

/// An in-process queue on `url` with the system clock, its home in `root`.
pub fn open_orch(root: &Path, url: &str) -> Orch {
    let home = Home { dir: root.join(".orch") };
    std::fs::create_dir_all(&home.dir).unwrap();
    let opts = Options { db: Some(url.to_string()), ..Options::default() };
    std::fs::write(home.config_path(), orch::config::DEFAULT_TOML).unwrap();
    Orch::open(home, &opts).expect("open queue")
}

pub fn add_tasks(url: &str, n: usize) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let orch = open_orch(dir.path(), url);
    (0..n).map(|i| orch.add(&NewTask { task: format!("task {i}"), ..NewTask::default() }).unwrap().0.id).collect()
}

/// `orch pick` until it says there is nothing left; the ids and lease tokens it got.
fn pick_all(p: &Project, url: &str, owner: &str, finish: bool) -> Vec<String> {
    let mut got = Vec::new();
    for _ in 0..500 {
        let (code, out, err) = p.run(&["--db", url, "pick", "--owner", owner, "--json"]);
        match code {
            0 => {}
            4 => break,
            _ => panic!("pick exited {code}: {err}"),
        }
        let v: serde_json::Value = serde_json::from_str(&out).expect("pick --json");
        let id = v["id"].as_str().unwrap().to_string();
        if finish {
            let token = v["lease"]["token"].as_str().expect("lease token");
            p.ok(&["--db", url, "done", &id, "--lease", token]);
        }
        got.push(id);
    }
    got
}

#[test]
fn six_racing_pick_processes_claim_each_task_once() {
    let Some(db) = TestDb::create("six_racing_pick") else { return };
    let p = Project::init(None);
    let ids = add_tasks(&db.url, 30);
    let (p, url) = (&p, db.url.as_str());
    let got: Vec<Vec<String>> = std::thread::scope(|s| {
        let joins: Vec<_> = (0..6).map(|i| s.spawn(move || pick_all(p, url, &format!("p{i}"), false))).collect();
        joins.into_iter().map(|j| j.join().unwrap()).collect()
    });
    let all: Vec<&String> = got.iter().flatten().collect();
    let unique: HashSet<&String> = all.iter().copied().collect();
    assert_eq!(all.len(), ids.len(), "every task claimed once: {got:?}");
    assert_eq!(unique.len(), ids.len());
    assert!(got.iter().filter(|g| !g.is_empty()).count() > 1, "the claimers really raced: {got:?}");
}

#[test]
fn two_homes_drain_one_queue_and_every_task_runs_once() {
    let Some(db) = TestDb::create("two_homes") else { return };
    let hosts = [Project::init_plain(None), Project::init_plain(None)];
    let ids = add_tasks(&db.url, 24);
    let url = db.url.as_str();
    let got: Vec<Vec<String>> = std::thread::scope(|s| {
        let joins: Vec<_> = hosts
            .iter()
            .enumerate()
            .map(|(i, p)| s.spawn(move || pick_all(p, url, &format!("host{i}"), true)))
            .collect();
        joins.into_iter().map(|j| j.join().unwrap()).collect()
    });
    let mut all: Vec<&String> = got.iter().flatten().collect();
    all.sort();
    let mut want: Vec<&String> = ids.iter().collect();
    want.sort();
    assert_eq!(all, want, "each task ran on exactly one host");
    let backend = orch_store::open(&db.url).unwrap();
    let (tasks, runs) = orch_store::read(backend.as_ref(), |tx| {
        let tasks = tx.task_list(&ListFilter::default())?;
        let mut runs = HashMap::new();
        for t in &tasks {
            runs.insert(t.id.clone(), tx.runs_of(&t.id)?.len());
        }
        Ok((tasks, runs))
    })
    .unwrap();
    assert!(tasks.iter().all(|t| t.status == Status::Done));
    assert!(runs.values().all(|n| *n == 1), "{runs:?}");
    // Both homes mirror the shared event log in full once each has written after the
    // other's last change (a home catches up its mirror whenever it writes).
    for p in &hosts {
        p.ok(&["--db", url, "watchdog"]);
        let lines = p.read(".orch/events.jsonl").lines().count();
        assert!(lines >= ids.len() * 3, "{lines} events mirrored");
    }
}

/// A private server (`.ci/postgres start`), stopped when dropped; for tests that
/// restart it.
pub struct PrivateServer {
    env: Vec<(String, String)>,
}

impl PrivateServer {
    fn script() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/postgres")
    }

    pub fn start(test: &str) -> Option<PrivateServer> {
        Self::start_with(test, &[])
    }

    /// The same with options to `.ci/postgres start` (e.g. `--tls DIR`).
    pub fn start_with(test: &str, options: &[&str]) -> Option<PrivateServer> {
        base_url(test)?;
        let out = std::process::Command::new("bash")
            .arg(Self::script())
            .arg("start")
            .args(options)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run .ci/postgres");
        assert!(out.status.success(), ".ci/postgres start failed: {}", String::from_utf8_lossy(&out.stderr));
        let env = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
            .collect();
        Some(PrivateServer { env })
    }

    pub fn var(&self, k: &str) -> &str {
        &self.env.iter().find(|(n, _)| n == k).expect("exported").1
    }

    pub fn ctl(&self, what: &str) {
        self.ctl_with(&[what]);
    }

    /// `.ci/postgres ARGS…` for this server (e.g. `restart --tls DIR`).
    pub fn ctl_with(&self, args: &[&str]) {
        let what = args.join(" ");
        let out = std::process::Command::new("bash")
            .arg(Self::script())
            .args(args)
            .env("ORCH_TEST_PG_DIR", self.var("ORCH_TEST_PG_DIR"))
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run .ci/postgres");
        assert!(out.status.success(), ".ci/postgres {what} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        self.ctl("stop");
    }
}

#[test]
fn a_server_restart_under_a_claimer_loop_loses_no_task() {
    let Some(server) = PrivateServer::start("a_server_restart") else { return };
    let url = with_db(server.var("ORCH_TEST_PG"), "postgres");
    let ids = add_tasks(&url, 40);
    let dir = tempfile::tempdir().unwrap();
    let orch = open_orch(dir.path(), &url);
    let restarted = AtomicBool::new(false);
    let done = AtomicUsize::new(0);
    let (after_restart, errors) = std::thread::scope(|s| {
        let worker = s.spawn(|| {
            let (mut after, mut errors) = (0, Vec::new());
            let req = ClaimRequest::new("loop", jiff::SignedDuration::from_secs(3));
            let deadline = Instant::now() + Duration::from_secs(120);
            while Instant::now() < deadline {
                let step = orch.claim(&req).and_then(|(c, _)| match c {
                    Some(c) => {
                        let auth = Auth::Token(c.run.lease_token.clone());
                        orch.finish(&c.task.id, auth, Finish::Done { notes: None }, Some("- ok\nRisks: none"))?;
                        Ok(true)
                    }
                    None => Ok(false),
                });
                match step {
                    Ok(true) => {
                        done.fetch_add(1, Ordering::SeqCst);
                        after += usize::from(restarted.load(Ordering::SeqCst));
                    }
                    // Nothing eligible: finished, or a claim whose COMMIT was cut off
                    // waits for its lease to expire (the next claim sweeps it).
                    Ok(false) => {
                        let left =
                            orch.list(&ListFilter::default()).map(|ts| ts.iter().any(|t| t.status != Status::Done));
                        if let Ok(false) = left {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(200));
                    }
                    Err(e) => {
                        errors.push(e.to_string());
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            (after, errors)
        });
        while done.load(Ordering::SeqCst) < 5 {
            std::thread::sleep(Duration::from_millis(10));
        }
        server.ctl("restart");
        restarted.store(true, Ordering::SeqCst);
        worker.join().unwrap()
    });
    let tasks = orch.list(&ListFilter::default()).unwrap();
    assert_eq!(tasks.len(), ids.len());
    let not_done: Vec<_> = tasks.iter().filter(|t| t.status != Status::Done).map(|t| &t.id).collect();
    assert!(not_done.is_empty(), "lost: {not_done:?} (errors: {errors:?})");
    assert!(after_restart > 0, "the loop went on after the restart (errors: {errors:?})");
    eprintln!("restart test: {} errors seen and survived: {errors:?}", errors.len());
}

#[test]
fn a_wrong_password_or_address_exits_2_with_one_line() {
    let Some(base) = base_url("a_wrong_password") else { return };
    let p = Project::init(None);
    let check = |url: &str, want: &str| {
        let (code, out, err) = p.run(&["--db", url, "list"]);
        assert_eq!(code, 2, "{err}");
        assert!(out.is_empty());
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(err.contains(want), "{err}");
        assert!(!err.contains("secret-pw") && !err.contains("panicked"), "{err}");
    };
    check("postgres://orch:secret-pw@127.0.0.1:1/x", "cannot connect");
    check("postgres://orch:secret-pw@127.0.0.1:notaport/x", "not a valid PostgreSQL URL");
    // The right server, the wrong password (when the server asks for one).
    let wrong = match base.split_once("://").and_then(|(s, rest)| rest.split_once('@').map(|(u, h)| (s, u, h))) {
        Some((scheme, user, host)) => {
            format!("{scheme}://{}:secret-pw@{host}/postgres", user.split(':').next().unwrap())
        }
        None => return,
    };
    let (code, _, _) = p.run(&["--db", &wrong, "list"]);
    if code == 0 {
        eprintln!("the test server trusts every password; wrong-password check skipped");
        return;
    }
    check(&wrong, "password authentication failed");
}

#[test]
fn migrate_moves_a_sqlite_queue_to_postgres() {
    let Some(db) = TestDb::create("migrate_cli") else { return };
    let p = Project::init_plain(Some(SEED));
    p.ok(&["add", "one more", "--idempotency-key", "k1"]);
    let picked = p.json(&["pick", "--owner", "w"]);
    let id = picked["id"].as_str().unwrap();
    p.ok(&["done", id, "--lease", picked["lease"]["token"].as_str().unwrap()]);
    p.ok(&["note", "ORCH-003", "before the move"]);
    let out = p.json(&["migrate", "--to", &db.url]);
    assert_eq!(out["tasks"], 27);
    if let Some(pw) = password_of(&db.url) {
        assert!(!out["to"].as_str().unwrap().contains(pw), "the password is not shown");
    }
    let list = |extra: &[&str]| {
        let mut a = extra.to_vec();
        a.push("list");
        p.json(&a)
    };
    assert_eq!(list(&["--db", &db.url]), list(&[]));
    p.ok(&["export", "--all", "A.md"]);
    p.ok(&["--db", &db.url, "export", "--all", "B.md"]);
    assert_eq!(p.read("A.md"), p.read("B.md"));
    assert_eq!(p.json(&["log", id]), p.json(&["--db", &db.url, "log", id]));
    // The key came along: adding it again on PostgreSQL adds nothing.
    let again = p.json(&["--db", &db.url, "add", "one more", "--idempotency-key", "k1"]);
    assert_eq!(again["id"], "ORCH-027");
    // Into a database that is not empty: refused, exit 5.
    let (code, _, err) = p.run(&["migrate", "--to", &db.url]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("not empty"), "{err}");
}

/// Two homes on one PostgreSQL database, each with its own QUEUE.md: each file is its
/// own view (its marks and hash are kept under its host and path), so a change made in
/// one home never makes the other's file look hand-edited, an import in one never makes
/// the other drift, and both are clean under `check`.
#[test]
fn two_homes_keep_their_own_queue_md_views() {
    let Some(db) = TestDb::create("two_views") else { return };
    let url = db.url.as_str();
    let (a, b) = (Project::empty(), Project::empty());
    let quiet = |p: &Project, args: &[&str]| {
        let mut all = vec!["--db", url];
        all.extend_from_slice(args);
        let (code, out, err) = p.run(&all);
        assert_eq!((code, err.as_str()), (0, ""), "{args:?}");
        out
    };
    quiet(&a, &["init"]);
    quiet(&b, &["init"]);
    quiet(&a, &["add", "from A"]);
    quiet(&b, &["add", "from B", "--priority", "P0"]);
    quiet(&a, &["add", "again A"]);
    // Each file was written by its own home; B's is one change behind until B refreshes.
    assert!(a.queue_md().contains("| ORCH-003 | PENDING | P1 | again A |"));
    assert!(b.queue_md().contains("| ORCH-002 | PENDING | P0 | from B |"));
    let (code, _, _) = b.run(&["--db", url, "check"]);
    assert_eq!(code, 3, "B's file lacks ORCH-003 until B's next command");
    quiet(&b, &["export"]);
    for p in [&a, &b] {
        quiet(p, &["check"]);
    }
    // An import in B (of a hand edit there) leaves A clean; A's next refresh shows it.
    let text = b.queue_md();
    b.write("QUEUE.md", &text.replacen("| from B |", "| from B, reworded |", 1));
    let out: serde_json::Value = serde_json::from_str(&quiet(&b, &["import", "--json"])).unwrap();
    assert_eq!(out["edited"], serde_json::json!(["ORCH-002"]));
    quiet(&b, &["check"]);
    let (code, _, err) = a.run(&["--db", url, "check"]);
    assert_eq!(code, 3, "A is behind B's edit, not broken: {err}");
    let drift: Vec<&str> = err.lines().filter(|l| l.contains("QUEUE.md:")).collect();
    assert!(drift.len() == 1 && drift[0].contains("ORCH-002 stale"), "the line A showed last: {err}");
    quiet(&a, &["export"]);
    assert!(a.queue_md().contains("| from B, reworded |"));
    for p in [&a, &b] {
        quiet(p, &["check"]);
    }
}

#[test]
fn the_schema_matches_sqlites_column_for_column() {
    // PostgreSQL's own columns: `runs.n`, and `task_counts.slot` (the counts are spread
    // over slots so concurrent writers do not queue on one row).
    let Some(db) = TestDb::create("schema_match") else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orch.db");
    drop(orch_store::create(path.to_str().unwrap()).unwrap());
    drop(orch_store::open(&db.url).unwrap());
    let lite = rusqlite::Connection::open(&path).unwrap();
    let mut stmt = lite
        .prepare(
            "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' ORDER BY m.name, p.name",
        )
        .unwrap();
    let sqlite: Vec<(String, String)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
    let mut c = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    let pg: Vec<(String, String)> = c
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name <> 'orch_schema' \
               AND NOT (table_name = 'runs' AND column_name = 'n') \
               AND NOT (table_name = 'task_counts' AND column_name = 'slot') ORDER BY 1, 2",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(pg, sqlite, "a migration was added to one store and not the other");
}

#[test]
fn without_a_server_the_skip_is_printed_where_it_is_seen_and_fails_under_ci() {
    // This test binary itself, running one PostgreSQL test with no server named: libtest
    // captures what a passing test prints with `eprintln!`, so the notice must bypass it.
    let run = |ci: Option<&str>| {
        let mut c = std::process::Command::new(std::env::current_exe().unwrap());
        c.args(["--exact", "postgres::a_wrong_password_or_address_exits_2_with_one_line"])
            .env_remove("ORCH_TEST_PG")
            .env_remove("CI")
            .env("RUST_BACKTRACE", "0");
        if let Some(v) = ci {
            c.env("CI", v);
        }
        c.output().expect("run the test binary")
    };
    let local = run(None);
    let err = String::from_utf8_lossy(&local.stderr);
    assert!(local.status.success(), "{err}");
    assert!(err.contains("!!! SKIPPED") && err.contains("ORCH_TEST_PG is not set"), "not shown: {err}");
    assert_eq!(err.matches("!!! SKIPPED").count(), 1, "once: {err}");
    let ci = run(Some("true"));
    assert!(!ci.status.success(), "CI=true without a server must fail");
}

#[test]
fn two_dispatchers_on_one_database_leave_each_others_runs_alone() {
    use crate::common::{alive, wait_until};
    let Some(db) = TestDb::create("two_dispatchers") else { return };
    // Two homes on one machine stand for two hosts; each runs its own dispatcher.
    let homes = [Project::init(None), Project::init(None)];
    for p in &homes {
        p.set_config("command", r#"["sh", "-c", "echo $$ >> pids; exec sleep 60"]"#);
    }
    add_tasks(&db.url, 2);
    let url = db.url.as_str();
    let pids = |p: &Project| -> Vec<i32> { p.lines("pids").iter().filter_map(|l| l.parse().ok()).collect() };
    let mut first = homes[0].spawn("run", &["--db", url, "run", "--workers", "1"]);
    assert!(wait_until(Duration::from_secs(20), || pids(&homes[0]).len() == 1), "{}", first.stderr());
    // The second starts while the first one's worker runs on this same host: it must
    // not take that run for one a dead dispatcher left.
    let mut second = homes[1].spawn("run", &["--db", url, "run", "--workers", "1"]);
    assert!(wait_until(Duration::from_secs(20), || pids(&homes[1]).len() == 1), "{}", second.stderr());
    assert!(alive(pids(&homes[0])[0]), "the second dispatcher stopped the first one's worker");
    let backend = orch_store::open(url).unwrap();
    let running = orch_store::read(backend.as_ref(), |tx| tx.task_list(&ListFilter::default())).unwrap();
    assert!(running.iter().all(|t| t.status == Status::InProgress), "{running:?}");
    assert!(!second.stdout().contains("put back"), "{}", second.stdout());
    for d in [&mut first, &mut second] {
        d.signal(nix::sys::signal::Signal::SIGTERM);
        assert_eq!(d.wait(Duration::from_secs(30)), Some(0), "{}", d.stderr());
    }
}
