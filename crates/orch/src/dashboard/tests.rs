//! Rendering tests: every panel drawn on ratatui's `TestBackend` from a snapshot made
//! here, the screen read back as lines (a wide character takes two columns, as on a
//! terminal), at 80×24 and larger; Korean titles cut and padded by their width; no
//! colour at all with `NO_COLOR`.

use super::app::{App, Detail, Message, Snapshot};
use super::draw::draw;
use super::fleet::dispatchers_line;
use super::text::{cell, fit};
use super::theme::Theme;
use crate::api::{DispatcherLive, Fleet, Holder, RunView, Shown, StatusSummary, Tail, TaskView};
use jiff::Timestamp;
use orch_core::kpi::Alert;
use orch_core::outcome::Usage;
use orch_core::policy::FailureClass;
use orch_core::task::{Priority, Status, Task};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use std::collections::BTreeMap;
use unicode_width::UnicodeWidthStr;

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn task(id: &str, text: &str, status: Status, priority: Priority) -> TaskView {
    let mut t = Task::new(id.into(), text.into(), priority, 4, at("2026-03-01T00:00:00Z"));
    t.status = status;
    TaskView::from(&t)
}

fn counts() -> BTreeMap<String, BTreeMap<String, usize>> {
    let row = |n: [usize; 5]| -> BTreeMap<String, usize> {
        Status::ALL.iter().zip(n).map(|(s, n)| (s.to_string(), n)).collect()
    };
    [("P0", row([2, 1, 0, 0, 0])), ("P1", row([40, 0, 7, 1, 0])), ("P2", row([3, 0, 0, 0, 2]))]
        .into_iter()
        .map(|(p, r)| (p.to_string(), r))
        .collect()
}

fn snapshot() -> Snapshot {
    let holder = Holder {
        owner: "alice".into(),
        task_id: "ORCH-001".into(),
        task: "배포 스크립트 점검".into(),
        priority: Priority::P0,
        run_id: Some("run-1".into()),
        trace_id: None,
        attempt: 2,
        host: None,
        pid: Some(42),
        started_at: Some(at("2026-03-01T00:00:00Z")),
        elapsed_s: Some(65.0),
        lease_expires_at: None,
        lease_left_s: Some(835.0),
        last_heartbeat: None,
        heartbeat_age_s: Some(5.0),
        profile: None,
        model: None,
        agent: None,
    };
    let mut running = task("ORCH-001", "배포 스크립트 점검", Status::InProgress, Priority::P0);
    running.success_criteria = Some("스크립트가 통과한다".into());
    running.notes = Some("first try timed out".into());
    running.depends_on = vec!["ORCH-009".into()];
    running.attempts = 2;
    let run = |attempt: u32, outcome: Option<&str>, class: Option<FailureClass>, report: Option<&str>| RunView {
        schema_version: crate::api::SCHEMA_VERSION,
        id: format!("run-{attempt}"),
        task_id: "ORCH-001".into(),
        attempt,
        owner: "alice".into(),
        trace_id: "t".into(),
        host: None,
        pid: None,
        started_at: at("2026-03-01T00:00:00Z"),
        ended_at: outcome.map(|_| at("2026-03-01T00:01:30Z")),
        duration_s: outcome.map(|_| 90.0),
        outcome: outcome.map(str::to_string),
        class,
        reason: outcome.map(|_| "timeout".to_string()),
        report: report.map(str::to_string),
        late_report: None,
        verdict: outcome.map(|_| "reject".to_string()),
        verdict_reason: None,
        usage: Usage { input_tokens: 1200, output_tokens: 34_500, cost_usd: 0.25 },
        spawned_by: None,
        session: None,
        worktree: None,
        branch: None,
        landing: None,
    };
    let detail = Detail {
        shown: Shown {
            task: running.clone(),
            input_tokens: 1200,
            output_tokens: 34_500,
            cost_usd: 0.25,
            workspace: None,
        },
        runs: vec![
            run(1, Some("failed"), Some(FailureClass::Transient), Some("- tried\nRisks: 없음")),
            run(2, None, None, None),
        ],
        deps: vec![("ORCH-009".into(), Some(Status::Done))],
        tail: Tail {
            run_id: Some("run-2".into()),
            stdout: "step 1\nstep 2 \u{1b}[2J\n".into(),
            stderr: "warning: 느림\n".into(),
        },
    };
    Snapshot {
        fleet: Fleet {
            now: at("2026-03-01T00:01:05Z"),
            workers: vec![holder],
            queue: BTreeMap::new(),
            paused: Vec::new(),
            dispatchers: Vec::new(),
        },
        summary: StatusSummary {
            total: 56,
            by_status: BTreeMap::new(),
            by_priority: counts(),
            running: vec!["ORCH-001".into()],
            waiting: 0,
            next: Some("ORCH-002".into()),
            paused: Vec::new(),
            schedules: None,
        },
        next: Some(("ORCH-002".into(), "릴리즈 노트 작성".into())),
        alerts: vec![Alert { name: "failure_rate".into(), value: 0.4, threshold: 0.2 }],
        page: vec![
            running,
            task("ORCH-002", "릴리즈 노트 작성", Status::Pending, Priority::P0),
            task("ORCH-003", "a plain English task with a long title that is cut", Status::Failed, Priority::P1),
        ],
        more: true,
        detail: Some(detail),
        marks: BTreeMap::new(),
    }
}

/// The screen as lines, a wide character once (the cell after it is its second half).
fn screen(app: &mut App, w: u16, h: u16, theme: Theme) -> (Vec<String>, ratatui::buffer::Buffer) {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| draw(f, app, theme, 10.0)).unwrap();
    let buf = term.backend().buffer().clone();
    let mut lines = Vec::new();
    for y in 0..h {
        let mut line = String::new();
        let mut x = 0;
        while x < w {
            let sym = buf[(x, y)].symbol();
            line.push_str(sym);
            x += u16::try_from(sym.width().max(1)).unwrap();
        }
        lines.push(line);
    }
    (lines, buf)
}

fn colour() -> Theme {
    Theme { colour: true }
}

#[test]
fn the_whole_frame_fits_80_by_24() {
    let mut app = App::new(snapshot());
    let (lines, _) = screen(&mut app, 80, 24, colour());
    let expected = [
        "orch dashboard   56 tasks, 1 running                                            ",
        "┌ Fleet: 1 running ────────────────────────────────────────────────────────────┐",
        "│ID        OWNER       ELAPSED  LEASE    BEAT     ATT TASK                     │",
        "│ORCH-001  alice       1m 15s   13m 45s  15s      2   배포 스크립트 점검       │",
        "└──────────────────────────────────────────────────────────────────────────────┘",
        "┌ Queue: 56 tasks ─────────────────────────────────────────────────────────────┐",
        "│    PENDING RUNNING    DONE  FAILED BLOCKED  next ORCH-002 릴리즈 노트 작성   │",
        "│P0        2       1       0       0       0  ALERT failure_rate 40.0% > 20.0% │",
        "│P1       40       0       7       1       0                                   │",
        "│P2        3       0       0       0       2                                   │",
        "└──────────────────────────────────────────────────────────────────────────────┘",
    ];
    assert_eq!(lines[..expected.len()], expected, "\n{}", lines.join("\n"));
    assert_eq!(lines[11], "┌ Tasks all all ───────────────────┐┌ ORCH-001 ────────────────────────────────┐");
    assert_eq!(lines[12], "│ORCH-001  P0 RUN  배포 스크립트 … ││IN_PROGRESS  P0  attempt 2/4              │");
    assert_eq!(lines[13], "│ORCH-002  P0 PEND 릴리즈 노트 작성││task: 배포 스크립트 점검                  │");
    assert_eq!(lines[14], "│ORCH-003  P1 FAIL a plain English…││criteria: 스크립트가 통과한다             │");
    assert_eq!(lines[23], "q quit ↑↓ move  a add  c cancel  r retry  R replan  n note  / search  s p filter");
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l.width(), 80, "line {i} is {} columns wide: {l}", l.width());
    }
    assert_eq!(app.page_rows, 9, "the list has room for nine rows at 80×24");
}

#[test]
fn the_queue_panel_says_how_many_schedules_and_which_is_due_next() {
    let mut snap = snapshot();
    let next = crate::api::NextDue { schedule: "nightly".to_string(), at: at("2026-03-01T00:31:05Z") };
    snap.summary.schedules = Some(crate::api::ScheduleCount { count: 2, paused: 1, next: Some(next) });
    let mut app = App::new(snap);
    let (lines, _) = screen(&mut app, 80, 24, colour());
    assert_eq!(lines[7], "│P0        2       1       0       0       0  sched 2 (1 paused), next nightly…│");
    let (lines, _) = screen(&mut app, 120, 24, colour());
    assert!(lines[7].contains("sched 2 (1 paused), next nightly in 30m"), "{}", lines[7]);
    assert!(lines[8].contains("ALERT failure_rate"), "{}", lines[8]);
}

#[test]
fn the_task_pane_shows_every_attempt_the_last_report_and_the_live_output_escaped() {
    let mut app = App::new(snapshot());
    let (lines, _) = screen(&mut app, 160, 60, colour());
    let pane: Vec<String> =
        lines[12..].iter().map(|l| l.split('│').nth(3).unwrap_or("").trim_end().to_string()).collect();
    let expected = [
        "IN_PROGRESS  P0  attempt 2/4",
        "task: 배포 스크립트 점검",
        "criteria: 스크립트가 통과한다",
        "notes: first try timed out",
        "depends on: ORCH-009 DONE",
        "usage: 1200 in, 34.5k out tokens, $0.2500",
        "runs (2)",
        " #1 failed class transient verdict reject tok 1200/34.5k $0.2500 1m 30s",
        "    reason: timeout",
        " #2 running class - verdict - tok 1200/34.5k $0.2500 -",
        "last report",
        "  - tried",
        "  Risks: 없음",
        "output of run-2",
        " stdout (2 lines shown)",
        "  step 1",
        "  step 2 \\x1b[2J",
        " stderr (1 lines shown)",
        "  warning: 느림",
    ];
    assert_eq!(pane[..expected.len()], expected, "\n{}", lines.join("\n"));
}

#[test]
fn an_empty_queue_and_a_refusal_in_the_status_line() {
    let mut app = App::new(Snapshot::empty());
    app.message = Some(Message::Refused("refused (already_stopped): cannot cancel ORCH-001".into()));
    let (lines, buf) = screen(&mut app, 80, 24, colour());
    assert_eq!(lines[3], "│no lease is held                                                              │");
    assert!(lines[6].contains("next nothing ready"), "{}", lines[6]);
    assert!(lines[7].contains("no alert"), "{}", lines[7]);
    assert!(lines[12].starts_with("│no task matches"), "{}", lines[12]);
    assert!(lines[12].ends_with("│no task selected                          │"), "{}", lines[12]);
    assert_eq!(lines[22].trim_end(), "refused (already_stopped): cannot cancel ORCH-001");
    assert_eq!(buf[(0, 22)].fg, Color::Red);
}

#[test]
fn many_running_tasks_leave_the_list_room_at_80_by_24() {
    let mut snap = snapshot();
    let one = snap.fleet.workers[0].clone();
    snap.fleet.workers = (1..=12).map(|i| Holder { task_id: format!("ORCH-{i:03}"), ..one.clone() }).collect();
    let mut app = App::new(snap);
    let (lines, _) = screen(&mut app, 80, 24, colour());
    assert!(lines[1].starts_with("┌ Fleet: 12 running"), "{}", lines[1]);
    assert!(lines.iter().any(|l| l.contains("… and")), "{}", lines.join("\n"));
    let list_top = lines.iter().position(|l| l.starts_with("┌ Tasks")).unwrap();
    assert!(24 - list_top >= 8, "the list keeps its room:\n{}", lines.join("\n"));
}

#[test]
fn the_prompt_shows_what_is_typed() {
    let mut app = App::new(snapshot());
    app.input = Some(super::app::Input { prompt: super::app::Prompt::Add, text: "p0 새 작업".into() });
    let (lines, _) = screen(&mut app, 80, 24, colour());
    assert_eq!(lines[22].trim_end(), "add (quick: p0 text due:+3h criteria:\"…\" #res)> p0 새 작업");
}

#[test]
fn no_colour_with_no_color() {
    let mut app = App::new(snapshot());
    let (_, buf) = screen(&mut app, 100, 30, Theme { colour: false });
    for c in buf.content() {
        assert_eq!((c.fg, c.bg), (Color::Reset, Color::Reset), "a coloured cell `{}`", c.symbol());
    }
    let (_, buf) = screen(&mut app, 100, 30, colour());
    assert!(buf.content().iter().any(|c| c.fg == Color::Red), "the alert is red with colour");
}

#[test]
fn korean_text_is_cut_and_padded_by_its_width() {
    assert_eq!(fit("릴리즈 노트 작성", 16), "릴리즈 노트 작성");
    assert_eq!(fit("릴리즈 노트 작성", 7), "릴리즈…");
    assert_eq!(fit("릴리즈", 4), "릴…");
    assert_eq!(cell("노트", 6), "노트  ");
    assert_eq!(cell("릴리즈 노트", 6).width(), 6);
    assert_eq!(fit("a\u{1b}[2Jb", 20), "a\\x1b[2Jb");
}

#[test]
fn a_tiny_terminal_draws_without_a_panic() {
    for (w, h) in [(1, 1), (10, 5), (30, 8), (45, 12), (79, 23)] {
        let mut app = App::new(snapshot());
        app.input = Some(super::app::Input { prompt: super::app::Prompt::Search, text: "긴 검색어".repeat(20) });
        let (lines, _) = screen(&mut app, w, h, colour());
        assert_eq!(lines.len(), usize::from(h));
    }
}

fn dispatcher(host: &str, pid: i64, seen_age_s: f64, stopped: bool) -> DispatcherLive {
    let seen_at = at("2026-03-01T00:01:05Z") - jiff::SignedDuration::from_secs_f64(seen_age_s);
    DispatcherLive {
        id: format!("{host}:{pid}:1"),
        host: host.into(),
        pid,
        started_at: at("2026-03-01T00:00:00Z"),
        seen_at,
        seen_age_s,
        stopped_at: stopped.then_some(seen_at),
        alive: !stopped && seen_age_s <= 15.0,
    }
}

#[test]
fn the_fleet_title_names_each_recent_dispatcher_and_whether_it_is_alive() {
    let mut snap = snapshot();
    snap.fleet.dispatchers = vec![
        dispatcher("host-a", 1234, 2.0, false),
        dispatcher("host-b", 99, 30.0, true),
        dispatcher("host-c", 7, 7200.0, true),
    ];
    let mut app = App::new(snap);
    let (lines, _) = screen(&mut app, 80, 24, colour());
    assert_eq!(lines[1], "┌ Fleet: 1 running · dispatchers: host-a:1234 alive · host-b:99 stopped ───────┐");
    assert_eq!(lines[2], "│ID        OWNER       ELAPSED  LEASE    BEAT     ATT TASK                     │");
    // One killed outright: not seen since, the time moving on with the clock (10 s
    // drawn after the read).
    app.snap.fleet.dispatchers = vec![dispatcher("host-d", 5, 50.0, false)];
    let (lines, _) = screen(&mut app, 80, 24, colour());
    assert_eq!(lines[1], "┌ Fleet: 1 running · dispatchers: host-d:5 not seen for 1m ────────────────────┐");
}

#[test]
fn the_dispatchers_alive_come_first_and_those_that_do_not_fit_are_counted() {
    let mut ds: Vec<DispatcherLive> =
        (1..=4).map(|i| dispatcher(&format!("gone-{i}"), i, 60.0 * i as f64, true)).collect();
    ds.push(dispatcher("runner", 4242, 1.0, false));
    ds.push(dispatcher("old", 1, 3601.0, true));
    let line = dispatchers_line(&ds, 0.0, 200).unwrap();
    assert_eq!(
        line,
        "dispatchers: runner:4242 alive · gone-1:1 stopped · gone-2:2 stopped · gone-3:3 stopped · gone-4:4 stopped"
    );
    assert_eq!(dispatchers_line(&ds, 0.0, 60).unwrap(), "dispatchers: runner:4242 alive · gone-1:1 stopped · +3 more");
    let long = [dispatcher(&"a-very-long-host-name".repeat(3), 77, 1.0, false)];
    assert_eq!(dispatchers_line(&long, 0.0, 40).unwrap(), "dispatchers: a-very-long-host-…:77 alive");
    assert_eq!(dispatchers_line(&long, 0.0, 20), None);
    assert_eq!(dispatchers_line(&ds[5..], 0.0, 200), None, "none stopped within the hour");
    let many: Vec<DispatcherLive> = (1..=12).map(|i| dispatcher("h", i, 1.0, false)).collect();
    assert!(dispatchers_line(&many, 0.0, 500).unwrap().ends_with("h:10 alive · +2 more"));
    let hostile = [dispatcher("evil\u{1b}[2J\nhost", 1, 1.0, false)];
    assert_eq!(dispatchers_line(&hostile, 0.0, 80).unwrap(), "dispatchers: evil\\x1b[2J\\nhost:1 alive");
}

#[test]
fn dispatchers_in_the_title_fit_every_small_terminal() {
    for (w, h) in [(1, 1), (10, 5), (30, 8), (45, 12), (80, 24)] {
        let mut snap = snapshot();
        snap.fleet.dispatchers = (1..=12).map(|i| dispatcher("이름이-긴-호스트", i, 1.0, i % 2 == 0)).collect();
        let mut app = App::new(snap);
        let (lines, _) = screen(&mut app, w, h, colour());
        assert_eq!(lines.len(), usize::from(h));
        for l in &lines {
            assert_eq!(l.width(), usize::from(w), "{l}");
        }
    }
}
