//! A run the gate passed lands its branch before its task is DONE, when
//! `workspace.land = "auto"` (docs/WORKSPACES.md): `orch land ID --run RUN` runs as the
//! slot's next process, under the same lease, heartbeats and a deadline of the check's
//! own plus a margin, so the loop never waits on git or on the check. Its end is read
//! from the run's `land.*` event: landed, the run ends as the gate said; a conflict or a
//! failed check (or a landing that ended without saying) is a transient failure, retried
//! on the new base.

use super::state::{Dispatcher, Ended, Landing, Phase, Slot};
use crate::config::Land;
use crate::ops::Outcome;
use crate::runner::{self, Spec};
use orch_core::outcome::Exit;
use orch_core::policy::FailureClass;
use std::time::{Duration, Instant};

/// Time a landing is given besides `workspace.check_timeout` (the rebase, git, the store).
const MARGIN: Duration = Duration::from_secs(120);

impl Dispatcher<'_> {
    /// Whether a run that ends with `outcome` lands first.
    pub(super) fn lands(&self, s: &Slot, outcome: &Outcome) -> bool {
        self.workspaces.as_ref().is_some_and(|w| w.land == Land::Auto)
            && matches!(outcome, Outcome::Done { .. })
            && !matches!(s.phase, Phase::Land(_))
    }

    /// Starts the landing of `s`'s branch as the slot's next process; one that cannot
    /// start is a transient failure of the run.
    pub(super) fn start_land(&mut self, mut s: Slot, landing: Landing) {
        let home = self.orch.home().dir.display().to_string();
        let mut env = vec![("ORCH_HOME".to_string(), home)];
        if self.orch.db_url() != self.orch.home().db_path().display().to_string() {
            env.push(("ORCH_DB".into(), self.orch.db_url().to_string()));
        }
        let dir = self.orch.home().run_dir(&s.run_id);
        let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "orch".into());
        let spec = Spec {
            argv: vec![exe, "land".into(), s.task_id.clone(), "--run".into(), s.run_id.clone()],
            env,
            cwd: self.orch.home().root().to_path_buf(),
            stdout: dir.join("land.log"),
            stderr: dir.join("land.err.log"),
            stdin: None,
            inherit: None,
            max_log_bytes: Some(self.orch.config().worker.max_log_bytes),
        };
        match runner::spawn(&spec) {
            Ok(spawned) => {
                s.group = self.watch(spawned.child, &s.run_id);
                let check = self.orch.config().workspace.check_timeout.unsigned_abs();
                s.deadline = Instant::now() + check + MARGIN;
                s.phase = Phase::Land(Box::new(landing));
                self.slots.insert(s.run_id.clone(), s);
            }
            Err(e) => {
                let reason = format!("land_failed: the landing could not start: {e}");
                self.ended.push(ended(s, Exit::SpawnFailed(e.message), landing, reason));
            }
        }
    }

    /// The landing of `s` ended with `exit`: the run's outcome, from its `land.*` event.
    pub(super) fn after_land(&self, s: &Slot, exit: &Exit, l: &Landing) -> crate::error::Result<Outcome> {
        Ok(match crate::workspace::land::result_of(self.orch, &s.run_id)? {
            Some(("landed", _)) => l.outcome.clone(),
            Some((_, msg)) => fail(msg),
            None => fail(format!("land_failed: the landing ended ({exit:?}) without a result; see land.err.log")),
        })
    }
}

fn fail(reason: String) -> Outcome {
    Outcome::Fail { class: FailureClass::Transient, reason }
}

/// The end of a run whose landing could not start.
fn ended(s: Slot, exit: Exit, l: Landing, reason: String) -> Ended {
    Ended {
        took: s.started.elapsed(),
        task_id: s.task_id,
        run_id: s.run_id,
        token: s.token,
        exit,
        outcome: fail(reason),
        report: l.report,
        judged: l.judged,
        usage: l.usage,
    }
}
