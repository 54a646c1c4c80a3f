//! The operator's keys: moving through the list, filters and search, and the changes —
//! add (the `quick` syntax), cancel, retry, replan the priority, note — each made by the
//! same `api` operation as the command line's, so it is refused the same way; the
//! refusal (its code and reason) shows in the status line.

use super::app::{App, Input, Message, Prompt};
use crate::api::{self, Orch};
use crate::error::Error;
use orch_core::task::{Priority, Status};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// What the loop does after a key.
#[derive(Debug, PartialEq, Eq)]
pub enum After {
    /// Draw again, nothing to read.
    Draw,
    /// Read the queue again, then draw.
    Refresh,
    Quit,
}

pub fn on_key(app: &mut App, orch: &Orch, key: KeyEvent) -> After {
    if key.kind == KeyEventKind::Release {
        return After::Draw;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return After::Quit;
    }
    if app.input.is_some() {
        return typing(app, orch, key);
    }
    let id = app.selected_id().map(str::to_string);
    let ask = |app: &mut App, prompt: Prompt| {
        app.input = Some(Input { prompt, text: String::new() });
        After::Draw
    };
    match key.code {
        KeyCode::Char('q') => After::Quit,
        KeyCode::Esc => {
            app.message = None;
            After::Draw
        }
        KeyCode::Down | KeyCode::Char('j') => move_by(app, 1),
        KeyCode::Up | KeyCode::Char('k') => move_by(app, -1),
        KeyCode::PageDown => {
            app.pane_scroll = app.pane_scroll.saturating_add(5);
            After::Draw
        }
        KeyCode::PageUp => {
            app.pane_scroll = app.pane_scroll.saturating_sub(5);
            After::Draw
        }
        KeyCode::Char('s') => {
            app.status_filter = next_of(&Status::ALL, app.status_filter);
            from_top(app)
        }
        KeyCode::Char('p') => {
            app.priority_filter = next_of(&Priority::ALL, app.priority_filter);
            from_top(app)
        }
        KeyCode::Char('/') => ask(app, Prompt::Search),
        KeyCode::Char('a') => ask(app, Prompt::Add),
        KeyCode::Char('n') if id.is_some() => ask(app, Prompt::Note(id.unwrap_or_default())),
        KeyCode::Char('c') if id.is_some() => ask(app, Prompt::Cancel(id.unwrap_or_default())),
        KeyCode::Char('R') if id.is_some() => ask(app, Prompt::Replan(id.unwrap_or_default())),
        KeyCode::Char('r') => match id {
            Some(id) => {
                answer(app, api::retry(orch, api::RetryRequest { id: id.clone() }).map(|c| changed(&c, "retried")))
            }
            None => After::Draw,
        },
        _ => After::Draw,
    }
}

/// The next value of a filter: none, each of `all` in turn, none again.
fn next_of<T: Copy + PartialEq>(all: &[T], now: Option<T>) -> Option<T> {
    match now {
        None => all.first().copied(),
        Some(v) => all.iter().position(|x| *x == v).and_then(|i| all.get(i + 1)).copied(),
    }
}

fn from_top(app: &mut App) -> After {
    app.offset = 0;
    app.selected = 0;
    app.keep_task = false;
    app.pane_scroll = 0;
    After::Refresh
}

/// Moves the selection; past the page's ends the page moves.
fn move_by(app: &mut App, by: i64) -> After {
    app.pane_scroll = 0;
    let len = app.snap.page.len();
    if by > 0 {
        if app.selected + 1 < len {
            app.selected += 1;
        } else if app.snap.more {
            app.offset += 1;
            app.keep_task = false;
        } else {
            return After::Draw;
        }
    } else if app.selected > 0 {
        app.selected -= 1;
    } else if app.offset > 0 {
        app.offset -= 1;
        app.keep_task = false;
    } else {
        return After::Draw;
    }
    After::Refresh
}

fn typing(app: &mut App, orch: &Orch, key: KeyEvent) -> After {
    let Some(input) = &mut app.input else { return After::Draw };
    match key.code {
        KeyCode::Esc => {
            app.input = None;
            After::Draw
        }
        KeyCode::Backspace => {
            input.text.pop();
            After::Draw
        }
        KeyCode::Char(c) => {
            input.text.push(c);
            After::Draw
        }
        KeyCode::Enter => {
            let Input { prompt, text } =
                app.input.take().unwrap_or(Input { prompt: Prompt::Search, text: String::new() });
            submit(app, orch, prompt, text)
        }
        _ => After::Draw,
    }
}

/// Makes the change the line was typed for.
fn submit(app: &mut App, orch: &Orch, prompt: Prompt, text: String) -> After {
    match prompt {
        Prompt::Search => {
            app.search = text;
            from_top(app)
        }
        Prompt::Add => answer(
            app,
            api::quick(orch, api::QuickRequest { text, dry_run: false, idempotency_key: None }).map(|q| {
                let added = match &q.added {
                    Some(t) => format!("{} added ({}): {}", t.id, t.priority, t.task),
                    None => "nothing added".into(),
                };
                with_warnings(added, q.understood.warnings.iter().chain(&q.warnings))
            }),
        ),
        Prompt::Note(id) => answer(app, api::note(orch, api::NoteRequest { id, text }).map(|c| changed(&c, "noted"))),
        Prompt::Cancel(id) => {
            let reason = Some(text).filter(|t| !t.trim().is_empty());
            answer(app, api::cancel(orch, api::CancelRequest { id, reason }).map(|c| changed(&c, "cancelled")))
        }
        Prompt::Replan(id) => {
            let (first, reason) = text.trim().split_once(' ').unwrap_or((text.trim(), ""));
            let priority = match first.parse::<Priority>() {
                Ok(p) => p,
                Err(e) => {
                    return answer(app, Err(Error::Usage(format!("replan: {e} (type e.g. `P0 customer waiting`)"))));
                }
            };
            let req = api::ReplanRequest {
                id,
                reason: reason.trim().to_string(),
                priority: Some(priority),
                ..Default::default()
            };
            answer(
                app,
                api::replan(orch, req)
                    .map(|c| with_warnings(format!("{} replanned: now {}", c.task.id, c.task.priority), &c.warnings)),
            )
        }
    }
}

/// `ID WHAT: now STATUS`, as the command line prints a change, with its warnings.
fn changed(c: &api::Changed, what: &str) -> String {
    with_warnings(format!("{} {what}: now {}", c.task.id, c.task.status), &c.warnings)
}

/// A message with the warnings of the steps after the change (the change stands).
fn with_warnings<'a>(mut msg: String, warnings: impl IntoIterator<Item = &'a String>) -> String {
    for w in warnings {
        msg.push_str(&format!(" (warning: {w})"));
    }
    msg
}

/// Shows what an operation did, or why it was refused, in the status line.
fn answer(app: &mut App, result: Result<String, Error>) -> After {
    app.message = Some(match result {
        Ok(done) => Message::Done(done),
        Err(e) => Message::Refused(format!("refused ({}): {e}", e.code())),
    });
    After::Refresh
}
