//! The options every command takes (`--home`, `--db`) and the environment read with
//! them (`ORCH_QUEUE_MD`, `ORCH_QUEUE_MD_READ_ONLY`): how a command finds and opens its
//! queue.

use crate::api::{Options, Orch};
use crate::error::{Error, Result};
use crate::home::Home;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Globals {
    /// The .orch folder (default: the nearest .orch/ upward from here).
    #[arg(long, global = true, env = "ORCH_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// The database: a path, sqlite://PATH or postgres://… (default: .orch/orch.db).
    #[arg(long, global = true, env = "ORCH_DB", value_name = "URL")]
    pub db: Option<String>,
}

impl Globals {
    /// The queue these options name, opened.
    pub fn open(&self) -> Result<Orch> {
        let home = Home::find(self.home.as_deref(), &cwd()?)?;
        Orch::open(home, &self.options()?)
    }

    pub fn options(&self) -> Result<Options> {
        Ok(Options {
            db: self.db.clone(),
            queue_md: std::env::var_os("ORCH_QUEUE_MD").filter(|v| !v.is_empty()).map(PathBuf::from),
            queue_md_read_only: flag("ORCH_QUEUE_MD_READ_ONLY", std::env::var_os("ORCH_QUEUE_MD_READ_ONLY"))?,
        })
    }
}

/// A yes/no environment variable: `1`, `true`, `yes` or `0`, `false`, `no`, empty
/// (any case); unset is no. Anything else is refused rather than taken for no.
fn flag(name: &str, value: Option<std::ffi::OsString>) -> Result<bool> {
    let Some(value) = value else { return Ok(false) };
    match value.to_str().map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        Some("1" | "true" | "yes") => Ok(true),
        Some("0" | "false" | "no" | "") => Ok(false),
        _ => Err(Error::Usage(format!(
            "{name}={}: use 1, true or yes (or 0, false, no, or empty for no)",
            value.to_string_lossy()
        ))),
    }
}

pub fn cwd() -> Result<PathBuf> {
    std::env::current_dir().map_err(|e| Error::Io(format!("current folder: {e}")))
}
