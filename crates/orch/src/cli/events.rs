//! `orch events`: read the event log page by page, or follow it (`--follow`) until
//! Ctrl-C. A long-running reader, it calls the event log's service directly rather than
//! through `api` (see `api/mod.rs`); secrets are masked in what is printed, even in
//! events stored before their pattern was configured.

use super::limits::duration;
use super::output::print;
use crate::error::Result;
use crate::ops::Orch;
use jiff::{SignedDuration, Timestamp};
use orch_core::event::Event;
use orch_store::EventQuery;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Events read per page.
const PAGE: usize = 1000;
/// What `events --follow` shows of the past when no `--since` is given (as `tail -f`).
const FOLLOW_BACKLOG: usize = 10;
/// How long one wait for new events lasts before the stop flag and the reader are
/// checked again.
const FOLLOW_TICK: Duration = Duration::from_millis(250);

fn local(orch: &Orch, t: Timestamp) -> String {
    orch_core::time::format_display_seconds(t, orch.tz())
}

#[derive(clap::Args, Debug)]
pub struct EventsArgs {
    /// Keep printing new events as they come, until Ctrl-C (without --since, start with
    /// the last 10).
    #[arg(long, short = 'f')]
    follow: bool,
    /// Only this task's events.
    #[arg(long, value_name = "ID")]
    task: Option<String>,
    /// Only events of the last DUR (e.g. 10m, 24h).
    #[arg(long, value_parser = duration, value_name = "DUR")]
    since: Option<SignedDuration>,
    /// One JSON object per line (as in events.jsonl).
    #[arg(long)]
    json: bool,
}

pub fn events(orch: &Orch, a: &EventsArgs) -> Result<i32> {
    let since = a.since.map(|d| orch_core::time::earlier(orch.now(), d));
    if a.follow {
        return follow(orch, a, since);
    }
    let mut q = EventQuery { since, task_id: a.task.clone(), limit: PAGE, ..EventQuery::default() };
    loop {
        let page = orch.events(&q)?;
        for e in &page {
            print_event(orch, e, a.json);
        }
        match page.last() {
            Some(last) if page.len() == PAGE => q.after = last.seq,
            _ => return Ok(0),
        }
    }
}

/// Prints the backlog, then every new event, until SIGINT/SIGTERM or until the reader
/// of stdout goes away; both end quietly with exit code 0.
fn follow(orch: &Orch, a: &EventsArgs, since: Option<Timestamp>) -> Result<i32> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).map_err(|e| crate::error::Error::Io(format!("signals: {e}")))?;
    }
    let mut after = start_cursor(orch, a, since)?;
    let wanted =
        |e: &Event| a.task.as_ref().is_none_or(|t| e.task_id.as_ref() == Some(t)) && since.is_none_or(|s| e.ts >= s);
    loop {
        loop {
            let page = orch.events_after(after, PAGE)?;
            for e in &page {
                if wanted(e) {
                    print_event(orch, e, a.json);
                }
                after = e.seq;
            }
            if page.len() < PAGE {
                break;
            }
        }
        if stop.load(Ordering::Relaxed) || reader_gone() {
            return Ok(0);
        }
        orch.wait_for_change(FOLLOW_TICK)?;
        if stop.load(Ordering::Relaxed) {
            return Ok(0);
        }
    }
}

/// The sequence number after which `follow` starts: before the first event of the
/// window, or before the last [`FOLLOW_BACKLOG`] matching events, or at the end.
fn start_cursor(orch: &Orch, a: &EventsArgs, since: Option<Timestamp>) -> Result<i64> {
    if since.is_some() {
        let q = EventQuery { since, task_id: a.task.clone(), limit: 1, ..EventQuery::default() };
        return Ok(match orch.events(&q)?.first() {
            Some(e) => e.seq - 1,
            None => last_seq(orch)?,
        });
    }
    let q = EventQuery { task_id: a.task.clone(), limit: FOLLOW_BACKLOG, newest_first: true, ..EventQuery::default() };
    Ok(match orch.events(&q)?.last() {
        Some(oldest) => oldest.seq - 1,
        None => last_seq(orch)?,
    })
}

fn last_seq(orch: &Orch) -> Result<i64> {
    let q = EventQuery { limit: 1, newest_first: true, ..EventQuery::default() };
    Ok(orch.events(&q)?.first().map_or(0, |e| e.seq))
}

/// True when stdout is a pipe whose reader has closed it (`orch events -f | head -1`):
/// nothing would notice otherwise until the next event is written.
fn reader_gone() -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::AsFd;
    let out = std::io::stdout();
    let mut fds = [PollFd::new(out.as_fd(), PollFlags::empty())];
    match poll(&mut fds, PollTimeout::ZERO) {
        Ok(n) if n > 0 => fds[0].revents().is_some_and(|r| r.intersects(PollFlags::POLLERR | PollFlags::POLLHUP)),
        _ => false,
    }
}

fn print_event(orch: &Orch, e: &Event, json: bool) {
    let masked = orch.mask().event(e);
    let e = masked.as_ref().unwrap_or(e);
    if json {
        crate::console::print_json_line(&e.to_json_line());
        return;
    }
    let mut line = format!(
        "{} {:<5} {:<16} {:<9}",
        local(orch, e.ts),
        e.level.as_str(),
        e.event,
        e.task_id.as_deref().unwrap_or("-")
    );
    if let Some(n) = e.attempt {
        line.push_str(&format!(" #{n}"));
    }
    if let Some(o) = &e.owner {
        line.push_str(&format!(" {o}"));
    }
    match (e.from, e.to) {
        (Some(f), Some(t)) if f != t => line.push_str(&format!(" {f}→{t}")),
        (None, Some(t)) => line.push_str(&format!(" →{t}")),
        _ => {}
    }
    if let Some(t) = &e.trace_id {
        line.push_str(&format!(" trace={t}"));
    }
    if let Some(m) = &e.msg {
        line.push_str(&format!("  {}", super::output::clip(&shown_msg(orch, e, m), 200)));
    }
    print(&line);
}

/// An event's message as a line shows it: the instant a `retry.scheduled` names (kept
/// in UTC, RFC 3339, in the record) in the display time zone, with how long after the
/// event it is (`retry at 2026-03-10 15:32:07 (+2s)`).
fn shown_msg(orch: &Orch, e: &Event, msg: &str) -> String {
    let at = msg.strip_prefix("retry_at ").and_then(|t| t.trim().parse::<Timestamp>().ok());
    match at {
        Some(at) if e.event == orch_core::event::kind::RETRY_SCHEDULED => {
            let after = orch_core::time::format_duration(at.duration_since(e.ts));
            format!("retry at {} (+{after})", local(orch, at))
        }
        _ => msg.to_string(),
    }
}
