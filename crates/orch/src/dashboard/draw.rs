//! The whole frame: the title line, the fleet and queue panels, the task list beside
//! the task pane, the status line (what the last action did, or why it was refused, or
//! the line being typed) and the keys. Fits 80×24; a wider or taller terminal gives the
//! list and the pane more room.

use super::app::{App, Message};
use super::fleet::{self, QUEUE_HEIGHT};
use super::tasks;
use super::text::fit;
use super::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// The keys, as the bottom line shows them.
pub const HELP: &str = "q quit ↑↓ move  a add  c cancel  r retry  R replan  n note  / search  s p filter";

/// Draws the frame `age` seconds after the snapshot was read; records how many list
/// rows fit in `app.page_rows`.
pub fn draw(f: &mut Frame, app: &mut App, theme: Theme, age: f64) {
    let area = f.area();
    // The list and pane keep at least 6 lines; the fleet shows what is left of them.
    let room = area.height.saturating_sub(1 + QUEUE_HEIGHT + 2 + 6);
    let rows = app.snap.fleet.workers.len().clamp(1, fleet::MAX_ROWS).min(usize::from(room.saturating_sub(3)).max(1));
    let [title, fleet_area, queue_area, body, status, help] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(fleet::height(rows)),
        Constraint::Length(QUEUE_HEIGHT),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let w = usize::from(area.width);
    f.render_widget(Paragraph::new(Line::styled(fit(&title_text(app), w), theme.heading())), title);
    fleet::draw_fleet(f, fleet_area, app, theme, age);
    fleet::draw_queue(f, queue_area, app, theme);
    let [list, pane] = Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(body);
    app.page_rows = tasks::draw_list(f, list, app, theme).max(1);
    tasks::draw_pane(f, pane, app, theme);
    match &app.input {
        Some(input) => {
            let label = format!("{}> ", input.prompt.label());
            let line = Line::from(vec![Span::styled(label.clone(), theme.heading()), Span::raw(input.text.clone())]);
            let text_w = unicode_width::UnicodeWidthStr::width(format!("{label}{}", input.text).as_str());
            f.render_widget(Paragraph::new(line), status);
            let x = status
                .x
                .saturating_add(u16::try_from(text_w).unwrap_or(u16::MAX))
                .min(status.right().saturating_sub(1));
            f.set_cursor_position(Position { x, y: status.y });
        }
        None => {
            let line = match &app.message {
                Some(Message::Done(m)) => Line::styled(fit(m, w), theme.ok()),
                Some(Message::Refused(m)) => Line::styled(fit(m, w), theme.refused()),
                None => Line::raw(""),
            };
            f.render_widget(Paragraph::new(line), status);
        }
    }
    f.render_widget(Paragraph::new(Line::styled(fit(HELP, w), theme.dim())), help);
}

fn title_text(app: &App) -> String {
    let s = &app.snap.summary;
    format!("orch dashboard   {} tasks, {} running", s.total, s.running.len())
}
