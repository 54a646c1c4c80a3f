//! `orch init [--prefix ID] [--timezone ZONE]`: create `.orch/` with its config (the
//! prefix and zone given, checked first), prompt template and database, and import
//! QUEUE.md when one is there. A bad QUEUE.md is refused before anything is created; so
//! is any QUEUE.md when the view is read-only output (`ORCH_QUEUE_MD_READ_ONLY`), which
//! init would otherwise have to write over. `init` is the one command that creates a
//! SQLite database.

use super::globals::{Globals, cwd};
use super::output::print;
use super::output::warn_all;
use crate::config::{Config, DEFAULT_TOML};
use crate::error::{Error, Result};
use crate::home::{Home, write_private};
use crate::ops::Orch;
use orch_core::task_row::read_file;

/// The prompt template `init` writes to `.orch/prompt.md`.
/// `{notes}` carries what earlier attempts, the gate and operators noted (a retry's
/// reason); `{deps}` the reports of the tasks this one depends on (a team lead's workers).
/// `{last_attempt}` how the last attempt ended, with its report (bounded).
pub const DEFAULT_PROMPT: &str = "You are working on task {id} of an orch queue (attempt {attempt}).\n\n\
Task: {task}\n\nSuccess criteria: {criteria}\n\n\
Notes so far (earlier attempts, the reviewer, operators; `-` if none): {notes}\n\n\
Reports of the tasks this one depends on (use them; `-` if none):\n{deps}\n\n\
How the last attempt of this task ended, with its report (`-` if this is the first):\n{last_attempt}\n\n\
Answer with a compact report: at most 8 bullets, then a `Risks:` section.\n";

#[derive(clap::Args, Debug)]
pub struct InitArgs {
    /// The id prefix of new tasks (`queue.prefix`, default ORCH): a letter, then letters,
    /// digits or `_`.
    #[arg(long, value_name = "ID")]
    prefix: Option<String>,
    /// The display time zone, an IANA name (`queue.timezone`, default Asia/Seoul).
    #[arg(long, value_name = "ZONE")]
    timezone: Option<String>,
}

/// The config `init` writes: the defaults, with the prefix and zone asked for (each
/// checked first, so a bad one creates nothing).
fn chosen_config(args: &InitArgs) -> Result<(Config, String)> {
    let mut config = Config::default();
    let mut toml = DEFAULT_TOML.to_string();
    if let Some(prefix) = &args.prefix {
        if !orch_core::id::is_valid_prefix(prefix) {
            return Err(Error::Usage(format!(
                "--prefix `{prefix}` is not a valid id prefix (a letter, then letters, digits or _)"
            )));
        }
        toml = toml.replacen("prefix = \"ORCH\"", &format!("prefix = \"{prefix}\""), 1);
        config.queue.prefix = prefix.clone();
    }
    if let Some(zone) = &args.timezone {
        if crate::config::zone(zone).is_none() {
            return Err(Error::Usage(format!(
                "--timezone `{zone}` is not a time zone this system knows (an IANA name such as Asia/Seoul, \
                 Europe/Berlin, UTC)"
            )));
        }
        toml = toml.replacen("timezone = \"Asia/Seoul\"", &format!("timezone = {}", toml_string(zone)), 1);
        config.queue.timezone = zone.clone();
    }
    Ok((config, toml))
}

/// `s` as a TOML basic string (a zone name holds no quote or backslash, but stay safe).
fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

pub fn run(cli: &Globals, args: &InitArgs) -> Result<i32> {
    let home = Home::for_init(cli.home.as_deref(), &cwd()?);
    let opts = cli.options()?;
    let (config, toml) = chosen_config(args)?;
    if home.config_path().exists() {
        if args.prefix.is_some() || args.timezone.is_some() {
            crate::console::eprint(&format!(
                "orch: {} is set up already: --prefix and --timezone change nothing (edit queue.prefix and \
                 queue.timezone in {})",
                home.dir.display(),
                home.config_path().display()
            ));
        }
        if opts.db.is_none() && !home.db_path().exists() {
            let orch = Orch::create(home, &opts)?;
            print(&format!("orch: {} had no database; created {}", orch.home().dir.display(), orch.db().describe()));
            return Ok(0);
        }
        print(&format!("orch: {} is set up already; nothing changed", home.dir.display()));
        return Ok(0);
    }
    // Refuse a bad QUEUE.md before creating anything.
    let queue_file = opts.queue_md.clone().unwrap_or_else(|| home.root().join(&config.queue.file));
    let existing = crate::sync::read_optional(&queue_file)?;
    if let Some(text) = &existing {
        let shown = queue_file.display().to_string();
        read_file(text, &config.time_zone()).map_err(|diags| Error::Input { file: shown.clone(), diags })?;
        if opts.queue_md_read_only {
            // The view would be written over the file: its tasks would be lost.
            return Err(Error::Usage(format!(
                "{shown} holds a queue, and ORCH_QUEUE_MD_READ_ONLY makes it output only, so init would write \
                 over it; run `orch init` without ORCH_QUEUE_MD_READ_ONLY to import it first, or move it aside"
            )));
        }
    }
    home.create()?;
    write_private(&home.config_path(), &toml)?;
    write_private(&home.dir.join(&config.worker.prompt_file), DEFAULT_PROMPT)?;
    let runs = home.runs_dir();
    crate::home::create_private_dir(&runs)?;
    let orch = Orch::create(home, &opts)?;
    print(&format!("orch: created {} ({})", orch.home().dir.display(), orch.db().describe()));
    if config.queue.timezone != Config::default().queue.timezone {
        print(&format!(
            "orch: times are shown in {}; QUEUE.md's time columns keep their names `started_at_kst` and \
             `due_at_kst` (they are the file format), and their times are in {}",
            config.queue.timezone, config.queue.timezone
        ));
    }
    if existing.is_some() {
        let (summary, warnings) = orch.import(Some(&queue_file), false)?;
        warn_all(&warnings);
        print(&format!("orch: imported {} tasks from {}", summary.added.len(), queue_file.display()));
    } else {
        warn_all(&orch.after_change());
    }
    Ok(0)
}
