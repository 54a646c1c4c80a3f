//! Quick add: a task from one line of free text (`p0`, `due:내일 18:00`, `due:+3h`,
//! `criteria:"…"`, `#resource`; the rest is the task), with what was understood;
//! `dry_run` only says what. The parsing is `orch_core::quick`; chat's `!add` comes
//! through here too.

use crate::error::{Error, Result};
use crate::ops::json::TaskView;
use crate::ops::{NewTask, Orch};
use jiff::Timestamp;
use orch_core::quick;
use orch_core::task::Priority;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuickRequest {
    /// The line, e.g. `p0 릴리즈 노트 작성 due:내일 18:00 criteria:"한 페이지" #docs`.
    pub text: String,
    /// Only say what was understood; add nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// The task of an earlier add with this key is returned instead of a new one.
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

/// What the line was understood to say.
#[derive(Clone, Debug, Serialize)]
pub struct Understood {
    pub task: String,
    pub priority: Option<Priority>,
    pub due_at: Option<Timestamp>,
    /// The due time in the display time zone.
    pub due_at_display: Option<String>,
    pub success_criteria: Option<String>,
    pub resource: Option<String>,
    /// The worker profile an `@name` word names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Not claimed before this time (`start:…`), in the display time zone (the task's
    /// `not_before` holds the instant).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_before_display: Option<String>,
    /// What the parser doubted (shown before the result).
    pub warnings: Vec<String>,
    /// The display time zone's name.
    #[serde(skip)]
    pub zone: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct QuickAdded {
    pub understood: Understood,
    pub dry_run: bool,
    /// The task added; none on a dry run.
    pub added: Option<TaskView>,
    #[serde(skip)]
    pub warnings: Vec<String>,
}

pub fn quick(orch: &Orch, req: QuickRequest) -> Result<QuickAdded> {
    let q = quick::parse(&req.text, orch.now(), orch.tz()).map_err(|e| Error::Usage(format!("quick: {e}")))?;
    let understood = Understood {
        task: q.task.clone(),
        priority: q.priority,
        due_at: q.due_at,
        due_at_display: q.due_at.map(|d| orch_core::time::format_display_time(d, orch.tz())),
        success_criteria: q.criteria.clone(),
        resource: q.resource.clone(),
        profile: q.profile.clone(),
        not_before_display: q.not_before.map(|d| orch_core::time::format_display_time(d, orch.tz())),
        warnings: q.warnings.clone(),
        zone: orch.tz().iana_name().unwrap_or("display time zone").to_string(),
    };
    if req.dry_run {
        return Ok(QuickAdded { understood, dry_run: true, added: None, warnings: Vec::new() });
    }
    let new = NewTask {
        task: q.task,
        priority: q.priority,
        success_criteria: q.criteria,
        due_at: q.due_at,
        resource: q.resource,
        profile: q.profile,
        not_before: q.not_before,
        idempotency_key: req.idempotency_key,
        ..NewTask::default()
    };
    let (task, _, warnings) = orch.add(&new)?;
    Ok(QuickAdded { understood, dry_run: false, added: Some(TaskView::from(&task)), warnings })
}
