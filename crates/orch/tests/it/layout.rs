//! The shape of the code base, checked: every module opens with a doc paragraph saying
//! what it owns, and the layering rules of docs/ARCHITECTURE.md hold (the core does no
//! I/O; only `runner` spawns processes; only the `orch-store` crate holds SQL).

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn crate_files(name: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&root).unwrap().display().to_string();
            (rel, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

#[test]
fn every_module_says_what_it_owns() {
    for krate in ["orch", "orch-store", "orch-core"] {
        for (rel, text) in crate_files(krate) {
            let is_test = rel.ends_with("tests.rs") || rel.contains("/tests");
            assert!(text.starts_with("//!") || is_test, "{krate}/src/{rel} has no //! doc paragraph at its top");
        }
    }
}

#[test]
fn the_core_does_no_io() {
    let banned = [
        "std::fs",
        "std::process",
        "std::net",
        "std::env",
        "Timestamp::now",
        "SystemTime::now",
        "Instant::now",
        "rusqlite",
        "tokio",
    ];
    for (rel, text) in crate_files("orch-core") {
        for b in banned {
            assert!(!text.contains(b), "orch-core/src/{rel} uses {b}: the core does no I/O and reads no clock");
        }
    }
}

#[test]
fn only_the_runner_spawns_and_only_the_store_holds_sql() {
    for (rel, text) in crate_files("orch") {
        if rel != "runner.rs" {
            assert!(!text.contains("Command::new("), "src/{rel} spawns a process: only runner.rs does");
        }
        for sql in ["SELECT ", "INSERT INTO", "UPDATE tasks", "DELETE FROM"] {
            assert!(!text.contains(sql), "src/{rel} holds SQL (`{sql}`): only the orch-store crate does");
        }
    }
}

#[test]
fn arrows_point_inward_services_never_reach_out_to_front_ends_or_the_dispatcher() {
    for (rel, text) in crate_files("orch") {
        if !rel.starts_with("cli/") && rel != "main.rs" && rel != "lib.rs" {
            assert!(!text.contains("crate::cli"), "src/{rel} uses the command line: arrows point inward");
        }
        if !rel.starts_with("dashboard/") && rel != "cli/mod.rs" && rel != "lib.rs" {
            assert!(!text.contains("crate::dashboard"), "src/{rel} uses the dashboard: arrows point inward");
        }
        if !rel.starts_with("serve/") && rel != "cli/mod.rs" && rel != "lib.rs" {
            assert!(!text.contains("crate::serve"), "src/{rel} uses the HTTP server: arrows point inward");
        }
        if !rel.starts_with("mcp/") && rel != "cli/mod.rs" && rel != "lib.rs" {
            assert!(!text.contains("crate::mcp"), "src/{rel} uses the MCP server: arrows point inward");
        }
        if rel.starts_with("ops/") || rel.starts_with("gate/") {
            assert!(!text.contains("crate::dispatch"), "src/{rel} uses the dispatcher, which sits above it");
        }
        let below_ops = rel.starts_with("sync/") || rel == "event_log.rs" || rel == "persist.rs";
        if below_ops || rel.starts_with("gate/") {
            assert!(!text.contains("crate::ops"), "src/{rel} uses the operations, which sit above it");
        }
    }
}

/// The front ends — the command line, the dashboard and the HTTP server — reach the services only
/// through `api`, so every front end does and refuses exactly what the others do: no
/// file of `cli/` or `dashboard/` names `ops::` or another service, or calls a method
/// of the open queue (`orch.…`). The exceptions are the long-running commands and those
/// that make or move a queue (api/mod.rs says why).
#[test]
fn the_command_line_reaches_the_services_only_through_the_api() {
    front_end_reaches_the_services_only_through_the_api(
        "cli/",
        &["cli/run.rs", "cli/events.rs", "cli/init.rs", "cli/migrate.rs"],
    );
}

#[test]
fn the_dashboard_reaches_the_services_only_through_the_api() {
    front_end_reaches_the_services_only_through_the_api("dashboard/", &[]);
}

#[test]
fn the_http_server_reaches_the_services_only_through_the_api() {
    front_end_reaches_the_services_only_through_the_api("serve/", &[]);
}

#[test]
fn the_mcp_server_reaches_the_services_only_through_the_api() {
    front_end_reaches_the_services_only_through_the_api("mcp/", &[]);
}

fn front_end_reaches_the_services_only_through_the_api(dir: &str, exceptions: &[&str]) {
    const SERVICES: [&str; 6] =
        ["ops::", "crate::sync", "crate::dispatch", "crate::event_log", "crate::gate", "orch_store::"];
    let files: Vec<(String, String)> =
        crate_files("orch").into_iter().filter(|(rel, _)| rel.starts_with(dir)).collect();
    assert!(files.len() > exceptions.len(), "no files found in src/{dir}");
    for (rel, text) in files {
        if exceptions.contains(&rel.as_str()) {
            continue;
        }
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for s in SERVICES {
                assert!(!code.contains(s), "src/{rel}:{}: `{s}`: a front end goes through api::", i + 1);
            }
            let calls_orch = code.match_indices("orch.").any(|(at, _)| {
                let before = code[..at].chars().next_back();
                let after = code[at + 5..].chars().next();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
                    && after.is_some_and(|c| c.is_ascii_lowercase())
            });
            assert!(!calls_orch, "src/{rel}:{}: calls the queue itself (`orch.`): go through api::", i + 1);
        }
    }
}
