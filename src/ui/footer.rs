//! The key hints: as many as fit the width.

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::app::{App, Screen};
use super::keys::{key_name, parse_key, Action, KeyMap};
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
        Screen::Detail(_) if app.detail.search_edit.is_some() => {
            &["type to search", "Enter keep", "Esc cancel"]
        }
        Screen::Detail(_) if !app.detail.query.is_empty() => &[
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
        Screen::Agents => &[
            "Enter calls",
            "Esc back",
            "j/k move",
            "W timeline",
            "q quit",
        ],
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

/// The hints that name a rebindable action, by their words (their key is one of the
/// action's default keys, [`Action::ALL`]).
const BOUND: &[(&str, Action)] = &[
    ("quit", Action::Quit),
    ("help", Action::Help),
    ("pause", Action::Pause),
    ("resume", Action::Pause),
    ("play/pause", Action::Pause),
    ("filter", Action::Filter),
    ("detail", Action::Detail),
    ("follow", Action::Follow),
    ("sort", Action::SortNext),
    ("findings", Action::Findings),
    ("copy", Action::CopyRow),
    ("clear done", Action::ClearDone),
    ("columns", Action::Columns),
    ("dismiss", Action::Dismiss),
    ("stats", Action::Stats),
    ("timeline", Action::Timeline),
    ("servers", Action::Servers),
    ("agents", Action::Agents),
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
    let is_default = |action: Action| {
        Action::ALL.iter().any(|(a, _, defaults)| {
            *a == action
                && defaults
                    .iter()
                    .filter_map(|d| parse_key(d))
                    .any(|k| key_name(k) == key)
        })
    };
    let Some(&(_, action)) = BOUND
        .iter()
        .find(|(w, action)| *w == words && is_default(*action))
    else {
        return Some(hint.to_owned());
    };
    // The hint's key, while it still does the action; else the first key it has now.
    if keys.keys_of(action).split(' ').any(|k| k == key) {
        Some(hint.to_owned())
    } else {
        first(action).map(|k| format!("{k} {words}"))
    }
}
