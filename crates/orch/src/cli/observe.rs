//! Observability commands: `events` (read and follow the event log), `kpi` (the
//! indicators and their alerts), `workers` (the fleet and the queue) and `prune`
//! (retention). Each parses, calls one operation and prints; secrets are masked in what
//! is printed, even in events stored before their pattern was configured.

use super::duration;
use super::output::{print, print_json};
use crate::error::Result;
use crate::ops::Orch;
use jiff::{SignedDuration, Timestamp};
use orch_core::event::Event;
use orch_core::time::format_duration;
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
    orch.tz().to_datetime(t).strftime("%Y-%m-%d %H:%M:%S").to_string()
}

fn secs(s: f64) -> String {
    format_duration(orch_core::time::secs_f64(s))
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
        line.push_str(&format!("  {}", super::output::clip(m, 200)));
    }
    print(&line);
}

#[derive(clap::Args, Debug)]
pub struct KpiArgs {
    /// The window: runs that finished (and claims made) in the last DUR.
    #[arg(long, default_value = "24h", value_parser = duration, value_name = "DUR")]
    since: SignedDuration,
    #[arg(long)]
    json: bool,
    /// Exit 3 when an alert fires.
    #[arg(long)]
    fail_on_alert: bool,
}

pub fn kpi(orch: &Orch, a: &KpiArgs) -> Result<i32> {
    let k = orch.kpi(a.since)?;
    if a.json {
        print_json(&serde_json::to_value(&k).expect("indicators serialise"));
    } else {
        let pct = |r: Option<f64>| r.map_or_else(|| "-".to_string(), |r| format!("{:.1}%", r * 100.0));
        let dur = |s: Option<f64>| s.map_or_else(|| "-".to_string(), secs);
        print(&format!(
            "window      {} ({} → {})",
            format_duration(a.since),
            local(orch, k.since),
            local(orch, k.until)
        ));
        print(&format!(
            "runs        {} finished ({} done, {} failed), {} running",
            k.runs, k.done, k.failed, k.running
        ));
        print(&format!("success     {}   failure {}", pct(k.success_rate), pct(k.failure_rate)));
        print(&format!("retries     {}", k.retries));
        print(&format!("latency     p50 {}   p95 {}", dur(k.latency_p50_s), dur(k.latency_p95_s)));
        print(&format!("queue wait  p50 {}   p95 {}", dur(k.wait_p50_s), dur(k.wait_p95_s)));
        print(&format!("throughput  {:.2} done/h", k.throughput_per_h));
        print(&format!("stale       {} expired leases", k.stale));
        print(&format!("cost        ${:.4}", k.cost_usd));
        if k.runs < k.min_runs {
            print(&format!("(failure-rate and latency alerts wait for {} finished runs)", k.min_runs));
        }
        for al in &k.alerts {
            print(&format!(
                "ALERT {}: {} over {}",
                al.name,
                show_value(&al.name, al.value),
                show_value(&al.name, al.threshold)
            ));
        }
    }
    if a.fail_on_alert && k.alerting() {
        let names: Vec<&str> = k.alerts.iter().map(|al| al.name.as_str()).collect();
        crate::console::eprint(&format!("orch: alert: {}", names.join(", ")));
        return Ok(3);
    }
    Ok(0)
}

fn show_value(name: &str, v: f64) -> String {
    match name {
        "failure_rate" => format!("{:.1}%", v * 100.0),
        "latency_p95" => secs(v),
        _ => format!("{v}"),
    }
}

#[derive(clap::Args, Debug)]
pub struct WorkersArgs {
    #[arg(long)]
    json: bool,
}

pub fn workers(orch: &Orch, a: &WorkersArgs) -> Result<i32> {
    let f = orch.fleet()?;
    if a.json {
        let mut v = serde_json::to_value(&f).expect("the fleet serialises");
        orch.mask().json(&mut v);
        print_json(&v);
        return Ok(0);
    }
    if f.workers.is_empty() {
        print("no lease is held");
    } else {
        print(&format!("{:<16} {:<10} {:>9} {:>10} {:>11}  TASK", "OWNER", "ID", "ELAPSED", "LEASE LEFT", "HEARTBEAT"));
    }
    for w in &f.workers {
        let left = match w.lease_left_s {
            Some(s) if s < 0.0 => "expired".to_string(),
            Some(s) => secs(s),
            None => "-".into(),
        };
        let beat = w.heartbeat_age_s.map_or_else(|| "never".to_string(), |s| format!("{} ago", secs(s)));
        print(&format!(
            "{:<16} {:<10} {:>9} {:>10} {:>11}  {}",
            w.owner,
            w.task_id,
            w.elapsed_s.map_or_else(|| "-".to_string(), secs),
            left,
            beat,
            super::output::clip(&orch.mask().text(&w.task), 50)
        ));
    }
    for (p, by_status) in &f.queue {
        let parts: Vec<String> = by_status.iter().map(|(s, n)| format!("{s} {n}")).collect();
        print(&format!("{p}: {}", parts.join(", ")));
    }
    Ok(0)
}

#[derive(clap::Args, Debug)]
pub struct PruneArgs {
    /// Remove the history of tasks DONE longer ago than DUR (e.g. 30d).
    #[arg(long, value_parser = duration, value_name = "DUR")]
    older_than: SignedDuration,
    #[arg(long)]
    json: bool,
}

pub fn prune(orch: &Orch, a: &PruneArgs) -> Result<i32> {
    let r = orch.prune(a.older_than)?;
    if a.json {
        print_json(&serde_json::to_value(&r).expect("a prune report serialises"));
        return Ok(0);
    }
    print(&format!(
        "pruned {} runs and {} events of {} tasks; {} run folders; freed {} bytes ({} in folders, {} in events.jsonl)",
        r.runs, r.events, r.tasks, r.folders, r.bytes, r.folder_bytes, r.events_file_bytes
    ));
    Ok(0)
}
