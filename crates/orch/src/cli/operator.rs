//! Operator commands: add, note, cancel, replan, retry.

use super::output::warn_all;
use super::output::{print, print_value};
use crate::api::{self, Orch};
use crate::error::Result;
use orch_core::task::Priority;

#[derive(clap::Args, Debug)]
pub struct AddArgs {
    /// What to do.
    title: String,
    /// The priority, P0 the most urgent (default: P1).
    #[arg(long, short = 'p', ignore_case = true, value_parser = super::values::priority())]
    priority: Option<Priority>,
    /// Checkable conditions for done.
    #[arg(long)]
    criteria: Option<String>,
    /// `2026-12-24 09:00`, `tomorrow 9am`, `내일 18:00`, `+3h`, RFC 3339 (display time zone).
    #[arg(long)]
    due: Option<String>,
    /// Ids this task waits for (repeat, or separate with commas).
    #[arg(long, value_delimiter = ',', value_parser = super::limits::task_id)]
    depends_on: Vec<String>,
    /// Tasks sharing a resource key never run at once.
    #[arg(long)]
    resource: Option<String>,
    /// Adding the same key again returns the existing task.
    #[arg(long)]
    idempotency_key: Option<String>,
    /// Attempts before the task stays FAILED (default: one more than retry.backoff has delays).
    #[arg(long, value_name = "N")]
    max_attempts: Option<u32>,
    /// The worker profile that runs it (`[profiles.NAME]` of orch.toml; default: `[worker]`).
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Not claimed before this time (the forms of --due): `+2h`, `tomorrow 9am`, RFC 3339.
    #[arg(long, value_name = "TIME")]
    not_before: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub fn add(orch: &Orch, a: &AddArgs) -> Result<i32> {
    let req = api::AddRequest {
        task: a.title.clone(),
        priority: a.priority,
        criteria: a.criteria.clone(),
        due: a.due.clone(),
        depends_on: a.depends_on.clone(),
        resource: a.resource.clone(),
        idempotency_key: a.idempotency_key.clone(),
        max_attempts: a.max_attempts,
        profile: a.profile.clone(),
        not_before: a.not_before.clone(),
    };
    let added = api::add(orch, req)?;
    warn_all(&added.warnings);
    if a.json {
        print_value(&added)?;
    } else if added.created {
        print(&format!("{} added ({})", added.task.id, added.task.priority));
    } else {
        print(&format!("{} exists with that idempotency key; nothing added", added.task.id));
    }
    Ok(0)
}

/// Prints a changed task: its JSON, or `ID WHAT: now STATUS`.
pub(super) fn changed(c: &api::Changed, what: &str, json: bool) -> Result<i32> {
    warn_all(&c.warnings);
    if json {
        print_value(c)?;
    } else {
        print(&format!("{} {what}: now {}", c.task.id, c.task.status));
    }
    Ok(0)
}

#[derive(clap::Args, Debug)]
pub struct NoteArgs {
    /// The task: its id (ORCH-005, orch-005) or its number alone (5).
    #[arg(value_parser = super::limits::task_id)]
    id: String,
    /// The note, appended to the task's notes (`a / b`).
    text: String,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub fn note(orch: &Orch, a: &NoteArgs) -> Result<i32> {
    let c = api::note(orch, api::NoteRequest { id: a.id.clone(), text: a.text.clone() })?;
    changed(&c, "noted", a.json)
}

#[derive(clap::Args, Debug)]
pub struct CancelArgs {
    /// The task: its id (ORCH-005, orch-005) or its number alone (5).
    #[arg(value_parser = super::limits::task_id)]
    id: String,
    /// Why (kept in the notes).
    #[arg(long)]
    reason: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub fn cancel(orch: &Orch, a: &CancelArgs) -> Result<i32> {
    let c = api::cancel(orch, api::CancelRequest { id: a.id.clone(), reason: a.reason.clone() })?;
    changed(&c, "cancelled", a.json)
}

#[derive(clap::Args, Debug)]
pub struct ReplanArgs {
    /// The task: its id (ORCH-005, orch-005) or its number alone (5).
    #[arg(value_parser = super::limits::task_id)]
    id: String,
    /// Why (kept in the notes as `replan:REASON`).
    #[arg(long)]
    reason: String,
    /// New task text (not empty).
    #[arg(long)]
    task: Option<String>,
    /// New success criteria (`''` clears them).
    #[arg(long)]
    criteria: Option<String>,
    /// New priority, P0 the most urgent.
    #[arg(long, short = 'p', ignore_case = true, value_parser = super::values::priority())]
    priority: Option<Priority>,
    /// New due time (`-` or `none` clears it).
    #[arg(long)]
    due: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub fn replan(orch: &Orch, a: &ReplanArgs) -> Result<i32> {
    let req = api::ReplanRequest {
        id: a.id.clone(),
        reason: a.reason.clone(),
        task: a.task.clone(),
        criteria: a.criteria.clone(),
        priority: a.priority,
        due: a.due.clone(),
    };
    changed(&api::replan(orch, req)?, "replanned", a.json)
}

#[derive(clap::Args, Debug)]
pub struct RetryArgs {
    /// The task: its id (ORCH-005, orch-005) or its number alone (5).
    #[arg(value_parser = super::limits::task_id)]
    id: String,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub fn retry(orch: &Orch, a: &RetryArgs) -> Result<i32> {
    changed(&api::retry(orch, api::RetryRequest { id: a.id.clone() })?, "retried", a.json)
}
