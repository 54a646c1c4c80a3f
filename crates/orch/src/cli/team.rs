//! `orch team add FILE`: read a team template, validate it (every problem named by its
//! field, exit 2), check that its input files exist, and add the team in one go.

use super::output::{print, print_json};
use super::warn_all;
use crate::error::{Error, Result};
use crate::ops::Orch;
use orch_core::team::{self, Problem};
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
    let text = std::fs::read_to_string(&a.file).map_err(|e| Error::Usage(format!("{shown}: {e}")))?;
    let limits = orch.team_limits(a.max_workers)?;
    let refuse = |problems: &[Problem]| {
        let lines: Vec<String> = problems.iter().map(|p| format!("{shown}: {p}")).collect();
        Error::Usage(lines.join("\n"))
    };
    let t = team::parse(&text, limits).map_err(|p| refuse(&p))?;
    if !a.allow_missing_inputs {
        let missing = orch.missing_inputs(&t);
        if !missing.is_empty() {
            return Err(refuse(&missing));
        }
    }
    let (added, warnings) = orch.add_team(&t, a.idempotency_key.as_deref()).map_err(|e| match e {
        Error::Usage(m) => Error::Usage(m.lines().map(|l| format!("{shown}: {l}")).collect::<Vec<_>>().join("\n")),
        other => other,
    })?;
    warn_all(&warnings);
    let worker_ids: Vec<&str> = added.workers.iter().map(|w| w.id.as_str()).collect();
    if a.json {
        print_json(&serde_json::json!({"lead": added.lead.id, "workers": worker_ids}));
        return Ok(0);
    }
    if !added.created {
        print(&format!("{} exists with that idempotency key; nothing added", added.lead.id));
    }
    let roster: Vec<String> = added
        .workers
        .iter()
        .map(|w| format!("{} ({})", w.id, team::extra(w, team::EXTRA_ROLE).unwrap_or("-")))
        .collect();
    print(&format!("team \"{}\": lead {}, workers {}", t.title, added.lead.id, roster.join(", ")));
    print(&format!("the workers run in parallel; {} runs when all are DONE (orch status {0})", added.lead.id));
    Ok(0)
}
