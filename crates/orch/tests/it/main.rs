//! The integration tests: the real `orch` binary against temporary homes, one module per
//! area of the contract.

mod claims;
mod claims_lib;
mod common;
mod conformance;
mod db_state;
mod gate;
mod hand_edit;
mod home;
mod layout;
mod malformed;
mod observe;
mod postgres;
mod queue_file;
mod read_edit_cli;
mod team;
mod view;
