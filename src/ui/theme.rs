//! Colours, as data: one place to change them, and none at all under `NO_COLOR`.

use ratatui::style::{Color, Modifier, Style};

use crate::model::DisplayState;

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
    /// ASCII glyphs and bars, for terminals or fonts without them.
    pub ascii: bool,
}

impl Theme {
    /// Colour unless `NO_COLOR` is set (to anything), as no-color.org asks.
    pub fn from_env(ascii: bool) -> Theme {
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            ascii,
        }
    }

    /// The state glyph (explained on the help screen).
    pub fn glyph(&self, state: DisplayState) -> &'static str {
        if self.ascii {
            return match state {
                DisplayState::Running => ">",
                DisplayState::Stalled => "!",
                DisplayState::Done => "+",
                DisplayState::Failed => "x",
                DisplayState::Cancelled => "-",
            };
        }
        super::rows::glyph(state)
    }

    /// Full and empty bar cells, and the spinner for unknown totals.
    pub fn bar_cells(&self) -> (&'static str, &'static str, [char; 4]) {
        if self.ascii {
            ("#", ".", ['|', '/', '-', '\\'])
        } else {
            ("█", "░", ['◐', '◓', '◑', '◒'])
        }
    }

    fn fg(&self, color: Color) -> Style {
        if self.color {
            Style::default().fg(color)
        } else {
            Style::default()
        }
    }

    pub fn state(&self, state: DisplayState) -> Style {
        // Colours readable on dark and light backgrounds alike (no yellow on white).
        match state {
            DisplayState::Running => self.fg(Color::Blue),
            DisplayState::Stalled => self.fg(Color::Magenta).add_modifier(Modifier::BOLD),
            DisplayState::Done => self.fg(Color::Green),
            DisplayState::Failed => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            DisplayState::Cancelled => self.fg(Color::DarkGray),
        }
    }

    pub fn finished(&self) -> Style {
        Style::default().add_modifier(Modifier::DIM)
    }

    pub fn warning(&self) -> Style {
        self.fg(Color::Red)
    }

    pub fn badge(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }

    pub fn title(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }

    pub fn hint(&self) -> Style {
        Style::default().add_modifier(Modifier::DIM)
    }

    pub fn selected(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }
}
