//! One time syntax everywhere: `add --due`, `replan --due` and `quick`'s `due:` read the
//! same forms to the same instant, and give the same warning for a time in the past.

use crate::common::Project;

/// The due time `add --due VALUE` stores.
fn add_due(p: &Project, value: &str) -> String {
    p.json(&["add", "t", "--due", value])["due_at"].as_str().unwrap_or_else(|| panic!("{value}: no due_at")).into()
}

/// The due time `replan ID --due VALUE` stores.
fn replan_due(p: &Project, id: &str, value: &str) -> String {
    let v = p.json(&["replan", id, "--reason", "move", "--due", value]);
    v["due_at"].as_str().unwrap_or_else(|| panic!("{value}: no due_at")).into()
}

/// The due time `quick "t due:VALUE"` stores.
fn quick_due(p: &Project, value: &str) -> String {
    let v = p.json(&["quick", &format!("t due:{value}")]);
    assert_eq!(v["added"]["task"], "t", "{value}: the time words are not task text");
    v["added"]["due_at"].as_str().unwrap_or_else(|| panic!("{value}: no due_at")).into()
}

#[test]
fn add_replan_and_quick_read_every_form_to_the_same_instant() {
    let p = Project::init(None);
    let id = p.json(&["add", "to move"])["id"].as_str().unwrap().to_string();
    // Forms that name the same instant in the default zone (Asia/Seoul).
    let same = [
        vec![
            "2026-12-24 09:00",
            "2026-12-24T09:00",
            "2026-12-24T00:00:00Z",
            "2026-12-24T09:00:00+09:00",
            "2026-12-24 9am",
        ],
        vec!["2026-12-24", "2026-12-24 18:00", "2026-12-24 오후 6시", "2026-12-24 6pm"],
        vec!["tomorrow 9am", "내일 9시", "내일 오전 9시", "tomorrow 09:00", "내일 9:00"],
        vec!["모레 15:00", "모레 오후 3시", "모레 3pm", "모레 15시"],
        vec!["today 23:59", "오늘 23:59", "오늘 오후 11시59분"],
    ];
    for group in same {
        let want = add_due(&p, group[0]);
        for form in &group {
            assert_eq!(add_due(&p, form), want, "add --due {form}");
            assert_eq!(replan_due(&p, &id, form), want, "replan --due {form}");
            assert_eq!(quick_due(&p, form), want, "quick due:{form}");
        }
    }
    // Relative forms land in order, the same in each command.
    for form in ["+30m", "+3h", "+2d"] {
        let (a, r, q) = (add_due(&p, form), replan_due(&p, &id, form), quick_due(&p, form));
        // As instants: RFC 3339 text does not sort as time ("…:00Z" > "…:00.5Z").
        let at = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
        assert!(at(&a) <= at(&r) && at(&r) <= at(&q), "{form}: {a} {r} {q}");
    }
    assert_eq!(quick_due(&p, "\"2026-12-24 09:00\""), "2026-12-24T00:00:00Z");
}

#[test]
fn a_due_time_in_the_past_is_kept_with_the_same_warning_in_every_command() {
    let p = Project::init(None);
    let id = p.json(&["add", "to move"])["id"].as_str().unwrap().to_string();
    let want =
        "orch: warning: due time `2020-01-02 09:00` (2020-01-02 09:00 Asia/Seoul) is in the past; the task is due now";
    for args in [
        vec!["add", "old", "--due", "2020-01-02 09:00"],
        vec!["replan", &id, "--reason", "r", "--due", "2020-01-02 09:00"],
        vec!["quick", "old due:2020-01-02 09:00"],
    ] {
        let (code, _, err) = p.run(&args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    // A future time says nothing.
    let (code, _, err) = p.run(&["add", "new", "--due", "+1h"]);
    assert_eq!((code, err.as_str()), (0, ""));
}

#[test]
fn a_time_no_form_reads_is_bad_usage_naming_the_flag_and_the_forms() {
    let p = Project::init(None);
    let id = p.json(&["add", "to move"])["id"].as_str().unwrap().to_string();
    for (args, name) in [
        (vec!["add", "x", "--due", "someday"], "--due `someday`"),
        (vec!["add", "x", "--due", "내일 25:00"], "--due `내일 25:00`"),
        (vec!["replan", &id, "--reason", "r", "--due", "tomorrow 13pm"], "--due `tomorrow 13pm`"),
        (vec!["quick", "x due:someday"], "due:someday"),
    ] {
        let (code, _, err) = p.run(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(name) && err.contains("tomorrow 9am"), "{args:?}: {err}");
    }
    assert_eq!(p.json(&["list"]).as_array().unwrap().len(), 1, "nothing added");
}
