//! Starting one claimed task: its run folder, the task file, the rendered prompt and
//! argv (with what a retry is told of the runs before it, `resume`), the environment, the
//! working directory (a git worktree of its own with `[workspace] mode = "worktree"`, see
//! `workspace`) and the process. Task text goes into argv elements, the environment and a
//! JSON file — never through a shell.
//!
//! The dispatcher starts workers on a thread of its own ([`launcher`]), so that its loop
//! writes the next turn while a worker's files are made and its process started; the
//! loop learns how each start went (`Msg::Started`) and, from the reaper, when the
//! process ended (`Msg::Exited`, which may come first).

use super::msg::{Msg, Started};
use super::resume;
use crate::ops::json::task_json;
use crate::ops::{Claimed, Orch};
use crate::runner::{self, SpawnError, Spawned, Spec};
use crate::workspace::Workspaces;
use orch_core::template;
use std::sync::{Arc, mpsc};

/// Starts the worker of each claimed task that comes, until the dispatcher closes the
/// channel. Each start is reported (`Msg::Started`: the process, or why it could not
/// start), and each process's end (`Msg::Exited`, through the runner's reaper).
pub fn launcher(
    orch: &Orch,
    command: &[String],
    ws: Option<Arc<Workspaces>>,
    jobs: mpsc::Receiver<Box<Claimed>>,
    tx: mpsc::Sender<Msg>,
) {
    for c in jobs {
        let run_id = c.run.id.clone();
        let started = launch(orch, &c, command, ws.as_deref()).map(|s| {
            let (exits, id) = (tx.clone(), run_id.clone());
            let group = runner::watch(s.child, move |exit| {
                let _ = exits.send(Msg::Exited { run_id: id, exit });
            });
            Started { pid: s.pid, proc_start: s.proc_start, group }
        });
        if tx.send(Msg::Started { run_id, started }).is_err() {
            return;
        }
    }
}

/// The prompt used when `.orch/prompt.md` is missing.
pub const FALLBACK_PROMPT: &str = "Task {id}: {task}\nSuccess criteria: {criteria}\nNotes: {notes}\n";

/// What a retry's prompt ends with when its template does not place `{last_attempt}`.
const LAST_ATTEMPT: &str = "\n\nThe last attempt of this task:\n{last_attempt}\n";

/// Prepares and spawns the worker for `c`. `command` is the argv template of the
/// profile `default`; a task of another profile runs that profile's command, and one
/// whose profile orch.toml does not name fails for good (another try would too).
pub fn launch(orch: &Orch, c: &Claimed, command: &[String], ws: Option<&Workspaces>) -> Result<Spawned, SpawnError> {
    let t = &c.task;
    let (command, inherit) = match t.profile() {
        orch_core::task::DEFAULT_PROFILE => (command, None),
        name => match orch.config().profiles.get(name) {
            Some(p) => (p.command.as_slice(), p.inherited_env()),
            None => {
                let known = orch.config().profile_names().join(", ");
                let message = format!("profile `{name}` is not in orch.toml (profiles: {known})");
                return Err(SpawnError { message, permanent: true });
            }
        },
    };
    let dir = orch.home().run_dir(&c.run.id);
    crate::home::create_private_dir(&dir).map_err(|e| e.to_string())?;
    let deps = orch.dep_reports(t).map_err(|e| e.to_string())?;
    let mut json = task_json(t);
    json["run_id"] = serde_json::json!(c.run.id);
    json["trace_id"] = serde_json::json!(c.run.trace_id);
    json["deps"] = serde_json::to_value(&deps).expect("deps serialise");
    let task_file = dir.join("task.json");
    let text = serde_json::to_string_pretty(&json).expect("JSON serialises");
    crate::home::replace_private(&task_file, &text).map_err(|e| e.to_string())?;

    let deps_text: String = deps
        .iter()
        .map(|d| {
            let title = d.task.lines().next().unwrap_or("");
            format!("- {} ({}): {title}\n{}\n", d.id, d.status, d.report.as_deref().unwrap_or("(no report)"))
        })
        .collect();
    let attempt = c.run.attempt.to_string();
    let task_file_s = task_file.display().to_string();
    let before = resume::before(&orch.runs(&t.id).map_err(|e| e.to_string())?, &c.run.id);
    let mut values: Vec<(&str, &str)> = vec![
        ("id", &t.id),
        ("task", &t.task),
        ("criteria", t.success_criteria.as_deref().unwrap_or("-")),
        ("notes", t.notes.as_deref().unwrap_or("-")),
        ("deps", if deps_text.is_empty() { "-" } else { &deps_text }),
        ("attempt", &attempt),
        ("task_json", &task_file_s),
        ("resume_session", &before.session),
        ("last_attempt", &before.last_attempt),
    ];
    let prompt_path = orch.home().dir.join(&orch.config().worker.prompt_file);
    let mut prompt_template = std::fs::read_to_string(&prompt_path).unwrap_or_else(|_| FALLBACK_PROMPT.to_string());
    if before.last_attempt != resume::NONE && !prompt_template.contains("{last_attempt}") {
        prompt_template.push_str(LAST_ATTEMPT);
    }
    let prompt = template::render(&prompt_template, &values);
    values.push(("prompt", &prompt));
    let argv = template::render_argv(command, &values);

    let home = orch.home().dir.display().to_string();
    let mut env = vec![
        ("ORCH_TASK_ID".to_string(), t.id.clone()),
        (runner::RUN_ID_VAR.into(), c.run.id.clone()),
        ("ORCH_TRACE_ID".into(), c.run.trace_id.clone()),
        ("ORCH_LEASE_TOKEN".into(), c.run.lease_token.clone()),
        ("ORCH_ATTEMPT".into(), attempt.clone()),
        ("ORCH_HOME".into(), home),
        ("ORCH_TASK_JSON".into(), task_file_s.clone()),
        ("ORCH_RESUME_SESSION".into(), before.session.clone()),
    ];
    if orch.db_url() != orch.home().db_path().display().to_string() {
        env.push(("ORCH_DB".into(), orch.db_url().to_string()));
    }
    let mut cwd = orch.home().root().to_path_buf();
    if let Some(ws) = ws {
        let p = ws.prepare(orch, &t.id, &c.run.id)?;
        env.extend(p.env());
        cwd = p.path;
    }
    let spec = Spec {
        argv,
        env,
        cwd,
        stdout: dir.join("stdout.log"),
        stderr: dir.join("stderr.log"),
        stdin: None,
        max_log_bytes: Some(orch.config().worker.max_log_bytes),
        inherit,
    };
    runner::spawn(&spec).map_err(|mut e| {
        if e.permanent {
            e.message.push_str(
                "; pass the task to the worker through {task_json} (the task file, also in $ORCH_TASK_JSON) \
                 instead of in its arguments ({prompt}, {task}) in worker.command",
            );
        }
        e
    })
}
