//! Claims, leases, retries and idempotency through the real binary: racing processes,
//! exit codes (4 nothing to pick, 5 lease lost), the watchdog, `log`. What needs a clock
//! that moves (backoff schedules, exhaustion) is in the conformance suite
//! (`conformance/leases.rs`, on every store); a lease that must have expired here is
//! taken through the library with its clock set back an hour.

use crate::common::{Project, queue_of};
use jiff::{SignedDuration, Timestamp};
use orch::clock::ManualClock;
use orch::config::Config;
use orch::home::Home;
use orch::ops::{ClaimRequest, Options, Orch};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// `pick --json`: the task id and lease token, or `None` on exit 4.
fn pick(p: &Project, owner: &str, extra: &[&str]) -> Option<(String, String)> {
    let mut args = vec!["pick", "--owner", owner, "--json"];
    args.extend_from_slice(extra);
    let (code, out, err) = p.run(&args);
    if code == 4 {
        assert!(err.contains("nothing to pick"), "{err}");
        return None;
    }
    assert_eq!(code, 0, "pick failed: {err}");
    assert!(err.is_empty(), "pick warned: {err}");
    let v: Value = serde_json::from_str(&out).expect("pick --json");
    Some((v["id"].as_str().unwrap().to_string(), v["lease"]["token"].as_str().unwrap().to_string()))
}

/// Claims the next task as `owner` an hour ago, through the library with a clock set
/// back: its 15-minute lease is long expired for the real binary. (The binary refuses
/// leases under 3s; time moves in-process, never by sleeping.) The task id and token.
fn pick_an_hour_ago(p: &Project, owner: &str) -> (String, String) {
    pick_hours_ago(p, owner, 1)
}

fn pick_hours_ago(p: &Project, owner: &str, hours: i64) -> (String, String) {
    let home = Home { dir: p.file(".orch") };
    let config = Config::load(&home.config_path()).expect("config");
    let db = orch_store::open(&home.db_path().display().to_string()).expect("open store");
    let clock = Arc::new(ManualClock::new(Timestamp::now() - SignedDuration::from_hours(hours)));
    let orch = Orch::with_parts(home, config, db, &Options::default(), clock);
    let req = ClaimRequest::new(owner, SignedDuration::from_mins(15));
    let (c, w) = orch.claim(&req).expect("claim");
    assert!(w.is_empty(), "{w:?}");
    let c = c.expect("a task to claim");
    (c.task.id, c.run.lease_token)
}

fn log_json(p: &Project, id: &str) -> Vec<Value> {
    p.json(&["log", id]).as_array().expect("runs").clone()
}

fn events(p: &Project) -> Vec<Value> {
    p.read(".orch/events.jsonl").lines().map(|l| serde_json::from_str(l).expect("event line")).collect()
}

#[test]
fn six_processes_racing_pick_and_done_finish_every_task_exactly_once() {
    const TASKS: usize = 300;
    const WORKERS: usize = 6;
    let p = Project::init_plain(Some(&queue_of(TASKS)));
    let results: Vec<(String, Vec<String>, Vec<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..WORKERS)
            .map(|w| {
                let p = &p;
                s.spawn(move || {
                    let owner = format!("w{w}");
                    let (mut mine, mut problems) = (Vec::new(), Vec::new());
                    for _ in 0..=TASKS {
                        let (code, out, err) = p.run(&["pick", "--owner", &owner, "--json"]);
                        if code == 4 {
                            break;
                        }
                        if code != 0 || !err.is_empty() {
                            problems.push(format!("pick exit {code}: {err}"));
                            continue;
                        }
                        let v: Value = serde_json::from_str(&out).expect("pick --json");
                        let id = v["id"].as_str().unwrap().to_string();
                        let token = v["lease"]["token"].as_str().unwrap();
                        let (code, _, err) = p.run(&["done", &id, "--lease", token]);
                        if code != 0 || !err.is_empty() {
                            problems.push(format!("done {id} exit {code}: {err}"));
                        }
                        mine.push(id);
                    }
                    (owner, mine, problems)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut claimer: BTreeMap<String, String> = BTreeMap::new();
    for (owner, mine, problems) in &results {
        assert!(problems.is_empty(), "{owner}: {problems:#?}");
        for id in mine {
            if let Some(other) = claimer.insert(id.clone(), owner.clone()) {
                panic!("{id} claimed by {other} and {owner}");
            }
        }
    }
    assert_eq!(claimer.len(), TASKS, "every task claimed");
    let busy = results.iter().filter(|(_, mine, _)| !mine.is_empty()).count();
    assert!(busy >= 2, "the workers raced: {busy} of them claimed work");
    for t in p.json(&["list"]).as_array().unwrap() {
        assert_eq!(t["status"], "DONE", "{t}");
        assert_eq!(t["attempts"], 1, "{t}");
    }
    for (id, owner) in &claimer {
        let runs = log_json(&p, id);
        assert_eq!(runs.len(), 1, "{id}: {runs:?}");
        assert_eq!(runs[0]["outcome"], "done", "{id}");
        assert_eq!(runs[0]["owner"], owner.as_str(), "{id}");
    }
    let mut claimed: BTreeMap<String, usize> = BTreeMap::new();
    let mut done: BTreeMap<String, usize> = BTreeMap::new();
    for e in events(&p) {
        let id = e["task_id"].as_str().unwrap_or_default().to_string();
        match e["event"].as_str().unwrap() {
            "task.claimed" => *claimed.entry(id).or_default() += 1,
            "task.done" => *done.entry(id).or_default() += 1,
            _ => {}
        }
    }
    assert_eq!(claimed.len(), TASKS);
    assert!(claimed.values().all(|&n| n == 1), "one task.claimed per task");
    assert!(done.len() == TASKS && done.values().all(|&n| n == 1), "one task.done per task");
    assert!(p.queue_md().contains("| ORCH-300 | DONE |"), "the view followed");
}

#[test]
fn the_watchdog_turns_an_expired_lease_into_a_transient_failure() {
    let p = Project::init(None);
    p.ok(&["add", "flaky"]);
    let (id, _) = pick_an_hour_ago(&p, "w1");
    let out = p.ok(&["watchdog"]);
    assert_eq!(out.trim(), format!("{id} lease_expired: now FAILED"));
    let t = p.json(&["show", &id]);
    assert_eq!(t["status"], "FAILED");
    assert_eq!(t["notes"], "lease_expired");
    assert!(t.get("lease").is_none());
    let at = |k: &str| t[k].as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
    assert_eq!(at("retry_at").duration_since(at("updated_at")).as_secs(), 60, "first backoff is 1m");
    assert!(pick(&p, "w2", &[]).is_none(), "not claimable before retry_at");
    assert_eq!(p.ok(&["watchdog"]).trim(), "no expired leases");
    let runs = log_json(&p, &id);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["outcome"], "expired");
    assert_eq!(runs[0]["class"], "transient");
    assert_eq!(runs[0]["reason"], "lease_expired");
    assert!(events(&p).iter().any(|e| e["event"] == "lease.expired" && e["task_id"] == id.as_str()));
}

#[test]
fn a_stale_token_is_refused_with_exit_5_and_its_report_kept() {
    let p = Project::init_plain(None);
    p.ok(&["add", "contested"]);
    let (id, stale) = pick_an_hour_ago(&p, "w1");
    p.ok(&["watchdog"]);
    p.ok(&["retry", &id]);
    let (_, live) = pick(&p, "w2", &[]).unwrap();
    p.write("late.md", "- found it\n\nRisks: none\n");
    for args in [
        vec!["done", &id, "--lease", &stale, "--report", "late.md"],
        vec!["fail", &id, "--lease", &stale, "--reason", "x"],
        vec!["heartbeat", &id, "--lease", &stale],
    ] {
        let (code, _, err) = p.run(&args);
        assert_eq!(code, 5, "{args:?}: {err}");
        assert!(err.contains("lease lost") && err.contains(&id), "{err}");
    }
    let runs = log_json(&p, &id);
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["late_report"], "- found it\n\nRisks: none\n", "the late report is kept");
    assert_eq!(runs[1]["late_report"], Value::Null);
    assert_eq!(p.json(&["show", &id])["status"], "IN_PROGRESS", "the live run goes on");
    let text = p.ok(&["log", &id]);
    assert!(text.contains("a report arrived after the lease was lost"), "{text}");
    // The holder of the live lease, through the environment as the dispatcher sets it.
    let out = p.orch(&["done", &id]).env("ORCH_LEASE_TOKEN", &live).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(p.json(&["show", &id])["status"], "DONE");
}

#[test]
fn force_overrides_the_lease() {
    let p = Project::init(None);
    p.ok(&["add", "stuck"]);
    let (id, _) = pick(&p, "w1", &[]).unwrap();
    let (code, _, err) = p.run(&["done", &id]);
    assert_eq!(code, 2, "no token, no force: {err}");
    let (code, _, err) = p.run(&["done", &id, "--lease", "not-the-token"]);
    assert_eq!((code, err.contains("wrong lease token")), (5, true), "{err}");
    p.ok(&["done", &id, "--force", "--notes", "closed by hand"]);
    let t = p.json(&["show", &id]);
    assert_eq!((t["status"].as_str(), t["notes"].as_str()), (Some("DONE"), Some("closed by hand")));
    assert_eq!(log_json(&p, &id)[0]["outcome"], "done");
    let (code, _, err) = p.run(&["done", &id, "--force"]);
    assert_eq!(code, 5, "a DONE task is not IN_PROGRESS: {err}");
}

#[test]
fn failures_transient_back_off_and_permanent_wait_for_retry() {
    let p = Project::init(None);
    p.ok(&["add", "flaky"]);
    p.ok(&["add", "broken"]);
    let (flaky, tok) = pick(&p, "w", &[]).unwrap();
    let out = p.ok(&["fail", &flaky, "--lease", &tok, "--reason", "exit 75"]);
    assert!(out.contains("FAILED: retry in"), "{out}");
    let (broken, tok) = pick(&p, "w", &[]).unwrap();
    p.ok(&["fail", &broken, "--lease", &tok, "--reason", "bad input", "--permanent"]);
    let t = p.json(&["show", &broken]);
    assert_eq!((t["status"].as_str(), &t["retry_at"]), (Some("FAILED"), &Value::Null));
    assert!(pick(&p, "w", &[]).is_none(), "flaky's retry is a minute away; broken waits for an operator");
    p.ok(&["retry", &broken]);
    let (again, _) = pick(&p, "w", &[]).unwrap();
    assert_eq!(again, broken);
    let t = p.json(&["show", &broken]);
    assert_eq!(t["attempts"], 1, "an operator's retry starts the count again");
}

#[test]
fn racing_adds_with_one_idempotency_key_make_one_task() {
    let p = Project::init(None);
    let outs: Vec<Value> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..6)
            .map(|_| {
                let p = &p;
                s.spawn(move || {
                    let (code, out, err) = p.run(&["add", "deploy v2", "--idempotency-key", "deploy-v2", "--json"]);
                    assert_eq!(code, 0, "{err}");
                    assert!(err.is_empty(), "{err}");
                    serde_json::from_str::<Value>(&out).unwrap()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(outs.iter().filter(|v| v["created"] == true).count(), 1);
    let ids: BTreeSet<&str> = outs.iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(p.json(&["list"]).as_array().unwrap().len(), 1);
    let again = p.ok(&["add", "deploy v2", "--idempotency-key", "deploy-v2"]);
    assert!(again.contains("exists with that idempotency key"), "{again}");
}

#[test]
fn pick_honours_dependencies_and_resources() {
    let p = Project::init_plain(None);
    p.ok(&["add", "build"]); // ORCH-001
    p.ok(&["add", "ship", "--depends-on", "ORCH-001"]); // ORCH-002
    p.ok(&["add", "train a", "--resource", "gpu0"]); // ORCH-003
    p.ok(&["add", "train b", "--resource", "gpu0"]); // ORCH-004
    let (a, ta) = pick(&p, "w1", &[]).unwrap();
    let (b, tb) = pick(&p, "w2", &[]).unwrap();
    assert_eq!((a.as_str(), b.as_str()), ("ORCH-001", "ORCH-003"));
    assert!(pick(&p, "w3", &[]).is_none(), "ship waits for build, train b for gpu0");
    p.ok(&["done", &b, "--lease", &tb]);
    let (c, _) = pick(&p, "w3", &[]).unwrap();
    assert_eq!(c, "ORCH-004", "gpu0 is free again");
    let running: Vec<Value> = p.json(&["list", "--status", "IN_PROGRESS"]).as_array().unwrap().clone();
    let gpu = running.iter().filter(|t| t["resource"] == "gpu0").count();
    assert_eq!(gpu, 1, "two tasks sharing a resource never both run");
    p.ok(&["done", &a, "--lease", &ta]);
    assert_eq!(pick(&p, "w4", &[]).unwrap().0, "ORCH-002");
}

#[test]
fn pick_order_is_priority_then_due_then_id() {
    let p = Project::init(None);
    p.ok(&["add", "low soon", "-p", "P2", "--due", "+1h"]); // 001
    p.ok(&["add", "mid none"]); // 002
    p.ok(&["add", "mid late", "--due", "+5h"]); // 003
    p.ok(&["add", "high none", "-p", "P0"]); // 004
    p.ok(&["add", "mid early", "--due", "+2h"]); // 005
    p.ok(&["add", "mid none 2"]); // 006
    let order: Vec<String> = std::iter::from_fn(|| pick(&p, "w", &[]).map(|(id, _)| id)).take(10).collect();
    assert_eq!(order, ["ORCH-004", "ORCH-005", "ORCH-003", "ORCH-002", "ORCH-006", "ORCH-001"]);
}

#[test]
fn log_lists_every_attempt_with_owner_times_class_reason_and_outcome() {
    let p = Project::init_plain(None);
    p.ok(&["add", "three tries"]);
    // Attempts in order of time: alice two hours ago, bob one hour ago, carol now.
    let (id, tok) = pick_hours_ago(&p, "alice", 2);
    p.ok(&["fail", &id, "--lease", &tok, "--reason", "no credentials", "--permanent"]);
    p.ok(&["retry", &id]);
    pick_an_hour_ago(&p, "bob");
    p.ok(&["watchdog"]);
    p.ok(&["retry", &id]);
    let (_, tok) = pick(&p, "carol", &[]).unwrap();
    p.ok(&["done", &id, "--lease", &tok]);
    let runs = log_json(&p, &id);
    let got: Vec<(String, String, String, String)> = runs
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or("-").to_string();
            (s("owner"), s("outcome"), s("class"), s("reason"))
        })
        .collect();
    let want = [
        ("alice", "failed", "permanent", "no credentials"),
        ("bob", "expired", "transient", "lease_expired"),
        ("carol", "done", "-", "-"),
    ];
    let want: Vec<(String, String, String, String)> =
        want.iter().map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string())).collect();
    assert_eq!(got, want);
    for r in &runs {
        assert!(r["started_at"].is_string() && r["ended_at"].is_string(), "{r}");
        assert_eq!(r["trace_id"].as_str().unwrap().len(), 32);
    }
    let text = p.ok(&["log", &id]);
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(text.ends_with("total: 3 attempts tokens=0/0 cost=$0.0000\n"), "{text}");
    assert!(
        lines[0].contains("owner=alice") && lines[0].contains("outcome=failed class=permanent reason=no credentials")
    );
    assert!(
        lines[1].contains("owner=bob") && lines[1].contains("outcome=expired class=transient reason=lease_expired")
    );
    assert!(lines[2].contains("owner=carol") && lines[2].contains("outcome=done"));
    assert!(lines.iter().all(|l| l.contains(" start=") && l.contains(" took=")), "{text}");
}

#[test]
fn heartbeat_extends_the_lease() {
    let p = Project::init(None);
    p.ok(&["add", "long"]);
    let (id, tok) = pick(&p, "w", &["--lease", "1m"]).unwrap();
    let expiry = |t: &Value| t["lease"]["expires_at"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
    let before = expiry(&p.json(&["show", &id]));
    let after = expiry(&p.json(&["heartbeat", &id, "--lease", &tok, "--for", "30m"]));
    let gained = after.duration_since(before).as_secs();
    assert!((29 * 60..=30 * 60).contains(&gained), "lease grew by {gained}s");
    // The clock reads whole milliseconds, as the store keeps them: the command's own
    // output and `show` agree to the digit.
    let shown = p.json(&["show", &id]);
    assert_eq!(expiry(&shown), after, "stored");
    assert_eq!(shown["lease"]["expires_at"], p.json(&["show", &id])["lease"]["expires_at"]);
    let out = p.orch(&["heartbeat", &id]).env("ORCH_LEASE_TOKEN", &tok).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(events(&p).iter().filter(|e| e["event"] == "lease.renewed").count() == 2);
    assert_eq!(p.ok(&["watchdog"]).trim(), "no expired leases");
}

#[test]
fn a_lease_shorter_than_three_seconds_is_refused_and_times_are_milliseconds() {
    let p = Project::init(None);
    p.ok(&["add", "short"]);
    for lease in ["0s", "1ms", "2s"] {
        let (code, _, err) = p.run(&["pick", "--owner", "w", "--lease", lease]);
        assert_eq!(code, 2, "--lease {lease}: {err}");
        assert!(err.contains("at least 3s"), "{err}");
    }
    assert_eq!(p.json(&["show", "ORCH-001"])["status"], "PENDING", "nothing was claimed, no attempt burnt");
    let picked = p.json(&["pick", "--owner", "w", "--lease", "3s"]);
    let id = picked["id"].as_str().unwrap();
    let token = picked["lease"]["token"].as_str().unwrap();
    let (code, _, err) = p.run(&["heartbeat", id, "--lease", token, "--for", "0s"]);
    assert_eq!(code, 2, "{err}");
    // What pick printed is what show prints: whole milliseconds.
    let shown = p.json(&["show", id]);
    for key in ["started_at", "updated_at"] {
        assert_eq!(picked[key], shown[key], "{key}");
    }
    assert_eq!(picked["lease"]["expires_at"], shown["lease"]["expires_at"]);
    let at = picked["started_at"].as_str().unwrap().parse::<Timestamp>().unwrap();
    assert_eq!(at.subsec_nanosecond() % 1_000_000, 0, "{at}");
    let beat = p.json(&["heartbeat", id, "--lease", token, "--for", "10m"]);
    assert_eq!(beat["lease"]["expires_at"], p.json(&["show", id])["lease"]["expires_at"]);
}

#[test]
fn a_late_report_with_another_tasks_token_lands_on_neither_task() {
    let p = Project::init(None);
    p.ok(&["add", "first"]);
    p.ok(&["add", "second"]);
    let (a, ta) = pick(&p, "wa", &[]).unwrap();
    let (b, _) = pick(&p, "wb", &[]).unwrap();
    p.write("late.md", "- not for b\n\nRisks: none\n");
    // A's token presented for B: refused, and the report is no report of A's run.
    let (code, _, err) = p.run(&["done", &b, "--lease", &ta, "--report", "late.md"]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("wrong lease token"), "{err}");
    for id in [&a, &b] {
        let runs = log_json(&p, id);
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0]["late_report"], Value::Null, "{id}");
    }
    assert!(!events(&p).iter().any(|e| e["event"] == "report.late"), "no late report was kept");
    assert_eq!(p.json(&["show", &a])["status"], "IN_PROGRESS");
    // A's own late report still lands on A's run.
    p.ok(&["cancel", &a]);
    let (code, _, _) = p.run(&["done", &a, "--lease", &ta, "--report", "late.md"]);
    assert_eq!(code, 5);
    assert_eq!(log_json(&p, &a)[0]["late_report"], "- not for b\n\nRisks: none\n");
}

/// A task added after a task it waits on failed for good is blocked at once, as the
/// tasks already waiting were when it failed; it never waits PENDING forever.
#[test]
fn a_task_added_after_its_dependency_failed_for_good_is_blocked() {
    let p = Project::init(Some(&crate::common::queue_of(1)));
    p.ok(&["add", "waits early", "--depends-on", "ORCH-001"]);
    p.ok(&["cancel", "ORCH-001"]);
    p.ok(&["add", "waits late", "--depends-on", "ORCH-001"]);
    for id in ["ORCH-002", "ORCH-003"] {
        let t = p.json(&["show", id]);
        assert_eq!(t["status"], "BLOCKED", "{t}");
        assert!(t["notes"].as_str().unwrap().ends_with("blocked_by:ORCH-001"), "{t}");
    }
    assert!(p.queue_md().contains("| ORCH-003 | BLOCKED |"), "{}", p.queue_md());
    // Released like the others when the dependency is done after all.
    p.ok(&["retry", "ORCH-001"]);
    let (id, token) = pick(&p, "w", &[]).unwrap();
    assert_eq!(id, "ORCH-001");
    p.ok(&["done", &id, "--lease", &token, "--force"]);
    assert_eq!(p.json(&["show", "ORCH-003"])["status"], "PENDING");
}
