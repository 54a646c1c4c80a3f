//! `--watch` of `status` and `workers`: the command's text drawn again and again until
//! Ctrl-C (SIGINT) or SIGTERM, which end it with exit 0. On a terminal the screen is
//! cleared and redrawn in place, as `watch(1)` does, under a title line; off a terminal
//! (a pipe, a file) the text is printed again only when it changed, each print after
//! the first preceded by a blank line. A redraw comes at once when the queue changes
//! (the API's change watch) and at least every `--interval`.

use crate::api::{self, Orch};
use crate::console::{escape_controls, print, print_verbatim};
use crate::error::{Error, Result};
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The shortest and the longest `--interval`.
const MIN_INTERVAL: Duration = Duration::from_millis(100);
const MAX_INTERVAL: Duration = Duration::from_secs(3600);

/// How long one wait lasts before the stop flag is looked at again.
const SLICE: Duration = Duration::from_millis(100);

/// Clears the screen and puts the cursor at its top left.
const CLEAR: &str = "\x1b[H\x1b[2J";

/// An `--interval` argument: a duration (`2s`, `500ms`, `1m`) from 100 ms to 1 hour.
pub(super) fn interval(s: &str) -> std::result::Result<Duration, String> {
    let d = match s.trim().strip_suffix("ms") {
        Some(ms) => ms.trim().parse::<u64>().map(Duration::from_millis).map_err(|_| format!("bad duration `{s}`"))?,
        None => {
            let d = orch_core::time::parse_duration(s)?;
            Duration::try_from(d).map_err(|_| format!("bad duration `{s}`: it is negative"))?
        }
    };
    if !(MIN_INTERVAL..=MAX_INTERVAL).contains(&d) {
        return Err(format!("an interval is 100ms to 1h (got {s})"));
    }
    Ok(d)
}

/// Draws `render`'s lines until a stop signal; `title` names the command on the title
/// line a terminal shows.
pub(super) fn watch(
    orch: &Orch,
    title: &str,
    every: Duration,
    mut render: impl FnMut() -> Result<Vec<String>>,
) -> Result<i32> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).map_err(|e| Error::Io(format!("signals: {e}")))?;
    }
    let changes = api::watch(orch)?;
    let terminal = std::io::stdout().is_terminal();
    let mut last: Option<Vec<String>> = None;
    while !stop.load(Ordering::Relaxed) {
        let lines = render()?;
        if terminal {
            let now = orch_core::time::format_display_seconds(api::now(orch), api::time_zone(orch));
            let mut frame = format!("{CLEAR}Every {}: {title}    {now}    (Ctrl-C ends)\n\n", show(every));
            for l in &lines {
                frame.push_str(&escape_controls(l));
                frame.push('\n');
            }
            print_verbatim(frame.as_bytes());
        } else if last.as_ref() != Some(&lines) {
            if last.is_some() {
                print("");
            }
            lines.iter().for_each(|l| print(l));
        }
        last = Some(lines);
        let until = Instant::now() + every;
        while !stop.load(Ordering::Relaxed) {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() || changes.wait(left.min(SLICE))? {
                break;
            }
        }
    }
    Ok(0)
}

/// An interval as the title line shows it: `2s`, `500ms`.
fn show(d: Duration) -> String {
    if d.subsec_millis() == 0 { format!("{}s", d.as_secs()) } else { format!("{}ms", d.as_millis()) }
}
