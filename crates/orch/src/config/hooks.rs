//! `[hooks]` of orch.toml: the commands run after a change is committed (an argv
//! template per kind of change, no shell) and how long each may take. What fires them
//! and how they run is `crate::hooks`.

use super::argv;
use jiff::SignedDuration;
use serde::Deserialize;

/// The longest `hooks.timeout`: 1 hour.
pub const MAX_HOOK_TIMEOUT: SignedDuration = SignedDuration::from_hours(1);

/// `[hooks]`: an empty argv is no hook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Hooks {
    /// A task became DONE.
    pub on_done: Vec<String>,
    /// A task became FAILED (a retry may follow).
    pub on_failed: Vec<String>,
    /// A task became BLOCKED.
    pub on_blocked: Vec<String>,
    /// A task became FAILED with no attempt left (`on_failed` when this is not set).
    pub on_retry_exhausted: Vec<String>,
    /// `orch run` found nothing to do after having had work.
    pub on_idle: Vec<String>,
    /// A hook still running after this is killed with its process group.
    #[serde(deserialize_with = "super::duration")]
    pub timeout: SignedDuration,
}

impl Default for Hooks {
    fn default() -> Self {
        Hooks {
            on_done: Vec::new(),
            on_failed: Vec::new(),
            on_blocked: Vec::new(),
            on_retry_exhausted: Vec::new(),
            on_idle: Vec::new(),
            timeout: SignedDuration::from_secs(10),
        }
    }
}

impl Hooks {
    /// Whether any hook is configured.
    pub fn any(&self) -> bool {
        self.each().any(|(_, argv)| !argv.is_empty())
    }

    /// Every hook with its key (`on_done`, …).
    pub fn each(&self) -> impl Iterator<Item = (&'static str, &[String])> {
        [
            ("on_done", self.on_done.as_slice()),
            ("on_failed", &self.on_failed),
            ("on_blocked", &self.on_blocked),
            ("on_retry_exhausted", &self.on_retry_exhausted),
            ("on_idle", &self.on_idle),
        ]
        .into_iter()
    }

    /// Checks `[hooks]`: (dotted key, what is wrong).
    pub(super) fn validate(&self) -> Result<(), (String, String)> {
        for (key, words) in self.each() {
            argv(words, false).map_err(|e| (format!("hooks.{key}"), e))?;
        }
        if !self.timeout.is_positive() {
            return Err(("hooks.timeout".into(), "must be longer than 0s".into()));
        }
        if self.timeout > MAX_HOOK_TIMEOUT {
            let (d, max) =
                (orch_core::time::format_duration(self.timeout), orch_core::time::format_limit(MAX_HOOK_TIMEOUT));
            return Err(("hooks.timeout".into(), format!("{d} is longer than {max}, the most allowed")));
        }
        Ok(())
    }
}
