//! Teams: read a team template, check it (every problem named by its field, exit 2),
//! check that its input files exist, and add the team in one go.

use crate::error::{Error, Result};
use crate::ops::Orch;
use orch_core::team::{self, Problem};
use serde::{Deserialize, Serialize};

/// `team add`: a template's text, and the name its problems are reported under.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamAddRequest {
    /// The template (JSON; see examples/team.json).
    pub template: String,
    /// Where it came from (a file name), for the messages.
    pub source: String,
    /// Allow more workers than `team.max_workers` (never more than `team.hard_cap`).
    #[serde(default)]
    pub max_workers: Option<usize>,
    /// Add the team even when input files named in the template do not exist (yet).
    #[serde(default)]
    pub allow_missing_inputs: bool,
    /// Adding with the same key again returns the existing team.
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

/// The lead and the workers' ids.
#[derive(Clone, Debug, Serialize)]
pub struct TeamAdded {
    pub lead: String,
    pub workers: Vec<String>,
    /// Each worker's role, in the order of `workers`.
    #[serde(skip)]
    pub roles: Vec<String>,
    #[serde(skip)]
    pub title: String,
    /// False when the idempotency key named a team that exists: nothing was added.
    #[serde(skip)]
    pub created: bool,
    #[serde(skip)]
    pub warnings: Vec<String>,
}

pub fn team_add(orch: &Orch, req: TeamAddRequest) -> Result<TeamAdded> {
    let shown = &req.source;
    let limits = orch.team_limits(req.max_workers)?;
    let refuse = |problems: &[Problem]| {
        let lines: Vec<String> = problems.iter().map(|p| format!("{shown}: {p}")).collect();
        Error::Usage(lines.join("\n"))
    };
    let t = team::parse(&req.template, limits).map_err(|p| refuse(&p))?;
    if !req.allow_missing_inputs {
        let missing = orch.missing_inputs(&t);
        if !missing.is_empty() {
            return Err(refuse(&missing));
        }
    }
    let (added, warnings) = orch.add_team(&t, req.idempotency_key.as_deref()).map_err(|e| match e {
        Error::Usage(m) => Error::Usage(m.lines().map(|l| format!("{shown}: {l}")).collect::<Vec<_>>().join("\n")),
        other => other,
    })?;
    Ok(TeamAdded {
        lead: added.lead.id.clone(),
        workers: added.workers.iter().map(|w| w.id.clone()).collect(),
        roles: added.workers.iter().map(|w| team::extra(w, team::EXTRA_ROLE).unwrap_or("-").to_string()).collect(),
        title: t.title.clone(),
        created: added.created,
        warnings,
    })
}
