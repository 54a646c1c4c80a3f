//! `status --watch` and `workers --watch`: in a real terminal (tmux) the screen is
//! redrawn in place and follows a task added from outside; Ctrl-C ends it with exit 0
//! and gives the shell back. Off a terminal the text is printed again only when it
//! changes, a blank line between prints; SIGINT ends it with 0 too.

use crate::common::{Project, wait_until};
use crate::tmux::Tmux;
use nix::sys::signal::Signal;
use std::time::Duration;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn status_watch_redraws_in_a_terminal_and_ctrl_c_gives_the_shell_back_with_0() {
    let p = Project::init(None);
    p.ok(&["add", "one"]);
    let Some(t) = Tmux::start(&p, 100, 30, "sh") else { return };
    t.type_text("\"$ORCH\" status --watch --interval 1s");
    t.keys(&["Enter"]);
    t.wait_for("the first draw", secs(30), |s| s.contains("Every 1s: orch status") && s.contains("1 tasks: PENDING 1"));
    p.ok(&["add", "two"]);
    let screen = t.wait_for("the count follows the add", secs(30), |s| s.contains("2 tasks: PENDING 2"));
    assert!(!screen.contains("1 tasks:"), "redrawn in place, not appended:\n{screen}");
    t.keys(&["C-c"]);
    t.type_text("echo \"back-$?\"");
    t.keys(&["Enter"]);
    t.wait_for("the shell is back with exit 0", secs(30), |s| s.contains("back-0"));
}

#[test]
fn workers_watch_in_a_terminal_shows_the_fleet_and_ends_on_ctrl_c() {
    let p = Project::init(None);
    p.ok(&["add", "one"]);
    let Some(t) = Tmux::start(&p, 100, 30, "sh") else { return };
    t.type_text("\"$ORCH\" workers --watch");
    t.keys(&["Enter"]);
    t.wait_for("the fleet", secs(30), |s| s.contains("Every 2s: orch workers") && s.contains("no lease is held"));
    p.ok(&["pick", "--owner", "w-watch"]);
    t.wait_for("the lease shows", secs(30), |s| s.contains("w-watch") && s.contains("ORCH-001"));
    t.keys(&["C-c"]);
    t.type_text("echo \"back-$?\"");
    t.keys(&["Enter"]);
    t.wait_for("the shell is back with exit 0", secs(30), |s| s.contains("back-0"));
}

#[test]
fn off_a_terminal_watch_prints_again_only_on_a_change_and_sigint_ends_it_with_0() {
    let p = Project::init(None);
    p.ok(&["add", "one"]);
    let mut w = p.spawn("watch", &["status", "--watch", "--interval", "100ms"]);
    assert!(wait_until(secs(30), || w.stdout().contains("1 tasks: PENDING 1")), "{}", w.stderr());
    p.ok(&["add", "two"]);
    assert!(wait_until(secs(30), || w.stdout().contains("2 tasks: PENDING 2")), "{}", w.stdout());
    w.signal(Signal::SIGINT);
    assert_eq!(w.wait(secs(30)), Some(0), "{}", w.stderr());
    let out = w.stdout();
    assert!(!out.contains('\x1b'), "no screen control off a terminal: {out:?}");
    // Two prints for two states, however many redraws the interval asked for.
    let prints: Vec<&str> = out.split("\n\n").collect();
    assert_eq!(prints.len(), 2, "{out}");
    assert!(prints[0].starts_with("1 tasks:") && prints[1].starts_with("2 tasks:"), "{out}");
}

#[test]
fn watch_refuses_json_a_bad_interval_and_an_interval_alone() {
    let p = Project::init(None);
    for args in [
        &["status", "--watch", "--json"][..],
        &["workers", "--watch", "--json"][..],
        &["status", "--watch", "--interval", "10ms"][..],
        &["status", "--watch", "--interval", "2h"][..],
        &["status", "--watch", "--interval", "soon"][..],
        &["status", "--interval", "2s"][..],
    ] {
        let (code, _, err) = p.run(args);
        assert_eq!(code, 2, "{args:?}: {err}");
    }
}
