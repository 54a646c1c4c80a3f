//! The named values a flag takes (a priority, a status): parsed in any case, and listed
//! in the help, the man pages and the shell completions as clap's possible values.

use clap::builder::{PossibleValuesParser, TypedValueParser};
use orch_core::task::{Priority, Status};

/// `P0`, `P1` or `P2` (any case); P0 is the most urgent.
pub(super) fn priority() -> impl TypedValueParser<Value = Priority> {
    PossibleValuesParser::new(Priority::ALL.map(Priority::as_str)).try_map(|s| s.parse::<Priority>())
}

/// `PENDING`, `IN_PROGRESS`, `DONE`, `FAILED` or `BLOCKED` (any case).
pub(super) fn status() -> impl TypedValueParser<Value = Status> {
    PossibleValuesParser::new(Status::ALL.map(Status::as_str)).try_map(|s| s.to_ascii_uppercase().parse::<Status>())
}
