//! `orch follow`: a real `orch run` whose worker prints a line and then waits for a file
//! the test creates; the follower shows the line while the worker is still alive, ends
//! when the run does with its outcome as the exit code, labels both streams with
//! `--both`, and shows a worker's terminal controls escaped.

use crate::common::{Project, alive, wait_until};
use crate::dispatch::worker;
use std::time::Duration;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Prints a first line (and one on stderr), records its pid, waits for `go`, then
/// prints more and exits with `$1`.
const WAITS: &str = "echo 'first line'\necho 'early err' >&2\necho $$ > worker.pid\n\
    while [ ! -f go ]; do sleep 0.05; done\nprintf 'after \\033[2J\\033]0;TITLE\\007 go\\n'\nexit \"$1\"\n";

fn worker_pid(p: &Project) -> i32 {
    let mut pid = None;
    assert!(wait_until(secs(30), || {
        pid = std::fs::read_to_string(p.file("worker.pid")).ok().and_then(|s| s.trim().parse().ok());
        pid.is_some()
    }));
    pid.unwrap()
}

#[test]
fn follow_prints_the_first_line_while_the_worker_lives_and_exits_with_the_outcome() {
    let p = Project::init_plain(None);
    worker(&p, WAITS, &["0"]);
    p.ok(&["add", "waits for go"]);
    let mut run = p.spawn("run", &["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
    let mut follow = p.spawn("follow", &["follow", "ORCH-001"]);
    let pid = worker_pid(&p);
    assert!(wait_until(secs(30), || follow.stdout().contains("first line")), "{}", follow.stderr());
    assert!(alive(pid), "the line showed while the worker was still running");
    assert!(!follow.stdout().contains("early err"), "stdout only: {}", follow.stdout());
    assert_eq!(follow.child.try_wait().unwrap(), None, "follow waits for the run's end");
    p.write("go", "");
    assert_eq!(follow.wait(secs(60)), Some(0), "{}", follow.stderr());
    assert_eq!(run.wait(secs(60)), Some(0));
    let out = follow.stdout();
    assert!(out.contains("first line\n"), "{out}");
    // The worker's controls are shown, never sent to the terminal.
    assert!(out.contains("after \\x1b[2J\\x1b]0;TITLE\\x07 go"), "{out}");
    assert!(!out.contains('\x1b'), "{out:?}");
    // Following a run that has ended prints its output and exits with its outcome.
    let (code, out, _) = p.run(&["follow", "1", "--stderr"]);
    assert_eq!((code, out.as_str()), (0, "early err\n"));
}

#[test]
fn follow_both_labels_the_streams_and_a_failed_run_exits_1() {
    let p = Project::init_plain(None);
    worker(&p, WAITS, &["3"]);
    p.ok(&["add", "fails after go"]);
    // The follower starts first and waits for the task's run.
    let mut follow = p.spawn("follow", &["follow", "ORCH-001", "--both"]);
    let _run = p.spawn("run", &["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
    worker_pid(&p);
    assert!(wait_until(secs(30), || follow.stdout().contains("err| early err")), "{}", follow.stdout());
    assert!(follow.stdout().contains("out| first line"), "{}", follow.stdout());
    p.write("go", "");
    assert_eq!(follow.wait(secs(60)), Some(1), "{}{}", follow.stdout(), follow.stderr());
    assert!(follow.stdout().contains("out| after"), "{}", follow.stdout());
}

#[test]
fn following_a_task_that_never_ran_and_never_will_is_not_found() {
    let p = Project::init_plain(None);
    p.ok(&["add", "x"]);
    p.ok(&["cancel", "ORCH-001", "--reason", "not needed"]);
    let (code, _, err) = p.run(&["follow", "ORCH-001"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("no run to follow"), "{err}");
    let (code, _, err) = p.run(&["follow", "ORCH-404"]);
    assert_eq!(code, 4, "{err}");
    let (code, _, _) = p.run(&["follow", "1", "--stderr", "--both"]);
    assert_eq!(code, 2);
}
