//! The checks of plain input every operation shares: task ids, text a task field can
//! hold, due times (every form `orch_core::when` reads; the years 1 to 9999) and lease lengths ([`crate::config::MIN_LEASE`] to
//! [`crate::config::MAX_LEASE`]). A value past its limit is bad usage (exit 2), never a
//! panic: a test reads this file for `unwrap`, `expect` and `panic!`.

use crate::error::{Error, Result};
use crate::ops::Orch;
use jiff::{SignedDuration, Timestamp};
use orch_core::state::Auth;

/// The task an id given names, the one lookup of every operation that takes an id:
/// the prefix in any case (`orch-5` is `ORCH-5` when the queue's prefix is `ORCH`), a
/// bare number (`5`) under the queue's prefix, and any width of the number (`ORCH-5`,
/// `ORCH-005`), found as the store spells the id; one that names no task comes back as
/// orch would write it (`ORCH-005`), for the refusal to name. A number above
/// `orch_core::id::MAX_ID_NUM` is refused (no task can have it); text that is no id is
/// looked up as it is.
pub(super) fn task_id(orch: &Orch, s: &str) -> Result<String> {
    use orch_core::id::{IdError, check_id, format_id};
    let given = s.trim();
    let prefix = orch.config().queue.prefix.as_str();
    let bare = !given.is_empty() && given.bytes().all(|b| b.is_ascii_digit());
    let spelled = if bare { format!("{prefix}-{given}") } else { given.to_string() };
    let (p, num) = match check_id(&spelled) {
        Ok(parsed) => parsed,
        Err(e @ IdError::TooLarge) => return Err(Error::Usage(format!("bad id `{s}`: {e}"))),
        Err(IdError::Shape) => return Ok(s.to_string()),
    };
    let p = if p.eq_ignore_ascii_case(prefix) { prefix } else { p };
    Ok(orch.id_by_number(p, num)?.unwrap_or_else(|| format_id(p, num)))
}

/// Text for a task field (`what` names it in the refusal): normalised as QUEUE.md
/// keeps it, and not empty (`empty` says what is missing).
pub(super) fn required_text(what: &str, s: &str, empty: &str) -> Result<String> {
    let text = orch_core::task_text::field_text(what, s).map_err(Error::Usage)?;
    text.ok_or_else(|| Error::Usage(empty.to_string()))
}

/// A point in time as every command reads it (`flag` names the option in the
/// refusal): any form `orch_core::when` reads — `YYYY-MM-DD [HH:MM]` in the display time
/// zone, RFC 3339, `+DURATION`, `today`/`tomorrow`/`내일`/`모레` with a time, `9am`,
/// `오후 3시` — in the years 1 to 9999. `--due` reads through here; so shall any later
/// option that takes a time.
pub fn parse_time_arg(orch: &Orch, flag: &str, s: &str) -> Result<Timestamp> {
    orch_core::when::parse_when(s, orch.now(), orch.tz())
        .map_err(|e| Error::Usage(format!("{flag} `{}`: {e} ({})", s.trim(), orch_core::when::EXAMPLES)))
}

/// Parses a due time as [`parse_time_arg`] does; `-` or `none` is no due time (and
/// clears it in `replan`). An empty value is refused: it is more often an unset variable
/// than a wish to clear the due time.
pub fn parse_due(orch: &Orch, s: &str) -> Result<Option<Timestamp>> {
    let s = s.trim();
    if s.is_empty() {
        return Err(Error::Usage("--due is empty (give a time, or - for none)".into()));
    }
    if s == "-" || s == "none" {
        return Ok(None);
    }
    parse_time_arg(orch, "--due", s).map(Some)
}

/// The due time `given` (as typed) names, with the warning every command gives when it
/// is in the past (the time is kept).
pub(super) fn due_with_warning(orch: &Orch, given: &str, warnings: &mut Vec<String>) -> Result<Option<Timestamp>> {
    let due = parse_due(orch, given)?;
    if let Some(at) = due {
        warnings.extend(orch_core::when::past_warning(given, at, orch.now(), orch.tz()));
    }
    Ok(due)
}

/// A lease length, or the configured one (`dispatcher.lease`) when none is given;
/// `flag` names the option in the refusal.
pub(super) fn lease(orch: &Orch, flag: &str, d: Option<SignedDuration>) -> Result<SignedDuration> {
    let Some(d) = d else { return Ok(orch.config().dispatcher.lease) };
    let (min, max) = (crate::config::MIN_LEASE, crate::config::MAX_LEASE);
    if d < min {
        return Err(Error::Usage(format!("{flag}: a lease must be at least {}s", min.as_secs())));
    }
    if d > max {
        return Err(Error::Usage(format!("{flag}: a lease is at most {}s", max.as_secs())));
    }
    Ok(d)
}

/// Who may act on a running task: the holder of the lease token, or an operator with
/// `force`.
pub(super) fn auth(token: Option<&str>, force: bool) -> Result<Auth> {
    match (token, force) {
        (_, true) => Ok(Auth::Force),
        (Some(t), false) if !t.is_empty() => Ok(Auth::Token(t.to_string())),
        _ => Err(Error::Usage("give the lease token (--lease or ORCH_LEASE_TOKEN), or --force".into())),
    }
}
