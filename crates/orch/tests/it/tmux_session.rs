//! `orch tmux`: on a tmux server of the test's own (`ORCH_TMUX_SOCKET`), `--detach`
//! lays out a session whose panes run the dashboard, the dispatcher, the event stream
//! and a shell for quick adds, each started by this binary's path quoted for the shell
//! (a path holding a space and a quote too); a second call finds the session; without
//! tmux on PATH the command says how to get it (exit 2).

use crate::common::{ORCH_BIN, Project, wait_until};
use crate::tmux::Tmux;
use std::path::Path;
use std::time::Duration;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn tmux_installed() -> bool {
    let found = std::process::Command::new("tmux").arg("-V").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "tmux is missing");
        eprintln!("tmux is missing: orch tmux is not tested");
    }
    found
}

/// `orch tmux ARGS` run by `bin` on server `t`.
fn orch_tmux(p: &Project, bin: &Path, t: &Tmux, args: &[&str]) -> (i32, String, String) {
    let mut cmd = std::process::Command::new(bin);
    cmd.current_dir(p.path()).env("ORCH_TMUX_SOCKET", &t.socket).arg("tmux").args(args);
    for v in ["ORCH_HOME", "ORCH_DB", "ORCH_QUEUE_MD", "ORCH_QUEUE_MD_READ_ONLY", "TMUX"] {
        cmd.env_remove(v);
    }
    let out = cmd.output().expect("run orch tmux");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn detach_lays_out_the_panes_with_the_running_binary_quoted_and_a_second_call_finds_them() {
    if !tmux_installed() {
        return;
    }
    let p = Project::init(None);
    // The binary under a path a shell would split and unquote: linked (or copied) there.
    let odd = p.path().join("my 'orch' bin");
    std::fs::create_dir(&odd).unwrap();
    let bin = odd.join("orch");
    if std::fs::hard_link(ORCH_BIN, &bin).is_err() {
        std::fs::copy(ORCH_BIN, &bin).unwrap();
    }
    let t = Tmux::socket_only();
    let name = format!("t-{}", std::process::id());
    let (code, out, err) = orch_tmux(&p, &bin, &t, &["--detach", "--session", &name]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("tmux session {name} started")), "{out}");
    assert!(out.contains(&format!("tmux -L {} attach -t {name}", t.socket)), "{out}");
    let panes = t.tmux(&["list-panes", "-t", &format!("={name}:"), "-F", "#{pane_start_command}"]);
    let panes: Vec<&str> = panes.lines().collect();
    assert_eq!(panes.len(), 4, "{panes:?}");
    let home = p.path().join(".orch");
    let quoted_bin = format!("'{}'", bin.to_str().unwrap().replace('\'', "'\\''"));
    for (pane, want) in panes.iter().zip(["dashboard", "run", "events --follow"]) {
        // tmux shows the command string in double quotes, escaping `"`, `$` and `\`.
        let shown = pane.trim_matches('"').replace("\\\\", "\\");
        assert!(shown.starts_with(&quoted_bin), "{shown}\nwanted {quoted_bin}");
        assert!(shown.ends_with(&format!("--home '{}' {want}", home.display())), "{shown}");
    }
    assert!(panes[3].contains("quick add: orch quick"), "{}", panes[3]);
    // The commands ran: the dashboard draws, the quick-add pane's shell has this orch.
    let pane = |i: usize| t.tmux(&["capture-pane", "-p", "-t", &format!("={name}:.{i}")]);
    assert!(wait_until(secs(30), || pane(0).contains("Queue")), "{}", pane(0));
    assert!(wait_until(secs(30), || pane(3).contains("quick add: orch quick")), "{}", pane(3));
    let quick = format!("={name}:.3");
    t.tmux(&["send-keys", "-t", &quick, "-l", "orch quick 'p0 added from the tmux pane'"]);
    t.tmux(&["send-keys", "-t", &quick, "Enter"]);
    assert!(wait_until(secs(30), || p.ok(&["list"]).contains("added from the tmux pane")), "{}", pane(3));
    // A second call finds the session and leaves it as it is.
    let (code, out, _) = orch_tmux(&p, &bin, &t, &["--detach", "--session", &name]);
    assert_eq!(code, 0);
    assert!(out.contains("is there already"), "{out}");
    let again = t.tmux(&["list-panes", "-t", &format!("={name}:"), "-F", "#{pane_start_command}"]);
    assert_eq!(again.lines().count(), 4, "{again}");
}

#[test]
fn without_tmux_it_says_how_to_get_it_and_a_bad_session_name_is_refused() {
    let p = Project::init(None);
    let empty = p.path().join("no-programs");
    std::fs::create_dir(&empty).unwrap();
    let t = Tmux::socket_only();
    let out = p.command(&["tmux", "--detach"]).env("PATH", &empty).env("ORCH_TMUX_SOCKET", &t.socket).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("tmux is not installed") && err.contains("apt install tmux"), "{err}");
    for bad in ["a.b", "a:b", "", "two words"] {
        let (code, _, err) = p.run(&["tmux", "--detach", "--session", bad]);
        assert_eq!(code, 2, "{bad}: {err}");
    }
}
