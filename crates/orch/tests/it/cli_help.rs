//! The help of every command: each argument explained, examples, the exit codes (one
//! shared text), the allowed values of the flags that take named values.

use crate::common::{ORCH_BIN, Project};
use assert_cmd::Command;

/// Every command of the tree with its path (`orch team add`), parents first.
fn commands() -> Vec<(String, clap::Command)> {
    fn walk(path: &str, cmd: &clap::Command, out: &mut Vec<(String, clap::Command)>) {
        out.push((path.to_string(), cmd.clone()));
        for sub in cmd.get_subcommands() {
            walk(&format!("{path} {}", sub.get_name()), sub, out);
        }
    }
    let mut cmd = orch::cli::command();
    cmd.build();
    let mut out = Vec::new();
    walk("orch", &cmd, &mut out);
    out
}

#[test]
fn every_argument_and_command_has_help_text() {
    let mut missing = Vec::new();
    let all = commands();
    assert!(all.len() > 30, "the walk found the commands: {}", all.len());
    for (path, cmd) in &all {
        // clap's own `help` subcommand explains itself.
        if path.split(' ').any(|w| w == "help") {
            continue;
        }
        if cmd.get_about().is_none() && path != "orch" {
            missing.push(format!("{path}: no about"));
        }
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if arg.get_help().is_none() && arg.get_long_help().is_none() {
                missing.push(format!("{path}: argument `{id}` has no help"));
            }
        }
        let after = cmd.get_after_help().map(|h| h.to_string()).unwrap_or_default();
        if !after.contains("Exit codes:\n  0  ok") {
            missing.push(format!("{path}: no exit codes after its help"));
        }
        if !after.contains("Examples:\n  orch ") {
            missing.push(format!("{path}: no example"));
        }
        assert_eq!(after.matches("Exit codes:").count(), 1, "{path}: the exit codes once:\n{after}");
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn help_of_a_command_lists_allowed_values_examples_and_exit_codes() {
    let p = Project::empty();
    for args in [&["help", "add"][..], &["add", "--help"][..]] {
        let out = p.ok(args);
        assert!(out.contains("[possible values: P0, P1, P2]"), "{out}");
        assert!(out.contains("Examples:\n  orch add 'Write the release notes'"), "{out}");
        assert!(out.contains("  4  not found"), "{out}");
        assert!(out.contains("  5  conflict"), "{out}");
    }
    let out = p.ok(&["list", "--help"]);
    assert!(out.contains("[possible values: PENDING, IN_PROGRESS, DONE, FAILED, BLOCKED]"), "{out}");
    let out = p.ok(&["completions", "--help"]);
    assert!(out.contains("[possible values: bash, elvish, fish, powershell, zsh]"), "{out}");
}

#[test]
fn a_priority_outside_the_list_is_bad_usage_naming_the_allowed_ones() {
    let p = Project::init(None);
    let (code, out, err) = p.run(&["add", "x", "--priority", "P3"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("P3") && err.contains("[possible values: P0, P1, P2]"), "{err}");
    // Any case is taken, as before.
    assert!(p.ok(&["add", "x", "-p", "p0"]).contains("(P0)"));
    assert!(p.ok(&["list", "--status", "pending", "-p", "p0"]).contains("ORCH-001"));
    let (code, _, err) = p.run(&["list", "--status", "waiting"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("possible values: PENDING, IN_PROGRESS"), "{err}");
}

#[test]
fn no_argument_is_usage_with_the_command_list() {
    let out = Command::new(ORCH_BIN).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for name in ["completions", "man", "quick", "add"] {
        assert!(text.contains(&format!("  {name} ")), "{name} in:\n{text}");
    }
    assert!(text.contains("Exit codes:"), "{text}");
}
