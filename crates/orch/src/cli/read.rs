//! Read commands: list, show, status (a team as a tree), log.

use super::output::{Lines, clip, column_line, column_widths, print, print_value, time};
use crate::api::{self, Orch, StatusResult, TreeNode};
use crate::error::Result;
use orch_core::task::{FailedKind, Priority, Status};
use orch_core::time::{format_elapsed, format_from_now};

#[derive(clap::Args, Debug)]
pub struct ListArgs {
    /// Only these statuses (repeat, or separate with commas).
    #[arg(long, value_delimiter = ',', ignore_case = true, value_parser = super::values::status())]
    status: Vec<Status>,
    /// Only these priorities (repeat, or separate with commas).
    #[arg(long, short = 'p', value_delimiter = ',', ignore_case = true, value_parser = super::values::priority())]
    priority: Vec<Priority>,
    /// At most N tasks (default: all).
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
    /// Skip the first N tasks (default: 0).
    #[arg(long, value_name = "N", default_value_t = 0)]
    offset: u64,
    /// A JSON array, the tasks as `show --json` gives them.
    #[arg(long, conflicts_with = "jsonl")]
    json: bool,
    /// JSON Lines: one task per line, as compact JSON.
    #[arg(long)]
    jsonl: bool,
}

/// Text output sizes its columns by the first this many rows; later rows keep those
/// widths (a longer cell pushes the rest of its line along), so a listing of any length
/// is printed as it is read.
const WIDTHS_FROM: usize = 1000;

/// `list`: printed as the store reads the tasks (text, `--json`, `--jsonl`), in pick
/// order, so memory stays the same however long the queue.
pub fn list(orch: &Orch, a: &ListArgs) -> Result<i32> {
    let req = api::ListRequest {
        statuses: a.status.clone(),
        priorities: a.priority.clone(),
        limit: a.limit,
        offset: a.offset,
    };
    let mut out = Lines::default();
    if a.json || a.jsonl {
        // `--json`: the array `print_value` writes, an element at a time: `[`, each
        // element pretty and indented by two, `,` after all but the last, `]`. The last
        // element read waits for the next to know whether a comma follows.
        let mut last: Option<String> = None;
        api::list(orch, req, &mut |t| {
            let v = serde_json::to_value(&t).map_err(|e| crate::error::Error::Io(format!("JSON output: {e}")))?;
            if a.jsonl {
                out.json(&v.to_string());
                return Ok(());
            }
            let pretty = serde_json::to_string_pretty(&v).expect("JSON values serialise");
            let indented: Vec<String> = pretty.lines().map(|l| format!("  {l}")).collect();
            match last.replace(indented.join("\n")) {
                Some(before) => out.json(&format!("{before},")),
                None => out.json("["),
            }
            Ok(())
        })?;
        if a.json {
            match last {
                Some(before) => {
                    out.json(&before);
                    out.json("]");
                }
                None => out.json("[]"),
            }
        }
        out.finish();
        return Ok(0);
    }
    let header: Vec<String> =
        ["ID", "STATUS", "PRI", "DUE", "ATTEMPTS", "DEPENDS_ON", "TASK", "OWNER"].map(String::from).to_vec();
    let mut head: Vec<Vec<String>> = vec![header];
    let mut widths: Option<Vec<usize>> = None;
    let (now, tz) = (api::now(orch), api::time_zone(orch));
    api::list(orch, req, &mut |t| {
        let owner = t.owner_session.as_deref().unwrap_or("-");
        let deps = if t.depends_on.is_empty() { "-".to_string() } else { t.depends_on.join(",") };
        let row = vec![
            t.id.clone(),
            status_cell(&t, now, tz),
            t.priority.to_string(),
            time(t.due_at, tz),
            format!("{}/{}", t.attempts, t.max_attempts),
            clip(&deps, 30),
            clip(&t.task, 60),
            clip(owner, 30),
        ];
        match &widths {
            Some(w) => out.text(&column_line(&row, w)),
            None => {
                head.push(row);
                if head.len() == WIDTHS_FROM {
                    let w = column_widths(&head);
                    head.drain(..).for_each(|r| out.text(&column_line(&r, &w)));
                    widths = Some(w);
                }
            }
        }
        Ok(())
    })?;
    // The header alone is no listing: an empty page prints nothing.
    if head.len() > 1 {
        let w = column_widths(&head);
        head.iter().for_each(|r| out.text(&column_line(r, &w)));
    }
    out.finish();
    Ok(0)
}

/// A task's status as `list` and `show` print it: FAILED says which kind it is
/// (`FAILED: retry in 2s (…)`, `FAILED: retries exhausted`, `FAILED: permanent, not
/// retried`), a PENDING task with a not-before time ahead that it waits
/// (`PENDING: waiting, starts in 2h 5m (…)`).
fn status_cell(t: &api::TaskView, now: jiff::Timestamp, tz: &jiff::tz::TimeZone) -> String {
    if t.status == Status::Pending
        && let Some(at) = t.not_before.filter(|at| *at > now)
    {
        return format!("{}: waiting, starts {}", t.status, format_from_now(at, now, tz));
    }
    match FailedKind::of_parts(t.status, t.retry_at, t.attempts, t.max_attempts, t.notes.as_deref()) {
        Some(kind) => format!("{}: {}", t.status, kind.describe(now, tz)),
        None => t.status.to_string(),
    }
}

#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    /// The task: its id (ORCH-005, orch-005) or its number alone (5).
    #[arg(value_parser = super::limits::task_id)]
    id: String,
    /// Print the task as JSON.
    #[arg(long)]
    json: bool,
    /// Print only the task's last report, whole (without it: its first lines after the
    /// task).
    #[arg(long, conflicts_with = "json")]
    report: bool,
}

/// How many lines of the last report `show` prints after the task.
const REPORT_LINES: usize = 20;

pub fn show(orch: &Orch, a: &ShowArgs) -> Result<i32> {
    let shown = api::show(orch, api::ShowRequest { id: a.id.clone() })?;
    if a.json {
        return print_shown(orch, &shown, true);
    }
    let log = api::log(orch, api::LogRequest { id: shown.task.id.clone() })?;
    let last = log.runs.iter().rev().find_map(|r| r.report.as_deref().filter(|t| !t.trim().is_empty()).map(|t| (r, t)));
    if a.report {
        match last {
            Some((_, text)) => text.lines().for_each(print),
            None => crate::console::eprint(&format!("orch: {} has no report yet", shown.task.id)),
        }
        return Ok(0);
    }
    print_shown(orch, &shown, false)?;
    if let Some((run, text)) = last {
        let lines: Vec<&str> = text.lines().collect();
        print(&format!("report:           attempt {} ({})", run.attempt, run.id));
        lines.iter().take(REPORT_LINES).for_each(|l| print(&format!("  {l}")));
        if lines.len() > REPORT_LINES {
            let left = lines.len() - REPORT_LINES;
            print(&format!(
                "  … {left} more line{} (orch show {} --report)",
                if left == 1 { "" } else { "s" },
                shown.task.id
            ));
        }
    }
    Ok(0)
}

fn print_shown(orch: &Orch, shown: &api::Shown, json: bool) -> Result<i32> {
    if json {
        print_value(shown)?;
        return Ok(0);
    }
    shown_lines(orch, shown).iter().for_each(|l| print(l));
    Ok(0)
}

/// A task as `show` prints it, a line each.
fn shown_lines(orch: &Orch, shown: &api::Shown) -> Vec<String> {
    let mut out = Vec::new();
    let t = &shown.task;
    let tz = api::time_zone(orch);
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    out.push(format!("id:               {}", t.id));
    out.push(format!("status:           {}", status_cell(t, api::now(orch), tz)));
    out.push(format!("priority:         {}", t.priority));
    out.push(format!("task:             {}", t.task));
    out.push(format!("success_criteria: {}", opt(&t.success_criteria)));
    out.push(format!("owner:            {}", opt(&t.owner_session)));
    out.push(format!("started_at:       {}", time(t.started_at, tz)));
    out.push(format!("due_at:           {}", time(t.due_at, tz)));
    if let Some(at) = t.not_before {
        out.push(format!("not_before:       {}", time(Some(at), tz)));
    }
    out.push(format!("notes:            {}", opt(&t.notes)));
    out.push(format!("attempts:         {}/{}", t.attempts, t.max_attempts));
    if !t.depends_on.is_empty() {
        out.push(format!("depends_on:       {}", t.depends_on.join(", ")));
    }
    if let Some(r) = &t.resource {
        out.push(format!("resource:         {r}"));
    }
    if let Some(k) = &t.idempotency_key {
        out.push(format!("idempotency_key:  {k}"));
    }
    if let Some(l) = &t.lease {
        out.push(format!("lease expires:    {}", format_from_now(l.expires_at, api::now(orch), tz)));
    }
    let usage = orch_core::outcome::Usage {
        input_tokens: shown.input_tokens,
        output_tokens: shown.output_tokens,
        cost_usd: shown.cost_usd,
    };
    if !usage.is_zero() {
        out.push(format!(
            "usage:            {} in / {} out tokens, ${:.4}",
            usage.input_tokens, usage.output_tokens, usage.cost_usd
        ));
    }
    if let Some(w) = &shown.workspace {
        out.push(format!("branch:           {} (base {})", w.branch, w.base));
        let gone = if w.worktree_exists { "" } else { " (removed)" };
        out.push(format!("worktree:         {}{gone}", w.worktree));
        let landed = w.landed_commit.as_deref().map(|c| format!(" at {c}")).unwrap_or_default();
        out.push(format!("landing:          {}{landed}", w.landing));
    }
    out
}

#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    /// One task (a team as a tree): its id or its number alone; none: the whole queue.
    id: Option<String>,
    /// Print the counts, the task or the tree as JSON.
    #[arg(long, conflicts_with = "watch")]
    json: bool,
    /// Refresh in place until Ctrl-C (off a terminal: print again when it changes).
    #[arg(long)]
    watch: bool,
    /// With --watch, redraw at least this often (and at once on a change): 100ms to 1h.
    #[arg(long, value_name = "DUR", default_value = "2s", requires = "watch", value_parser = super::watch::interval)]
    interval: std::time::Duration,
}

pub fn status(orch: &Orch, a: &StatusArgs) -> Result<i32> {
    if a.watch {
        let req = api::StatusRequest { id: a.id.clone() };
        let title = match &a.id {
            Some(id) => format!("orch status {id}"),
            None => "orch status".to_string(),
        };
        return super::watch::watch(orch, &title, a.interval, || {
            Ok(status_lines(orch, &api::status(orch, req.clone())?))
        });
    }
    print_status(orch, &api::status(orch, api::StatusRequest { id: a.id.clone() })?, a.json)
}

/// `status [ID]`: the queue's counts; with an ID, that task, and a team (or any task with
/// dependencies) as a tree.
pub(super) fn print_status(orch: &Orch, status: &StatusResult, json: bool) -> Result<i32> {
    if json {
        match status {
            StatusResult::Tree(tree) => print_value(tree)?,
            StatusResult::Task(shown) => print_value(shown)?,
            StatusResult::Queue(s) => print_value(s)?,
        }
        return Ok(0);
    }
    status_lines(orch, status).iter().for_each(|l| print(l));
    Ok(0)
}

/// `status [ID]` as text, a line each.
fn status_lines(orch: &Orch, status: &StatusResult) -> Vec<String> {
    let s = match status {
        StatusResult::Tree(tree) => return tree_lines(tree),
        StatusResult::Task(shown) => return shown_lines(orch, shown),
        StatusResult::Queue(s) => s,
    };
    let mut out = Vec::new();
    let counts: Vec<String> = Status::ALL.iter().map(|st| format!("{st} {}", s.by_status[st.as_str()])).collect();
    out.push(format!("{} tasks: {}", s.total, counts.join(", ")));
    for p in Priority::ALL {
        if let Some(m) = s.by_priority.get(p.as_str()) {
            let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k} {v}")).collect();
            out.push(format!("  {p}: {}", parts.join(", ")));
        }
    }
    if !s.running.is_empty() {
        out.push(format!("running: {}", s.running.join(", ")));
    }
    if s.waiting > 0 {
        out.push(format!("waiting: {} PENDING not before their start time", s.waiting));
    }
    out.push(format!("next: {}", s.next.as_deref().unwrap_or("nothing eligible")));
    out.extend(s.paused.iter().map(|p| super::pause::line(orch, p)));
    if let Some(c) = &s.schedules {
        let paused = if c.paused > 0 { format!(" ({} paused)", c.paused) } else { String::new() };
        let next = match &c.next {
            Some(n) => format!(", next {} at {}", n.schedule, super::schedule::when(n.at, api::time_zone(orch))),
            None => String::new(),
        };
        out.push(format!("schedules: {}{paused}{next}", c.count));
    }
    out
}

/// A team as a tree: the lead (its text's first line as the title), then each member
/// with its role, status, attempts, runs, elapsed time and, when stopped, its last note.
fn tree_lines(root: &TreeNode) -> Vec<String> {
    fn widths(n: &TreeNode, depth: usize, w: &mut (usize, usize)) {
        w.0 = w.0.max(n.id.chars().count() + 3 * depth);
        w.1 = w.1.max(n.role.as_deref().unwrap_or("-").chars().count());
        n.children.iter().for_each(|c| widths(c, depth + 1, w));
    }
    fn lines(n: &TreeNode, lead: &str, rest: &str, w: (usize, usize), out: &mut Vec<String>) {
        let elapsed = n.elapsed_s.map_or_else(|| "-".to_string(), |s| format_elapsed(orch_core::time::secs_f64(s)));
        let elapsed = if n.status == Status::InProgress { format!("running {elapsed}") } else { elapsed };
        let note = match (n.status, &n.last_note) {
            (Status::Blocked | Status::Failed, Some(note)) => format!("  {note}"),
            _ => String::new(),
        };
        let label = format!("{lead}{}", n.id);
        let runs = if n.runs == 1 { "1 run ".to_string() } else { format!("{} runs", n.runs) };
        out.push(format!(
            "{label:<iw$}  {:<rw$}  {:<11}  attempts {}/{}  {runs}  {elapsed}{note}",
            n.role.as_deref().unwrap_or("-"),
            n.status.as_str(),
            n.attempts,
            n.max_attempts,
            iw = w.0,
            rw = w.1,
        ));
        for (i, c) in n.children.iter().enumerate() {
            let last = i + 1 == n.children.len();
            let (l, r) = if last { ("└─ ", "   ") } else { ("├─ ", "│  ") };
            lines(c, &format!("{rest}{l}"), &format!("{rest}{r}"), w, out);
        }
    }
    let mut w = (0, 0);
    widths(root, 0, &mut w);
    let mut out = vec![root.task.clone()];
    lines(root, "", "", w, &mut out);
    out.iter().map(|l| l.trim_end().to_string()).collect()
}

#[derive(clap::Args, Debug)]
pub struct LogArgs {
    /// The task: its id (ORCH-005, orch-005) or its number alone (5).
    #[arg(value_parser = super::limits::task_id)]
    id: String,
    /// Print the runs as a JSON array.
    #[arg(long)]
    json: bool,
}

/// The retry log of a task, generated from its runs: one line per attempt with its
/// owner, start, duration, outcome, failure class and reason, the gate's verdict, the
/// usage it reported and its trace id, and below it the folder of its files
/// (`stdout.log`, `stderr.log`, `task.json`; `(removed)` once pruned). Secrets are masked.
pub fn log(orch: &Orch, a: &LogArgs) -> Result<i32> {
    let log = api::log(orch, api::LogRequest { id: a.id.clone() })?;
    if a.json {
        print_value(&log)?;
        return Ok(0);
    }
    let runs = &log.runs;
    if runs.is_empty() {
        print(&format!("{}: no attempts yet", a.id));
    }
    for r in runs {
        let took =
            r.ended_at.map(|e| format_elapsed(e.duration_since(r.started_at))).unwrap_or_else(|| "running".into());
        let verdict = match (&r.verdict, &r.verdict_reason) {
            (Some(v), Some(why)) if !why.is_empty() => format!("{v} ({why})"),
            (Some(v), _) => v.clone(),
            (None, _) => "-".into(),
        };
        print(&format!(
            "#{} {} owner={} start={} took={} outcome={} class={} reason={} verdict={} tokens={}/{} cost=${:.4} trace={}",
            r.attempt,
            r.id,
            r.owner,
            orch_core::time::format_display_seconds(r.started_at, api::time_zone(orch)),
            took,
            r.outcome.as_deref().unwrap_or("-"),
            r.class.map_or("-", |c| c.as_str()),
            r.reason.as_deref().unwrap_or("-"),
            verdict,
            r.usage.input_tokens,
            r.usage.output_tokens,
            r.usage.cost_usd,
            r.trace_id
        ));
        let dir = api::run_dir(orch, &r.id);
        let gone = if dir.is_dir() { "" } else { " (removed)" };
        print(&format!("   files: {}{gone}", dir.display()));
        if let (Some(b), Some(w)) = (&r.branch, &r.worktree) {
            let landing = r.landing.as_deref().unwrap_or("not_landed");
            print(&format!("   workspace: branch={b} worktree={w} landing={landing}"));
        }
        if r.late_report.is_some() {
            print("   (a report arrived after the lease was lost; see log --json)");
        }
    }
    if !runs.is_empty() {
        let mut total = orch_core::outcome::Usage::default();
        runs.iter().for_each(|r| total.add(&r.usage));
        let n = runs.len();
        print(&format!(
            "total: {n} attempt{} tokens={}/{} cost=${:.4}",
            if n == 1 { "" } else { "s" },
            total.input_tokens,
            total.output_tokens,
            total.cost_usd
        ));
    }
    Ok(0)
}
