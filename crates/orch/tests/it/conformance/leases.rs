//! Conformance: a claim's run and lease, heartbeats, the sweep of expired leases, failures
//! and their backoff, an operator's retry, and a late holder's report, on every store
//! (time moves by the manual clock).

use super::Env;
use jiff::SignedDuration;
use orch::error::Error;
use orch::ops::Finish;
use orch_core::event::Event;
use orch_core::policy::FailureClass;
use orch_core::state::{Auth, Command};
use orch_core::task::Status;

const OK: &str = "- ok\nRisks: none";

pub(super) fn a_claim_starts_a_run_under_a_lease(env: &Env) {
    let id = env.add("write the docs");
    let c = env.claim("w1").expect("claimable");
    assert_eq!(c.task.id, id);
    assert_eq!(c.task.status, Status::InProgress);
    assert_eq!((c.task.attempts, c.run.attempt), (1, 1));
    assert_eq!(c.task.owner.as_deref(), Some("w1"));
    assert_eq!(c.task.started_at, Some(env.now()));
    let lease = c.task.lease.as_ref().expect("lease");
    assert_eq!(lease.token, c.run.lease_token);
    assert_eq!(lease.expires_at, env.now() + SignedDuration::from_mins(15));
    assert_eq!(c.run.trace_id.len(), 32);
    let claimed: Vec<Event> = env.events().into_iter().filter(|e| e.event == "task.claimed").collect();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].run_id.as_deref(), Some(c.run.id.as_str()));
    assert_eq!(claimed[0].trace_id.as_deref(), Some(c.run.trace_id.as_str()));
    assert!(env.claim("w2").is_none(), "one task, one claim");
    let done = env.done(&c, OK);
    assert_eq!((done.status, done.lease.as_ref()), (Status::Done, None));
    let runs = env.orch.runs(&id).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outcome.as_deref(), Some("done"));
    assert_eq!(runs[0].report.as_deref(), Some("- ok\nRisks: none"));
}

pub(super) fn lease_expiry_backs_off_one_three_ten_minutes_then_retries_are_exhausted(env: &Env) {
    let id = env.add("flaky");
    let mut waits = Vec::new();
    for attempt in 1..=4u32 {
        let c = env.claim("w").unwrap_or_else(|| panic!("attempt {attempt} claimable"));
        assert_eq!(c.task.attempts, attempt);
        env.advance(15 * 60 - 1);
        assert!(env.orch.sweep().unwrap().0.is_empty(), "a live lease is left alone");
        env.advance(1);
        let (swept, _) = env.orch.sweep().unwrap();
        assert_eq!(swept.len(), 1);
        let t = &swept[0];
        assert_eq!((t.status, t.lease.as_ref()), (Status::Failed, None));
        match t.retry_at {
            Some(at) => {
                let wait = at.duration_since(env.now()).as_secs();
                waits.push(wait);
                env.advance(wait - 1);
                assert!(env.claim("w").is_none(), "not claimable before retry_at");
                env.advance(1);
            }
            None => assert_eq!(attempt, 4, "retries end after four attempts"),
        }
    }
    assert_eq!(waits, [60, 180, 600]);
    let t = env.get(&id);
    assert_eq!((t.status, t.retry_at, t.attempts), (Status::Failed, None, 4));
    assert!(t.notes.as_deref().unwrap().ends_with("lease_expired / retry_exhausted"), "{:?}", t.notes);
    env.advance(86_400);
    assert!(env.claim("w").is_none(), "an exhausted task waits for an operator");
    let runs = env.orch.runs(&id).unwrap();
    assert_eq!(runs.len(), 4);
    for (i, r) in runs.iter().enumerate() {
        assert_eq!(r.attempt, i as u32 + 1);
        assert_eq!(r.outcome.as_deref(), Some("expired"));
        assert_eq!(r.class, Some(FailureClass::Transient));
        assert_eq!(r.reason.as_deref(), Some("lease_expired"));
    }
    assert_eq!(env.events_of(&id, "lease.expired"), 4);
    assert_eq!(env.events_of(&id, "retry.scheduled"), 3);
    assert_eq!(env.events_of(&id, "retry.exhausted"), 1);
}

pub(super) fn heartbeats_extend_the_lease_so_the_watchdog_spares_live_work(env: &Env) {
    let id = env.add("long job");
    let c = env.claim("w").unwrap();
    let token = Auth::Token(c.run.lease_token.clone());
    for _ in 0..5 {
        env.advance(5 * 60);
        let (t, _) = env.orch.heartbeat(&id, token.clone(), SignedDuration::from_mins(15)).unwrap();
        assert_eq!(t.lease.unwrap().expires_at, env.now() + SignedDuration::from_mins(15));
        assert!(env.orch.sweep().unwrap().0.is_empty());
    }
    assert_eq!(env.events_of(&id, "lease.renewed"), 5);
    env.advance(15 * 60);
    let (swept, _) = env.orch.sweep().unwrap();
    assert_eq!(swept.len(), 1, "silence for a whole lease expires it");
    // A heartbeat with the old token now finds the lease lost.
    let err = env.orch.heartbeat(&id, token, SignedDuration::from_mins(15)).unwrap_err();
    assert_eq!(err.exit_code(), 5);
    assert!(err.to_string().contains("lease lost"), "{err}");
}

pub(super) fn a_claim_sweeps_expired_leases_before_it_picks(env: &Env) {
    let a = env.add("a");
    let b = env.add("b");
    let ca = env.claim("w1").unwrap();
    assert_eq!(ca.task.id, a);
    env.advance(16 * 60);
    let cb = env.claim("w2").unwrap();
    assert_eq!(cb.task.id, b, "a's retry is not due yet");
    let t = env.get(&a);
    assert_eq!(t.status, Status::Failed);
    assert_eq!(t.retry_at, Some(env.now() + SignedDuration::from_secs(60)));
    assert_eq!(env.events_of(&a, "lease.expired"), 1);
}

pub(super) fn an_expired_lease_still_holds_until_the_watchdog_takes_it(env: &Env) {
    // Nobody else can claim the task before a sweep, so its late holder may still finish.
    let id = env.add("slow");
    let c = env.claim("w").unwrap();
    env.advance(20 * 60);
    assert_eq!(env.done(&c, OK).status, Status::Done);
    assert!(env.orch.sweep().unwrap().0.is_empty());
    assert_eq!(env.orch.runs(&id).unwrap()[0].outcome.as_deref(), Some("done"));
}

pub(super) fn a_stale_token_is_refused_as_lease_lost_and_its_report_is_kept(env: &Env) {
    let id = env.add("contested");
    let first = env.claim("w1").unwrap();
    env.advance(16 * 60);
    env.orch.sweep().unwrap();
    env.advance(60);
    let second = env.claim("w2").unwrap();
    assert_eq!(second.task.attempts, 2);
    let stale = Auth::Token(first.run.lease_token.clone());
    let err = env.orch.finish(&id, stale, Finish::Done { notes: None }, Some("late words")).unwrap_err();
    assert!(matches!(err, Error::Transition(_)), "{err:?}");
    assert_eq!(err.exit_code(), 5);
    assert!(err.to_string().contains("lease lost") && err.to_string().contains("another run"), "{err}");
    let runs = env.orch.runs(&id).unwrap();
    assert_eq!(runs[0].late_report.as_deref(), Some("late words"));
    assert_eq!(runs[0].outcome.as_deref(), Some("expired"));
    assert_eq!(runs[1].late_report, None);
    assert_eq!(env.get(&id).status, Status::InProgress, "the live run is untouched");
    assert_eq!(env.events_of(&id, "report.late"), 1);
    // The operator overrides.
    let (t, _) = env.orch.finish(&id, Auth::Force, Finish::Done { notes: None }, None).unwrap();
    assert_eq!(t.status, Status::Done);
    assert_eq!(env.orch.runs(&id).unwrap()[1].outcome.as_deref(), Some("done"));
}

pub(super) fn heartbeats_extend_the_lease_and_a_stale_token_is_refused(env: &Env) {
    let id = env.add("long job");
    let c = env.claim("w").unwrap();
    env.advance(600);
    let auth = Auth::Token(c.run.lease_token.clone());
    let (t, _) = env.orch.heartbeat(&id, auth.clone(), SignedDuration::from_mins(15)).unwrap();
    assert_eq!(t.lease.unwrap().expires_at, env.now() + SignedDuration::from_mins(15));
    let wrong = Auth::Token("0".repeat(32));
    assert!(env.orch.heartbeat(&id, wrong.clone(), SignedDuration::from_mins(15)).is_err());
    let report = "- late but here\nRisks: none";
    let err = env.orch.finish(&id, wrong, Finish::Done { notes: None }, Some(report));
    assert!(err.is_err(), "a stale token cannot finish");
    // The lease expires, someone else claims; the first worker's report is still kept.
    env.advance(16 * 60);
    env.orch.sweep().unwrap();
    env.advance(3600);
    let c2 = env.claim("w2").unwrap();
    assert_eq!(c2.task.id, id);
    assert!(env.orch.finish(&id, auth, Finish::Done { notes: None }, Some(report)).is_err());
    let run = env.orch.runs(&id).unwrap().into_iter().next().unwrap();
    assert_eq!(run.late_report.as_deref(), Some(report));
    assert_eq!(env.events().iter().filter(|e| e.event == "report.late").count(), 1);
}

pub(super) fn transient_failures_back_off_then_run_again(env: &Env) {
    let id = env.add("flaky");
    let mut waits = Vec::new();
    for attempt in 1..=4u32 {
        let c = env.claim("w").unwrap_or_else(|| panic!("attempt {attempt} claimable"));
        let t = env.fail(&c, FailureClass::Transient);
        assert_eq!(t.status, Status::Failed);
        match t.retry_at {
            Some(at) => {
                let wait = at.duration_since(env.now()).as_secs();
                waits.push(wait);
                env.advance(wait - 1);
                assert!(env.claim("w").is_none(), "not before retry_at");
                env.advance(1);
            }
            None => assert_eq!(attempt, 4),
        }
    }
    assert_eq!(waits, [60, 180, 600]);
    let t = env.get(&id);
    assert_eq!((t.status, t.retry_at, t.attempts), (Status::Failed, None, 4));
    assert_eq!(env.orch.runs(&id).unwrap().len(), 4);
}

pub(super) fn a_permanent_failure_waits_for_an_operator_retry(env: &Env) {
    let id = env.add("bad input");
    let c = env.claim("w").unwrap();
    let t = env.fail(&c, FailureClass::Permanent);
    assert_eq!((t.status, t.retry_at), (Status::Failed, None));
    env.advance(7 * 86_400);
    assert!(env.claim("w").is_none());
    let (t, _) = env.orch.apply(&id, &Command::Retry).unwrap();
    assert_eq!((t.status, t.attempts), (Status::Pending, 0), "a retry resets the attempts");
    assert!(t.notes.as_deref().unwrap().ends_with("boom / no_retry:permanent / retry_by_operator"), "{:?}", t.notes);
    let again = env.claim("w").unwrap();
    assert_eq!((again.task.id.as_str(), again.task.attempts), (id.as_str(), 1));
    let runs = env.orch.runs(&id).unwrap();
    assert_eq!(runs[0].class, Some(FailureClass::Permanent));
    assert_eq!((runs[1].attempt, runs[1].outcome.as_deref()), (1, None));
}

pub(super) fn the_sweep_expires_leases(env: &Env) {
    let id = env.add("stuck");
    env.claim("w").unwrap();
    env.advance(15 * 60 - 1);
    assert!(env.orch.sweep().unwrap().0.is_empty());
    env.advance(1);
    let (swept, _) = env.orch.sweep().unwrap();
    assert_eq!(swept.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), [id.as_str()]);
    let t = env.get(&id);
    assert_eq!((t.status, t.lease.as_ref()), (Status::Failed, None));
    assert!(t.notes.unwrap().contains("lease_expired"));
    assert_eq!(env.orch.runs(&id).unwrap()[0].reason.as_deref(), Some("lease_expired"));
}
