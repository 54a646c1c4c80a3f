//! What `add` (and every other way text and ids come in) takes is what QUEUE.md writes
//! and reads back: text the file cannot hold is refused (exit 2) before anything is
//! written, ids have a bounded number, and a bad file's problems are each on one line
//! with their line number.

use crate::common::Project;
use crate::db_state::{fingerprint, row_of};

/// A fresh queue made from `text` holds `id` with these fields.
fn imported(text: &str, id: &str) -> serde_json::Value {
    let q = Project::init(Some(text));
    q.json(&["show", id])
}

#[test]
fn text_the_file_cannot_hold_is_refused_by_add_quick_and_chat() {
    let p = Project::init(None);
    p.ok(&["add", "first"]);
    let before = fingerprint(&p);
    let queue = p.queue_md();
    let cases: [(&[&str], &str); 9] = [
        (&["add", "--", "-"], "the task text is `-`, which QUEUE.md reads as no task"),
        (&["add", "<br>"], "the task text holds the text `<br>`"),
        (&["add", "<br/>"], "the task text holds the text `<br/>`"),
        (&["add", "a <br /> b"], "the task text holds the text `<br />`"),
        (&["add", "a\rb"], "the task text holds a carriage return"),
        (&["add", " \n "], "the task text is empty"),
        (&["add", "ok", "--criteria", "x<br>y"], "--criteria holds the text `<br>`"),
        (&["quick", "p1", "<br>"], "the task text holds the text `<br>`"),
        (&["note", "ORCH-001", "a<br>b"], "the note holds the text `<br>`"),
    ];
    for (args, want) in cases {
        let (code, _, err) = p.run(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
    let (code, out, err) = p.run(&["chat", "!add <br/> p0"]);
    assert_eq!(code, 2, "{err}");
    assert!((out + &err).contains("the task text holds the text `<br/>`"), "{err}");
    let (code, _, err) = p.run(&["pick", "--owner", "w<br>1"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--owner holds the text `<br>`"), "{err}");
    assert_eq!(fingerprint(&p), before, "nothing was written");
    assert_eq!(p.queue_md(), queue);
    // The file is still one its own import takes.
    p.ok(&["import"]);
}

#[test]
fn text_add_takes_comes_back_the_same_from_the_file() {
    let p = Project::init(None);
    let texts = [
        "a | b \\ c \\| d",
        "trailing backslash \\",
        "줄 하나\n줄 둘 — ünïcödé ✓ 🚀",
        "<b>bold</b> <br > <BR> <br",
        "- not empty",
        "x -",
        "tab\tinside",
    ];
    for t in texts {
        p.ok(&["add", &format!("--criteria={t}"), "--", t]);
    }
    // Normalised: blanks around the text go, `\r\n` is a line break, `-` is no criteria.
    p.ok(&["add", "  spaced \r\nout  ", "--criteria", "-"]);
    p.ok(&["note", "ORCH-001", "  a note | with <br > things  "]);
    let out = p.ok(&["pick", "--owner", "worker | 일"]);
    assert!(out.starts_with("ORCH-001 "), "{out}");
    let text = p.queue_md();
    p.ok(&["check"]);
    let out = p.json(&["import"]);
    assert_eq!(out["edited"].as_array().unwrap().len(), 0, "{out}");
    assert_eq!(p.queue_md(), text);
    for (i, t) in texts.iter().enumerate() {
        let id = format!("ORCH-{:03}", i + 1);
        let back = imported(&text, &id);
        assert_eq!(back["task"], *t, "{id}: {}", row_of(&text, &id));
        assert_eq!(back["success_criteria"], *t, "{id}");
    }
    let spaced = imported(&text, "ORCH-008");
    assert_eq!(spaced["task"], "spaced \nout");
    assert_eq!(spaced["success_criteria"], serde_json::Value::Null);
    let first = imported(&text, "ORCH-001");
    assert_eq!(first["notes"], "a note | with <br > things");
    assert_eq!(first["owner_session"], "worker | 일");
}

#[test]
fn an_id_past_the_bound_is_refused_with_its_line_and_never_stops_add() {
    let p = Project::init(None);
    p.ok(&["add", "first"]);
    let before = fingerprint(&p);
    for big in ["ORCH-9223372036854775807", "ORCH-18446744073709551615", "ORCH-1000000000000"] {
        let file = format!("| id | status | priority | task |\n|---|---|---|---|\n| {big} | PENDING | P1 | big |\n");
        p.write("big.md", &file);
        let (code, _, err) = p.run(&["import", "big.md"]);
        assert_eq!(code, 2, "{err}");
        assert_eq!(err.trim(), format!("orch: big.md:3: bad id `{big}`: the number is larger than 999999999999"));
        let (code, _, err) = p.run(&["show", big]);
        assert_eq!(code, 2, "{err}");
        let (code, _, err) = p.run(&["add", "x", "--depends-on", big]);
        assert_eq!(code, 2, "{err}");
        let (code, out, err) = p.run(&["chat", &format!("!status {big}")]);
        assert_eq!(code, 2, "{err}");
        assert!((out + &err).contains("the number is larger than 999999999999"), "{err}");
    }
    assert_eq!(fingerprint(&p), before);

    // The largest id there may be: new ids go to the lowest free numbers instead, one
    // by one and as a team's contiguous run, around numbers a person took by hand.
    p.write(
        "max.md",
        "| id | status | priority | task |\n|---|---|---|---|\n| ORCH-999999999999 | PENDING | P1 | max |\n\
         | ORCH-3 | PENDING | P1 | three |\n| ORCH-5 | PENDING | P1 | five |\n",
    );
    p.ok(&["import", "max.md"]);
    assert!(p.ok(&["add", "next"]).starts_with("ORCH-002 added"));
    assert!(p.ok(&["add", "then"]).starts_with("ORCH-004 added"));
    assert!(p.ok(&["quick", "p1 quick one"]).contains("ORCH-006 added"));
    p.write(
        "team.json",
        r#"{"title": "t", "goal": "g", "lead": {"task": "merge", "success_criteria": "c"},
            "workers": [{"role": "a", "task": "one", "success_criteria": "c"},
                        {"role": "b", "task": "two", "success_criteria": "c"}]}"#,
    );
    let team = p.json(&["team", "add", "team.json"]);
    assert_eq!((&team["workers"][0], &team["lead"]), (&"ORCH-007".into(), &"ORCH-009".into()), "{team}");
}

#[test]
fn a_task_stored_past_the_bound_by_an_older_orch_never_stops_add() {
    let p = Project::init(None);
    p.ok(&["add", "first"]);
    p.ok(&["add", "second"]);
    // As an older orch imported `ORCH-9223372036854775807`: its number was stored as is.
    let conn = rusqlite::Connection::open(p.file(".orch/orch.db")).unwrap();
    conn.execute(
        "UPDATE tasks SET id = 'ORCH-9223372036854775807', num = 9223372036854775807 WHERE id = 'ORCH-002'",
        [],
    )
    .unwrap();
    drop(conn);
    assert!(p.ok(&["add", "third"]).starts_with("ORCH-002 added"));
    assert!(p.ok(&["quick", "fourth"]).contains("ORCH-003 added"));
}

#[test]
fn a_file_that_is_not_utf8_is_refused_at_its_first_bad_line() {
    let p = Project::init(None);
    p.ok(&["add", "first"]);
    let mut bytes = p.queue_md().into_bytes();
    let at = bytes.len() - 5;
    bytes[at] = 0xff;
    std::fs::write(p.file("QUEUE.md"), &bytes).unwrap();
    let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
    for cmd in ["import", "check"] {
        let (code, _, err) = p.run(&[cmd]);
        assert_eq!(code, 2, "{cmd}: {err}");
        assert!(err.contains(&format!("QUEUE.md:{line}: not UTF-8 text")), "{cmd}: {err}");
    }
}

#[test]
fn a_bad_value_holding_a_break_is_quoted_on_one_line() {
    let p = Project::init(None);
    let file = "| id | status | priority | task |\n|---|---|---|---|\n| ORCH-001 | DO<br>NE | P1<br/>x | a |\n";
    p.write("bad.md", file);
    let (code, _, err) = p.run(&["import", "bad.md"]);
    assert_eq!(code, 2, "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(lines[0].contains("bad.md:3: unknown status `DO\\nNE`"), "{err}");
    assert!(lines[1].contains("bad.md:3: unknown priority `P1\\nx`"), "{err}");
}
