//! `orch service install`: the dispatcher as a systemd service. Writes a unit that runs
//! `orch --home HOME run` for this queue (absolute paths) and restarts it on failure,
//! then says how to enable it; it never calls systemctl itself. `--user` writes a user
//! unit (`~/.config/systemd/user`), else a system one (`/etc/systemd/system`, with
//! `User=` the user who asked); `--dry-run` prints the unit and writes nothing.

use super::globals::Globals;
use super::output::print;
use crate::api::{self, Orch};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct ServiceArgs {
    #[command(subcommand)]
    command: ServiceCommand,
}

#[derive(clap::Subcommand, Debug)]
enum ServiceCommand {
    /// Write a systemd unit that runs `orch run` for this queue; print how to enable it.
    #[command(after_help = "Examples:
  orch service install --user
  orch service install --user --name orch-docs --workers 2
  orch service install --dry-run      # print the unit, write nothing")]
    Install(InstallArgs),
}

#[derive(clap::Args, Debug)]
pub struct InstallArgs {
    /// A user unit (~/.config/systemd/user) instead of a system one (/etc/systemd/system).
    #[arg(long)]
    user: bool,
    /// Print the unit and where it would go; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// The unit's name without `.service` (default: orch- and the queue folder's name).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// The folder to write the unit in, instead of systemd's.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Workers for `orch run` (default: dispatcher.workers of orch.toml).
    #[arg(long, short = 'w', value_name = "N")]
    workers: Option<usize>,
}

pub fn run(orch: &Orch, globals: &Globals, a: &ServiceArgs) -> Result<i32> {
    match &a.command {
        ServiceCommand::Install(i) => install(orch, globals, i),
    }
}

fn install(orch: &Orch, globals: &Globals, a: &InstallArgs) -> Result<i32> {
    let bin = std::env::current_exe().map_err(|e| Error::Io(format!("the path of orch: {e}")))?;
    let home = std::path::absolute(api::home_dir(orch)).map_err(|e| Error::Io(format!("the queue's folder: {e}")))?;
    let root = home.parent().unwrap_or(&home).to_path_buf();
    let name = match &a.name {
        Some(n) => n.trim_end_matches(".service").to_string(),
        None => format!("orch-{}", root.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default()),
    };
    let name = unit_name(&name)?;
    let user = if a.user { None } else { std::env::var("SUDO_USER").or_else(|_| std::env::var("USER")).ok() };
    let spec = Unit {
        bin: &bin,
        home: &home,
        root: &root,
        db: globals.db.as_deref(),
        workers: a.workers,
        user: user.as_deref().filter(|u| !u.is_empty() && *u != "root"),
        user_unit: a.user,
    };
    let text = unit_text(&spec);
    let dir = match &a.dir {
        Some(d) => d.clone(),
        None => unit_dir(a.user)?,
    };
    let path = dir.join(format!("{name}.service"));
    if a.dry_run {
        print(&format!("# {}", path.display()));
        text.lines().for_each(print);
        return Ok(0);
    }
    std::fs::create_dir_all(&dir).map_err(|e| Error::Io(format!("{}: {e}", dir.display())))?;
    let tmp = dir.join(format!(".{name}.service.tmp"));
    std::fs::write(&tmp, &text).map_err(|e| Error::Io(format!("{}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
    print(&format!("wrote {}", path.display()));
    let ctl = if a.user { "systemctl --user" } else { "sudo systemctl" };
    print("enable and start it with:");
    print(&format!("  {ctl} daemon-reload && {ctl} enable --now {name}.service"));
    print(&format!("  journalctl {}-u {name} -f   # its log", if a.user { "--user " } else { "" }));
    if a.user {
        print("  loginctl enable-linger \"$USER\"   # keep it running while you are logged out");
    }
    Ok(0)
}

/// A unit name systemd takes: letters, digits and `:-_.\@`, other characters as `_`.
fn unit_name(name: &str) -> Result<String> {
    let clean: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.:".contains(c) { c } else { '_' }).collect();
    if clean.is_empty() || clean.len() > 200 {
        return Err(Error::Usage(format!("unit name `{name}`: give 1 to 200 letters, digits, `-`, `_`, `.`")));
    }
    Ok(clean)
}

fn unit_dir(user: bool) -> Result<PathBuf> {
    if !user {
        return Ok(PathBuf::from("/etc/systemd/system"));
    }
    let config = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(c) => PathBuf::from(c),
        None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            Some(h) => PathBuf::from(h).join(".config"),
            None => return Err(Error::Usage("neither XDG_CONFIG_HOME nor HOME is set: give --dir".into())),
        },
    };
    Ok(config.join("systemd/user"))
}

/// What the unit says.
struct Unit<'a> {
    bin: &'a Path,
    home: &'a Path,
    root: &'a Path,
    db: Option<&'a str>,
    workers: Option<usize>,
    /// `User=` of a system unit.
    user: Option<&'a str>,
    user_unit: bool,
}

/// One argument of `ExecStart=`, quoted as systemd reads it (`%` and `$` doubled).
fn quote(arg: &str) -> String {
    let escaped = arg.replace('\\', "\\\\").replace('"', "\\\"").replace('%', "%%").replace('$', "$$");
    format!("\"{escaped}\"")
}

/// A value of `Environment=` or `WorkingDirectory=`: `%` doubled.
fn value(v: &str) -> String {
    v.replace('%', "%%")
}

fn unit_text(u: &Unit<'_>) -> String {
    let mut exec =
        vec![quote(&u.bin.to_string_lossy()), "--home".into(), quote(&u.home.to_string_lossy()), "run".into()];
    if let Some(w) = u.workers {
        exec.push(format!("--workers={w}"));
    }
    let mut s = String::new();
    s.push_str("# Written by `orch service install`: the dispatcher of one queue.\n");
    s.push_str("[Unit]\n");
    s.push_str(&format!("Description=orch dispatcher for {}\n", value(&u.root.to_string_lossy())));
    s.push_str("After=network-online.target\nWants=network-online.target\n\n");
    s.push_str("[Service]\nType=simple\n");
    s.push_str(&format!("WorkingDirectory={}\n", value(&u.root.to_string_lossy())));
    s.push_str(&format!("ExecStart={}\n", exec.join(" ")));
    if let Some(db) = u.db {
        s.push_str(&format!("Environment=\"ORCH_DB={}\"\n", value(db).replace('"', "\\\"")));
    }
    if let Some(user) = u.user {
        s.push_str(&format!("User={user}\n"));
    }
    s.push_str("Restart=on-failure\nRestartSec=5s\n");
    s.push_str("# orch run stops its workers and gives their tasks back on SIGTERM; the rest of\n");
    s.push_str("# the group is killed only after the timeout.\n");
    s.push_str("KillMode=mixed\nTimeoutStopSec=90s\n\n");
    s.push_str("[Install]\n");
    s.push_str(if u.user_unit { "WantedBy=default.target\n" } else { "WantedBy=multi-user.target\n" });
    s
}
