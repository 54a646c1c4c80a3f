//! `orch completions SHELL` and `orch man`: scripts each shell reads without a syntax
//! error, and man pages that render, one per command, from the same command tree.

use crate::common::Project;
use std::process::Command;

/// Whether `tool` can be run (it is on PATH).
fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok()
}

/// Runs `tool args…` and asserts it succeeds with nothing on stderr.
fn check_with(tool: &str, args: &[&str], what: &str) {
    let out = Command::new(tool).args(args).output().unwrap_or_else(|e| panic!("{tool}: {e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.trim().is_empty(), "{tool} {args:?} on {what}: {err}");
}

#[test]
fn the_bash_completion_parses_and_completes_every_command() {
    let p = Project::empty();
    let script = p.ok(&["completions", "bash"]);
    p.write("orch.bash", &script);
    check_with("bash", &["-n", &p.file("orch.bash").display().to_string()], "the bash completion");
    for word in ["quick", "completions", "man", "heartbeat", "--priority", "P0 P1 P2"] {
        assert!(script.contains(word), "{word} missing from the bash completion");
    }
}

#[test]
fn the_zsh_completion_parses() {
    if !have("zsh") {
        // .ci/run installs zsh; a machine without it cannot check the script.
        eprintln!("skipped: zsh is not installed");
        return;
    }
    let p = Project::empty();
    let script = p.ok(&["completions", "zsh"]);
    assert!(script.starts_with("#compdef orch"), "{}", &script[..script.len().min(200)]);
    p.write("_orch", &script);
    check_with("zsh", &["-n", &p.file("_orch").display().to_string()], "the zsh completion");
}

#[test]
fn every_shell_gets_a_script_and_an_unknown_shell_is_bad_usage() {
    let p = Project::empty();
    for shell in ["fish", "powershell", "elvish"] {
        let script = p.ok(&["completions", shell]);
        assert!(script.contains("quick") && script.contains("owner"), "{shell}");
    }
    let (code, _, err) = p.run(&["completions", "tcsh"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("possible values: bash, elvish, fish, powershell, zsh"), "{err}");
}

/// Renders a man page file and returns the text (`man -l`, or groff when man is missing).
fn render(path: &std::path::Path) -> String {
    let shown = path.display().to_string();
    let out = if have("man") {
        Command::new("man").args(["-l", &shown]).env("MANWIDTH", "80").env("MANPAGER", "cat").output()
    } else {
        Command::new("groff").args(["-k", "-man", "-Tutf8", &shown]).output()
    }
    .expect("man or groff is installed (.ci/run installs man-db)");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.trim().is_empty(), "rendering {shown}: {err}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn man_prints_the_top_page_and_it_renders() {
    let p = Project::empty();
    let page = p.ok(&["man"]);
    assert!(page.starts_with(".ie") || page.contains(".TH orch 1"), "{}", &page[..page.len().min(300)]);
    p.write("orch.1", &page);
    let text = render(&p.file("orch.1"));
    for word in ["NAME", "SYNOPSIS", "completions", "quick", "Exit codes:", "not found"] {
        assert!(text.contains(word), "{word} missing from orch(1):\n{text}");
    }
}

#[test]
fn man_dir_writes_one_page_per_command_and_each_renders() {
    let p = Project::empty();
    let out = p.ok(&["man", "--dir", "pages"]);
    let written: Vec<&str> = out.lines().collect();
    let names: Vec<String> = std::fs::read_dir(p.file("pages"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(written.len(), names.len(), "{out}");
    for want in ["orch.1", "orch-add.1", "orch-pick.1", "orch-team.1", "orch-team-add.1", "orch-man.1"] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    assert!(!names.iter().any(|n| n.contains("help")), "no page for clap's help: {names:?}");
    // Every command of the tree has its page.
    let mut cmd = orch::cli::command();
    cmd.build();
    fn count(cmd: &clap::Command) -> usize {
        cmd.get_subcommands().filter(|s| s.get_name() != "help").map(|s| 1 + count(s)).sum()
    }
    assert_eq!(names.len(), 1 + count(&cmd), "orch.1 and one per command and subcommand: {names:?}");
    let add = render(&p.file("pages/orch-add.1"));
    assert!(add.contains("--priority") && add.contains("P0") && add.contains("Examples:"), "{add}");
    for n in &names {
        render(&p.file(&format!("pages/{n}")));
    }
}
