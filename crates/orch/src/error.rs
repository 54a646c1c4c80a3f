//! The one error type of the services and the one place that maps errors to exit codes
//! (docs/EXIT_CODES.md): 1 unexpected, 2 bad usage or input, 3 drift or alert, 4 not
//! found, 5 conflict. Each kind of refusal also has a stable snake_case code and an HTTP
//! status, so every front end (the command line, HTTP, MCP) reports it the same way;
//! docs/API.md holds the table.

use orch_core::queue_md::Diagnostic;
use orch_core::state::TransitionError;
use orch_store::StoreError;
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad usage or a bad value given on the command line or in the configuration.
    #[error("{0}")]
    Usage(String),
    /// A file whose content is refused; every problem with its line.
    #[error("{}", render_diags(.file, .diags))]
    Input { file: String, diags: Vec<Diagnostic> },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// `check` found drift, or `kpi --fail-on-alert` fired.
    #[error("{0}")]
    Drift(String),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// A lease token of none of the task's runs: the caller never held its lease (a
    /// token of a run that lost the lease is a `Transition` refusal, a lease lost).
    #[error("{0}")]
    WrongToken(String),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Io(String),
}

fn render_diags(file: &str, diags: &[Diagnostic]) -> String {
    let lines: Vec<String> = diags.iter().map(|d| format!("{file}:{}: {}", d.line, d.message)).collect();
    lines.join("\n")
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error as a front end sends it: `{"code": …, "message": …, "exit": N}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    pub exit: i32,
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::Input { .. } => 2,
            Error::Drift(_) => 3,
            Error::NotFound(_) => 4,
            Error::Conflict(_) | Error::Transition(_) | Error::WrongToken(_) => 5,
            Error::Store(StoreError::NotFound(_)) => 4,
            Error::Store(StoreError::Conflict(_)) => 5,
            Error::Store(StoreError::Open(_)) => 2,
            Error::Store(_) | Error::Io(_) => 1,
        }
    }

    /// The stable code of this kind of refusal (docs/API.md): what a program reading
    /// the error matches on, never the message.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Usage(_) => "bad_usage",
            Error::Input { .. } => "bad_input",
            Error::NotFound(_) => "not_found",
            Error::Conflict(_) => "conflict",
            Error::Drift(_) => "drift",
            Error::Transition(e) => transition_code(e),
            Error::WrongToken(_) => "wrong_lease_token",
            Error::Store(StoreError::NotFound(_)) => "task_not_found",
            Error::Store(StoreError::Conflict(_)) => "write_conflict",
            Error::Store(StoreError::Busy(_)) => "store_busy",
            Error::Store(StoreError::Unavailable(_)) => "store_unavailable",
            Error::Store(StoreError::Open(_)) => "store_open",
            Error::Store(StoreError::Db(_)) => "store_error",
            Error::Store(StoreError::Aborted(_)) => "write_aborted",
            Error::Io(_) => "io_error",
        }
    }

    /// The HTTP status a server answers this error with: 400 bad usage, 422 a refused
    /// file, 404 not found, 409 a conflict or refused transition (drift included: the
    /// view and the database disagree), 503 a store that may come back, 500 the rest.
    pub fn http_status(&self) -> u16 {
        match self {
            Error::Usage(_) => 400,
            Error::Input { .. } => 422,
            Error::NotFound(_) | Error::Store(StoreError::NotFound(_)) => 404,
            Error::Conflict(_)
            | Error::Drift(_)
            | Error::Transition(_)
            | Error::WrongToken(_)
            | Error::Store(StoreError::Conflict(_)) => 409,
            Error::Store(StoreError::Busy(_) | StoreError::Unavailable(_)) => 503,
            Error::Store(StoreError::Open(_) | StoreError::Db(_) | StoreError::Aborted(_)) | Error::Io(_) => 500,
        }
    }

    /// The serialisable form of this error.
    pub fn body(&self) -> ErrorBody {
        ErrorBody { code: self.code().to_string(), message: self.to_string(), exit: self.exit_code() }
    }

    /// An I/O error that names its path.
    pub fn io(path: &std::path::Path, e: impl std::fmt::Display) -> Error {
        Error::Io(format!("{}: {e}", path.display()))
    }
}

impl Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.body().serialize(s)
    }
}

/// The code of a transition the core refused, by what the command needs of the task
/// (`allowed`) or, for a lease, by why the caller does not hold it. A refusal the core
/// adds later falls to `transition_refused` until it has a code of its own (a test runs
/// every refusal of the core and holds each to its own code).
fn transition_code(e: &TransitionError) -> &'static str {
    match e {
        TransitionError::Refused { allowed, .. } => match *allowed {
            "PENDING (once its start time, if any, has come) or FAILED (with a due retry)" => "not_ready",
            "IN_PROGRESS" => "not_running",
            "IN_PROGRESS (with an expired lease)" => "lease_not_expired",
            "PENDING, IN_PROGRESS or FAILED" => "already_stopped",
            "FAILED or BLOCKED" => "not_failed_or_blocked",
            "PENDING, IN_PROGRESS, FAILED or BLOCKED" => "already_done",
            "PENDING or FAILED" => "not_pending_or_failed",
            "BLOCKED" => "not_blocked",
            _ => "transition_refused",
        },
        TransitionError::LeaseLost { detail, .. } => {
            if detail.starts_with("is held by another run") {
                "lease_mismatch"
            } else if detail.contains("(no lease)") {
                "no_lease"
            } else {
                "not_running"
            }
        }
    }
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
