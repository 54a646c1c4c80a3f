//! Running the reviewer command: its input file, its process and where its output goes,
//! and reading its verdict back. One way to start it, whoever asks: the dispatcher starts
//! it as a second process of a slot and waits on it like a worker; `orch done` and
//! `orch review` run it to its end under `gate.reviewer_timeout`.
//!
//! Its files live in the run's folder, named after the review: `NAME_input.json` (its
//! stdin), `NAME.log` (its stdout, read up to the run-file size cap) and `NAME.err.log`.
//! The review of a run as it ends is named `review`; a later `orch review` picks a name of
//! its own, so it never overwrites what the run's own review left.

use super::{Verdict, parse_reviewer};
use crate::home::Home;
use crate::runner::{self, Spawned, Spec};
use orch_core::outcome::Exit;
use std::time::Duration;

/// One review of one run's report.
#[derive(Clone, Debug)]
pub struct Job<'a> {
    /// `gate.reviewer`.
    pub argv: &'a [String],
    pub home: &'a Home,
    pub task_id: &'a str,
    pub run_id: &'a str,
    /// Names the review's files (see the module doc).
    pub name: &'a str,
    /// What the reviewer reads on stdin ([`super::reviewer_input`]).
    pub input: String,
}

impl Job<'_> {
    fn spec(&self) -> Result<Spec, String> {
        let dir = self.home.run_dir(self.run_id);
        crate::home::create_private_dir(&dir).map_err(|e| e.to_string())?;
        let input = dir.join(format!("{}_input.json", self.name));
        crate::home::replace_private(&input, &self.input).map_err(|e| e.to_string())?;
        Ok(Spec {
            argv: self.argv.to_vec(),
            env: vec![
                ("ORCH_TASK_ID".into(), self.task_id.to_string()),
                (runner::RUN_ID_VAR.into(), self.run_id.to_string()),
                ("ORCH_HOME".into(), self.home.dir.display().to_string()),
            ],
            cwd: self.home.root().to_path_buf(),
            stdout: dir.join(format!("{}.log", self.name)),
            stderr: dir.join(format!("{}.err.log", self.name)),
            stdin: Some(input),
            max_log_bytes: None,
            inherit: None,
        })
    }

    /// Starts the reviewer; the caller waits for it.
    pub fn start(&self) -> Result<Spawned, String> {
        runner::spawn(&self.spec()?).map_err(|e| e.message)
    }

    /// Runs the reviewer to its end (killed after `timeout`) and reads its verdict.
    pub fn run_to_end(&self, timeout: Duration) -> Result<(Verdict, String), String> {
        let exit = match self.spec() {
            Ok(spec) => runner::run_to_end(&spec, timeout),
            Err(e) => Exit::SpawnFailed(e),
        };
        self.verdict(&exit)
    }

    /// The reviewer's verdict, once its process ended with `exit`.
    pub fn verdict(&self, exit: &Exit) -> Result<(Verdict, String), String> {
        verdict(self.home, self.run_id, self.name, exit)
    }
}

/// The verdict of the review `name` of a run, once its process ended with `exit`.
pub fn verdict(home: &Home, run_id: &str, name: &str, exit: &Exit) -> Result<(Verdict, String), String> {
    parse_reviewer(&home.read_run_file(run_id, &format!("{name}.log")), exit)
}
