//! A tmux server of a test's own, for commands that need a real terminal (the
//! dashboard, `--watch`, `orch tmux`): started on a socket of its own, its screen read
//! with `capture-pane` and polled until a deadline, keys sent with `send-keys`, and
//! killed (its socket file removed) when the test ends, whatever it did.

use crate::common::{ORCH_BIN, Project, wait_until};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A tmux server of the test's own; killed on drop, whatever the test did.
pub struct Tmux {
    pub socket: String,
}

static SESSIONS: AtomicUsize = AtomicUsize::new(0);

impl Tmux {
    /// A server name of the test's own with nothing started on it yet (a command under
    /// test starts it); killed on drop all the same.
    pub fn socket_only() -> Tmux {
        let n = SESSIONS.fetch_add(1, Ordering::Relaxed);
        Tmux { socket: format!("orch-it-{}-{n}", std::process::id()) }
    }

    /// Starts `command` (a shell line) in a detached `w`×`h` session in the project
    /// folder; `None` when tmux is missing (a failure under `CI=true`, which installs
    /// it).
    pub fn start(p: &Project, w: u16, h: u16, command: &str) -> Option<Tmux> {
        let n = SESSIONS.fetch_add(1, Ordering::Relaxed);
        let t = Tmux { socket: format!("orch-it-{}-{n}", std::process::id()) };
        let (x, y) = (w.to_string(), h.to_string());
        let dir = p.path().to_str().expect("utf-8 temp dir").to_string();
        let started = t.tmux_in(p, &["new-session", "-d", "-s", "t", "-x", &x, "-y", &y, "-c", &dir, command]);
        match started {
            Ok(out) if out.status.success() => Some(t),
            Ok(out) => panic!("tmux new-session failed: {}", String::from_utf8_lossy(&out.stderr)),
            Err(_) => {
                assert!(std::env::var("CI").map_or(true, |v| v != "true"), "tmux is missing");
                eprintln!("tmux is missing: the dashboard is not tested in a terminal");
                None
            }
        }
    }

    /// tmux on this server, with the environment a test's `orch` gets.
    pub fn tmux_in(&self, p: &Project, args: &[&str]) -> std::io::Result<Output> {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket, "-f", "/dev/null"]).args(args).current_dir(p.path());
        for v in ["ORCH_HOME", "ORCH_DB", "ORCH_QUEUE_MD", "ORCH_QUEUE_MD_READ_ONLY", "ORCH_LEASE_TOKEN", "ORCH_RUN_ID"]
        {
            c.env_remove(v);
        }
        c.env("ORCH", ORCH_BIN).env("RUST_BACKTRACE", "0").output()
    }

    pub fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux").args(["-L", &self.socket]).args(args).output().expect("run tmux");
        assert!(out.status.success(), "tmux {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "t"])
    }

    /// Keys by tmux name (`Enter`, `Escape`, `q`).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend(keys);
        self.tmux(&args);
    }

    /// Text typed as it is.
    pub fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "t", "-l", text]);
    }

    /// Polls the screen until `cond` holds; panics with the screen after `limit`.
    pub fn wait_for(&self, what: &str, limit: Duration, mut cond: impl FnMut(&str) -> bool) -> String {
        let mut last = String::new();
        let held = wait_until(limit, || {
            last = self.screen();
            cond(&last)
        });
        assert!(held, "{what}; the screen:\n{last}");
        last
    }
}

impl Drop for Tmux {
    /// Kills the server and removes its socket file, which tmux leaves behind.
    fn drop(&mut self) {
        let path = Command::new("tmux").args(["-L", &self.socket, "display-message", "-p", "#{socket_path}"]).output();
        let _ = Command::new("tmux").args(["-L", &self.socket, "kill-server"]).output();
        if let Ok(out) = path {
            let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if !path.is_empty() {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}
