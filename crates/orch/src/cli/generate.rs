//! `orch completions SHELL` and `orch man [--dir DIR]`: shell completion scripts
//! (`clap_complete`) and man pages (`clap_mangen`), both generated from the command
//! tree the command line parses with (`orch::cli::command`, handed in by the caller), so
//! they never disagree with it. Neither opens a queue.

use crate::error::{Error, Result};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  orch completions bash > ~/.local/share/bash-completion/completions/orch
  orch completions zsh > ~/.zfunc/_orch       # a folder on $fpath
  orch completions fish | source              # fish, this session")]
pub struct CompletionsArgs {
    /// The shell to write the completion script for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// Writes the completion script of `cmd` (the whole tree) for `a.shell` on stdout.
pub fn completions(a: &CompletionsArgs, mut cmd: clap::Command) -> Result<i32> {
    let mut script = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "orch", &mut script);
    crate::console::print_verbatim(&script);
    Ok(0)
}

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  orch man | man -l -                  # read orch(1)
  orch man --dir ~/.local/share/man/man1  # orch.1, orch-add.1, orch-team-add.1, …")]
pub struct ManArgs {
    /// Write one page per command into DIR (orch.1, orch-add.1, orch-team-add.1, …),
    /// creating DIR if needed, instead of printing orch.1 on stdout.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// Prints the page of `cmd` (orch.1), or writes the page of every command of its tree
/// into `a.dir`, then names each file written.
pub fn man(a: &ManArgs, cmd: clap::Command) -> Result<i32> {
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    let Some(dir) = &a.dir else {
        crate::console::print_verbatim(&page(&cmd)?.1);
        return Ok(0);
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut pages = Vec::new();
    collect(&cmd, &mut pages)?;
    let mut written = Vec::new();
    for (name, text) in &pages {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
        written.push(path);
    }
    // Named once all are written: a reader that stops early stops no write.
    written.iter().for_each(|p| super::output::print(&p.display().to_string()));
    Ok(0)
}

/// The page of `cmd` and of every visible command below it, parents first.
fn collect(cmd: &clap::Command, out: &mut Vec<(String, Vec<u8>)>) -> Result<()> {
    out.push(page(cmd)?);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect(sub, out)?;
    }
    Ok(())
}

/// A command's man page: its file name (`orch-team-add.1`) and its roff text.
fn page(cmd: &clap::Command) -> Result<(String, Vec<u8>)> {
    let man = clap_mangen::Man::new(cmd.clone());
    let mut text = Vec::new();
    man.render(&mut text).map_err(|e| Error::Io(format!("man page of {}: {e}", cmd.get_name())))?;
    Ok((man.get_filename(), text))
}
