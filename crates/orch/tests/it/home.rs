//! Which queue a command works on, and that nothing but `init` makes one: `--home`,
//! `ORCH_HOME` and `--db` name an existing queue or are refused (exit 2) without
//! creating anything; the yes/no environment variables say yes or no, or are refused.

use crate::common::{Project, SEED};
use crate::db_state::run_env;

/// Every file and folder under `dir`, relative, sorted.
fn tree(dir: &std::path::Path) -> Vec<String> {
    fn walk(root: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            out.push(p.strip_prefix(root).unwrap().display().to_string());
            if p.is_dir() {
                walk(root, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn an_explicit_home_must_be_a_queue_and_a_project_folder_means_its_orch() {
    let p = Project::init(Some(SEED));
    let outside = Project::empty();
    let before = tree(p.path());
    let elsewhere = tree(outside.path());
    let sub = p.file("sub");
    std::fs::create_dir(&sub).unwrap();

    // A folder that is no queue: refused, and nothing is created anywhere.
    for dir in [sub.as_path(), outside.path()] {
        let d = dir.display().to_string();
        let (code, _, err) = p.run(&["--home", &d, "add", "oops"]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(&format!("no orch queue at {d}")) && err.contains("orch init"), "{err}");
        let (code, _, err) = run_env(&p, &["status"], &[("ORCH_HOME", &d)]);
        assert_eq!(code, 2, "ORCH_HOME={d}: {err}");
    }
    let (code, _, err) = p.run(&["--home", "/nonexistent/orch", "list"]);
    assert_eq!(code, 2, "{err}");
    std::fs::remove_dir(&sub).unwrap();
    assert_eq!(tree(p.path()), before, "nothing was created in the project");
    assert_eq!(tree(outside.path()), elsewhere);

    // The project folder stands for its .orch/, and .orch/ itself works as before.
    let root = p.path().display().to_string();
    let dot_orch = p.file(".orch").display().to_string();
    let in_project = p.json(&["--home", &root, "status"]);
    assert_eq!(in_project["total"], 26);
    assert_eq!(p.json(&["--home", &dot_orch, "status"])["total"], 26);
    let out = outside.orch(&["add", "from afar"]).env("ORCH_HOME", &root).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(p.json(&["show", "ORCH-027"])["task"], "from afar");
    assert!(p.queue_md().contains("| ORCH-027 | PENDING | P1 | from afar |"), "the project's own view");
    assert_eq!(tree(outside.path()), elsewhere, "no QUEUE.md beside the caller");
}

#[test]
fn only_init_creates_a_sqlite_database() {
    let p = Project::init(None);
    let typo = p.file("typo.db").display().to_string();
    let (code, _, err) = p.run(&["--db", &typo, "list"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("no orch queue at {typo}")), "{err}");
    assert!(!p.file("typo.db").exists(), "no empty database was made");
    let (code, _, err) = p.run(&["--db", &format!("sqlite://{typo}"), "add", "x"]);
    assert_eq!(code, 2, "{err}");
    assert!(!p.file("typo.db").exists());

    // A scheme orch does not speak is named as such, not as a missing file.
    for url in ["mysql://root:secret@db/orch", "redis://x"] {
        let (code, _, err) = p.run(&["--db", url, "list"]);
        assert_eq!(code, 2, "{url}: {err}");
        assert!(err.contains("not supported") && !err.contains("No such file"), "{err}");
        assert!(!err.contains("secret"), "the URL's password is not shown: {err}");
    }

    // A home whose database went away is not given a new, empty one.
    std::fs::remove_file(p.file(".orch/orch.db")).unwrap();
    let (code, _, err) = p.run(&["status"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no orch queue at") && err.contains("orch.db"), "{err}");
    assert!(!p.file(".orch/orch.db").exists());
    // `init` makes it again (the config is kept).
    let out = p.ok(&["init"]);
    assert!(out.contains("had no database"), "{out}");
    assert_eq!(p.json(&["status"])["total"], 0);

    // `init --db PATH` creates that database, and then it is the queue's.
    let q = Project::empty();
    let db = q.file("elsewhere.db").display().to_string();
    q.ok(&["--db", &db, "init"]);
    assert!(q.file("elsewhere.db").exists());
    q.ok(&["--db", &db, "add", "kept there"]);
    assert_eq!(q.json(&["--db", &db, "list"]).as_array().unwrap().len(), 1);
}

#[test]
fn the_read_only_flag_takes_yes_or_no_and_refuses_anything_else() {
    let p = Project::init(Some(SEED));
    for yes in ["1", "true", "yes", "TRUE", "Yes"] {
        let (code, _, err) = run_env(&p, &["import"], &[("ORCH_QUEUE_MD_READ_ONLY", yes)]);
        assert_eq!(code, 2, "{yes}: {err}");
        assert!(err.contains("read-only"), "{yes}: {err}");
    }
    for no in ["0", "false", "no", ""] {
        let (code, _, err) = run_env(&p, &["import"], &[("ORCH_QUEUE_MD_READ_ONLY", no)]);
        assert_eq!(code, 0, "{no:?}: {err}");
    }
    for bad in ["on", "2", "y", "enable"] {
        let (code, _, err) = run_env(&p, &["list"], &[("ORCH_QUEUE_MD_READ_ONLY", bad)]);
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(err.contains(&format!("ORCH_QUEUE_MD_READ_ONLY={bad}")) && err.contains("true"), "{err}");
    }
}

#[test]
fn init_never_writes_a_read_only_view_over_a_queue_md() {
    let p = Project::empty();
    p.write("QUEUE.md", SEED);
    let (code, _, err) = run_env(&p, &["init"], &[("ORCH_QUEUE_MD_READ_ONLY", "1")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("QUEUE.md") && err.contains("without ORCH_QUEUE_MD_READ_ONLY"), "{err}");
    assert_eq!(p.queue_md(), SEED, "the file is untouched");
    assert!(!p.file(".orch").exists(), "nothing was created");
    // The way out: import it first, then use the view read-only.
    p.ok(&["init"]);
    let (code, _, err) = run_env(&p, &["add", "after"], &[("ORCH_QUEUE_MD_READ_ONLY", "yes")]);
    assert_eq!(code, 0, "{err}");
    assert!(p.queue_md().starts_with(&SEED[..SEED.find("| ORCH-026 |").unwrap()]));
    // Without a QUEUE.md, a read-only init simply writes the view.
    let q = Project::empty();
    let (code, _, err) = run_env(&q, &["init"], &[("ORCH_QUEUE_MD_READ_ONLY", "1")]);
    assert_eq!(code, 0, "{err}");
    assert!(q.queue_md().contains("| id | status | priority | task |"));
}

#[test]
fn importing_a_file_that_is_not_there_is_bad_input() {
    let p = Project::init(None);
    let (code, _, err) = p.run(&["import", "missing.md"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("missing.md: no such file"), "{err}");
}

#[test]
fn the_help_names_the_default_database_file() {
    let p = Project::empty();
    for args in [&["--help"][..], &["migrate", "--help"][..]] {
        let out = p.orch(args).output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains(".orch/orch.db)"), "{args:?}:\n{help}");
        assert!(!help.contains("orch.db()"), "{args:?}:\n{help}");
    }
}
