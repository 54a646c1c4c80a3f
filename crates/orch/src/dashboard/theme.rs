//! How the dashboard looks: colours for statuses, alerts and messages, or none at all
//! when `NO_COLOR` is set to anything but the empty string (no-color.org); bold and
//! reversed text stay, so the selection and alerts still stand out.

use orch_core::task::Status;
use ratatui::style::{Color, Modifier, Style};

#[derive(Clone, Copy, Debug)]
pub struct Theme {
    pub colour: bool,
}

impl Theme {
    /// Colour unless `NO_COLOR` is set and not empty.
    pub fn from_env() -> Theme {
        Theme { colour: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) }
    }

    fn fg(self, c: Color) -> Style {
        if self.colour { Style::new().fg(c) } else { Style::new() }
    }

    pub fn status(self, s: Status) -> Style {
        match s {
            Status::Pending => Style::new(),
            Status::InProgress => self.fg(Color::Cyan),
            Status::Done => self.fg(Color::Green),
            Status::Failed => self.fg(Color::Red),
            Status::Blocked => self.fg(Color::Yellow),
        }
    }

    pub fn alert(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub fn ok(self) -> Style {
        self.fg(Color::Green)
    }

    pub fn refused(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub fn heading(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    pub fn dim(self) -> Style {
        self.fg(Color::DarkGray)
    }

    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn border(self) -> Style {
        self.fg(Color::Blue)
    }
}
