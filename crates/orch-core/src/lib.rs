//! The pure core of `orch`: the task model, the one transition function, the retry and
//! ordering policy, events, display time and the QUEUE.md codec.
//!
//! Nothing in this crate does I/O or reads the clock: every function that needs the time
//! takes `now` as an argument, and randomness (lease tokens, jitter) comes in from the
//! caller. That keeps the rules testable without a database, a file system or a process.

pub mod chat;
pub mod escape;
pub mod event;
pub mod id;
pub mod kpi;
pub mod outcome;
pub mod policy;
pub mod queue_md;
pub mod quick;
pub mod report;
pub mod state;
pub mod task;
pub mod task_row;
pub mod task_text;
pub mod team;
pub mod template;
pub mod time;
