//! Where a task's run output is shown: `orch log` names each attempt's run folder (and
//! says when retention removed it), `orch show` prints the last report cut to a screen
//! saying how many lines it left out, `--report` prints it whole.

use crate::common::Project;
use crate::dispatch::worker;

/// A worker that fails its first attempt and then reports `n` numbered lines.
fn reporting(p: &Project, n: usize) {
    let script = format!(
        "if [ ! -f failed_once ]; then touch failed_once; echo 'first try' ; exit 1; fi\n\
         i=1; while [ $i -le {n} ]; do echo \"report line $i\"; i=$((i+1)); done\n"
    );
    worker(p, &script, &[]);
    p.set_config("backoff", r#"["0s"]"#);
}

fn run_ids(p: &Project, id: &str) -> Vec<String> {
    let runs = p.json(&["log", id]);
    runs.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect()
}

#[test]
fn log_names_the_run_folder_of_each_attempt() {
    let p = Project::init_plain(None);
    reporting(&p, 2);
    p.ok(&["add", "two attempts"]);
    p.ok(&["run", "--until-idle", "--max-wait", "5s", "--quiet"]);
    let runs = run_ids(&p, "ORCH-001");
    assert_eq!(runs.len(), 2, "{runs:?}");
    let log = p.ok(&["log", "ORCH-001"]);
    let home = p.path().join(".orch").canonicalize().unwrap();
    for (i, run) in runs.iter().enumerate() {
        let dir = home.join("runs").join(run);
        assert!(dir.join("stdout.log").is_file(), "{}", dir.display());
        let line = format!("   files: {}", dir.display());
        let at = log.find(&line).unwrap_or_else(|| panic!("{line} in:\n{log}"));
        let attempt = log.find(&format!("#{} {run}", i + 1)).unwrap();
        assert!(attempt < at, "the folder line follows its attempt:\n{log}");
    }
    assert!(p.read(&format!(".orch/runs/{}/stdout.log", runs[0])).contains("first try"));
}

#[test]
fn show_cuts_the_last_report_to_a_screen_and_report_prints_it_whole() {
    let p = Project::init_plain(None);
    reporting(&p, 45);
    p.ok(&["add", "long report"]);
    p.ok(&["run", "--until-idle", "--max-wait", "5s", "--quiet"]);
    let show = p.ok(&["show", "1"]);
    assert!(show.contains("report:           attempt 2"), "{show}");
    assert!(show.contains("  report line 1\n") && show.contains("  report line 20\n"), "{show}");
    assert!(!show.contains("report line 21"), "{show}");
    assert!(show.contains("… 25 more lines (orch show ORCH-001 --report)"), "{show}");
    assert!(!show.contains("first try"), "the last report only: {show}");
    let whole = p.ok(&["show", "1", "--report"]);
    let want: String = (1..=45).map(|i| format!("report line {i}\n")).collect();
    assert_eq!(whole, want);
    // JSON is unchanged; --report and --json do not go together.
    assert!(p.json(&["show", "1"]).get("report").is_none());
    assert_eq!(p.run(&["show", "1", "--report", "--json"]).0, 2);
}

#[test]
fn a_short_report_is_shown_whole_and_a_task_without_one_says_so() {
    let p = Project::init_plain(None);
    worker(&p, "echo 'all good'\n", &[]);
    p.ok(&["add", "short"]);
    p.ok(&["add", "never ran"]);
    p.ok(&["cancel", "2", "--reason", "not needed"]);
    p.ok(&["run", "--until-idle", "--max-wait", "0s", "--quiet"]);
    let show = p.ok(&["show", "1"]);
    assert!(show.contains("  all good") && !show.contains("more line"), "{show}");
    let (code, out, err) = p.run(&["show", "2", "--report"]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert!(err.contains("ORCH-002 has no report yet"), "{err}");
    assert!(!p.ok(&["show", "2"]).contains("report:"));
}
