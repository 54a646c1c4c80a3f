//! A property of import, checked over random interleavings (fixed seeds, so a failure
//! replays): database changes (add, pick, note, done, fail, cancel, retry, replan) and
//! copies of QUEUE.md taken at any moment and written back later, unchanged or with one
//! explicit edit. Import never undoes a database change it got no explicit edit for: an
//! unchanged copy changes nothing, and a copy with one edit changes that one column of
//! that one task, or is refused (exit 5) only when the database changed that same
//! column since the copy was taken. (An "edit" that writes a line the view showed
//! before is no edit: it is stale, and changes nothing either.)

use crate::common::{Project, Rng};
use crate::db_state::row_of;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// Every task by id, as `list --json` gives it.
fn tasks(p: &Project) -> BTreeMap<String, Value> {
    let list = p.json(&["list"]);
    list.as_array().unwrap().iter().map(|t| (t["id"].as_str().unwrap().to_string(), t.clone())).collect()
}

/// Runs a database change; a refusal (a lease lost, a task in the wrong state, nothing
/// to pick) is part of the game, an unexpected error or a panic is not.
fn change(p: &Project, args: &[&str]) -> (i32, String) {
    let (code, out, err) = p.run(args);
    assert!(![1, 101, -1].contains(&code), "orch {args:?}: {code}\n{err}");
    (code, out)
}

/// The cell of `column` in `row`.
fn cell(row: &str, column: usize) -> String {
    row.split('|').nth(column + 1).unwrap().trim().to_string()
}

/// One explicit edit of a copy: the task, the column (as `list --json` names it),
/// the value in the copy, and the new one.
struct Edit {
    id: String,
    field: &'static str,
    base: String,
    new: String,
}

fn one_seed(seed: u64, steps: usize) {
    let p = Project::init_plain(None);
    let mut rng = Rng(seed);
    for t in ["one", "two", "three"] {
        p.ok(&["add", t]);
    }
    let mut copies = vec![p.queue_md()];
    // Every row line the view has shown.
    let mut seen: HashSet<String> = HashSet::new();
    let mut leases: Vec<(String, String)> = Vec::new();
    for step in 0..steps {
        let ids: Vec<String> = tasks(&p).into_keys().collect();
        let id = rng.pick_some(&ids).cloned().unwrap();
        let text = format!("s{seed}-{step}");
        match rng.below(10) {
            0 => drop(change(&p, &["add", &text])),
            1 | 2 => {
                let owner = format!("w{}", rng.below(3));
                let (code, out) = change(&p, &["pick", "--owner", &owner, "--json"]);
                if code == 0 {
                    let c: Value = serde_json::from_str(&out).unwrap();
                    leases.push((c["id"].as_str().unwrap().into(), c["lease"]["token"].as_str().unwrap().into()));
                }
            }
            3 => drop(change(&p, &["note", &id, &text])),
            4 | 5 if !leases.is_empty() => {
                let (id, token) = leases.remove(rng.below(leases.len()));
                if rng.below(2) == 0 {
                    change(&p, &["done", &id, "--lease", &token]);
                } else {
                    change(&p, &["fail", &id, "--lease", &token, "--reason", &text]);
                }
            }
            6 => drop(change(&p, &["replan", &id, "--task", &text, "--reason", "r"])),
            7 => drop(change(&p, &["replan", &id, "--priority", ["P0", "P1", "P2"][rng.below(3)], "--reason", "r"])),
            8 => drop(change(&p, &[["cancel", "retry"][rng.below(2)], &id])),
            _ => copies.push(p.queue_md()),
        }
        seen.extend(p.queue_md().lines().filter(|l| l.starts_with("| ORCH-")).map(str::to_string));
        if rng.below(3) == 0 {
            let copy = rng.pick_some(&copies).cloned().unwrap();
            write_back(&p, &mut rng, &copy, step, &seen);
            seen.extend(p.queue_md().lines().filter(|l| l.starts_with("| ORCH-")).map(str::to_string));
        }
    }
}

/// Writes `copy` back, with one edit or none, imports it and checks the property.
fn write_back(p: &Project, rng: &mut Rng, copy: &str, step: usize, seen: &HashSet<String>) {
    let before = tasks(p);
    let rows: Vec<&str> = copy.lines().filter(|l| l.starts_with("| ORCH-")).collect();
    let edit = (rng.below(2) == 0).then(|| {
        let row = *rng.pick_some(&rows).unwrap();
        let id = cell(row, 0);
        let (field, column, new) = if rng.below(2) == 0 {
            ("task", 3, format!("edited {step}"))
        } else {
            let now = cell(row, 2);
            let other = ["P0", "P1", "P2"].into_iter().find(|p| *p != now).unwrap();
            ("priority", 2, other.to_string())
        };
        let base = cell(row, column);
        let mut cells: Vec<String> = row.split('|').map(str::to_string).collect();
        cells[column + 1] = format!(" {new} ");
        let edited_row = cells.join("|");
        (Edit { id, field, base, new }, row.to_string(), edited_row)
    });
    let text = match &edit {
        Some((_, row, edited_row)) => copy.replacen(row.as_str(), edited_row, 1),
        None => copy.to_string(),
    };
    p.write("QUEUE.md", &text);
    let (code, out, err) = p.run(&["import", "--json"]);
    let after = tasks(p);
    let edit = edit.filter(|(_, _, edited_row)| !seen.contains(edited_row));
    let Some((edit, _, _)) = edit else {
        assert_eq!(code, 0, "a copy without an edit imports: {err}\n{text}");
        let out: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(out["edited"], serde_json::json!([]), "{out}\n{text}");
        assert_eq!(after, before, "a copy without an edit changed the database:\n{text}");
        return;
    };
    let now = before[&edit.id][edit.field].as_str().unwrap().to_string();
    if code == 5 {
        assert_ne!(now, edit.base, "a refusal without a change of {} in the database: {err}\n{text}", edit.field);
        assert_eq!(after, before, "a refused import changed the database");
        p.ok(&["export", "--force"]);
        return;
    }
    assert_eq!(code, 0, "{err}\n{text}");
    let out: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(out["edited"], serde_json::json!([edit.id]), "{out}\n{text}");
    for (id, was) in &before {
        let mut is = after[id].clone();
        if *id == edit.id {
            assert_eq!(is[edit.field], edit.new.as_str(), "the edit is applied");
            is[edit.field] = was[edit.field].clone();
            is["updated_at"] = was["updated_at"].clone();
        }
        assert_eq!(&is, was, "{id}: a change the file did not ask for:\n{text}");
    }
    assert!(row_of(&p.queue_md(), &edit.id).contains(&edit.new), "the view shows the edit");
}

#[test]
fn import_never_undoes_a_database_change_it_got_no_edit_for() {
    for seed in [0x9e37_79b9_7f4a_7c15, 0x2545_f491_4f6c_dd1d, 0xdead_beef_cafe_f00d] {
        one_seed(seed, 40);
    }
}
