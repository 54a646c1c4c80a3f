//! `orch dashboard` in a real terminal: the binary runs inside a tmux session of its own
//! (a server on a socket of its own, killed when the test ends), keys are sent with
//! `send-keys` and the screen is read with `capture-pane`, polled until a deadline. A
//! real `orch run` with sleeping workers shows in the fleet panel, the dispatcher alive
//! then stopped in its title; a quick add, a cancel and a refused cancel go through the
//! same operations as the command line; the panel survives a resize to 80×24; `q` gives
//! the terminal back.

use crate::common::{Project, alive, queue_of, wait_until};
use crate::dispatch::{STUBBORN, pids, worker};
use crate::tmux::Tmux;
use nix::sys::signal::Signal;
use std::time::Duration;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// The fleet row of `id` on the screen.
fn fleet_row<'a>(screen: &'a str, id: &str) -> Option<&'a str> {
    let fleet = screen.split("Queue:").next()?;
    fleet.lines().find(|l| l.contains(id))
}

/// The counts of priority `p` in the queue panel: PENDING RUNNING DONE FAILED BLOCKED.
fn queue_row(screen: &str, p: &str) -> Option<Vec<u64>> {
    let line = screen.lines().find(|l| l.trim_start_matches('│').starts_with(p))?;
    let cells: Vec<u64> =
        line.trim_start_matches('│').split_whitespace().skip(1).take(5).filter_map(|n| n.parse().ok()).collect();
    (cells.len() == 5).then_some(cells)
}

#[test]
fn the_fleet_shows_a_running_task_its_elapsed_time_live_output_and_the_counts_status_gives_also_at_80_by_24() {
    let p = Project::init(None);
    p.set_config("workers", "1");
    worker(&p, "echo $$ >> pids\necho live output from the worker\necho a warning >&2\nexec sleep 60\n", &[]);
    p.ok(&["add", "long job", "-p", "P0"]);
    p.ok(&["add", "next one", "-p", "P1"]);
    p.ok(&["add", "later", "-p", "P2"]);
    p.ok(&["add", "much later", "-p", "P2"]);
    let mut d = p.spawn("run", &["run"]);
    assert!(wait_until(secs(20), || pids(&p).len() == 1), "the worker started: {}", d.stderr());
    let Some(t) = Tmux::start(&p, 120, 40, "\"$ORCH\" dashboard") else { return };
    let screen = t.wait_for("the running task in the fleet", secs(20), |s| fleet_row(s, "ORCH-001").is_some());
    let row = fleet_row(&screen, "ORCH-001").unwrap().to_string();
    assert!(row.contains("long job"), "{row}");
    // The dispatcher, as `workers` records it, is named alive in the panel's title.
    let ds = p.json(&["workers"])["dispatchers"].clone();
    assert_eq!(ds[0]["pid"], d.pid(), "{ds}");
    let me = format!("{}:{}", ds[0]["host"].as_str().unwrap(), d.pid());
    t.wait_for("the dispatcher alive", secs(20), |s| s.contains(&format!("· dispatchers: {me} alive ─")));
    // Elapsed time moves on with the clock, without a commit.
    let elapsed = |row: &str| row.split_whitespace().nth(2).map(str::to_string);
    let first = elapsed(&row);
    assert!(first.as_deref().is_some_and(|e| e.ends_with('s')), "{row}");
    t.wait_for("the elapsed time moving", secs(20), |s| fleet_row(s, "ORCH-001").map(elapsed) != Some(first.clone()));
    // The selected task (the first in pick order) shows its run's live output.
    t.wait_for("the live output", secs(20), |s| s.contains("live output from the worker") && s.contains("a warning"));
    // The counts by priority are those of `status --json`.
    let status = p.json(&["status"]);
    let expected = |pri: &str| -> Vec<u64> {
        ["PENDING", "IN_PROGRESS", "DONE", "FAILED", "BLOCKED"]
            .iter()
            .map(|s| status["by_priority"][pri][s].as_u64().unwrap_or(0))
            .collect()
    };
    assert_eq!(expected("P0"), [0, 1, 0, 0, 0], "{status}");
    t.wait_for("the counts of status --json", secs(20), |s| {
        ["P0", "P1", "P2"].iter().all(|pri| queue_row(s, pri) == Some(expected(pri)))
    });
    // At 80×24 the fleet panel is still there.
    t.tmux(&["resize-window", "-t", "t", "-x", "80", "-y", "24"]);
    let small = t.wait_for("the fleet panel at 80×24", secs(20), |s| {
        s.lines().count() <= 24 && s.contains("Fleet: 1 running") && fleet_row(s, "ORCH-001").is_some()
    });
    assert!(small.lines().all(|l| unicode_width::UnicodeWidthStr::width(l) <= 80), "{small}");
    assert!(small.contains(&format!(":{} alive", d.pid())), "the dispatcher at 80×24:\n{small}");
    d.signal(Signal::SIGTERM);
    assert_eq!(d.wait(secs(20)), Some(0));
    t.wait_for("the dispatcher stopped", secs(20), |s| s.contains(&format!(":{} stopped", d.pid())));
}

#[test]
fn a_quick_add_from_the_dashboard_lands_in_the_list_and_queue_md_and_q_gives_the_terminal_back() {
    let p = Project::init(None);
    let Some(t) = Tmux::start(&p, 120, 40, "sh") else { return };
    t.type_text("\"$ORCH\" dashboard; echo \"exited=$?\"");
    t.keys(&["Enter"]);
    t.wait_for("the dashboard", secs(20), |s| s.contains("Fleet: 0 running"));
    assert_eq!(t.tmux(&["display-message", "-p", "-t", "t", "#{alternate_on}"]).trim(), "1");
    t.keys(&["a"]);
    t.type_text("p0 대시보드에서 추가 criteria:\"한 줄\"");
    t.keys(&["Enter"]);
    t.wait_for("the added task", secs(20), |s| s.contains("ORCH-001 added (P0)"));
    let list = p.json(&["list"]);
    assert_eq!(list[0]["task"], "대시보드에서 추가", "{list}");
    assert_eq!((list[0]["priority"].as_str(), list[0]["success_criteria"].as_str()), (Some("P0"), Some("한 줄")));
    assert!(wait_until(secs(10), || p.queue_md().contains("대시보드에서 추가")), "{}", p.queue_md());
    // A bad line is refused as `orch quick` refuses it, in the status line.
    t.keys(&["a"]);
    t.type_text("p0");
    t.keys(&["Enter"]);
    let (code, _, err) = p.run(&["quick", "p0"]);
    assert_eq!(code, 2, "{err}");
    t.wait_for("the refusal", secs(20), |s| s.contains("refused (bad_usage): quick:"));
    t.keys(&["q"]);
    t.wait_for("the shell back", secs(20), |s| s.contains("exited=0"));
    assert_eq!(t.tmux(&["display-message", "-p", "-t", "t", "#{alternate_on}"]).trim(), "0");
    t.type_text("stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\\n' ' '; echo");
    t.keys(&["Enter"]);
    t.wait_for("a terminal in cooked mode, echoing", secs(20), |s| s.lines().any(|l| l.trim() == "icanon echo"));
}

#[test]
fn a_cancel_from_the_dashboard_stops_the_workers_group_and_a_second_is_refused() {
    let p = Project::init(None);
    worker(&p, STUBBORN, &[]);
    p.ok(&["add", "to be cancelled"]);
    let mut d = p.spawn("run", &["run"]);
    assert!(wait_until(secs(20), || pids(&p).len() == 4), "the worker started: {}", d.stderr());
    let pids = pids(&p);
    let Some(t) = Tmux::start(&p, 120, 40, "\"$ORCH\" dashboard") else { return };
    t.wait_for("the running task", secs(20), |s| fleet_row(s, "ORCH-001").is_some());
    t.keys(&["c"]);
    t.wait_for("the cancel prompt", secs(20), |s| s.contains("cancel ORCH-001, reason"));
    t.type_text("from the dashboard");
    t.keys(&["Enter"]);
    t.wait_for("the cancel", secs(20), |s| s.contains("ORCH-001 cancelled: now BLOCKED"));
    assert!(wait_until(secs(10), || pids.iter().all(|&pid| !alive(pid))), "survivors: {pids:?}");
    let task = p.json(&["show", "ORCH-001"]);
    assert_eq!(task["status"], "BLOCKED");
    assert!(task["notes"].as_str().unwrap().contains("cancelled_by_operator:from the dashboard"), "{task}");
    t.wait_for("the fleet emptied", secs(20), |s| s.contains("no lease is held"));
    // The same cancel again is refused as `orch cancel` refuses it.
    let (code, _, err) = p.run(&["cancel", "ORCH-001"]);
    assert_eq!(code, 5, "{err}");
    t.keys(&["c", "Enter"]);
    t.wait_for("the refusal", secs(20), |s| s.contains("refused (already_stopped)"));
    d.signal(Signal::SIGTERM);
    assert_eq!(d.wait(secs(20)), Some(0));
}

#[test]
fn retry_replan_note_search_and_filters_from_the_dashboard_go_through_the_same_operations() {
    let p = Project::init(None);
    p.ok(&["add", "stopped one"]);
    p.ok(&["cancel", "ORCH-001"]);
    let Some(t) = Tmux::start(&p, 120, 40, "\"$ORCH\" dashboard") else { return };
    t.wait_for("the task", secs(20), |s| s.contains("ORCH-001  P1 BLOC"));
    t.keys(&["r"]);
    t.wait_for("the retry", secs(20), |s| s.contains("ORCH-001 retried: now PENDING"));
    assert_eq!(p.json(&["show", "ORCH-001"])["status"], "PENDING");
    t.keys(&["r"]);
    t.wait_for("the retry refused", secs(20), |s| s.contains("refused (not_failed_or_blocked)"));
    t.keys(&["R"]);
    t.type_text("P0 customer waiting");
    t.keys(&["Enter"]);
    t.wait_for("the replan", secs(20), |s| s.contains("ORCH-001 replanned: now P0"));
    let task = p.json(&["show", "ORCH-001"]);
    assert_eq!(task["priority"], "P0");
    assert!(task["notes"].as_str().unwrap().contains("replan:customer waiting"), "{task}");
    // No reason: refused as `orch replan` refuses it.
    let (code, _, err) = p.run(&["replan", "ORCH-001", "-p", "P2", "--reason", " "]);
    assert_eq!(code, 2, "{err}");
    t.keys(&["R"]);
    t.type_text("P2");
    t.keys(&["Enter"]);
    t.wait_for("the replan refused", secs(20), |s| s.contains("refused (bad_usage): --reason must say why"));
    t.keys(&["n"]);
    t.type_text("메모 하나");
    t.keys(&["Enter"]);
    t.wait_for("the note", secs(20), |s| s.contains("ORCH-001 noted"));
    assert!(p.json(&["show", "ORCH-001"])["notes"].as_str().unwrap().ends_with("메모 하나"));
    t.keys(&["/"]);
    t.type_text("STOPPED");
    t.keys(&["Enter"]);
    t.wait_for("a search by text, any case", secs(20), |s| {
        s.contains("Tasks all all /STOPPED") && s.contains("ORCH-001  P0")
    });
    t.keys(&["/"]);
    t.type_text("없는 말");
    t.keys(&["Enter"]);
    t.wait_for("an empty search", secs(20), |s| s.contains("no task matches"));
    t.keys(&["/", "Enter", "s", "s"]);
    t.wait_for("the IN_PROGRESS filter", secs(20), |s| {
        s.contains("Tasks IN_PROGRESS all") && s.contains("no task matches")
    });
    t.keys(&["s", "s", "s", "s"]);
    t.wait_for("no filter again", secs(20), |s| s.contains("Tasks all all") && s.contains("ORCH-001  P0 PEND"));
}

#[test]
fn sigterm_ends_the_dashboard_as_q_does_and_gives_the_terminal_back() {
    let p = Project::init(None);
    let Some(t) = Tmux::start(&p, 100, 30, "sh") else { return };
    t.type_text("\"$ORCH\" dashboard; echo \"exited=$?\"");
    t.keys(&["Enter"]);
    t.wait_for("the dashboard", secs(20), |s| s.contains("Fleet: 0 running"));
    let shell = t.tmux(&["display-message", "-p", "-t", "t", "#{pane_pid}"]);
    let children = std::fs::read_to_string(format!("/proc/{}/task/{0}/children", shell.trim())).unwrap();
    let pid: i32 = children.split_whitespace().next().expect("the dashboard's pid").parse().unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGTERM).unwrap();
    t.wait_for("the shell back", secs(20), |s| s.contains("exited=0"));
    assert_eq!(t.tmux(&["display-message", "-p", "-t", "t", "#{alternate_on}"]).trim(), "0");
    t.type_text("stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\\n' ' '; echo");
    t.keys(&["Enter"]);
    t.wait_for("a terminal in cooked mode, echoing", secs(20), |s| s.lines().any(|l| l.trim() == "icanon echo"));
}

#[test]
fn moving_past_the_end_of_the_page_moves_the_page_at_80_by_24() {
    let p = Project::init(Some(&queue_of(30)));
    let Some(t) = Tmux::start(&p, 80, 24, "\"$ORCH\" dashboard") else { return };
    t.wait_for("the list", secs(20), |s| s.contains("┌ ORCH-001 "));
    for _ in 0..12 {
        t.keys(&["j"]);
    }
    let screen = t.wait_for("the 13th task selected", secs(20), |s| s.contains("┌ ORCH-013 "));
    assert!(!screen.contains("│ORCH-001 "), "the page moved on:\n{screen}");
    assert!(screen.contains("│ORCH-013 "), "{screen}");
    for _ in 0..12 {
        t.keys(&["k"]);
    }
    t.wait_for("back at the top", secs(20), |s| s.contains("┌ ORCH-001 ") && s.contains("│ORCH-001 "));
}
