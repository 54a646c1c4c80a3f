//! The web dashboard of `orch serve` used as a person uses it, in headless Chromium
//! driven through the DevTools protocol (`serve_cdp.js`, run by Node): a task added
//! through the page's form shows in the page, in `orch list` and in QUEUE.md; a running
//! task cancelled from the page stops its worker (a real `orch run`, shown alive under
//! the fleet); a change made with the command line appears on the open page without a
//! reload. Each wait for the page is bounded (it polls the DOM). Without Chromium or
//! Node the tests say so and pass, unless CI is set (`.ci/run` installs both).

use crate::common::{Project, alive, wait_until};
use crate::dispatch::{pids, worker};
use crate::serve_util::Server;
use nix::sys::signal::Signal;
use std::io::{BufRead, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the page may take to show something.
const PAGE_WAIT: Duration = Duration::from_secs(10);

/// Headless Chromium under `serve_cdp.js`: one request a line, one answer a line.
struct Browser {
    child: Child,
    input: Option<ChildStdin>,
    output: std::io::BufReader<std::process::ChildStdout>,
}

fn node() -> bool {
    Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Chromium and Node, or `None` with a note (never under CI).
fn tools() -> Option<&'static str> {
    match (crate::serve_browser::chromium(), node()) {
        (Some(bin), true) => Some(bin),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set and chromium or node is missing: .ci/run installs them"
            );
            eprintln!("note: chromium or node is not installed; the click tests of orch serve are skipped");
            None
        }
    }
}

impl Browser {
    fn start(bin: &str, p: &Project) -> Browser {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/serve_cdp.js");
        let mut child = Command::new("node")
            .arg(script)
            .arg(bin)
            .arg(p.file("chromium-cdp"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run node");
        let input = child.stdin.take();
        let output = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut b = Browser { child, input, output };
        assert_eq!(b.read(), serde_json::json!({"ok": "ready"}));
        b
    }

    fn read(&mut self) -> serde_json::Value {
        let mut line = String::new();
        self.output.read_line(&mut line).expect("read the driver");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("the driver said {line:?}: {e}"))
    }

    fn ask(&mut self, req: serde_json::Value) -> serde_json::Value {
        let input = self.input.as_mut().unwrap();
        writeln!(input, "{req}").and_then(|()| input.flush()).expect("write to the driver");
        self.read()
    }

    fn goto(&mut self, url: &str) {
        assert_eq!(self.ask(serde_json::json!({ "goto": url })), serde_json::json!({"ok": null}));
    }

    /// The value of `js` in the page; an exception fails the test.
    fn eval(&mut self, js: &str) -> serde_json::Value {
        let a = self.ask(serde_json::json!({ "eval": js }));
        match a.get("ok") {
            Some(v) => v.clone(),
            None => panic!("{js}: {a}"),
        }
    }

    /// Polls `js` until it is true (at most [`PAGE_WAIT`]); the page's text if never.
    fn wait_for(&mut self, js: &str, what: &str) {
        let until = Instant::now() + PAGE_WAIT;
        while Instant::now() < until {
            if self.eval(js) == serde_json::json!(true) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let text = self.eval("document.body.innerText");
        panic!("{what}: not on the page within {PAGE_WAIT:?}:\n{}", text.as_str().unwrap_or_default());
    }

    /// Opens the dashboard with a one-time sign-in link, once it has drawn.
    fn sign_in(&mut self, s: &Server) {
        let code = s.post("/session/code", "").json();
        self.goto(&format!("{}{}", s.base, code["path"].as_str().unwrap()));
        self.wait_for(r#"!!document.body && document.body.dataset.ready === "1""#, "the signed-in dashboard");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The end of its input ends the driver and Chromium.
        drop(self.input.take());
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A JavaScript expression: whether a row of the queue with `id` shows `status` and
/// contains `text`.
fn row(id: &str, status: &str, text: &str) -> String {
    format!(
        "(() => {{ const r = document.querySelector('#queue tr[data-id=\"{id}\"]'); \
         return !!r && r.children[1].textContent === {status:?} && r.textContent.includes({text:?}); }})()"
    )
}

#[test]
fn a_task_added_through_the_form_is_in_the_page_the_list_and_queue_md() {
    let Some(bin) = tools() else { return };
    let p = Project::init(None);
    p.ok(&["add", "already there"]);
    let s = Server::start(&p);
    let mut b = Browser::start(bin, &p);
    b.sign_in(&s);
    b.eval(
        "document.getElementById('add-task').value = 'added from the page'; \
         document.getElementById('add-priority').value = 'P0'; \
         document.querySelector('#add-form button[type=submit]').click()",
    );
    b.wait_for(&row("ORCH-002", "PENDING", "added from the page"), "the added task in the queue");
    let t = p.json(&["show", "ORCH-002"]);
    assert_eq!((t["task"].as_str(), t["priority"].as_str()), (Some("added from the page"), Some("P0")), "{t}");
    let list = p.ok(&["list"]);
    assert!(list.contains("added from the page"), "{list}");
    let in_file = wait_until(Duration::from_secs(5), || p.queue_md().contains("added from the page"));
    assert!(in_file, "QUEUE.md:\n{}", p.queue_md());
}

#[test]
fn a_change_made_with_the_command_line_appears_on_the_open_page() {
    let Some(bin) = tools() else { return };
    let p = Project::init(None);
    p.ok(&["add", "first"]);
    let s = Server::start(&p);
    let mut b = Browser::start(bin, &p);
    b.sign_in(&s);
    b.eval("window.sameDocument = true");
    p.ok(&["add", "from the command line"]);
    b.wait_for(&row("ORCH-002", "PENDING", "from the command line"), "a task the command line added");
    p.ok(&["cancel", "ORCH-001"]);
    b.wait_for(&row("ORCH-001", "BLOCKED", "first"), "a task the command line cancelled");
    assert_eq!(b.eval("window.sameDocument === true"), serde_json::json!(true), "the page was not reloaded");
}

#[test]
fn a_running_task_cancelled_from_the_page_stops_its_worker() {
    let Some(bin) = tools() else { return };
    let p = Project::init(None);
    worker(&p, "echo $$ >> pids\nexec sleep 60\n", &[]);
    p.ok(&["add", "sleeps a minute"]);
    let s = Server::start(&p);
    let mut run = p.spawn("run", &["run"]);
    assert!(wait_until(Duration::from_secs(20), || pids(&p).len() == 1), "the worker started: {}", run.stderr());
    let pid = pids(&p)[0];
    let mut b = Browser::start(bin, &p);
    b.sign_in(&s);
    b.wait_for(&row("ORCH-001", "IN_PROGRESS", "sleeps a minute"), "the running task");
    // The dispatcher, as `workers` records it, is on the page: alive, seen lately.
    let host = p.json(&["workers"])["dispatchers"][0]["host"].as_str().unwrap().to_string();
    let line = format!("{host} pid {}: alive, seen ", run.pid());
    b.wait_for(
        &format!("[...document.querySelectorAll('#dispatchers li')].some((l) => l.textContent.startsWith({line:?}))"),
        "the dispatcher alive",
    );
    b.eval(
        "[...document.querySelectorAll('#queue tr[data-id=\"ORCH-001\"] button')] \
         .find((x) => x.textContent === 'Cancel').click()",
    );
    // The page's prompt for a reason is answered "from the page" by the driver.
    assert!(wait_until(Duration::from_secs(15), || !alive(pid)), "the worker {pid} still runs: {}", run.stderr());
    let t = p.json(&["show", "ORCH-001"]);
    assert_eq!(t["status"], "BLOCKED", "{t}");
    assert!(t["notes"].as_str().unwrap().contains("from the page"), "{t}");
    b.wait_for(&row("ORCH-001", "BLOCKED", "sleeps a minute"), "the cancelled task");
    run.signal(Signal::SIGTERM);
    assert_eq!(run.wait(Duration::from_secs(20)), Some(0));
}
