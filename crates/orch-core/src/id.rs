//! Task ids: `PREFIX-NNN`, the number zero-padded to at least three digits when orch
//! writes one. An id a person wrote unpadded (`ORCH-7`) is read as written, but a prefix
//! and number name one task: `ORCH-7` and `ORCH-007` are the same id, spelled twice.

/// Splits `ORCH-012` into (`ORCH`, 12). The prefix is a letter followed by letters,
/// digits or `_`; the number is one or more ASCII digits.
pub fn parse_id(id: &str) -> Option<(&str, u64)> {
    let (prefix, num) = id.rsplit_once('-')?;
    let mut chars = prefix.chars();
    let first = chars.next()?;
    if !first.is_ascii_alphabetic() || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((prefix, num.parse().ok()?))
}

/// `format_id("ORCH", 7)` is `ORCH-007`.
pub fn format_id(prefix: &str, num: u64) -> String {
    format!("{prefix}-{num:03}")
}

/// A valid prefix for new ids (as `parse_id` accepts).
pub fn is_valid_prefix(prefix: &str) -> bool {
    parse_id(&format_id(prefix, 1)).is_some_and(|(p, _)| p == prefix)
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
}
