//! `orch`: a durable work queue and dispatcher for long-running work done by AI agents
//! and plain commands. This crate holds the services and the front ends, over the store
//! (`orch-store`) and the pure core (`orch-core`).
//!
//! # Layout
//!
//! From the top down; a module uses only the ones below it (docs/ARCHITECTURE.md):
//!
//! - [`cli`] — the command line: parse, one [`api`] call, print; [`dashboard`] — the
//!   terminal dashboard, and [`serve`] — the HTTP API, web dashboard and metrics —
//!   front ends through [`api`] too.
//! - [`api`] — the operations API every front end calls: typed requests and results,
//!   and [`error`], one error type with a stable code per refusal.
//! - [`ops`] — `Orch`, an open queue, and its operations (one transaction each);
//!   [`dispatch`] — the dispatcher (`orch run`, `orch exec`).
//! - [`sync`] (the QUEUE.md view), [`event_log`] (`events.jsonl`), [`gate`] (the
//!   decision on a report), `persist` (the one writer of transitions), [`runner`]
//!   (processes), [`hooks`] (commands run after a committed change).
//! - [`config`], [`home`] (the `.orch/` folder), [`clock`], [`console`] (what is
//!   printed, escaped).

pub mod api;
pub mod cli;
pub mod clock;
pub mod config;
pub mod console;
pub mod dashboard;
pub mod dispatch;
pub mod error;
pub mod event_log;
pub mod gate;
pub mod home;
pub mod hooks;
pub mod mcp;
pub mod ops;
mod persist;
pub mod runner;
pub mod serve;
pub mod sync;
pub mod workspace;
