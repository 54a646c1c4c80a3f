//! Terminal controls in what people and workers wrote (task text, criteria, owner,
//! notes, reasons, a file's content quoted in an error) are shown as visible escapes by
//! every text output, through the real binary; JSON stays JSON; Korean passes as it is.

use crate::common::Project;
use crate::observe::pick;

/// Clears the screen, sets the window title, rings, steps back over it, a C1 CSI, a
/// right-to-left override and an isolate; and Korean. (`add` refuses a carriage return,
/// which QUEUE.md cannot write: [`EVIL_CR`] brings one through a reason and an id.)
const EVIL: &str = "evil \x1b[2J\x1b]0;TITLE\x07\x08OVERWRITE \u{9b}31m \u{202e}gpj.exe\u{2066} 한국어 작업";

/// [`EVIL`] returning to the line's start to overwrite it.
const EVIL_CR: &str = "evil \x1b[2J\x1b]0;TITLE\x07\rOVERWRITE \u{9b}31m \u{202e}gpj.exe\u{2066} 한국어 작업";

/// What a terminal would act on: C0 controls but line feed and tab, DEL, C1, and the
/// bidirectional overrides and isolates.
fn raw_control(s: &str) -> Option<char> {
    s.chars().find(|&c| {
        (c.is_control() && c != '\n' && c != '\t') || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    })
}

fn clean(p: &Project, args: &[&str]) -> String {
    let (_, out, err) = p.run(args);
    for (stream, text) in [("stdout", &out), ("stderr", &err)] {
        assert!(raw_control(text).is_none(), "{args:?} wrote {:?} on {stream}:\n{text}", raw_control(text));
        assert!(!text.contains("panicked"), "{args:?}: {text}");
    }
    format!("{out}{err}")
}

#[test]
fn every_text_output_shows_controls_as_escapes_and_keeps_korean() {
    let p = Project::init_plain(None);
    p.ok(&["add", EVIL, "--criteria", EVIL]);
    p.ok(&["add", &format!("second {EVIL}")]);
    let (id, token) = pick(&p, EVIL);
    p.ok(&["note", &id, EVIL]);
    for args in [
        &["list"][..],
        &["show", &id],
        &["status"],
        &["status", &id],
        &["workers"],
        &["events"],
        &["events", "--task", &id],
        &["kpi"],
    ] {
        let out = clean(&p, args);
        if !matches!(args, ["kpi"] | ["status"]) {
            assert!(out.contains("\\x1b[2J"), "{args:?}:\n{out}");
        }
        if args[0] == "show" {
            assert!(out.contains("\\u{2066} 한국어 작업"), "{args:?}:\n{out}");
        }
    }
    p.ok(&["fail", &id, "--lease", &token, "--reason", EVIL_CR, "--permanent"]);
    let log = clean(&p, &["log", &id]);
    assert!(log.contains("\\x1b]0;TITLE\\x07\\rOVERWRITE \\u{9b}31m \\u{202e}gpj.exe\\u{2066} 한국어"), "{log}");
    clean(&p, &["events"]);
    // The dispatcher's progress lines name the task.
    p.set_config("command", r#"["sh", "-c", "exit 0"]"#);
    let run = clean(&p, &["run", "--until-idle", "--max-wait", "0s"]);
    assert!(run.contains("second evil \\x1b[2J"), "{run}");
    // Error messages quote what was given: an id, a file's content.
    let err = clean(&p, &["show", &format!("ORCH-9{EVIL_CR}")]);
    assert!(err.contains("\\x1b[2J"), "{err}");
    clean(&p, &["replan", "ORCH-002", "--reason", EVIL, "--task", ""]);
    let text = p.queue_md();
    p.write("QUEUE.md", &format!("{text}| ORCH-007 | {EVIL} | P1 | x | - | - | - | - | - |\n"));
    let err = clean(&p, &["import"]);
    assert!(err.contains("QUEUE.md:") && err.contains("\\x1b[2J"), "{err}");
    clean(&p, &["check"]);
}

#[test]
fn json_output_keeps_the_text_as_it_is_stored() {
    let p = Project::init(None);
    p.ok(&["add", EVIL]);
    for args in [&["list", "--json"][..], &["show", "ORCH-001", "--json"], &["events", "--json"]] {
        let out = clean(&p, args);
        let first = out.lines().next().unwrap_or_default();
        let v: serde_json::Value = if args[0] == "events" {
            serde_json::from_str(first).unwrap()
        } else {
            serde_json::from_str(&out).unwrap()
        };
        assert!(v.to_string().contains(&serde_json::to_string(EVIL).unwrap()[1..20]), "{args:?}: {v}");
    }
    assert_eq!(p.json(&["show", "ORCH-001"])["task"], EVIL);
}
