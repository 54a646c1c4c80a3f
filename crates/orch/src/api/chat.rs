//! Chat-style operator commands (`!status [ID]`, `!cancel ID reason`, `!replan ID
//! reason`, `!retry ID`, `!add …`, `!help`), for a chat front end to pass a message
//! through. Parsing is `orch_core::chat`; each command runs through the same operation
//! as its own request. The operator's own mistakes (a message not understood, no such
//! task, a refused change) are the answer to the message, with the exit code the
//! command line ends with; anything else is orch's failure, an error.

use super::quick::{QuickAdded, QuickRequest, quick};
use super::read::{StatusRequest, StatusResult, status};
use super::tasks::{CancelRequest, Changed, ReplanRequest, RetryRequest, cancel, replan, retry};
use crate::error::Result;
use crate::ops::Orch;
use crate::ops::json::TaskView;
use orch_core::chat::{self, ChatCommand, HELP};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatRequest {
    /// The message, e.g. `!cancel ORCH-007 user_drop:scope`.
    pub message: String,
}

/// The answer to a message.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum ChatAnswer {
    /// Not carried out: the reason, and for a message not understood the commands.
    Refused {
        command: Option<&'static str>,
        error: String,
        help: Option<&'static str>,
        /// The exit code: 2 not understood or bad input, 4 not found, 5 refused.
        #[serde(skip)]
        exit: i32,
    },
    Help {
        command: &'static str,
        help: &'static str,
    },
    /// `!status`: `json` when the message asked for JSON (`!status ID json`).
    Status {
        #[serde(flatten)]
        status: StatusResult,
        #[serde(skip)]
        json: bool,
    },
    /// `!cancel`, `!replan`, `!retry`; `what` is `cancelled`, `replanned`, `retried`.
    Changed {
        command: &'static str,
        task: TaskView,
        #[serde(skip)]
        what: &'static str,
        #[serde(skip)]
        warnings: Vec<String>,
    },
    Added(QuickAdded),
}

pub fn chat(orch: &Orch, req: ChatRequest) -> Result<ChatAnswer> {
    let cmd = match chat::parse(&req.message) {
        Ok(cmd) => cmd,
        Err(e) => return Ok(ChatAnswer::Refused { command: None, error: e.to_string(), help: Some(HELP), exit: 2 }),
    };
    match execute(orch, &cmd) {
        Err(e) if matches!(e.exit_code(), 2 | 4 | 5) => {
            Ok(ChatAnswer::Refused { command: None, error: e.to_string(), help: None, exit: e.exit_code() })
        }
        other => other,
    }
}

fn execute(orch: &Orch, cmd: &ChatCommand) -> Result<ChatAnswer> {
    let changed =
        |what, c: Changed| ChatAnswer::Changed { command: cmd.name(), task: c.task, what, warnings: c.warnings };
    Ok(match cmd {
        ChatCommand::Help => ChatAnswer::Help { command: "help", help: HELP },
        ChatCommand::Status { id, json } => {
            ChatAnswer::Status { status: status(orch, StatusRequest { id: id.clone() })?, json: *json }
        }
        ChatCommand::Cancel { id, reason } => {
            changed("cancelled", cancel(orch, CancelRequest { id: id.clone(), reason: reason.clone() })?)
        }
        ChatCommand::Replan { id, reason } => {
            let req = ReplanRequest { id: id.clone(), reason: reason.clone(), ..ReplanRequest::default() };
            changed("replanned", replan(orch, req)?)
        }
        ChatCommand::Retry { id } => changed("retried", retry(orch, RetryRequest { id: id.clone() })?),
        ChatCommand::Add { text } => {
            ChatAnswer::Added(quick(orch, QuickRequest { text: text.clone(), dry_run: false, idempotency_key: None })?)
        }
    })
}
