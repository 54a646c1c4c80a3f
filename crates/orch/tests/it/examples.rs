//! The shipped examples as a newcomer runs them: `examples/demo.sh` with the build's
//! files somewhere else (`CARGO_TARGET_DIR`), and `examples/team.json` added and run from
//! the repository's root files.

use crate::common::{ORCH_BIN, Project};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

#[test]
fn the_demo_finds_the_binary_wherever_cargo_puts_it() {
    // The target folder of this build, reached by another path: the script must take
    // the binary from what cargo says, not from `<repo>/target`.
    let bin = Path::new(ORCH_BIN);
    let profile_dir = bin.parent().unwrap();
    let target = profile_dir.parent().unwrap();
    let profile = match profile_dir.file_name().unwrap().to_str().unwrap() {
        "debug" => "dev".to_string(),
        other => other.to_string(),
    };
    let elsewhere = tempfile::tempdir().unwrap();
    let link = elsewhere.path().join("target");
    std::os::unix::fs::symlink(target, &link).unwrap();
    let out = std::process::Command::new("bash")
        .arg(repo().join("examples/demo.sh"))
        .env("CARGO_TARGET_DIR", &link)
        .env("ORCH_DEMO_PROFILE", &profile)
        .env("TMPDIR", elsewhere.path())
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("The demo queue is in") && stdout.contains(&link.display().to_string()), "{stdout}");
    assert!(stdout.contains("| DEMO-006 | DONE |"), "{stdout}");
}

#[test]
fn the_shipped_team_template_is_added_and_run_from_the_repository_files() {
    let p = Project::init_plain(None);
    let template = std::fs::read_to_string(repo().join("examples/team.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&template).unwrap();
    // Every input it names is a file of the repository, where a newcomer runs it.
    for w in v["workers"].as_array().unwrap().iter().chain([&v["lead"]]) {
        for input in w["inputs"].as_array().into_iter().flatten() {
            let name = input.as_str().unwrap();
            let from = repo().join(name);
            assert!(from.is_file(), "examples/team.json names {name}, which the repository lacks");
            std::fs::create_dir_all(p.file(name).parent().unwrap()).unwrap();
            std::fs::copy(&from, p.file(name)).unwrap();
        }
    }
    p.write("team.json", &template);
    let added = p.json(&["team", "add", "team.json"]);
    assert!(added.to_string().contains("lead"), "{added}");
    p.write("ok.sh", "#!/bin/sh\necho '- done'\necho 'Risks: none'\n");
    let mut perm = std::fs::metadata(p.file("ok.sh")).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(p.file("ok.sh"), perm).unwrap();
    p.set_config("command", r#"["./ok.sh"]"#);
    p.ok(&["run", "--until-idle", "--quiet"]);
    let tasks = p.json(&["list"]);
    assert!(tasks.as_array().unwrap().iter().all(|t| t["status"] == "DONE"), "{tasks}");
}
