//! The command line: parse, open the queue, make one call of the operations API
//! (`crate::api`), print. Nothing here decides anything about tasks; every rule lives in
//! the API and below it.
//!
//! Layout: this file holds the command tree and calls the handlers; `globals.rs` the
//! options every command takes and how they open a queue; `limits.rs` the values of
//! flags read with their limits; `values.rs` the named values flags take; `help.rs` the
//! exit codes every help ends with; `output.rs` printing; `watch.rs` the `--watch` of
//! `status` and `workers`; `tmux.rs` the operator's tmux session; `generate.rs` completions and
//! man pages; one file per command group for its arguments and its printing.
//!
//! With `--json` (or `--jsonl`), an error is printed on stdout as well, as
//! `{"error": {"code", "message", "exit"}}`, and ends with the same exit code.

mod chat;
mod events;
mod follow;
mod generate;
mod globals;
mod help;
mod init;
mod land;
mod limits;
mod migrate;
mod observe;
mod operator;
mod output;
mod pause;
mod quick;
mod read;
mod review;
mod run;
mod schedule;
mod service;
mod sync_cmd;
mod team;
mod tmux;
mod values;
mod watch;
mod worker;

use crate::error::{Error, Result};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use globals::Globals;

#[derive(Parser, Debug)]
#[command(
    name = "orch",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("ORCH_COMMIT"), ")"),
    about = "A durable work queue and dispatcher for agents and commands",
    after_help = "Examples:
  orch init                           # .orch/ here; QUEUE.md imported if present
  orch add 'Write the release notes' -p P0 --due +3h
  orch run --until-idle               # run workers until nothing is eligible
  orch show 5                         # ORCH-005
  orch help add                       # the help of one command"
)]
pub struct Cli {
    #[command(flatten)]
    globals: Globals,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create .orch/ (config, database); import QUEUE.md if present.
    #[command(after_help = "Examples:
  orch init
  ORCH_HOME=/srv/q/.orch orch init
  orch --db postgres://orch@db/orch init")]
    Init(init::InitArgs),
    /// Add a task.
    #[command(after_help = "Examples:
  orch add 'Write the release notes' -p P0 --due '2026-12-01 18:00'
  orch add 'Deploy' --depends-on ORCH-003,ORCH-004 --resource prod --json")]
    Add(operator::AddArgs),
    /// List tasks.
    #[command(after_help = "Examples:
  orch list --status PENDING,FAILED -p P0
  orch list --limit 20 --offset 40
  orch list --jsonl | jq -r .id")]
    List(read::ListArgs),
    /// Show one task and the first lines of its last report.
    #[command(after_help = "Examples:
  orch show ORCH-005
  orch show 5 --json                  # the same task
  orch show 5 --report > report.md    # the last report, whole")]
    Show(read::ShowArgs),
    /// Append a note to a task.
    #[command(after_help = "Examples:
  orch note ORCH-005 'waiting for the API key'")]
    Note(operator::NoteArgs),
    /// Counts by status and priority and what runs next; with an ID, that task.
    #[command(after_help = "Examples:
  orch status
  orch status ORCH-010                # a team as a tree
  orch status --watch --interval 5s   # redrawn in place; Ctrl-C ends")]
    Status(read::StatusArgs),
    /// Stop a task: BLOCKED with `cancelled_by_operator`.
    #[command(after_help = "Examples:
  orch cancel ORCH-005 --reason 'no longer needed'")]
    Cancel(operator::CancelArgs),
    /// Change a task's text, criteria, priority or due time.
    #[command(after_help = "Examples:
  orch replan ORCH-005 --reason scope -p P0 --due +1d
  orch replan 5 --reason clarify --criteria 'tests pass'")]
    Replan(operator::ReplanArgs),
    /// Put a FAILED or BLOCKED task back to PENDING.
    #[command(after_help = "Examples:
  orch retry ORCH-005")]
    Retry(operator::RetryArgs),
    /// Read QUEUE.md (or FILE) into the database.
    #[command(after_help = "Examples:
  orch import
  orch import other.md --json")]
    Import(sync_cmd::ImportArgs),
    /// Write the view to QUEUE.md (or FILE).
    #[command(after_help = "Examples:
  orch export
  orch export all.md --all")]
    Export(sync_cmd::ExportArgs),
    /// Compare QUEUE.md with the database; exit 3 on drift.
    #[command(after_help = "Examples:
  orch check || orch import         # exit 3 on drift")]
    Check(sync_cmd::CheckArgs),
    /// Claim the next eligible task; exit 4 when there is none.
    #[command(after_help = "Examples:
  orch pick --owner worker-1
  orch pick --owner w1 --json   # null when none is eligible")]
    Pick(worker::PickArgs),
    /// Renew the lease of a running task.
    #[command(after_help = "Examples:
  orch heartbeat ORCH-005             # the token from $ORCH_LEASE_TOKEN
  orch heartbeat 5 --for 30m")]
    Heartbeat(worker::HeartbeatArgs),
    /// Finish a running task.
    #[command(after_help = "Examples:
  orch done ORCH-005 --report report.md
  make test | orch done ORCH-005 --report -
  orch done ORCH-005 --force          # an operator, no gate")]
    Done(worker::DoneArgs),
    /// Fail a running task (transient unless --permanent).
    #[command(after_help = "Examples:
  orch fail ORCH-005 --reason 'timeout talking to the API'
  orch fail ORCH-005 --reason 'bad input' --permanent")]
    Fail(worker::FailArgs),
    /// Turn every expired lease into a transient failure.
    #[command(after_help = "Examples:
  orch watchdog --json")]
    Watchdog(worker::WatchdogArgs),
    /// Every attempt of a task: trace id, class, reason, outcome, duration, usage, verdict,
    /// and the folder of its files.
    #[command(after_help = "Examples:
  orch log ORCH-005
  orch log 5 --json")]
    Log(read::LogArgs),
    /// Print a task's run output as it is written; exit with the run's outcome.
    ///
    /// Follows the run the task holds now, else its last one (a task waiting for its
    /// first run is waited for): its stdout, its stderr with --stderr, both with --both,
    /// each line masked and its terminal controls shown escaped. Ends when the run ends;
    /// the exit code is the run's outcome: 0 done, 1 failed (or lost, given back),
    /// 5 blocked (by its worker, a cancel, a limit); 4 when the task has no run and will
    /// get none.
    #[command(after_help = "Examples:
  orch follow ORCH-005                # its stdout as it is written
  orch follow 5 --both                # out| and err| lines
  orch follow 5 --stderr && echo done")]
    Follow(follow::FollowArgs),
    /// The event log: read it, or follow it (--follow).
    #[command(after_help = "Examples:
  orch events --since 1h
  orch events -f --task ORCH-005
  orch events --json | jq .event")]
    Events(events::EventsArgs),
    /// Runs, success and failure rates, latency, queue wait, throughput, stale leases,
    /// cost, and alerts; --fail-on-alert exits 3 when one fires.
    #[command(after_help = "Examples:
  orch kpi --since 7d
  orch kpi --fail-on-alert       # exit 3 when an alert fires")]
    Kpi(observe::KpiArgs),
    /// The fleet: each lease held, its owner, task, elapsed time, lease left, last
    /// heartbeat; and the queue by priority and status.
    #[command(after_help = "Examples:
  orch workers
  orch workers --json
  orch workers --watch                # redrawn in place; Ctrl-C ends")]
    Workers(observe::WorkersArgs),
    /// Stop claims of the queue, or of one worker profile; running tasks finish.
    #[command(after_help = "Examples:
  orch pause --reason 'rate limit'
  orch pause fast --until '+2h'
  orch pause --until 'tomorrow 9am' --json")]
    Pause(pause::PauseArgs),
    /// End a pause of the queue, or of one worker profile.
    #[command(after_help = "Examples:
  orch resume
  orch resume fast")]
    Resume(pause::ResumeArgs),
    /// Retention: remove the old history (runs, events, run folders) of finished tasks.
    #[command(after_help = "Examples:
  orch prune --older-than 30d")]
    Prune(observe::PruneArgs),
    /// Run the gate again on the last report of a task.
    #[command(after_help = "Examples:
  orch review ORCH-005
  orch review ORCH-005 --apply")]
    Review(review::ReviewArgs),
    /// Land a task's branch on the base branch: rebase, check, fast-forward.
    #[command(after_help = "Examples:
  orch land ORCH-005
  orch land 5 --json")]
    Land(land::LandArgs),
    /// The dispatcher: claim tasks and run workers for them.
    #[command(after_help = "Examples:
  orch run -w 4
  orch run --until-idle --json")]
    Run(run::RunArgs),
    /// Claim one task and run CMD for it under the worker protocol.
    #[command(after_help = "Examples:
  orch exec --owner ci -- ./do-task.sh {id} {task_json}")]
    Exec(run::ExecArgs),
    /// Copy a queue with its history into another database (e.g. SQLite to PostgreSQL).
    #[command(after_help = "Examples:
  orch migrate --to postgres://orch@db/orch")]
    Migrate(migrate::MigrateArgs),
    /// Teams: `team add FILE` adds the workers and a lead that merges their reports.
    #[command(after_help = "Examples:
  orch team add examples/team.json")]
    Team(team::TeamArgs),
    /// Add a task from one line: p0 due:내일 18:00 due:+3h criteria:"…" #resource @profile text.
    #[command(after_help = "Examples:
  orch quick 'p0 Write the release notes due:tomorrow 18:00 #docs'
  orch quick --dry-run 'p2 tidy the README criteria:\"no broken links\"'")]
    Quick(quick::QuickArgs),
    /// Chat-style operator commands: '!status', '!cancel ID why', '!replan ID why', '!retry ID', '!add …'.
    #[command(after_help = "Examples:
  orch chat '!status'
  orch chat '!cancel ORCH-007 user_drop:scope'")]
    Chat(chat::ChatArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(generate::CompletionsArgs),
    /// Print the man page orch.1, or write one page per command with --dir.
    Man(generate::ManArgs),
    /// A full-screen terminal view: the fleet, the queue, tasks; add, cancel, retry, replan, note.
    #[command(after_help = "Examples:
  orch dashboard
  NO_COLOR=1 orch dashboard")]
    Dashboard(crate::dashboard::DashboardArgs),
    /// A tmux session laid out for operating: dashboard, dispatcher, events, quick adds.
    ///
    /// Creates the session (default `orch`) when it is missing, then attaches to it (or
    /// switches to it inside tmux); --detach only creates it. One window: the dashboard
    /// on the left; `orch run`, `orch events --follow` and a shell for quick adds on the
    /// right. Exit 2 when tmux is not installed (the message says how to get it).
    #[command(after_help = "Examples:
  orch tmux
  orch tmux --session ops --detach    # create it; attach later")]
    Tmux(tmux::TmuxArgs),
    /// Serve the queue to an agent as an MCP server on stdin/stdout (docs/MCP.md).
    ///
    /// Eight tools: next, heartbeat, done, fail, add, show, list, status. The leases
    /// `next` claims are renewed while the session lives and given back (the task
    /// PENDING again, the attempt not counted) when the client goes away first.
    #[command(after_help = "Examples:
  orch mcp --owner agent-1
  claude mcp add orch -- orch mcp")]
    Mcp(crate::mcp::McpArgs),
    /// Serve the HTTP API, the web dashboard and metrics (docs/SERVE.md).
    ///
    /// Every route but /healthz needs the token: `Authorization: Bearer TOKEN`, from
    /// ORCH_SERVE_TOKEN or .orch/serve.token (made at the first serve, mode 0600). Listens
    /// on loopback only unless --allow-remote is given. Prints the address and a one-time
    /// sign-in link for the browser; runs until stopped (Ctrl-C).
    #[command(after_help = "Examples:
  orch serve                              # http://127.0.0.1:7700
  orch serve --addr 127.0.0.1:0           # any free port, printed
  curl -H \"Authorization: Bearer $(cat .orch/serve.token)\" http://127.0.0.1:7700/api/v1/status")]
    Serve(crate::serve::ServeArgs),
    /// Recurring work: each occurrence of a cron pattern becomes a task, once.
    #[command(after_help = "Examples:
  orch schedule add '0 9 * * 1-5' 'Triage the inbox' --name triage
  orch schedule list
  orch schedule next triage --count 3")]
    Schedule(schedule::ScheduleArgs),
    /// The dispatcher as a service: `service install` writes a systemd unit for `orch run`.
    #[command(after_help = "Examples:
  orch service install --user
  orch service install --dry-run")]
    Service(service::ServiceArgs),
}

/// The command tree the command line parses with, its help ending with the exit codes:
/// the one source of the help, the completion scripts and the man pages.
pub fn command() -> clap::Command {
    help::with_exit_codes(Cli::command())
}

/// Runs the command line and returns the exit code.
pub fn main() -> i32 {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let parsed = command().try_get_matches_from(&args).and_then(|m| Ok((Cli::from_arg_matches(&m)?, m)));
    let (cli, matches) = match parsed {
        Ok(p) => p,
        Err(e) => {
            if !e.use_stderr() {
                let _ = e.print();
                return 0;
            }
            // Plain and escaped: the message quotes the value given, which may hold
            // terminal controls.
            let message = e.render().to_string();
            crate::console::eprint(message.trim_end());
            let e = Error::Usage(message.trim_end().trim_start_matches("error: ").to_string());
            if help::json_word(&args) {
                print_error_json(&e);
            }
            return e.exit_code();
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            let level = if crate::console::journal() { "<3>" } else { "" };
            crate::console::eprint(&format!("{level}orch: {e}"));
            if help::json_flag(&matches) {
                print_error_json(&e);
            }
            e.exit_code()
        }
    }
}

/// An error as a command run with `--json` prints it on stdout:
/// `{"error": {"code": …, "message": …, "exit": N}}`.
fn print_error_json(e: &Error) {
    output::print_json(&serde_json::json!({ "error": e.body() }));
}

fn run(cli: Cli) -> Result<i32> {
    if let Command::Init(args) = &cli.command {
        return init::run(&cli.globals, args);
    }
    if let Command::Migrate(args) = &cli.command {
        return migrate::run(&cli.globals, args);
    }
    if let Command::Completions(args) = &cli.command {
        return generate::completions(args, command());
    }
    if let Command::Man(args) = &cli.command {
        return generate::man(args, command());
    }
    if let Command::Mcp(args) = &cli.command {
        // The session shares the open queue with its heartbeat threads: it takes it whole.
        return crate::mcp::run(cli.globals.open()?, args);
    }
    if let Command::Serve(args) = &cli.command {
        // The server shares the open queue between its threads: it takes it whole.
        return crate::serve::run(cli.globals.open()?, args);
    }
    let orch = cli.globals.open()?;
    match &cli.command {
        Command::Init(_) => unreachable!("handled above"),
        Command::Migrate(_) => unreachable!("handled above"),
        Command::Completions(_) | Command::Man(_) | Command::Serve(_) | Command::Mcp(_) => {
            unreachable!("handled above")
        }
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
        Command::Follow(a) => follow::follow(&orch, a),
        Command::Events(a) => events::events(&orch, a),
        Command::Kpi(a) => observe::kpi(&orch, a),
        Command::Workers(a) => observe::workers(&orch, a),
        Command::Pause(a) => pause::pause(&orch, a),
        Command::Resume(a) => pause::resume(&orch, a),
        Command::Prune(a) => observe::prune(&orch, a),
        Command::Review(a) => review::review(&orch, a),
        Command::Land(a) => land::land(&orch, a),
        Command::Run(a) => run::run(&orch, a),
        Command::Exec(a) => run::exec(&orch, a),
        Command::Team(a) => team::run(&orch, a),
        Command::Quick(a) => quick::run(&orch, a),
        Command::Chat(a) => chat::run(&orch, a),
        Command::Dashboard(a) => crate::dashboard::run(&orch, a),
        Command::Tmux(a) => tmux::run(&orch, &cli.globals, a),
        Command::Schedule(a) => schedule::run(&orch, a),
        Command::Service(a) => service::run(&orch, &cli.globals, a),
    }
}
