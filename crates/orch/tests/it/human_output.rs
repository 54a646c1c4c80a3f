//! Human output through the binary: every time in the display zone (a retry's too), as
//! precise as it matters; `list`'s header and columns; the three kinds of FAILED told
//! apart in `list` and `show`.

use crate::common::Project;
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// Three FAILED tasks, one of each kind: ORCH-001 waits for a retry, ORCH-002 failed for
/// good (exit 64, a permanent failure), ORCH-003 spent its one attempt; ORCH-004 waits
/// for ORCH-001.
fn three_failed() -> Project {
    let p = Project::init_plain(None);
    p.set_config("backoff", "[\"30m\"]");
    p.ok(&["add", "waits", "-p", "P0", "--due", "2026-12-24 09:00"]);
    p.ok(&["add", "for good", "-p", "P1"]);
    p.ok(&["add", "spent", "-p", "P2", "--max-attempts", "1"]);
    p.ok(&["add", "later", "-p", "P2", "--depends-on", "ORCH-001"]);
    for code in ["1", "64", "1"] {
        let (_, _, err) = p.run(&["exec", "--owner", "w", "--", "sh", "-c", &format!("exit {code}")]);
        assert!(err.contains("FAILED"), "{err}");
    }
    p
}

fn shown(ts: &str, zone: &str, format: &str) -> String {
    let ts: Timestamp = ts.parse().unwrap();
    TimeZone::get(zone).unwrap().to_datetime(ts).strftime(format).to_string()
}

#[test]
fn a_retry_time_is_shown_in_the_display_zone_to_the_second_everywhere() {
    let zone = "America/New_York";
    let p = Project::init_plain(None);
    p.set_config("timezone", &format!("\"{zone}\""));
    p.ok(&["add", "flaky"]);
    p.orch(&["exec", "--owner", "w", "--", "sh", "-c", "exit 1"]).assert().code(1);
    let retry_at = p.json(&["show", "ORCH-001"])["retry_at"].as_str().unwrap().to_string();
    let local = shown(&retry_at, zone, "%Y-%m-%d %H:%M:%S");
    let events = p.ok(&["events", "--task", "ORCH-001"]);
    let line = events.lines().find(|l| l.contains("retry.scheduled")).unwrap_or_else(|| panic!("{events}"));
    assert!(line.ends_with(&format!("retry at {local} (+1m)")), "{line}");
    assert!(!line.contains("retry_at") && !line.contains('Z'), "no UTC instant in a line: {line}");
    let show = p.ok(&["show", "ORCH-001"]);
    assert!(show.contains("status:           FAILED: retry in ") && show.contains(&format!("({local})")), "{show}");
    let list = p.ok(&["list"]);
    assert!(list.contains(&format!("({local})")), "{list}");
    // `log` times a run as the dispatcher's line does: tenths of a second.
    let log = p.ok(&["log", "ORCH-001"]);
    let took = log.split("took=").nth(1).and_then(|r| r.split_whitespace().next()).unwrap();
    assert!(took.ends_with('s') && took.contains('.'), "{log}");
}

#[test]
fn list_has_a_header_and_due_attempts_and_dependencies_and_tells_the_three_failed_apart() {
    let p = three_failed();
    let text = p.ok(&["list"]);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("ID") && lines[0].contains("DUE") && lines[0].contains("ATTEMPTS"), "{text}");
    assert!(lines[0].contains("DEPENDS_ON"), "{text}");
    let row = |id: &str| *lines.iter().find(|l| l.starts_with(id)).unwrap_or_else(|| panic!("{id}: {text}"));
    assert!(row("ORCH-001").contains("FAILED: retry in "), "{text}");
    assert!(row("ORCH-001").contains("2026-12-24 09:00") && row("ORCH-001").contains("1/2"), "{text}");
    assert!(row("ORCH-002").contains("FAILED: permanent, not retried"), "{text}");
    assert!(row("ORCH-004").contains("PENDING") && row("ORCH-004").contains("ORCH-001"), "{text}");
    assert!(row("ORCH-003").contains("FAILED: retries exhausted") && row("ORCH-003").contains("1/1"), "{text}");
    // QUEUE.md's notes tell them apart too: a retry to come has neither word.
    let md = p.queue_md();
    let md_row = |id: &str| md.lines().find(|l| l.starts_with(&format!("| {id} "))).unwrap_or_else(|| panic!("{md}"));
    assert!(md_row("ORCH-002").contains("exit_code:64 / no_retry:permanent"), "{md}");
    assert!(md_row("ORCH-003").contains("exit_code:1 / retry_exhausted"), "{md}");
    assert!(!md_row("ORCH-001").contains("retry_exhausted") && !md_row("ORCH-001").contains("no_retry"), "{md}");
    for (id, kind) in [
        ("ORCH-001", "FAILED: retry in "),
        ("ORCH-002", "FAILED: permanent"),
        ("ORCH-003", "FAILED: retries exhausted"),
    ] {
        let show = p.ok(&["show", id]);
        assert!(show.contains(&format!("status:           {kind}")), "{id}: {show}");
    }
}
