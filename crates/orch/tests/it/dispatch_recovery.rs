//! Crashes and recovery through the real binary: dispatchers killed with SIGKILL over and
//! over while workers are killed at random (nothing lost, the database intact), and
//! while fast workers make every turn settle and claim several tasks at once, the next
//! dispatcher recovering what a killed one left (all orphans stopped at once, even a
//! worker whose process group was never recorded), and one dispatcher per database.

use crate::common::{Project, alive, queue_of, wait_until};
use crate::dispatch::{REPORT, pids, task, worker};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A small random number generator (xorshift), seeded from the clock; the seed is
/// printed so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
        eprintln!("chaos seed {seed}");
        Rng(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

fn db(p: &Project) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(p.file(".orch/orch.db")).unwrap();
    c.busy_timeout(secs(30)).unwrap();
    c
}

/// The runs open in the database: after a dispatcher is killed, those it left (its
/// launcher and its loop were threads of it: nobody else ends them).
fn open_runs(p: &Project) -> BTreeSet<String> {
    db(p)
        .prepare("SELECT id FROM runs WHERE ended_at IS NULL")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Every run a killed dispatcher left open was ended after it: by the next dispatcher's
/// recovery (`dispatcher_lost`) or, when its lease ran out first, by a sweep
/// (`lease_expired`); and recovery ended no run but those. What was left depends on when
/// the kills fell, so it is checked run by run, never counted.
fn assert_left_runs_were_recovered(p: &Project, left: &BTreeSet<String>) {
    let c = db(p);
    for id in left {
        let (ended, reason): (bool, Option<String>) = c
            .query_row("SELECT ended_at IS NOT NULL, reason FROM runs WHERE id = ?1", [id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert!(ended, "run {id}, left by a killed dispatcher, never ended");
        assert!(matches!(reason.as_deref(), Some("dispatcher_lost" | "lease_expired")), "run {id}: {reason:?}");
    }
    let lost: BTreeSet<String> = c
        .prepare("SELECT id FROM runs WHERE reason = 'dispatcher_lost'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let stray: Vec<&String> = lost.difference(left).collect();
    assert!(stray.is_empty(), "runs ended as dispatcher_lost that no killed dispatcher left: {stray:?}");
}

#[test]
fn chaos_dispatchers_killed_with_sigkill_and_workers_killed_at_random_lose_nothing() {
    const TASKS: usize = 120;
    let p = Project::init(None);
    p.set_config("file", "\"\"");
    p.set_config("lease", "\"5s\"");
    p.set_config("grace", "\"200ms\"");
    // Every worker kill costs an attempt: give each task plenty, retried at once.
    p.set_config("backoff", &serde_json::to_string(&vec!["0s"; 15]).unwrap());
    worker(&p, &("echo \"$ORCH_TASK_ID\" >> ran.log\nsleep 0.1\n".to_string() + REPORT), &[]);
    p.write("tasks.md", &queue_of(TASKS));
    p.ok(&["import", "tasks.md"]);
    let mut rng = Rng::new();
    let mut worker_kills = 0;
    let mut left = BTreeSet::new();
    for round in 0..10 {
        let before = p.lines("ran.log").len();
        let mut d = p.spawn(&format!("run{round}"), &["run", "--workers", "4", "--quiet"]);
        let want = before + 5 + rng.below(15) as usize;
        wait_until(secs(10), || p.lines("ran.log").len() >= want || p.lines("ran.log").len() >= TASKS);
        // Kill a worker or two at random (their groups, as a crash would).
        let live: Vec<i64> = db(&p)
            .prepare("SELECT pgid FROM runs WHERE ended_at IS NULL AND pgid IS NOT NULL")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for _ in 0..=rng.below(2) {
            if let Some(&pgid) = live.get(rng.below(live.len() as u64 + 1) as usize) {
                worker_kills += usize::from(killpg(Pid::from_raw(pgid as i32), Signal::SIGKILL).is_ok());
            }
        }
        // Chaos, not a wait for a condition: the dispatcher dies at a random moment.
        std::thread::sleep(Duration::from_millis(rng.below(300)));
        d.signal(Signal::SIGKILL);
        assert_eq!(d.wait(secs(10)), None, "killed by SIGKILL");
        left.extend(open_runs(&p));
    }
    let began = Instant::now();
    let out = p.ok(&["run", "--until-idle", "--max-wait", "0s", "--workers", "4"]);
    eprintln!("chaos: {worker_kills} workers killed; final run took {:?}", began.elapsed());
    let tasks = p.json(&["list"]);
    let tasks = tasks.as_array().unwrap();
    assert_eq!(tasks.len(), TASKS);
    let not_done: Vec<&str> =
        tasks.iter().filter(|t| t["status"] != "DONE").map(|t| t["id"].as_str().unwrap()).collect();
    assert!(not_done.is_empty(), "not DONE: {not_done:?}\n{out}");
    let ran: BTreeSet<String> = p.lines("ran.log").into_iter().collect();
    let never: Vec<&str> = tasks.iter().map(|t| t["id"].as_str().unwrap()).filter(|id| !ran.contains(*id)).collect();
    assert!(never.is_empty(), "never ran: {never:?}");
    let c = db(&p);
    let check: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    let open: i64 = c.query_row("SELECT count(*) FROM runs WHERE ended_at IS NULL", [], |r| r.get(0)).unwrap();
    assert_eq!(open, 0, "every run ended");
    eprintln!("chaos: {} runs left by killed dispatchers", left.len());
    assert_left_runs_were_recovered(&p, &left);
}

#[test]
fn chaos_eight_fast_workers_whose_turns_settle_and_claim_together_lose_nothing() {
    const PLAIN: usize = 240;
    const DEPENDENT: usize = 60;
    let p = Project::init(None);
    p.set_config("file", "\"\"");
    // `hard_cap` is a key of [team] too: only the dispatcher's is raised.
    let toml = p.read(".orch/orch.toml").replacen("hard_cap = 5\n", "hard_cap = 8\n", 1);
    p.write(".orch/orch.toml", &toml);
    p.set_config("lease", "\"5s\"");
    p.set_config("grace", "\"200ms\"");
    p.set_config("backoff", &serde_json::to_string(&vec!["0s"; 15]).unwrap());
    // Workers that end within milliseconds: exits arrive together, so one turn settles
    // several runs and claims for several slots (and a dependent right after the task
    // it waits for, in the same transaction).
    worker(&p, &("echo \"$ORCH_TASK_ID\" >> ran.log\nsleep 0.02\n".to_string() + REPORT), &[]);
    p.write("tasks.md", &queue_of(PLAIN));
    p.ok(&["import", "tasks.md"]);
    for i in 1..=DEPENDENT {
        p.ok(&["add", &format!("after {i}"), "--depends-on", &format!("ORCH-{:03}", i * 4)]);
    }
    let all = PLAIN + DEPENDENT;
    let mut rng = Rng::new();
    let mut left = BTreeSet::new();
    for round in 0..12 {
        let mut d = p.spawn(&format!("run{round}"), &["run", "--workers", "8", "--quiet"]);
        // Chaos: the dispatcher dies at a random moment of its turns.
        std::thread::sleep(Duration::from_millis(20 + rng.below(150)));
        d.signal(Signal::SIGKILL);
        assert_eq!(d.wait(secs(10)), None, "killed by SIGKILL");
        left.extend(open_runs(&p));
    }
    let out = p.ok(&["run", "--until-idle", "--max-wait", "0s", "--workers", "8"]);
    let tasks = p.json(&["list"]);
    let tasks = tasks.as_array().unwrap();
    assert_eq!(tasks.len(), all);
    let not_done: Vec<&str> =
        tasks.iter().filter(|t| t["status"] != "DONE").map(|t| t["id"].as_str().unwrap()).collect();
    assert!(not_done.is_empty(), "not DONE: {not_done:?}\n{out}");
    let ran: BTreeSet<String> = p.lines("ran.log").into_iter().collect();
    assert_eq!(ran.len(), all, "every task ran");
    let c = db(&p);
    let check: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    let count = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM runs WHERE ended_at IS NULL"), 0, "every run ended");
    // Every result was kept: each task has exactly one run that finished it, with its report.
    assert_eq!(count("SELECT count(*) FROM runs WHERE outcome = 'done'"), all as i64);
    assert_eq!(
        count(
            "SELECT count(*) FROM runs WHERE outcome = 'done' AND report = '- did it' || char(10) || 'Risks: none' || char(10)"
        ),
        all as i64
    );
    // No dependent started before the task it waits for was done.
    let early = count(
        "SELECT count(*) FROM deps d JOIN runs r ON r.task_id = d.task_id \
         WHERE r.started_at < (SELECT min(x.ended_at) FROM runs x WHERE x.task_id = d.depends_on AND x.outcome = 'done')",
    );
    assert_eq!(early, 0, "a dependent started early");
    eprintln!("chaos: {} runs left by killed dispatchers", left.len());
    assert_left_runs_were_recovered(&p, &left);
}

#[test]
fn a_second_dispatcher_on_the_same_database_is_refused_from_any_home() {
    let a = Project::init(None);
    worker(&a, "echo $$ >> pids\nexec sleep 60\n", &[]);
    a.ok(&["add", "long"]);
    let mut d = a.spawn("run", &["run"]);
    assert!(wait_until(secs(20), || pids(&a).len() == 1), "started: {}", d.stderr());
    let db = a.file(".orch/orch.db").display().to_string();
    let b = Project::init(None);
    for (p, args) in [
        (&b, vec!["--db", db.as_str(), "run", "--until-idle", "--max-wait", "0s"]),
        (&a, vec!["run", "--until-idle", "--max-wait", "0s"]),
    ] {
        let (code, _, err) = p.run(&args);
        assert_eq!(code, 5, "{err}");
        assert!(err.contains("a dispatcher is running on the database") && err.contains(&format!("pid {}", d.pid())));
    }
    let held = pids(&a)[0];
    assert!(alive(held), "the refused dispatchers touched nothing");
    assert_eq!(task(&a, "ORCH-001")["status"], "IN_PROGRESS");
    d.signal(Signal::SIGTERM);
    assert_eq!(d.wait(secs(20)), Some(0));
}

/// A dispatcher killed while it starts a worker leaves its lock, for a moment, to the
/// forked child that has not reached its exec yet (the descriptor closes there). The next
/// dispatcher waits for that rather than refuse: here the lock names a process that is
/// gone and another holder lets go of it a little later.
#[test]
fn a_lock_left_by_a_dead_dispatcher_to_a_child_is_waited_for() {
    use std::io::Write;
    let p = Project::init(None);
    p.ok(&["add", "one"]);
    worker(&p, &format!("true\n{REPORT}"), &[]);
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    gone.wait().unwrap();
    let path = p.file(".orch/orch.db.dispatcher.lock");
    let mut held = std::fs::OpenOptions::new().create(true).truncate(true).write(true).open(&path).unwrap();
    held.lock().unwrap();
    writeln!(held, "pid {} on host since then", gone.id()).unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        drop(held);
    });
    let (code, _, err) = p.run(&["run", "--until-idle", "--max-wait", "0s"]);
    release.join().unwrap();
    assert_eq!(code, 0, "{err}");
    assert_eq!(task(&p, "ORCH-001")["status"], "DONE");
}

#[test]
fn the_next_dispatcher_stops_every_orphan_at_once_and_puts_the_tasks_back() {
    let p = Project::init(None);
    // Workers that outlive SIGTERM (they note it in `terms`): each must wait out the
    // grace period, and only SIGKILL ends them. Their output goes nowhere: the pipes to
    // the killed dispatcher's log threads have no reader, and the shell's note that its
    // `sleep` was terminated would end it by SIGPIPE.
    let stubborn = "exec >/dev/null 2>&1\ntrap 'echo $$ >> terms' TERM\necho $$ >> pids\nwhile :; do sleep 1; done\n";
    worker(&p, stubborn, &[]);
    p.set_config("grace", "\"2s\"");
    for t in ["a", "b", "c"] {
        p.ok(&["add", t]);
    }
    let mut d = p.spawn("run", &["run", "--workers", "3"]);
    assert!(wait_until(secs(20), || pids(&p).len() == 3), "started: {}", d.stderr());
    d.signal(Signal::SIGKILL);
    d.wait(secs(10));
    let orphans = pids(&p);
    assert!(orphans.iter().all(|&pid| alive(pid)), "workers outlive a killed dispatcher");
    worker(&p, REPORT, &[]);
    let mut next = p.spawn("recover", &["run", "--until-idle", "--max-wait", "0s", "--workers", "3"]);
    // All at once, not one after another: when the first orphan is killed, every one of
    // them has had its SIGTERM already (one grace period for all three).
    assert!(wait_until(secs(60), || orphans.iter().any(|&pid| !alive(pid))), "no orphan was stopped");
    let termed: BTreeSet<i32> = p.lines("terms").iter().filter_map(|l| l.trim().parse().ok()).collect();
    assert_eq!(termed, orphans.iter().copied().collect(), "the SIGTERMs before the first SIGKILL");
    assert_eq!(next.wait(secs(60)), Some(0), "{}", next.stderr());
    let out = next.stdout() + &next.stderr();
    assert_eq!(out.matches("put back: the dispatcher that ran it is gone").count(), 3, "{out}");
    assert!(orphans.iter().all(|&pid| !alive(pid)), "an orphan survived");
    for id in ["ORCH-001", "ORCH-002", "ORCH-003"] {
        let t = task(&p, id);
        assert_eq!((t["status"].as_str(), t["attempts"].as_u64()), (Some("DONE"), Some(1)), "{id}");
        let runs = p.json(&["log", id]);
        assert_eq!(
            (runs[0]["outcome"].as_str(), runs[0]["reason"].as_str()),
            (Some("interrupted"), Some("dispatcher_lost"))
        );
    }
}

#[test]
fn a_worker_whose_group_was_never_recorded_is_found_by_its_run_id() {
    let p = Project::init(None);
    worker(&p, "echo $$ >> pids\nsh -c 'echo $$ >> pids; exec sleep 60' &\nexec sleep 60\n", &[]);
    p.ok(&["add", "orphaned early"]);
    let mut d = p.spawn("run", &["run"]);
    assert!(wait_until(secs(20), || pids(&p).len() == 2), "started: {}", d.stderr());
    d.signal(Signal::SIGKILL);
    d.wait(secs(10));
    // As if the dispatcher had died between the claim and recording the process.
    db(&p).execute("UPDATE runs SET pid = NULL, pgid = NULL, proc_start = NULL", []).unwrap();
    let orphans = pids(&p);
    assert!(orphans.iter().all(|&pid| alive(pid)));
    worker(&p, REPORT, &[]);
    let out = p.ok(&["run", "--until-idle", "--max-wait", "0s"]);
    assert!(out.contains("ORCH-001 put back"), "{out}");
    assert!(wait_until(secs(5), || orphans.iter().all(|&pid| !alive(pid))), "the unrecorded worker survived");
    assert_eq!(task(&p, "ORCH-001")["status"], "DONE");
}
