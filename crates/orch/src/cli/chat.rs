//! `orch chat 'TEXT'`: the seed's chat-style operator commands, for a chat front end to
//! pass a message through: `!status [ID]`, `!cancel ID reason`, `!replan ID reason`,
//! `!retry ID`, `!add …` (quick-add syntax), `!help`. Parsing is `orch_core::chat`; each
//! command runs through the same operations as its own subcommand. Every answer is on
//! stdout, which a chat front end relays: a message not understood is answered with the
//! reason and the list of commands (exit 2); one that names no such task or asks for a
//! refused change, with the reason (exit 4 or 5).

use super::output::{print, print_json};
use super::warn_all;
use crate::error::Result;
use crate::ops::Orch;
use crate::ops::json::task_json;
use orch_core::chat::{self, ChatCommand, HELP};
use orch_core::state::{Command, Replan};
use orch_core::task::Task;

#[derive(clap::Args, Debug)]
pub struct ChatArgs {
    /// The message, e.g. '!cancel ORCH-007 user_drop:scope' (quote it).
    #[arg(required = true, num_args = 1.., allow_hyphen_values = true)]
    message: Vec<String>,
    #[arg(long)]
    json: bool,
}

pub fn run(orch: &Orch, a: &ChatArgs) -> Result<i32> {
    let cmd = match chat::parse(&a.message.join(" ")) {
        Ok(cmd) => cmd,
        Err(e) => return Ok(answer_error(a.json, &e.to_string(), true, 2)),
    };
    match execute(orch, a, &cmd) {
        // The operator's own mistakes (bad input, no such task, a refused transition)
        // are the answer to the message; anything else is orch's failure, on stderr.
        Err(e) if matches!(e.exit_code(), 2 | 4 | 5) => Ok(answer_error(a.json, &e.to_string(), false, e.exit_code())),
        other => other,
    }
}

/// Answers a message that could not be carried out, on stdout (what a chat front end
/// relays): the reason and, for a message not understood, the list of commands.
fn answer_error(json: bool, error: &str, with_help: bool, code: i32) -> i32 {
    if json {
        let help = if with_help { serde_json::Value::from(HELP) } else { serde_json::Value::Null };
        print_json(&serde_json::json!({"command": null, "error": error, "help": help}));
    } else if with_help {
        print(&format!("{error}\n{HELP}"));
    } else {
        print(error);
    }
    code
}

fn execute(orch: &Orch, a: &ChatArgs, cmd: &ChatCommand) -> Result<i32> {
    let changed = |what: &str, (task, warnings): (Task, Vec<String>)| {
        warn_all(&warnings);
        if a.json {
            print_json(&serde_json::json!({"command": cmd.name(), "task": task_json(&task)}));
        } else {
            print(&format!("{} {what}: now {}", task.id, task.status));
        }
        Ok(0)
    };
    match cmd {
        ChatCommand::Help => {
            if a.json {
                print_json(&serde_json::json!({"command": "help", "help": HELP}));
            } else {
                print(HELP);
            }
            Ok(0)
        }
        ChatCommand::Status { id, json } => super::read::status_of(orch, id.as_deref(), a.json || *json),
        ChatCommand::Cancel { id, reason } => {
            changed("cancelled", orch.apply(id, &Command::Cancel { reason: reason.clone() })?)
        }
        ChatCommand::Replan { id, reason } => {
            let r = Replan { reason: reason.clone(), ..Replan::default() };
            changed("replanned", orch.apply(id, &Command::Replan(r))?)
        }
        ChatCommand::Retry { id } => changed("retried", orch.apply(id, &Command::Retry)?),
        ChatCommand::Add { text } => super::quick::add_line(orch, text, false, a.json),
    }
}
