//! `[profiles.NAME]` of orch.toml: named kinds of worker, each with its own argv
//! template, concurrency, deadline, the environment variables it needs and labels that
//! are shown, never interpreted. The profile `default` is `[worker]` itself.

use super::{Config, MAX_TIMEOUT, argv};
use jiff::SignedDuration;
use serde::{Deserialize, Deserializer};

/// The name of the profile that `[worker]` is; a task without a profile runs under it.
pub const DEFAULT_PROFILE: &str = "default";

/// The longest profile name (it is shown in QUEUE.md's `profile` column).
pub const MAX_NAME: usize = 32;

/// One `[profiles.NAME]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The argv template, as `worker.command` (same placeholders).
    pub command: Vec<String>,
    /// How many tasks of this profile run at once, within the dispatcher's workers.
    #[serde(default = "one")]
    pub workers: usize,
    /// A run's deadline; `worker.timeout` when not given.
    #[serde(default, deserialize_with = "opt_duration")]
    pub timeout: Option<SignedDuration>,
    /// Names of environment variables the worker is given; their values are never
    /// logged or stored. When any is named, the worker gets only these, the basics
    /// ([`BASIC_ENV`]) and orch's own `ORCH_*`; when none, all of orch's environment.
    #[serde(default)]
    pub env: Vec<String>,
    /// A label of the model, shown and never interpreted.
    #[serde(default)]
    pub model: Option<String>,
    /// A label of the agent, shown and never interpreted.
    #[serde(default)]
    pub agent: Option<String>,
}

/// What a worker of a profile that lists `env` inherits besides those names: what a
/// program needs to find programs, files, its locale and its terminal.
pub const BASIC_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "TMPDIR",
    "TZ",
    "TERM",
    "COLORTERM",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "LC_MESSAGES",
    "LC_COLLATE",
    "LC_NUMERIC",
    "LC_TIME",
    "LC_MONETARY",
];

impl Profile {
    /// The names of the variables a worker of this profile inherits from orch's
    /// environment: `None` (all of it) when the profile lists no `env`, else the basics
    /// and the names listed.
    pub fn inherited_env(&self) -> Option<Vec<String>> {
        if self.env.is_empty() {
            return None;
        }
        let mut names: Vec<String> = BASIC_ENV.iter().map(|n| n.to_string()).collect();
        names.extend(self.env.iter().filter(|n| !BASIC_ENV.contains(&n.as_str())).cloned());
        Some(names)
    }
}

fn one() -> usize {
    1
}

fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SignedDuration>, D::Error> {
    super::duration(d).map(Some)
}

/// Whether `name` may name a profile: a letter, then letters, digits, `_` or `-`.
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && name.len() <= MAX_NAME
}

/// Whether `name` may name an environment variable (`[A-Za-z_][A-Za-z0-9_]*`).
fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Config {
    /// The names of the configured profiles, `default` first.
    pub fn profile_names(&self) -> Vec<&str> {
        std::iter::once(DEFAULT_PROFILE).chain(self.profiles.keys().map(String::as_str)).collect()
    }

    /// Whether `name` is a configured profile (`default` always is).
    pub fn has_profile(&self, name: &str) -> bool {
        name == DEFAULT_PROFILE || self.profiles.contains_key(name)
    }

    /// Checks every profile: (dotted key, what is wrong).
    pub(super) fn validate_profiles(&self) -> Result<(), (String, String)> {
        for (name, p) in &self.profiles {
            let key = |k: &str| format!("profiles.{name}.{k}");
            if name == DEFAULT_PROFILE {
                return Err((format!("profiles.{name}"), "`default` is [worker] itself; name it otherwise".into()));
            }
            if !is_valid_name(name) {
                return Err((
                    format!("profiles.{name}"),
                    format!(
                        "`{name}` is not a profile name (a letter, then letters, digits, _ or -; at most {MAX_NAME})"
                    ),
                ));
            }
            argv(&p.command, true).map_err(|e| (key("command"), e))?;
            let cap = self.dispatcher.hard_cap;
            if p.workers == 0 || p.workers > cap {
                return Err((key("workers"), format!("must be between 1 and dispatcher.hard_cap ({cap})")));
            }
            if let Some(t) = p.timeout {
                if !t.is_positive() {
                    return Err((key("timeout"), "must be longer than 0s".into()));
                }
                if t > MAX_TIMEOUT {
                    let (d, max) = (orch_core::time::format_duration(t), orch_core::time::format_limit(MAX_TIMEOUT));
                    return Err((key("timeout"), format!("{d} is longer than {max}, the most allowed")));
                }
            }
            if let Some(bad) = p.env.iter().find(|v| !is_env_name(v)) {
                return Err((key("env"), format!("`{bad}` is not the name of an environment variable")));
            }
        }
        Ok(())
    }
}
