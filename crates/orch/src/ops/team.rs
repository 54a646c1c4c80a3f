//! Teams in the queue (docs/TEAMS.md): `team add` turns a validated template into worker
//! tasks and a lead task that depends on them, all in one transaction (either every task
//! exists or none); `status ID` reads a team back as a tree; and the gate settings of a
//! task, which honour a budget the task carries (a team's `budget`).
//!
//! Running a team needs nothing of its own: workers are ordinary tasks the dispatcher
//! runs in parallel; the lead becomes claimable when all of them are DONE and receives
//! their reports as `deps`. A worker that fails for good blocks the lead
//! (`blocked_by:ID`) and a DONE one releases it again; `ops::propagate` does both.

use super::{Orch, not_found};
use crate::config::Gate;
use crate::error::{Error, Result};
use jiff::Timestamp;
use orch_core::event::{Event, kind};
use orch_core::id::format_id;
use orch_core::task::{Priority, Status, Task};
use orch_core::team::{self, Budget, EXTRA_ROLE, EXTRA_TEAM, Limits, Problem, Team};
use orch_store::{StoreError, Tx};
use std::collections::HashSet;

/// The tasks of a team.
#[derive(Clone, Debug)]
pub struct TeamAdded {
    pub lead: Task,
    pub workers: Vec<Task>,
    /// False when the idempotency key named a team that exists: nothing was added.
    pub created: bool,
}

/// One task of a team (or of any dependency tree) as `status ID` shows it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TreeNode {
    pub id: String,
    /// `lead` or the worker's role; none for a task outside a team.
    pub role: Option<String>,
    pub status: Status,
    pub priority: Priority,
    /// The first line of the task text.
    pub task: String,
    pub attempts: u32,
    pub max_attempts: u32,
    /// Runs in all, across operator retries (which reset `attempts`).
    pub runs: usize,
    pub started_at: Option<Timestamp>,
    /// The current run so far, or the last run's length.
    pub elapsed_s: Option<f64>,
    /// The last note (`blocked_by:ORCH-002`, a failure reason…).
    pub last_note: Option<String>,
    pub children: Vec<TreeNode>,
}

/// A dependency tree is shown this deep at most.
const MAX_DEPTH: usize = 6;

impl Orch {
    /// The worker limits of a template: `[team]` from the config, `max_workers` raised
    /// (never past `team.hard_cap`) when the caller asks.
    pub fn team_limits(&self, max_workers: Option<usize>) -> Result<Limits> {
        let cfg = &self.config.team;
        let max = max_workers.unwrap_or(cfg.max_workers);
        if max == 0 || max > cfg.hard_cap {
            return Err(Error::Usage(format!("--max-workers must be between 1 and team.hard_cap ({})", cfg.hard_cap)));
        }
        Ok(Limits { max_workers: max, hard_cap: cfg.hard_cap })
    }

    /// Input files of the template that do not exist (paths are relative to the project
    /// folder, where workers run).
    pub fn missing_inputs(&self, t: &Team) -> Vec<Problem> {
        let root = self.home.root();
        let members = std::iter::once(("lead".to_string(), &t.lead))
            .chain(t.workers.iter().enumerate().map(|(i, w)| (format!("workers[{i}]"), w)));
        let mut out = Vec::new();
        for (at, m) in members {
            for (i, path) in m.inputs.iter().enumerate() {
                if !root.join(path).exists() {
                    let message = format!("no such file `{path}` (paths are relative to {})", root.display());
                    out.push(Problem { at: format!("{at}.inputs[{i}]"), message });
                }
            }
        }
        out
    }

    /// Members whose profile orch.toml does not configure.
    fn profile_problems(&self, t: &Team) -> Vec<Problem> {
        let members = std::iter::once(("lead".to_string(), &t.lead))
            .chain(t.workers.iter().enumerate().map(|(i, w)| (format!("workers[{i}]"), w)));
        let known = self.config.profile_names().join(", ");
        members
            .filter_map(|(at, m)| {
                let p = m.profile.as_deref().filter(|p| !self.config.has_profile(p))?;
                let message = format!("profile `{p}` is not in orch.toml (profiles: {known})");
                Some(Problem { at: format!("{at}.profile"), message })
            })
            .collect()
    }

    /// Each member's not-before time (its own, else the team's), read as `add
    /// --not-before` reads one; a value that does not read is a problem at its field.
    fn not_before_times(&self, t: &Team) -> Result<Vec<Option<Timestamp>>, Vec<Problem>> {
        let now = self.now();
        let members = t.workers.iter().enumerate().map(|(i, w)| (format!("workers[{i}]"), w));
        let members = members.chain(std::iter::once(("lead".to_string(), &t.lead)));
        let mut times = Vec::new();
        let mut problems = Vec::new();
        for (at, m) in members {
            let (at, given) = match (&m.not_before, &t.not_before) {
                (Some(own), _) => (format!("{at}.not_before"), Some(own)),
                (None, Some(team)) => ("not_before".to_string(), Some(team)),
                (None, None) => (String::new(), None),
            };
            match given.map(|s| orch_core::when::parse_when(s, now, self.tz())) {
                None => times.push(None),
                Some(Ok(t)) => times.push(Some(t)),
                Some(Err(e)) => {
                    let message = format!("`{}`: {e} ({})", given.map_or("", |s| s.trim()), orch_core::when::EXAMPLES);
                    if !problems.iter().any(|p: &Problem| p.at == at) {
                        problems.push(Problem { at, message });
                    }
                }
            }
        }
        if problems.is_empty() { Ok(times) } else { Err(problems) }
    }

    /// Budgets of the template that, with the config's defaults filled in, have their
    /// soft limit over their hard one.
    fn budget_problems(&self, t: &Team) -> Vec<Problem> {
        let g = &self.config.gate;
        let config = Budget { soft_tokens: Some(g.soft_tokens as u64), hard_tokens: Some(g.hard_tokens as u64) };
        let members = std::iter::once(("lead".to_string(), &t.lead))
            .chain(t.workers.iter().enumerate().map(|(i, w)| (format!("workers[{i}]"), w)));
        let mut out = Vec::new();
        for (at, m) in members {
            let b = m.budget.or(t.budget).or(config);
            if let (Some(s), Some(h)) = (b.soft_tokens, b.hard_tokens)
                && s > h
            {
                let message = format!("soft_tokens {s} is over hard_tokens {h} (give both, or a lower soft_tokens)");
                out.push(Problem { at: format!("{at}.budget"), message });
            }
        }
        out
    }

    /// Adds the team: its workers, then the lead depending on them, in one transaction.
    /// With an idempotency key that exists, returns that team and adds nothing.
    pub fn add_team(&self, t: &Team, idempotency_key: Option<&str>) -> Result<(TeamAdded, Vec<String>)> {
        let mut problems = self.budget_problems(t);
        problems.extend(self.profile_problems(t));
        let not_before = self.not_before_times(t).unwrap_or_else(|mut p| {
            problems.append(&mut p);
            Vec::new()
        });
        if !problems.is_empty() {
            let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
            return Err(Error::Usage(lines.join("\n")));
        }
        let now = self.now();
        let prefix = self.config.queue.prefix.clone();
        let max_attempts = self.policy.default_max_attempts();
        let priority = t.priority.unwrap_or(Priority::P1);
        self.change(|tx| {
            if let Some(key) = idempotency_key
                && let Some(owner) = tx.idempotency_owner(key)?
            {
                let lead = tx.task_get(&owner)?.ok_or_else(|| StoreError::NotFound(owner.clone()))?;
                let mut workers = Vec::new();
                for id in &lead.depends_on {
                    workers.push(tx.task_get(id)?.ok_or_else(|| StoreError::NotFound(id.clone()))?);
                }
                return Ok(TeamAdded { lead, workers, created: false });
            }
            let count = t.workers.len() as u64 + 1;
            let first = super::tasks::free_nums(tx, &prefix, count)?;
            let worker_ids: Vec<String> = (0..t.workers.len()).map(|i| format_id(&prefix, first + i as u64)).collect();
            let lead_id = format_id(&prefix, first + t.workers.len() as u64);
            let mut workers = Vec::new();
            for (i, w) in t.workers.iter().enumerate() {
                let text = team::worker_text(t, i, &lead_id);
                let mut task = Task::new(worker_ids[i].clone(), text, priority, max_attempts, now);
                task.success_criteria = Some(w.success_criteria.clone());
                task.extra = team::member_extra(&lead_id, &w.role, w.budget.or(t.budget));
                with_profile(&mut task, w);
                task.not_before = not_before.get(i).copied().flatten();
                insert(tx, &mut task, now)?;
                workers.push(task);
            }
            let mut lead = Task::new(lead_id.clone(), team::lead_text(t, &worker_ids), priority, max_attempts, now);
            lead.success_criteria = Some(t.lead.success_criteria.clone());
            lead.depends_on = worker_ids.clone();
            lead.idempotency_key = idempotency_key.map(str::to_string);
            lead.extra = team::member_extra(&lead_id, team::LEAD_ROLE, t.lead.budget.or(t.budget));
            with_profile(&mut lead, &t.lead);
            lead.not_before = not_before.last().copied().flatten();
            insert(tx, &mut lead, now)?;
            if let Some(key) = idempotency_key
                && !tx.idempotency_claim(key, &lead.id)?
            {
                return Err(StoreError::Conflict(format!("idempotency key `{key}` was taken concurrently")));
            }
            Ok(TeamAdded { lead, workers, created: true })
        })
    }

    /// The tree `status ID` shows: the team of `id` rooted at its lead, or, for a task
    /// outside a team, its dependencies. `None` when there is no tree (no dependencies).
    pub fn team_tree(&self, id: &str) -> Result<Option<TreeNode>> {
        let now = self.now();
        let tree = orch_store::read(self.db.as_ref(), |tx| {
            let Some(task) = tx.task_get(id)? else { return Ok(None) };
            let root = match team::extra(&task, EXTRA_TEAM) {
                Some(lead) if lead != task.id => tx.task_get(lead)?.unwrap_or(task),
                _ => task,
            };
            if root.depends_on.is_empty() {
                return Ok(Some(None));
            }
            let mut seen = HashSet::new();
            Ok(Some(Some(node(tx, &root, now, 0, &mut seen)?)))
        })?;
        tree.ok_or_else(|| not_found(id))
    }

    /// The gate settings for `task`: the config's, with the token budget the task carries.
    pub fn gate_for_task(&self, task: &Task) -> Gate {
        crate::gate::for_task(&self.config.gate, task)
    }

    /// The gate settings for the task of a run (the config's when the run is unknown).
    pub fn gate_for_run(&self, run_id: &str) -> Result<Gate> {
        let task = orch_store::read(self.db.as_ref(), |tx| match tx.run_get(run_id)? {
            Some(run) => tx.task_get(&run.task_id),
            None => Ok(None),
        })?;
        Ok(task.map_or_else(|| self.config.gate.clone(), |t| self.gate_for_task(&t)))
    }
}

/// Inserts a new task (at version 1) with its `task.added` event.
fn insert(tx: &mut dyn Tx, t: &mut Task, now: Timestamp) -> orch_store::Result<()> {
    t.version = 1;
    tx.task_insert(t)?;
    let mut e = Event::new(now, kind::TASK_ADDED);
    e.task_id = Some(t.id.clone());
    e.to = Some(Status::Pending);
    e.msg = Some(t.task.clone());
    tx.event_insert(&e)?;
    Ok(())
}

fn node(
    tx: &mut dyn Tx,
    t: &Task,
    now: Timestamp,
    depth: usize,
    seen: &mut HashSet<String>,
) -> orch_store::Result<TreeNode> {
    let runs = tx.runs_of(&t.id)?;
    let elapsed_s = match (t.status, t.started_at) {
        (Status::InProgress, Some(start)) => Some(now.duration_since(start).as_secs_f64()),
        _ => runs.last().and_then(|r| r.ended_at.map(|end| end.duration_since(r.started_at).as_secs_f64())),
    };
    let mut children = Vec::new();
    // A task reached twice (a shared dependency) is expanded once.
    if seen.insert(t.id.clone()) && depth < MAX_DEPTH {
        for id in &t.depends_on {
            if let Some(dep) = tx.task_get(id)? {
                children.push(node(tx, &dep, now, depth + 1, seen)?);
            }
        }
    }
    Ok(TreeNode {
        id: t.id.clone(),
        role: team::extra(t, EXTRA_ROLE).map(str::to_string),
        status: t.status,
        priority: t.priority,
        task: t.task.lines().next().unwrap_or_default().to_string(),
        attempts: t.attempts,
        max_attempts: t.max_attempts,
        runs: runs.len(),
        started_at: t.started_at,
        elapsed_s,
        last_note: t.notes.as_deref().and_then(|n| n.rsplit(" / ").next()).map(str::to_string),
        children,
    })
}

/// Gives `task` the member's profile (none for `default`).
fn with_profile(task: &mut Task, m: &team::Member) {
    if let Some(p) = m.profile.as_deref().filter(|p| *p != orch_core::task::DEFAULT_PROFILE) {
        task.extra.push((orch_core::task::EXTRA_PROFILE.to_string(), p.to_string()));
    }
}
