//! `orch`: a durable work queue and dispatcher for long-running work done by AI agents
//! and plain commands. This crate holds everything that does I/O — the configuration,
//! the stores, the services and the command line — around the pure `orch-core`.

pub mod api;
pub mod cli;
pub mod clock;
pub mod config;
pub mod console;
pub mod dispatch;
pub mod error;
pub mod event_log;
pub mod gate;
pub mod home;
pub mod ops;
mod persist;
pub mod runner;
pub mod sync;
