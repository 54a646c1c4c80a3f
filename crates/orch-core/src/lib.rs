//! The pure core of `orch`: the task model, the one transition function, the retry and
//! ordering policy, events, display time and the QUEUE.md codec.
//!
//! Nothing in this crate does I/O or reads the clock: every function that needs the time
//! takes `now` as an argument, and randomness (lease tokens, jitter) comes in from the
//! caller. That keeps the rules testable without a database, a file system or a process.
//!
//! # Layout
//!
//! - The task and its life: [`task`] (the record, statuses, priorities, leases),
//!   [`state`] (the one `transition(task, command, now, policy)`), [`policy`] (retries,
//!   backoff, failure classes, the pick order), [`event`] (the event record).
//! - What a worker gives back: [`outcome`] (stdout and exit status to a verdict, a
//!   deferral), [`usage_limit`] (an agent's usage limit told from its stdout),
//!   [`report`] (the compact report rules and the token budget decision).
//! - QUEUE.md: [`queue_md`] (the line-level codec, byte for byte), [`task_row`] (rows to
//!   tasks and back, merging an edited row), [`task_text`] (what a field may hold),
//!   [`escape`] (terminal controls made visible).
//! - Input people type: [`quick`] (one-line add), [`chat`] (`!status`, `!cancel …`),
//!   [`time`] (durations and due times with their limits), [`when`] (the one reader of
//!   a time a person types: `--due`, `due:`), [`id`] (`PREFIX-NNN`).
//! - Recurring work: [`cron`] (cron patterns evaluated in a time zone), [`schedule`]
//!   (a schedule and what one tick of it makes).
//! - The rest: [`kpi`] (KPI arithmetic and alerts; [`kpi_counts`] the window's counts,
//!   [`histogram`] the duration histograms), [`team`] (the team template),
//!   [`template`] (`{placeholder}` rendering for argv and prompts).
//!
//! Everything above this crate (`orch-store`, `orch`) may use it; it uses nothing of
//! theirs.

pub mod chat;
pub mod codex;
pub mod cron;
pub mod escape;
pub mod event;
pub mod histogram;
pub mod id;
pub mod kpi;
pub mod kpi_counts;
pub mod outcome;
pub mod policy;
pub mod queue_md;
pub mod quick;
pub mod report;
pub mod schedule;
pub mod state;
pub mod task;
pub mod task_row;
pub mod task_text;
pub mod team;
pub mod template;
pub mod time;
pub mod usage_limit;
pub mod when;
