//! Every kind of error has its own stable code, and every refusal the core's transition
//! function makes maps to a code of its own (never the fallback).

use super::*;
use jiff::{SignedDuration, Timestamp};
use orch_core::policy::{FailureClass, RetryPolicy};
use orch_core::state::{Auth, Command, Replan, transition};
use orch_core::task::{Lease, Priority, Status, Task};
use std::collections::{BTreeMap, BTreeSet};

fn now() -> Timestamp {
    "2026-02-08T00:00:00Z".parse().unwrap()
}

/// Tasks in every status, and running ones in every lease state.
fn tasks() -> Vec<Task> {
    let mut out = Vec::new();
    for status in Status::ALL {
        let mut t = Task::new("ORCH-001".into(), "work".into(), Priority::P1, 4, now());
        t.status = status;
        if status == Status::Failed {
            t.attempts = 1;
            t.retry_at = Some(now() + SignedDuration::from_hours(1));
        }
        if status != Status::InProgress {
            out.push(t);
            continue;
        }
        for (token, secs) in [("tok", -1), ("tok", 600), ("other", 600)] {
            let mut t = t.clone();
            t.lease = Some(Lease { token: token.into(), expires_at: now() + SignedDuration::from_secs(secs) });
            out.push(t);
        }
        out.push(t);
    }
    out
}

fn commands() -> Vec<Command> {
    let mut out = Vec::new();
    for auth in [Auth::Token("tok".into()), Auth::Force] {
        out.extend([
            Command::Heartbeat { auth: auth.clone(), lease_until: now() },
            Command::Complete { auth: auth.clone(), notes: None },
            Command::Fail { auth: auth.clone(), reason: "boom".into(), class: FailureClass::Transient, unit: 0.0 },
            Command::Interrupt { auth: auth.clone(), reason: "stop".into() },
            Command::Block { auth, reason: "budget_hard_exceeded".into() },
        ]);
    }
    out.extend([
        Command::Claim { owner: "w".into(), token: "new".into(), lease_until: now(), run_id: "r".into() },
        Command::Expire { unit: 0.0 },
        Command::Cancel { reason: None },
        Command::Retry,
        Command::Replan(Replan { reason: "why".into(), ..Replan::default() }),
        Command::Note { text: "hello".into() },
        Command::Skip { done_task: "ORCH-000".into() },
        Command::Accept { reason: "review".into() },
        Command::Unblock { by: "ORCH-000".into() },
    ]);
    out
}

#[test]
fn every_refusal_of_the_core_has_a_code_of_its_own() {
    let mut seen: BTreeMap<&str, String> = BTreeMap::new();
    for task in tasks() {
        for cmd in commands() {
            let Err(e) = transition(&task, &cmd, now(), &RetryPolicy::default()) else { continue };
            let err = Error::from(e);
            assert_ne!(err.code(), "transition_refused", "no code for: {err}");
            assert_eq!((err.exit_code(), err.http_status()), (5, 409), "{err}");
            seen.entry(err.code()).or_insert_with(|| err.to_string());
        }
    }
    let want = [
        "already_done",
        "already_stopped",
        "lease_mismatch",
        "lease_not_expired",
        "no_lease",
        "not_blocked",
        "not_failed_or_blocked",
        "not_pending_or_failed",
        "not_ready",
        "not_running",
    ];
    assert_eq!(seen.keys().copied().collect::<Vec<_>>(), want, "{seen:#?}");
}

/// One error of every kind.
fn every_kind() -> Vec<Error> {
    let refused =
        |allowed| TransitionError::Refused { id: "X-1".into(), verb: "retry", from: Status::Done, to: None, allowed };
    let lost = |detail: &str| TransitionError::LeaseLost { id: "X-1".into(), detail: detail.into() };
    vec![
        Error::Usage("u".into()),
        Error::Input { file: "QUEUE.md".into(), diags: Vec::new() },
        Error::NotFound("n".into()),
        Error::Conflict("c".into()),
        Error::Drift("d".into()),
        Error::Transition(refused("PENDING (once its start time, if any, has come) or FAILED (with a due retry)")),
        Error::Transition(refused("IN_PROGRESS")),
        Error::Transition(refused("IN_PROGRESS (with an expired lease)")),
        Error::Transition(refused("PENDING, IN_PROGRESS or FAILED")),
        Error::Transition(refused("FAILED or BLOCKED")),
        Error::Transition(refused("PENDING, IN_PROGRESS, FAILED or BLOCKED")),
        Error::Transition(refused("PENDING or FAILED")),
        Error::Transition(refused("BLOCKED")),
        Error::Transition(refused("something new")),
        Error::Transition(lost("is held by another run now")),
        Error::Transition(lost("is held outside orch (no lease)")),
        Error::WrongToken("w".into()),
        Error::Store(StoreError::NotFound("n".into())),
        Error::Store(StoreError::Conflict("c".into())),
        Error::Store(StoreError::Busy("b".into())),
        Error::Store(StoreError::Unavailable("u".into())),
        Error::Store(StoreError::Open("o".into())),
        Error::Store(StoreError::Db("d".into())),
        Error::Store(StoreError::abort(std::io::Error::other("a"))),
        Error::Io("i".into()),
    ]
}

#[test]
fn codes_are_unique_snake_case_and_match_the_documented_table() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/API.md")).unwrap();
    let mut codes = BTreeSet::new();
    for e in every_kind() {
        let code = e.code();
        assert!(code.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{code} is not snake_case");
        assert!(codes.insert(code), "{code} is given to two kinds of error");
        let row = format!("| `{code}` | {} | {} |", e.exit_code(), e.http_status());
        assert!(doc.contains(&row), "docs/API.md lacks the row `{row}`");
    }
    // `not_running` is also the code of a lease held no more because the task stopped.
    let ended = TransitionError::LeaseLost { id: "X-1".into(), detail: "is DONE now".into() };
    assert_eq!(Error::Transition(ended).code(), "not_running");
}

#[test]
fn an_error_serialises_with_its_code_message_and_exit_code() {
    let e = Error::Store(StoreError::NotFound("ORCH-9".into()));
    let v = serde_json::to_value(&e).unwrap();
    assert_eq!(v, serde_json::json!({"code": "task_not_found", "message": "no task ORCH-9", "exit": 4}));
    let back: ErrorBody = serde_json::from_value(v).unwrap();
    assert_eq!(back, e.body());
}
