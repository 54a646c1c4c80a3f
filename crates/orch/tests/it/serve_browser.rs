//! The web dashboard of `orch serve` in headless Chromium: the page signs in with the
//! one-time code of a link, shows the queue, and shows task text as text (a task named
//! `<script>…` or `<img … onerror=…>` is never markup); of eleven stopped dispatchers,
//! ten are listed and the last counted. A screenshot is kept in cargo's test temporary
//! folder (`target/tmp/serve-dashboard.png`). Without Chromium the test says so and
//! passes, unless CI is set (`.ci/run` installs it).

use crate::common::Project;
use crate::serve_util::Server;

pub fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser"].into_iter().find(|b| {
        std::process::Command::new(b)
            .arg("--version")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// A new one-time sign-in link.
fn link(s: &Server) -> String {
    let code = s.post("/session/code", "").json();
    format!("{}{}", s.base, code["path"].as_str().unwrap())
}

/// Chromium run headless on `url` with `extra` arguments, for `virtual_ms` of the
/// page's virtual time (which stands still while a request is answered: the page's
/// first reads are all drawn, and the event stream, opened later, is not waited for);
/// its stdout.
fn headless(bin: &str, profile: &std::path::Path, extra: &[&str], url: &str, virtual_ms: u32) -> String {
    let out = std::process::Command::new(bin)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        .args(["--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1000,1400"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--virtual-time-budget={virtual_ms}"))
        .args(extra)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run chromium");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_page_signs_in_shows_the_queue_and_task_text_as_text() {
    let Some(bin) = chromium() else {
        assert!(std::env::var_os("CI").is_none(), "CI is set and chromium is missing: .ci/run installs it");
        eprintln!("note: chromium is not installed; the browser test of orch serve is skipped");
        return;
    };
    let p = Project::init(None);
    // Eleven dispatchers ran on the empty queue and stopped: ten are listed.
    crate::dispatch::worker(&p, "exit 0\n", &[]);
    for _ in 0..11 {
        p.ok(&["run", "--until-idle"]);
    }
    p.ok(&["add", "<script>alert(1)</script>", "-p", "P0"]);
    p.ok(&["add", "<img src=x onerror=alert(1)>"]);
    p.ok(&["add", "plain & simple"]);
    let s = Server::start(&p);
    let dom = headless(bin, &p.file("chromium"), &["--dump-dom"], &link(&s), 1000);
    assert!(dom.contains(r#"data-ready="1""#), "the page did not sign in and draw:\n{dom}");
    assert!(dom.contains(r#"<section id="signin" hidden="""#), "{dom}");
    for id in ["ORCH-001", "ORCH-002", "ORCH-003"] {
        assert!(dom.contains(&format!(r#"<tr data-id="{id}">"#)), "{id} in the queue:\n{dom}");
    }
    assert!(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{dom}");
    assert!(dom.contains("&lt;img src=x onerror=alert(1)&gt;"), "{dom}");
    assert!(dom.contains("plain &amp; simple"), "{dom}");
    assert!(!dom.contains("<script>alert") && !dom.contains("<img src=\"x\""), "task text became markup:\n{dom}");
    assert!(dom.contains(r#"<span id="live" role="status">"#));
    let host = p.json(&["workers"])["dispatchers"][0]["host"].as_str().unwrap().to_string();
    let list = dom.split(r#"<ul id="dispatchers""#).nth(1).and_then(|l| l.split("</ul>").next()).unwrap_or_default();
    let stopped = format!(r#"<li class="stopped">{host} pid "#);
    assert_eq!(list.matches(&stopped).count(), 10, "ten dispatchers listed:\n{list}");
    assert!(list.ends_with(r#"<li class="more">… and 1 more</li>"#), "{list}");
    // A screenshot for a person to look at.
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-dashboard.png");
    let _ = std::fs::remove_file(&shot);
    let arg = format!("--screenshot={}", shot.display());
    headless(bin, &p.file("chromium-shot"), &[&arg], &link(&s), 1000);
    assert!(std::fs::metadata(&shot).is_ok_and(|m| m.len() > 0), "no screenshot at {}", shot.display());
}
