//! `.orch/orch.toml`: every key with its default, read by every command. Unknown keys and
//! bad values — a wrong type or a value out of range — are refused with the file, the
//! line, the dotted key (`queue.done_kept`) and what is wrong.

use jiff::SignedDuration;
use keys::{Keys, line_of, plain};
use orch_core::policy::RetryPolicy;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::path::Path;

mod hooks;
mod keys;
mod profiles;
mod workspace;

pub use hooks::{Hooks, MAX_HOOK_TIMEOUT};
pub use profiles::{BASIC_ENV, DEFAULT_PROFILE, Profile};
pub use workspace::{Keep, Land, Mode, Workspace, is_branch_safe};

/// The shortest lease orch grants: a heartbeat comes at least three times per lease,
/// and a lease that ends before its worker can start is no lease.
pub const MIN_LEASE: SignedDuration = SignedDuration::from_secs(3);

/// The longest lease orch grants (`dispatcher.lease`, `pick --lease`, `heartbeat --for`):
/// 7 days. A worker silent for longer is lost, not slow.
pub const MAX_LEASE: SignedDuration = SignedDuration::from_hours(7 * 24);

/// The longest delay of `retry.backoff`: 30 days.
pub const MAX_BACKOFF: SignedDuration = SignedDuration::from_hours(30 * 24);

/// The longest `worker.timeout` and `gate.reviewer_timeout`: 30 days.
pub const MAX_TIMEOUT: SignedDuration = SignedDuration::from_hours(30 * 24);

/// The longest `worker.grace` (between SIGTERM and SIGKILL): 1 hour.
pub const MAX_GRACE: SignedDuration = SignedDuration::from_hours(1);

/// The most open rows `queue.open_kept` may keep in the view: a larger view is no
/// longer one a person reads, and every change would rewrite megabytes (0 shows all).
pub const MAX_OPEN_KEPT: usize = 100_000;

/// The file `init` writes: every key, its default and what it means.
pub const DEFAULT_TOML: &str = r#"# orch configuration. Every key is shown with its default.

[queue]
file = "QUEUE.md"          # the view, relative to the folder that holds .orch/; "" for none
prefix = "ORCH"            # ids are PREFIX-NNN
timezone = "Asia/Seoul"    # display time zone of QUEUE.md and the CLI
done_kept = 50             # DONE rows kept in the view; the database keeps all
open_kept = 300            # open rows kept in the view, first in pick order (IN_PROGRESS always); 0 = all
import_on_save = true      # while `orch run` runs, QUEUE.md saved by a person is imported (never a read-only view)

[dispatcher]
workers = 3
hard_cap = 5
lease = "15m"

[worker]
command = ["claude", "-p", "{prompt}"]   # argv; placeholders {id} {task} {criteria} {prompt} {task_json}
prompt_file = "prompt.md"                # template of {prompt}, in .orch/
timeout = "60m"
grace = "10s"                            # between SIGTERM and SIGKILL
max_log_bytes = 67108864                 # 64 MiB: each of a run's stdout.log and stderr.log keeps its head and tail within this
permanent_exit_codes = [64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 76, 77, 78]
defer_after = "15m"                      # the wait of a deferral that names no time, and of a usage limit whose reset cannot be read

# Worker profiles besides [worker] (the profile `default`); a task names one with
# `orch add --profile NAME`. None by default. For example:
# [profiles.fast]
# command = ["claude", "-p", "{prompt}", "--model", "haiku"]
# workers = 2              # tasks of this profile running at once (1 to dispatcher.hard_cap)
# timeout = "15m"          # worker.timeout unless given
# env = ["ANTHROPIC_API_KEY"]   # the worker gets only these, PATH/HOME/locale and ORCH_*; values never logged
# model = "haiku"          # labels, shown and never interpreted
# agent = "claude"

[hooks]
# Commands run after a change is committed (argv, never a shell; docs/HOOKS.md), e.g.
# on_done = ["notify-send", "orch: {id} done", "{task}"]
# Also on_failed, on_blocked, on_retry_exhausted (on_failed when not set) and on_idle.
# timeout = "10s"          # a hook still running then is killed with its process group

[retry]
backoff = ["1m", "3m", "10m"]
jitter = 0.0               # 0.1 stretches each delay by up to 10%

[gate]
compact_report = true
soft_tokens = 2000
hard_tokens = 3500
reviewer = []              # optional argv of a reviewer command
reviewer_timeout = "10m"

[budget]
task_cost_usd = 0          # 0 = no limit
daily_cost_usd = 0

[alerts]
failure_rate = 0.2
latency_p95 = "30m"
stale = 0
min_runs = 10              # finished runs needed before the failure-rate and latency alerts fire

[team]
max_workers = 3            # workers a team template may have (team add --max-workers raises it)
hard_cap = 5               # never more than this

[events]
# Secrets replaced by [masked] in events (database and events.jsonl) and in what
# `orch events` and `orch log` print: regular expressions (Rust `regex` syntax).
mask = [
    'sk-[A-Za-z0-9_-]{16,}',                 # OpenAI/Anthropic-style API keys
    'gh[pousr]_[A-Za-z0-9]{20,}',            # GitHub tokens
    'github_pat_[A-Za-z0-9_]{20,}',
    'AKIA[0-9A-Z]{16}',                      # AWS access key ids
    'xox[abprs]-[A-Za-z0-9-]{10,}',          # Slack tokens
    '(?i:bearer)[ \t]+[A-Za-z0-9._~+/=-]+',  # Authorization: Bearer … (RFC 6750 token)
    '(?i:password|passwd|secret)=[^ \t\r\n]+',
]

[workspace]
mode = "shared"            # "worktree": each task works in a git worktree of its own (docs/WORKSPACES.md)
base = ""                  # the branch tasks start from and land on; "" = the branch checked out
root = ".orch/worktrees"   # where the worktrees go, relative to the folder that holds .orch/
keep = "on_failure"        # when a worktree is removed: "on_failure" (once DONE), "always" (never), "never"
branch_prefix = "orch/"    # a task's branch is this prefix and its id
land = "manual"            # "auto": a run the gate passed lands on base before its task is DONE
check = []                 # argv run in the rebased worktree before a branch lands
check_timeout = "30m"
"#;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub queue: Queue,
    pub dispatcher: Dispatcher,
    pub worker: Worker,
    pub retry: Retry,
    pub gate: Gate,
    pub budget: Budget,
    pub alerts: Alerts,
    pub events: Events,
    pub team: Team,
    /// `[hooks]`: commands run after a change is committed.
    pub hooks: Hooks,
    /// `[profiles.NAME]`: the workers besides `[worker]` (the profile `default`).
    pub profiles: BTreeMap<String, Profile>,
    /// `[workspace]`: the shared checkout, or a git worktree per task.
    pub workspace: Workspace,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Queue {
    pub file: String,
    pub prefix: String,
    pub timezone: String,
    pub done_kept: usize,
    /// The open rows the view shows (0: every one); see [`Queue::open_kept`].
    pub open_kept: usize,
    /// While `orch run` runs, a QUEUE.md a person saved is imported as `orch import`
    /// would (docs/IMPORT_ON_SAVE.md); a read-only view never is.
    pub import_on_save: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Dispatcher {
    pub workers: usize,
    pub hard_cap: usize,
    #[serde(deserialize_with = "duration")]
    pub lease: SignedDuration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Worker {
    pub command: Vec<String>,
    pub prompt_file: String,
    #[serde(deserialize_with = "duration")]
    pub timeout: SignedDuration,
    #[serde(deserialize_with = "duration")]
    pub grace: SignedDuration,
    pub permanent_exit_codes: Vec<i32>,
    /// Each of a run's `stdout.log` and `stderr.log` is kept within this many bytes.
    pub max_log_bytes: u64,
    /// How long a deferral that names no time waits, and a usage limit whose reset
    /// cannot be read (WORKER_PROTOCOL.md).
    #[serde(deserialize_with = "duration")]
    pub defer_after: SignedDuration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Retry {
    #[serde(deserialize_with = "durations")]
    pub backoff: Vec<SignedDuration>,
    pub jitter: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Gate {
    pub compact_report: bool,
    pub soft_tokens: usize,
    pub hard_tokens: usize,
    pub reviewer: Vec<String>,
    #[serde(deserialize_with = "duration")]
    pub reviewer_timeout: SignedDuration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Budget {
    pub task_cost_usd: f64,
    pub daily_cost_usd: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Alerts {
    pub failure_rate: f64,
    #[serde(deserialize_with = "duration")]
    pub latency_p95: SignedDuration,
    pub stale: usize,
    pub min_runs: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Events {
    pub mask: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Team {
    pub max_workers: usize,
    pub hard_cap: usize,
}

// The defaults below are the values of DEFAULT_TOML; a test holds the two together.
impl Default for Queue {
    fn default() -> Self {
        Queue {
            file: "QUEUE.md".into(),
            prefix: "ORCH".into(),
            timezone: "Asia/Seoul".into(),
            done_kept: 50,
            open_kept: 300,
            import_on_save: true,
        }
    }
}

impl Default for Dispatcher {
    fn default() -> Self {
        Dispatcher { workers: 3, hard_cap: 5, lease: SignedDuration::from_mins(15) }
    }
}

impl Default for Worker {
    fn default() -> Self {
        Worker {
            command: vec!["claude".into(), "-p".into(), "{prompt}".into()],
            prompt_file: "prompt.md".into(),
            timeout: SignedDuration::from_mins(60),
            grace: SignedDuration::from_secs(10),
            permanent_exit_codes: (64..=78).filter(|c| *c != 75).collect(),
            max_log_bytes: 64 * 1024 * 1024,
            defer_after: SignedDuration::from_mins(15),
        }
    }
}

impl Default for Retry {
    fn default() -> Self {
        let p = RetryPolicy::default();
        Retry { backoff: p.backoff, jitter: p.jitter }
    }
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            compact_report: true,
            soft_tokens: 2000,
            hard_tokens: 3500,
            reviewer: Vec::new(),
            reviewer_timeout: SignedDuration::from_mins(10),
        }
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget { task_cost_usd: 0.0, daily_cost_usd: 0.0 }
    }
}

impl Default for Alerts {
    fn default() -> Self {
        Alerts { failure_rate: 0.2, latency_p95: SignedDuration::from_mins(30), stale: 0, min_runs: 10 }
    }
}

impl Default for Events {
    fn default() -> Self {
        Events { mask: orch_store::mask::BUILT_IN.iter().map(|p| p.to_string()).collect() }
    }
}

impl Default for Team {
    fn default() -> Self {
        Team { max_workers: 3, hard_cap: 5 }
    }
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<SignedDuration, D::Error> {
    let s = String::deserialize(d)?;
    orch_core::time::parse_duration(&s).map_err(serde::de::Error::custom)
}

fn durations<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SignedDuration>, D::Error> {
    let v = Vec::<String>::deserialize(d)?;
    v.iter().map(|s| orch_core::time::parse_duration(s).map_err(serde::de::Error::custom)).collect()
}

impl Config {
    /// Reads `path`; a missing file is the defaults.
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        Config::parse(&text).map_err(|e| format!("{}:{e}", path.display()))
    }

    /// Parses the text of a config file; errors read `LINE: KEY: what is wrong` (without
    /// the line when the key is not in the text, e.g. a default that clashes with another
    /// key's value).
    pub fn parse(text: &str) -> Result<Config, String> {
        let keys = Keys::of(text);
        let c: Config = toml::from_str(text).map_err(|e| {
            let msg = plain(e.message().trim());
            let Some(span) = e.span() else { return format!(" {msg}") };
            let line = line_of(text, span.start);
            match keys.at(span.start) {
                Some(key) => format!("{line}: {key}: {msg}"),
                None => format!("{line}: {msg}"),
            }
        })?;
        c.validate().map_err(|(key, msg)| match keys.line(text, &key) {
            Some(line) => format!("{line}: {key}: {msg}"),
            None => format!(" {key}: {msg}"),
        })?;
        Ok(c)
    }

    /// Checks values the types allow but orch does not: (dotted key, what is wrong).
    fn validate(&self) -> Result<(), (String, String)> {
        let fail = |key: &str, msg: String| Err((key.to_string(), msg));
        if !orch_core::id::is_valid_prefix(&self.queue.prefix) {
            let p = &self.queue.prefix;
            return fail(
                "queue.prefix",
                format!("`{p}` is not a valid id prefix (a letter, then letters, digits or _)"),
            );
        }
        if zone(&self.queue.timezone).is_none() {
            return fail("queue.timezone", format!("unknown time zone `{}`", self.queue.timezone));
        }
        if self.queue.open_kept > MAX_OPEN_KEPT {
            return fail("queue.open_kept", format!("must be at most {MAX_OPEN_KEPT} (0 shows every open task)"));
        }
        if self.dispatcher.hard_cap == 0 {
            return fail("dispatcher.hard_cap", "must be at least 1".into());
        }
        if self.dispatcher.workers == 0 {
            return fail("dispatcher.workers", "must be at least 1".into());
        }
        if self.dispatcher.workers > self.dispatcher.hard_cap {
            let (w, cap) = (self.dispatcher.workers, self.dispatcher.hard_cap);
            return fail("dispatcher.workers", format!("{w} is over dispatcher.hard_cap ({cap})"));
        }
        if self.dispatcher.lease < MIN_LEASE {
            return fail("dispatcher.lease", format!("must be at least {}s", MIN_LEASE.as_secs()));
        }
        if let Err(e) = argv(&self.worker.command, true) {
            return fail("worker.command", e);
        }
        if !self.worker.timeout.is_positive() {
            return fail("worker.timeout", "must be longer than 0s".into());
        }
        if self.worker.grace.is_negative() {
            return fail("worker.grace", "must not be negative".into());
        }
        if !self.worker.defer_after.is_positive() {
            return fail("worker.defer_after", "must be longer than 0s".into());
        }
        if self.worker.defer_after > orch_core::outcome::MAX_DEFER {
            let max = orch_core::time::format_limit(orch_core::outcome::MAX_DEFER);
            return fail("worker.defer_after", format!("is longer than {max}, the most allowed"));
        }
        if self.worker.max_log_bytes < crate::runner::MIN_LOG_BYTES {
            let min = crate::runner::MIN_LOG_BYTES;
            return fail("worker.max_log_bytes", format!("must be at least {min} (bytes)"));
        }
        for (key, d, max) in [
            ("dispatcher.lease", self.dispatcher.lease, MAX_LEASE),
            ("worker.timeout", self.worker.timeout, MAX_TIMEOUT),
            ("worker.grace", self.worker.grace, MAX_GRACE),
            ("gate.reviewer_timeout", self.gate.reviewer_timeout, MAX_TIMEOUT),
        ] {
            if d > max {
                let (d, max) = (orch_core::time::format_duration(d), orch_core::time::format_limit(max));
                return fail(key, format!("{d} is longer than {max}, the most allowed"));
            }
        }
        if let Some(c) = self.worker.permanent_exit_codes.iter().find(|c| !(1..=255).contains(*c)) {
            return fail("worker.permanent_exit_codes", format!("{c} is not an exit code of a failure (1 to 255)"));
        }
        if self.retry.backoff.is_empty() {
            return fail("retry.backoff", "needs at least one delay, e.g. [\"1m\"]".into());
        }
        if self.retry.backoff.iter().any(|d| d.is_negative()) {
            return fail("retry.backoff", "a delay must not be negative".into());
        }
        if let Some(d) = self.retry.backoff.iter().find(|d| **d > MAX_BACKOFF) {
            let (d, max) = (orch_core::time::format_duration(*d), orch_core::time::format_limit(MAX_BACKOFF));
            return fail("retry.backoff", format!("a delay of {d} is longer than {max}, the most allowed"));
        }
        if !(0.0..=1.0).contains(&self.retry.jitter) {
            return fail("retry.jitter", format!("{} is not between 0 and 1", self.retry.jitter));
        }
        if self.gate.hard_tokens == 0 {
            return fail("gate.hard_tokens", "must be at least 1".into());
        }
        if self.gate.soft_tokens > self.gate.hard_tokens {
            return fail("gate.soft_tokens", "must not be over gate.hard_tokens".into());
        }
        if let Err(e) = argv(&self.gate.reviewer, false) {
            return fail("gate.reviewer", e);
        }
        if !self.gate.reviewer_timeout.is_positive() {
            return fail("gate.reviewer_timeout", "must be longer than 0s".into());
        }
        for (key, v) in
            [("budget.task_cost_usd", self.budget.task_cost_usd), ("budget.daily_cost_usd", self.budget.daily_cost_usd)]
        {
            if !(v >= 0.0 && v.is_finite()) {
                return fail(key, format!("{v} is not a cost (0 or more; 0 is no limit)"));
            }
        }
        if !(0.0..=1.0).contains(&self.alerts.failure_rate) {
            return fail("alerts.failure_rate", format!("{} is not a rate between 0 and 1", self.alerts.failure_rate));
        }
        if !self.alerts.latency_p95.is_positive() {
            return fail("alerts.latency_p95", "must be longer than 0s".into());
        }
        if let Err(e) = orch_store::mask::Mask::new(&self.events.mask) {
            return fail("events.mask", e.to_string());
        }
        if self.team.hard_cap == 0 || self.team.hard_cap > orch_core::team::CAP {
            return fail("team.hard_cap", format!("must be between 1 and {}", orch_core::team::CAP));
        }
        if self.team.max_workers == 0 || self.team.max_workers > self.team.hard_cap {
            return fail("team.max_workers", format!("must be between 1 and team.hard_cap ({})", self.team.hard_cap));
        }
        self.hooks.validate()?;
        self.validate_workspace()?;
        self.validate_profiles()
    }

    /// The open rows the view shows: `None` for every one (`queue.open_kept = 0`).
    pub fn open_kept(&self) -> Option<usize> {
        (self.queue.open_kept > 0).then_some(self.queue.open_kept)
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy { backoff: self.retry.backoff.clone(), jitter: self.retry.jitter }
    }

    pub fn time_zone(&self) -> jiff::tz::TimeZone {
        // Checked when the file was read; should the zone file go away since, UTC.
        zone(&self.queue.timezone).unwrap_or(jiff::tz::TimeZone::UTC)
    }
}

/// Checks an argv of the config: when it is given (or `required`), its first word names
/// a program; no word may hold a NUL byte (no process could be given it).
fn argv(words: &[String], required: bool) -> Result<(), String> {
    match words.first() {
        None if required => return Err("must name a program".into()),
        Some(program) if program.trim().is_empty() => {
            return Err("the first word must name a program (it is empty)".into());
        }
        _ => {}
    }
    if let Some(i) = words.iter().position(|w| w.contains('\0')) {
        return Err(format!("word {} holds a NUL byte", i + 1));
    }
    Ok(())
}

/// The time zone named `name` (an IANA name such as `Asia/Seoul`). Its file in the
/// system's zoneinfo folder (`TZDIR`, else `/usr/share/zoneinfo`) is read directly, so a
/// command does not list the whole folder first as a database lookup does; a name
/// written in another case, or missing there, is looked up in the database (the
/// system's, else the copy built into orch).
pub fn zone(name: &str) -> Option<jiff::tz::TimeZone> {
    let plain = !name.is_empty()
        && !name.starts_with('/')
        && name.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"/_+-".contains(&b));
    if plain {
        let dir = std::env::var_os("TZDIR").unwrap_or_else(|| "/usr/share/zoneinfo".into());
        if let Ok(bytes) = std::fs::read(Path::new(&dir).join(name))
            && let Ok(tz) = jiff::tz::TimeZone::tzif(name, &bytes)
        {
            return Some(tz);
        }
    }
    jiff::tz::TimeZone::get(name).ok()
}

#[cfg(test)]
mod tests;
