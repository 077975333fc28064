//! The key hints: as many as fit the width.

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::app::{App, Screen};
use super::theme::Theme;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    if app.editing.is_some() {
        let cursor = if theme.ascii { "_" } else { "█" };
        let text = theme.text(&format!(
            "/{}{cursor}  (tool:NAME state:STATE !NOT · Enter keep · Esc cancel)",
            crate::sanitize::terminal(&app.view.filter)
        ));
        frame.render_widget(Paragraph::new(Line::styled(text, theme.title())), area);
        return;
    }
    if let Some((note, _)) = &app.flash {
        frame.render_widget(
            Paragraph::new(Line::styled(note.clone(), theme.title())),
            area,
        );
        return;
    }
    let hints: &[&str] = match app.screen {
        Screen::Table if app.paused.is_some() => {
            &["p resume", "q quit", "j/k move", "Enter detail", "? help"]
        }
        Screen::Table if app.player.is_some() => &[
            "q quit",
            "? help",
            "Space play/pause",
            "←/→ seek",
            "+/- speed",
            ", . step",
            "/ filter",
        ],
        Screen::Table => &[
            "q quit",
            "? help",
            "p pause",
            "/ filter",
            "j/k move",
            "Enter detail",
            "f follow",
            "s sort",
            "F findings",
            "y copy",
            "c clear done",
            "C columns",
            "x dismiss",
        ],
        Screen::Detail(_) if app.detail_search_edit.is_some() => {
            &["type to search", "Enter keep", "Esc cancel"]
        }
        Screen::Detail(_) if !app.detail_query.is_empty() => &[
            "n/N next/previous match",
            "Esc clear search",
            "/ search",
            "j/k scroll",
            "q quit",
        ],
        Screen::Detail(_) => &["Esc back", "q quit", "j/k scroll", "/ search", "? help"],
        Screen::Stats => &["Esc back", "W timeline", "I servers", "q quit", "? help"],
        Screen::Timeline => &[
            "Esc back",
            "+/- zoom",
            "j/k select",
            "Enter detail",
            "T stats",
            "I servers",
            "q quit",
        ],
        Screen::Servers => &["Esc back", "j/k scroll", "T stats", "W timeline", "q quit"],
        Screen::Columns => &["Space toggle", "j/k move", "Esc back", "q quit"],
        Screen::Help => &["Esc back", "q quit"],
    };
    let mut text = String::new();
    for hint in hints {
        let extra = if text.is_empty() {
            hint.len()
        } else {
            hint.len() + 3
        };
        if crate::sanitize::width(&text) + extra > area.width as usize {
            break;
        }
        if !text.is_empty() {
            text.push_str(if theme.ascii { " | " } else { " · " });
        }
        text.push_str(hint);
    }
    frame.render_widget(Paragraph::new(Line::styled(text, theme.hint())), area);
}
