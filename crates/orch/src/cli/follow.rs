//! `orch follow ID`: the output of a task's run as it is written (the run folder's
//! `stdout.log`, `stderr.log` with `--stderr`, both labelled with `--both`), each line
//! masked and its control characters escaped; ends when the run does, with the run's
//! outcome as the exit code.

use super::output::print;
use crate::api::{self, Orch};
use crate::console::eprint;
use crate::error::Result;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct FollowArgs {
    /// The task: its id (ORCH-005, orch-005) or its number alone (5).
    #[arg(value_parser = super::limits::task_id)]
    id: String,
    /// Follow the run's stderr (stderr.log) instead of its stdout.
    #[arg(long, conflicts_with = "both")]
    stderr: bool,
    /// Follow both, each line prefixed `out| ` or `err| `.
    #[arg(long)]
    both: bool,
}

/// How often the files' sizes and the run's end are looked at.
const TICK: Duration = Duration::from_millis(100);

/// One file followed: its name, the label its lines get, where its next read starts.
struct Followed {
    name: &'static str,
    label: &'static str,
    offset: u64,
}

pub fn follow(orch: &Orch, a: &FollowArgs) -> Result<i32> {
    let mut files = match (a.stderr, a.both) {
        (_, true) => vec![
            Followed { name: "stdout.log", label: "out| ", offset: 0 },
            Followed { name: "stderr.log", label: "err| ", offset: 0 },
        ],
        (true, false) => vec![Followed { name: "stderr.log", label: "", offset: 0 }],
        (false, false) => vec![Followed { name: "stdout.log", label: "", offset: 0 }],
    };
    let mut waiting_said = false;
    let (task, run_id) = loop {
        let f = api::followed_run(orch, &a.id)?;
        if let Some(run_id) = f.run_id {
            break (f.task_id, run_id);
        }
        if !waiting_said {
            eprint(&format!("orch: {} has no run yet; waiting for one", f.task_id));
            waiting_said = true;
        }
        std::thread::sleep(TICK);
    };
    loop {
        // The end is looked at before the files are read, so what the run wrote before
        // it ended is read in full on the last round.
        let end = api::run_end(orch, &task, &run_id)?;
        for f in &mut files {
            // A read takes at most a piece of the file: after the end, read to its end.
            loop {
                let gained = api::run_file_since(orch, &run_id, f.name, f.offset, end.is_some())?;
                let moved = gained.next != f.offset;
                f.offset = gained.next;
                gained.lines.iter().for_each(|l| print(&format!("{}{l}", f.label)));
                if end.is_none() || !moved {
                    break;
                }
            }
        }
        if let Some(end) = end {
            return Ok(end.exit_code());
        }
        std::thread::sleep(TICK);
    }
}
