//! The command line: parse, open the queue, call one operation, print. Nothing here
//! decides anything about tasks; every rule lives in `ops`, `sync` and the core.

mod chat;
mod events;
mod init;
mod limits;
mod migrate;
mod observe;
mod operator;
mod output;
mod quick;
mod read;
mod review;
mod run;
mod sync_cmd;
mod team;
mod worker;

use crate::api::{Options, Orch};
use crate::error::{Error, Result};
use crate::home::Home;
use clap::{Parser, Subcommand};
use limits::{duration, lease};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "orch", version, about = "A durable work queue and dispatcher for agents and commands")]
pub struct Cli {
    /// The .orch folder (default: the nearest .orch/ upward from here).
    #[arg(long, global = true, env = "ORCH_HOME", value_name = "DIR")]
    home: Option<PathBuf>,
    /// The database: a path, sqlite://PATH or postgres://… (default: .orch/orch.db).
    #[arg(long, global = true, env = "ORCH_DB", value_name = "URL")]
    db: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create .orch/ (config, database); import QUEUE.md if present.
    Init(init::InitArgs),
    /// Add a task.
    Add(operator::AddArgs),
    /// List tasks.
    List(read::ListArgs),
    /// Show one task.
    Show(read::ShowArgs),
    /// Append a note to a task.
    Note(operator::NoteArgs),
    /// Counts by status and priority and what runs next; with an ID, that task.
    Status(read::StatusArgs),
    /// Stop a task: BLOCKED with `cancelled_by_operator`.
    Cancel(operator::CancelArgs),
    /// Change a task's text, criteria, priority or due time.
    Replan(operator::ReplanArgs),
    /// Put a FAILED or BLOCKED task back to PENDING.
    Retry(operator::RetryArgs),
    /// Read QUEUE.md (or FILE) into the database.
    Import(sync_cmd::ImportArgs),
    /// Write the view to QUEUE.md (or FILE).
    Export(sync_cmd::ExportArgs),
    /// Compare QUEUE.md with the database; exit 3 on drift.
    Check(sync_cmd::CheckArgs),
    /// Claim the next eligible task; exit 4 when there is none.
    Pick(worker::PickArgs),
    /// Renew the lease of a running task.
    Heartbeat(worker::HeartbeatArgs),
    /// Finish a running task.
    Done(worker::DoneArgs),
    /// Fail a running task (transient unless --permanent).
    Fail(worker::FailArgs),
    /// Turn every expired lease into a transient failure.
    Watchdog(worker::WatchdogArgs),
    /// Every attempt of a task: trace id, class, reason, outcome, duration, usage, verdict.
    Log(read::LogArgs),
    /// The event log: read it, or follow it (--follow).
    Events(events::EventsArgs),
    /// Runs, success and failure rates, latency, queue wait, throughput, stale leases,
    /// cost, and alerts; --fail-on-alert exits 3 when one fires.
    Kpi(observe::KpiArgs),
    /// The fleet: each lease held, its owner, task, elapsed time, lease left, last
    /// heartbeat; and the queue by priority and status.
    Workers(observe::WorkersArgs),
    /// Retention: remove the old history (runs, events, run folders) of finished tasks.
    Prune(observe::PruneArgs),
    /// Run the gate again on the last report of a task.
    Review(review::ReviewArgs),
    /// The dispatcher: claim tasks and run workers for them.
    Run(run::RunArgs),
    /// Claim one task and run CMD for it under the worker protocol.
    Exec(run::ExecArgs),
    /// Copy a queue with its history into another database (e.g. SQLite to PostgreSQL).
    Migrate(migrate::MigrateArgs),
    /// Teams: `team add FILE` adds the workers and a lead that merges their reports.
    Team(team::TeamArgs),
    /// Add a task from one line: p0 due:내일 18:00 due:+3h criteria:"…" #resource text.
    Quick(quick::QuickArgs),
    /// Chat-style operator commands: '!status', '!cancel ID why', '!replan ID why', '!retry ID', '!add …'.
    Chat(chat::ChatArgs),
}

/// Runs the command line and returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            if !e.use_stderr() {
                let _ = e.print();
                return 0;
            }
            // Plain and escaped: the message quotes the value given, which may hold
            // terminal controls.
            crate::console::eprint(e.render().to_string().trim_end());
            return 2;
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            crate::console::eprint(&format!("orch: {e}"));
            e.exit_code()
        }
    }
}

fn options(cli: &Cli) -> Result<Options> {
    Ok(Options {
        db: cli.db.clone(),
        queue_md: std::env::var_os("ORCH_QUEUE_MD").filter(|v| !v.is_empty()).map(PathBuf::from),
        queue_md_read_only: flag("ORCH_QUEUE_MD_READ_ONLY", std::env::var_os("ORCH_QUEUE_MD_READ_ONLY"))?,
    })
}

/// A yes/no environment variable: `1`, `true`, `yes` or `0`, `false`, `no`, empty
/// (any case); unset is no. Anything else is refused rather than taken for no.
fn flag(name: &str, value: Option<std::ffi::OsString>) -> Result<bool> {
    let Some(value) = value else { return Ok(false) };
    match value.to_str().map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        Some("1" | "true" | "yes") => Ok(true),
        Some("0" | "false" | "no" | "") => Ok(false),
        _ => Err(Error::Usage(format!(
            "{name}={}: use 1, true or yes (or 0, false, no, or empty for no)",
            value.to_string_lossy()
        ))),
    }
}

fn cwd() -> Result<PathBuf> {
    std::env::current_dir().map_err(|e| Error::Io(format!("current folder: {e}")))
}

fn open(cli: &Cli) -> Result<Orch> {
    let home = Home::find(cli.home.as_deref(), &cwd()?)?;
    Orch::open(home, &options(cli)?)
}

fn run(cli: Cli) -> Result<i32> {
    if let Command::Init(args) = &cli.command {
        return init::run(&cli, args);
    }
    if let Command::Migrate(args) = &cli.command {
        return migrate::run(&cli, args);
    }
    let orch = open(&cli)?;
    match &cli.command {
        Command::Init(_) => unreachable!("handled above"),
        Command::Migrate(_) => unreachable!("handled above"),
        Command::Add(a) => operator::add(&orch, a),
        Command::List(a) => read::list(&orch, a),
        Command::Show(a) => read::show(&orch, a),
        Command::Note(a) => operator::note(&orch, a),
        Command::Status(a) => read::status(&orch, a),
        Command::Cancel(a) => operator::cancel(&orch, a),
        Command::Replan(a) => operator::replan(&orch, a),
        Command::Retry(a) => operator::retry(&orch, a),
        Command::Import(a) => sync_cmd::import(&orch, a),
        Command::Export(a) => sync_cmd::export(&orch, a),
        Command::Check(a) => sync_cmd::check(&orch, a),
        Command::Pick(a) => worker::pick(&orch, a),
        Command::Heartbeat(a) => worker::heartbeat(&orch, a),
        Command::Done(a) => worker::done(&orch, a),
        Command::Fail(a) => worker::fail(&orch, a),
        Command::Watchdog(a) => worker::watchdog(&orch, a),
        Command::Log(a) => read::log(&orch, a),
        Command::Events(a) => events::events(&orch, a),
        Command::Kpi(a) => observe::kpi(&orch, a),
        Command::Workers(a) => observe::workers(&orch, a),
        Command::Prune(a) => observe::prune(&orch, a),
        Command::Review(a) => review::review(&orch, a),
        Command::Run(a) => run::run(&orch, a),
        Command::Exec(a) => run::exec(&orch, a),
        Command::Team(a) => team::run(&orch, a),
        Command::Quick(a) => quick::run(&orch, a),
        Command::Chat(a) => chat::run(&orch, a),
    }
}

/// A task id argument, as given; one whose number is above `orch_core::id::MAX_ID_NUM`
/// is refused (no task can have it). Any other text is looked up as it is.
fn task_id(s: &str) -> std::result::Result<String, String> {
    match orch_core::id::check_id(s.trim()) {
        Err(e @ orch_core::id::IdError::TooLarge) => Err(format!("bad id `{s}`: {e}")),
        _ => Ok(s.to_string()),
    }
}

/// Prints warnings from the after-change steps (events file, view) on stderr.
fn warn_all(warnings: &[String]) {
    for w in warnings {
        crate::console::eprint(&format!("orch: warning: {w}"));
    }
}
