//! The command line's durations and times, each read with its limit: `--since` and
//! `--older-than` (at most [`orch_core::time::MAX_DURATION`], 100 years), a lease
//! (`pick --lease`, `heartbeat --for`: [`crate::config::MIN_LEASE`] to
//! [`crate::config::MAX_LEASE`]) and a due time (`--due`: the years 1 to 9999). A value
//! past its limit is bad usage (exit 2), never a panic: a test reads this file for
//! `unwrap`, `expect` and `panic!`.

use crate::error::{Error, Result};
use crate::ops::Orch;
use jiff::{SignedDuration, Timestamp};

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

/// Parses a due time as the CLI accepts it: `YYYY-MM-DD HH:MM` in the display time
/// zone, RFC 3339, or `+DURATION` from now; `-` or `none` is no due time (and clears it
/// in `replan`). Every form must land in the years 1 to 9999. An empty value is refused:
/// it is more often an unset variable than a wish to clear the due time.
pub(super) fn parse_due(orch: &Orch, s: &str) -> Result<Option<Timestamp>> {
    let s = s.trim();
    if s.is_empty() {
        return Err(Error::Usage("--due is empty (give a time, or - for none)".into()));
    }
    if s == "-" || s == "none" {
        return Ok(None);
    }
    let usage = |e: String| Error::Usage(format!("--due: {e}"));
    if let Some(rel) = s.strip_prefix('+') {
        let d = orch_core::time::parse_duration_at_most(rel, SignedDuration::MAX).map_err(usage)?;
        return orch_core::time::due_after(orch.now(), d).map(Some).map_err(usage);
    }
    if let Ok(t) = s.parse::<Timestamp>() {
        return orch_core::time::check_due(t).map(Some).map_err(usage);
    }
    orch_core::time::parse_display_time(s, orch.tz())
        .and_then(orch_core::time::check_due)
        .map(Some)
        .map_err(|e| Error::Usage(format!("--due: {e} (or RFC 3339, or +DURATION)")))
}
