//! `orch init --prefix ID --timezone ZONE`: the config written with them, a QUEUE.md
//! read in that zone, a bad value refused with nothing created.

use crate::common::Project;

#[test]
fn init_takes_a_prefix_and_a_zone_and_says_the_kst_columns_stay() {
    let p = Project::empty();
    let (code, out, err) = p.run(&["init", "--prefix", "JOB", "--timezone", "Europe/Berlin"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("`started_at_kst` and `due_at_kst`") && out.contains("Europe/Berlin"), "{out}");
    let toml = p.read(".orch/orch.toml");
    assert!(toml.contains("prefix = \"JOB\"") && toml.contains("timezone = \"Europe/Berlin\""), "{toml}");
    let added = p.json(&["add", "x", "--due", "2026-12-24 09:00"]);
    assert_eq!(added["id"], "JOB-001");
    assert_eq!(added["due_at"], "2026-12-24T08:00:00Z", "the due time is read in Berlin");
    assert!(p.queue_md().contains("| 2026-12-24 09:00 |"), "{}", p.queue_md());
    // The default zone says nothing of the columns.
    let q = Project::empty();
    let out = q.ok(&["init", "--prefix", "OPS"]);
    assert!(!out.contains("_kst"), "{out}");
    assert_eq!(q.json(&["add", "y"])["id"], "OPS-001");
}

#[test]
fn a_queue_md_found_by_init_is_read_in_the_zone_given() {
    let p = Project::empty();
    p.write(
        "QUEUE.md",
        "| id | status | priority | task | success_criteria | owner_session | started_at_kst | due_at_kst | notes |\n\
         |---|---|---|---|---|---|---|---|---|\n| ORCH-001 | PENDING | P1 | a | - | - | - | 2026-12-24 09:00 | - |\n",
    );
    p.ok(&["init", "--timezone", "UTC"]);
    assert_eq!(p.json(&["show", "ORCH-001"])["due_at"], "2026-12-24T09:00:00Z");
}

#[test]
fn a_bad_prefix_or_zone_is_bad_usage_and_creates_nothing() {
    let p = Project::empty();
    for (args, want) in [
        (vec!["init", "--prefix", "1a"], "--prefix `1a`"),
        (vec!["init", "--prefix", "A-B"], "--prefix `A-B`"),
        (vec!["init", "--timezone", "Mars/Base"], "--timezone `Mars/Base`"),
    ] {
        let (code, _, err) = p.run(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!p.file(".orch").exists(), "{args:?}: nothing created");
    }
}
