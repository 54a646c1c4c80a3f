//! A refused lease token told apart, when another token holds the task's lease: the
//! token of an earlier run of the task (its lease was lost, and another run holds the
//! task now) is a lost lease, "held by another run"; a token of none of the task's runs
//! (mistyped, another task's, a stale variable) is a wrong lease token, which the caller
//! never held.

use crate::error::Error;
use orch_core::state::{Auth, Command, TransitionError};
use orch_core::task::Task;
use orch_store::Tx;

/// The error for `e`, a refusal of `cmd` on `task`: a token refused because another
/// token holds the lease, and of none of the task's runs, is [`Error::WrongToken`]; any
/// other refusal stays as it is.
pub(super) fn refusal(tx: &mut dyn Tx, task: &Task, cmd: &Command, e: TransitionError) -> orch_store::Result<Error> {
    let token = match cmd {
        Command::Heartbeat { auth: Auth::Token(t), .. }
        | Command::Complete { auth: Auth::Token(t), .. }
        | Command::Fail { auth: Auth::Token(t), .. }
        | Command::Interrupt { auth: Auth::Token(t), .. }
        | Command::Block { auth: Auth::Token(t), .. } => t,
        _ => return Ok(e.into()),
    };
    // Only a task whose lease another token holds: one with no lease says why itself
    // (it stopped, or runs outside orch), whatever the token.
    if !matches!(e, TransitionError::LeaseLost { .. }) || task.lease.is_none() {
        return Ok(e.into());
    }
    if tx.run_by_token(token)?.is_some_and(|r| r.task_id == task.id) {
        return Ok(e.into());
    }
    Ok(Error::WrongToken(format!(
        "wrong lease token for {id}: no run of {id} was given this token (its current run holds the lease; \
         check --lease or ORCH_LEASE_TOKEN)",
        id = task.id
    )))
}
