//! The worker program checked when a dispatcher starts: a program that is not there is
//! one clear error (exit 2) naming it and its config key, and nothing is claimed.

use crate::common::Project;

#[test]
fn a_worker_program_that_is_not_there_stops_run_before_any_claim() {
    let p = Project::init(None);
    p.ok(&["add", "a"]);
    p.write("plain.sh", "#!/bin/sh\nexit 0\n");
    for (command, want) in [
        (r#"["no-such-program-for-orch", "{prompt}"]"#, "`no-such-program-for-orch` is not found on PATH"),
        (r#"["./missing.sh"]"#, "`./missing.sh` does not exist"),
        (r#"["./plain.sh"]"#, "`./plain.sh` is not an executable file"),
    ] {
        p.set_config("command", command);
        let (code, _, err) = p.run(&["run", "--until-idle"]);
        assert_eq!(code, 2, "{command}: {err}");
        assert!(err.contains(want) && err.contains("worker.command in") && err.contains("orch.toml"), "{err}");
        let (code, _, err) = p.run(&["exec", "--owner", "w", "--", "./missing.sh"]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("the command after `--`"), "{err}");
        let t = p.json(&["show", "ORCH-001"]);
        assert_eq!((t["status"].as_str(), t["attempts"].as_u64()), (Some("PENDING"), Some(0)), "nothing claimed");
    }
    // A program on PATH, or one named through a placeholder, starts as before.
    p.set_config("command", r#"["true"]"#);
    p.set_config("compact_report", "false");
    p.ok(&["run", "--until-idle"]);
    assert_eq!(p.json(&["show", "ORCH-001"])["status"], "DONE");
}
