//! `orch chat 'TEXT'`: the seed's chat-style operator commands, for a chat front end to
//! pass a message through: `!status [ID]`, `!cancel ID reason`, `!replan ID reason`,
//! `!retry ID`, `!add …` (quick-add syntax), `!help`. Parsing is `orch_core::chat`; each
//! command runs through the same operations as its own subcommand. Every answer is on
//! stdout, which a chat front end relays: a message not understood is answered with the
//! reason and the list of commands (exit 2); one that names no such task or asks for a
//! refused change, with the reason (exit 4 or 5).

use super::output::warn_all;
use super::output::{print, print_value};
use crate::api::{self, ChatAnswer, Orch};
use crate::error::Result;

#[derive(clap::Args, Debug)]
pub struct ChatArgs {
    /// The message, e.g. '!cancel ORCH-007 user_drop:scope' (quote it).
    #[arg(required = true, num_args = 1.., allow_hyphen_values = true)]
    message: Vec<String>,
    /// Print the answer as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(orch: &Orch, a: &ChatArgs) -> Result<i32> {
    let answer = api::chat(orch, api::ChatRequest { message: a.message.join(" ") })?;
    match &answer {
        ChatAnswer::Refused { error, help, exit, .. } => {
            if a.json {
                print_value(&answer)?;
            } else if let Some(help) = help {
                print(&format!("{error}\n{help}"));
            } else {
                print(error);
            }
            Ok(*exit)
        }
        ChatAnswer::Help { help, .. } => {
            if a.json {
                print_value(&answer)?;
            } else {
                print(help);
            }
            Ok(0)
        }
        ChatAnswer::Status { status, json } => super::read::print_status(orch, status, a.json || *json),
        ChatAnswer::Changed { task, what, warnings, .. } => {
            warn_all(warnings);
            if a.json {
                print_value(&answer)?;
            } else {
                print(&format!("{} {what}: now {}", task.id, task.status));
            }
            Ok(0)
        }
        ChatAnswer::Added(q) => super::quick::print_added(q, a.json),
    }
}
