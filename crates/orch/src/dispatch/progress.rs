//! What `orch run` shows: one plain line per start and end (for logs and pipes), and on
//! a terminal a live status line (running, done, failed, queue depth) on stderr.

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

pub struct Progress {
    tz: TimeZone,
    live: bool,
    quiet: bool,
    pub counts: Counts,
}

impl Progress {
    pub fn new(tz: TimeZone, quiet: bool) -> Progress {
        Progress { tz, live: !quiet && std::io::stderr().is_terminal(), quiet, counts: Counts::default() }
    }

    /// One line about one task.
    pub fn line(&mut self, msg: &str) {
        if self.quiet {
            return;
        }
        if self.live {
            eprint!("\r\x1b[K");
        }
        let now = orch_core::time::format_display_time(jiff::Timestamp::now(), &self.tz);
        crate::cli::print(&format!("{now} {msg}"));
    }

    /// The live status line (terminals only).
    pub fn status(&self, running: usize, queued: usize) {
        if !self.live {
            return;
        }
        let c = &self.counts;
        eprint!(
            "\r\x1b[Krunning {running} · done {} · failed {} · blocked {} · queued {queued}",
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
