//! The one error type of the services and the one place that maps errors to exit codes
//! (DESIGN §9): 1 unexpected, 2 bad usage or input, 3 drift or alert, 4 not found,
//! 5 conflict.

use orch_core::queue_md::Diagnostic;
use orch_core::state::TransitionError;
use orch_store::StoreError;

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

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::Input { .. } => 2,
            Error::Drift(_) => 3,
            Error::NotFound(_) => 4,
            Error::Conflict(_) | Error::Transition(_) => 5,
            Error::Store(StoreError::NotFound(_)) => 4,
            Error::Store(StoreError::Conflict(_)) => 5,
            Error::Store(StoreError::Open(_)) => 2,
            Error::Store(_) | Error::Io(_) => 1,
        }
    }

    /// An I/O error that names its path.
    pub fn io(path: &std::path::Path, e: impl std::fmt::Display) -> Error {
        Error::Io(format!("{}: {e}", path.display()))
    }
}
