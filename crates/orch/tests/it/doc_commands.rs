//! The documents' commands, run for real: every ```sh and ```bash block of the README,
//! the quickstart, the checklist, the runbook (and their Korean versions), the worker
//! protocol and the continuous-work page runs under `bash -e` with the built `orch` first on PATH, against a scratch
//! queue, and fails the test when a command fails. A block whose first line is
//! `# example: not run` is skipped (it installs, waits, needs a server or names
//! placeholders); `# example: empty folder` runs it in a folder with no queue yet.
//! Every other block runs in a project folder whose queue holds ORCH-001…ORCH-010,
//! PENDING, with a sample worker that succeeds. And the documents are self-contained:
//! none of them, nor a code comment, points to a design file outside the repo.

use crate::common::{ORCH_BIN, Project, queue_of};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The documents whose command blocks must run.
const DOCS: &[&str] = &[
    "README.md",
    "docs/QUICKSTART.ko.md",
    "docs/CHECKLIST.md",
    "docs/CHECKLIST.ko.md",
    "docs/RUNBOOK.md",
    "docs/RUNBOOK.ko.md",
    "docs/WORKER_PROTOCOL.md",
    "docs/CONTINUOUS_WORK.md",
];

const NOT_RUN: &str = "# example: not run";
const EMPTY_FOLDER: &str = "# example: empty folder";

/// A block longer than this is stuck (a dispatcher left running): it should be marked.
const BLOCK_LIMIT: Duration = Duration::from_secs(20);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The shell blocks of a Markdown text: (line of the opening fence, the block's text).
/// A fence opens with its language (```sh); only a bare fence closes one, as in
/// CommonMark, so a ```sh line inside another block is that block's text.
fn shell_blocks(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut open: Option<(usize, String)> = None;
    let mut in_other = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        let bare_fence = t == "```";
        if let Some((_, body)) = &mut open {
            if bare_fence {
                out.push(open.take().expect("an open block"));
            } else {
                body.push_str(line);
                body.push('\n');
            }
        } else if in_other {
            in_other = !bare_fence;
        } else if let Some(lang) = t.strip_prefix("```") {
            if lang == "sh" || lang == "bash" {
                open = Some((i + 1, String::new()));
            } else {
                in_other = true;
            }
        }
    }
    out
}

/// A project folder whose queue holds ten PENDING tasks and a worker that succeeds.
fn prepared_queue() -> Project {
    let p = Project::init(Some(&queue_of(10)));
    let worker = p.file("worker.sh");
    std::fs::write(&worker, "#!/bin/sh\necho \"- $ORCH_TASK_ID done\"\necho 'Risks: none'\n").expect("write worker");
    std::fs::set_permissions(&worker, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod worker");
    p.set_config("command", &format!("[\"{}\"]", worker.display()));
    p
}

/// Runs one block under `bash -e -o pipefail` in `dir`; (exit code, stdout and stderr).
fn run_block(dir: &Path, block: &str) -> (Option<i32>, String) {
    let bin = Path::new(ORCH_BIN).parent().expect("the binary's folder");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let log = dir.join(".doc_block.log");
    let file = std::fs::File::create(&log).expect("block log");
    let mut child = std::process::Command::new("bash")
        .args(["-e", "-o", "pipefail", "-c", block])
        .current_dir(dir)
        .env("PATH", path)
        .env("RUST_BACKTRACE", "0")
        .env_remove("ORCH_HOME")
        .env_remove("ORCH_DB")
        .env_remove("ORCH_QUEUE_MD")
        .env_remove("ORCH_QUEUE_MD_READ_ONLY")
        .env_remove("ORCH_LEASE_TOKEN")
        .env_remove("ORCH_RUN_ID")
        .stdin(std::process::Stdio::null())
        .stdout(file.try_clone().expect("log handle"))
        .stderr(file)
        .spawn()
        .expect("start bash");
    let until = Instant::now() + BLOCK_LIMIT;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for bash") {
            break Some(s);
        }
        if Instant::now() >= until {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = std::fs::read_to_string(&log).unwrap_or_default();
    (status.and_then(|s| s.code()), out)
}

/// Runs every block of `doc` that is not marked; (blocks run, one message per failure).
fn run_doc(doc: &str) -> (usize, Vec<String>) {
    let text = std::fs::read_to_string(repo().join(doc)).unwrap_or_else(|e| panic!("{doc}: {e}"));
    let mut failures = Vec::new();
    let mut ran = 0;
    for (line, block) in shell_blocks(&text) {
        let first = block.lines().next().unwrap_or("").trim();
        if first.starts_with(NOT_RUN) {
            continue;
        }
        let project = if first.starts_with(EMPTY_FOLDER) { Project::empty() } else { prepared_queue() };
        let (code, out) = run_block(project.path(), &block);
        ran += 1;
        match code {
            Some(0) => {}
            Some(c) => failures.push(format!("{doc}:{line}: exit {c}\n{block}--- output:\n{out}")),
            None => failures.push(format!(
                "{doc}:{line}: still running after {}s (mark it `{NOT_RUN}`)\n{block}--- output:\n{out}",
                BLOCK_LIMIT.as_secs()
            )),
        }
    }
    (ran, failures)
}

#[test]
fn every_shell_block_of_the_operator_documents_runs() {
    // One thread per document: each block has a queue of its own, and most of a block's
    // time is spent waiting for the disk.
    let results: Vec<(usize, Vec<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = DOCS.iter().map(|doc| s.spawn(move || run_doc(doc))).collect();
        handles.into_iter().map(|h| h.join().expect("a document's thread")).collect()
    });
    let ran: usize = results.iter().map(|(n, _)| n).sum();
    let failures: Vec<String> = results.into_iter().flat_map(|(_, f)| f).collect();
    assert!(failures.is_empty(), "{} of {ran} blocks failed:\n\n{}", failures.len(), failures.join("\n\n"));
    assert!(ran >= 10, "only {ran} blocks ran: the documents lost their examples, or the reader its way");
}

#[test]
fn shell_blocks_are_found_and_other_fences_are_not() {
    let text = "a\n```sh\norch status\n```\n```text\n```sh\n```\n```bash\n# example: not run\nx\n```\n```\n```\n";
    let blocks = shell_blocks(text);
    assert_eq!(blocks, vec![(2, "orch status\n".to_string()), (8, "# example: not run\nx\n".to_string())]);
}

/// Files under `dir` (recursively) whose names end with one of `exts`.
fn files(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            if !path.ends_with("target") {
                files(&path, exts, out);
            }
        } else if exts.iter().any(|e| path.to_string_lossy().ends_with(e)) {
            out.push(path);
        }
    }
}

#[test]
fn the_documents_and_comments_point_to_no_design_file_outside_the_repo() {
    let root = repo();
    let mut paths = vec![root.join("README.md")];
    files(&root.join("docs"), &[".md", ".sh"], &mut paths);
    files(&root.join("crates"), &[".rs"], &mut paths);
    let mut found = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for (i, line) in text.lines().enumerate() {
            // Spelled apart, so that this file does not name them itself.
            if line.contains(concat!("DESIGN", ".md")) || line.contains('\u{a7}') {
                found.push(format!("{}:{}: {line}", path.display(), i + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "a reference to a design file outside the repo (link the repo's own doc):\n{}",
        found.join("\n")
    );
}
