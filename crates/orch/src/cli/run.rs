//! Execution commands: `run` (the dispatcher) and `exec` (claim one task, run a command
//! for it under the same protocol).

use super::output::{print, print_json};
use crate::dispatch::{self, RunOptions, SPAWNED_BY_DISPATCHER, SPAWNED_BY_EXEC};
use crate::error::{Error, Result};
use crate::ops::Orch;
use orch_core::outcome::Exit;
use orch_core::task::Status;

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Workers at once (default: dispatcher.workers; at most dispatcher.hard_cap).
    #[arg(long, short = 'w')]
    workers: Option<usize>,
    /// One task at a time.
    #[arg(long, conflicts_with = "workers")]
    sequential: bool,
    /// Exit once nothing runs and nothing is eligible now (retries due within --max-wait are waited for).
    #[arg(long)]
    until_idle: bool,
    /// With --until-idle: wait for retries due within this long (default 5m; 0s waits for none).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = super::limits::duration, requires = "until_idle")]
    max_wait: jiff::SignedDuration,
    /// No progress lines.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(orch: &Orch, a: &RunArgs) -> Result<i32> {
    let workers = if a.sequential { 1 } else { a.workers.unwrap_or(orch.config().dispatcher.workers) };
    let opts = RunOptions {
        workers,
        until_idle: a.until_idle,
        command: None,
        owner: None,
        max_claims: None,
        spawned_by: SPAWNED_BY_DISPATCHER,
        quiet: a.quiet || a.json,
        max_wait: a.max_wait,
    };
    let s = dispatch::run(orch, opts)?;
    if a.json {
        print_json(&serde_json::to_value(&s).expect("a summary serialises"));
    } else if !a.quiet {
        let c = &s.counts;
        let stopped = s.stopped_by.as_ref().map_or_else(String::new, |sig| format!("stopped by {sig}: "));
        let level = if crate::console::journal() { "<5>" } else { "" };
        print(&format!(
            "{level}{stopped}started {}, done {}, failed {}, blocked {}, put back {} in {:.1}s",
            c.started, c.done, c.failed, c.blocked, c.interrupted, s.elapsed_s
        ));
    } else if let Some(sig) = &s.stopped_by {
        crate::console::eprint(&format!("orch: stopped by {sig}; running tasks were put back"));
    }
    if !a.json && !s.left_retries.is_empty() {
        let (now, tz) = (crate::api::now(orch), crate::api::time_zone(orch));
        let left: Vec<String> = s
            .left_retries
            .iter()
            .map(|r| format!("{} retry {}", r.id, orch_core::time::format_next(r.retry_at, now, tz)))
            .collect();
        crate::console::eprint(&format!(
            "orch: left {} retr{} for later (beyond --max-wait {}): {}",
            left.len(),
            if left.len() == 1 { "y" } else { "ies" },
            orch_core::time::format_duration(a.max_wait),
            left.join(", ")
        ));
    }
    // A stop by a signal is a clean end (exit 0): the tasks were given back.
    Ok(0)
}

#[derive(clap::Args, Debug)]
pub struct ExecArgs {
    /// Who takes the task (shown as owner_session).
    #[arg(long)]
    owner: String,
    /// Print progress lines.
    #[arg(long, short = 'v')]
    verbose: bool,
    /// The command and its arguments (placeholders {id} {task} {criteria} {prompt} {task_json}).
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

/// Exit code: 0 when the task ended DONE; the worker's own code when it failed with one;
/// 1 otherwise; 4 when nothing was eligible.
pub fn exec(orch: &Orch, a: &ExecArgs) -> Result<i32> {
    let owner = orch_core::task_text::field_text("--owner", &a.owner).map_err(Error::Usage)?;
    let owner = owner.ok_or_else(|| Error::Usage("--owner must name the worker".into()))?;
    let opts = RunOptions {
        workers: 1,
        until_idle: true,
        command: Some(a.command.clone()),
        owner: Some(owner),
        max_claims: Some(1),
        spawned_by: SPAWNED_BY_EXEC,
        quiet: !a.verbose,
        max_wait: jiff::SignedDuration::ZERO,
    };
    let s = dispatch::run(orch, opts)?;
    let Some(id) = &s.last_task else {
        return Err(Error::NotFound("nothing to run: no task is eligible now".into()));
    };
    let status = s.last_status.map_or_else(|| "lease lost".to_string(), |st| st.to_string());
    crate::console::eprint(&format!("orch: {id} {status}"));
    Ok(match (s.last_status, &s.last_exit) {
        (Some(Status::Done), _) => 0,
        (_, Some(Exit::Code(c))) if *c != 0 => *c,
        _ => 1,
    })
}
