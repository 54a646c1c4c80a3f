//! `orch init`: create `.orch/` with its config, prompt template and database, and import
//! QUEUE.md when one is there. A bad QUEUE.md is refused before anything is created.

use super::output::print;
use super::{Cli, cwd, options, warn_all};
use crate::config::{Config, DEFAULT_TOML};
use crate::error::{Error, Result};
use crate::home::{Home, write_private};
use crate::ops::Orch;
use orch_core::queue_md::parse;
use orch_core::task_row::read_rows;

/// The prompt template `init` writes to `.orch/prompt.md`.
/// `{notes}` carries what earlier attempts, the gate and operators noted (a retry's
/// reason); `{deps}` the reports of the tasks this one depends on (a team lead's workers).
pub const DEFAULT_PROMPT: &str = "You are working on task {id} of an orch queue (attempt {attempt}).\n\n\
Task: {task}\n\nSuccess criteria: {criteria}\n\n\
Notes so far (earlier attempts, the reviewer, operators; `-` if none): {notes}\n\n\
Reports of the tasks this one depends on (use them; `-` if none):\n{deps}\n\n\
Answer with a compact report: at most 8 bullets, then a `Risks:` section.\n";

#[derive(clap::Args, Debug)]
pub struct InitArgs {}

pub fn run(cli: &Cli, _args: &InitArgs) -> Result<i32> {
    let home = Home::for_init(cli.home.as_deref(), &cwd()?);
    let opts = options(cli);
    if home.config_path().exists() {
        print(&format!("orch: {} is set up already; nothing changed", home.dir.display()));
        return Ok(0);
    }
    // Refuse a bad QUEUE.md before creating anything.
    let config = Config::default();
    let queue_file = opts.queue_md.clone().unwrap_or_else(|| home.root().join(&config.queue.file));
    let existing = crate::sync::read_optional(&queue_file)?;
    if let Some(text) = &existing {
        let shown = queue_file.display().to_string();
        let doc = parse(text).map_err(|diags| Error::Input { file: shown.clone(), diags })?;
        read_rows(&doc, &config.time_zone()).map_err(|diags| Error::Input { file: shown, diags })?;
    }
    home.create()?;
    write_private(&home.config_path(), DEFAULT_TOML)?;
    write_private(&home.dir.join(&config.worker.prompt_file), DEFAULT_PROMPT)?;
    let runs = home.runs_dir();
    crate::home::create_private_dir(&runs)?;
    let orch = Orch::open(home, &opts)?;
    print(&format!("orch: created {} ({})", orch.home.dir.display(), orch.db.describe()));
    if existing.is_some() && !orch.queue_read_only {
        let (summary, warnings) = crate::sync::import(&orch, Some(&queue_file), false)?;
        warn_all(&warnings);
        print(&format!("orch: imported {} tasks from {}", summary.added.len(), queue_file.display()));
    } else {
        warn_all(&orch.after_change());
    }
    Ok(0)
}
