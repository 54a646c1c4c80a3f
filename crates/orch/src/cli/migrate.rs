//! `orch migrate --from URL --to URL`: move a queue with its whole history into another
//! database, e.g. from the embedded SQLite file to a PostgreSQL server that several
//! machines share. The copying is `orch_store::migrate`; this only opens the two stores.

use super::globals::{Globals, cwd};
use super::output::{print, print_json};
use crate::error::{Error, Result};
use crate::home::Home;

#[derive(clap::Args, Debug)]
pub struct MigrateArgs {
    /// The database to copy from (default: this queue's: --db, or .orch/orch.db).
    #[arg(long, value_name = "URL")]
    from: Option<String>,
    /// The database to copy into (a path, sqlite://PATH or postgres://…); it must hold
    /// no tasks and no events yet.
    #[arg(long, value_name = "URL")]
    to: String,
    /// Print the counts copied as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(cli: &Globals, args: &MigrateArgs) -> Result<i32> {
    let from_url = match (&args.from, &cli.db) {
        (Some(u), _) | (None, Some(u)) => u.clone(),
        (None, None) => Home::find(cli.home.as_deref(), &cwd()?)?.db_path().display().to_string(),
    };
    if from_url == args.to {
        return Err(Error::Usage("--from and --to name the same database".into()));
    }
    let from = orch_store::open(&from_url)?;
    // The target may be new: a SQLite file is created, a PostgreSQL schema set up.
    let to = orch_store::create(&args.to)?;
    let summary = orch_store::migrate::migrate(from.as_ref(), to.as_ref())?;
    if args.json {
        print_json(&serde_json::to_value(&summary).expect("a summary serialises"));
    } else {
        print(&format!(
            "orch: copied {} tasks, {} runs, {} events, {} idempotency keys, {} meta entries, {} schedules and {} dispatcher records from {} to {}",
            summary.tasks,
            summary.runs,
            summary.events,
            summary.idempotency_keys,
            summary.meta,
            summary.schedules,
            summary.dispatchers,
            summary.from,
            summary.to
        ));
    }
    Ok(0)
}
