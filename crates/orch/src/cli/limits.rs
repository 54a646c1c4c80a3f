//! The command line's durations and times, each read with its limit: `--since` and
//! `--older-than` (at most [`orch_core::time::MAX_DURATION`], 100 years), a lease
//! (`pick --lease`, `heartbeat --for`: [`crate::config::MIN_LEASE`] to
//! [`crate::config::MAX_LEASE`]); due times (`--due`: the years 1 to 9999) are read by
//! the API (`api::parse_due`). A value past its limit is bad usage (exit 2), never a
//! panic: a test reads this file for `unwrap`, `expect` and `panic!`.

use jiff::SignedDuration;

/// A duration argument: `90s`, `15m`, `1h 30m`, `1.5h`, `30d`; at most 100 years.
pub(super) fn duration(s: &str) -> std::result::Result<SignedDuration, String> {
    orch_core::time::parse_duration(s)
}

/// A lease length argument: at least [`crate::config::MIN_LEASE`] (a shorter lease would
/// expire before its worker starts and burn an attempt) and at most
/// [`crate::config::MAX_LEASE`].
pub(super) fn lease(s: &str) -> std::result::Result<SignedDuration, String> {
    let d = orch_core::time::parse_duration_at_most(s, crate::config::MAX_LEASE)?;
    let min = crate::config::MIN_LEASE;
    if d < min {
        return Err(format!("a lease must be at least {}s (got {s})", min.as_secs()));
    }
    Ok(d)
}

/// A task id argument, as given; one whose number is above `orch_core::id::MAX_ID_NUM`
/// is refused (no task can have it). Any other text is looked up as it is.
pub(super) fn task_id(s: &str) -> std::result::Result<String, String> {
    match orch_core::id::check_id(s.trim()) {
        Err(e @ orch_core::id::IdError::TooLarge) => Err(format!("bad id `{s}`: {e}")),
        _ => Ok(s.to_string()),
    }
}
