//! Observability commands: `kpi` (the indicators and their alerts), `workers` (the fleet
//! and the queue) and `prune` (retention). Each parses, calls one operation and prints;
//! what could hold a secret comes masked from the API. `events` is in `events.rs`.

use super::limits::duration;
use super::output::{print, print_value};
use crate::api::{self, Orch};
use crate::error::Result;
use jiff::{SignedDuration, Timestamp};
use orch_core::time::format_duration;

fn local(orch: &Orch, t: Timestamp) -> String {
    orch_core::time::format_display_seconds(t, api::time_zone(orch))
}

fn secs(s: f64) -> String {
    format_duration(orch_core::time::secs_f64(s))
}

#[derive(clap::Args, Debug)]
pub struct KpiArgs {
    /// The window: runs that finished (and claims made) in the last DUR.
    #[arg(long, default_value = "24h", value_parser = duration, value_name = "DUR")]
    since: SignedDuration,
    /// Print the indicators and alerts as JSON.
    #[arg(long)]
    json: bool,
    /// Exit 3 when an alert fires.
    #[arg(long)]
    fail_on_alert: bool,
}

pub fn kpi(orch: &Orch, a: &KpiArgs) -> Result<i32> {
    let k = api::kpi(orch, api::KpiRequest { since: a.since })?;
    if a.json {
        print_value(&k)?;
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
        let c = &k.counts;
        let ended: Vec<String> =
            c.runs_finished.iter().filter(|(_, n)| **n > 0).map(|(o, n)| format!("{n} {o}")).collect();
        let ended = if ended.is_empty() { String::new() } else { format!(" ({})", ended.join(", ")) };
        let ended_n: usize = c.runs_finished.values().sum();
        print(&format!("started     {}   ended {ended_n}{ended}", c.runs_started));
        print(&format!("retries     {}   lease expiries {}", k.retries, c.lease_expiries));
        // PASS, RETRY, BLOCK, then any other.
        let mut verdicts: Vec<(&String, &usize)> = c.verdicts.iter().collect();
        verdicts.sort_by_key(|(v, _)| ["PASS", "RETRY", "BLOCK"].iter().position(|w| w == v).unwrap_or(3));
        let verdicts: Vec<String> = verdicts.iter().map(|(v, n)| format!("{v} {n}")).collect();
        print(&format!("gate        {}", verdicts.join(", ")));
        print(&format!("latency     p50 {}   p95 {}", dur(k.latency_p50_s), dur(k.latency_p95_s)));
        print(&format!("queue wait  p50 {}   p95 {}", dur(k.wait_p50_s), dur(k.wait_p95_s)));
        print(&format!("throughput  {:.2} done/h", k.throughput_per_h));
        print(&format!("stale       {} expired leases", k.stale));
        print(&format!(
            "cost        ${:.4}   tokens {} in, {} out",
            k.cost_usd,
            c.tokens.get("input").unwrap_or(&0),
            c.tokens.get("output").unwrap_or(&0)
        ));
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
    /// Print the fleet and the queue as JSON.
    #[arg(long, conflicts_with = "watch")]
    json: bool,
    /// Refresh in place until Ctrl-C (off a terminal: print again when it changes).
    #[arg(long)]
    watch: bool,
    /// With --watch, redraw at least this often (and at once on a change): 100ms to 1h.
    #[arg(long, value_name = "DUR", default_value = "2s", requires = "watch", value_parser = super::watch::interval)]
    interval: std::time::Duration,
}

pub fn workers(orch: &Orch, a: &WorkersArgs) -> Result<i32> {
    if a.watch {
        return super::watch::watch(orch, "orch workers", a.interval, || {
            let f = api::workers(orch)?;
            Ok(fleet_lines(orch, &f).into_iter().chain(f.paused.iter().map(|p| super::pause::line(orch, p))).collect())
        });
    }
    let f = api::workers(orch)?;
    if a.json {
        print_value(&f)?;
        return Ok(0);
    }
    fleet_lines(orch, &f).iter().for_each(|l| print(l));
    f.paused.iter().for_each(|p| print(&super::pause::line(orch, p)));
    Ok(0)
}

/// The fleet and the queue as `workers` prints them, a line each.
fn fleet_lines(orch: &Orch, f: &api::Fleet) -> Vec<String> {
    let mut out = Vec::new();
    if f.workers.is_empty() {
        out.push("no lease is held".to_string());
    } else {
        out.push(format!(
            "{:<16} {:<10} {:>9} {:>10} {:>11}  TASK",
            "OWNER", "ID", "ELAPSED", "LEASE LEFT", "HEARTBEAT"
        ));
    }
    for w in &f.workers {
        let left = match w.lease_left_s {
            Some(s) if s < 0.0 => "expired".to_string(),
            Some(s) => secs(s),
            None => "-".into(),
        };
        let beat = w.heartbeat_age_s.map_or_else(|| "never".to_string(), |s| format!("{} ago", secs(s)));
        let labels: Vec<&str> = [&w.profile, &w.model, &w.agent].into_iter().flatten().map(String::as_str).collect();
        let profile = if labels.is_empty() { String::new() } else { format!("[{}] ", labels.join(", ")) };
        out.push(format!(
            "{:<16} {:<10} {:>9} {:>10} {:>11}  {profile}{}",
            w.owner,
            w.task_id,
            w.elapsed_s.map_or_else(|| "-".to_string(), secs),
            left,
            beat,
            super::output::clip(&w.task, 50)
        ));
    }
    for (p, by_status) in &f.queue {
        let parts: Vec<String> = by_status.iter().map(|(s, n)| format!("{s} {n}")).collect();
        out.push(format!("{p}: {}", parts.join(", ")));
    }
    out.extend(f.dispatchers.iter().map(|d| dispatcher_line(orch, d)));
    out
}

/// A dispatcher as `workers` prints it: alive, stopped, or unseen since when.
fn dispatcher_line(orch: &Orch, d: &api::DispatcherLive) -> String {
    let state = match (d.alive, d.stopped_at) {
        (true, _) => format!("alive, seen {} ago", secs(d.seen_age_s)),
        (false, Some(_)) => "stopped".to_string(),
        (false, None) => format!("not seen for {}", secs(d.seen_age_s)),
    };
    format!("dispatcher {} pid {} since {}: {state}", d.host, d.pid, local(orch, d.started_at))
}

#[derive(clap::Args, Debug)]
pub struct PruneArgs {
    /// Remove the history of tasks DONE longer ago than DUR (e.g. 30d).
    #[arg(long, value_parser = duration, value_name = "DUR")]
    older_than: SignedDuration,
    /// Print what was removed as JSON.
    #[arg(long)]
    json: bool,
}

pub fn prune(orch: &Orch, a: &PruneArgs) -> Result<i32> {
    let r = api::prune(orch, api::PruneRequest { older_than: a.older_than })?;
    if a.json {
        print_value(&r)?;
        return Ok(0);
    }
    print(&format!(
        "pruned {} runs and {} events of {} tasks; {} run folders; freed {} bytes ({} in folders, {} in events.jsonl)",
        r.runs, r.events, r.tasks, r.folders, r.bytes, r.folder_bytes, r.events_file_bytes
    ));
    Ok(0)
}
