//! Speed of the QUEUE.md view at 10,000 rows: the real `Orch::export` and `Orch::import`
//! on a real SQLite file in a temporary folder, beside the pure parse and render of the
//! same rows for comparison. The goal is under 20 ms for each. Quick by default (10
//! samples, short measurement); `cargo bench -p orch-queue --bench queue_md`.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use orch::config::DEFAULT_TOML;
use orch::home::Home;
use orch::ops::{Options, Orch};
use orch_core::queue_md::{RowOut, parse, render_row};
use orch_core::task::Task;
use orch_core::task_row::{read_rows, task_cells};
use std::path::Path;
use std::time::Duration;

const SEED: &str = include_str!("../../../tests/fixtures/seed_queue.md");
const ROWS: usize = 10_000;

/// The seed with its 26 rows repeated to `n` rows under new ids, every row kept in the
/// view (`done_kept` is set high enough where it matters).
fn big_queue(n: usize) -> String {
    let doc = parse(SEED).expect("the seed parses");
    let id_col = doc.column("id").expect("id column");
    let mut rows = Vec::with_capacity(n);
    for i in 0..n {
        let mut cells = doc.rows[i % doc.rows.len()].cells.clone();
        cells[id_col] = format!("ORCH-{:05}", i + 1);
        rows.push(render_row(&cells));
    }
    let out: Vec<RowOut<'_>> = rows.iter().map(|r| RowOut::Raw { raw: r, eol: "\n" }).collect();
    doc.render(&out)
}

/// A project folder with `.orch/` (config keeping every row in the view) and, if
/// given, QUEUE.md.
fn project(queue: Option<&str>) -> (tempfile::TempDir, Orch) {
    let dir = tempfile::tempdir().expect("temp dir");
    let home = Home { dir: dir.path().join(".orch") };
    home.create().expect("create .orch");
    let toml = DEFAULT_TOML
        .replace("done_kept = 50", &format!("done_kept = {ROWS}"))
        .replace("open_kept = 300", "open_kept = 0");
    std::fs::write(home.config_path(), toml).expect("write config");
    if let Some(q) = queue {
        std::fs::write(dir.path().join("QUEUE.md"), q).expect("write QUEUE.md");
    }
    let orch = Orch::create(home, &Options::default()).expect("open queue");
    (dir, orch)
}

fn import_view(orch: &Orch) {
    let (summary, warnings) = orch.import(None, false).expect("import");
    assert!(warnings.is_empty(), "{warnings:?}");
    std::hint::black_box(summary);
}

fn pure(c: &mut Criterion, text: &str) {
    let tz = jiff::tz::TimeZone::get("Asia/Seoul").expect("zone");
    c.bench_function("pure/parse 10k", |b| b.iter(|| parse(text).expect("parses")));
    c.bench_function("pure/parse+read_rows 10k", |b| {
        b.iter(|| {
            let doc = parse(text).expect("parses");
            let rows = read_rows(&doc, &tz).expect("rows read");
            std::hint::black_box(&rows);
            rows.len()
        })
    });
    let doc = parse(text).expect("parses");
    let tasks: Vec<Task> = read_rows(&doc, &tz)
        .expect("rows")
        .into_iter()
        .map(|r| {
            let mut t = Task::new(r.id.to_string(), r.task.to_string(), r.priority, 4, jiff::Timestamp::UNIX_EPOCH);
            r.apply_to(&mut t);
            t
        })
        .collect();
    c.bench_function("pure/render 10k canonical rows", |b| {
        b.iter(|| {
            let lines: Vec<String> = tasks.iter().map(|t| render_row(&task_cells(t, &doc.columns, &tz))).collect();
            let rows: Vec<RowOut<'_>> = lines.iter().map(|l| RowOut::Raw { raw: l, eol: "\n" }).collect();
            doc.render(&rows)
        })
    });
}

fn sync(c: &mut Criterion, text: &str) {
    // A queue that holds the 10,000 tasks and whose QUEUE.md shows them.
    let (_dir, orch) = project(Some(text));
    import_view(&orch);
    let view = orch.queue_file().map(Path::to_path_buf).expect("view file");
    assert_eq!(std::fs::read_to_string(&view).expect("view"), text, "the import round-trips");

    c.bench_function("sync/export 10k-row view", |b| b.iter(|| orch.export(None, false, false).expect("export")));
    let other = view.with_file_name("export.md");
    c.bench_function("sync/export 10k-row view to another file", |b| {
        b.iter(|| orch.export(Some(&other), false, false).expect("export"))
    });
    assert_eq!(std::fs::read_to_string(&other).expect("export.md"), text);
    c.bench_function("sync/import 10k-row file, unchanged", |b| b.iter(|| import_view(&orch)));
    // Each iteration edits one row of the view as it is, the next row each time: its
    // text takes a new number, a value the view never showed (a line it showed before
    // is stale, not an edit). In a queue of its own, since the edits stay.
    let (_edit_dir, edit_orch) = project(Some(text));
    import_view(&edit_orch);
    let edit_view = edit_orch.queue_file().map(Path::to_path_buf).expect("view file");
    let n = std::cell::Cell::new(0usize);
    c.bench_function("sync/import 10k-row file, one row edited", |b| {
        b.iter_batched(
            || {
                n.set(n.get() + 1);
                let now = std::fs::read_to_string(&edit_view).expect("the view");
                let id = format!("| ORCH-{:05} |", n.get() % ROWS + 1);
                let shown = now.lines().find(|l| l.starts_with(&id)).expect("the row");
                let mut cells: Vec<String> = shown.split(" | ").map(str::to_string).collect();
                cells[3] = format!("{} #{}", cells[3], n.get());
                let edited = now.replacen(shown, &cells.join(" | "), 1);
                std::fs::write(&edit_view, edited).expect("write the edit");
            },
            |()| import_view(&edit_orch),
            BatchSize::PerIteration,
        );
    });
    c.bench_function("sync/import 10k-row file into an empty queue", |b| {
        b.iter_batched(|| project(Some(text)), |(_dir, orch)| import_view(&orch), BatchSize::PerIteration)
    });
    check_round_trip(&view, text);
}

fn check_round_trip(view: &Path, text: &str) {
    assert_eq!(std::fs::read_to_string(view).expect("view"), text, "benchmarks leave the view as it was");
}

fn benches(c: &mut Criterion) {
    let text = big_queue(ROWS);
    pure(c, &text);
    sync(c, &text);
}

criterion_group! {
    name = queue_md;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    targets = benches
}
criterion_main!(queue_md);
