//! How a command names a task and a priority: an id in any case, a bare number under the
//! queue's prefix, any width of the number (one lookup for every command taking an id);
//! `quick` refuses a priority the queue does not have, listing those it has.

use crate::common::{Project, queue_of};

#[test]
fn quick_refuses_an_unknown_priority_listing_the_priorities() {
    let p = Project::init(None);
    for line in ["p3 fix the login", "fix the login P9"] {
        let (code, out, err) = p.run(&["quick", line]);
        assert_eq!(code, 2, "{line}: {out}{err}");
        assert!(err.contains("unknown priority") && err.contains("the priorities are P0, P1, P2"), "{err}");
    }
    let (code, out, _) = p.run(&["quick", "--json", "p3 fix the login"]);
    assert_eq!(code, 2);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["error"]["code"], "bad_usage", "{v}");
    // Nothing was added; chat's `!add` is refused the same way.
    assert_eq!(p.ok(&["list"]), "");
    let (code, out, _) = p.run(&["chat", "!add p3 fix the login"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("P0, P1, P2"), "{out}");
    assert!(p.ok(&["quick", "p2 fix the login"]).contains("ORCH-001 added (P2)"));
}

#[test]
fn an_id_in_any_case_or_a_bare_number_names_the_task() {
    let p = Project::init_plain(Some(&queue_of(5)));
    for id in ["ORCH-005", "orch-005", "Orch-5", "5", "005", " 5 "] {
        let v = p.json(&["show", id]);
        assert_eq!(v["id"], "ORCH-005", "{id}");
    }
    assert!(p.ok(&["status", "3"]).contains("id:               ORCH-003"));
    assert!(p.ok(&["note", "2", "hello"]).starts_with("ORCH-002 noted"));
    assert!(p.ok(&["cancel", "orch-4", "--reason", "dup"]).starts_with("ORCH-004 cancelled"));
    assert!(p.ok(&["retry", "4"]).starts_with("ORCH-004 retried"));
    assert!(p.ok(&["replan", "1", "--reason", "scope", "-p", "p0"]).starts_with("ORCH-001 replanned"));
    assert!(p.ok(&["log", "1"]).contains("no attempts yet"));
    // The worker's commands take it too.
    let picked = p.json(&["pick", "--owner", "w"]);
    assert_eq!(picked["id"], "ORCH-001");
    let token = picked["lease"]["token"].as_str().unwrap().to_string();
    assert!(p.ok(&["heartbeat", "1", "--lease", &token]).starts_with("ORCH-001 lease until"));
    assert!(p.ok(&["done", "orch-1", "--lease", &token]).starts_with("ORCH-001 DONE"));
    assert!(p.ok(&["add", "after", "--depends-on", "2,orch-3"]).contains("ORCH-006 added"));
    assert_eq!(p.json(&["show", "6"])["depends_on"], serde_json::json!(["ORCH-002", "ORCH-003"]));
    // Chat goes through the same lookup.
    assert!(p.ok(&["chat", "!cancel 5 user_drop:scope"]).contains("ORCH-005 cancelled"));
    // A number with no task is refused naming the id as orch writes it.
    let (code, _, err) = p.run(&["show", "99"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("no task ORCH-099"), "{err}");
    let (code, _, err) = p.run(&["show", "1000000000000"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn an_id_written_unpadded_or_with_another_prefix_is_found_as_the_store_spells_it() {
    let queue = queue_of(1).replace("ORCH-001", "ORCH-7");
    let p = Project::init(Some(&queue));
    for id in ["ORCH-7", "ORCH-007", "orch-07", "7"] {
        assert_eq!(p.json(&["show", id])["id"], "ORCH-7", "{id}");
    }
    let p = Project::init(None);
    p.set_config("prefix", "\"JOB\"");
    assert!(p.ok(&["add", "first"]).starts_with("JOB-001 added"));
    for id in ["1", "job-1", "JOB-001"] {
        assert_eq!(p.json(&["show", id])["id"], "JOB-001", "{id}");
    }
}
