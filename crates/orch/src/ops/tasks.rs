//! Adding, reading and changing tasks (the operator side: note, cancel, replan, retry).

use super::late_report::keep_late_report;
use super::{Orch, not_found};
use crate::error::{Error, Result};
use crate::persist::{added, persist};
use jiff::Timestamp;
use orch_core::event::{Event, kind};
use orch_core::id::{MAX_ID_NUM, format_id, next_num};
use orch_core::state::{Command, transition};
use orch_core::task::{Priority, Status, Task};
use orch_core::task_text::{field_text, task_text};
use orch_store::{ListFilter, StoreError, Tx};
use std::collections::BTreeMap;

/// What `add` takes.
#[derive(Clone, Debug, Default)]
pub struct NewTask {
    pub task: String,
    pub priority: Option<Priority>,
    pub success_criteria: Option<String>,
    pub due_at: Option<Timestamp>,
    pub depends_on: Vec<String>,
    pub resource: Option<String>,
    pub idempotency_key: Option<String>,
    pub max_attempts: Option<u32>,
    /// The worker profile (`[profiles.NAME]` of orch.toml); `None` or `default` for `[worker]`.
    pub profile: Option<String>,
    /// Not claimed before this time.
    pub not_before: Option<Timestamp>,
}

/// What `add` gives: the task, whether it was made now (not found by its idempotency
/// key), and warnings from writing the files after the commit.
pub type AddedTask = (Task, bool, Vec<String>);

/// A new task's fields once checked: what [`Orch::insert_new`] writes.
#[derive(Clone, Debug)]
pub(super) struct Prepared {
    pub text: String,
    pub criteria: Option<String>,
    /// The worker profile, `None` for `[worker]`.
    pub profile: Option<String>,
    pub max_attempts: u32,
}

/// Counts by status and priority, and what runs next.
#[derive(Clone, Debug, serde::Serialize)]
pub struct StatusSummary {
    pub total: usize,
    pub by_status: BTreeMap<String, usize>,
    pub by_priority: BTreeMap<String, BTreeMap<String, usize>>,
    pub running: Vec<String>,
    /// PENDING tasks waiting for their not-before time (a count among PENDING).
    pub waiting: usize,
    pub next: Option<String>,
    /// The pauses in force (`orch pause`): the queue's, then each profile's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub paused: Vec<super::Pause>,
    /// The schedules, when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedules: Option<super::ScheduleCount>,
}

impl Orch {
    /// Adds a task; with an idempotency key that exists, returns that task instead
    /// (`created` false) and adds nothing.
    pub fn add(&self, new: &NewTask) -> Result<AddedTask> {
        let prepared = self.prepare(new)?;
        let now = self.now();
        let ((task, created), warnings) = self.change(|tx| self.insert_new(tx, new, &prepared, now))?;
        Ok((task, created, warnings))
    }

    /// Adds several tasks in one transaction (one commit, one refresh of the view), each
    /// answered as [`Orch::add`] would answer it alone: one whose fields are refused gets
    /// its error and the others are added; when the transaction fails (a dependency
    /// missing, a key taken meanwhile), each task is added again on its own.
    pub fn add_all(&self, news: &[NewTask]) -> Vec<Result<AddedTask>> {
        let mut out: Vec<Option<Result<AddedTask>>> = Vec::with_capacity(news.len());
        let mut ready = Vec::new();
        for (i, new) in news.iter().enumerate() {
            match self.prepare(new) {
                Ok(p) => {
                    ready.push((i, p));
                    out.push(None);
                }
                Err(e) => out.push(Some(Err(e))),
            }
        }
        if ready.len() > 1 {
            let now = self.now();
            let together = self.change(|tx| {
                let mut made = Vec::with_capacity(ready.len());
                for (i, p) in &ready {
                    made.push(self.insert_new(tx, &news[*i], p, now)?);
                }
                Ok(made)
            });
            if let Ok((made, warnings)) = together {
                for ((i, _), (task, created)) in ready.iter().zip(made) {
                    out[*i] = Some(Ok((task, created, warnings.clone())));
                }
            }
        }
        out.into_iter().zip(news).map(|(done, new)| done.unwrap_or_else(|| self.add(new))).collect()
    }

    /// Checks a new task's fields: its text and criteria, attempts and profile.
    pub(super) fn prepare(&self, new: &NewTask) -> Result<Prepared> {
        // Only text QUEUE.md writes and reads back exactly is taken (`orch_core::task_text`).
        let text = task_text(&new.task).map_err(Error::Usage)?;
        let criteria = new.success_criteria.as_deref().map(|c| field_text("--criteria", c)).transpose();
        let criteria = criteria.map_err(Error::Usage)?.flatten();
        if new.max_attempts == Some(0) {
            return Err(Error::Usage("--max-attempts must be at least 1".into()));
        }
        let profile = new.profile.as_deref().map(str::trim).filter(|p| *p != orch_core::task::DEFAULT_PROFILE);
        if let Some(p) = profile
            && !self.config.has_profile(p)
        {
            let known = self.config.profile_names().join(", ");
            return Err(Error::Usage(format!("profile `{p}` is not in orch.toml (profiles: {known})")));
        }
        let max_attempts = new.max_attempts.unwrap_or_else(|| self.policy.default_max_attempts());
        Ok(Prepared { text, criteria, profile: profile.map(str::to_string), max_attempts })
    }

    /// Inserts a checked new task in `tx` (its `task.added` event with it); with an
    /// idempotency key that exists, returns that task (`false`) and inserts nothing.
    pub(super) fn insert_new(
        &self,
        tx: &mut dyn Tx,
        new: &NewTask,
        p: &Prepared,
        now: Timestamp,
    ) -> orch_store::Result<(Task, bool)> {
        if let Some(key) = &new.idempotency_key
            && let Some(owner) = tx.idempotency_owner(key)?
        {
            let t = tx.task_get(&owner)?.ok_or_else(|| StoreError::NotFound(owner.clone()))?;
            return Ok((t, false));
        }
        for dep in &new.depends_on {
            if tx.task_get(dep)?.is_none() {
                return Err(StoreError::NotFound(format!("{dep} (named in --depends-on)")));
            }
        }
        let prefix = &self.config.queue.prefix;
        let num = free_nums(tx, prefix, 1)?;
        let id = format_id(prefix, num);
        let mut t = Task::new(id, p.text.clone(), new.priority.unwrap_or(Priority::P1), p.max_attempts, now);
        t.success_criteria = p.criteria.clone();
        t.due_at = new.due_at;
        t.depends_on = new.depends_on.clone();
        t.resource = new.resource.clone().filter(|s| !s.trim().is_empty());
        t.idempotency_key = new.idempotency_key.clone();
        t.not_before = new.not_before;
        if let Some(profile) = &p.profile {
            t.extra.push((orch_core::task::EXTRA_PROFILE.to_string(), profile.clone()));
        }
        t.version = 1;
        tx.task_insert(&t)?;
        if let Some(key) = &new.idempotency_key
            && !tx.idempotency_claim(key, &t.id)?
        {
            return Err(StoreError::Conflict(format!("idempotency key `{key}` was taken concurrently")));
        }
        let mut e = Event::new(now, kind::TASK_ADDED);
        e.task_id = Some(t.id.clone());
        e.to = Some(Status::Pending);
        e.msg = Some(t.task.clone());
        tx.event_insert(&e)?;
        Ok((added(tx, &t)?, true))
    }

    pub fn list(&self, filter: &ListFilter) -> Result<Vec<Task>> {
        Ok(orch_store::read(self.db.as_ref(), |tx| tx.task_list(filter))?)
    }

    /// The tasks that match `filter` in pick order, after `offset` and at most `limit`,
    /// each handed to `f` as the store reads it (one read transaction, constant memory).
    /// An error of `f` stops the walk and is returned as it is. Should the store have to
    /// run the read again (a PostgreSQL connection lost midway) after `f` has seen rows,
    /// the walk stops with an error instead of handing them out twice.
    pub fn list_each(
        &self,
        filter: &ListFilter,
        limit: Option<u64>,
        offset: u64,
        f: &mut dyn FnMut(Task) -> Result<()>,
    ) -> Result<()> {
        let mut failed: Option<Error> = None;
        let mut seen = 0u64;
        let walked = self.db.read(&mut |tx| {
            if seen > 0 {
                return Err(StoreError::abort(ListCut { listed: seen, next: offset.saturating_add(seen) }));
            }
            tx.tasks_each(filter, limit, offset, &mut |t| {
                seen += 1;
                f(t).map_err(|e| {
                    failed = Some(e);
                    StoreError::abort(ListStopped)
                })
            })
        });
        match (walked, failed) {
            (_, Some(e)) => Err(e),
            (Err(e), None) => Err(e.into()),
            (Ok(()), None) => Ok(()),
        }
    }

    /// Applies an operator's or a worker's command to one task.
    pub fn apply(&self, id: &str, cmd: &Command) -> Result<(Task, Vec<String>)> {
        self.apply_with_report(id, cmd, None)
    }

    /// Like [`Orch::apply`], with a report for the run that ends. When the lease turns out
    /// to be lost, the report is still kept on the run that held the token.
    pub fn apply_with_report(&self, id: &str, cmd: &Command, report: Option<&str>) -> Result<(Task, Vec<String>)> {
        let now = self.now();
        let mut refused = None;
        let (task, warnings) = self.change(|tx| {
            let before = tx.task_get(id)?.ok_or_else(|| StoreError::NotFound(id.to_string()))?;
            match transition(&before, cmd, now, &self.policy) {
                Ok(change) => Ok(Some(persist(tx, &before, change, report)?)),
                Err(e) => {
                    keep_late_report(tx, &before, cmd, report, now)?;
                    refused = Some(super::lease_token::refusal(tx, &before, cmd, e)?);
                    Ok(None)
                }
            }
        })?;
        match (task, refused) {
            (Some(t), _) => Ok((t, warnings)),
            (None, Some(e)) => Err(e),
            (None, None) => Err(not_found(id)),
        }
    }

    pub fn status_summary(&self) -> Result<StatusSummary> {
        let now = self.now();
        let next = self.next_pick(now)?;
        let in_progress = ListFilter { statuses: vec![Status::InProgress], ..ListFilter::default() };
        let (counts, running, waiting) = orch_store::read(self.db.as_ref(), |tx| {
            Ok((tx.task_counts()?, tx.task_list(&in_progress)?, tx.tasks_waiting(now)?))
        })?;
        let mut by_status: BTreeMap<String, usize> = Status::ALL.iter().map(|s| (s.to_string(), 0)).collect();
        let mut by_priority: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        let mut total = 0;
        for (status, priority, n) in counts {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            total += n;
            *by_status.entry(status.to_string()).or_default() += n;
            *by_priority.entry(priority.to_string()).or_default().entry(status.to_string()).or_default() += n;
        }
        let running = running.into_iter().map(|t| t.id).collect();
        let waiting = usize::try_from(waiting).unwrap_or(usize::MAX);
        let schedules = self.schedule_count()?;
        Ok(StatusSummary { total, by_status, by_priority, running, waiting, next, paused: self.pauses()?, schedules })
    }

    /// The task `pick` would take at `now`: the claim's own selection (sweep, order,
    /// dependencies, resources, idempotency keys, budget) read without writing
    /// (`next_pick::next_read`): no write lock, nothing rolled back. In the one case a
    /// read cannot follow (a candidate whose key a DONE task holds: the claim marks it
    /// done first), the selection runs in a write transaction that is rolled back.
    pub fn next_pick(&self, now: Timestamp) -> Result<Option<String>> {
        let rules = self.rules();
        let look = orch_store::read(self.db.as_ref(), |tx| super::next_pick::next_read(tx, now, &rules))?;
        if let super::next_pick::Look::Next(id) = look {
            return Ok(id);
        }
        let mut next = None;
        let rolled_back = self.db.write(&mut |tx| {
            next = super::pick::next_in(tx, now, &rules, &Default::default())?.map(|t| t.id);
            Err(StoreError::abort(DryRun))
        });
        match rolled_back {
            Err(e) if e.aborted::<DryRun>().is_some() => Ok(next),
            Err(e) => Err(e.into()),
            Ok(()) => Ok(next),
        }
    }
}

/// How [`Orch::list_each`] stops the store's walk when its callback fails.
#[derive(Debug, thiserror::Error)]
#[error("listing stopped")]
struct ListStopped;

/// The store ran a list's read again after rows were handed out.
#[derive(Debug, thiserror::Error)]
#[error("the read was interrupted after {listed} tasks were listed; list again (--offset {next} goes on)")]
struct ListCut {
    listed: u64,
    next: u64,
}

/// How [`Orch::next_pick`] rolls its write transaction back.
#[derive(Debug, thiserror::Error)]
#[error("a dry run, rolled back")]
struct DryRun;

/// The first of `count` consecutive free id numbers with `prefix`: after the highest in
/// use, or, once those would pass `MAX_ID_NUM` (a task imported with the largest
/// number), the lowest free run, so that no task can stop new ids. The search reads the
/// numbers in use in pages and happens only when the top of the range is taken.
pub(crate) fn free_nums(tx: &mut dyn Tx, prefix: &str, count: u64) -> orch_store::Result<u64> {
    const PAGE: usize = 1024;
    let full = match next_num(prefix, tx.task_max_num(prefix)?, count) {
        Ok(first) => return Ok(first),
        Err(full) => full,
    };
    let fits = |first: u64| first.checked_add(count.saturating_sub(1)).is_some_and(|last| last <= MAX_ID_NUM);
    let mut from = 1u64;
    loop {
        let used = tx.task_nums_from(prefix, from, PAGE)?;
        for &n in &used {
            if !fits(from) {
                return Err(StoreError::Conflict(full));
            }
            if n >= from + count {
                return Ok(from);
            }
            from = from.max(n.saturating_add(1));
        }
        if used.len() < PAGE {
            return if fits(from) { Ok(from) } else { Err(StoreError::Conflict(full)) };
        }
    }
}
