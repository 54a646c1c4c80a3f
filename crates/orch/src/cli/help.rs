//! What every command's help says beyond its own arguments: the exit codes, one text
//! shared by every command (and the man pages), added to the clap tree once it is built;
//! and whether a command line asked for JSON (`--json`, `--jsonl`), which decides how an
//! error is printed.

use clap::ArgMatches;
use std::ffi::OsString;

/// The exit codes of every command (`crate::error::Error::exit_code`).
pub const EXIT_CODES: &str = "\
Exit codes:
  0  ok
  1  unexpected: a database or file error, a store busy or gone
  2  bad usage or input: a bad argument or value, a refused file
  3  drift or alert: `check` found drift, `kpi --fail-on-alert`
  4  not found: no such task, nothing to pick
  5  conflict: refused by the task's state (a lost lease, a wrong
     lease token, a task not running), unimported QUEUE.md edits,
     a report the gate did not pass (`done`)

With --json an error is printed on stdout too (codes: docs/API.md):
  {\"error\": {\"code\": CODE, \"message\": TEXT, \"exit\": N}}";

/// Adds [`EXIT_CODES`] after the help of `cmd` and of every command below it, after
/// the examples a command's own definition gives.
pub fn with_exit_codes(cmd: clap::Command) -> clap::Command {
    let text = match cmd.get_after_help() {
        Some(examples) => format!("{examples}\n\n{EXIT_CODES}"),
        None => EXIT_CODES.to_string(),
    };
    let names: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_string()).collect();
    let mut cmd = cmd.after_help(text);
    for name in names {
        cmd = cmd.mut_subcommand(name, with_exit_codes);
    }
    cmd
}

/// Whether the command that ran asked for JSON: the `--json` or `--jsonl` flag of the
/// deepest subcommand matched.
pub fn json_flag(m: &ArgMatches) -> bool {
    match m.subcommand() {
        Some((_, sub)) => json_flag(sub),
        None => ["json", "jsonl"].iter().any(|id| m.try_get_one::<bool>(id).ok().flatten().copied().unwrap_or(false)),
    }
}

/// Whether a command line that could not be parsed asked for JSON: `--json` or
/// `--jsonl` among its words before a `--`.
pub fn json_word(args: &[OsString]) -> bool {
    args.iter().skip(1).take_while(|a| *a != "--").any(|a| a == "--json" || a == "--jsonl")
}
