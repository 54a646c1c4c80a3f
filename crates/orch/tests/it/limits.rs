//! Durations and times past their limits, through the real binary: every flag and
//! config key that takes one refuses an extreme value with exit 2 and a message naming
//! the limit (and for a config key its file, line and key), never a panic; and the time
//! code that reads them holds no `unwrap`, `expect` or `panic!`.

use crate::common::Project;
use crate::observe::pick;

fn refused(p: &Project, args: &[&str], want: &str) {
    let (code, out, err) = p.run(args);
    assert_eq!(code, 2, "{args:?} exited {code}:\n{out}\n{err}");
    assert!(!err.contains("panicked"), "{args:?}:\n{err}");
    // `chat` answers on stdout (what a chat front end relays), every other command on stderr.
    let said = if args[0] == "chat" { out } else { err };
    assert!(said.contains(want), "{args:?}: want {want:?} in:\n{said}");
}

#[test]
fn extreme_durations_and_times_on_every_flag_are_bad_usage_not_a_panic() {
    let p = Project::init(None);
    p.ok(&["add", "x"]);
    let (id, token) = pick(&p, "w");
    let huge = ["70000000h", "999999999h", "99999999999999999999h", "36526d", "1e400s"];
    for d in huge {
        // A due time may be further than 100 years away, up to the year 9999.
        if d != "36526d" {
            let due = format!("+{d}");
            refused(&p, &["add", "y", "--due", &due], "--due");
            refused(&p, &["replan", &id, "--reason", "r", "--due", &due], "--due");
            refused(&p, &["quick", &format!("y due:+{d}")], "due:");
            refused(&p, &["chat", &format!("!add y due:+{d}")], "due:");
        }
        refused(&p, &["pick", "--owner", "w", "--lease", d], "--lease");
        refused(&p, &["heartbeat", &id, "--lease", &token, "--for", d], "--for");
        refused(&p, &["events", "--since", d], "--since");
        refused(&p, &["events", "--follow", "--since", d], "--since");
        refused(&p, &["kpi", "--since", d], "--since");
        refused(&p, &["prune", "--older-than", d], "--older-than");
    }
    refused(&p, &["pick", "--owner", "w", "--lease", "8d"], "longer than 7d");
    refused(&p, &["heartbeat", &id, "--force", "--for", "8d"], "longer than 7d");
    refused(&p, &["events", "--since", "36526d"], "longer than 36525d");
    for due in ["+3000000d", "9999-12-31T23:00:00Z", "-009999-01-03T00:00:00Z", "0000-06-01 12:00", "+5000y", ""] {
        refused(&p, &["add", "y", &format!("--due={due}")], "--due");
        refused(&p, &["quick", &format!("y due:\"{due}\"")], "due:");
    }
    // At the limits, they are taken.
    p.ok(&["heartbeat", &id, "--lease", &token, "--for", "7d"]);
    p.ok(&["events", "--since", "36525d"]);
    p.ok(&["kpi", "--since", "36525d"]);
    p.ok(&["prune", "--older-than", "36525d"]);
    p.ok(&["add", "far", "--due", "9999-12-29 12:00"]);
    p.ok(&["add", "near", "--due", "+300000d"]);
    assert_eq!(p.json(&["list"]).as_array().unwrap().len(), 3, "nothing half-written");
}

#[test]
fn extreme_durations_in_orch_toml_are_config_errors_and_the_dispatcher_never_starts_on_them() {
    let p = Project::init_plain(None);
    p.ok(&["add", "x"]);
    let original = p.read(".orch/orch.toml");
    let line = |key: &str| original.lines().position(|l| l.starts_with(&format!("{key} ="))).unwrap() + 1;
    for (key, dotted, value, tail) in [
        ("lease", "dispatcher.lease", "\"999999999h\"", "longer than 36525d"),
        ("lease", "dispatcher.lease", "\"70000000h\"", "longer than 36525d"),
        ("lease", "dispatcher.lease", "\"8d\"", "192h is longer than 7d"),
        ("backoff", "retry.backoff", "[\"1m\", \"999999999h\"]", "longer than 36525d"),
        ("backoff", "retry.backoff", "[\"31d\"]", "longer than 30d"),
        ("timeout", "worker.timeout", "\"999999999h\"", "longer than 36525d"),
        ("grace", "worker.grace", "\"2h\"", "longer than 1h"),
        ("reviewer_timeout", "gate.reviewer_timeout", "\"31d\"", "longer than 30d"),
        ("latency_p95", "alerts.latency_p95", "\"99999999999999999999h\"", "bad duration"),
    ] {
        p.set_config(key, value);
        let want = format!("orch.toml:{}: {dotted}: ", line(key));
        for cmd in [&["list"][..], &["run", "--until-idle", "--max-wait", "0s", "--quiet"]] {
            refused(&p, cmd, &want);
        }
        let (_, _, err) = p.run(&["list"]);
        assert!(err.contains(tail), "{dotted}: want {tail:?} in {err}");
        p.write(".orch/orch.toml", &original);
    }
    assert_eq!(p.json(&["show", "ORCH-001"])["status"], "PENDING", "no run was started");
    // At their limits the dispatcher runs, retries and ends.
    p.set_config("lease", "\"7d\"");
    p.set_config("backoff", "[\"30d\"]");
    p.set_config("command", "[\"sh\", \"-c\", \"exit 1\"]");
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
    let t = p.json(&["show", "ORCH-001"]);
    assert_eq!(t["status"], "FAILED", "{t}");
    assert!(t["retry_at"].is_string(), "{t}");
}

/// The files that read durations and times from people hold nothing that panics outside
/// their tests (orch-core's time, quick and policy files have the same test beside them).
#[test]
fn the_cli_and_config_time_code_holds_no_unwrap_expect_or_panic() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for file in ["cli/limits.rs", "api/input.rs", "config/mod.rs", "config/keys.rs"] {
        let text = std::fs::read_to_string(src.join(file)).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        for (i, line) in code.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for bad in ["unwrap(", "expect(", "panic!", "unreachable!", "todo!", "unimplemented!"] {
                assert!(!line.contains(bad), "{file}:{}: `{bad}` in `{}`", i + 1, line.trim());
            }
        }
    }
}
