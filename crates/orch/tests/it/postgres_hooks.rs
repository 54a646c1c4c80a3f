//! Hooks on a PostgreSQL queue: a hook is told where the database is (`ORCH_DB`), so
//! `orch show` in it reads the task's new status from the same queue. Skipped like the
//! rest of the PostgreSQL tests without `ORCH_TEST_PG`.

use crate::common::Project;
use crate::postgres::TestDb;

#[test]
fn a_hook_reads_the_committed_change_from_the_same_postgresql_queue() {
    let Some(db) = TestDb::create("hooks_pg") else { return };
    let p = Project::init_plain(None);
    p.set_config("command", r#"["true"]"#);
    p.set_config("file", r#""""#);
    let orch = env!("CARGO_BIN_EXE_orch");
    p.write(
        "hook.sh",
        &format!(
            "seen=$('{orch}' show \"$ORCH_TASK_ID\" --json | tr -d ' \\n' | grep -o '\"status\":\"[A-Z_]*\"' | cut -d'\"' -f4)\n\
             echo \"$ORCH_EVENT $ORCH_TASK_ID $seen\" >> hooks.log\n"
        ),
    );
    let path = p.file(".orch/orch.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("[hooks]\n", "[hooks]\non_done = [\"sh\", \"hook.sh\"]\n", 1)).unwrap();
    p.ok(&["--db", &db.url, "add", "one"]);
    p.ok(&["--db", &db.url, "add", "two"]);
    p.ok(&["--db", &db.url, "run", "--until-idle", "--max-wait", "0s", "--quiet"]);
    let mut lines = p.lines("hooks.log");
    lines.sort();
    assert_eq!(lines, ["done ORCH-001 DONE", "done ORCH-002 DONE"]);
}
