//! The key hints: as many as fit the width.

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::app::{App, Screen};
use super::keys::{Action, KeyMap};
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
    let hints: Vec<String> = hints
        .iter()
        .filter_map(|h| as_bound(h, &app.keys))
        .collect();
    let mut text = String::new();
    for hint in &hints {
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

/// The hints that name a rebindable action, by their default key and their words.
const BOUND: &[(&str, &str, Action)] = &[
    ("q", "quit", Action::Quit),
    ("?", "help", Action::Help),
    ("p", "pause", Action::Pause),
    ("p", "resume", Action::Pause),
    ("Space", "play/pause", Action::Pause),
    ("/", "filter", Action::Filter),
    ("Enter", "detail", Action::Detail),
    ("f", "follow", Action::Follow),
    ("s", "sort", Action::SortNext),
    ("F", "findings", Action::Findings),
    ("y", "copy", Action::CopyRow),
    ("c", "clear done", Action::ClearDone),
    ("C", "columns", Action::Columns),
    ("x", "dismiss", Action::Dismiss),
    ("T", "stats", Action::Stats),
    ("W", "timeline", Action::Timeline),
    ("I", "servers", Action::Servers),
];

/// `hint` with the key its action has now (the config may move it), or none when the
/// action has no key left; a hint about a fixed key as it is.
fn as_bound(hint: &str, keys: &KeyMap) -> Option<String> {
    let first = |action| {
        let bound = keys.keys_of(action);
        bound
            .split(' ')
            .next()
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
    };
    let Some((key, words)) = hint.split_once(' ') else {
        return Some(hint.to_owned());
    };
    if (key, words) == ("j/k", "move") {
        return Some(match (first(Action::Down), first(Action::Up)) {
            (Some(down), Some(up)) => format!("{down}/{up} move"),
            _ => hint.to_owned(),
        });
    }
    match BOUND.iter().find(|(k, w, _)| (*k, *w) == (key, words)) {
        Some((default, _, action)) => {
            let bound = keys.keys_of(*action);
            // The default key, while it still does it; else the first key it has now.
            if bound.split(' ').any(|k| k == *default) {
                Some(hint.to_owned())
            } else {
                first(*action).map(|k| format!("{k} {words}"))
            }
        }
        None => Some(hint.to_owned()),
    }
}
