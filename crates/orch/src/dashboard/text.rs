//! Text as the dashboard shows it: every value escaped (terminal controls made
//! visible, one line), cut to a width in terminal columns (a Korean syllable takes two),
//! and durations and amounts written short.

use orch_core::time::{format_duration, secs_f64};
use std::borrow::Cow;
use unicode_width::UnicodeWidthChar;

/// `s` on one line with its controls made visible.
pub fn esc(s: &str) -> Cow<'_, str> {
    orch_core::escape::one_line(s)
}

/// `s` escaped and cut to at most `width` columns, ending in `…` when cut.
pub fn fit(s: &str, width: usize) -> String {
    let s = esc(s);
    let total: usize = s.chars().map(|c| c.width().unwrap_or(0)).sum();
    if total <= width {
        return s.into_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    if width > 0 {
        out.push('…');
    }
    out
}

/// A duration in seconds, short: `1h 5m`, `42s`; `-` for none.
pub fn secs(s: Option<f64>) -> String {
    s.map_or_else(|| "-".into(), |s| format_duration(secs_f64(s.max(0.0))))
}

/// Seconds left of a lease: `expired` once below zero.
pub fn left(s: Option<f64>) -> String {
    match s {
        Some(s) if s < 0.0 => "expired".into(),
        s => secs(s),
    }
}

/// Tokens: `1234` or `12.3k`.
pub fn tokens(n: u64) -> String {
    if n < 10_000 { n.to_string() } else { format!("{:.1}k", n as f64 / 1000.0) }
}

/// `s` fitted to `width - 1` columns and padded with spaces to `width` columns: one
/// cell of a row, a space before the next.
pub fn cell(s: &str, width: usize) -> String {
    let mut out = fit(s, width.saturating_sub(1));
    let used: usize = out.chars().map(|c| c.width().unwrap_or(0)).sum();
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(used)));
    out
}
