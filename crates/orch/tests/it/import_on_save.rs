//! Import on save (`queue.import_on_save`): with a real `orch run` running, QUEUE.md
//! saved as a person saves it — written in place, or a temporary file renamed over it as
//! editors do — is taken in as `orch import` takes it: rows added run, edits apply, a
//! file with a problem is refused whole with a block above its table and an event, a
//! stale copy changes nothing, and a burst of saves ends in the last one. Every wait
//! polls the database through the binary, with a generous deadline.

use crate::common::{Project, wait_until};
use nix::sys::signal::Signal;
use serde_json::Value;
use std::io::Write;
use std::time::Duration;

const HEADER: &str = "# Queue\n\n| id | status | priority | task | success_criteria | owner_session | started_at_kst | due_at_kst | notes |\n\
                      |---|---|---|---|---|---|---|---|---|\n";

fn row(id: &str, status: &str, priority: &str, task: &str, notes: &str) -> String {
    format!("| {id} | {status} | {priority} | {task} | - | - | - | - | {notes} |\n")
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A home whose worker prints a line and exits 0 (no report rules), with `queue`.
fn home(queue: &str) -> Project {
    let p = Project::init_plain(Some(queue));
    p.set_config("command", r#"["sh", "-c", "echo ok"]"#);
    p
}

/// `orch ARGS… --json` of a task; `None` while it does not exist.
fn task(p: &Project, db: &[&str], id: &str) -> Option<Value> {
    let mut args = db.to_vec();
    args.extend(["show", id, "--json"]);
    let (code, out, _) = p.run(&args);
    (code == 0).then(|| serde_json::from_str(&out).expect("show --json"))
}

fn status(p: &Project, db: &[&str], id: &str) -> Option<String> {
    task(p, db, id).and_then(|t| t["status"].as_str().map(str::to_string))
}

/// Starts `orch run` and waits until its lock names it (it watches QUEUE.md by then).
fn start(p: &Project, db: &[&str]) -> crate::common::Background {
    let mut args = db.to_vec();
    args.push("run");
    let d = p.spawn("run", &args);
    let lock = p.file(".orch/dispatcher.lock");
    let sqlite_lock = p.file(".orch/orch.db.dispatcher.lock");
    let named = |f: &std::path::Path| std::fs::read_to_string(f).is_ok_and(|s| !s.is_empty());
    assert!(wait_until(secs(20), || named(&lock) || named(&sqlite_lock)), "orch run did not start: {}", d.stderr());
    d
}

/// Waits until QUEUE.md is what the database says (`check` exits 0): the dispatcher's
/// refreshes are done.
fn settled(p: &Project, db: &[&str]) {
    let mut args = db.to_vec();
    args.push("check");
    assert!(wait_until(secs(20), || p.run(&args).0 == 0), "QUEUE.md never settled: {:?}", p.run(&args));
}

/// Saves QUEUE.md as an editor does: a temporary file beside it, renamed over it.
fn save_by_rename(p: &Project, text: &str) {
    let tmp = p.file(".QUEUE.md.swp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, p.file("QUEUE.md")).unwrap();
}

fn events(p: &Project, db: &[&str], kind: &str) -> Vec<Value> {
    let mut args = db.to_vec();
    args.extend(["events", "--json"]);
    let out = p.ok(&args);
    out.lines().map(|l| serde_json::from_str::<Value>(l).expect("an event")).filter(|e| e["event"] == kind).collect()
}

fn stop(mut d: crate::common::Background) -> String {
    d.signal(Signal::SIGTERM);
    assert_eq!(d.wait(secs(30)), Some(0), "{}", d.stderr());
    d.stdout()
}

#[test]
fn rows_appended_in_place_and_by_rename_become_tasks_and_run() {
    let p = home(&format!("{HEADER}{}", row("ORCH-001", "PENDING", "P1", "first", "-")));
    let d = start(&p, &[]);
    assert!(wait_until(secs(20), || status(&p, &[], "ORCH-001").as_deref() == Some("DONE")));
    settled(&p, &[]);
    // Written in place.
    let mut f = std::fs::OpenOptions::new().append(true).open(p.file("QUEUE.md")).unwrap();
    f.write_all(row("ORCH-002", "PENDING", "P1", "appended in place", "-").as_bytes()).unwrap();
    drop(f);
    assert!(
        wait_until(secs(20), || status(&p, &[], "ORCH-002").as_deref() == Some("DONE")),
        "the row written in place never ran: {}",
        d.stderr()
    );
    settled(&p, &[]);
    // A temporary file renamed over it.
    let text = p.queue_md() + &row("ORCH-003", "PENDING", "P0", "saved by rename", "-");
    save_by_rename(&p, &text);
    assert!(
        wait_until(secs(20), || status(&p, &[], "ORCH-003").as_deref() == Some("DONE")),
        "the row saved by rename never ran: {}",
        d.stderr()
    );
    settled(&p, &[]);
    let imported: Vec<Value> = events(&p, &[], "task.imported").into_iter().map(|e| e["task_id"].clone()).collect();
    assert_eq!(imported, ["ORCH-001", "ORCH-002", "ORCH-003"]);
    let out = stop(d);
    assert!(out.contains("QUEUE.md imported: added ORCH-002"), "{out}");
    // orch's own rewrites of the view (after each start and end) were never imports.
    assert_eq!(out.matches("QUEUE.md imported:").count(), 2, "{out}");
}

#[test]
fn a_priority_changed_by_hand_is_applied() {
    let q = format!(
        "{HEADER}{}{}",
        row("ORCH-001", "BLOCKED", "P2", "held", "-"),
        row("ORCH-002", "BLOCKED", "P2", "also", "-")
    );
    let p = home(&q);
    let d = start(&p, &[]);
    settled(&p, &[]);
    let text = p.queue_md().replace("| ORCH-002 | BLOCKED | P2 |", "| ORCH-002 | BLOCKED | P0 |");
    save_by_rename(&p, &text);
    assert!(wait_until(secs(20), || task(&p, &[], "ORCH-002").is_some_and(|t| t["priority"] == "P0")));
    assert_eq!(task(&p, &[], "ORCH-001").unwrap()["priority"], "P2");
    let edited: Vec<Value> = events(&p, &[], "task.edited").into_iter().map(|e| e["task_id"].clone()).collect();
    assert_eq!(edited, ["ORCH-002"]);
    settled(&p, &[]);
    stop(d);
}

#[test]
fn a_typo_is_refused_whole_with_a_block_and_an_event_and_the_fixed_file_imports() {
    let p = home(&format!("{HEADER}{}", row("ORCH-001", "BLOCKED", "P1", "held", "-")));
    let d = start(&p, &[]);
    settled(&p, &[]);
    let saved = p.queue_md().replace("| ORCH-001 | BLOCKED |", "| ORCH-001 | DOEN |")
        + &row("ORCH-010", "PENDING", "P1", "added with the typo", "-");
    save_by_rename(&p, &saved);
    assert!(
        wait_until(secs(20), || p.queue_md().contains("<!-- orch: not imported: QUEUE.md:")),
        "no block: {}\n{}",
        p.queue_md(),
        d.stderr()
    );
    // The block names the line of the typo in the file as it is now.
    let text = p.queue_md();
    let block = text.lines().find(|l| l.starts_with("<!-- orch: not imported:")).unwrap();
    assert!(block.contains("unknown status `DOEN`") && block.ends_with(" -->"), "{block}");
    let n: usize = block["<!-- orch: not imported: QUEUE.md:".len()..].split(':').next().unwrap().parse().unwrap();
    assert!(text.lines().nth(n - 1).unwrap().starts_with("| ORCH-001 | DOEN |"), "line {n}:\n{text}");
    // Right above the table; the person's text is all there.
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().position(|l| l.starts_with("| id |")).unwrap();
    assert!(lines[at - 1].starts_with("<!-- orch: not imported:"), "{text}");
    assert_eq!(text.lines().filter(|l| !l.starts_with("<!--")).collect::<Vec<_>>(), saved.lines().collect::<Vec<_>>());
    // Nothing of it was taken.
    assert!(task(&p, &[], "ORCH-010").is_none());
    assert_eq!(status(&p, &[], "ORCH-001").as_deref(), Some("BLOCKED"));
    let refused = events(&p, &[], "import.refused");
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0]["msg"].as_str().unwrap().contains("unknown status `DOEN`"));
    assert_eq!(refused[0]["level"], "warn");
    let (code, _, err) = p.run(&["check"]);
    assert_eq!(code, 2);
    assert!(err.contains(&format!(":{n}: unknown status `DOEN`")), "{err}");
    // The rest of the queue runs, and the refused file is not written over.
    p.ok(&["add", "runs all the same"]);
    assert!(wait_until(secs(20), || status(&p, &[], "ORCH-002").as_deref() == Some("DONE")));
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(p.queue_md(), text, "the refused file was written over");
    // Fixed and saved again (the block left in): imported, and the block goes.
    save_by_rename(&p, &p.queue_md().replace("| ORCH-001 | DOEN |", "| ORCH-001 | BLOCKED |"));
    assert!(
        wait_until(secs(20), || status(&p, &[], "ORCH-010").as_deref() == Some("DONE")),
        "the fixed file was not imported: {}",
        d.stderr()
    );
    settled(&p, &[]);
    assert!(!p.queue_md().contains("orch: not imported"), "{}", p.queue_md());
    assert_eq!(events(&p, &[], "import.refused").len(), 1);
    let out = stop(d);
    assert!(out.contains("QUEUE.md not imported: QUEUE.md:"), "{out}");
}

#[test]
fn a_conflict_with_a_newer_change_is_refused_whole_and_check_says_so() {
    let q =
        format!("{HEADER}{}{}", row("ORCH-001", "BLOCKED", "P1", "a", "-"), row("ORCH-002", "BLOCKED", "P1", "b", "-"));
    let p = home(&q);
    let d = start(&p, &[]);
    settled(&p, &[]);
    // An editor opened the file; the database moves on; the editor saves its buffer
    // with a status the database also changed, and another row's priority.
    let buffer = p.queue_md();
    p.ok(&["retry", "ORCH-001"]);
    assert!(wait_until(secs(20), || status(&p, &[], "ORCH-001").as_deref() == Some("DONE")));
    settled(&p, &[]);
    let saved = buffer
        .replace("| ORCH-001 | BLOCKED | P1 |", "| ORCH-001 | FAILED | P1 |")
        .replace("| ORCH-002 | BLOCKED | P1 |", "| ORCH-002 | BLOCKED | P0 |");
    save_by_rename(&p, &saved);
    assert!(wait_until(secs(20), || p.queue_md().contains("<!-- orch: not imported:")), "{}", d.stderr());
    let text = p.queue_md();
    assert!(text.contains("ORCH-001: QUEUE.md and the database both changed status"), "{text}");
    // Refused whole: the other row's edit is not taken either.
    assert_eq!(task(&p, &[], "ORCH-002").unwrap()["priority"], "P1");
    assert_eq!(status(&p, &[], "ORCH-001").as_deref(), Some("DONE"));
    assert_eq!(events(&p, &[], "import.refused").len(), 1);
    let (code, _, err) = p.run(&["check"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("QUEUE.md: not imported: QUEUE.md:"), "{err}");
    let (code, out, _) = p.run(&["check", "--json"]);
    assert_eq!(code, 3);
    let json: Value = serde_json::from_str(&out).unwrap();
    assert!(json["drift"][0]["what"].as_str().unwrap().starts_with("not imported: QUEUE.md:"), "{json}");
    // The person lets the database have ORCH-001 (a row left out is no change): the
    // rest imports, and the block goes.
    let fixed: String = p.queue_md().split_inclusive('\n').filter(|l| !l.starts_with("| ORCH-001 |")).collect();
    save_by_rename(&p, &fixed);
    assert!(wait_until(secs(20), || task(&p, &[], "ORCH-002").is_some_and(|t| t["priority"] == "P0")));
    assert_eq!(status(&p, &[], "ORCH-001").as_deref(), Some("DONE"));
    settled(&p, &[]);
    assert!(!p.queue_md().contains("orch: not imported"));
    stop(d);
}

#[test]
fn a_stale_copy_saved_over_queue_md_changes_no_task() {
    let q =
        format!("{HEADER}{}{}", row("ORCH-001", "BLOCKED", "P1", "a", "-"), row("ORCH-002", "BLOCKED", "P1", "b", "-"));
    let p = home(&q);
    let d = start(&p, &[]);
    settled(&p, &[]);
    let stale = p.queue_md();
    p.ok(&["note", "ORCH-001", "newer"]);
    p.ok(&["retry", "ORCH-002"]);
    assert!(wait_until(secs(20), || status(&p, &[], "ORCH-002").as_deref() == Some("DONE")));
    settled(&p, &[]);
    save_by_rename(&p, &stale);
    // Taken as stale, and the file written anew from the database.
    assert!(wait_until(secs(20), || p.queue_md() != stale), "the stale copy stayed: {}", d.stderr());
    settled(&p, &[]);
    assert_eq!(status(&p, &[], "ORCH-002").as_deref(), Some("DONE"));
    assert!(task(&p, &[], "ORCH-001").unwrap()["notes"].as_str().unwrap().contains("newer"));
    assert!(events(&p, &[], "task.edited").is_empty());
    assert!(events(&p, &[], "import.refused").is_empty());
    stop(d);
}

#[test]
fn a_hundred_rapid_saves_end_in_the_last_one() {
    let p = home(&format!("{HEADER}{}", row("ORCH-001", "BLOCKED", "P1", "a", "-")));
    let d = start(&p, &[]);
    settled(&p, &[]);
    let base = p.queue_md();
    for i in 0..100 {
        let text = base.replace(
            "| ORCH-001 | BLOCKED | P1 | a | - | - | - | - | - |",
            row("ORCH-001", "BLOCKED", "P1", "a", &format!("save {i}")).trim_end(),
        ) + &row("ORCH-050", "BLOCKED", "P2", &format!("v{i}"), "-");
        assert_ne!(text, base);
        // Every other save written in place, the rest (the last among them) renamed.
        if i % 2 == 0 {
            p.write("QUEUE.md", &text);
        } else {
            save_by_rename(&p, &text);
        }
        // Now and then a pause long enough for an import between saves.
        if i % 25 == 24 {
            std::thread::sleep(Duration::from_millis(400));
        }
    }
    let last = |p: &Project| {
        task(p, &[], "ORCH-001").is_some_and(|t| t["notes"] == "save 99")
            && task(p, &[], "ORCH-050").is_some_and(|t| t["task"] == "v99")
    };
    assert!(wait_until(secs(30), || last(&p)), "not the last save: {}", d.stderr());
    settled(&p, &[]);
    let list = p.json(&["list"]);
    let ids: Vec<&str> = list.as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["ORCH-001", "ORCH-050"]);
    assert_eq!(events(&p, &[], "task.imported").len(), 2, "ORCH-001 at init, ORCH-050 once");
    assert!(events(&p, &[], "import.refused").is_empty());
    stop(d);
}

#[test]
fn off_in_the_config_a_save_waits_for_import() {
    let p = home(&format!("{HEADER}{}", row("ORCH-001", "BLOCKED", "P1", "a", "-")));
    p.set_config("import_on_save", "false");
    let d = start(&p, &[]);
    settled(&p, &[]);
    save_by_rename(&p, &(p.queue_md() + &row("ORCH-002", "BLOCKED", "P1", "b", "-")));
    std::thread::sleep(Duration::from_millis(1000));
    assert!(task(&p, &[], "ORCH-002").is_none());
    assert_eq!(p.run(&["check"]).0, 3);
    p.ok(&["import"]);
    assert!(task(&p, &[], "ORCH-002").is_some());
    stop(d);
}

#[test]
fn a_read_only_view_is_never_imported_on_save() {
    let p = home(&format!("{HEADER}{}", row("ORCH-001", "BLOCKED", "P1", "a", "-")));
    let mut d = p
        .command(&["run"])
        .env("ORCH_QUEUE_MD_READ_ONLY", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(p.file("run.err")).unwrap())
        .spawn()
        .unwrap();
    let lock = p.file(".orch/orch.db.dispatcher.lock");
    assert!(wait_until(secs(20), || std::fs::read_to_string(&lock).is_ok_and(|s| !s.is_empty())));
    save_by_rename(&p, &(p.queue_md() + &row("ORCH-002", "PENDING", "P1", "b", "-")));
    // A task added afterwards runs, and the view written then saves the edit aside as
    // drift: the row was never a task.
    p.ok(&["add", "after the save"]);
    assert!(wait_until(secs(20), || status(&p, &[], "ORCH-002").as_deref() == Some("DONE")));
    assert_eq!(task(&p, &[], "ORCH-002").unwrap()["task"], "after the save");
    assert!(events(&p, &[], "task.imported").iter().all(|e| e["task_id"] == "ORCH-001"));
    assert!(events(&p, &[], "import.refused").is_empty(), "not even tried");
    assert!(wait_until(secs(20), || std::fs::read_dir(p.file(".orch/drift")).is_ok_and(|mut d| d.next().is_some())));
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(d.id() as i32), Signal::SIGTERM).unwrap();
    assert_eq!(d.wait().unwrap().code(), Some(0));
    let err = p.read("run.err");
    assert!(!err.contains("not imported"), "{err}");
    assert!(err.contains("read-only output; edits to it were drift"), "{err}");
}

#[test]
fn on_postgres_each_host_imports_its_own_view_on_save() {
    let Some(db) = crate::postgres::TestDb::create("import_on_save") else { return };
    let p = home(&format!("{HEADER}{}", row("ORCH-001", "BLOCKED", "P1", "held", "-")));
    p.ok(&["migrate", "--to", &db.url]);
    let on: &[&str] = &["--db", &db.url];
    let mut args = on.to_vec();
    args.extend(["export", "--force"]);
    p.ok(&args);
    let d = start(&p, on);
    settled(&p, on);
    let text = p.queue_md().replace("| ORCH-001 | BLOCKED | P1 |", "| ORCH-001 | BLOCKED | P0 |")
        + &row("ORCH-002", "PENDING", "P1", "on postgres", "-");
    save_by_rename(&p, &text);
    assert!(
        wait_until(secs(30), || status(&p, on, "ORCH-002").as_deref() == Some("DONE")),
        "not imported on PostgreSQL: {}",
        d.stderr()
    );
    assert_eq!(task(&p, on, "ORCH-001").unwrap()["priority"], "P0");
    settled(&p, on);
    stop(d);
}
