//! Worker commands: pick, heartbeat, done, fail, and the watchdog sweep.

use super::output::{print, print_json};
use super::{lease, warn_all};
use crate::error::{Error, Result};
use crate::ops::json::task_json;
use crate::ops::{ClaimRequest, Finish, Orch};
use jiff::SignedDuration;
use orch_core::policy::FailureClass;
use orch_core::state::Auth;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct PickArgs {
    /// Who takes the task (shown as owner_session).
    #[arg(long)]
    owner: String,
    /// Lease length, at least 3s (default: dispatcher.lease).
    #[arg(long, value_parser = lease)]
    lease: Option<SignedDuration>,
    #[arg(long)]
    json: bool,
}

pub fn pick(orch: &Orch, a: &PickArgs) -> Result<i32> {
    let owner = orch_core::task_text::field_text("--owner", &a.owner).map_err(Error::Usage)?;
    let owner = owner.ok_or_else(|| Error::Usage("--owner must name the worker".into()))?;
    let req = ClaimRequest {
        owner,
        lease: a.lease.unwrap_or(orch.config().dispatcher.lease),
        host: Some(crate::runner::hostname()),
        pid: Some(i64::from(std::process::id())),
        pgid: None,
        spawned_by: None,
        dispatcher: None,
    };
    let (claimed, warnings) = orch.claim(&req)?;
    warn_all(&warnings);
    let Some(c) = claimed else {
        return Err(Error::NotFound("nothing to pick: no task is eligible now".into()));
    };
    if a.json {
        let mut v = task_json(&c.task);
        v["run_id"] = serde_json::json!(c.run.id);
        v["trace_id"] = serde_json::json!(c.run.trace_id);
        print_json(&v);
    } else {
        print(&format!("{} {}", c.task.id, c.task.task));
        print(&format!("export ORCH_LEASE_TOKEN={}", c.run.lease_token));
    }
    Ok(0)
}

#[derive(clap::Args, Debug)]
pub struct LeaseArgs {
    /// The lease token (default: $ORCH_LEASE_TOKEN).
    #[arg(long = "lease", env = "ORCH_LEASE_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Act without the lease (operators).
    #[arg(long)]
    force: bool,
}

impl LeaseArgs {
    fn auth(&self) -> Result<Auth> {
        match (&self.token, self.force) {
            (_, true) => Ok(Auth::Force),
            (Some(t), false) if !t.is_empty() => Ok(Auth::Token(t.clone())),
            _ => Err(Error::Usage("give the lease token (--lease or ORCH_LEASE_TOKEN), or --force".into())),
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct HeartbeatArgs {
    #[arg(value_parser = super::task_id)]
    id: String,
    #[command(flatten)]
    lease: LeaseArgs,
    /// Extend the lease to this long from now, at least 3s (default: dispatcher.lease).
    #[arg(long = "for", value_parser = lease)]
    extend: Option<SignedDuration>,
    #[arg(long)]
    json: bool,
}

pub fn heartbeat(orch: &Orch, a: &HeartbeatArgs) -> Result<i32> {
    let (t, w) = orch.heartbeat(&a.id, a.lease.auth()?, a.extend.unwrap_or(orch.config().dispatcher.lease))?;
    warn_all(&w);
    if a.json {
        print_json(&task_json(&t));
    } else {
        let until = t.lease.as_ref().map(|l| l.expires_at);
        print(&format!("{} lease until {}", t.id, super::output::time(until, orch.tz())));
    }
    Ok(0)
}

fn read_report(path: &Option<PathBuf>) -> Result<Option<String>> {
    match path {
        None => Ok(None),
        Some(p) if p.as_os_str() == "-" => {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                .map_err(|e| Error::Io(format!("stdin: {e}")))?;
            Ok(Some(s))
        }
        Some(p) => std::fs::read_to_string(p).map(Some).map_err(|e| Error::Usage(format!("{}: {e}", p.display()))),
    }
}

#[derive(clap::Args, Debug)]
pub struct DoneArgs {
    #[arg(value_parser = super::task_id)]
    id: String,
    #[command(flatten)]
    lease: LeaseArgs,
    /// A note to append.
    #[arg(long)]
    notes: Option<String>,
    /// The report (a file, or - for stdin); the gate judges it. None is the empty report.
    #[arg(long)]
    report: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

/// Exit 0 when the gate said PASS (or `--force` skipped it) and the task is DONE; 5 when
/// it said RETRY (a transient failure, retried after the backoff) or BLOCK.
pub fn done(orch: &Orch, a: &DoneArgs) -> Result<i32> {
    let report = read_report(&a.report)?;
    let r = orch.done(&a.id, a.lease.auth()?, a.notes.clone(), report.as_deref())?;
    finished(orch, &r.task, &r.warnings, a.json)?;
    let t = &r.task;
    if t.status == orch_core::task::Status::Done {
        return Ok(0);
    }
    let verdict = r.decision.as_ref().map_or("-", |d| d.verdict.as_str());
    let why = r.reason.as_deref().unwrap_or("-");
    let next = match t.retry_at {
        Some(at) => format!("it will be retried at {}", super::output::time(Some(at), orch.tz())),
        None if t.status == orch_core::task::Status::Failed => "no retry is left".to_string(),
        None => "it waits for an operator (`orch retry`)".to_string(),
    };
    crate::console::eprint(&format!(
        "orch: {} not done: the gate said {verdict} ({why}); it is {}, {next}",
        t.id, t.status
    ));
    Ok(5)
}

fn finished(orch: &Orch, t: &orch_core::task::Task, w: &[String], json: bool) -> Result<i32> {
    warn_all(w);
    if json {
        print_json(&task_json(t));
    } else if let Some(at) = t.retry_at {
        print(&format!("{} {}: retry at {}", t.id, t.status, super::output::time(Some(at), orch.tz())));
    } else {
        print(&format!("{} {}", t.id, t.status));
    }
    Ok(0)
}

#[derive(clap::Args, Debug)]
pub struct FailArgs {
    #[arg(value_parser = super::task_id)]
    id: String,
    #[command(flatten)]
    lease: LeaseArgs,
    /// What went wrong.
    #[arg(long)]
    reason: String,
    /// No retry until an operator's `retry`.
    #[arg(long)]
    permanent: bool,
    #[arg(long)]
    report: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

pub fn fail(orch: &Orch, a: &FailArgs) -> Result<i32> {
    let report = read_report(&a.report)?;
    let class = if a.permanent { FailureClass::Permanent } else { FailureClass::Transient };
    let fin = Finish::Fail { reason: a.reason.clone(), class };
    let (t, w) = orch.finish(&a.id, a.lease.auth()?, fin, report.as_deref())?;
    finished(orch, &t, &w, a.json)
}

#[derive(clap::Args, Debug)]
pub struct WatchdogArgs {
    #[arg(long)]
    json: bool,
}

pub fn watchdog(orch: &Orch, a: &WatchdogArgs) -> Result<i32> {
    let (tasks, w) = orch.sweep()?;
    warn_all(&w);
    if a.json {
        print_json(&serde_json::Value::Array(tasks.iter().map(task_json).collect()));
    } else if tasks.is_empty() {
        print("no expired leases");
    } else {
        for t in &tasks {
            print(&format!("{} lease_expired: now {}", t.id, t.status));
        }
    }
    Ok(0)
}
