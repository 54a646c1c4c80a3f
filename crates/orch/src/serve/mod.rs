//! `orch serve`: the HTTP front end — the JSON API under `/api/v1/`, the event stream
//! (Server-Sent Events), Prometheus metrics and the web dashboard — a front end like
//! the command line: everything it reads and changes goes through `crate::api`
//! (`layout.rs` holds it to that), and every answer is the command's `--json`.
//! docs/SERVE.md says what it serves and its security model.
//!
//! Layout: `server.rs` opens the server (address checks, the token, the runtime, the
//! watch thread); `listen.rs` accepts connections; `state.rs` what every request shares;
//! `routes.rs` the route table (the one list docs/openapi.json is checked against);
//! `session.rs` who may ask (the bearer token, the browser's session and CSRF token),
//! `sessions.rs` the sessions kept;
//! `reply.rs` answers and errors; `tasks.rs` the operator's routes (`adds.rs` writes
//! adds in groups, `pages.rs` keeps pages of tasks until the data changes), `work.rs` the worker's; `stream.rs` the event stream; `metrics.rs` `/metrics`; `web.rs` the page;
//! `token.rs` the token and random values.
//!
//! The API is blocking (the store's transactions); each call runs on tokio's blocking
//! pool, the queue shared by every request; reads take turns (`state::READS_AT_ONCE` at
//! once, in the order they came). One thread watches the store for commits
//! (`api::watch`) and wakes the event streams.

mod adds;
mod listen;
mod metrics;
mod pages;
mod reply;
mod routes;
mod server;
mod session;
mod sessions;
mod state;
mod stream;
mod tasks;
mod token;
mod web;
mod work;

pub use server::{ServeArgs, run};
