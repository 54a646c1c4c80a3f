//! Printing for the commands: the console's writers (stdout that stops quietly on a
//! closed pipe, clipping) and the human form of times.

pub use crate::console::{clip, print, print_json};
use jiff::Timestamp;
use jiff::tz::TimeZone;

pub fn time(t: Option<Timestamp>, tz: &TimeZone) -> String {
    t.map_or_else(|| "-".into(), |t| orch_core::time::format_display_time(t, tz))
}
