//! Worker commands: pick, heartbeat, done, fail, and the watchdog sweep.

use super::limits::lease;
use super::output::warn_all;
use super::output::{print, print_value};
use crate::api::{self, Orch};
use crate::error::{Error, Result};
use jiff::SignedDuration;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct PickArgs {
    /// Who takes the task (shown as owner_session).
    #[arg(long)]
    owner: String,
    /// Lease length, at least 3s (default: dispatcher.lease).
    #[arg(long, value_parser = lease)]
    lease: Option<SignedDuration>,
    /// Print the task claimed as JSON (`null` when none is eligible, still exit 4).
    #[arg(long)]
    json: bool,
}

pub fn pick(orch: &Orch, a: &PickArgs) -> Result<i32> {
    let p = match api::pick(orch, api::PickRequest { owner: a.owner.clone(), lease: a.lease }) {
        Ok(p) => p,
        // Nothing to pick is `null` under --json, with the same exit code (4).
        Err(e @ Error::NotFound(_)) if a.json => {
            super::output::print_json(&serde_json::Value::Null);
            crate::console::eprint(&format!("orch: {e}"));
            return Ok(e.exit_code());
        }
        Err(e) => return Err(e),
    };
    warn_all(&p.warnings);
    if a.json {
        print_value(&p)?;
    } else {
        print(&format!("{} {}", p.task.id, p.task.task));
        print(&format!("export ORCH_LEASE_TOKEN={}", p.lease_token));
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

#[derive(clap::Args, Debug)]
pub struct HeartbeatArgs {
    /// The task: its id (ORCH-005, orch-005) or its number alone (5).
    #[arg(value_parser = super::limits::task_id)]
    id: String,
    #[command(flatten)]
    lease: LeaseArgs,
    /// Extend the lease to this long from now, at least 3s (default: dispatcher.lease).
    #[arg(long = "for", value_parser = lease)]
    extend: Option<SignedDuration>,
    /// Print the task as JSON.
    #[arg(long)]
    json: bool,
}

pub fn heartbeat(orch: &Orch, a: &HeartbeatArgs) -> Result<i32> {
    let req = api::HeartbeatRequest {
        id: a.id.clone(),
        lease: a.lease.token.clone(),
        force: a.lease.force,
        extend: a.extend,
    };
    let c = api::heartbeat(orch, req)?;
    warn_all(&c.warnings);
    if a.json {
        print_value(&c)?;
    } else {
        let until = c.task.lease.as_ref().map(|l| l.expires_at);
        print(&format!("{} lease until {}", c.task.id, super::output::time(until, api::time_zone(orch))));
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
    /// The task: its id (ORCH-005, orch-005) or its number alone (5).
    #[arg(value_parser = super::limits::task_id)]
    id: String,
    #[command(flatten)]
    lease: LeaseArgs,
    /// A note to append.
    #[arg(long)]
    notes: Option<String>,
    /// The report (a file, or - for stdin); the gate judges it. None is the empty report.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Print the task as JSON.
    #[arg(long)]
    json: bool,
}

/// Exit 0 when the gate said PASS (or `--force` skipped it) and the task is DONE; 5 when
/// it said RETRY (a transient failure, retried after the backoff) or BLOCK.
pub fn done(orch: &Orch, a: &DoneArgs) -> Result<i32> {
    let report = read_report(&a.report)?;
    let req = api::DoneRequest {
        id: a.id.clone(),
        lease: a.lease.token.clone(),
        force: a.lease.force,
        notes: a.notes.clone(),
        report,
    };
    let r = api::done(orch, req)?;
    finished(orch, &r.task, &r.warnings, &r, a.json)?;
    let t = &r.task;
    if t.status == orch_core::task::Status::Done {
        return Ok(0);
    }
    let verdict = r.verdict.as_deref().unwrap_or("-");
    let why = r.reason.as_deref().unwrap_or("-");
    let next = match t.retry_at {
        Some(at) => {
            format!("it will be retried {}", orch_core::time::format_next(at, api::now(orch), api::time_zone(orch)))
        }
        None if t.status == orch_core::task::Status::Failed => "no retry is left".to_string(),
        None => "it waits for an operator (`orch retry`)".to_string(),
    };
    crate::console::eprint(&format!(
        "orch: {} not done: the gate said {verdict} ({why}); it is {}, {next}",
        t.id, t.status
    ));
    Ok(5)
}

fn finished(orch: &Orch, t: &api::TaskView, w: &[String], json: &impl serde::Serialize, as_json: bool) -> Result<i32> {
    warn_all(w);
    if as_json {
        print_value(json)?;
    } else if let Some(at) = t.retry_at {
        let when = orch_core::time::format_next(at, api::now(orch), api::time_zone(orch));
        print(&format!("{} {}: retry {when}", t.id, t.status));
    } else {
        print(&format!("{} {}", t.id, t.status));
    }
    Ok(0)
}

#[derive(clap::Args, Debug)]
pub struct FailArgs {
    /// The task: its id (ORCH-005, orch-005) or its number alone (5).
    #[arg(value_parser = super::limits::task_id)]
    id: String,
    #[command(flatten)]
    lease: LeaseArgs,
    /// What went wrong.
    #[arg(long)]
    reason: String,
    /// No retry until an operator's `retry`.
    #[arg(long)]
    permanent: bool,
    /// The report (a file, or - for stdin), kept on the run.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Print the task as JSON.
    #[arg(long)]
    json: bool,
}

pub fn fail(orch: &Orch, a: &FailArgs) -> Result<i32> {
    let report = read_report(&a.report)?;
    let req = api::FailRequest {
        id: a.id.clone(),
        lease: a.lease.token.clone(),
        force: a.lease.force,
        reason: a.reason.clone(),
        permanent: a.permanent,
        report,
    };
    let c = api::fail(orch, req)?;
    finished(orch, &c.task, &c.warnings, &c, a.json)
}

#[derive(clap::Args, Debug)]
pub struct WatchdogArgs {
    /// Print the tasks whose lease had expired as a JSON array.
    #[arg(long)]
    json: bool,
}

pub fn watchdog(orch: &Orch, a: &WatchdogArgs) -> Result<i32> {
    let swept = api::watchdog(orch, api::WatchdogRequest {})?;
    warn_all(&swept.warnings);
    if a.json {
        print_value(&swept)?;
    } else if swept.tasks.is_empty() {
        print("no expired leases");
    } else {
        for t in &swept.tasks {
            print(&format!("{} lease_expired: now {}", t.id, t.status));
        }
    }
    Ok(0)
}
