//! Tests of the runner: process groups killed whole, the reaper, start times and
//! identities, an exit told without waiting for a log held open elsewhere, a run's
//! processes found by their environment (and killed with it when they left its group,
//! the orphans reaped), the PATH search, an argument list too long.

use super::*;

fn spec(dir: &std::path::Path, script: &str) -> Spec {
    Spec {
        argv: vec!["sh".into(), "-c".into(), script.into()],
        // Unique per test and per test process: tests run at once, and the scan sees
        // every process on the machine.
        env: vec![(RUN_ID_VAR.into(), run_of(script))],
        cwd: dir.into(),
        stdout: dir.join("out"),
        stderr: dir.join("err"),
        stdin: None,
        max_log_bytes: None,
        inherit: None,
    }
}

fn run_of(script: &str) -> String {
    format!("run-{}-{script}", std::process::id())
}

fn gone_soon(pgid: i32) -> bool {
    (0..500).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        !group_alive(pgid)
    })
}

#[test]
fn start_time_and_identity_of_this_process_are_read() {
    let me = std::process::id() as i32;
    assert!(proc_start(me).is_some());
    assert_eq!(proc_start(me), proc_start(me));
    assert_eq!(proc_start(i32::MAX), None);
    let host = hostname();
    assert!(!identity_is_dead(&identity(), &host), "this process is alive");
    assert!(!identity_is_dead(&identity(), "another-host"), "another host proves nothing");
    let start = proc_start(me).unwrap();
    assert!(identity_is_dead(&format!("{host}:{me}:{}", start + 1), &host), "another start time");
    assert!(identity_is_dead(&format!("{host}:{}:1", i32::MAX), &host), "no such pid");
    assert!(!identity_is_dead(&format!("{host}:{me}:0"), &host), "no start time: a live pid is alive");
    assert!(identity_is_dead(&format!("{host}:{}:0", i32::MAX), &host));
    assert!(!identity_is_dead("garbage", &host));
}

#[test]
fn a_group_is_killed_with_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let s = spawn(&spec(dir.path(), "sleep 30 & sleep 30 & wait")).unwrap();
    assert!(group_alive(s.pid));
    let (tx, rx) = mpsc::channel();
    let g = watch(s.child, move |e| tx.send(e).unwrap());
    assert!(g.kill());
    assert_eq!(rx.recv().unwrap(), Exit::Signal(9));
    assert!(!g.kill(), "a reaped group is never signalled again");
    assert!(gone_soon(s.pid), "children of the group survived");
}

#[test]
fn when_the_leader_exits_the_rest_of_its_group_is_killed_before_it_is_reaped() {
    let dir = tempfile::tempdir().unwrap();
    let s = spawn(&spec(dir.path(), "sleep 30 & echo $! > child; exit 3")).unwrap();
    let (tx, rx) = mpsc::channel();
    watch(s.child, move |e| tx.send(e).unwrap());
    assert_eq!(rx.recv().unwrap(), Exit::Code(3));
    assert!(gone_soon(s.pid), "the leader's child outlived it");
}

#[test]
fn the_processes_of_a_run_are_found_by_their_environment() {
    let dir = tempfile::tempdir().unwrap();
    let s = spawn(&spec(dir.path(), "sleep 30 & wait")).unwrap();
    let (tx, rx) = mpsc::channel();
    let g = watch(s.child, move |e| tx.send(e).unwrap());
    let run = run_of("sleep 30 & wait");
    // Until the child has exec'd, its environment is still this process's.
    let seen = (0..500).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        run_id_of(s.pid).as_ref() == Some(&run)
    });
    assert!(seen, "{:?}", run_id_of(s.pid));
    let runs: BTreeSet<String> = [run.clone(), "another".to_string()].into();
    let found = groups_of_runs(&runs);
    assert_eq!(found.get(&run), Some(&BTreeSet::from([s.pid])));
    assert!(!found.contains_key("another"));
    stop_groups(&BTreeSet::from([g.pgid()]), Duration::from_secs(5));
    assert_eq!(rx.recv().unwrap(), Exit::Signal(15));
}

#[test]
fn a_program_is_found_in_path_as_execvp_finds_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for d in [&a, &b] {
        std::fs::create_dir(d).unwrap();
    }
    let file = |p: &std::path::Path, mode: u32| {
        std::fs::write(p, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    file(&a.join("plain"), 0o644); // not executable: skipped
    file(&b.join("plain"), 0o755);
    std::fs::create_dir(a.join("tool")).unwrap(); // a folder: skipped
    file(&b.join("tool"), 0o700);
    let path = std::env::join_paths([&a, &b]).unwrap();
    assert_eq!(find_in_path("plain", &path), Some(b.join("plain")));
    assert_eq!(find_in_path("tool", &path), Some(b.join("tool")));
    assert_eq!(find_in_path("none", &path), None);
    assert_eq!(find_in_path("./plain", &path), None, "a name with a slash is not looked up");
    let relative = std::env::join_paths([std::path::Path::new("rel"), &b]).unwrap();
    assert_eq!(find_in_path("plain", &relative), None, "the child resolves a relative entry");
}

#[test]
fn every_process_is_reaped_once_when_many_end_together_or_before_they_are_watched() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, rx) = mpsc::channel();
    let mut pids = BTreeSet::new();
    for i in 0..24 {
        let script = format!("exit {}", i % 3);
        let mut spec = spec(dir.path(), &script);
        spec.stdout = dir.path().join(format!("out{i}"));
        // A run of its own: the end of a run kills every process still carrying its id,
        // and eight of these share a script.
        spec.env = vec![(RUN_ID_VAR.into(), format!("{}-{i}", run_of(&script)))];
        let s = spawn(&spec).unwrap();
        if i % 4 == 0 {
            // Ended and a zombie before it is watched: its SIGCHLD came too early.
            std::thread::sleep(Duration::from_millis(20));
        }
        pids.insert(s.pid);
        let tx = tx.clone();
        let pid = s.pid;
        watch(s.child, move |e| {
            let _ = tx.send((pid, e));
        });
    }
    drop(tx);
    let mut seen = BTreeSet::new();
    for _ in 0..24 {
        let (pid, exit) = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|e| panic!("not every exit was reported ({e}): {seen:?} of {pids:?}"));
        assert!(matches!(exit, Exit::Code(0..=2)), "{pid}: {exit:?}");
        assert!(seen.insert(pid), "{pid} reported twice");
    }
    assert_eq!(seen, pids);
    assert!(rx.recv_timeout(Duration::from_millis(200)).is_err(), "no report beyond one per process");
}

#[test]
fn run_to_end_kills_a_process_past_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(run_to_end(&spec(dir.path(), "exit 4"), Duration::from_secs(30)), Exit::Code(4));
    let began = Instant::now();
    assert_eq!(run_to_end(&spec(dir.path(), "sleep 30"), Duration::from_millis(100)), Exit::TimedOut);
    assert!(began.elapsed() < Duration::from_secs(20));
    assert!(matches!(run_to_end(&Spec { argv: vec![], ..spec(dir.path(), "") }, Duration::ZERO), Exit::SpawnFailed(_)));
}

#[test]
fn an_argument_list_too_long_is_a_permanent_spawn_failure() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec(dir.path(), "true");
    s.argv.push("x".repeat(200 * 1024));
    let e = spawn(&s).err().expect("too long to start");
    assert!(e.permanent && e.message.contains("argument list too long"), "{e:?}");
    let missing = Spec { argv: vec!["no-such-program-for-orch".into()], ..spec(dir.path(), "") };
    assert!(!spawn(&missing).err().expect("no such program").permanent);
}

#[test]
fn what_left_the_group_is_killed_with_its_run_and_the_orphans_are_reaped() {
    let dir = tempfile::tempdir().unwrap();
    let script = "setsid sh -c 'echo $$ > escaped; exec sleep 30' & sh -c '(setsid sleep 30 &)'; \
                  while [ ! -s escaped ]; do sleep 0.01; done; exit 5";
    let s = spec(dir.path(), script);
    let run = run_of(script);
    let spawned = spawn(&s).unwrap();
    let (tx, rx) = mpsc::channel();
    watch(spawned.child, move |e| tx.send(e).unwrap());
    // The worker's exit status is its own, not taken by the orphan reaping.
    assert_eq!(rx.recv_timeout(Duration::from_secs(20)).unwrap(), Exit::Code(5));
    let escaped: i32 = std::fs::read_to_string(dir.path().join("escaped")).unwrap().trim().parse().unwrap();
    let ids = BTreeSet::from([run]);
    let gone = (0..500).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        tree::of_runs(&ids, true).is_empty() && !process_is(escaped, proc_start(escaped).unwrap_or(-1))
    });
    assert!(gone, "left: {:?}", tree::of_runs(&ids, true));
    // Reparented here and killed: reaped, not a zombie child of this process.
    let me = std::process::id().to_string();
    let zombie = |pid: i32| stat_fields(pid).is_some_and(|f| f[0] == "Z" && f[1] == me);
    assert!((0..500).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        !zombie(escaped)
    }));
}

#[test]
fn an_exit_whose_log_is_still_held_open_does_not_hold_up_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let holder = dir.path().join("holder");
    // A leaves behind a process outside its run (no environment, its own session) that
    // keeps A's stdout open; B ends a little later.
    let h = holder.display();
    let a = format!("env -i setsid sh -c 'echo $$ > {h}; exec sleep 30' & until [ -s {h} ]; do sleep 0.01; done");
    let (tx, rx) = mpsc::channel();
    for (name, script) in [("a", a.as_str()), ("b", "sleep 0.3")] {
        let mut spec = spec(dir.path(), script);
        spec.stdout = dir.path().join(format!("{name}.out"));
        // Kept through a pipe, as a dispatcher keeps a worker's output.
        spec.max_log_bytes = Some(1 << 20);
        let s = spawn(&spec).unwrap();
        let tx = tx.clone();
        watch(s.child, move |_| {
            let _ = tx.send(name);
        });
    }
    let first = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    let second = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    if let Some(pid) = std::fs::read_to_string(&holder).ok().and_then(|p| p.trim().parse::<i32>().ok()) {
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    assert_eq!((first, second), ("b", "a"), "B's exit waited for A's open log");
}
