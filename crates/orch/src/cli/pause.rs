//! `pause` and `resume`: stop and restart claims of the queue or of one worker profile.

use super::output::{print, print_value};
use crate::api::{self, Orch, Pause};
use crate::error::Result;

#[derive(clap::Args, Debug)]
pub struct PauseArgs {
    /// A worker profile of orch.toml (`default` is `[worker]`); without it, the whole queue.
    #[arg(value_name = "PROFILE")]
    profile: Option<String>,
    /// Resume by itself at this time: `+2h`, `tomorrow 9am`, `2026-12-24 09:00`, RFC 3339.
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// Why, shown by status and workers and kept in the event.
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
    /// Print the pause as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct ResumeArgs {
    /// The worker profile to resume; without it, the whole queue.
    #[arg(value_name = "PROFILE")]
    profile: Option<String>,
    /// Print `{"resumed": true|false}`.
    #[arg(long)]
    json: bool,
}

/// A pause as a line: `paused: queue until … (reason)`.
pub(super) fn line(orch: &Orch, p: &Pause) -> String {
    let what = match &p.profile {
        None => "queue".to_string(),
        Some(name) => format!("profile {name}"),
    };
    let until = match p.until {
        Some(u) => format!(" until {}", orch_core::time::format_display_time(u, api::time_zone(orch))),
        None => " until resumed".to_string(),
    };
    let reason = p.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
    format!("paused: {what}{until}{reason}")
}

pub fn pause(orch: &Orch, a: &PauseArgs) -> Result<i32> {
    let req = api::PauseRequest { profile: a.profile.clone(), until: a.until.clone(), reason: a.reason.clone() };
    let p = api::pause(orch, req)?;
    if a.json {
        print_value(&p)?;
    } else if p.until.is_some_and(|u| u <= api::now(orch)) {
        print("the time given is past: nothing paused");
    } else {
        print(&line(orch, &p));
    }
    Ok(0)
}

pub fn resume(orch: &Orch, a: &ResumeArgs) -> Result<i32> {
    let resumed = api::resume(orch, a.profile.as_deref())?;
    let what = a.profile.as_deref().map(|p| format!("profile {p}")).unwrap_or_else(|| "queue".into());
    if a.json {
        print_value(&serde_json::json!({ "resumed": resumed }))?;
    } else if resumed {
        print(&format!("{what} resumed"));
    } else {
        print(&format!("{what} was not paused"));
    }
    Ok(0)
}
