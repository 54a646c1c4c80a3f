//! `orch tmux`: a tmux session laid out for operating a queue, or the one already there
//! re-attached. One window, `main-vertical`: the dashboard on the left; on the right the
//! dispatcher (`orch run`), the event stream (`orch events --follow`) and a shell for
//! quick adds under a hint line. tmux is run as a program with an argument list; the
//! only command strings built are the panes', from this binary's path and the queue's
//! folder, each word quoted for the shell tmux hands them to.

use super::globals::Globals;
use super::output::print;
use crate::api::{self, Orch};
use crate::error::{Error, Result};
use std::path::Path;

#[derive(clap::Args, Debug)]
pub struct TmuxArgs {
    /// The tmux session's name (letters, digits, `-` and `_`; at most 64).
    #[arg(long, value_name = "NAME", default_value = "orch", value_parser = session_name)]
    session: String,
    /// Create the session (when it is missing) without attaching to it.
    #[arg(long)]
    detach: bool,
    /// The tmux server's socket name (`tmux -L NAME`); default: tmux's own server.
    #[arg(long, value_name = "NAME", env = "ORCH_TMUX_SOCKET", hide = true)]
    tmux_socket: Option<String>,
}

/// A session name tmux keeps as it is: it changes `.` and `:` and refuses others.
fn session_name(s: &str) -> std::result::Result<String, String> {
    let fine = !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if fine {
        Ok(s.to_string())
    } else {
        Err(format!("bad session name `{s}`: use letters, digits, - and _ (1 to 64)"))
    }
}

/// How to get tmux, said when it is missing.
const INSTALL: &str = "tmux is not installed: install it (Debian/Ubuntu: apt install tmux; \
     Fedora: dnf install tmux; macOS: brew install tmux), or use `orch dashboard` alone";

/// `s` quoted for a POSIX shell: in single quotes, a quote inside written `'\''`.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

struct Tmux {
    socket: Option<String>,
}

impl Tmux {
    fn argv(&self, args: &[&str]) -> Vec<String> {
        let mut argv = vec!["tmux".to_string()];
        if let Some(s) = &self.socket {
            argv.extend(["-L".to_string(), s.clone()]);
        }
        argv.extend(args.iter().map(|a| a.to_string()));
        argv
    }

    /// Runs tmux; its stdout when it succeeds, else an error with what it said.
    fn run(&self, args: &[&str]) -> Result<String> {
        let out = crate::runner::program_output(&self.argv(args)).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::Usage(INSTALL.into()),
            _ => Error::Io(format!("tmux: {e}")),
        })?;
        if !out.status.success() {
            let said = String::from_utf8_lossy(&out.stderr);
            return Err(Error::Io(format!("tmux {}: {}", args.first().unwrap_or(&""), said.trim())));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn has_session(&self, name: &str) -> Result<bool> {
        let out = crate::runner::program_output(&self.argv(&["has-session", "-t", &format!("={name}")]));
        out.map(|o| o.status.success()).map_err(|e| Error::Io(format!("tmux: {e}")))
    }
}

pub fn run(orch: &Orch, globals: &Globals, a: &TmuxArgs) -> Result<i32> {
    let tmux = Tmux { socket: a.tmux_socket.clone().filter(|s| !s.is_empty()) };
    tmux.run(&["-V"])?;
    let name = a.session.as_str();
    if tmux.has_session(name)? {
        if a.detach {
            print(&format!("tmux session {name} is there already; {}", attach_hint(&tmux, name)));
            return Ok(0);
        }
    } else {
        create(&tmux, orch, globals, name)?;
        if a.detach {
            print(&format!("tmux session {name} started; {}", attach_hint(&tmux, name)));
            return Ok(0);
        }
    }
    let verb = if std::env::var_os("TMUX").is_some_and(|v| !v.is_empty()) { "switch-client" } else { "attach-session" };
    let status = crate::runner::program_on_terminal(&tmux.argv(&[verb, "-t", &format!("={name}")]))
        .map_err(|e| Error::Io(format!("tmux: {e}")))?;
    Ok(if status.success() { 0 } else { 1 })
}

fn attach_hint(tmux: &Tmux, name: &str) -> String {
    let argv = tmux.argv(&["attach", "-t", name]);
    format!("attach with: {}", argv.join(" "))
}

/// Creates the session: four panes, each started by a command string.
fn create(tmux: &Tmux, orch: &Orch, globals: &Globals, name: &str) -> Result<()> {
    let bin = std::env::current_exe().map_err(|e| Error::Io(format!("the path of orch: {e}")))?;
    let home = api::home_dir(orch);
    let orch_cmd =
        |args: &str| format!("{} --home {} {args}", quote(&bin.to_string_lossy()), quote(&home.to_string_lossy()));
    let cwd = super::globals::cwd()?;
    let cwd = cwd.to_string_lossy();
    // A database named on the command line goes to the panes in their environment, not
    // in a command line a process listing shows.
    let db_env = globals.db.as_ref().map(|db| format!("ORCH_DB={db}"));
    let mut common: Vec<&str> = vec!["-c", &cwd];
    if let Some(env) = &db_env {
        common.extend(["-e", env]);
    }
    let target = format!("={name}:");
    let dashboard = orch_cmd("dashboard");
    let mut new = vec!["new-session", "-d", "-s", name, "-n", "orch", "-x", "200", "-y", "50"];
    new.extend(&common);
    new.push(&dashboard);
    tmux.run(&new)?;
    tmux.run(&["set-option", "-w", "-t", &target, "remain-on-exit", "on"])?;
    let shell = quick_shell(&bin);
    // Each split (detached) goes right after the dashboard's pane: the last made is
    // second, so they are made bottom first.
    for cmd in [shell, orch_cmd("events --follow"), orch_cmd("run")] {
        let mut split = vec!["split-window", "-d", "-t", &target];
        split.extend(&common);
        split.push(&cmd);
        tmux.run(&split)?;
    }
    tmux.run(&["select-layout", "-t", &target, "main-vertical"])?;
    Ok(())
}

/// The quick-add pane: a hint line, then the user's shell, with this orch's folder
/// first on PATH (set by the script: tmux gives a pane the PATH of its client). Run by
/// `/bin/sh` whatever tmux's default shell is.
fn quick_shell(bin: &Path) -> String {
    let shown = bin.to_string_lossy().replace(['\n', '\r'], " ");
    let hint = format!("quick add: orch quick \"p1 Write the notes due:+3h\"   (orch is {shown})");
    let dir = bin.parent().unwrap_or(Path::new("/")).to_string_lossy().into_owned();
    let script = format!(
        "PATH={}:\"$PATH\"; export PATH; printf '%s\\n' {}; exec \"${{SHELL:-/bin/sh}}\"",
        quote(&dir),
        quote(&hint)
    );
    format!("/bin/sh -c {}", quote(&script))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_keeps_every_character_inside_one_word() {
        assert_eq!(quote("/opt/my orch/bin/orch"), "'/opt/my orch/bin/orch'");
        assert_eq!(quote("it's $(x) `y`"), "'it'\\''s $(x) `y`'");
        assert!(session_name("t-1_a").is_ok());
        for bad in ["", "a.b", "a:b", "a b", "ü", &"x".repeat(65)] {
            assert!(session_name(bad).is_err(), "{bad}");
        }
    }
}
