//! `orch chat 'TEXT'`: the seed's chat-style operator commands, for a chat front end to
//! pass a message through: `!status [ID]`, `!cancel ID reason`, `!replan ID reason`,
//! `!retry ID`, `!add …` (quick-add syntax), `!help`. Parsing is `orch_core::chat`; each
//! command runs through the same operations as its own subcommand. Anything not
//! understood is answered with the list of commands (exit 2).

use super::output::{print, print_json};
use super::warn_all;
use crate::error::{Error, Result};
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
    let cmd = chat::parse(&a.message.join(" ")).map_err(|e| Error::Usage(format!("{e}\n{HELP}")))?;
    let changed = |what: &str, (task, warnings): (Task, Vec<String>)| {
        warn_all(&warnings);
        if a.json {
            print_json(&serde_json::json!({"command": cmd.name(), "task": task_json(&task)}));
        } else {
            print(&format!("{} {what}: now {}", task.id, task.status));
        }
        Ok(0)
    };
    match &cmd {
        ChatCommand::Help => {
            if a.json {
                print_json(&serde_json::json!({"command": "help", "help": HELP}));
            } else {
                print(HELP);
            }
            Ok(0)
        }
        ChatCommand::Status { id } => super::read::status_of(orch, id.as_deref(), a.json),
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
