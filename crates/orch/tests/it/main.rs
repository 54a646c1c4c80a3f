//! The integration tests: the real `orch` binary against temporary homes, one module per
//! area of the contract.

mod claims;
mod common;
#[macro_use]
mod conformance;
mod conformance_contract;
mod conformance_tx;
mod conformance_view;
mod db_state;
mod dispatch;
mod dispatch_escape;
mod dispatch_limits;
mod dispatch_recovery;
mod durability;
mod escapes;
mod examples;
mod gate;
mod hand_edit;
mod home;
mod human_output;
mod imports;
mod init_options;
mod layout;
mod limits;
mod list_cli;
mod malformed;
mod masking;
mod observe;
mod postgres;
mod postgres_dispatch;
mod postgres_events;
mod postgres_tls;
mod queue_file;
mod queue_text;
mod queue_write;
mod read_edit_cli;
mod retention;
mod stale_property;
mod stale_view;
mod team;
mod time_input;
mod until_idle;
mod view;
mod view_bounded;
mod worker_program;
