//! `orch team add FILE`: read a team template, validate it (every problem named by its
//! field, exit 2), check that its input files exist, and add the team in one go.

use super::output::warn_all;
use super::output::{print, print_value};
use crate::api::{self, Orch};
use crate::error::{Error, Result};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct TeamArgs {
    #[command(subcommand)]
    command: TeamCommand,
}

#[derive(clap::Subcommand, Debug)]
enum TeamCommand {
    /// Add a team from a template (JSON; see examples/team.json): its workers, and a lead
    /// that runs when they are all DONE and receives their reports.
    #[command(after_help = "Examples:
  orch team add examples/team.json
  orch team add team.json --idempotency-key release-42 --json")]
    Add(AddArgs),
}

#[derive(clap::Args, Debug)]
pub struct AddArgs {
    /// The template file.
    file: PathBuf,
    /// Allow more workers than team.max_workers (never more than team.hard_cap).
    #[arg(long)]
    max_workers: Option<usize>,
    /// Add the team even when input files named in the template do not exist (yet).
    #[arg(long)]
    allow_missing_inputs: bool,
    /// Adding with the same key again returns the existing team.
    #[arg(long)]
    idempotency_key: Option<String>,
    /// Print {"lead": ID, "workers": [ID, …]}.
    #[arg(long)]
    json: bool,
}

pub fn run(orch: &Orch, a: &TeamArgs) -> Result<i32> {
    match &a.command {
        TeamCommand::Add(add) => add_team(orch, add),
    }
}

fn add_team(orch: &Orch, a: &AddArgs) -> Result<i32> {
    let shown = a.file.display().to_string();
    let template = std::fs::read_to_string(&a.file).map_err(|e| Error::Usage(format!("{shown}: {e}")))?;
    let req = api::TeamAddRequest {
        template,
        source: shown,
        max_workers: a.max_workers,
        allow_missing_inputs: a.allow_missing_inputs,
        idempotency_key: a.idempotency_key.clone(),
    };
    let added = api::team_add(orch, req)?;
    warn_all(&added.warnings);
    if a.json {
        print_value(&added)?;
        return Ok(0);
    }
    if !added.created {
        print(&format!("{} exists with that idempotency key; nothing added", added.lead));
    }
    let roster: Vec<String> =
        added.workers.iter().zip(&added.roles).map(|(id, role)| format!("{id} ({role})")).collect();
    print(&format!("team \"{}\": lead {}, workers {}", added.title, added.lead, roster.join(", ")));
    print(&format!("the workers run in parallel; {} runs when all are DONE (orch status {0})", added.lead));
    Ok(0)
}
