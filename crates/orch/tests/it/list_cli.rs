//! `orch list` through the binary: pick order, `--limit` and `--offset`, and the three
//! outputs (text, a `--json` array, `--jsonl` lines) printed as the store reads them.

use crate::common::Project;
use serde_json::Value;

fn ids(v: &[Value]) -> Vec<String> {
    v.iter().map(|t| t["id"].as_str().unwrap().to_string()).collect()
}

#[test]
fn list_prints_tasks_in_pick_order_a_page_at_a_time_as_text_json_and_json_lines() {
    let p = Project::init_plain(None);
    assert_eq!(p.ok(&["list", "--json"]).trim(), "[]", "an empty list is an empty array");
    assert_eq!(p.ok(&["list", "--jsonl"]), "");
    p.ok(&["add", "low", "-p", "P2"]);
    p.ok(&["add", "plain"]);
    p.ok(&["add", "urgent", "-p", "P0"]);
    p.ok(&["add", "due soon", "--due", "+1d"]);
    p.ok(&["add", "plain too"]);
    let order = ["ORCH-003", "ORCH-004", "ORCH-002", "ORCH-005", "ORCH-001"];

    let all = p.json(&["list"]);
    assert_eq!(ids(all.as_array().unwrap()), order, "priority, then due time (none last), then id number");
    let text = p.ok(&["list"]);
    let first: Vec<&str> = text.lines().skip(1).map(|l| l.split_whitespace().next().unwrap()).collect();
    assert_eq!(first, order);
    assert!(text.lines().next().unwrap().starts_with("ID        STATUS   PRI  DUE"), "a header row: {text}");
    assert!(text.lines().nth(1).unwrap().starts_with("ORCH-003  PENDING  P0   -"), "{text}");

    let lines = p.ok(&["list", "--jsonl"]);
    let rows: Vec<Value> = lines.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(&rows, all.as_array().unwrap(), "one compact task per line, as in the array");

    let page = p.json(&["list", "--offset", "1", "--limit", "2"]);
    assert_eq!(ids(page.as_array().unwrap()), &order[1..3]);
    let page = p.json(&["list", "--status", "pending", "-p", "P1", "--offset", "1"]);
    assert_eq!(ids(page.as_array().unwrap()), ["ORCH-002", "ORCH-005"]);
    assert_eq!(p.ok(&["list", "--limit", "0"]), "");
    assert_eq!(p.ok(&["list", "--offset", "18446744073709551615", "--json"]).trim(), "[]");

    for bad in [&["list", "--limit", "-1"][..], &["list", "--offset", "x"], &["list", "--json", "--jsonl"]] {
        let (code, _, err) = p.run(bad);
        assert_eq!(code, 2, "{bad:?}: {err}");
    }
}

#[test]
fn list_output_stops_quietly_when_the_reader_goes_away() {
    let p = Project::init_plain(None);
    for i in 0..300 {
        p.ok(&["add", &format!("task {i}")]);
    }
    let mut child = p.command(&["list", "--jsonl"]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take());
    assert!(child.wait().unwrap().success(), "a closed pipe is a clean end");
}
