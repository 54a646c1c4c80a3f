//! The seed's chat-style operator commands (`!status`, `!cancel ID why`, `!replan ID why`,
//! `!retry ID`, `!add …`), parsed for a chat front end that passes a message through
//! `orch chat`. Parsing only: the caller executes the command through the operations and
//! parses `!add`'s text with [`crate::quick`] (which needs the clock and the time zone).

use crate::id::{IdError, check_id};

/// One command from a chat message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChatCommand {
    /// The queue's counts, or one task (a team as a tree); `json` when the message
    /// asked for JSON (`!status --json`).
    Status {
        id: Option<String>,
        json: bool,
    },
    Cancel {
        id: String,
        reason: Option<String>,
    },
    Replan {
        id: String,
        reason: String,
    },
    Retry {
        id: String,
    },
    /// A quick-add line (`p0 due:내일 18:00 criteria:"…" #resource text`).
    Add {
        text: String,
    },
    Help,
}

impl ChatCommand {
    pub fn name(&self) -> &'static str {
        match self {
            ChatCommand::Status { .. } => "status",
            ChatCommand::Cancel { .. } => "cancel",
            ChatCommand::Replan { .. } => "replan",
            ChatCommand::Retry { .. } => "retry",
            ChatCommand::Add { .. } => "add",
            ChatCommand::Help => "help",
        }
    }
}

/// What the commands are; the answer to `!help` and to anything not understood.
pub const HELP: &str = "\
commands:
  !status [ID] [--json]  the queue's counts, or one task (a team as a tree)
  !cancel ID [reason]    stop a task (BLOCKED, cancelled_by_operator)
  !replan ID reason      record a change of plan (note replan:reason)
  !retry ID              put a FAILED or BLOCKED task back to PENDING
  !add TEXT              add a task: p0|p1|p2 due:내일 18:00 due:+3h criteria:\"…\" #resource
  !help                  this list";

/// A message that is not a command; the caller shows [`HELP`] beside it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ChatError(pub String);

/// Parses one chat message.
pub fn parse(message: &str) -> Result<ChatCommand, ChatError> {
    let text = message.trim();
    let Some(body) = text.strip_prefix('!').or_else(|| text.strip_prefix('！')) else {
        return Err(ChatError(format!("`{}` is not a command (commands start with !)", clip(text))));
    };
    let (name, rest) = match body.find(char::is_whitespace) {
        Some(at) => (&body[..at], body[at..].trim()),
        None => (body, ""),
    };
    let (id, after_id) = match rest.find(char::is_whitespace) {
        Some(at) => (&rest[..at], rest[at..].trim()),
        None => (rest, ""),
    };
    let reason = (!after_id.is_empty()).then(|| after_id.to_string());
    let cmd = name.to_lowercase();
    match cmd.as_str() {
        "status" => status(rest),
        "cancel" => Ok(ChatCommand::Cancel { id: task_id(id, "cancel")?, reason }),
        "replan" => {
            let id = task_id(id, "replan")?;
            let reason = reason.ok_or_else(|| ChatError(format!("!replan {id} needs a reason: !replan {id} why")))?;
            Ok(ChatCommand::Replan { id, reason })
        }
        "retry" => match after_id {
            "" => Ok(ChatCommand::Retry { id: task_id(id, "retry")? }),
            _ => Err(ChatError("!retry takes one task id and nothing else".into())),
        },
        "add" if rest.is_empty() => Err(ChatError("!add needs the task: !add p1 text due:내일 18:00".into())),
        "add" => Ok(ChatCommand::Add { text: rest.to_string() }),
        "help" | "?" => Ok(ChatCommand::Help),
        "" => Err(ChatError("`!` alone is not a command".into())),
        _ => Err(ChatError(format!("unknown command `!{}`", clip(name)))),
    }
}

/// `!status [ID] [--json]`: the option may come before or after the id.
fn status(rest: &str) -> Result<ChatCommand, ChatError> {
    let mut json = false;
    let mut words = Vec::new();
    for w in rest.split_whitespace() {
        match w {
            "--json" => json = true,
            w if w.starts_with("--") => {
                return Err(ChatError(format!("!status: unknown option `{}` (there is --json)", clip(w))));
            }
            w => words.push(w),
        }
    }
    match words.as_slice() {
        [] => Ok(ChatCommand::Status { id: None, json }),
        [id] => Ok(ChatCommand::Status { id: Some(task_id(id, "status")?), json }),
        _ => Err(ChatError("!status takes at most one task id".into())),
    }
}

/// A task id as given (`ORCH-007`, or its number alone, `7`, which the operation
/// looks up under the queue's prefix); anything else is refused naming the command.
fn task_id(word: &str, command: &str) -> Result<String, ChatError> {
    if word.is_empty() {
        return Err(ChatError(format!("!{command} needs a task id, like !{command} ORCH-007")));
    }
    let bare = word.bytes().all(|b| b.is_ascii_digit());
    let checked = if bare { format!("X-{word}") } else { word.to_string() };
    match check_id(&checked) {
        Ok(_) => {}
        Err(IdError::Shape) => {
            return Err(ChatError(format!("!{command}: `{}` is not a task id (like ORCH-007)", clip(word))));
        }
        Err(e) => return Err(ChatError(format!("!{command}: bad id `{}`: {e}", clip(word)))),
    }
    Ok(word.to_string())
}

/// A message cut short for an error.
fn clip(s: &str) -> String {
    if s.chars().count() <= 40 { s.to_string() } else { s.chars().take(39).chain(['…']).collect() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn commands_parse() {
        let id = || "ORCH-007".to_string();
        let cases = [
            ("!status", ChatCommand::Status { id: None, json: false }),
            ("  !STATUS  ", ChatCommand::Status { id: None, json: false }),
            ("!status ORCH-007", ChatCommand::Status { id: some("ORCH-007"), json: false }),
            ("!status --json", ChatCommand::Status { id: None, json: true }),
            ("!status --json ORCH-007", ChatCommand::Status { id: some("ORCH-007"), json: true }),
            ("!status ORCH-007 --json", ChatCommand::Status { id: some("ORCH-007"), json: true }),
            ("!cancel ORCH-007", ChatCommand::Cancel { id: id(), reason: None }),
            ("!cancel ORCH-007 user_drop:scope", ChatCommand::Cancel { id: id(), reason: some("user_drop:scope") }),
            (
                "!replan ORCH-007 사용자 포커스 변경(72h 고도화 우선)",
                ChatCommand::Replan { id: id(), reason: "사용자 포커스 변경(72h 고도화 우선)".into() },
            ),
            ("!retry ORCH-007", ChatCommand::Retry { id: id() }),
            ("!retry 7", ChatCommand::Retry { id: "7".into() }),
            ("！retry ORCH-007", ChatCommand::Retry { id: id() }),
            ("!add p0 보고서 due:내일 18:00", ChatCommand::Add { text: "p0 보고서 due:내일 18:00".into() }),
            ("!help", ChatCommand::Help),
            ("!?", ChatCommand::Help),
        ];
        for (msg, want) in cases {
            assert_eq!(parse(msg), Ok(want), "{msg}");
        }
    }

    #[test]
    fn what_is_not_understood_is_named() {
        let cases = [
            ("status", "not a command"),
            ("!", "alone"),
            ("!deploy now", "unknown command `!deploy`"),
            ("!cancel", "needs a task id"),
            ("!cancel everything", "`everything` is not a task id"),
            ("!replan ORCH-007", "needs a reason"),
            ("!retry ORCH-007 now", "one task id"),
            ("!status ORCH-007 ORCH-008", "at most one"),
            ("!status --verbose", "unknown option `--verbose`"),
            ("!retry --json", "`--json` is not a task id"),
            ("!retry 1000000000000", "bad id `1000000000000`"),
            ("!add   ", "needs the task"),
        ];
        for (msg, want) in cases {
            let e = parse(msg).unwrap_err();
            assert!(e.0.contains(want), "{msg}: {e}");
        }
        assert!(HELP.contains("!status") && HELP.contains("!add"));
    }
}
