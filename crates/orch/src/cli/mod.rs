//! The command line: parse, open the queue, make one call of the operations API
//! (`crate::api`), print. Nothing here decides anything about tasks; every rule lives in
//! the API and below it.
//!
//! Layout: this file holds the command tree and calls the handlers; `globals.rs` the
//! options every command takes and how they open a queue; `limits.rs` the values of
//! flags read with their limits; `output.rs` printing; one file per command group for
//! its arguments and its printing.

mod chat;
mod events;
mod globals;
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

use crate::error::Result;
use clap::{Parser, Subcommand};
use globals::Globals;

#[derive(Parser, Debug)]
#[command(name = "orch", version, about = "A durable work queue and dispatcher for agents and commands")]
pub struct Cli {
    #[command(flatten)]
    globals: Globals,
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
    /// A full-screen terminal view: the fleet, the queue, tasks; add, cancel, retry, replan, note.
    Dashboard(crate::dashboard::DashboardArgs),
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

fn run(cli: Cli) -> Result<i32> {
    if let Command::Init(args) = &cli.command {
        return init::run(&cli.globals, args);
    }
    if let Command::Migrate(args) = &cli.command {
        return migrate::run(&cli.globals, args);
    }
    let orch = cli.globals.open()?;
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
        Command::Dashboard(a) => crate::dashboard::run(&orch, a),
    }
}
