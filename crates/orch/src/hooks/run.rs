//! Running one hook: its argv rendered from the template (no shell: each word one
//! argument, task text never parsed by anything), its environment, its output files in
//! `.orch/hooks/`, and its end — killed with its process group at `hooks.timeout`.

use super::Fired;
use crate::config::Config;
use crate::home::Home;
use crate::runner::{self, Spec};
use orch_core::outcome::Exit;
use orch_core::template;

/// How a hook ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ran {
    /// It exited 0.
    Ok,
    /// It exited otherwise, or could not start: what happened.
    Failed(String),
    /// It was still running at `hooks.timeout` and was killed.
    TimedOut,
}

/// Runs the hook `argv` (the template of `key`) for `f` to its end or its timeout.
/// `reason` is the change's reason as the hook is given it (masked by the caller);
/// `db` the database URL when it is not the home's own file.
pub fn run(f: &Fired, key: &str, argv: &[String], reason: &str, config: &Config, home: &Home, db: Option<&str>) -> Ran {
    let t = f.task.as_ref();
    let text = |get: fn(&orch_core::task::Task) -> Option<&str>| t.and_then(get).unwrap_or("").to_string();
    let status = t.map(|t| t.status.as_str()).unwrap_or("");
    let attempt = t.map(|t| t.attempts.to_string()).unwrap_or_default();
    let id = text(|t| Some(&t.id));
    let values: Vec<(&str, &str)> = vec![
        ("id", &id),
        ("task", t.map_or("", |t| &t.task)),
        ("criteria", t.and_then(|t| t.success_criteria.as_deref()).unwrap_or("")),
        ("notes", t.and_then(|t| t.notes.as_deref()).unwrap_or("")),
        ("status", status),
        ("reason", reason),
        ("event", f.kind.name()),
        ("attempt", &attempt),
        ("profile", t.map_or("", |t| t.profile())),
    ];
    let words: Vec<String> = argv.iter().map(|a| template::render(a, &values)).collect();
    let mut env = vec![
        ("ORCH_EVENT".to_string(), f.kind.name().to_string()),
        ("ORCH_TASK_ID".into(), id.clone()),
        ("ORCH_STATUS".into(), status.to_string()),
        ("ORCH_REASON".into(), reason.to_string()),
        ("ORCH_HOME".into(), home.dir.display().to_string()),
    ];
    if let Some(db) = db {
        env.push(("ORCH_DB".into(), db.to_string()));
    }
    // orch's own environment but its ORCH_* (a worker's lease token, say, when `done`
    // is run by a worker): the hook gets those of its change alone.
    let inherit =
        std::env::vars_os().filter_map(|(k, _)| k.into_string().ok()).filter(|k| !k.starts_with("ORCH_")).collect();
    let dir = home.dir.join("hooks");
    if let Err(e) = crate::home::create_private_dir(&dir) {
        return Ran::Failed(format!("{}: {e}", dir.display()));
    }
    let spec = Spec {
        argv: words,
        env,
        inherit: Some(inherit),
        cwd: home.root().to_path_buf(),
        stdout: dir.join(format!("{key}.log")),
        stderr: dir.join(format!("{key}.err.log")),
        stdin: None,
        max_log_bytes: None,
    };
    let timeout = config.hooks.timeout.unsigned_abs();
    match runner::run_to_end(&spec, timeout) {
        Exit::Code(0) => Ran::Ok,
        Exit::Code(c) => Ran::Failed(format!("exit code {c}")),
        Exit::Signal(s) => Ran::Failed(format!("killed by signal {s}")),
        Exit::SpawnFailed(e) => Ran::Failed(format!("could not start: {e}")),
        Exit::TimedOut => Ran::TimedOut,
    }
}
