//! The integration tests: the real `orch` binary against temporary homes, one module per
//! area of the contract.

mod common;
mod queue_file;
