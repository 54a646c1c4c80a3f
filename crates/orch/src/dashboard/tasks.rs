//! The task list (a page of the tasks matching the filters and the search, in pick
//! order) and the task pane: the selected task's fields, dependencies, its branch,
//! worktree and landing state (`orch show`'s `workspace`), every attempt
//! with its outcome, class, verdict, tokens and cost, the last report, and the live end
//! of its run's stdout and stderr.

use super::app::{App, Detail};
use super::text::{cell, esc, fit, secs, tokens};
use super::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

/// Lines of a run's stdout and of its stderr shown at most.
const TAIL_LINES: usize = 12;

/// Draws the list; returns how many rows it has room for.
pub fn draw_list(f: &mut Frame, area: Rect, app: &App, theme: Theme) -> u64 {
    let status = app.status_filter.map_or("all", |s| s.as_str());
    let priority = app.priority_filter.map_or("all", |p| p.as_str());
    let mut title = format!(" Tasks {status} {priority} ");
    if !app.search.is_empty() {
        title.push_str(&format!("/{} ", fit(&app.search, 16)));
    }
    let block = Block::default().borders(Borders::ALL).border_style(theme.border()).title(title);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let w = usize::from(inner.width);
    let mut lines = Vec::new();
    if app.snap.page.is_empty() {
        lines.push(Line::styled("no task matches", theme.dim()));
    }
    for (i, t) in app.snap.page.iter().enumerate().take(usize::from(inner.height)) {
        let status = match t.status.as_str() {
            "IN_PROGRESS" => "RUN",
            s => &s[..4.min(s.len())],
        };
        let mut line = Line::from(vec![
            Span::raw(cell(&t.id, 10)),
            Span::raw(cell(t.priority.as_str(), 3)),
            Span::styled(cell(status, 5), theme.status(t.status)),
            Span::raw(fit(&t.task, w.saturating_sub(18))),
        ]);
        if i == app.selected {
            line = line.style(theme.selected());
        }
        lines.push(line);
    }
    f.render_widget(Paragraph::new(lines), inner);
    u64::from(inner.height)
}

/// Draws the selected task's pane, scrolled by `app.pane_scroll` lines.
pub fn draw_pane(f: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let (title, lines) = match &app.snap.detail {
        Some(d) => (format!(" {} ", esc(&d.shown.task.id)), pane_lines(d, theme)),
        None => (" Task ".to_string(), vec![Line::styled("no task selected", theme.dim())]),
    };
    let block = Block::default().borders(Borders::ALL).border_style(theme.border()).title(title);
    let p = Paragraph::new(lines).block(block).wrap(Wrap { trim: false }).scroll((app.pane_scroll, 0));
    f.render_widget(p, area);
}

fn field<'a>(name: &'a str, value: String, theme: Theme) -> Line<'a> {
    Line::from(vec![Span::styled(format!("{name}: "), theme.heading()), Span::raw(value)])
}

/// The pane's lines for a task.
pub fn pane_lines(d: &Detail, theme: Theme) -> Vec<Line<'static>> {
    let t = &d.shown.task;
    let or_dash = |v: &Option<String>| v.as_deref().map_or_else(|| "-".to_string(), |s| esc(s).into_owned());
    let mut lines = vec![
        Line::from(vec![
            Span::styled(t.status.as_str(), theme.status(t.status).patch(theme.heading())),
            Span::raw(format!("  {}  attempt {}/{}", t.priority, t.attempts, t.max_attempts)),
        ]),
        field("task", esc(&t.task).into_owned(), theme),
        field("criteria", or_dash(&t.success_criteria), theme),
        field("notes", or_dash(&t.notes), theme),
    ];
    if !d.deps.is_empty() {
        let deps: Vec<String> =
            d.deps.iter().map(|(id, s)| format!("{} {}", esc(id), s.map_or("?", |s| s.as_str()))).collect();
        lines.push(field("depends on", deps.join(", "), theme));
    }
    if let Some(o) = &t.owner_session {
        lines.push(field("owner", esc(o).into_owned(), theme));
    }
    if let Some(r) = &t.resource {
        lines.push(field("resource", esc(r).into_owned(), theme));
    }
    if let Some(w) = &d.shown.workspace {
        lines.push(field("branch", format!("{} (base {})", esc(&w.branch), esc(&w.base)), theme));
        let gone = if w.worktree_exists { "" } else { " (removed)" };
        lines.push(field("worktree", format!("{}{gone}", esc(&w.worktree)), theme));
        let at = w.landed_commit.as_deref().map_or_else(String::new, |c| format!(" at {}", esc(c)));
        lines.push(field("landing", format!("{}{at}", w.landing), theme));
    }
    lines.push(field(
        "usage",
        format!(
            "{} in, {} out tokens, ${:.4}",
            tokens(d.shown.input_tokens),
            tokens(d.shown.output_tokens),
            d.shown.cost_usd
        ),
        theme,
    ));
    lines.push(Line::styled(format!("runs ({})", d.runs.len()), theme.heading()));
    for r in &d.runs {
        let outcome = r.outcome.as_deref().unwrap_or(if r.ended_at.is_none() { "running" } else { "-" });
        let class = r.class.map_or("-", |c| c.as_str());
        let verdict = r.verdict.as_deref().unwrap_or("-");
        let text = format!(
            " #{} {} class {} verdict {} tok {}/{} ${:.4} {}",
            r.attempt,
            esc(outcome),
            class,
            esc(verdict),
            tokens(r.usage.input_tokens),
            tokens(r.usage.output_tokens),
            r.usage.cost_usd,
            secs(r.duration_s),
        );
        lines.push(Line::raw(text));
        if let Some(branch) = &r.branch {
            let landing = r.landing.as_deref().unwrap_or("not_landed");
            lines.push(Line::styled(format!("    {} landing {}", esc(branch), esc(landing)), theme.dim()));
        }
        if let Some(reason) = &r.reason {
            lines.push(Line::styled(format!("    reason: {}", esc(reason)), theme.dim()));
        }
    }
    if let Some(report) = d.runs.iter().rev().find_map(|r| r.report.as_deref()) {
        lines.push(Line::styled("last report", theme.heading()));
        lines.extend(report.lines().map(|l| Line::raw(format!("  {}", esc(l)))));
    }
    if let Some(run) = &d.tail.run_id {
        lines.push(Line::styled(format!("output of {}", esc(run)), theme.heading()));
        for (name, text) in [("stdout", &d.tail.stdout), ("stderr", &d.tail.stderr)] {
            let all: Vec<&str> = text.lines().collect();
            let from = all.len().saturating_sub(TAIL_LINES);
            lines.push(Line::styled(format!(" {name} ({} lines shown)", all.len() - from), theme.dim()));
            lines.extend(all[from..].iter().map(|l| Line::raw(format!("  {}", esc(l)))));
        }
    }
    lines
}
