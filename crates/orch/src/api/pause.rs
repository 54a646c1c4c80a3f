//! `pause` and `resume`: claims of the queue or of one worker profile stop until
//! resumed or until a time (`ops/pause.rs` keeps them); what is paused now.

use super::input::parse_time_arg;
use crate::error::{Error, Result};
use crate::ops::{Orch, Pause};
use serde::Deserialize;

/// `pause`: the queue (no profile) or one profile.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PauseRequest {
    /// A profile of orch.toml (`default` is `[worker]`); none pauses the whole queue.
    pub profile: Option<String>,
    /// When the pause ends by itself, in any form [`parse_time_arg`] reads.
    pub until: Option<String>,
    pub reason: Option<String>,
}

/// A profile orch.toml configures, else a usage error naming the configured ones.
fn profile_of(orch: &Orch, profile: Option<&str>) -> Result<Option<String>> {
    let Some(p) = profile.map(str::trim) else { return Ok(None) };
    if !orch.config().has_profile(p) {
        let known = orch.config().profile_names().join(", ");
        return Err(Error::Usage(format!("profile `{p}` is not in orch.toml (profiles: {known})")));
    }
    Ok(Some(p.to_string()))
}

pub fn pause(orch: &Orch, req: PauseRequest) -> Result<Pause> {
    let profile = profile_of(orch, req.profile.as_deref())?;
    let until = req.until.as_deref().map(|u| parse_time_arg(orch, "--until", u)).transpose()?;
    let reason = req.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    orch.pause(profile.as_deref(), until, reason)
}

/// `resume`: true when the queue (or profile) was paused.
pub fn resume(orch: &Orch, profile: Option<&str>) -> Result<bool> {
    let profile = profile_of(orch, profile)?;
    orch.resume(profile.as_deref())
}

/// The pauses in force now, the queue's first.
pub fn pauses(orch: &Orch) -> Result<Vec<Pause>> {
    orch.pauses()
}
