//! What `orch run` shows: one plain line per start and end (for logs and pipes), and on
//! a terminal a live status line on stderr (running, done, failed, blocked, and how many
//! tasks could be claimed now), refreshed on every start, end and tick.
//!
//! Under systemd with the output going to the journal (`JOURNAL_STREAM` set, stdout no
//! terminal: `orch service install`), each line starts with its sd-daemon priority
//! (`<6>` info, `<4>` warning) instead of the time, which the journal records itself;
//! elsewhere a line is the display time and the text, a warning marked `warning:`.

use jiff::tz::TimeZone;
use std::io::{IsTerminal, Write};

#[derive(Default, Clone, Debug, serde::Serialize)]
pub struct Counts {
    pub started: usize,
    pub done: usize,
    pub failed: usize,
    pub blocked: usize,
    pub interrupted: usize,
    pub lease_lost: usize,
}

/// The status line counts eligible tasks up to this many.
pub const QUEUED_CAP: usize = 1000;

pub struct Progress {
    tz: TimeZone,
    live: bool,
    quiet: bool,
    /// Lines go to the journal: a priority prefix, no time.
    journal: bool,
    pub counts: Counts,
}

impl Progress {
    pub fn new(tz: TimeZone, quiet: bool) -> Progress {
        let live = !quiet && std::io::stderr().is_terminal();
        Progress { tz, live, quiet, journal: crate::console::journal(), counts: Counts::default() }
    }

    /// One line about one task.
    pub fn line(&mut self, msg: &str) {
        self.say(6, msg);
    }

    /// One line that needs a look (a schedule's skipped occurrences, a failed tick).
    pub fn warn(&mut self, msg: &str) {
        self.say(4, msg);
    }

    /// A line at an sd-daemon priority (6 info, 4 warning).
    fn say(&mut self, priority: u8, msg: &str) {
        if self.quiet {
            return;
        }
        if self.live {
            eprint!("\r\x1b[K");
        }
        if self.journal {
            crate::console::print(&format!("<{priority}>{msg}"));
            return;
        }
        let now = orch_core::time::format_display_time(jiff::Timestamp::now(), &self.tz);
        let mark = if priority < 6 { "warning: " } else { "" };
        crate::console::print(&format!("{now} {mark}{msg}"));
    }

    /// Whether the live status line is shown (a terminal, not quiet).
    pub fn is_live(&self) -> bool {
        self.live
    }

    /// The live status line (terminals only); `queued` counts the tasks eligible now, up
    /// to [`QUEUED_CAP`].
    pub fn status(&self, running: usize, queued: usize) {
        if !self.live {
            return;
        }
        let c = &self.counts;
        let plus = if queued >= QUEUED_CAP { "+" } else { "" };
        eprint!(
            "\r\x1b[Krunning {running} · done {} · failed {} · blocked {} · queued {queued}{plus}",
            c.done, c.failed, c.blocked
        );
        let _ = std::io::stderr().flush();
    }

    pub fn finish_live(&self) {
        if self.live {
            eprintln!();
        }
    }
}
