//! `orch service install`: the systemd unit it writes (content, paths, user or system),
//! `--dry-run`, and `orch run`'s lines for the journal.

use crate::common::{ORCH_BIN, Project};

#[test]
fn install_writes_a_user_unit_that_runs_this_queue_and_restarts_on_failure() {
    let p = Project::init_plain(None);
    let dir = p.file("units");
    let out = p.ok(&["service", "install", "--user", "--dir", dir.to_str().unwrap(), "--name", "orch-test"]);
    let unit_path = dir.join("orch-test.service");
    assert!(out.contains(&format!("wrote {}", unit_path.display())), "{out}");
    assert!(out.contains("systemctl --user daemon-reload && systemctl --user enable --now orch-test.service"), "{out}");
    let unit = std::fs::read_to_string(&unit_path).unwrap();
    let bin = std::fs::canonicalize(ORCH_BIN).unwrap();
    let home = std::fs::canonicalize(p.file(".orch")).unwrap();
    let exec = format!("ExecStart=\"{}\" --home \"{}\" run\n", bin.display(), home.display());
    assert!(unit.contains(&exec), "{unit}");
    for line in ["[Service]\n", "Restart=on-failure\n", "WantedBy=default.target\n", "KillMode=mixed\n"] {
        assert!(unit.contains(line), "{line}: {unit}");
    }
    assert!(!unit.contains("User="), "a user unit runs as its user: {unit}");
    verify(&unit_path);

    // A system unit names the user and goes to multi-user.target; --dry-run writes nothing.
    let out = p
        .orch(&["service", "install", "--dry-run", "--dir", "/nonexistent/dir", "-w", "3"])
        .env("USER", "alice")
        .env_remove("SUDO_USER")
        .output()
        .unwrap();
    let out = String::from_utf8(out.stdout).unwrap();
    assert!(out.starts_with("# /nonexistent/dir/orch-"), "{out}");
    for line in ["User=alice\n", "WantedBy=multi-user.target\n", " run --workers=3\n"] {
        assert!(out.contains(line), "{line}: {out}");
    }
    assert!(!std::path::Path::new("/nonexistent/dir").exists());
}

/// `systemd-analyze --user verify` where it is installed (skipped, with a message,
/// where it is not or cannot start here); a private runtime folder stands in for the
/// user's session.
fn verify(unit: &std::path::Path) {
    let runtime = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .args(["--user", "verify"])
        .arg(unit)
        .env("XDG_RUNTIME_DIR", runtime.path())
        .output();
    let Ok(out) = out else {
        eprintln!("systemd-analyze is not installed: the unit is not verified");
        return;
    };
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && err.contains("Failed to initialize manager") {
        eprintln!("systemd-analyze cannot run here ({}): the unit is not verified", err.trim());
        return;
    }
    assert!(out.status.success() && err.trim().is_empty(), "systemd-analyze verify: {err}");
}

#[test]
fn run_writes_lines_with_journal_priorities_under_systemd() {
    let p = Project::init_plain(None);
    p.set_config("command", r#"["true"]"#);
    p.ok(&["add", "one"]);
    let out = p.orch(&["run", "--until-idle"]).env("JOURNAL_STREAM", "8:1234").output().unwrap();
    let out = String::from_utf8(out.stdout).unwrap();
    assert!(out.lines().any(|l| l.starts_with("<6>ORCH-001 started")), "{out}");
    assert!(out.lines().all(|l| l.starts_with('<')), "{out}");
    let plain = p.ok(&["add", "two"]);
    assert!(plain.contains("ORCH-002"));
    let out = p.ok(&["run", "--until-idle"]);
    assert!(out.lines().all(|l| !l.starts_with('<') && !l.contains('\u{1b}')), "{out}");
}
