//! `orch schedule`: recurring work — add, list, rm, pause, resume, next, tick.

use super::output::{column_line, column_widths, print, print_value, warn_all};
use crate::api::{self, Orch, ScheduleView};
use crate::error::Result;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use orch_core::task::Priority;

#[derive(clap::Args, Debug)]
pub struct ScheduleArgs {
    #[command(subcommand)]
    command: ScheduleCommand,
}

#[derive(clap::Subcommand, Debug)]
enum ScheduleCommand {
    /// Add a schedule: each occurrence of CRON (in queue.timezone) becomes a task.
    #[command(after_help = "Examples:
  orch schedule add '30 2 * * *' 'Nightly backup check' --name nightly
  orch schedule add '*/10 * * * * *' 'Poll the inbox' --overlap --catch-up none
  orch schedule add @weekly 'Weekly report' -p P0 --profile agent")]
    Add(AddArgs),
    /// List the schedules with their next occurrence.
    #[command(after_help = "Examples:
  orch schedule list
  orch schedule list --json")]
    List(ListArgs),
    /// Remove a schedule; the tasks it made stay.
    #[command(after_help = "Examples:
  orch schedule rm nightly")]
    Rm(NameArgs),
    /// Stop a schedule making tasks; occurrences while paused are dropped.
    #[command(after_help = "Examples:
  orch schedule pause nightly")]
    Pause(NameArgs),
    /// Let a paused schedule make tasks again, from its next occurrence.
    #[command(after_help = "Examples:
  orch schedule resume nightly")]
    Resume(NameArgs),
    /// The next occurrences of a schedule, in the display time zone.
    #[command(after_help = "Examples:
  orch schedule next nightly
  orch schedule next nightly --count 10 --json")]
    Next(NextArgs),
    /// Make the tasks of every occurrence due now, once (`orch run` does this itself).
    #[command(after_help = "Examples:
  orch schedule tick
  * * * * * orch --home /srv/q schedule tick   # a crontab line")]
    Tick(TickArgs),
}

#[derive(clap::Args, Debug)]
pub struct AddArgs {
    /// Five fields (minute hour day month weekday), six with seconds first, or @hourly, @daily, @weekly.
    #[arg(value_name = "CRON")]
    cron: String,
    /// The text of the task each occurrence makes.
    #[arg(value_name = "TASK")]
    task: String,
    /// The schedule's name (default: the task's first words).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// The tasks' priority, P0 the most urgent (default: P1).
    #[arg(long, short = 'p', ignore_case = true, value_parser = super::values::priority())]
    priority: Option<Priority>,
    /// Checkable conditions for done, for every task.
    #[arg(long, value_name = "TEXT")]
    criteria: Option<String>,
    /// The worker profile of the tasks (`[profiles.NAME]` of orch.toml).
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// A resource the tasks hold (one task per resource runs at a time).
    #[arg(long, value_name = "NAME")]
    resource: Option<String>,
    /// Attempts of each task before it is BLOCKED.
    #[arg(long, value_name = "N")]
    max_attempts: Option<u32>,
    /// Make no task while the previous occurrence's task is still open (the default).
    #[arg(long, overrides_with = "overlap")]
    no_overlap: bool,
    /// Make each occurrence's task even while the previous one is still open.
    #[arg(long, overrides_with = "no_overlap")]
    overlap: bool,
    /// Occurrences missed while nothing ticked: none, one task for all (default), all.
    #[arg(long, value_name = "RULE", value_parser = ["none", "one", "all"])]
    catch_up: Option<String>,
    /// Print the schedule as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct ListArgs {
    /// Print the schedules as a JSON array.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct NameArgs {
    /// The schedule's name.
    #[arg(value_name = "NAME")]
    name: String,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct NextArgs {
    /// The schedule's name.
    #[arg(value_name = "NAME")]
    name: String,
    /// How many occurrences (1 to 1000).
    #[arg(long, short = 'n', default_value_t = 5, value_name = "N")]
    count: usize,
    /// Print the times as a JSON array (RFC 3339, UTC).
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct TickArgs {
    /// Print what the tick did as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(orch: &Orch, a: &ScheduleArgs) -> Result<i32> {
    match &a.command {
        ScheduleCommand::Add(a) => add(orch, a),
        ScheduleCommand::List(a) => list(orch, a),
        ScheduleCommand::Rm(a) => {
            api::schedule_rm(orch, &a.name)?;
            done(a, "removed", true)
        }
        ScheduleCommand::Pause(a) => done(a, "paused", api::schedule_pause(orch, &a.name, true)?),
        ScheduleCommand::Resume(a) => done(a, "resumed", api::schedule_pause(orch, &a.name, false)?),
        ScheduleCommand::Next(a) => next(orch, a),
        ScheduleCommand::Tick(a) => tick(orch, a),
    }
}

/// A time with seconds, in the display zone: `2026-12-07 02:30:00 CET`.
pub(super) fn when(t: Timestamp, tz: &TimeZone) -> String {
    t.to_zoned_datetime(tz.clone()).strftime("%Y-%m-%d %H:%M:%S %Z").to_string()
}

fn add(orch: &Orch, a: &AddArgs) -> Result<i32> {
    let req = api::ScheduleAddRequest {
        name: a.name.clone(),
        cron: a.cron.clone(),
        task: a.task.clone(),
        priority: a.priority,
        criteria: a.criteria.clone(),
        profile: a.profile.clone(),
        resource: a.resource.clone(),
        max_attempts: a.max_attempts,
        overlap: a.overlap && !a.no_overlap,
        catch_up: a.catch_up.clone(),
    };
    let v = api::schedule_add(orch, req)?;
    if a.json {
        print_value(&v)?;
    } else {
        let next = v.next.map_or_else(|| "never".to_string(), |t| when(t, api::time_zone(orch)));
        print(&format!("schedule {} added: `{}`, next {next}", v.schedule.name, v.schedule.spec.cron));
    }
    Ok(0)
}

fn list(orch: &Orch, a: &ListArgs) -> Result<i32> {
    let all = api::schedule_list(orch)?;
    if a.json {
        print_value(&all)?;
        return Ok(0);
    }
    if all.is_empty() {
        print("no schedules");
        return Ok(0);
    }
    let tz = api::time_zone(orch);
    let mut rows = vec![["NAME", "CRON", "NEXT", "LAST TASK", "RULES", "TASK"].map(String::from).to_vec()];
    rows.extend(all.iter().map(|v| row(v, tz)));
    let widths = column_widths(&rows);
    rows.iter().for_each(|r| print(&column_line(r, &widths)));
    Ok(0)
}

fn row(v: &ScheduleView, tz: &TimeZone) -> Vec<String> {
    let s = &v.schedule;
    let next = match (s.paused, v.next) {
        (true, _) => "paused".to_string(),
        (false, Some(t)) => when(t, tz),
        (false, None) => "never".to_string(),
    };
    let overlap = if s.spec.overlap { "overlap" } else { "no-overlap" };
    let rules = format!("{} {overlap} catch-up:{}", s.spec.priority, s.spec.catch_up.as_str());
    let task = super::output::clip(&s.spec.task, 60);
    vec![s.name.clone(), s.spec.cron.clone(), next, s.last_task.clone().unwrap_or_else(|| "-".into()), rules, task]
}

fn done(a: &NameArgs, what: &str, changed: bool) -> Result<i32> {
    if a.json {
        print_value(&serde_json::json!({ "schedule": a.name, what: changed }))?;
    } else if changed {
        print(&format!("schedule {} {what}", a.name));
    } else {
        print(&format!("schedule {} was {what} already", a.name));
    }
    Ok(0)
}

fn next(orch: &Orch, a: &NextArgs) -> Result<i32> {
    let times = api::schedule_next(orch, &a.name, a.count)?;
    if a.json {
        print_value(&times)?;
    } else {
        times.iter().for_each(|t| print(&when(*t, api::time_zone(orch))));
    }
    Ok(0)
}

fn tick(orch: &Orch, a: &TickArgs) -> Result<i32> {
    let r = api::schedule_tick(orch)?;
    if a.json {
        print_value(&r)?;
        return Ok(0);
    }
    let tz = api::time_zone(orch);
    for f in &r.fired {
        let also = if f.stands_for > 0 { format!(" (and {} missed)", f.stands_for) } else { String::new() };
        print(&format!("{}: {} for {}{also}", f.schedule, f.task, when(f.occurrence, tz)));
    }
    let skipped: Vec<String> = r
        .skipped
        .iter()
        .map(|s| format!("{}: {} occurrence(s) skipped ({})", s.schedule, s.skipped.count, s.skipped.reason.as_str()))
        .collect();
    warn_all(&skipped);
    if r.fired.is_empty() {
        print("nothing due");
    }
    Ok(0)
}
