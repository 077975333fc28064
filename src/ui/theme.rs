//! Colours, as data: one place to change them, and none at all under `NO_COLOR`.

use ratatui::style::{Color, Modifier, Style};

use crate::model::DisplayState;

/// `$COLORFGBG` (`fg;bg`, as rxvt, Konsole and others set it): white-ish backgrounds
/// (7, 9–15) are light, the rest dark; absent or unreadable, the terminal's palette.
pub fn background_from(colorfgbg: Option<&str>) -> Background {
    colorfgbg
        .and_then(|v| v.rsplit(';').next())
        .and_then(|bg| bg.trim().parse::<u8>().ok())
        .map_or(Background::Auto, |bg| {
            if bg == 7 || bg >= 9 {
                Background::Light
            } else {
                Background::Dark
            }
        })
}

/// The terminal's background, which decides how strong the colours are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Background {
    /// From `$COLORFGBG` when the terminal sets it, else the terminal's own palette.
    #[default]
    Auto,
    Dark,
    Light,
}

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
    /// ASCII glyphs and bars, for terminals or fonts without them.
    pub ascii: bool,
    /// Resolved: `Auto` here means the terminal's own palette (basic ANSI colours).
    pub background: Background,
}

impl Theme {
    /// No colour, Unicode glyphs: what the tests render with.
    pub fn plain() -> Theme {
        Theme {
            color: false,
            ascii: false,
            background: Background::Auto,
        }
    }

    /// Colour unless `NO_COLOR` is set (to anything), as no-color.org asks; the
    /// background from the choice or, for `auto`, from `$COLORFGBG` (`15;0` is light
    /// text on black).
    pub fn from_env(ascii: bool, choice: Background) -> Theme {
        let background = match choice {
            Background::Auto => background_from(std::env::var("COLORFGBG").ok().as_deref()),
            other => other,
        };
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            ascii,
            background,
        }
    }

    /// A colour that reads on this background: bright tones on dark, deep ones on light.
    fn tone(&self, base: Color) -> Color {
        match (self.background, base) {
            (Background::Dark, Color::Blue) => Color::LightBlue,
            (Background::Dark, Color::Green) => Color::LightGreen,
            (Background::Dark, Color::Magenta) => Color::LightMagenta,
            (Background::Dark, Color::Red) => Color::LightRed,
            (Background::Light, Color::Blue) => Color::Indexed(25),
            (Background::Light, Color::Green) => Color::Indexed(28),
            (Background::Light, Color::Magenta) => Color::Indexed(90),
            (Background::Light, Color::Red) => Color::Indexed(124),
            (_, c) => c,
        }
    }

    /// The state glyph (explained on the help screen).
    pub fn glyph(&self, state: DisplayState) -> &'static str {
        if self.ascii {
            return match state {
                DisplayState::Running => ">",
                DisplayState::Stalled => "!",
                DisplayState::Waiting(crate::wire::Wait::Input) => "w",
                DisplayState::Waiting(crate::wire::Wait::Permission) => "P",
                DisplayState::Done => "+",
                DisplayState::Failed => "x",
                DisplayState::Cancelled => "-",
                DisplayState::Lost => "?",
            };
        }
        super::rows::glyph(state)
    }

    /// Text of the help and the hints as this theme shows it: with `--ascii`, arrows,
    /// ellipses and dots become plain ASCII.
    pub fn text(&self, s: &str) -> String {
        if !self.ascii {
            return s.to_owned();
        }
        s.replace('↓', "Down")
            .replace('↑', "Up")
            .replace('←', "Left")
            .replace('→', "Right")
            .replace('…', "...")
            .replace('·', "|")
            .replace('×', "x")
            .replace('—', "-")
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
            Style::default().fg(self.tone(color))
        } else {
            Style::default()
        }
    }

    pub fn state(&self, state: DisplayState) -> Style {
        // Colours readable on dark and light backgrounds alike (no yellow on white).
        match state {
            DisplayState::Running => self.fg(Color::Blue),
            DisplayState::Stalled => self.fg(Color::Magenta).add_modifier(Modifier::BOLD),
            DisplayState::Waiting(_) => self.fg(Color::Cyan).add_modifier(Modifier::BOLD),
            DisplayState::Done => self.fg(Color::Green),
            DisplayState::Failed => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            DisplayState::Cancelled => self.fg(Color::DarkGray),
            DisplayState::Lost => self.fg(Color::Magenta),
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

    /// A filter's match in the table.
    pub fn highlight(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }

    pub fn hint(&self) -> Style {
        Style::default().add_modifier(Modifier::DIM)
    }

    pub fn selected(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_background_comes_from_colorfgbg() {
        assert_eq!(background_from(Some("15;0")), Background::Dark);
        assert_eq!(background_from(Some("0;15")), Background::Light);
        assert_eq!(background_from(Some("0;default;7")), Background::Light);
        assert_eq!(background_from(Some("junk")), Background::Auto);
        assert_eq!(background_from(None), Background::Auto);
    }

    #[test]
    fn no_color_means_no_colour_at_all() {
        let theme = Theme::plain();
        assert_eq!(theme.state(DisplayState::Failed).fg, None);
        let light = Theme {
            color: true,
            background: Background::Light,
            ..Theme::plain()
        };
        assert_eq!(
            light.state(DisplayState::Running).fg,
            Some(Color::Indexed(25))
        );
    }
}
