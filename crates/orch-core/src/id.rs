//! Task ids: `PREFIX-NNN`, the number zero-padded to at least three digits when orch
//! writes one. An id a person wrote unpadded (`ORCH-7`) is read as written, but a prefix
//! and number name one task: `ORCH-7` and `ORCH-007` are the same id, spelled twice.
//!
//! The number is at most [`MAX_ID_NUM`]; an id with a larger one is refused wherever an
//! id comes in, and new ids are allocated after the largest number in use up to it.

use std::fmt;

/// The largest id number, twelve nines. It fits the stores' 64-bit `num` column and a
/// JSON number read as a double (exact up to 2^53) with room to spare, and at a thousand
/// new tasks a second it lasts thirty years.
pub const MAX_ID_NUM: u64 = 999_999_999_999;

/// Why a text is not a task id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdError {
    /// Not `PREFIX-NNN`.
    Shape,
    /// `PREFIX-NNN` with a number above [`MAX_ID_NUM`].
    TooLarge,
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdError::Shape => f.write_str("expected PREFIX-NNN, like ORCH-001"),
            IdError::TooLarge => write!(f, "the number is larger than {MAX_ID_NUM}"),
        }
    }
}

/// Splits `ORCH-012` into (`ORCH`, 12). The prefix is a letter followed by letters,
/// digits or `_`; the number is one or more ASCII digits, at most [`MAX_ID_NUM`].
pub fn parse_id(id: &str) -> Option<(&str, u64)> {
    check_id(id).ok()
}

/// [`parse_id`] saying why an id is refused.
pub fn check_id(id: &str) -> Result<(&str, u64), IdError> {
    let (prefix, num) = id.rsplit_once('-').ok_or(IdError::Shape)?;
    let mut chars = prefix.chars();
    let first = chars.next().ok_or(IdError::Shape)?;
    if !first.is_ascii_alphabetic() || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(IdError::Shape);
    }
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IdError::Shape);
    }
    // Leading zeros aside, more than 12 digits is above the bound (and may not fit a u64).
    let digits = num.trim_start_matches('0');
    if digits.len() > 12 {
        return Err(IdError::TooLarge);
    }
    let n: u64 = if digits.is_empty() { 0 } else { digits.parse().map_err(|_| IdError::Shape)? };
    if n > MAX_ID_NUM { Err(IdError::TooLarge) } else { Ok((prefix, n)) }
}

/// `format_id("ORCH", 7)` is `ORCH-007`.
pub fn format_id(prefix: &str, num: u64) -> String {
    format!("{prefix}-{num:03}")
}

/// A valid prefix for new ids (as `parse_id` accepts).
pub fn is_valid_prefix(prefix: &str) -> bool {
    parse_id(&format_id(prefix, 1)).is_some_and(|(p, _)| p == prefix)
}

/// The first of `count` new id numbers after `max_in_use`, the largest number taken
/// with `prefix`; `Err` (naming the prefix) when they would pass [`MAX_ID_NUM`].
pub fn next_num(prefix: &str, max_in_use: u64, count: u64) -> Result<u64, String> {
    let first = max_in_use.saturating_add(1);
    match first.checked_add(count.saturating_sub(1)) {
        Some(last) if last <= MAX_ID_NUM => Ok(first),
        _ => Err(format!(
            "no id number left after {}: ids go up to {prefix}-{MAX_ID_NUM} (use another queue.prefix in orch.toml)",
            format_id(prefix, max_in_use)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_and_format() {
        assert_eq!(parse_id("ORCH-026"), Some(("ORCH", 26)));
        assert_eq!(parse_id("A_1-1000"), Some(("A_1", 1000)));
        assert_eq!(parse_id("ORCH-"), None);
        assert_eq!(parse_id("-12"), None);
        assert_eq!(parse_id("1X-12"), None);
        assert_eq!(parse_id("ORCH-1a"), None);
        assert_eq!(format_id("ORCH", 27), "ORCH-027");
        assert_eq!(format_id("ORCH", 1234), "ORCH-1234");
        assert!(is_valid_prefix("JOB"));
        assert!(!is_valid_prefix("a-b"));
        assert!(!is_valid_prefix(""));
    }

    #[test]
    fn id_numbers_are_bounded() {
        assert_eq!(parse_id("ORCH-999999999999"), Some(("ORCH", MAX_ID_NUM)));
        assert_eq!(parse_id("ORCH-0000000000000000000000007"), Some(("ORCH", 7)));
        assert_eq!(parse_id("ORCH-000"), Some(("ORCH", 0)));
        for big in [
            "ORCH-1000000000000",
            "ORCH-9223372036854775807",
            "ORCH-18446744073709551615",
            "ORCH-99999999999999999999999",
        ] {
            assert_eq!(check_id(big), Err(IdError::TooLarge), "{big}");
        }
        assert_eq!(check_id("ORCH-x"), Err(IdError::Shape));
    }

    #[test]
    fn allocation_stops_at_the_bound() {
        assert_eq!(next_num("ORCH", 0, 1), Ok(1));
        assert_eq!(next_num("ORCH", 41, 3), Ok(42));
        assert_eq!(next_num("ORCH", MAX_ID_NUM - 1, 1), Ok(MAX_ID_NUM));
        assert!(next_num("ORCH", MAX_ID_NUM - 1, 2).is_err());
        let err = next_num("ORCH", MAX_ID_NUM, 1).unwrap_err();
        assert!(err.contains("no id number left after ORCH-999999999999"), "{err}");
        assert!(next_num("ORCH", u64::MAX, 1).is_err());
    }
}
