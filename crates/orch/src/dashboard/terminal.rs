//! The terminal the dashboard takes over: raw mode and the alternate screen on the way
//! in, both given back on the way out — by `Screen`'s drop, and by a panic hook that
//! restores the terminal before the previous hook (the default one prints the panic)
//! runs, so a panic never leaves a shell in raw mode.

use crate::error::{Error, Result};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::cursor::Show;
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode};
use std::io::Stdout;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// The terminal in raw mode on the alternate screen; restored when dropped.
pub struct Screen {
    pub term: Term,
}

fn io(e: std::io::Error) -> Error {
    Error::Io(format!("terminal: {e}"))
}

/// Gives the terminal back: the main screen, cooked mode, the cursor shown. Safe to
/// call more than once.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(std::io::stdout(), LeaveAlternateScreen, Show);
}

impl Screen {
    pub fn enter() -> Result<Screen> {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        enable_raw_mode().map_err(io)?;
        if let Err(e) = execute!(std::io::stdout(), EnterAlternateScreen) {
            restore();
            return Err(io(e));
        }
        match Terminal::new(CrosstermBackend::new(std::io::stdout())) {
            Ok(term) => Ok(Screen { term }),
            Err(e) => {
                restore();
                Err(io(e))
            }
        }
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        restore();
    }
}
