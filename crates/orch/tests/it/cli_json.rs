//! `--json` all the way: an error is JSON on stdout too (`{"error": {"code", "message",
//! "exit"}}`, the same exit code), `pick --json` with nothing to pick prints `null`, and
//! every task, run and event object carries `schema_version`.

use crate::common::Project;
use serde_json::Value;

/// Runs and parses stdout as JSON; (exit code, the JSON, stderr).
fn json_run(p: &Project, args: &[&str]) -> (i32, Value, String) {
    let (code, out, err) = p.run(args);
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: stdout is not JSON ({e}):\n{out}\n{err}"));
    (code, v, err)
}

#[test]
fn an_error_under_json_is_json_on_stdout_with_the_same_exit_code() {
    let p = Project::init(None);
    p.ok(&["add", "first"]);
    let cases: [(&[&str], i32, &str); 5] = [
        (&["show", "ORCH-999", "--json"], 4, "not_found"),
        (&["retry", "ORCH-001", "--json"], 5, "not_failed_or_blocked"),
        (&["add", "x", "--due", "someday", "--json"], 2, "bad_usage"),
        (&["list", "--jsonl", "--limit", "x"], 2, "bad_usage"),
        (&["add", "--json"], 2, "bad_usage"),
    ];
    for (args, exit, code) in cases {
        let (got, v, err) = json_run(&p, args);
        assert_eq!(got, exit, "{args:?}: {v} {err}");
        assert_eq!(v["error"]["code"], code, "{args:?}: {v}");
        assert_eq!(v["error"]["exit"], exit, "{args:?}: {v}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(!message.is_empty() && err.contains(message.lines().next().unwrap()), "{args:?}: {v} / {err}");
        assert_eq!(v.as_object().unwrap().len(), 1, "only `error`: {v}");
    }
    let (_, v, _) = json_run(&p, &["show", "ORCH-999", "--json"]);
    assert_eq!(v["error"]["message"], "no task ORCH-999");
    // Without --json, stdout stays empty and the message goes to stderr alone.
    let (code, out, err) = p.run(&["show", "ORCH-999"]);
    assert_eq!((code, out.as_str()), (4, ""));
    assert!(err.contains("orch: no task ORCH-999"), "{err}");
    // A `--json` after `--` is an argument, not the flag.
    let (code, out, _) = p.run(&["add", "--", "--json"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn pick_json_with_nothing_to_pick_prints_null_and_exits_4() {
    let p = Project::init(None);
    let (code, out, err) = p.run(&["pick", "--owner", "w", "--json"]);
    assert_eq!((code, out.trim()), (4, "null"), "{err}");
    assert!(err.contains("nothing to pick"), "{err}");
    // Without --json: nothing on stdout, exit 4 as before.
    let (code, out, _) = p.run(&["pick", "--owner", "w"]);
    assert_eq!((code, out.as_str()), (4, ""));
}

#[test]
fn every_task_run_and_event_object_carries_schema_version_1() {
    let p = Project::init_plain(None);
    let added = p.json(&["add", "first"]);
    assert_eq!((added["schema_version"].as_u64(), added["created"].as_bool()), (Some(1), Some(true)), "{added}");
    let picked = p.json(&["pick", "--owner", "w"]);
    assert_eq!(picked["schema_version"], 1, "{picked}");
    let token = picked["lease"]["token"].as_str().unwrap().to_string();
    let done = p.json(&["done", "ORCH-001", "--lease", &token]);
    assert_eq!((done["schema_version"].as_u64(), done["status"].as_str()), (Some(1), Some("DONE")));
    let shown = p.json(&["show", "ORCH-001"]);
    assert_eq!(shown["schema_version"], 1, "{shown}");
    assert_eq!(shown.as_object().unwrap().keys().next().map(String::as_str), Some("schema_version"));
    let listed = p.json(&["list"]);
    assert_eq!(listed[0]["schema_version"], 1, "{listed}");
    let line = p.ok(&["list", "--jsonl"]);
    assert!(line.starts_with("{\"schema_version\":1,\"id\":\"ORCH-001\""), "{line}");
    let runs = p.json(&["log", "ORCH-001"]);
    assert_eq!(runs[0]["schema_version"], 1, "{runs}");
    let events = p.ok(&["events", "--json"]);
    assert!(events.lines().count() >= 3, "{events}");
    for l in events.lines() {
        assert!(l.starts_with("{\"schema_version\":1,\"seq\":"), "{l}");
    }
    // events.jsonl holds the same lines.
    let file = p.read(".orch/events.jsonl");
    assert_eq!(file.lines().last(), events.lines().last(), "{file}");
}
