//! Table-driven tests of `transition`: every (status, command) pair, plus the retry path.

use super::*;

fn now() -> Timestamp {
    "2026-02-08T00:00:00Z".parse().unwrap()
}

/// An hour after [`now`]: a deferral's time.
fn later() -> Timestamp {
    now() + jiff::SignedDuration::from_hours(1)
}

fn task_in(status: Status) -> Task {
    let mut t = Task::new("ORCH-001".into(), "work".into(), Priority::P1, 4, now());
    t.status = status;
    match status {
        Status::InProgress => {
            t.attempts = 1;
            t.owner = Some("w1".into());
            t.lease = Some(Lease { token: "tok".into(), expires_at: now() - jiff::SignedDuration::from_secs(1) });
        }
        Status::Failed => {
            t.attempts = 1;
            t.retry_at = Some(now());
        }
        _ => {}
    }
    t
}

fn commands() -> Vec<Command> {
    let tok = || Auth::Token("tok".into());
    vec![
        Command::Claim { owner: "w2".into(), token: "new".into(), lease_until: now(), run_id: "r2".into() },
        Command::Heartbeat { auth: tok(), lease_until: now() },
        Command::Complete { auth: tok(), notes: None },
        Command::Fail { auth: tok(), reason: "boom".into(), class: FailureClass::Transient, unit: 0.0 },
        Command::Expire { unit: 0.0 },
        Command::Interrupt { auth: tok(), reason: "dispatcher_shutdown".into() },
        Command::Defer { auth: tok(), until: later(), reason: "usage_limit".into() },
        Command::Cancel { reason: None },
        Command::Block { auth: Auth::Force, reason: "budget_hard_exceeded".into() },
        Command::Retry,
        Command::Replan(Replan { reason: "why".into(), ..Replan::default() }),
        Command::Note { text: "hello".into() },
        Command::Skip { done_task: "ORCH-000".into() },
        Command::Accept { reason: "review".into() },
        Command::Unblock { by: "ORCH-000".into() },
        Command::Edit { to: Box::new(task_in(Status::Done)), source: "QUEUE.md line 9".into() },
    ]
}

/// `Some(status)`: allowed, ending in that status; `None`: refused; `L`: lease lost.
#[derive(Debug, PartialEq)]
enum Want {
    To(Status),
    Refused,
    Lost,
}

#[test]
fn every_status_and_command_pair() {
    use Status::*;
    use Want::*;
    // columns: PENDING, IN_PROGRESS, DONE, FAILED (retry due), BLOCKED
    let table: Vec<(&str, [Want; 5])> = vec![
        ("claim", [To(InProgress), Refused, Refused, To(InProgress), Refused]),
        ("heartbeat", [Lost, To(InProgress), Lost, Lost, Lost]),
        ("done", [Lost, To(Done), Lost, Lost, Lost]),
        ("fail", [Lost, To(Failed), Lost, Lost, Lost]),
        ("expire", [Refused, To(Failed), Refused, Refused, Refused]),
        ("interrupt", [Lost, To(Pending), Lost, Lost, Lost]),
        ("defer", [Lost, To(Pending), Lost, Lost, Lost]),
        ("cancel", [To(Blocked), To(Blocked), Refused, To(Blocked), Refused]),
        ("block", [To(Blocked), To(Blocked), Refused, To(Blocked), Refused]),
        ("retry", [Refused, Refused, Refused, To(Pending), To(Pending)]),
        ("replan", [To(Pending), To(InProgress), Refused, To(Failed), To(Blocked)]),
        ("note", [To(Pending), To(InProgress), To(Done), To(Failed), To(Blocked)]),
        ("skip", [To(Done), Refused, Refused, To(Done), Refused]),
        ("accept", [Refused, Refused, Refused, To(Done), To(Done)]),
        ("unblock", [Refused, Refused, Refused, Refused, To(Pending)]),
        ("edit", [To(Done), To(Done), To(Done), To(Done), To(Done)]),
    ];
    let cmds = commands();
    assert_eq!(cmds.len(), table.len());
    for (cmd, (verb, row)) in cmds.iter().zip(table) {
        assert_eq!(cmd.verb(), verb);
        for (status, want) in Status::ALL.into_iter().zip(row) {
            let task = task_in(status);
            let got = match transition(&task, cmd, now(), &RetryPolicy::default()) {
                Ok(c) => {
                    assert_eq!(c.task.check_invariants(), None, "{verb} from {status}");
                    assert!(!c.events.is_empty(), "{verb} from {status} has no event");
                    assert!(c.events.iter().all(|e| e.from == Some(status)));
                    To(c.task.status)
                }
                Err(TransitionError::Refused { from, .. }) => {
                    assert_eq!(from, status);
                    Refused
                }
                Err(TransitionError::LeaseLost { .. }) => Lost,
            };
            assert_eq!(got, want, "{verb} from {status}");
        }
    }
}

#[test]
fn every_run_that_ends_writes_one_run_finished_with_its_outcome() {
    let mut ended = Vec::new();
    for cmd in commands() {
        for status in Status::ALL {
            let Ok(c) = transition(&task_in(status), &cmd, now(), &RetryPolicy::default()) else { continue };
            let finished: Vec<&Event> = c.events.iter().filter(|e| e.event == kind::RUN_FINISHED).collect();
            match &c.run {
                RunEffect::End { outcome, .. } => {
                    assert_eq!(finished.len(), 1, "{} from {status}: {:?}", cmd.verb(), c.events);
                    let msg = finished[0].msg.as_deref().unwrap();
                    assert!(msg == outcome.as_str() || msg.starts_with(&format!("{}: ", outcome.as_str())), "{msg}");
                    assert_eq!(finished[0].to, Some(c.task.status));
                    let warn = matches!(outcome, RunOutcome::Failed | RunOutcome::Expired | RunOutcome::Blocked);
                    assert_eq!(finished[0].level == Level::Warn, warn, "{msg}");
                    ended.push(msg.to_string());
                }
                _ => assert!(finished.is_empty(), "{} from {status} ends no run", cmd.verb()),
            }
        }
    }
    assert_eq!(
        ended,
        [
            "done",
            "failed: transient: boom",
            "expired: transient: lease_expired",
            "interrupted: dispatcher_shutdown",
            "deferred: usage_limit",
            "cancelled: cancelled_by_operator",
            "blocked: budget_hard_exceeded",
            "cancelled: edited_by_hand",
        ]
    );
}

#[test]
fn a_refusal_names_both_statuses() {
    let err = transition(&task_in(Status::Done), &Command::Retry, now(), &RetryPolicy::default()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("DONE") && msg.contains("PENDING"), "{msg}");
}

#[test]
fn a_stale_token_is_lease_lost_and_force_overrides() {
    let t = task_in(Status::InProgress);
    let stale = Command::Complete { auth: Auth::Token("old".into()), notes: None };
    assert!(matches!(transition(&t, &stale, now(), &RetryPolicy::default()), Err(TransitionError::LeaseLost { .. })));
    let forced = Command::Complete { auth: Auth::Force, notes: Some("by hand".into()) };
    let c = transition(&t, &forced, now(), &RetryPolicy::default()).unwrap();
    assert_eq!(c.task.status, Status::Done);
    assert_eq!(c.task.notes.as_deref(), Some("by hand"));
}

#[test]
fn transient_failures_back_off_then_exhaust() {
    let policy = RetryPolicy::default();
    let mut t = task_in(Status::Pending);
    let mut waits = Vec::new();
    for attempt in 1..=4 {
        let claim = Command::Claim {
            owner: "w".into(),
            token: format!("t{attempt}"),
            lease_until: now(),
            run_id: format!("r{attempt}"),
        };
        let at = t.retry_at.unwrap_or(now());
        t = transition(&t, &claim, at, &policy).unwrap().task;
        assert_eq!(t.attempts, attempt);
        let fail = Command::Fail {
            auth: Auth::Token(format!("t{attempt}")),
            reason: "exit_code:75".into(),
            class: FailureClass::Transient,
            unit: 0.0,
        };
        let c = transition(&t, &fail, at, &policy).unwrap();
        t = c.task;
        waits.push(t.retry_at.map(|r| r.duration_since(at).as_secs()));
    }
    assert_eq!(waits, [Some(60), Some(180), Some(600), None]);
    assert!(t.notes.as_deref().unwrap().ends_with("exit_code:75 / retry_exhausted"));
    assert!(!t.is_ready(now() + jiff::SignedDuration::from_hours(100)));
}

#[test]
fn permanent_failure_waits_for_an_operator() {
    let t = task_in(Status::InProgress);
    let fail = Command::Fail {
        auth: Auth::Token("tok".into()),
        reason: "bad input".into(),
        class: FailureClass::Permanent,
        unit: 0.0,
    };
    let t = transition(&t, &fail, now(), &RetryPolicy::default()).unwrap().task;
    assert_eq!((t.status, t.retry_at), (Status::Failed, None));
    assert!(t.notes.as_deref().unwrap().ends_with("bad input / no_retry:permanent"), "{:?}", t.notes);
    let t = transition(&t, &Command::Retry, now(), &RetryPolicy::default()).unwrap().task;
    assert_eq!((t.status, t.attempts), (Status::Pending, 0));
}

#[test]
fn interrupt_gives_the_attempt_back() {
    let t = task_in(Status::InProgress);
    let cmd = Command::Interrupt { auth: Auth::Token("tok".into()), reason: "dispatcher_shutdown".into() };
    let c = transition(&t, &cmd, now(), &RetryPolicy::default()).unwrap();
    assert_eq!((c.task.status, c.task.attempts, c.task.owner.clone()), (Status::Pending, 0, None));
    assert!(matches!(c.run, RunEffect::End { outcome: RunOutcome::Interrupted, .. }));
}

#[test]
fn defer_gives_the_attempt_back_and_holds_the_task_until_its_time() {
    let t = task_in(Status::InProgress);
    let cmd = Command::Defer { auth: Auth::Token("tok".into()), until: later(), reason: "usage_limit".into() };
    let c = transition(&t, &cmd, now(), &RetryPolicy::default()).unwrap();
    assert_eq!((c.task.status, c.task.attempts, c.task.owner.clone()), (Status::Pending, 0, None));
    assert_eq!((c.task.not_before, c.task.lease.clone(), c.task.notes.clone()), (Some(later()), None, None));
    let reason = Some("usage_limit".to_string());
    assert_eq!(c.run, RunEffect::End { outcome: RunOutcome::Deferred, class: None, reason });
    assert_eq!(c.events[0].event, kind::TASK_DEFERRED);
    assert_eq!(c.events[0].msg.as_deref(), Some("until 2026-02-08T01:00:00Z: usage_limit"));
    assert!(!c.task.is_ready(now()), "not claimed before its time");
    assert_eq!(c.task.waiting_until(now()), Some(later()));
    assert!(c.task.is_ready(later()), "claimable at its time");
    assert_eq!(c.task.waiting_until(later()), None);
    let claim = Command::Claim { owner: "w".into(), token: "n".into(), lease_until: now(), run_id: "r".into() };
    assert!(matches!(
        transition(&c.task, &claim, now(), &RetryPolicy::default()),
        Err(TransitionError::Refused { .. })
    ));
    let claimed = transition(&c.task, &claim, later(), &RetryPolicy::default()).unwrap().task;
    assert_eq!((claimed.status, claimed.attempts), (Status::InProgress, 1));
}

#[test]
fn cancel_and_replan_append_the_seed_notes() {
    let mut t = task_in(Status::Pending);
    t.notes = Some("coupang_intake:20260208-2034 mode=safe".into());
    let r = Replan { reason: "user_drop:coupang_scope".into(), priority: Some(Priority::P2), ..Replan::default() };
    let t = transition(&t, &Command::Replan(r), now(), &RetryPolicy::default()).unwrap().task;
    let t = transition(&t, &Command::Cancel { reason: None }, now(), &RetryPolicy::default()).unwrap().task;
    assert_eq!(
        t.notes.as_deref(),
        Some("coupang_intake:20260208-2034 mode=safe / replan:user_drop:coupang_scope / cancelled_by_operator")
    );
    assert_eq!((t.status, t.priority), (Status::Blocked, Priority::P2));
}

#[test]
fn the_diagram_is_the_code() {
    use std::collections::BTreeSet;
    let doc = include_str!("../../../docs/state_machine.md");
    let drawn: BTreeSet<(String, String, String)> = doc
        .lines()
        .filter_map(|l| {
            let (edge, verb) = l.trim().split_once(" : ")?;
            let (from, to) = edge.split_once(" --> ")?;
            Some((from.trim().to_string(), to.trim().to_string(), verb.trim().to_string()))
        })
        .collect();
    let mut allowed = BTreeSet::new();
    // An imported hand edit may set any status: the page says so in words, not arrows.
    for cmd in commands().into_iter().filter(|c| c.verb() != "edit") {
        for status in Status::ALL {
            if let Ok(c) = transition(&task_in(status), &cmd, now(), &RetryPolicy::default())
                && c.task.status != status
            {
                allowed.insert((status.to_string(), c.task.status.to_string(), cmd.verb().to_string()));
            }
        }
    }
    assert_eq!(drawn, allowed, "docs/state_machine.md and state::transition disagree");
}

/// Every refusal of the table, word for word: each names the status the task is in and
/// says what the command needs, and only commands that move a task say where to.
#[test]
fn every_refusal_reads_right() {
    let mut got = Vec::new();
    for cmd in commands() {
        for status in Status::ALL {
            if let Err(e @ TransitionError::Refused { .. }) =
                transition(&task_in(status), &cmd, now(), &RetryPolicy::default())
            {
                got.push(e.to_string());
            }
        }
    }
    let claim = "claim moves only PENDING (once its start time, if any, has come) or FAILED (with a due retry) tasks to IN_PROGRESS";
    let expire = "expire moves only IN_PROGRESS (with an expired lease) tasks to FAILED";
    let cancel = "cancel moves only PENDING, IN_PROGRESS or FAILED tasks to BLOCKED";
    let block = "block moves only PENDING, IN_PROGRESS or FAILED tasks to BLOCKED";
    let retry = "retry moves only FAILED or BLOCKED tasks to PENDING";
    let skip = "skip moves only PENDING or FAILED tasks to DONE";
    let accept = "accept moves only FAILED or BLOCKED tasks to DONE";
    let unblock = "unblock moves only BLOCKED tasks to PENDING";
    let want = [
        format!("cannot claim ORCH-001: it is IN_PROGRESS, and {claim}"),
        format!("cannot claim ORCH-001: it is DONE, and {claim}"),
        format!("cannot claim ORCH-001: it is BLOCKED, and {claim}"),
        format!("cannot expire ORCH-001: it is PENDING, and {expire}"),
        format!("cannot expire ORCH-001: it is DONE, and {expire}"),
        format!("cannot expire ORCH-001: it is FAILED, and {expire}"),
        format!("cannot expire ORCH-001: it is BLOCKED, and {expire}"),
        format!("cannot cancel ORCH-001: it is DONE, and {cancel}"),
        format!("cannot cancel ORCH-001: it is BLOCKED, and {cancel}"),
        format!("cannot block ORCH-001: it is DONE, and {block}"),
        format!("cannot block ORCH-001: it is BLOCKED, and {block}"),
        format!("cannot retry ORCH-001: it is PENDING, and {retry}"),
        format!("cannot retry ORCH-001: it is IN_PROGRESS, and {retry}"),
        format!("cannot retry ORCH-001: it is DONE, and {retry}"),
        "cannot replan ORCH-001: it is DONE, and replan changes only PENDING, IN_PROGRESS, FAILED or BLOCKED tasks"
            .to_string(),
        format!("cannot skip ORCH-001: it is IN_PROGRESS, and {skip}"),
        format!("cannot skip ORCH-001: it is DONE, and {skip}"),
        format!("cannot skip ORCH-001: it is BLOCKED, and {skip}"),
        format!("cannot accept ORCH-001: it is PENDING, and {accept}"),
        format!("cannot accept ORCH-001: it is IN_PROGRESS, and {accept}"),
        format!("cannot accept ORCH-001: it is DONE, and {accept}"),
        format!("cannot unblock ORCH-001: it is PENDING, and {unblock}"),
        format!("cannot unblock ORCH-001: it is IN_PROGRESS, and {unblock}"),
        format!("cannot unblock ORCH-001: it is DONE, and {unblock}"),
        format!("cannot unblock ORCH-001: it is FAILED, and {unblock}"),
    ];
    assert_eq!(got, want);
    // An operator's --force on a task that is not running: the lease commands.
    let force = |cmd: Command, status: Status| {
        transition(&task_in(status), &cmd, now(), &RetryPolicy::default()).unwrap_err().to_string()
    };
    let heartbeat = Command::Heartbeat { auth: Auth::Force, lease_until: now() };
    assert_eq!(
        force(heartbeat, Status::Done),
        "cannot heartbeat ORCH-001: it is DONE, and heartbeat changes only IN_PROGRESS tasks"
    );
    let done = Command::Complete { auth: Auth::Force, notes: None };
    assert_eq!(
        force(done, Status::Failed),
        "cannot done ORCH-001: it is FAILED, and done moves only IN_PROGRESS tasks to DONE"
    );
}

#[test]
fn an_edit_sets_the_row_columns_and_ends_a_live_run() {
    let running = task_in(Status::InProgress);
    let mut to = running.clone();
    to.status = Status::Pending;
    to.task = "reworded".into();
    to.attempts = 99; // not a row column: ignored
    let cmd = Command::Edit { to: Box::new(to), source: "QUEUE.md line 4".into() };
    let c = transition(&running, &cmd, now(), &RetryPolicy::default()).unwrap();
    assert_eq!((c.task.status, c.task.task.as_str(), c.task.attempts), (Status::Pending, "reworded", 1));
    assert_eq!(c.task.lease, None);
    let reason = Some("edited_by_hand".to_string());
    assert_eq!(c.run, RunEffect::End { outcome: RunOutcome::Cancelled, class: None, reason });
    assert_eq!(c.events[0].event, kind::TASK_EDITED);
    assert_eq!(c.events[0].msg.as_deref(), Some("QUEUE.md line 4"));
    // A failed task edited to PENDING loses its retry time; one that stays keeps its lease.
    let mut to = task_in(Status::Failed);
    to.status = Status::Pending;
    let cmd = Command::Edit { to: Box::new(to), source: String::new() };
    let c = transition(&task_in(Status::Failed), &cmd, now(), &RetryPolicy::default()).unwrap();
    assert_eq!((c.task.status, c.task.retry_at, c.run), (Status::Pending, None, RunEffect::None));
    let mut to = running.clone();
    to.owner = Some("someone".into());
    let cmd = Command::Edit { to: Box::new(to), source: String::new() };
    let c = transition(&running, &cmd, now(), &RetryPolicy::default()).unwrap();
    assert_eq!((c.task.lease, c.run), (running.lease.clone(), RunEffect::None));
}
