//! The fleet panel: every lease held (owner, task, elapsed time, lease left, last
//! heartbeat, attempt, and `[wt]` or `[land]` before the task of a run in a worktree),
//! moving on with the clock between reads, and the dispatchers in its title; and the
//! queue panel: the counts by priority and status, the task that runs next, the KPI
//! alerts.

use super::app::App;
use super::text::{cell, esc, fit, left, secs};
use super::theme::Theme;
use crate::api::DispatcherLive;
use orch_core::task::{Priority, Status};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

/// The rows of running tasks the fleet panel shows at most.
pub const MAX_ROWS: usize = 8;

/// The dispatchers the title names at most (the rest are counted).
const MAX_DISPATCHERS: usize = 10;
/// A dispatcher stopped or unseen for longer than this is left out.
const RECENT_S: f64 = 3600.0;

/// The fleet panel's height for `rows` running tasks shown.
pub fn height(rows: usize) -> u16 {
    (rows.max(1) + 3) as u16
}

/// Draws the running tasks, `age` seconds after they were read.
pub fn draw_fleet(f: &mut Frame, area: Rect, app: &App, theme: Theme, age: f64) {
    let workers = &app.snap.fleet.workers;
    let head = format!(" Fleet: {} running ", workers.len());
    // The title sits in the top border, between its two corners.
    let room = usize::from(area.width.saturating_sub(2)).saturating_sub(head.len() + 3);
    let title = match dispatchers_line(&app.snap.fleet.dispatchers, age, room) {
        Some(line) => format!("{head}· {line} "),
        None => head,
    };
    let block = Block::default().borders(Borders::ALL).border_style(theme.border()).title(title);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let w = usize::from(inner.width);
    // ID OWNER ELAPSED LEASE BEAT ATT TASK, the task taking what is left.
    let cols = [10usize, 12, 9, 9, 9, 4];
    let fixed: usize = cols.iter().sum();
    let task_w = w.saturating_sub(fixed);
    let mut lines = vec![Line::styled(
        format!(
            "{}{}{}{}{}{}{}",
            cell("ID", cols[0]),
            cell("OWNER", cols[1]),
            cell("ELAPSED", cols[2]),
            cell("LEASE", cols[3]),
            cell("BEAT", cols[4]),
            cell("ATT", cols[5]),
            "TASK"
        ),
        theme.heading(),
    )];
    if workers.is_empty() {
        lines.push(Line::styled("no lease is held", theme.dim()));
    }
    let rows = usize::from(inner.height).saturating_sub(1);
    for (i, h) in workers.iter().enumerate() {
        if i + 1 == rows && workers.len() > rows {
            lines.push(Line::styled(format!("… and {} more", workers.len() - i), theme.dim()));
            break;
        }
        let beat = h.heartbeat_age_s.map_or_else(|| "never".to_string(), |s| secs(Some(s + age)));
        let row = format!(
            "{}{}{}{}{}{}{}",
            cell(&h.task_id, cols[0]),
            cell(&h.owner, cols[1]),
            cell(&secs(h.elapsed_s.map(|s| s + age)), cols[2]),
            cell(&left(h.lease_left_s.map(|s| s - age)), cols[3]),
            cell(&beat, cols[4]),
            cell(&h.attempt.to_string(), cols[5]),
            fit(
                &app.snap.marks.get(&h.task_id).map_or_else(|| h.task.clone(), |m| format!("[{m}] {}", h.task)),
                task_w
            )
        );
        let expired = h.lease_left_s.is_some_and(|s| s - age < 0.0);
        lines.push(Line::styled(row, if expired { theme.alert() } else { theme.status(Status::InProgress) }));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// The dispatchers to show: the alive ones as `workers` lists them (by host, then
/// start), then those stopped or unseen within the last hour, the latest first.
fn recent(ds: &[DispatcherLive]) -> Vec<&DispatcherLive> {
    let mut gone: Vec<&DispatcherLive> = ds.iter().filter(|d| !d.alive && d.seen_age_s <= RECENT_S).collect();
    gone.sort_by(|a, b| a.seen_age_s.total_cmp(&b.seen_age_s));
    ds.iter().filter(|d| d.alive).chain(gone).collect()
}

/// `dispatchers: host-a:1234 alive · host-b:99 stopped`, `age` seconds after the read,
/// in at most `width` columns: as many dispatchers as fit, the others counted
/// (`· +2 more`), the first one's host cut when even it does not fit; none when no
/// dispatcher is recent or the width is too small for a word of it.
pub fn dispatchers_line(ds: &[DispatcherLive], age: f64, width: usize) -> Option<String> {
    let shown = recent(ds);
    let items: Vec<(&str, String)> = shown
        .iter()
        .take(MAX_DISPATCHERS)
        .map(|d| {
            let state = match (d.alive, d.stopped_at) {
                (true, _) => "alive".to_string(),
                (false, Some(_)) => "stopped".to_string(),
                (false, None) => format!("not seen for {}", secs(Some(d.seen_age_s + age))),
            };
            (d.host.as_str(), format!(":{} {state}", d.pid))
        })
        .collect();
    let cols = |s: &str| unicode_width::UnicodeWidthStr::width(s);
    let tail = |n: usize| match shown.len() - n {
        0 => String::new(),
        more => format!(" · +{more} more"),
    };
    let whole = (1..=items.len()).rev().find_map(|n| {
        let names: Vec<String> = items[..n].iter().map(|(host, rest)| format!("{}{rest}", esc(host))).collect();
        let line = format!("dispatchers: {}{}", names.join(" · "), tail(n));
        (cols(&line) <= width).then_some(line)
    });
    whole.or_else(|| {
        let (host, rest) = items.first()?;
        let fixed = format!("dispatchers: {rest}{}", tail(1));
        let host_w = width.checked_sub(cols(&fixed)).filter(|w| *w >= 4)?;
        Some(format!("dispatchers: {}{rest}{}", fit(host, host_w), tail(1)))
    })
}

/// The queue panel's height.
pub const QUEUE_HEIGHT: u16 = 6;

/// Draws the counts by priority and status, what runs next and the alerts.
pub fn draw_queue(f: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let s = &app.snap.summary;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border())
        .title(format!(" Queue: {} tasks ", s.total));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let [counts, side] = Layout::horizontal([Constraint::Length(45), Constraint::Min(10)]).areas(inner);
    let short = |st: Status| match st {
        Status::Pending => "PENDING",
        Status::InProgress => "RUNNING",
        Status::Done => "DONE",
        Status::Failed => "FAILED",
        Status::Blocked => "BLOCKED",
    };
    let mut head = vec![Span::raw("   ")];
    for st in Status::ALL {
        head.push(Span::styled(format!("{:>8}", short(st)), theme.heading().patch(theme.status(st))));
    }
    let mut lines = vec![Line::from(head)];
    for p in Priority::ALL {
        let by = s.by_priority.get(p.as_str());
        let mut spans = vec![Span::styled(format!("{:<3}", p.as_str()), theme.heading())];
        for st in Status::ALL {
            let n = by.and_then(|m| m.get(st.as_str())).copied().unwrap_or(0);
            spans.push(Span::styled(format!("{n:>8}"), if n > 0 { theme.status(st) } else { theme.dim() }));
        }
        lines.push(Line::from(spans));
    }
    f.render_widget(Paragraph::new(lines), counts);
    let sw = usize::from(side.width);
    let mut lines = vec![match &app.snap.next {
        Some((id, task)) => Line::from(vec![
            Span::styled("next ", theme.heading()),
            Span::raw(fit(&format!("{id} {task}"), sw.saturating_sub(5))),
        ]),
        None => Line::from(vec![Span::styled("next ", theme.heading()), Span::styled("nothing ready", theme.dim())]),
    }];
    if let Some(c) = &s.schedules {
        let paused = if c.paused > 0 { format!(" ({} paused)", c.paused) } else { String::new() };
        let next = c.next.as_ref().map_or_else(String::new, |n| {
            let wait = n.at.duration_since(app.snap.fleet.now).max(jiff::SignedDuration::ZERO);
            format!(", next {} in {}", n.schedule, orch_core::time::format_duration(wait))
        });
        let text = fit(&format!("{}{paused}{next}", c.count), sw.saturating_sub(6));
        lines.push(Line::from(vec![Span::styled("sched ", theme.heading()), Span::raw(text)]));
    }
    if app.snap.alerts.is_empty() {
        lines.push(Line::styled("no alert", theme.ok()));
    }
    for a in &app.snap.alerts {
        let shown = match a.name.as_str() {
            "failure_rate" => format!("{:.1}% > {:.1}%", a.value * 100.0, a.threshold * 100.0),
            "latency_p95" => format!("{} > {}", secs(Some(a.value)), secs(Some(a.threshold))),
            _ => format!("{} > {}", a.value, a.threshold),
        };
        lines.push(Line::styled(fit(&format!("ALERT {} {shown}", a.name), sw), theme.alert()));
    }
    f.render_widget(Paragraph::new(lines), side);
}
